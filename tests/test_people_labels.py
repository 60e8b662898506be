"""bench/people_labels.json, a person's reading of corpus runs, stays readable by
bench/people_agreement.py: known generators, the pattern vocabulary, one entry per run."""
from __future__ import annotations

import json
from pathlib import Path

from bench.people_agreement import LABELS, readings
from bench.score import CORE

REPO = Path(__file__).resolve().parents[1]


def test_every_reading_uses_the_vocabulary_and_names_a_generator_that_exists():
    runs = json.loads(LABELS.read_text())["runs"]
    assert len(runs) >= 70
    seen = set()
    for entry in runs:
        assert (REPO / entry["generator"]).is_file(), entry["generator"]
        assert entry["path"].startswith("runs/") and entry["why"].strip()
        for verdict in [entry["reading"], *entry["also_ok"]]:
            assert verdict == "healthy" or verdict in CORE, verdict
        key = (entry["generator"], entry["seed"], entry["path"])
        assert key not in seen, key
        seen.add(key)


def test_a_reading_and_what_it_also_accepts_become_pattern_sets():
    assert readings({"reading": "healthy", "also_ok": ["oscillation"]}) == [set(), {"oscillation"}]
