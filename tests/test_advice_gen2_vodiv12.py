"""Divergence calls on validation-only logs (no training loss), session 12, recorded under
tests/data/oos/g2vodiv12-<corpus>-<id>-<task>-<drawn config> (the drawn config is not the label):
vo1 / vo11 = gen2 seeds 1 and 11 rewritten by bench/conventions.py valonly (the val curves and
hparams as logged, the training loss and training accuracy dropped). Labels come from the
full-batch training loss the generator evaluates and never writes (bench/make_corpus_gen2.py).
"""
from __future__ import annotations

from recorded import core_patterns, diagnose_recorded, first_action, measurement


def test_a_val_loss_far_above_guessing_from_its_first_evaluation_is_a_blow_up():
    """4-class MLP (3 tanh layers) at SGD 2.0, batch 8, 13 evaluations: the val loss sits at
    8.4-16.5 from its first evaluation (9.4x ln(1 / the val accuracy's low of 31%)) and ends below
    its first value, while the val accuracy creeps 31% -> 40%. Not an overfit climb (that starts
    low), not a stall at chance (that sits near ln C): logits thrown far by the first steps.
    Labelled divergence; was a plateau."""
    r = diagnose_recorded("g2vodiv12-vo1-0058-classif-sgd_small_batch_high")
    assert core_patterns(r) == {"divergence"} and first_action(r) == "lower_lr"
    v = measurement(r, "divergence", "val_loss").values
    assert v["kind"] == "above_chance" and r.findings[0].rule == "DIV007"
    assert 6.0 <= v["chance_ratio"] < 10.0  # under FAR_ABOVE_CHANCE: the new reading made the call


def test_a_val_loss_blown_up_on_10_classes_with_no_optimizer_logged_is_a_divergence():
    """Digits MLP at LR 1.0 (optimizer not logged), 31 evaluations: the val loss falls 45 -> 9-30
    and stays 5x the loss of guessing, the val accuracy 8-30%. Labelled divergence; was no
    finding."""
    r = diagnose_recorded("g2vodiv12-vo11-0026-digits-sgd_small_batch_high")
    assert core_patterns(r) == {"divergence"} and first_action(r) == "lower_lr"
    assert measurement(r, "divergence", "val_loss").values["kind"] == "above_chance"


def test_a_val_loss_that_climbs_from_a_low_first_evaluation_stays_overfitting():
    """4-class MLP on a small training set at LR 1e-3, 120 evaluations: the val loss falls
    1.38 -> 1.06, then climbs back up (its last quarter 2x the loss of guessing, 1.15x its first
    evaluation) while the val accuracy holds near 57%. An overfit climb, not a blow-up (and at an
    ordinary LR). Labelled overfitting; unchanged."""
    r = diagnose_recorded("g2vodiv12-vo11-0104-classif-overfit_small_data")
    assert core_patterns(r) == {"overfitting"}
    assert measurement(r, "divergence", "val_loss").values["kind"] is None
