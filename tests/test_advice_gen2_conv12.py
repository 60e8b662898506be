"""Oscillation calls on recorded trainings rewritten in other logging conventions (bench/conventions.py),
session 12: `nolr` (no hparams and no LR curve, as a Keras or generic CSV logs a run) and `valonly`
(only the val curves). Each run was misread by main fdc350f; each test names what the log still holds
that reads it right. Labels come from the full-batch training loss the generators evaluate and never
write; the runs are copied under tests/data/oos/g2conv12-<convention><seed>-<id>-... (the drawn config in
the name is not the label).
"""
from __future__ import annotations

from recorded import core_patterns as _patterns
from recorded import diagnose_recorded as _diagnose
from recorded import first_action, measurement


def test_a_bouncing_train_only_loss_with_no_lr_logged_is_not_called_oscillating():
    """gen2 seed 16, a healthy NAdam net on moons (LR 2e-3), rewritten with no hparams and no LR: 240
    per-step points of a train loss alone, bouncing 37% of its level (2.2x the density's floor) after a
    fast drop, 1.8x its start's noise. It was OSC002 (decay the LR); as logged, its LR within the usual
    range keeps it silent. Without the LR nothing on the curve tells it from the oscillating train-only
    nets (1.6-5.7x the floor); the bouncing is still measured, not called."""
    r = _diagnose("g2conv12-nolr16-0151-moons-healthy_nadam")
    assert "oscillation" not in _patterns(r)
    m = measurement(r, "oscillation", "train_loss")
    assert m.detected is False
    assert m.values["rel_amplitude"] >= 2 * m.values["noise_floor"]  # the bouncing is still read


def test_with_no_lr_logged_a_val_loss_that_does_not_move_confirms_nothing():
    """gen2 seed 15, SGD with momentum 0.99 on moons, healthy, rewritten with no hparams and no LR: per-step
    bouncing of 2.5x the floor after a fast drop, and a val loss bouncing 10.4% between its 32 evaluations
    while its second half moves 5% of its level per evaluation (`val_moves` false). It was OSC002; as
    logged, its LR (0.05, within the usual range) keeps it silent."""
    r = _diagnose("g2conv12-nolr15-0033-moons-momentum_0.99_blowup")
    assert "oscillation" not in _patterns(r)
    m = measurement(r, "oscillation", "train_loss")
    assert m.detected is False and m.values["val_moves"] is False


def test_a_val_loss_logged_alone_that_climbs_and_falls_back_at_a_far_too_high_lr_is_oscillating():
    """gen2 seed 16, RMSprop at LR 0.1 (100x its usual top) on digits, val curves only: 22 evaluations
    whose second half moves 20% of its level per evaluation, half of the moves up (`val_moves`: 8.8%
    and 30% asked), not settled, well below its start. It was silent (a val curve read as a sparse
    per-step log); labelled oscillation."""
    r = _diagnose("g2conv12-vo16-0214-digits-rmsprop_high")
    assert "oscillation" in _patterns(r)
    assert first_action(r) == "lower_lr"
    m = measurement(r, "oscillation", "val_loss")
    assert m.detected is True


def test_the_same_on_the_first_generator():
    """Pool seed 3, RMSprop at LR 0.1 on hastie, val curves only: 20 evaluations moving 23% of their
    level, 44% of the moves up. It was silent; labelled oscillation."""
    r = _diagnose("g2conv12-vop3-0142-hastie-rmsprop_lr0.1")
    assert "oscillation" in _patterns(r)
    assert first_action(r) == "lower_lr"


def test_a_val_loss_logged_alone_with_no_lr_must_move_to_be_called():
    """gen2 seed 2, an Adam net on cancer logged with its val curves only and no hparams: 120
    evaluations whose second half moves 5.4% of its level per evaluation (8.8% asked). It was OSC002
    (the val curve read as a per-step train loss); labelled overfitting, which is still called."""
    r = _diagnose("g2conv12-vo2-0005-cancer-adam_high")
    assert "oscillation" not in _patterns(r)
    assert "overfitting" in _patterns(r)
