"""The cheap path: the budget from where the fault shows in the original run, the original run as
the seed-0 baseline, seeds added until the verdict is clear, a compute cap, identical arms run once,
info-level findings skipped, the user's own --try changes. Trials are the numpy entry points of
tests/data/verify/entry_mod.py (milliseconds each)."""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from advisor.model import Finding, Recommendation, Run, Series
from advisor.verify import verdict as V
from advisor.verify.entry import recorder_run
from advisor.verify.logwriters import Recorder
from advisor.verify.sequential import fault_step, prob_below, trial_budget, truncate
from advisor.verify.session import VerifyOptions, verify_findings

DATA = Path(__file__).resolve().parent / "data" / "verify"


def _finding(rule="DIV001", severity="error", change=None, action="lower_lr"):
    rec = Recommendation(action, change or {"lr": {"multiply": 0.33}}, "", "")
    return Finding(rule=rule, pattern="divergence", severity=severity, metric="train/loss", start_step=0,
                   end_step=None, summary="", recommendations=[rec])


def _loss_run(values) -> Run:
    steps = np.arange(len(values))
    return Run(name="r", path="r", format="memory",
               series={"train/loss": Series("train/loss", steps, np.asarray(values, float), None)})


def test_fault_step_is_where_the_criterion_starts_to_hold_for_good():
    # healthy for 150 steps, then the loss explodes and ends non-finite
    y = list(np.linspace(2.0, 0.5, 150)) + [0.5 * 3 ** k for k in range(1, 60)] + [math.inf]
    run = _loss_run(y)
    judge = V.judge_for(_finding())
    onset = fault_step(run, judge, len(y) - 1, 30)
    assert 150 <= onset <= 185
    budget = trial_budget(onset, len(y) - 1, 30, "divergence")
    assert min(onset * 1.5, len(y) - 1) <= budget <= len(y) - 1
    assert V.measure_trial(judge, truncate(run, budget)).problem  # the trial budget reproduces it
    assert fault_step(_loss_run(np.linspace(2.0, 0.5, 300)), judge, 299, 30) is None  # a healthy run


def test_a_single_cut_where_a_noisy_criterion_dips_does_not_restart_the_onset(monkeypatch):
    """The stall of bench case moons-lr-explodes: holds at 122 and 134, misses at 149, holds from
    164 on. For a stall one isolated miss is noise (onset 122); two misses in a row restart the
    count, and for other patterns (here a divergence judge) any miss does."""
    from advisor.verify.sequential import scan_cuts

    cuts = scan_cuts(299, 30)
    i122 = cuts.index(122)
    run = _loss_run(np.ones(300))

    def measured(misses):
        def fake(judge, r):
            last = int(r.series["train/loss"].step.max())
            return _Problem(last >= 122 and last not in misses)
        return fake

    stall = V.judge_for(Finding(rule="PLT005", pattern="plateau", severity="warning", metric="train/loss",
                                start_step=0, end_step=None, summary="", recommendations=[]))
    monkeypatch.setattr(V, "measure_trial", measured({cuts[i122 + 2]}))
    assert fault_step(run, stall, 299, 30) == 122
    # an oscillation seen and lost again is a transient: its onset restarts
    assert fault_step(run, V.judge_for(_finding()), 299, 30) == cuts[i122 + 3]
    monkeypatch.setattr(V, "measure_trial", measured({cuts[i122 + 2], cuts[i122 + 3]}))
    assert fault_step(run, stall, 299, 30) == cuts[i122 + 4]
    monkeypatch.setattr(V, "measure_trial", measured({cuts[-1]}))  # the end must hold
    assert fault_step(run, stall, 299, 30) is None


class _Problem:
    """What fault_step reads of a measured trial."""

    def __init__(self, problem):
        self.problem = problem


def test_confidence_grows_with_the_effect_and_the_seeds():
    assert prob_below([1.0], [0.3], 0.8, 0.15) > 0.95  # a dramatic effect: one pair is enough
    assert prob_below([1.0], [0.9], 0.8, 0.15) < 0.5
    one = prob_below([1.0], [0.6], 0.8, 0.35)
    three = prob_below([1.0, 1.05, 0.97], [0.6, 0.62, 0.58], 0.8, 0.35)
    assert one < 0.9 < three
    assert prob_below([math.inf], [0.5], 0.8, 0.35) > 0.99  # a NaN run made finite


def _original(lr=3.0, steps=60):
    import entry_mod

    rec = Recorder()
    entry_mod.train_quad({"lr": lr}, steps, 0, rec)
    return recorder_run(rec, "original", {"lr": lr})


@pytest.fixture
def entry(monkeypatch):
    monkeypatch.syspath_prepend(str(DATA))
    return "entry_mod:train_quad"


def test_the_original_run_is_the_seed0_baseline_and_seeds_stop_when_clear(entry):
    opts = VerifyOptions(entry=entry, seeds=3, device="cpu")
    (v,) = verify_findings([_finding()], {"lr": 3.0}, {}, opts, 59, original_run=_original())
    assert v.verdict == "confirmed" and v.confidence >= 0.9
    assert v.seeds == 1 and len(v.baseline) == 1  # one fix trial; the baseline was the original run
    assert v.compute["trials"] == 1 and v.compute["ratio"] == pytest.approx(v.steps / 59, abs=1e-3)
    assert v.steps < 59  # the budget stops shortly after the fault shows
    assert any("decided after 1 seed" in n for n in v.notes)


def test_identical_arms_run_once_info_findings_are_skipped_and_try_arms_run(entry):
    opts = VerifyOptions(entry=entry, seeds=2, device="cpu", tries=[{"lr": 0.5}], budget=None)
    findings = [_finding("DIV001"), _finding("DIV004"), _finding("SPK001", severity="info")]
    out = verify_findings(findings, {"lr": 3.0}, {}, opts, 59, original_run=_original())
    assert [v.rule for v in out] == ["DIV001", "DIV004", "DIV001"]  # no info-level SPK001
    assert out[2].action == "try" and out[2].change == {"lr": {"set": 0.5, "from": 3.0}}
    assert out[0].fix == out[1].fix  # the same lower_lr arm under two findings: one set of trials
    assert out[0].compute["trials"] == 2  # lower_lr once + the --try arm
    capped = verify_findings(findings, {"lr": 3.0}, {}, VerifyOptions(entry=entry, seeds=2, device="cpu",
                                                                       tries=[{"lr": 0.5}], budget=1.0), 59,
                             original_run=_original())
    assert capped[2].notes[0] == "fix not run: the --budget cap was reached"  # one 45-step trial fits in 59
    with_info = verify_findings(findings, {"lr": 3.0}, {}, VerifyOptions(entry=entry, seeds=1, device="cpu",
                                                                          include_info=True), 59,
                                original_run=_original())
    assert "SPK001" in [v.rule for v in with_info]


def test_a_change_that_changes_nothing_is_not_run(entry):
    f = _finding(change={"lr": {"set": 3.0}})
    (v,) = verify_findings([f], {"lr": 3.0}, {}, VerifyOptions(entry=entry, device="cpu"), 59,
                           original_run=_original())
    assert v.verdict == "inconclusive" and "leaves the configuration as it is" in v.notes[0]
    assert v.compute["trials"] == 0


def test_the_compute_cap_skips_what_it_cannot_afford(entry):
    longer = _finding(change={"max_steps": {"multiply": 2, "set": 118}}, action="train_longer")
    out = verify_findings([longer], {"lr": 3.0}, {}, VerifyOptions(entry=entry, device="cpu", budget=1.5), 59,
                          original_run=_original())
    assert "over the --budget 1.5x cap" in out[0].notes[0] and out[0].compute["trials"] == 0
    # a tight cap: at most the first round runs
    tight = verify_findings([_finding()], {"lr": 3.0}, {}, VerifyOptions(entry=entry, device="cpu", budget=0.3,
                                                                          confidence=0.999999), 59,
                            original_run=_original())
    assert tight[0].compute["trial_steps"] <= max(0.3 * 59, tight[0].steps)


@pytest.mark.slow
def test_builtin_trials_fan_out_on_a_local_ray_instance():
    """--executor ray: trials are Ray tasks (advisor.executor); the built-in trainer is importable
    on every worker, which a cluster needs of any --entry."""
    pytest.importorskip("ray")
    pytest.importorskip("torch")
    from advisor.verify.experiments import EXPERIMENTS
    from advisor.verify.session import run_experiment

    report = run_experiment(EXPERIMENTS["lr-diverges"], seeds=2, jobs=2, device="cpu", executor="ray",
                            confidence=0.9999999)
    (v,) = report.verification
    assert v.verdict == "confirmed" and v.compute["failed_trials"] == 0 and v.compute["trials"] >= 1


def test_no_reuse_trains_the_seed0_baseline_too(entry):
    opts = VerifyOptions(entry=entry, seeds=3, device="cpu", reuse_original=False)
    (v,) = verify_findings([_finding()], {"lr": 3.0}, {}, opts, 59, original_run=_original())
    assert v.verdict == "confirmed" and v.compute["trials"] == 2  # baseline seed 0 and fix seed 0
    assert not any("the original run itself" in n for n in v.notes)
