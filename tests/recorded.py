"""Reading the recorded trainings under tests/data/oos, for the tests of the detectors' calls.

The runs there are copied from the labelled corpora (bench/make_corpus_oos.py, bench/make_corpus_gen2.py);
each test file states the labels it checks. These helpers are the one way they are diagnosed, so
every such test reads a run exactly as `advisor diagnose` does.
"""
from __future__ import annotations

from pathlib import Path

from advisor.pipeline import diagnose_paths

OOS = Path(__file__).parent / "data" / "oos"
CORE = {"divergence", "oscillation", "plateau", "slow_convergence", "overfitting"}


def diagnose_recorded(name: str):
    """The report of the one run under tests/data/oos/<name> (a second run there is a bug)."""
    d = diagnose_paths([str(OOS / name)])
    assert len(d.runs) == 1, name
    return d.runs[0]


def verdict(path) -> tuple[list[str], str | None]:
    """(every pattern called, the first recommended action) of the one run under `path`: what must
    not change when the same training is written by another writer."""
    d = diagnose_paths([str(path)])
    assert len(d.runs) == 1, [r.run.name for r in d.runs]
    findings = d.runs[0].findings
    return sorted({f.pattern for f in findings}), next(
        (f.recommendations[0].action for f in findings if f.recommendations), None)


def core_patterns(report) -> set[str]:
    """The scored patterns the report calls (divergence, oscillation, plateau, slow, overfitting)."""
    return {f.pattern for f in report.findings} & CORE


def first_action(report) -> str | None:
    """The action a reader sees first: the first recommendation of the most severe finding."""
    return report.findings[0].recommendations[0].action if report.findings and report.findings[0].recommendations else None


def measurement(report, family: str, role: str):
    """One measurement family on one role (e.g. oscillation on train_loss); it must exist."""
    m = report.measurements.get(family, role)
    assert m is not None, (family, role)
    return m
