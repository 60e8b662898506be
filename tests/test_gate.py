"""The CI gate and its messages: a crashed training never passes, unknown rule names are usage
errors, every CI format (SARIF, GitLab, GitHub annotations) points at the run's log file, and one
diagnosis feeds several reports. Each test here failed on the main of issue 13."""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from advisor.cli import EXIT_FINDINGS, EXIT_OK, EXIT_USAGE, main

from conftest import FIXTURES, REPO

CRASHED = REPO / "tests" / "data" / "crashed-training"
SARIF_SCHEMA = REPO / "tests" / "data" / "sarif-schema-2.1.0.json"
FORMATS = ["text", "json", "markdown", "github", "junit", "html", "sarif", "gitlab"]


def run(*args: str, env: dict | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False, env=env)
    return result.exit_code, result.stdout, result.stderr


def healthy_csv(folder: Path) -> Path:
    import numpy as np

    folder.mkdir(parents=True)
    y = 0.1 + 2.2 * np.exp(-np.arange(200) / 30) * (1 + 0.02 * np.random.default_rng(0).standard_normal(200))
    (folder / "metrics.csv").write_text("step,loss\n" + "".join(f"{i},{v:.5f}\n" for i, v in enumerate(y)))
    return folder


@pytest.fixture
def crashed(tmp_path: Path, monkeypatch) -> Path:
    """The crashed-training fixture (zero-byte event file, header-only Lightning CSV, W&B run
    without a history row) copied into a workspace, which is the current folder."""
    target = tmp_path / "crashed-training"
    shutil.copytree(CRASHED, target)
    monkeypatch.chdir(tmp_path)
    return Path("crashed-training")


# ----------------------------------------------------------------------------- empty runs


@pytest.mark.parametrize("fmt", FORMATS)
def test_crashed_training_fails_the_gate_in_every_format(crashed: Path, fmt: str):
    out_args = ["-o", "-"]
    code, out, _ = run("diagnose", str(crashed), "--format", fmt, *out_args)
    assert code == EXIT_FINDINGS, out
    assert out.lower().count("empty") >= 3, f"{fmt} does not show the three empty runs:\n{out}"
    code, _, _ = run("diagnose", str(crashed), "--format", fmt, *out_args, "--allow-empty")
    assert code == EXIT_OK


def test_empty_runs_are_errors_in_junit_and_github(crashed: Path):
    import xml.etree.ElementTree as ET

    _, out, _ = run("diagnose", str(crashed), "--format", "junit")
    cases = ET.fromstring(out).findall(".//testcase")
    assert len(cases) == 3 and all(c.find("error") is not None for c in cases)
    assert all(c.find("error").get("type") == "empty" for c in cases)
    _, out, _ = run("diagnose", str(crashed), "--format", "junit", "--allow-empty")
    assert all(c.find("skipped") is not None for c in ET.fromstring(out).findall(".//testcase"))
    _, out, _ = run("diagnose", str(crashed), "--format", "github")
    errors = [line for line in out.splitlines() if line.startswith("::error ")]
    assert len(errors) == 3 and all("file=crashed-training/" in line for line in errors)


def test_allow_empty_from_config(crashed: Path):
    Path("advisor.toml").write_text("allow_empty = true\n")
    assert run("diagnose", str(crashed))[0] == EXIT_OK
    Path("advisor.toml").write_text("allow_empty = \"yes\"\n")
    code, _, err = run("diagnose", str(crashed))
    assert code == EXIT_USAGE and "allow_empty" in err


def test_report_and_diagnose_html_share_one_exit_rule(crashed: Path, tmp_path: Path):
    code_report = run("report", str(crashed), "-o", str(tmp_path / "r.html"), "-q")[0]
    code_html = run("diagnose", str(crashed), "--format", "html", "-o", str(tmp_path / "d.html"), "-q")[0]
    assert code_report == code_html == EXIT_FINDINGS
    diverged = FIXTURES / "runs" / "lr-far-too-high"
    assert run("report", str(diverged), "-o", str(tmp_path / "r2.html"), "-q")[0] == EXIT_FINDINGS
    assert run("report", str(diverged), "-o", str(tmp_path / "r2.html"), "-q", "--fail-on", "never")[0] == EXIT_OK


def test_report_message_counts_runs_and_size(crashed: Path, tmp_path: Path):
    _, _, err = run("report", str(crashed / "tensorboard"), "-o", str(tmp_path / "one.html"), "--allow-empty")
    assert "(1 run, " in err and " KB)" in err and "0.0 MB" not in err


# ----------------------------------------------------------------------------- unreadable runs


def random_bytes_run(folder: Path) -> Path:
    folder.mkdir(parents=True)
    (folder / "events.out.tfevents.123.host").write_bytes(bytes(range(256)) * 12)
    return folder


def test_unreadable_run_alone_is_nothing_readable_with_one_message(tmp_path: Path):
    garbage = random_bytes_run(tmp_path / "garbage")
    code, out, err = run("diagnose", str(garbage))
    assert code == EXIT_USAGE
    assert out == ""  # not a report block, a warning and "nothing readable" for one problem
    assert len(err.strip().splitlines()) == 1 and "events.out.tfevents.123.host" in err
    assert err.count("events.out.tfevents.123.host") == 1


def test_unreadable_run_among_good_ones_fails_the_gate_and_is_shown(tmp_path: Path):
    random_bytes_run(tmp_path / "logs" / "garbage")
    healthy_csv(tmp_path / "logs" / "good")
    code, out, err = run("diagnose", str(tmp_path / "logs"), "--format", "json")
    assert code == EXIT_FINDINGS
    doc = json.loads(out)
    assert sorted(r["status"] for r in doc["runs"]) == ["ok", "unreadable"]
    assert [e["path"] for e in doc["errors"]] == [str(tmp_path / "logs" / "garbage")]  # contract: still listed
    assert err.count("events.out.tfevents.123.host") == 1
    code, out, err = run("diagnose", str(tmp_path / "logs"))
    assert code == EXIT_FINDINGS and "UNREADABLE" in out and err.count("events.out.tfevents.123.host") == 1


def test_warnings_name_their_file_once(crashed: Path):
    _, _, err = run("runs", str(crashed / "wandb"))
    lines = [line for line in err.splitlines() if "history rows" in line]
    assert len(lines) == 1 and lines[0].count("run-20240101_000000-crash01") == 1, err


# ----------------------------------------------------------------------------- rule names


@pytest.mark.parametrize("args,where", [
    (["--select", "NOPE1"], "--select"), (["--ignore", "OVF01"], "--ignore"), (["--select", "oscilation"], "--select"),
])
def test_unknown_rule_names_are_usage_errors_with_the_closest(args, where):
    code, out, err = run("diagnose", str(FIXTURES / "csv"), *args)
    assert code == EXIT_USAGE and out == ""
    assert err.startswith(f"advisor: {where}: unknown rule") and len(err.strip().splitlines()) == 1
    if args[1] == "OVF01":
        assert "OVF001" in err
    if args[1] == "oscilation":
        assert "oscillation" in err


def test_unknown_rule_names_in_config(tmp_path: Path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Path("pyproject.toml").write_text('[tool.advisor]\nignore = ["OVF01"]\n')
    code, _, err = run("diagnose", str(FIXTURES / "csv"))
    assert code == EXIT_USAGE and "pyproject.toml: ignore: unknown rule 'OVF01'" in err and "OVF001" in err
    Path("pyproject.toml").write_text('[tool.advisor.thresholds.OSC009]\nmin_rel_amplitude = 1\n')
    assert run("diagnose", str(FIXTURES / "csv"))[0] == EXIT_USAGE


def test_base_rules_are_listed_explained_and_selectable():
    code, out, _ = run("rules")
    assert code == 0 and "BASE001" in out and "BASE002" in out
    code, out, _ = run("explain", "BASE001")
    assert code == 0 and "## What it detects" in out and "--baseline" in out
    assert run("diagnose", str(FIXTURES / "csv"), "--ignore", "BASE002")[0] != EXIT_USAGE


def test_baseline_ignore_drops_its_findings(tmp_path: Path):
    import numpy as np

    def curve(folder: Path, end: float) -> Path:
        folder.mkdir(parents=True)
        y = end + 2.0 * np.exp(-np.arange(100) / 20)
        (folder / "metrics.csv").write_text("step,val_loss\n" + "".join(f"{i},{v:.5f}\n" for i, v in enumerate(y)))
        return folder

    base, new = curve(tmp_path / "base", 0.2), curve(tmp_path / "new", 0.9)
    _, out, _ = run("diagnose", str(new), "--baseline", str(base), "--format", "json")
    assert {f["rule"] for f in json.loads(out)["runs"][0]["findings"]} >= {"BASE001"}
    _, out, _ = run("diagnose", str(new), "--baseline", str(base), "--format", "json", "--ignore", "BASE")
    assert not {f["rule"] for f in json.loads(out)["runs"][0]["findings"]} & {"BASE001", "BASE002"}


def test_baseline_is_decided_next_to_the_engine_not_in_report():
    assert not (REPO / "advisor" / "report" / "baseline.py").exists()
    pipeline = (REPO / "advisor" / "pipeline.py").read_text()
    assert "advisor.report.baseline" not in pipeline
    for path in (REPO / "advisor" / "report").glob("*.py"):  # renderers never call back into the pipeline
        if path.name != "cli.py":  # (the `report` command is a front end, like advisor/cli.py)
            assert "from advisor.pipeline" not in path.read_text(), path


# ----------------------------------------------------------------------------- CI formats


def test_sarif_validates_against_the_official_schema(tmp_path: Path, monkeypatch):
    import jsonschema

    monkeypatch.chdir(REPO)
    random_bytes_run(tmp_path / "garbage")
    code, out, _ = run("diagnose", "fixtures/runs", str(tmp_path / "garbage"), str(CRASHED), "--format", "sarif")
    assert code == EXIT_FINDINGS
    log = json.loads(out)
    schema = json.loads(SARIF_SCHEMA.read_text())
    jsonschema.Draft4Validator(schema).validate(log)
    (sarif_run,) = log["runs"]
    results, rules = sarif_run["results"], sarif_run["tool"]["driver"]["rules"]
    rule_ids = [r["id"] for r in rules]
    assert {"empty-run", "unreadable-run"} <= set(rule_ids)
    for result in results:
        assert rule_ids[result["ruleIndex"]] == result["ruleId"]
        assert result["level"] in ("error", "warning", "note")
    with_doc = [r for r in rules if r["id"][:3] in ("OSC", "DIV", "OVF")]
    assert with_doc and all(r["help"]["text"] and r["fullDescription"]["text"] for r in with_doc)
    uris = {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in results}
    assert "fixtures/runs/lr-far-too-high/events.out.tfevents.1700000000.fixture.1.0" in uris or \
        any(u.startswith("fixtures/runs/lr-far-too-high/") for u in uris)
    assert not any(u.startswith("/") for u in uris if u.startswith("fixtures"))


def test_github_annotations_point_at_the_log_file_relative_to_the_workspace(tmp_path: Path):
    workspace = tmp_path / "ws"
    shutil.copytree(FIXTURES / "runs" / "lr-far-too-high", workspace / "runs" / "lr-far-too-high")
    code, out, _ = run("diagnose", str(workspace / "runs"), "--format", "github",
                       env={"GITHUB_WORKSPACE": str(workspace)})
    assert code == EXIT_FINDINGS
    annotations = [line for line in out.splitlines() if line.startswith("::error ")]
    assert annotations
    for line in annotations:
        props = line.split("::")[1]
        assert "file=runs/lr-far-too-high/events.out.tfevents." in props, line
        assert "title=DIV" in props or "title=advisor" in props


def test_gitlab_code_quality(crashed: Path):
    code, out, _ = run("diagnose", str(crashed), "str-not-there", "--format", "gitlab")
    issues = json.loads(out)
    assert code == EXIT_FINDINGS and len(issues) == 3
    for issue in issues:
        assert set(issue) == {"description", "check_name", "fingerprint", "severity", "location"}
        assert issue["severity"] == "critical" and issue["location"]["path"].startswith("crashed-training/")
        assert issue["location"]["lines"]["begin"] == 1
    assert len({i["fingerprint"] for i in issues}) == 3


def test_several_formats_from_one_diagnosis(tmp_path: Path, monkeypatch):
    import advisor.pipeline as pipeline

    calls = []
    real = pipeline.diagnose_paths
    monkeypatch.setattr(pipeline, "diagnose_paths", lambda *a, **k: calls.append(1) or real(*a, **k))
    src = str(FIXTURES / "runs" / "lr-far-too-high")
    a, b = tmp_path / "a.xml", tmp_path / "b.sarif"
    code, out, _ = run("diagnose", src, "--format", "junit", "-o", str(a), "--format", "sarif", "-o", str(b))
    assert code == EXIT_FINDINGS and out == "" and len(calls) == 1
    assert a.read_text().startswith("<?xml") and json.loads(b.read_text())["version"] == "2.1.0"
    code, _, _ = run("diagnose", src, "--format", "json", "--format", "gitlab", "--format", "html",
                     "--output-dir", str(tmp_path / "out"))
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["advisor.gitlab.json", "advisor.html",
                                                                    "advisor.json"]
    code, _, err = run("diagnose", src, "--format", "json", "--format", "sarif", "-o", str(a))
    assert code == EXIT_USAGE and "one -o per --format" in err


# ----------------------------------------------------------------------------- advisor runs


def test_runs_with_nothing_found_exits_2_without_a_table(tmp_path: Path):
    code, out, err = run("runs", str(tmp_path / "nonexistent"))
    assert code == EXIT_USAGE and out == "" and len(err.strip().splitlines()) == 1


def test_runs_sorted_by_path_relative_and_fitted_to_the_terminal():
    code, out, _ = run("runs", str(FIXTURES / "runs"), env={"COLUMNS": "100"})
    assert code == 0
    lines = out.splitlines()
    assert all(len(line) <= 100 for line in lines)
    first_cells = [line.split()[0] for line in lines[1:] if line.strip() and not line.startswith(" ")]
    assert first_cells[0] == "batch128-lr0.5" and str(FIXTURES) not in out
    code, out, _ = run("runs", str(FIXTURES / "runs"), "--format", "csv")
    import csv
    import io

    rows = list(csv.DictReader(io.StringIO(out)))
    assert [r["path"] for r in rows] == sorted(r["path"] for r in rows) and len(rows) > 10
    assert rows[0]["run"] == "batch128-lr0.5" and int(rows[0]["points"]) > 0


def test_action_diagnose_step_writes_every_report_from_one_call(tmp_path: Path):
    """The composite action's Diagnose step, run as GitHub runs it (bash, inputs in env vars)."""
    import subprocess
    import sys

    import yaml

    action = yaml.safe_load((REPO / "action.yml").read_text())
    step = next(s for s in action["runs"]["steps"] if s.get("id") == "diagnose")
    upload = next(s for s in action["runs"]["steps"] if "upload-sarif" in s.get("uses", ""))
    assert "sarif-report" in upload["if"] and upload["with"]["sarif_file"]
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    calls = tmp_path / "calls"
    shim = bin_dir / "advisor"
    shim.write_text(f'#!/bin/sh\necho x >> "{calls}"\nexec "{sys.executable}" -m advisor "$@"\n')
    shim.chmod(0o755)
    summary, output = tmp_path / "summary.md", tmp_path / "output"
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", "PYTHONPATH": str(REPO),
           "ADVISOR_PATHS": f"{FIXTURES / 'runs' / 'lr-far-too-high'} {CRASHED}", "ADVISOR_FAIL_ON": "error",
           "ADVISOR_BASELINE": "", "ADVISOR_TOLERANCE": "band:2", "ADVISOR_HTML": str(tmp_path / "r.html"),
           "ADVISOR_JUNIT": str(tmp_path / "j.xml"), "ADVISOR_SARIF": str(tmp_path / "s.sarif"),
           "ADVISOR_SUMMARY": "true", "ADVISOR_ALLOW_EMPTY": "false",
           "GITHUB_STEP_SUMMARY": str(summary), "GITHUB_OUTPUT": str(output)}
    proc = subprocess.run(["bash", "-e", "-c", step["run"]], env=env, capture_output=True, text=True,
                          cwd=tmp_path)
    assert proc.returncode == EXIT_FINDINGS, proc.stderr
    assert calls.read_text().count("x") == 1  # one diagnosis for every report
    assert "::error file=" not in proc.stdout or "title=DIV" in proc.stdout
    assert summary.read_text().startswith("## advisor:")
    assert json.loads((tmp_path / "s.sarif").read_text())["version"] == "2.1.0"
    assert (tmp_path / "j.xml").exists() and (tmp_path / "r.html").exists()
    assert f"sarif-report={tmp_path / 's.sarif'}" in output.read_text() and "exit-code=1" in output.read_text()


def test_readme_baseline_example_diagnoses_only_the_candidate(tmp_path: Path):
    """The README's baseline command, run by a shell as a user would: the seeds are baselines,
    not runs to diagnose (`--baseline runs/main-seed*` made seeds 1 and 2 into runs)."""
    import subprocess
    import sys

    readme = (REPO / "README.md").read_text()
    (command,) = [line for line in readme.splitlines() if line.startswith("advisor diagnose runs/candidate --baseline")]
    for name in ("candidate", "main-seed0", "main-seed1", "main-seed2"):
        healthy_csv(tmp_path / "runs" / name)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "advisor").write_text(f'#!/bin/sh\nexec "{sys.executable}" -m advisor "$@"\n')
    (bin_dir / "advisor").chmod(0o755)
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", "PYTHONPATH": str(REPO)}
    proc = subprocess.run(["bash", "-c", command + " --format json"], env=env, cwd=tmp_path, capture_output=True,
                          text=True)
    assert proc.returncode == EXIT_OK, proc.stderr
    assert [r["run"] for r in json.loads(proc.stdout)["runs"]] == ["candidate"]


def test_a_run_whose_analysis_failed_fails_the_gate(tmp_path):
    """The fuzz campaign's exit flip: one MLflow param set to a 400-digit number made the
    diagnosis of the dead-relu-stall fixture fail, and the call exited 0 where it exits 1."""
    import subprocess
    import sys

    run = tmp_path / "dead-relu-stall"
    shutil.copytree(FIXTURES / "runs" / "dead-relu-stall", run)
    (param,) = run.glob("mlruns/0/*/params/weight_decay")
    param.write_text("9" * 400)
    proc = subprocess.run([sys.executable, "-m", "advisor", "diagnose", str(run), "--format", "json"],
                          capture_output=True, text=True)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    (report,) = json.loads(proc.stdout)["runs"]
    assert report["status"] in ("error", "unreadable", "fail")


def test_a_lightning_run_that_logged_only_its_hp_metric_placeholder_is_empty():
    """A real Lightning fit that died in its first step (tests/data/formats/lightning-died-at-start) leaves
    only the hp_metric = -1 Lightning logs when a fit starts: it read "ok, 1 point" and passed the gate,
    where a torch or SB3 folder with no scalar is empty and fails it (public repos hold dozens of such
    version folders). The point is still read; it is no data."""
    folder = REPO / "tests" / "data" / "formats" / "lightning-died-at-start"
    result = CliRunner().invoke(main, ["diagnose", str(folder), "--format", "json", "-q"])
    doc = json.loads(result.stdout)
    assert [r["status"] for r in doc["runs"]] == ["empty"] and doc["runs"][0]["points"] == 1
    assert result.exit_code == EXIT_FINDINGS
    ok = CliRunner().invoke(main, ["diagnose", str(folder), "--allow-empty", "-q"])
    assert ok.exit_code == EXIT_OK
