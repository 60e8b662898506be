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
from recorded import measurement


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
