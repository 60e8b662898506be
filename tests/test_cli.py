"""The command line end to end: exit codes, the JSON contract, errors as one line, lazy imports."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from advisor.cli import EXIT_FINDINGS, EXIT_OK, EXIT_USAGE, main

from conftest import FIXTURES, REPO


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def nan_run(tmp_path: Path) -> Path:
    """A tiny CSV run whose loss turns NaN: an error-level finding."""
    folder = tmp_path / "diverged"
    folder.mkdir()
    rows = ["step,loss"] + [f"{i},{2.3 * 0.99 ** i:.5f}" for i in range(60)] + [f"{i},nan" for i in range(60, 70)]
    (folder / "metrics.csv").write_text("\n".join(rows) + "\n")
    return folder


def healthy_run(tmp_path: Path) -> Path:
    folder = tmp_path / "healthy"
    folder.mkdir()
    import numpy as np

    rng = np.random.default_rng(0)
    y = 0.1 + 2.2 * np.exp(-np.arange(200) / 30) * (1 + 0.02 * rng.standard_normal(200))
    rows = ["step,loss"] + [f"{i},{v:.5f}" for i, v in enumerate(y)]
    (folder / "metrics.csv").write_text("\n".join(rows) + "\n")
    return folder


def test_help_does_not_import_heavy_modules():
    code = ("import sys; from advisor.cli import main\n"
            "try: main(['--help'])\nexcept SystemExit: pass\n"
            "heavy = [m for m in ('pandas', 'torch', 'tensorboard', 'matplotlib', 'scipy', 'numpy') if m in sys.modules]\n"
            "print('HEAVY:' + ','.join(heavy))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO)
    line = [l for l in out.stdout.splitlines() if l.startswith("HEAVY:")][0]
    assert line == "HEAVY:", f"--help imported {line[6:]}"


def test_json_contract_and_exit_code_on_divergence(tmp_path):
    code, out, _ = run("diagnose", str(nan_run(tmp_path)), "--format", "json")
    assert code == EXIT_FINDINGS
    doc = json.loads(out)
    assert doc["schema"] == "advisor.diagnosis/1" and doc["advisor_version"]
    (entry,) = doc["runs"]
    assert set(entry) >= {"run", "format", "metrics", "points", "status", "findings", "verification"}
    assert entry["status"] == "fail" and entry["metrics"]["train_loss"] == "loss"
    finding = entry["findings"][0]
    assert set(finding) == {"rule", "pattern", "severity", "metric", "start_step", "end_step", "summary",
                            "evidence", "recommendations"}
    assert finding["pattern"] == "divergence" and finding["severity"] == "error"
    assert finding["start_step"] is not None and finding["start_step"] <= 60
    rec = finding["recommendations"][0]
    assert rec["action"] == "lower_lr" and rec["change"]["lr"]["multiply"] == pytest.approx(0.33)
    assert doc["errors"] == []


def test_healthy_run_exits_zero_and_fail_on(tmp_path):
    folder = healthy_run(tmp_path)
    code, out, _ = run("diagnose", str(folder), "--format", "json")
    assert code == EXIT_OK, out
    assert json.loads(out)["runs"][0]["findings"] == []
    code, _, _ = run("diagnose", str(nan_run(tmp_path)), "--fail-on", "never")
    assert code == EXIT_OK


def test_nothing_readable_exits_two_with_one_line(tmp_path):
    code, _, err = run("diagnose", str(tmp_path / "missing"))
    assert code == EXIT_USAGE
    assert "missing: no such file or folder" in err and "Traceback" not in err
    junk = tmp_path / "junk"
    junk.mkdir()
    (junk / "events.out.tfevents.123.host").write_bytes(b"\x00garbage" * 10)
    code, _, err = run("diagnose", str(junk))
    assert code == EXIT_USAGE and "Traceback" not in err


def test_corrupt_file_among_good_ones_is_an_error_entry(tmp_path):
    nan_run(tmp_path)
    (tmp_path / "trainer_state.json").write_text('{"log_history": [')
    code, out, err = run("diagnose", str(tmp_path), "--format", "json")
    doc = json.loads(out)
    assert any(r["run"].endswith("diverged") for r in doc["runs"])
    assert code == EXIT_FINDINGS


def test_output_file_and_select_ignore(tmp_path):
    target = tmp_path / "out.json"
    code, out, _ = run("diagnose", str(nan_run(tmp_path)), "--format", "json", "-o", str(target), "--ignore", "DIV")
    doc = json.loads(target.read_text())
    assert all(not f["rule"].startswith("DIV") for r in doc["runs"] for f in r["findings"])


def test_config_from_pyproject(tmp_path, monkeypatch):
    folder = nan_run(tmp_path)
    (tmp_path / "pyproject.toml").write_text('[tool.advisor]\nfail_on = "never"\nignore = ["DIV001"]\n')
    monkeypatch.chdir(tmp_path)
    code, out, _ = run("diagnose", "diverged", "--format", "json")
    assert code == EXIT_OK
    assert all(f["rule"] != "DIV001" for r in json.loads(out)["runs"] for f in r["findings"])
    (tmp_path / "pyproject.toml").write_text('[tool.advisor]\nfail_onn = "never"\n')
    code, _, err = run("diagnose", "diverged")
    assert code == EXIT_USAGE and "unknown key 'fail_onn'" in err


def test_runs_and_export(tmp_path):
    folder = nan_run(tmp_path)
    code, out, _ = run("runs", str(folder), "--format", "json")
    doc = json.loads(out)
    assert code == 0 and doc["runs"][0]["points"] == 70
    target = tmp_path / "table.csv"
    code, _, _ = run("export", str(folder), "-o", str(target))
    text = target.read_text().splitlines()
    assert text[0] == "run,tag,step,wall_time,value" and len(text) == 71
    assert any(line.endswith(",nan") or line.endswith(",") for line in text[-10:])


def test_explain_says_when_a_recommendation_is_given_and_when_it_comes_first():
    """PLT001 lists lower_lr first in its file, but gives it only to a stall that bounces: explain
    says so instead of reading as 'lower the LR first' for every stall."""
    code, out, _ = run("explain", "PLT001")
    assert code == 0
    block = out.split("- lower_lr:", 1)[1].split("\n- ", 1)[0]
    assert "given only when: oscillation.detected == true" in block
    assert "comes first when: oscillation.detected == true" in block
    batchnorm = out.split("- add_batchnorm:", 1)[1].split("\n- ", 1)[0]
    assert "comes first when: oscillation.detected is missing or false and slow_convergence.detected is missing or false" in batchnorm


def test_rules_and_explain():
    code, out, _ = run("rules")
    assert code == 0 and "OSC001" in out
    code, out, _ = run("explain", "osc001")
    assert code == 0 and "## Why it matters" in out and "Oscillating-loss notes" in out
    # the source's original words (another script) appear here, and only here
    assert "学习速率α设置得过大时" in out and "## Sources" in out
    code, _, err = run("explain", "NOPE999")
    assert code == EXIT_USAGE and "unknown rule" in err


def test_module_entry_point():
    out = subprocess.run([sys.executable, "-m", "advisor", "--version"], capture_output=True, text=True, cwd=REPO)
    assert out.returncode == 0 and "0.1.0" in out.stdout


def test_a_folder_given_beside_its_subfolder_reports_each_run_once():
    """`advisor diagnose runs runs/lr-too-low` found lr-too-low twice and reported 19 runs of 18."""
    from advisor.ingest.discover import discover

    alone, _ = discover([str(FIXTURES / "runs")])
    both, _ = discover([str(FIXTURES / "runs"), str(FIXTURES / "runs" / "lr-too-low")])
    assert len(both) == len(alone) == 18
    assert sorted(s.name for s in both) == sorted(s.name for s in alone)
