"""GitHub Actions workflow commands: one annotation per finding (`::error title=…::…`).

Escaping follows the runner's own rules (actions/toolkit `command.ts`): in the message `%`, `\\r`
and `\\n` become `%25`, `%0D`, `%0A`; in a property value `:` and `,` are escaped too (`%3A`,
`%2C`). Each annotation is one line that we start ourselves, so text from a log can never begin a
line and forge a command (`::stop-commands::`, `::add-mask::`, …). Control characters are
shown as visible escapes first (advisor.terminal.sanitize).

Severity maps to the command: error → `::error`, warning → `::warning`, info → `::notice`.
Healthy runs print nothing except the final `::notice` summary line.
"""
from __future__ import annotations

from typing import Any

from advisor.model import Diagnosis, Finding, RunReport
from advisor.report.common import (
    clean,
    finding_span,
    fmt_evidence,
    fmt_recommendation,
    hparams_of,
    sorted_findings,
    sorted_runs,
    summary_line,
    workspace_path,
)
from advisor.terminal import sanitize

COMMAND = {"error": "error", "warning": "warning", "info": "notice"}


def escape_data(text: Any) -> str:
    """Sanitised (advisor.terminal), then the runner's escapes; CR and LF survive the sanitiser
    because the runner's own `%0D`/`%0A` encoding makes them inert."""
    s = "\r".join(sanitize(part, newlines=True) for part in ("" if text is None else str(text)).split("\r"))
    return s.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: Any) -> str:
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def command(name: str, message: str, **props: Any) -> str:
    """`::name k=v,k=v::message` with both parts escaped."""
    p = ",".join(f"{k}={escape_property(v)}" for k, v in props.items() if v is not None and v != "")
    return f"::{name}{' ' + p if p else ''}::{escape_data(message)}"


def render(diagnosis: Diagnosis, options: Any = None) -> str:
    allow_empty = bool(getattr(options, "allow_empty", False))
    lines = []
    for r in sorted_runs(diagnosis):
        lines += _run(r, allow_empty)
    for e in diagnosis.errors:
        lines.append(command("warning", f"could not read {clean(e.get('path'))}: {clean(e.get('message'))}",
                             title="advisor: unreadable input"))
    lines.append(command("notice", f"advisor: {summary_line(diagnosis)}", title="advisor summary"))
    return "\n".join(lines) + "\n"


def _run(r: RunReport, allow_empty: bool = False) -> list[str]:
    """The run's annotations, on its log file (`file=` relative to the workspace, as ruff and
    sqlfluff do, so GitHub shows them on that file in the pull request)."""
    out = []
    where = workspace_path(r.log_file)
    if r.problem:
        kind = r.problem.partition(": ")[0]
        level = "notice" if r.status == "empty" and allow_empty else "error"
        out.append(command(level, f"{r.run.name}: {r.problem}", file=where, title=f"advisor: {kind}"))
    hp = hparams_of(r)
    for f in sorted_findings(r.findings):
        out.append(command(COMMAND.get(f.severity, "warning"), _message(r, f, hp), file=where,
                           title=f"{f.rule} {f.pattern}: {r.run.name}"))
    return out


def _message(r: RunReport, f: Finding, hp: dict) -> str:
    """Several lines in one annotation (escaped as %0A): summary, where, evidence, fixes."""
    where = "  ".join(x for x in (clean(f.metric) if f.metric else "", finding_span(f)) if x)
    lines = [f"{clean(r.run.name)}: {clean(f.summary)}"]
    if where:
        lines.append(where)
    if f.evidence:
        lines.append("evidence: " + fmt_evidence(f.evidence))
    for rec in f.recommendations:
        lines.append("fix: " + fmt_recommendation(rec, hp) + (f" — {clean(rec.text)}" if rec.text else ""))
    return "\n".join(lines)
