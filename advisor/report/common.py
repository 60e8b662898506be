"""Formatting helpers shared by the human-facing renderers (text, Markdown, GitHub, JUnit, HTML).

They only *format* what the report object already holds: ordering runs worst first, writing a
number or a step range, spelling a recommendation's `change` as `lr: 0.1 → 0.033`. Keeping them
in one place is what makes the formats agree word for word, and it keeps the untrusted-text
handling (control characters from log files) in one audited spot.
"""
from __future__ import annotations

import math
from typing import Any, Iterable

from advisor import units
from advisor.model import Diagnosis, Finding, Recommendation, RunReport, severity_rank
from advisor.numbers import plain, readable
from advisor.terminal import sanitize

# Worst first. A run that could not be read or analysed, or that holds no point at all (a training
# that crashed before it logged), ranks just below a failing one: the user cannot trust its
# silence, but a run we *know* is broken is more urgent.
STATUSES = ("fail", "unreadable", "error", "empty", "warn", "ok")
STATUS_ORDER = {s: i for i, s in enumerate(STATUSES)}
STATUS_LABEL = {"fail": "FAIL", "unreadable": "UNREADABLE", "error": "ERROR", "empty": "EMPTY", "warn": "WARN",
                "ok": "ok"}

def clean(text: Any, *, newlines: bool = False) -> str:
    """`text` as printable one-line text: control characters, escape sequences and bidi overrides
    shown as visible escapes (advisor.terminal.sanitize, the one sanitiser of the project).

    Newlines are kept only when asked (multi-line summaries in the text and JUnit bodies);
    everywhere else a newline in a run name could forge a line of output.
    """
    return sanitize(text, newlines=newlines)


def sorted_runs(diagnosis: Diagnosis) -> list[RunReport]:
    """Runs worst first: status, then the number of findings at the worst severity, then name.
    A sweep's packed reports (advisor.packed) stay packed: sorted by key, unpacked as read."""

    def key(r: RunReport):
        worst = max((severity_rank(f.severity) for f in r.findings), default=-1)
        n_worst = sum(1 for f in r.findings if worst >= 0 and severity_rank(f.severity) == worst)
        return (STATUS_ORDER.get(r.status, 9), -n_worst, r.run.name)

    if hasattr(diagnosis.runs, "sorted_by"):
        return diagnosis.runs.sorted_by(key)
    return sorted(diagnosis.runs, key=key)


def located(path: Any, message: Any) -> str:
    """`path: message`, or the message alone when it already starts with that path (readers name
    the file they complain about; a warning must not say it twice)."""
    path_s, message_s = clean(path), clean(message)
    return message_s if path_s and message_s.startswith(path_s) else f"{path_s}: {message_s}"


def workspace_path(path: Any, workspace: str | None = None) -> str | None:
    """`path` relative to the CI workspace ($GITHUB_WORKSPACE, $CI_PROJECT_DIR, else the current
    folder) with forward slashes, as GitHub annotations, SARIF and GitLab want it; None when the
    file lies outside the workspace (an annotation cannot point there)."""
    import os
    from pathlib import Path

    if not path:
        return None
    root = Path(workspace or os.environ.get("GITHUB_WORKSPACE") or os.environ.get("CI_PROJECT_DIR") or os.getcwd())
    try:
        rel = Path(os.path.abspath(path)).relative_to(os.path.abspath(root))
    except ValueError:
        return None
    return rel.as_posix()


def sorted_findings(findings: Iterable[Finding]) -> list[Finding]:
    """Findings worst first, then by onset (earliest first: the first problem usually causes the rest)."""
    return sorted(
        findings,
        key=lambda f: (
            -severity_rank(f.severity),
            math.inf if f.start_step is None or not _finite(f.start_step) else float(f.start_step),
            f.rule,
        ),
    )


def worst_finding(report: RunReport) -> Finding | None:
    fs = sorted_findings(report.findings)
    return fs[0] if fs else None


def at_or_above(findings: Iterable[Finding], level: str) -> list[Finding]:
    """The findings at or above `level` (the --fail-on threshold); none for `never`."""
    if level == "never":
        return []
    threshold = severity_rank(level)
    return [f for f in findings if severity_rank(f.severity) >= threshold]


def counts(diagnosis: Diagnosis) -> dict[str, int]:
    """Runs per status, in a fixed order (for summary lines and tables)."""
    out = dict.fromkeys(STATUSES, 0)
    for r in diagnosis.runs:
        out[r.status] = out.get(r.status, 0) + 1
    return out


def summary_line(diagnosis: Diagnosis) -> str:
    c = counts(diagnosis)
    n = len(diagnosis.runs)
    parts = [f"{c[s]} {s}" for s in STATUSES if c[s]]
    line = f"{n} run{'s' if n != 1 else ''}" + (": " + ", ".join(parts) if parts else "")
    if diagnosis.errors:
        k = len(diagnosis.errors)
        line += f"; {k} input{'s' if k != 1 else ''} could not be read"
    return line


# ----------------------------------------------------------------------------- numbers


def _finite(x: Any) -> bool:
    try:
        return math.isfinite(float(x))
    except (TypeError, ValueError):
        return False


def fmt_num(x: Any) -> str:
    """A number the way a person reads it, the same in every report and summary
    (advisor.numbers.readable: exact counts with thousands separators, else 3 significant digits);
    anything else as sanitised text."""
    x = plain(x)
    if x is None or isinstance(x, (bool, int, float)):
        return readable(x)
    return clean(x)


def fmt_steps(start: Any, end: Any, unit: str = "step") -> str:
    """`steps 1,200–5,000`, `step 1,200`, `from step 1,200` or '' when unknown; `unit` names what
    the run's x axis counts (advisor.units: `epochs 3–7`, `timesteps 20,000–40,000`)."""
    s = fmt_num(start) if _finite(start) else None
    e = fmt_num(end) if _finite(end) else None
    one = units.name(unit)
    if s and e:
        return f"{one} {s}" if s == e else f"{units.name(unit, plural=True)} {s}–{e}"
    if s:
        return f"from {one} {s}"
    if e:
        return f"until {one} {e}"
    return ""


def finding_span(finding: Finding) -> str:
    """Where `finding` lies, in its run's own unit (`Finding.x_unit`, set by the engine from
    advisor.units): `epochs 14–49`, `timesteps 50–6,550`, `step 3`. Every renderer writes a
    finding's range with this, so the formats agree with each other and with the summary's
    "at epoch 4"."""
    return fmt_steps(finding.start_step, finding.end_step, finding.x_unit)


def fmt_evidence(evidence: dict[str, Any]) -> str:
    """`key=value, …` in the finding's own order (the engine orders evidence by importance)."""
    return ", ".join(f"{clean(k)}={fmt_num(v) if not isinstance(v, (list, tuple, dict)) else clean(v)}"
                     for k, v in evidence.items())


# ----------------------------------------------------------------------------- recommendations


def hparams_of(report: RunReport) -> dict[str, Any]:
    """The run's known hyperparameters: normalised ones (Curves) over the raw log's."""
    out: dict[str, Any] = dict(report.run.hparams or {})
    if report.curves is not None and report.curves.hparams:
        out.update(report.curves.hparams)
    return out


def fmt_change(change: dict[str, Any], hparams: dict[str, Any] | None = None) -> str:
    """A recommendation's change in words: `lr: 0.1 → 0.033 (×0.33)`, or `lr ×0.33` when the
    current value is unknown. Only arithmetic on values already in the report; nothing decided."""
    hparams = hparams or {}
    parts = []
    for name, op in change.items():
        name_s = clean(name)
        current = hparams.get(name)
        if not isinstance(op, dict):
            parts.append(f"{name_s}: {fmt_num(op)}")
            continue
        if "set" in op:
            target = op["set"]
            if _finite(current):
                parts.append(f"{name_s}: {fmt_num(current)} → {fmt_num(target)}")
            else:
                parts.append(f"{name_s}: → {fmt_num(target)}")
        elif "multiply" in op:
            factor = op["multiply"]
            if _finite(current) and _finite(factor) and not isinstance(current, bool):
                parts.append(f"{name_s}: {fmt_num(current)} → {fmt_num(float(current) * float(factor))} (×{fmt_num(factor)})")
            else:
                parts.append(f"{name_s} ×{fmt_num(factor)}")
        elif "add" in op:
            delta = op["add"]
            if _finite(current) and _finite(delta) and not isinstance(current, bool):
                parts.append(f"{name_s}: {fmt_num(current)} → {fmt_num(float(current) + float(delta))}")
            else:
                parts.append(f"{name_s} +{fmt_num(delta)}")
        else:
            parts.append(f"{name_s}: " + ", ".join(f"{clean(k)} {fmt_num(v)}" for k, v in op.items()))
    return "; ".join(parts)


def fmt_recommendation(rec: Recommendation, hparams: dict[str, Any] | None = None) -> str:
    """`lower_lr: lr: 0.1 → 0.033 (×0.33)` — the action id first, so it can be grepped."""
    change = fmt_change(rec.change or {}, hparams)
    return f"{clean(rec.action)}: {change}" if change else clean(rec.action)


def run_meta(report: RunReport) -> str:
    """`tensorboard, 12,345 points` — what was read."""
    run = report.run
    bits = [clean(run.format)]
    bits.append(f"{run.points:,} point{'' if run.points == 1 else 's'}")
    return ", ".join(bits)
