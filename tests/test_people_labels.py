"""bench/people_labels.json and bench/readers/*.json, blind readings of corpus runs, stay readable by
bench/people_agreement.py: known generators, the pattern vocabulary, one entry per run."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.people_agreement import LABELS, READERS, readings
from bench.score import CORE

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("labels", [LABELS, *READERS], ids=lambda p: p.name)
def test_every_reading_uses_the_vocabulary_and_names_a_generator_that_exists(labels):
    runs = json.loads(labels.read_text())["runs"]
    assert len(runs) >= 70
    seen = set()
    for entry in runs:
        assert (REPO / entry["generator"]).is_file(), entry["generator"]
        assert entry["path"].startswith("runs/") and entry["why"].strip()
        for verdict in [entry["reading"], *entry["also_ok"]]:
            assert verdict == "healthy" or set(verdict.split("+")) <= set(CORE), verdict
        key = (entry["generator"], entry["seed"], entry["path"])
        assert key not in seen, key
        seen.add(key)


def test_a_reading_and_what_it_also_accepts_become_pattern_sets():
    assert readings({"reading": "healthy", "also_ok": ["oscillation"]}) == [set(), {"oscillation"}]
    assert readings({"reading": "oscillation+overfitting", "also_ok": []}) == [{"oscillation", "overfitting"}]


def test_the_panel_has_more_than_one_reader_of_the_same_runs():
    """The model readers read the plots the first reading was made from: most of its runs are theirs too."""
    first = {(e["generator"], e["seed"], e["path"]) for e in json.loads(LABELS.read_text())["runs"]}
    assert len(READERS) >= 2
    for f in READERS:
        theirs = {(e["generator"], e["seed"], e["path"]) for e in json.loads(f.read_text())["runs"]}
        assert len(first & theirs) >= 70, f.name
