"""Planning: --set parsing, the baseline config from a run's hparams, changes, budgets, arms."""
from __future__ import annotations

import pytest

from advisor.model import Finding, Recommendation, Run, Series
from advisor.verify.trial import (
    MIN_STEPS, PlanError, apply_change, baseline_config, default_steps, parse_sets, parse_value, plan_arms,
)


def test_parse_value_never_evaluates():
    assert parse_value("3") == 3 and parse_value("0.1") == 0.1 and parse_value("1e-4") == 1e-4
    assert parse_value("true") is True and parse_value("none") is None
    assert parse_value("$(touch pwned)") == "$(touch pwned)"
    assert parse_value("__import__('os')") == "__import__('os')"
    assert parse_value("nan") == "nan"  # not a usable number: kept as text


def test_parse_sets():
    assert parse_sets(["lr=0.1", "optimizer.name=adam", "note=a=b"]) == {"lr": 0.1, "optimizer.name": "adam", "note": "a=b"}
    with pytest.raises(PlanError):
        parse_sets(["lr"])
    with pytest.raises(PlanError):
        parse_sets(["$(x)=1"])


def _run(hparams):
    return Run(name="r", path="r", format="csv", hparams=hparams,
               series={"loss": Series("loss", [0, 1, 2, 999], [1.0, 0.9, 0.8, 0.7], None)})


def test_baseline_config_keeps_raw_names_and_adds_normalised_ones():
    cfg, aliases = baseline_config(_run({"learning_rate": "0.1", "per_device_train_batch_size": 8,
                                         "lr_scheduler_type": "none"}), {})
    assert cfg["learning_rate"] == 0.1 and cfg["lr"] == 0.1 and cfg["batch_size"] == 8
    assert cfg["lr_scheduler_type"] == "none"  # "none" is a value, not a null
    assert aliases["lr"] == ["learning_rate"]
    cfg2, _ = baseline_config(_run({"learning_rate": 0.1}), {"lr": 0.3})
    assert cfg2["lr"] == 0.3 and cfg2["learning_rate"] == 0.3  # --set reaches the raw alias too


def test_apply_change_uses_the_engines_ladder_value_and_reaches_aliases():
    new, done = apply_change({"lr": 0.1, "learning_rate": 0.1}, {"lr": {"multiply": 0.33, "from": 0.1, "set": 0.03}},
                             {"lr": ["learning_rate"]})
    assert new["lr"] == 0.03 and new["learning_rate"] == 0.03
    assert done["lr"] == {"multiply": 0.33, "from": 0.1, "set": 0.03}


def test_apply_change_recomputes_when_the_baseline_was_overridden():
    new, done = apply_change({"lr": 3.0}, {"lr": {"multiply": 0.33, "from": 0.1, "set": 0.03}})
    assert new["lr"] == 1.0 and done["lr"]["from"] == 3.0  # x0.33 snapped to the ladder's 1.0 rung
    new, _ = apply_change({"lr": 0.03}, {"lr": {"multiply": 0.354}})
    assert new["lr"] == pytest.approx(0.01062)


def test_apply_change_set_int_and_errors():
    new, done = apply_change({"batch_size": 16, "batchnorm": False},
                             {"batch_size": {"multiply": 4}, "batchnorm": {"set": True}})
    assert new["batch_size"] == 64 and isinstance(new["batch_size"], int)
    assert new["batchnorm"] is True and done["batchnorm"] == {"set": True, "from": False}
    with pytest.raises(PlanError, match="--set lr="):
        apply_change({}, {"lr": {"multiply": 0.33}})
    with pytest.raises(PlanError):
        apply_change({"lr": 0.1}, {"lr": {}})


def _finding(pattern="oscillation", start=None, recs=None):
    return Finding(rule="OSC001", pattern=pattern, severity="warning", metric="loss", start_step=start, end_step=None,
                   summary="", recommendations=recs or [])


def test_default_steps_passes_the_onset_and_never_exceeds_the_run():
    assert default_steps(_finding(start=200), 1000) == 300
    assert default_steps(_finding(start=900), 1000) == 1000
    assert default_steps(_finding(start=None), 800) == 800
    assert default_steps(_finding(start=2), 1000) == MIN_STEPS
    assert default_steps(None, None) == 300
    assert default_steps(_finding("overfitting", start=200), 1000) == 400  # the rise must show


def test_plan_arms_one_per_change_and_skips_with_reason():
    recs = [Recommendation("lower_lr", {"lr": {"multiply": 0.33}}, "", ""),
            Recommendation("check_data", {}, "", ""),
            Recommendation("early_stop", {"max_steps": {"set": 70}}, "", ""),
            Recommendation("gradient_clipping", {"grad_clip": {"multiply": 2}}, "", "")]
    arms = plan_arms([_finding(recs=recs)], {"lr": 0.1}, {}, 300)
    assert [a.action for a in arms] == ["lower_lr", "early_stop", "gradient_clipping"]
    assert arms[0].config["lr"] == 0.03 and arms[0].skip is None
    assert arms[1].steps == 70 and "max_steps" not in arms[1].config
    assert arms[2].skip and "grad_clip" in arms[2].skip
    assert plan_arms([_finding(recs=recs)], {"lr": 0.1}, {}, 300, rules=["DIV001"]) == []



def test_log_cadence_and_thinning_match_the_original_log():
    import math

    import numpy as np

    from advisor.verify.entry import thin_run
    from advisor.verify.trial import log_cadence

    sparse = Run(name="r", path="r", format="csv",
                 series={"train_loss_step": Series("train_loss_step", np.arange(9, 600, 10), np.ones(60), None)})
    assert log_cadence(sparse, "train_loss_step") == 10
    assert log_cadence(sparse, "missing") == 1 and log_cadence(None, None) == 1
    values = np.linspace(2, 1, 100)
    values[57] = math.nan
    dense = Run(name="t", path="t", format="memory", series={
        "train/loss": Series("train/loss", np.arange(100), values, None),
        "val/loss": Series("val/loss", np.arange(20, 101, 20), np.ones(5), None)})
    thin = thin_run(dense, 10)
    assert list(thin.series["train/loss"].step) == [0, 10, 20, 30, 40, 50, 57, 60, 70, 80, 90]  # the NaN stays
    assert len(thin.series["val/loss"]) == 5  # already sparser than the cadence: untouched
    assert thin_run(dense, 1) is dense
    stopped = Run(name="s", path="s", format="memory", series={
        "train/loss": Series("train/loss", np.arange(5), [2.0, 3.0, 9.0, 50.0, 2e6], None)})
    assert list(thin_run(stopped, 10, budget=300).series["train/loss"].step) == [0, 4]  # the blow-up stays
