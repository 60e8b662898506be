"""The built-in reference experiments, really trained on CPU: every seed article's fix comes out
`confirmed` and the deliberately wrong fix (raising an LR that is already too high) `refuted`.
About 30 s in all (each trial a few hundred steps of a small MLP, threads=1)."""
from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

pytest.importorskip("torch")
pytest.importorskip("sklearn")

from advisor.cli import main  # noqa: E402
from advisor.verify.experiments import EXPERIMENTS  # noqa: E402
from advisor.verify.session import run_experiment  # noqa: E402


@pytest.mark.trains
@pytest.mark.parametrize("name", list(EXPERIMENTS))
def test_experiment_gives_the_verdict_the_seeds_predict(name):
    exp = EXPERIMENTS[name]
    report = run_experiment(exp, seeds=3, device="cpu")
    (v,) = report.verification
    assert v.verdict == exp.expect, f"{name}: {v.verdict}: {v.notes}"
    # the cheap path: the original run is the seed-0 baseline, seeds stop once the verdict is clear,
    # and no experiment costs more than the default 1.5x cap
    assert v.compute["ratio"] <= 1.5 and v.compute["failed_trials"] == 0
    if exp.expect == "not-reproduced":
        assert v.compute["trials"] == 0 and "does not fire on the original run" in v.notes[0]  # the control
        return
    assert 1 <= len(v.fix) <= 3 and len(v.baseline) >= 1 and v.device == "cpu"
    assert v.effect["problem_baseline"] >= 1 and v.effect["problem_baseline"] * 2 >= len(v.baseline)
    assert v.confidence is not None
    if exp.expect == "confirmed":
        assert v.effect.get("guard_ratio", 1.0) < 1.0  # and the fix left the final loss lower


def test_builtin_cli_json_uses_the_report_contract():
    result = CliRunner().invoke(main, ["verify", "--builtin", "batchnorm", "--seeds", "2", "--device", "cpu",
                                       "--format", "json", "-q"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    run = doc["runs"][0]
    assert run["run"] == "builtin:batchnorm" and run["findings"][0]["rule"] == "DIV002"
    (v,) = run["verification"]
    assert v["verdict"] == "confirmed" and v["change"] == {"batchnorm": {"set": True, "from": False}}
    assert set(v) >= {"verdict", "rule", "action", "change", "measure", "baseline", "fix", "effect", "steps",
                      "seeds", "device", "wall_s", "notes"}


@pytest.mark.slow
@pytest.mark.trains
def test_demo_default_scenario_is_confirmed_and_reports_its_compute(tmp_path):
    """The README's headline command, as is: CONFIRMED on any CPU (the scenario sits far from its
    detector's thresholds; CI reruns this under a second ATEN_CPU_CAPABILITY)."""
    result = CliRunner().invoke(main, ["demo", "--device", "cpu", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "SLOW001" in result.output and "verdict: CONFIRMED" in result.output
    assert "compute:" in result.output and "x the original run" in result.output


def test_demo_runs_the_whole_loop(tmp_path):
    result = CliRunner().invoke(main, ["demo", "--scenario", "divergence", "--seeds", "2", "--device", "cpu",
                                       "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    out = result.output
    assert "2. advisor diagnose" in out and "DIV001" in out
    assert "4. verdict" in out and "verdict: CONFIRMED" in out
    assert list(tmp_path.rglob("metrics.csv"))
