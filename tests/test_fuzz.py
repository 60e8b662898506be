"""A seeded sample of the fuzz campaign on every CI run (the full one: bench/fuzz.py).

Mutated copies of the fixtures and real logs, each diagnosed in a forked child under a memory cap
and a timeout (tests/fuzzing.py): no traceback, no hang, no case over 1 GB, no run lost to one
corrupted value with the exit code going from 1 to 0, and the unmutated controls re-read with
their exact point counts along the way.
"""
from __future__ import annotations

import random
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import fuzzing  # noqa: E402

SAMPLE = 300


@pytest.fixture(scope="module")
def small_seeds():
    fuzzing.preload()
    # Small seeds keep the sample fast: every fixture format and the smaller real logs.
    return [s for s in fuzzing.seeds(fuzzing.default_roots(), max_bytes=256 << 10)
            if sum((s.path / f if s.path.is_dir() else s.path).stat().st_size for f in s.files) < (1 << 20)]


def test_every_operator_applies_somewhere(small_seeds):
    cases = fuzzing.plan(small_seeds, SAMPLE, seed=14)
    assert {c.op for c in cases} == set(fuzzing.OPERATORS)
    assert len(fuzzing.OPERATORS) >= 50
    # drawn is not applied: the 10,270-file campaign of session 3 drew sqlite-cell ~200 times and never had a
    # SQLite file to apply it to (the store was a single file beside the run folders, not a seed)
    files = [s.path if s.path.is_file() else s.path / f for s in small_seeds for f in s.files]
    for name, op in fuzzing.OPERATORS.items():
        rng = random.Random(0)
        assert any(op(path.read_bytes(), rng) is not None for path in files), name


def test_seeded_sample_holds_the_oracle(small_seeds):
    summary = fuzzing.campaign(small_seeds, SAMPLE, seed=14, timeout=60, memory_mb=1024, control_every=60)
    assert summary.cases > 0.8 * SAMPLE
    assert not summary.tracebacks, summary.tracebacks[:5]
    assert not summary.hangs, summary.hangs
    assert not summary.over_memory, summary.over_memory
    assert not summary.lost_run_flips, summary.lost_run_flips
    assert not summary.points_lost_flips, summary.points_lost_flips
    assert not summary.control_mismatches, summary.control_mismatches
