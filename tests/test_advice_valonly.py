"""Plateau advice on validation-only logs: recorded trainings of the second generator
(bench/make_corpus_gen2.py) rewritten by `bench/conventions.py --only valonly` (the run logs its val
loss at each evaluation and no training loss), copied under
tests/data/oos/vo11-s<seed>-<id>-<task>-<drawn config> (the drawn config is not the label). Labels come
from the full-batch training loss the generator evaluates and never writes; each test states them
(session 11, issue 9).
"""
from __future__ import annotations

import pytest

from recorded import core_patterns as _patterns
from recorded import diagnose_recorded as _diagnose
from recorded import first_action, measurement


@pytest.mark.parametrize("name", [
    # W&B history, Friedman regression on 80 training points, NAdam 1e-3, 30 evaluations every 100
    # steps: the val loss reads 0.282 at the first and 0.276-0.284 to the end (the net memorised its
    # training set and froze); label: healthy. It read PLT004 (no progress, add BatchNorm first)
    "vo11-s1-0002-friedman-overfit_small_data",
    # CSV, diabetes regression on a small training set, Adamax 3e-3: 0.706 at the first evaluation,
    # then 0.84-0.89 and frozen at 0.8927 (overfitted, then memorised); label: healthy. It read PLT003
    # (stalled at its start, lower the LR)
    "vo11-s2-0028-diabetes-overfit_small_data",
])
def test_a_flat_val_loss_with_no_chance_level_is_not_a_stall(name):
    """A val loss alone, with no class count and no accuracy, that does not creep down says nothing
    about where the untrained net stood: a net that converged before its first evaluation is flat from
    there on, as a stuck one would be. The plateau reads it as unanchored, detects no stall, and no
    plateau rule fires."""
    r = _diagnose(name)
    plateau = measurement(r, "plateau", "val_loss")
    assert plateau.values.get("unanchored") is True
    assert not plateau.detected
    assert "plateau" not in _patterns(r)


@pytest.mark.parametrize("name", [
    # Keras TensorBoard, Friedman regression, plain SGD at 1e-3: 1.060 down to 1.056 over 10 epochs,
    # lower at every one (label: plateau, raise the LR)
    "vo11-s11-0060-friedman-sgd_low",
    # CSV, diabetes regression, plain SGD at 5e-4: 0.780 down to 0.763 over 12 evaluations, lower at
    # every one (label: plateau, raise the LR)
    "vo11-s11-0139-diabetes-sgd_low",
])
def test_a_val_loss_that_creeps_down_is_still_read_as_a_stall(name):
    """A val loss with no chance level that falls a little at every evaluation is a net still moving
    from where it started, too slowly: the stall reading stands (not unanchored), LR first."""
    r = _diagnose(name)
    plateau = measurement(r, "plateau", "val_loss")
    assert plateau.values.get("val_creeps") is True
    assert "unanchored" not in plateau.values
    assert "plateau" in _patterns(r)
    assert first_action(r) == "raise_lr"


def test_a_flat_val_loss_beside_a_learned_accuracy_is_not_a_saturating_stall():
    """moons, a 6-layer sigmoid net (drawn with BatchNorm) at Adam 1e-3, val-only (W&B history, 13
    evaluations): the val loss sits at 0.34-0.39 (ln 2 = 0.69) from its first evaluation with val
    accuracy 0.85-0.875 (label: healthy). PLT006 read the flat val loss of a saturating net as a
    vanishing gradient (add BatchNorm); like PLT004, its no-progress reading now yields to an
    accuracy halfway from chance to perfect."""
    r = _diagnose("vo11-s11-0211-moons-healthy_deep_bn")
    assert measurement(r, "plateau", "val_loss").values.get("acc_learned") is True
    assert not any(f.rule == "PLT006" for f in r.findings)
    assert "plateau" not in _patterns(r)
