"""Divergence calls on recorded trainings, session 13, copied under
tests/data/oos/g2div13-<corpus>-<id>-<task>-<drawn config> (the drawn config is not the label):
o29 / o237 = the first generator's seeds 29 and 237 (bench/make_corpus_oos.py; 237 was session 12's
blind seed, tuning data now); s11 / s15 = gen2 seeds 11 and 15
(bench/make_corpus_gen2.py); vo_s11 = gen2 seed 11 written validation-only (bench/conventions.py
valonly: the training loss and accuracy dropped). Labels come from the full-batch training loss the generators evaluate
and never write (bench.make_corpus_oos.label; a spike above the start that comes back down is an
oscillation's, not a divergence).
"""
from __future__ import annotations

from recorded import core_patterns, diagnose_recorded, first_action, measurement


def test_a_val_loss_that_ended_on_a_blow_up_beside_a_short_training_loss_is_a_divergence():
    """Wine MLP at SGD 1.0, batch 4, an HF Trainer log of three evaluations: the training loss
    1.03, 0.32, 1.0 shows nothing, the val loss 0.83, 0.17, then 165 at the last evaluation (198x its
    start and median), the val accuracy 98% -> 14%. The divergence rules read the training loss when
    one is logged, so the blow-up was never reported (no finding at all). Labelled divergence."""
    r = diagnose_recorded("g2div13-o29-0087-wine-sgd_small_batch_high")
    assert core_patterns(r) == {"divergence"} and first_action(r) == "lower_lr"
    m = measurement(r, "divergence", "train_loss")
    assert m.values["kind"] == "explosion" and r.findings[0].rule == "DIV002"
    assert m.values["onset_step"] == 36  # the last evaluation, where the blow-up is in the log


def test_a_warmup_blow_up_the_loss_is_still_coming_down_from_with_the_accuracy_held_is_an_oscillation():
    """Moons MLP, linear warmup to LR 0.2 then decay, a per-step log: the loss 0.54 -> 58.7 at the
    warmup's peak, then back down to 0.23-0.52, its third quarter 3.3x its last, the val loss back at
    1.05x its first evaluation and the val accuracy 87% against a best of 88%. Read as an early rise
    (DIV003); the labeller's spike above the start that comes back down. Labelled oscillation, now
    found as one with lower_lr first."""
    r = diagnose_recorded("g2div13-s11-0219-moons-warmup_to_high_peak")
    assert "divergence" not in core_patterns(r) and "oscillation" in core_patterns(r)
    assert first_action(r) == "lower_lr"
    assert measurement(r, "divergence", "train_loss").values["kind"] is None


def test_sgd_at_lr_2_on_batch_4_whose_loss_came_back_down_with_its_accuracy_is_an_oscillation():
    """Moons MLP at SGD 2.0, batch 4, train-only (loss every 10 steps, an evaluated training accuracy):
    0.34 -> 2.6 in the first tenth, then back to 0.05-1.2, its last quarter at 0.73x its start and
    still falling (third quarter 1.3x the last), the accuracy 87% against a best of 92%. Was an early
    rise (DIV003). Labelled oscillation."""
    r = diagnose_recorded("g2div13-s15-0025-moons-sgd_small_batch_high")
    assert core_patterns(r) == {"oscillation"} and first_action(r) == "lower_lr"
    assert measurement(r, "divergence", "train_loss").values["kind"] is None


def test_a_per_step_loss_at_zero_on_most_batches_whose_other_batches_blow_up_ever_higher_is_a_divergence():
    """Wine MLP at SGD 0.1, momentum 0.99, batch 16, a per-step TensorBoard log: the net memorises
    its small set (the loss exactly 0 on three batches in four), while the other batches throw ever
    larger losses (0.02-1.3, then 7-54, then 19-744): the quarter means 0.25, 1.6, 5.3, 55 against a
    start of 0.81. Every median reads 0; no divergence finding, a loss-spike note only. Labelled
    divergence (the full-batch loss ended >= 1.5x its start)."""
    r = diagnose_recorded("g2div13-o237-0148-wine-momentum_0.99_blowup")
    assert core_patterns(r) == {"divergence"} and first_action(r) == "lower_lr"
    m = measurement(r, "divergence", "train_loss")
    assert m.values["kind"] == "explosion" and r.findings[0].rule == "DIV002"
    assert m.values["explosion_ratio"] > 20  # 68x: far over the 2.5x line


def test_a_val_only_climb_under_adam_at_its_usual_lr_is_overfitting_not_a_blow_up():
    """4-class MLP on a small set at Adam 1e-3, batch 16, logged validation-only: the val loss climbs
    smoothly 1.51 -> 4.91 from its first evaluation while the val accuracy sits at 48% (under a coin
    flip, so the accuracy cannot clear the climb). Read as an early rise (DIV003, lower_lr); Adam's
    step at its usual LR does not throw a net that far (every labelled divergence under an adaptive
    optimizer is at >= 30x its usual top). Labelled overfitting, now found as one."""
    r = diagnose_recorded("g2div13-vo_s11-0107-classif-overfit_small_data")
    assert core_patterns(r) == {"overfitting"} and first_action(r) == "regularize"
    assert measurement(r, "divergence", "val_loss").values["kind"] is None


def test_a_keras_log_bouncing_after_the_net_learnt_with_its_accuracy_held_is_not_a_relapse():
    """Blobs MLP drawn at LR 0.3 with momentum 0.99 (only the LR logged), a Keras TensorBoard log of 30
    epochs that starts after the net learnt: train accuracy 97-99% and val accuracy 95-98% all run,
    the training loss bouncing 0.12-0.58 from a first epoch at 0.22 (its last quarter 1.31x that
    start, its third quarter 1.52x its last), the val loss climbing 0.16 -> 0.94. Read as a relapse
    to the start (DIV006); labelled oscillation and overfitting, now found as an oscillation (the
    overfitting is still missed under it)."""
    r = diagnose_recorded("g2div13-o237-0070-blobs-momentum_0.99_blowup")
    assert "divergence" not in core_patterns(r) and "oscillation" in core_patterns(r)
    assert first_action(r) == "lower_lr"
    assert measurement(r, "divergence", "train_loss").values["kind"] is None
