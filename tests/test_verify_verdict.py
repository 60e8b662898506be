"""The verdict logic on recorded trial logs (tests/data/verify/trials-*.json, real built-in
trainings recorded once by record_trials.py) and on hand-made per-seed numbers."""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from advisor.model import Finding, Run, Series
from advisor.verify.verdict import (
    CONFIRM_RATIO, JUDGES, ArmNumbers, SeedNumbers, build_verification, decide, effect_sizes, judge_for, measure_trial,
)

DATA = Path(__file__).resolve().parent / "data" / "verify"


def _run(points: dict, name: str) -> Run:
    series = {}
    for tag, pts in points.items():
        if pts:
            step = np.array([p[0] for p in pts], np.int64)
            value = np.array([float(p[1]) for p in pts], float)
            series[tag] = Series(tag, step, value, None)
    return Run(name=name, path=name, format="memory", series=series)


def _arm(recorded: dict, arm: str, judge) -> ArmNumbers:
    out = ArmNumbers()
    for seed, points in sorted(recorded["arms"][arm].items()):
        out.seeds.append(int(seed))
        out.numbers.append(measure_trial(judge, _run(points, f"{arm}/{seed}")))
    return out


def _finding(recorded: dict) -> Finding:
    metric = "val/loss" if recorded["pattern"] == "overfitting" else "train/loss"
    return Finding(rule=recorded["rule"], pattern=recorded["pattern"], severity="warning", metric=metric,
                   start_step=None, end_step=None, summary="")


@pytest.mark.parametrize("name", ["lr-oscillates", "lr-diverges", "overfit-wd", "wrong-fix"])
def test_recorded_trials_give_the_expected_verdict(name):
    recorded = json.loads((DATA / f"trials-{name}.json").read_text())
    finding = _finding(recorded)
    judge = judge_for(finding)
    base, fix = _arm(recorded, "baseline", judge), _arm(recorded, "fix", judge)
    v = build_verification(finding, recorded["rule"], recorded["action"], recorded["change"], judge, base, fix,
                           recorded["steps"], 3, "cpu", 0.0, [])
    assert v.verdict == recorded["expect"], v.notes
    assert len(v.baseline) == len(v.fix) == 3
    assert {"ratio", "cliffs_delta", "problem_baseline", "problem_fix"} <= set(v.effect)
    assert v.notes and v.notes[0]  # the one-sentence reason comes first


def test_diverged_baseline_is_inf_and_counts_as_the_problem():
    recorded = json.loads((DATA / "trials-lr-diverges.json").read_text())
    judge = JUDGES["divergence"]
    base = _arm(recorded, "baseline", judge)
    assert all(math.isinf(v) for v in base.values)
    assert base.problems() == (3, 3)
    assert base.nonfinite == 3


def test_overfitting_is_judged_on_the_validation_curve():
    recorded = json.loads((DATA / "trials-overfit-wd.json").read_text())
    judge = judge_for(_finding(recorded))
    assert judge.role == "val_loss" and judge.guard_role == "val_loss"
    base = _arm(recorded, "baseline", judge)
    assert all(v > 0.05 for v in base.values)  # val loss rose >5% above its minimum in every seed


def _numbers(values, problems, guards, nonfinite=None) -> ArmNumbers:
    nonfinite = nonfinite or [False] * len(values)
    return ArmNumbers(seeds=list(range(len(values))),
                      numbers=[SeedNumbers(v, p, g, n, "signals") for v, p, g, n in zip(values, problems, guards, nonfinite)])


def test_not_reproduced_when_the_baseline_does_not_show_the_problem():
    j = JUDGES["oscillation"]
    verdict, _, reason = decide(j, _numbers([0.1, 0.1, 0.1], [False, False, True], [1, 1, 1]),
                                _numbers([0.05, 0.05, 0.05], [False] * 3, [1, 1, 1]))
    assert verdict == "not-reproduced" and "1/3" in reason


def test_confirmed_needs_a_clear_drop_across_seeds():
    j = JUDGES["oscillation"]
    base = _numbers([0.5, 0.6, 0.55], [True] * 3, [0.5, 0.5, 0.5])
    verdict, eff, _ = decide(j, base, _numbers([0.1, 0.12, 0.11], [False] * 3, [0.2, 0.2, 0.2]))
    assert verdict == "confirmed"
    assert eff["ratio"] == pytest.approx(0.11 / 0.55)
    assert eff["cliffs_delta"] == -1.0 and eff["cohens_d"] < 0


def test_a_fix_that_breaks_training_is_refuted_even_if_the_symptom_goes():
    j = JUDGES["oscillation"]
    base = _numbers([0.5, 0.6, 0.55], [True] * 3, [0.5, 0.5, 0.5])
    dead = _numbers([0.01, 0.01, 0.01], [False] * 3, [2.3, 2.3, 2.3])
    assert decide(j, base, dead)[0] == "refuted"
    nan = _numbers([math.nan] * 3, [None] * 3, [math.inf] * 3, [True] * 3)
    assert decide(j, base, nan)[0] == "refuted"


def test_no_change_with_the_problem_persisting_is_refuted_and_mixed_is_inconclusive():
    j = JUDGES["oscillation"]
    base = _numbers([0.5, 0.6, 0.55], [True] * 3, [0.5, 0.5, 0.5])
    same = _numbers([0.52, 0.58, 0.56], [True] * 3, [0.5, 0.51, 0.5])
    assert decide(j, base, same)[0] == "refuted"
    mixed = _numbers([0.3, 0.7, 0.5], [True, False, True], [0.45, 0.55, 0.5])
    assert decide(j, base, mixed)[0] == "inconclusive"


def test_no_finished_trial_is_inconclusive():
    j = JUDGES["divergence"]
    assert decide(j, ArmNumbers(), _numbers([1.0], [False], [1.0]))[0] == "inconclusive"


def test_effect_sizes_handle_inf_and_equal_values():
    eff = effect_sizes([math.inf, math.inf], [0.1, 0.2])
    assert eff["ratio"] == 0.0 and eff["cliffs_delta"] == -1.0 and "cohens_d" not in eff
    same = effect_sizes([1.0, 1.0], [1.0, 1.0])
    assert same["ratio"] == 1.0 and same["cliffs_delta"] == 0.0 and same["cohens_d"] == 0.0
    assert effect_sizes([], [1.0]) == {}


def test_val_metric_finding_is_judged_on_val_loss():
    f = Finding(rule="OSC001", pattern="oscillation", severity="warning", metric="val_loss", start_step=None,
                end_step=None, summary="")
    assert judge_for(f).role == "val_loss"
    g = Finding(rule="X", pattern="brand_new_pattern", severity="info", metric="loss", start_step=None,
                end_step=None, summary="")
    assert judge_for(g).own == "final"


def test_a_cleared_detector_confirms_only_with_a_clearly_better_loss():
    j = JUDGES["oscillation"]
    base = _numbers([0.33, 0.34, 0.35], [True] * 3, [0.25, 0.20, 0.38])
    thin = _numbers([0.33, 0.33, 0.35], [False] * 3, [0.21, 0.21, 0.29])  # x0.85, mixed pairs
    assert decide(j, base, thin)[0] == "inconclusive"
    clear = _numbers([0.33, 0.33, 0.35], [False] * 3, [0.12, 0.11, 0.15])
    verdict, _, reason = decide(j, base, clear)
    assert verdict == "confirmed" and "3/3 baseline seeds and 0/3 fix seeds" in reason


def _started(values, start, problems, guards):
    arm = _numbers(values, problems, guards)
    for n in arm.numbers:
        n.start = start
    return arm


def test_slow_convergence_is_confirmed_by_progress_not_only_by_the_final_level():
    """A slow run that barely left its start (2.30 -> 2.19) ends at 1.78 one rung up: x0.81 of the final
    level, short of the 20% that confirms, but 4.7x the fall. A fix that fell only 1.1x as far is not
    confirmed by it; plateau, judged on the final level alone, is left as it was."""
    j = JUDGES["slow_convergence"]
    base = _started([2.19, 2.20, 2.19], 2.30, [True] * 3, [2.19, 2.20, 2.19])
    fix = _started([1.78, 1.84, 1.80], 2.30, [True] * 3, [1.78, 1.84, 1.80])
    verdict, eff, reason = decide(j, base, fix)
    assert verdict == "confirmed" and eff["ratio"] > CONFIRM_RATIO
    assert eff["progress_ratio"] == pytest.approx(0.50 / 0.11, rel=0.01)
    assert "as far from its start" in reason
    little = _started([2.18, 2.185, 2.18], 2.30, [True] * 3, [2.18, 2.185, 2.18])
    assert decide(j, base, little)[0] != "confirmed"
    assert decide(JUDGES["plateau"], base, fix)[0] == "inconclusive"


def test_a_slow_finding_on_a_val_metric_keeps_its_progress_reading():
    f = Finding(rule="SLOW001", pattern="slow_convergence", severity="warning", metric="val_loss", start_step=None,
                end_step=None, summary="")
    j = judge_for(f)
    assert (j.role, j.guard_role, j.progress, j.must_clear) == ("val_loss", "val_loss", True, False)
