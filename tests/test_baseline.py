"""Baseline gating (advisor.engine.baseline): regressions beyond the tolerance, silence within it."""
from __future__ import annotations

import numpy as np
import pytest

from advisor.model import Curve, Curves, Diagnosis, Run, RunReport
from advisor.report import RenderOptions, render
from advisor.engine.baseline import Tolerance, apply, compare, compare_detailed, parse_tolerance


def make(name: str, val_loss_end: float | None = None, val_acc_end: float | None = None,
         train_end: float = 0.2, n: int = 100, tail=None) -> tuple[Run, Curves]:
    """A run whose curves fall to the given final values (monotone, so final == best)."""
    x = np.arange(n, dtype=float) * 10
    by_role = {"train_loss": Curve("train_loss", "train/loss", x, np.linspace(2.0, train_end, n))}
    if val_loss_end is not None:
        y = np.linspace(2.0, val_loss_end, n)
        if tail is not None:
            y[-1] = tail
        by_role["val_loss"] = Curve("val_loss", "val/loss", x, y)
    if val_acc_end is not None:
        by_role["val_acc"] = Curve("val_acc", "val/acc", x, np.linspace(0.1, val_acc_end, n))
    return Run(name=name, path=name, format="csv"), Curves(run=name, by_role=by_role)


BASE = [make(f"base{i}", val_loss_end=v, val_acc_end=a) for i, (v, a) in
        enumerate([(0.40, 0.90), (0.42, 0.91), (0.41, 0.905)])]


def rules(findings):
    return sorted((f.rule, f.metric) for f in findings)


def test_within_band_is_silent():
    run, cv = make("new", val_loss_end=0.415, val_acc_end=0.903)
    assert compare(run, cv, BASE, "band:2") == []


def test_final_loss_regression_is_an_error_with_evidence():
    run, cv = make("new", val_loss_end=0.55, val_acc_end=0.903)
    fs = compare(run, cv, BASE, "band:2")
    assert rules(fs) == [("BASE001", "val/loss"), ("BASE002", "val/loss")]
    f = fs[0]
    assert f.pattern == "regression" and f.severity == "error"
    assert f.evidence["baseline_runs"] == 3
    assert f.evidence["baseline_mean"] == pytest.approx(0.41)
    assert f.evidence["limit"] == pytest.approx(0.41 + 2 * 0.01)
    assert f.evidence["final"] == pytest.approx(0.55)
    assert f.start_step == 990


def test_accuracy_is_higher_is_better():
    worse, cv = make("new", val_loss_end=0.41, val_acc_end=0.80)
    assert rules(compare(worse, cv, BASE)) == [("BASE001", "val/acc"), ("BASE002", "val/acc")]
    better, cv = make("new", val_loss_end=0.41, val_acc_end=0.99)
    assert compare(better, cv, BASE) == []


def test_nan_final_value_always_regresses():
    run, cv = make("new", val_loss_end=0.41, val_acc_end=0.905, tail=np.nan)
    fs = compare(run, cv, BASE)
    assert ("BASE001", "val/loss") in rules(fs)
    assert all(f.rule != "BASE002" for f in fs)  # its best value is fine


def test_single_baseline_uses_the_floor():
    base = [make("only", val_loss_end=0.40)]
    ok, cv = make("new", val_loss_end=0.405)  # +1.25% < 2% floor
    assert compare(ok, cv, base) == []
    bad, cv = make("new", val_loss_end=0.42)  # +5%
    assert ("BASE001", "val/loss") in rules(compare(bad, cv, base))


def test_abs_and_rel_tolerances():
    run, cv = make("new", val_loss_end=0.44, val_acc_end=0.905)
    assert compare(run, cv, BASE, "abs:0.05") == []
    assert rules(compare(run, cv, BASE, "abs:0.02")) == [("BASE001", "val/loss"), ("BASE002", "val/loss")]
    assert compare(run, cv, BASE, "10%") == []
    assert len(compare(run, cv, BASE, "rel:0.05")) == 2


def test_missing_metric_abstains_and_self_is_excluded():
    run, cv = make("base0", val_loss_end=0.40, val_acc_end=0.90)
    findings, abst = compare_detailed(run, cv, [BASE[0]])
    assert findings == [] and abst == [("BASE001", "no baseline runs to compare with")]
    nolacc, cv = make("new", val_loss_end=0.41)
    _, abst = compare_detailed(nolacc, cv, BASE)
    assert ("BASE001", "the run has no val_acc curve; the baseline has") in abst


@pytest.mark.parametrize("spec,expected", [
    (None, Tolerance()), ("band", Tolerance("band", 2.0)), ("band:3", Tolerance("band", 3.0)),
    ("abs:0.05", Tolerance("abs", 0.05)), ("rel:0.1", Tolerance("rel", 0.1)), ("5%", Tolerance("rel", 0.05)),
])
def test_parse_tolerance(spec, expected):
    assert parse_tolerance(spec) == expected


@pytest.mark.parametrize("bad", ["abs", "wide:2", "abs:x", "rel:-1", "band:inf"])
def test_parse_tolerance_rejects(bad):
    with pytest.raises(ValueError):
        parse_tolerance(bad)


def test_apply_adds_findings_that_every_format_shows():
    run, cv = make("new", val_loss_end=0.60, val_acc_end=0.905)
    d = Diagnosis(runs=[RunReport(run=run, metrics={"val_loss": "val/loss"}, curves=cv)])
    apply(d, BASE, "band:2")
    assert d.runs[0].status == "fail"
    assert "BASE001" in render(d, "text") and "regression" in render(d, "markdown")
    assert "::error title=BASE001 regression" in render(d, "github")
    assert 'type="BASE001"' in render(d, "junit", RenderOptions(fail_on="error"))
