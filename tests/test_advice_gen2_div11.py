"""Divergence and overfitting calls on recorded trainings of the second generator
(bench/make_corpus_gen2.py), session 11. Labels come from the full-batch training loss the generator
evaluates and never writes (bench.make_corpus_oos.label); the runs are copied under
tests/data/oos/g2div11-<convention>-s<seed>-<id>-<task>-<drawn config> (the drawn config is not the
label). `valonly` runs are gen2 seed 1 rewritten by bench/conventions.py with only the val curves
(no training loss or accuracy), as an eval callback or a Keras CSV of `val_*` columns logs them.
"""
from __future__ import annotations

import pytest

from recorded import core_patterns, diagnose_recorded, first_action, measurement


@pytest.mark.parametrize("name", [
    # cancer MLP at Adam 1e-2: val loss 0.044 -> 0.39 (8.9x its first value), val accuracy 95-99%
    "g2div11-valonly-s1-0066-cancer-adam_high",
    # diabetes MLP on a small training set, no accuracy: val loss 0.59 -> 0.54 -> 0.75 (peak 1.36x the first)
    "g2div11-valonly-s1-0107-diabetes-overfit_small_data",
])
def test_a_val_only_climb_while_the_net_still_classifies_is_overfitting(name):
    """With no training loss logged, the val loss is the only loss there is, and its climb after
    a minimum read as a divergence (DIV003, lower_lr first). A val accuracy that held within 5
    points of its best, at >= 95%, says the net did not blow up; without an accuracy, a val loss
    that stays under 2.5x its first value did not either. Labelled overfitting."""
    r = diagnose_recorded(name)
    assert "train_loss" not in r.metrics
    assert core_patterns(r) == {"overfitting"}
    assert first_action(r) in ("early_stop", "regularize")
    assert measurement(r, "divergence", "val_loss").values["kind"] is None
    assert measurement(r, "overfitting", "val_loss").detected


def test_a_val_only_climb_with_a_collapsing_accuracy_stays_a_divergence():
    """Cancer MLP at SGD momentum 0.99, val-only: the val loss climbs 7.5x its first value while
    the val accuracy falls from 98% to the 68% majority share (30 points): a wrecked net."""
    r = diagnose_recorded("g2div11-valonly-s1-0071-cancer-momentum_0.99_blowup")
    assert core_patterns(r) == {"divergence"} and first_action(r) == "lower_lr"
    assert measurement(r, "divergence", "val_loss").values["kind"] == "early_rise"


@pytest.mark.parametrize("name", [
    # Lightning CSV, SGD momentum 0.99 on digits, 13 evaluations: val accuracy 43% -> 7-12%, loss back at ln 10
    "g2div11-s11-0109-digits-momentum_0.99_blowup",
    # MLflow (Keras), SGD 1.0 momentum 0.9 on moons, 10 epochs: val accuracy 86% -> 44/56%, loss back at ln 2
    "g2div11-s11-0032-moons-sgd_kill",
])
def test_a_short_record_of_a_collapse_to_chance_is_a_divergence(name):
    """An accuracy that fell >= 20 points to its floor while the loss went back to the loss of
    guessing is a net wrecked after learning, even on 10-15 evaluations (the collapse reading
    wanted 16) when the record ends at that floor. Were read as plateaus."""
    r = diagnose_recorded(name)
    assert core_patterns(r) == {"divergence"} and first_action(r) == "lower_lr"
    m = measurement(r, "divergence", "train_loss")
    assert m.values["kind"] == "relapse" and r.findings[0].rule == "DIV006"


# The val loss an Optuna sweep reported for one trial of bench/bench_sweep.py (the built-in digits
# MLP, SGD with momentum at LR 0.345, seed 0; recorded from a real training): learns for an epoch,
# blows up, then sits at ln 10 = chance. No training loss, no accuracy: only the val loss.
_SWEEP_TRIAL_VAL_LOSS = [(23, 0.9267), (46, 0.5251), (69, 2.0697), (92, 2.7245), (115, 2.2692), (138, 2.2959),
                         (161, 2.2964), (184, 2.302), (207, 2.2913), (230, 2.299), (253, 2.297), (276, 2.2946),
                         (299, 2.2925), (322, 2.296), (345, 2.2709)]


@pytest.mark.parametrize("points", [8, 15])  # as AdvisorPruner saw it at step 184, and the whole run
def test_a_val_only_blow_up_to_chance_without_an_accuracy_stays_a_divergence(tmp_path, points):
    """Overfitting reads on a val-only log with no accuracy only while the val loss stays under 2x
    its first value (the overfitting-labelled regressions of the val-only rewrites peak at 1.52-1.82x).
    At 2.5x this trial (trend peak 2.48x) was excused, and AdvisorPruner kept training it."""
    from recorded import verdict

    rows = ["step,val_loss"] + [f"{s},{v}" for s, v in _SWEEP_TRIAL_VAL_LOSS[:points]]
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "metrics.csv").write_text("\n".join(rows) + "\n")
    patterns, action = verdict(tmp_path / "run")
    assert "divergence" in patterns and action == "lower_lr"
