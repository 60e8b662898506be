"""Every format on real logs, through the real pipeline and CLI: parseable by its consumer,
consistent with the others, and the CLI wiring (`-o -`, `--baseline`, `report`) works."""
from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET

import pytest

from advisor.report import RenderOptions, render
from conftest import REAL_LOGS

SRC = REAL_LOGS / "csv"


@pytest.fixture(scope="module")
def diagnosis():
    if not SRC.exists():
        pytest.skip(f"real logs not found at {SRC}")
    from advisor.pipeline import diagnose_paths

    d = diagnose_paths([str(SRC)])
    assert d.runs
    return d


def test_formats_agree_on_real_logs(diagnosis):
    data = json.loads(render(diagnosis, "json"))
    n_findings = sum(len(r["findings"]) for r in data["runs"])
    github = render(diagnosis, "github").splitlines()
    assert all(re.match(r"^::(error|warning|notice)( [^:]*)?::", line) for line in github)
    n_run_errors = sum(1 for r in data["runs"] if r.get("error"))
    assert len(github) == n_findings + n_run_errors + len(data["errors"]) + 1
    junit = ET.fromstring(render(diagnosis, "junit", RenderOptions(fail_on="warning")).encode())
    failing = sum(1 for r in data["runs"] if not r.get("error")
                  and any(f["severity"] in ("warning", "error") for f in r["findings"]))
    assert int(junit.find("testsuite").get("failures")) == failing
    assert len(junit.findall(".//testcase")) == len(data["runs"]) + len(data["errors"])
    text = render(diagnosis, "text")
    md = render(diagnosis, "markdown")
    for r in data["runs"]:
        for f in r["findings"]:
            assert f["rule"] in text and f["rule"] in md
    xmlschema = pytest.importorskip("xmlschema", reason="pip install xmlschema for XSD validation")
    from pathlib import Path

    xmlschema.XMLSchema(str(Path(__file__).parent / "gold" / "junit.xsd")).validate(
        render(diagnosis, "junit", RenderOptions(fail_on="info")))


def test_cli_formats_dash_output_and_baseline(tmp_path):
    if not SRC.exists():
        pytest.skip(f"real logs not found at {SRC}")
    from click.testing import CliRunner

    from advisor.cli import main

    runner = CliRunner()
    one = str(SRC / "custom-epoch-csv-alexnet")
    res = runner.invoke(main, ["diagnose", one, "--format", "markdown", "-o", "-", "--quiet"])
    assert res.exit_code in (0, 1), res.output
    assert res.output.startswith("## advisor:")
    # A run compared with a much better baseline regresses (BASE001) and the exit code says so.
    other = str(SRC / "ultralytics-v8-results-adamtest")
    base = str(SRC / "custom-epoch-csv-resnet18")
    res = runner.invoke(main, ["diagnose", other, "--baseline", base, "--format", "json", "--quiet"])
    rules = {f["rule"] for r in json.loads(res.output)["runs"] for f in r["findings"]}
    assert res.exit_code == 1 and ("BASE001" in rules or "BASE002" in rules), res.output[-2000:]
    res = runner.invoke(main, ["diagnose", one, "--baseline", base, "--baseline-tolerance", "wide", "--quiet"])
    assert res.exit_code == 2
