"""Divergence and overfitting calls on recorded trainings, session 12, copied under
tests/data/oos/g2div12-<corpus>-<id>-<task>-<drawn config> (the drawn config is not the label):
o236 / o2 = the first generator's seeds 236 (last session's blind seed, tuning data now) and 11
(bench/make_corpus_oos.py); s11 = gen2 seed 11 (bench/make_corpus_gen2.py); sum-s16 = gen2 seed 16
rewritten with summed losses (bench/conventions.py sum). Labels come from the full-batch training
loss the generators evaluate and never write (bench.make_corpus_oos.label).
"""
from __future__ import annotations

import pytest

from recorded import core_patterns, diagnose_recorded, first_action, measurement


def test_a_run_that_stopped_on_a_blow_up_is_a_divergence_whatever_its_trend_did_before():
    """Hastie MLP at SGD 1.0, momentum 0.9, batch 16, a per-step TensorBoard log: the loss sits at
    ln 2 with bursts to 1.6 (the trend rises past 2.5x its start, read as a net at chance and
    cleared), then logs 1.9e12 as its last value; the val accuracy at chance. The run stopped on a
    blow-up 2.7e12x its start. Labelled divergence; was a grad-norm warning with gradient clipping
    first."""
    r = diagnose_recorded("g2div12-o236-0006-hastie-sgd_lr_kill")
    assert core_patterns(r) == {"divergence"} and first_action(r) == "lower_lr"
    m = measurement(r, "divergence", "train_loss")
    assert m.values["kind"] == "explosion" and r.findings[0].rule == "DIV002"
    assert m.values["onset_step"] == 319  # the last logged step: where the blow-up is in the log


def test_orders_apart_with_a_val_accuracy_at_100_percent_and_a_mild_creep_is_not_overfitting():
    """Wine MLP at Adam 3e-3, a Keras CSV of 115 epochs: the training loss memorised (4e-4), the
    val loss falls 1.02 -> 0.011 and creeps 17% (to 0.013) while the val accuracy stays at 100%
    from its minimum to the end. 1.5 orders apart, but a metric that held shrugs off a climb under
    20% (the climb reading's veto; now the orders-apart reading's too). Labelled healthy; was
    OVF001 (early_stop), then OVF002 once OVF001 no longer fired."""
    r = diagnose_recorded("g2div12-o236-0236-wine-healthy_adam")
    assert core_patterns(r) == set()
    v = measurement(r, "overfitting", "val_loss").values
    assert v["orders_apart"] >= 1.0 and 0.1 <= v["rise_rel"] < 0.2
    assert v["metric_held"] is True and v["metric_shrugged"] is True
    assert not measurement(r, "overfitting", "val_loss").detected


# `sum` runs are gen2 seed 16 rewritten by bench/conventions.py (sum) with the losses x the batch
# size, as a loop with `reduction="sum"` logs them; the hparams (optimizer, LR) are the run's own.
def test_a_summed_loss_of_a_net_stuck_at_chance_at_an_ordinary_lr_is_a_plateau_not_a_blow_up():
    """Digits, an 8-layer tanh MLP with tiny init at SGD 0.03, batch 16, train-only: the summed loss
    sits at 16 x ln 10 = 36.8 from its first value while the training accuracy stays at chance. Read
    as blown-up logits (DIV007, lower_lr first); at 0.15x its optimizer's usual top LR no step throws
    the outputs that far. Labelled plateau; the stall finding now puts BatchNorm first."""
    r = diagnose_recorded("g2div12-sum-s16-0012-digits-deep_saturating")
    assert core_patterns(r) == {"plateau"} and first_action(r) == "add_batchnorm"
    assert measurement(r, "divergence", "train_loss").values["kind"] is None


def test_a_summed_loss_far_above_chance_at_an_lr_far_too_high_stays_a_blow_up():
    """Digits MLP at SGD 0.5, momentum 0.9 (5x its usual top), batch 32, summed: the loss sits at
    28.7x the loss of guessing with the accuracy at chance. Labelled divergence, still DIV007."""
    r = diagnose_recorded("g2div12-sum-s16-0170-digits-sgd_kill")
    assert core_patterns(r) == {"divergence"} and first_action(r) == "lower_lr"
    assert measurement(r, "divergence", "train_loss").values["kind"] == "above_chance"


@pytest.mark.parametrize("name, pattern, first", [
    # classif MLP on 60 samples at NAdam 3e-3 (HF callback): the training loss memorised to ~0, the val
    # loss climbs 2.65 -> 6.5; the grad norm falls 1.2 -> ~0 and its small bumps read 10x its minimum
    ("g2div12-s11-0077-classif-overfit_small_data", "overfitting", ("early_stop", "regularize")),
    # hastie MLP at Adam 0.1 (tb-torch, per step): the val loss bounces 0.26-0.78, the grad norm 0.1 -> 1-5.8
    ("g2div12-o2-0210-hastie-adam_lr0.1", "oscillation", ("lower_lr",)),
])
def test_a_grad_norm_blow_up_beside_a_pattern_of_the_loss_comes_after_it(name, pattern, first):
    """The grad-norm reading (DIV004: the grad norm >= 10x its running minimum while the loss shows
    no divergence) ranked with the loss's own warnings and won on its id, so gradient clipping came
    first on all five runs of the 14 tuning corpora where it fired beside another finding (two
    overfitting, two oscillation, one plateau), none of them a gradient problem. It now follows the
    patterns read from the loss; the finding itself is kept."""
    r = diagnose_recorded(name)
    assert core_patterns(r) == {pattern} and first_action(r) in first
    rules = [f.rule for f in r.findings]
    assert "DIV004" in rules and rules.index("DIV004") > 0
    # it names where the norm took off and how far (it had no steps, and said ">= 10x its median" of a rise
    # read against the running minimum)
    div004 = r.findings[rules.index("DIV004")]
    onset = div004.evidence["divergence.grad_norm_onset_step"]
    assert div004.start_step == onset and div004.end_step is not None and div004.evidence["divergence.grad_norm_ratio"] >= 10
    assert f"blows up from {div004.x_unit} {onset:,}" in div004.summary and "its lowest level before" in div004.summary


def test_a_collapse_shown_by_an_evaluated_training_accuracy_in_a_train_only_log_is_a_divergence():
    """4-class MLP at SGD 0.05 momentum 0.99, batch 16, train-only (tensorboardX): the training
    accuracy, evaluated 13 times (its values step by 0.15%, not by a batch's 1/16), climbs 43% ->
    57% and falls to 24-26% (chance) while the loss goes back to ln 4. The collapse reading wanted a
    val accuracy for a single-evaluation peak; a training accuracy measured on many samples is
    evidence too. Labelled divergence; was a plateau."""
    r = diagnose_recorded("g2div12-s11-0007-classif-momentum_0.99_blowup")
    assert "val_acc" not in r.metrics and "train_acc" in r.metrics
    assert core_patterns(r) == {"divergence"} and first_action(r) == "lower_lr"
    assert measurement(r, "divergence", "train_loss").values["kind"] == "relapse" and r.findings[0].rule == "DIV006"
