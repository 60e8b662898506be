"""The robust estimators' memory within one run's `measure` (robust.remembering) is exact.

A run's families ask the estimators the same questions (Theil-Sen slopes, running medians, bin
medians, flat stretches, LOWESS fits) of the same curves; `measure` answers the repeats from
memory. These tests hold it to what it promises: every measurement of every real log is the same
with and without it, an answer is keyed by what the arguments contain (never by which object
they are, so a curve edited in place or a new curve at a reused address gets its own answer), a
caller that edits an answer cannot change the next one, and nothing is remembered past a run.
"""
from __future__ import annotations

import gc

import numpy as np

from advisor.ingest import read
from advisor.ingest.discover import discover
from advisor.roles import build_curves
from advisor.signals import _measure, measure, robust


def _measurements(ms) -> list[tuple]:
    return [(m.family, m.role, m.tag, m.detected, m.start_step, m.end_step, m.confidence, repr(m.values), m.note)
            for m in sorted(ms, key=lambda m: (m.family, m.role))]


def test_every_real_log_measures_the_same_with_and_without_the_memory(real_logs):
    sources, _ = discover([real_logs])
    measured = 0
    for src in sources:
        try:
            run = read(src)
        except Exception:  # unreadable logs are the ingest tests' business
            continue
        curves, _ = build_curves(run)
        remembered = measure(curves)
        fresh = _measure(curves, None)  # the same families, no memory
        assert _measurements(remembered) == _measurements(fresh), run.path
        measured += bool(fresh.items)
    assert measured >= 40


def test_the_memory_answers_repeats_and_is_gone_after_the_block():
    x = np.arange(300.0)
    y = np.exp(-x / 80) + 0.01 * np.sin(x)
    assert robust._MEMO.get() is None
    with robust.remembering():
        first = robust.theil_sen(x, y)
        memo = robust._MEMO.get()
        assert len([k for k in memo if k[0] == "theil_sen"]) == 1
        again = robust.theil_sen(x.copy(), y.copy())  # other objects, same contents: remembered
        assert len([k for k in memo if k[0] == "theil_sen"]) == 1
        assert again == first and again is not first
    assert robust._MEMO.get() is None


def test_a_curve_changed_in_place_or_at_a_reused_address_gets_its_own_answer():
    rng = np.random.default_rng(0)
    with robust.remembering():
        y = rng.normal(size=200).cumsum()
        before = robust.running_median(y, 21)
        y[50:] += 10.0  # same object, same id, new contents
        assert np.array_equal(robust.running_median(y, 21), robust.running_median.__wrapped__(y, 21))
        assert not np.array_equal(robust.running_median(y, 21), before)
        seen = {}
        for trial in range(50):  # new arrays, freed at once: CPython reuses their addresses
            z = rng.normal(size=200).cumsum()
            seen.setdefault(id(z), 0)
            seen[id(z)] += 1
            assert np.array_equal(robust.running_median(z, 21), robust.running_median.__wrapped__(z, 21))
            s = robust.theil_sen(np.arange(200.0), z)
            assert s == robust.theil_sen.__wrapped__(np.arange(200.0), z)
            del z
            gc.collect()
        assert max(seen.values()) > 1  # an address was reused, and still no answer leaked


def test_an_answer_edited_by_its_caller_does_not_change_the_next_one():
    y = np.linspace(1, 0, 101) + 0.05 * (np.arange(101) % 2)
    with robust.remembering():
        a = robust.running_median(y, 9)
        a[:] = -1.0
        xb, yb, counts = robust.bin_medians(np.arange(101.0), y, 30)
        yb *= 0
        s = robust.theil_sen(np.arange(101.0), y)
        s.slope = 99.0
        assert np.array_equal(robust.running_median(y, 9), robust.running_median.__wrapped__(y, 9))
        assert np.array_equal(robust.bin_medians(np.arange(101.0), y, 30)[1],
                              robust.bin_medians.__wrapped__(np.arange(101.0), y, 30)[1])
        assert robust.theil_sen(np.arange(101.0), y).slope != 99.0


def test_two_runs_share_nothing(real_logs):
    sources, _ = discover([real_logs])
    runs = [read(s) for s in sorted(sources, key=lambda s: str(s.path))[:6]]
    curves = [build_curves(r)[0] for r in runs]
    apart = [_measurements(measure(c)) for c in curves]
    together = [_measurements(measure(c)) for c in curves + curves[::-1]]
    assert together == apart + apart[::-1]
    assert robust._MEMO.get() is None
