"""Divergence calls on recorded trainings, session 14, copied under
tests/data/oos/g2div14-<corpus>-<id>-<task>-<drawn config> (the drawn config is not the label):
s19 / s21 = gen2 seeds 19 and 21 (bench/make_corpus_gen2.py), o238 = the first generator's seed 238
(bench/make_corpus_oos.py); session 13's blind seeds, tuning data now. Labels come from the full-batch
training loss the generators evaluate and never write (bench.make_corpus_oos.label: divergence when its
last quarter ends >= 1.5x its untrained start, or the val accuracy falls back to chance after beating it).
"""
from __future__ import annotations

from recorded import core_patterns, diagnose_recorded, first_action, measurement


def test_both_losses_far_above_guessing_while_the_accuracy_creeps_up_from_chance_is_a_divergence():
    """Digits MLP (tanh) at SGD 1.0, batch 4: the per-step loss 6-42 all run, the val loss 10-30 at
    every evaluation, both ending at >= 6.7x ln(1 / the accuracy's low) (the loss of guessing, about
    ln 10), while the val accuracy creeps from 9% to 25-35%. The accuracy is neither flat at its low
    nor under twice it, so the classifier-above-chance tests did not fire, and the run was read as a
    stall at an LR far too high (PLT005). Labelled divergence (the full-batch loss rose past its start
    and stayed there)."""
    r = diagnose_recorded("g2div14-s19-0200-digits-sgd_small_batch_high")
    assert core_patterns(r) == {"divergence"} and first_action(r) == "lower_lr"
    m = measurement(r, "divergence", "train_loss")
    assert m.values["kind"] == "above_chance" and r.findings[0].rule == "DIV007"
    assert m.values["chance_ratio"] > 5  # 6.7x: far over the 4x line, and 1.36x is the highest non-divergence


def test_both_losses_far_above_guessing_with_the_accuracy_a_point_past_twice_its_low_is_a_divergence():
    """Digits MLP (tanh) at SGD 2.0, momentum 0.5, batch 8: the per-step loss about 20-60 all run, the val
    loss 17-58, both ending at >= 15x the loss of guessing; the val accuracy 8-26%, its last quarter
    19% against a low of 9% (a point past twice it). Read as PLT005 (a stall at an LR far too high).
    Labelled divergence."""
    r = diagnose_recorded("g2div14-s21-0021-digits-sgd_small_batch_high")
    assert core_patterns(r) == {"divergence"} and first_action(r) == "lower_lr"
    m = measurement(r, "divergence", "train_loss")
    assert m.values["kind"] == "above_chance" and m.values["chance_ratio"] > 10


def test_an_accuracy_that_rose_and_fell_back_to_the_class_shares_with_the_loss_at_ln_2_is_a_collapse():
    """Moons MLP at NAdam 0.2, an HF Trainer log of 15 evaluations: the val accuracy 88% at the first,
    then down to 44% and 56% (the two class shares: a net predicting one class at a time), both losses
    back at 0.69-0.72 = ln 2 (the loss of guessing). The accuracy's tail flips between the shares, so it
    is never "at its floor", and the first training loss (3.0, the blown-up first steps) hid the loss's
    return: read as overfitting (regularize first) and a stall. Labelled divergence (the labeller's
    collapse: the val accuracy back within 5 points of chance after beating it by 25)."""
    r = diagnose_recorded("g2div14-s21-0182-moons-nadam_high")
    assert core_patterns(r) == {"divergence"} and first_action(r) == "lower_lr"
    m = measurement(r, "divergence", "train_loss")
    assert m.values["kind"] == "relapse" and r.findings[0].rule == "DIV008"
    # the summary's numbers are the log's: the val accuracy's peak 0.878, the best of its tail 0.559
    assert abs(m.values["collapse_acc_peak"] - 0.878) < 1e-3 and abs(m.values["collapse_acc_tail"] - 0.559) < 1e-3


def test_a_keras_log_that_collapsed_to_chance_after_its_first_epoch_is_a_collapse_not_a_metric_stall():
    """Blobs MLP at SGD 0.2, momentum 0.99, Keras TensorBoard epochs: the val accuracy 56% at epoch 0,
    then 14-18% (1 in 6, chance) for 29 epochs; the training loss 10.9, 34, 1.98, 6,530, then 1.9-2.0
    (ln 6 = 1.79) to the end. Measured from its blown first epoch the loss never came back to its
    start, so only a flat-accuracy note (ACC001) was left. Labelled divergence (collapse to chance)."""
    r = diagnose_recorded("g2div14-o238-0162-blobs-momentum_0.99_blowup")
    assert core_patterns(r) == {"divergence"} and first_action(r) == "lower_lr"
    m = measurement(r, "divergence", "train_loss")
    assert m.values["kind"] == "relapse" and r.findings[0].rule == "DIV008"
    assert m.values["onset_step"] == 0  # the first epoch, the accuracy's peak
    assert m.values["collapse_loss_over_guess"] > 0.85  # 0.97: back at the loss of guessing (the bar 0.75)


def test_a_loss_far_above_ln_2_whose_first_logged_value_was_already_blown_up_is_a_divergence():
    """Moons MLP at SGD 2.0, batch 8, an HF Trainer log: the first logged loss 41.6 (the first 25
    steps' blow-up), then 10-50 to the end, the val loss 6-108, the val accuracy 44-88% (85% over its
    last quarter). The trend's rise was measured from that first value and cleared (it never got
    above it), and that early-rise reading had kept the loss of guessing's reading from being made:
    the training loss's last quarter at 44x ln 2 (the bar 3x) while it has not fallen under 0.7x its
    first value. Read as small-batch noise (OSC004). Labelled divergence."""
    r = diagnose_recorded("g2div14-s18-0004-moons-sgd_small_batch_high")
    assert core_patterns(r) == {"divergence"} and first_action(r) == "lower_lr"
    m = measurement(r, "divergence", "train_loss")
    assert m.values["kind"] == "above_chance" and r.findings[0].rule == "DIV007"
    assert m.values["chance_ratio"] > 10
