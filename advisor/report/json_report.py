"""The JSON contract of DESIGN.md (`advisor.diagnosis/1`): the machine-readable diagnosis."""
from __future__ import annotations

import json
import math
from dataclasses import asdict
from typing import Any

from advisor import __version__
from advisor.model import Diagnosis, Finding, RunReport, Verification
from advisor.numbers import plain

SCHEMA = "advisor.diagnosis/1"


def to_dict(diagnosis: Diagnosis, runs: list | None = None) -> dict[str, Any]:
    """The document; `runs` replaces the list of run dicts (render_chunks passes a lazy one)."""
    return {
        "schema": SCHEMA,
        "advisor_version": __version__,
        "runs": [run_dict(r) for r in diagnosis.runs] if runs is None else runs,
        # unreadable runs stay listed here too: `errors` has always held every input that could not be read
        "errors": [dict(e) for e in diagnosis.errors]
                  + [{"path": r.run.path, "message": r.read_error} for r in diagnosis.runs if r.read_error],
    }


def run_dict(report: RunReport) -> dict[str, Any]:
    run = report.run
    out: dict[str, Any] = {
        "run": run.name,
        "format": run.format,
        "metrics": dict(report.metrics),
        "points": run.points,
        "status": report.status,
        "findings": [finding_dict(f) for f in report.findings],
        "verification": [verification_dict(v) for v in report.verification] if report.verification else None,
    }
    if run.writer:
        out["writer"] = run.writer
    if run.warnings:
        out["warnings"] = list(run.warnings)
    if report.read_error or report.error:
        out["error"] = report.read_error or report.error
    return out


def finding_dict(f: Finding) -> dict[str, Any]:
    return {
        "rule": f.rule,
        "pattern": f.pattern,
        "severity": f.severity,
        "metric": f.metric,
        "start_step": _num(f.start_step),
        "end_step": _num(f.end_step),
        "summary": f.summary,
        "evidence": {k: _clean(v) for k, v in f.evidence.items()},
        "recommendations": [
            {"action": r.action, "change": _clean(r.change), "text": r.text, "source": r.source}
            for r in f.recommendations
        ],
    }


def verification_dict(v: Verification) -> dict[str, Any]:
    return _clean(asdict(v))


def _num(x: Any) -> Any:
    if x is None:
        return None
    x = float(x)
    if not math.isfinite(x):
        return None
    return int(x) if x.is_integer() else x


def _clean(value: Any) -> Any:
    """JSON-safe: numpy scalars to Python, non-finite floats to strings ("nan", "inf")."""
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    value = plain(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return value
    if isinstance(value, (int, str, bool)) or value is None:
        return value
    return str(value)


def render(diagnosis: Diagnosis, options: Any = None) -> str:
    return json.dumps(to_dict(diagnosis), indent=2, allow_nan=False) + "\n"


class _LazyRuns(list):
    """The `runs` list of the document, converted one run at a time as the encoder reaches it,
    so a 100,000-run diagnosis never holds its whole JSON (or every run dict) in memory."""

    def __init__(self, reports):
        super().__init__()
        self._reports = reports

    def __len__(self) -> int:
        return len(self._reports)

    def __bool__(self) -> bool:
        return bool(self._reports)

    def __iter__(self):
        return (run_dict(r) for r in self._reports)


def render_chunks(diagnosis: Diagnosis, options: Any = None):
    """The text of `render`, piece by piece (identical once joined): what `advisor diagnose
    --format json` writes as it goes. json's pure-Python encoder (the one `indent` uses anyway)
    walks lists by iteration, which is what lets the runs be converted lazily."""
    doc = to_dict(diagnosis, runs=_LazyRuns(diagnosis.runs))
    yield from json.JSONEncoder(indent=2, allow_nan=False).iterencode(doc)
    yield "\n"
