"""GitHub-flavoured Markdown for `$GITHUB_STEP_SUMMARY` and pull-request comments.

A summary table (one row per run, worst first) and then each run's findings. Everything that came
from a log is escaped: Markdown punctuation is backslash-escaped (so a run named
`[x](http://evil)` is not a link and `|` cannot split a table cell), `<`, `>` and `&` become
entities (GitHub renders inline HTML), and newlines become spaces (a newline would end the table
row or start a heading).
"""
from __future__ import annotations

import re
from typing import Any

from advisor import __version__
from advisor.model import Diagnosis, Finding, RunReport
from advisor.report.common import (
    clean,
    finding_span,
    fmt_evidence,
    fmt_num,
    fmt_recommendation,
    hparams_of,
    sorted_findings,
    sorted_runs,
    summary_line,
    worst_finding,
)

STATUS_ICON = {"fail": "❌ fail", "unreadable": "⛔ unreadable", "error": "⛔ error", "empty": "⛔ empty",
               "warn": "⚠️ warn", "ok": "✅ ok"}
SEVERITY_ICON = {"error": "❌ error", "warning": "⚠️ warning", "info": "ℹ️ info"}

_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+!|~])")


def md(text: Any) -> str:
    """Untrusted text as inert inline Markdown (safe inside a table cell too)."""
    s = clean(text).replace("\t", " ")
    s = s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _MD_SPECIAL.sub(r"\\\1", s)


def code(text: Any) -> str:
    """Untrusted text shown as code without a code span: a backtick inside cannot close it."""
    return md(text)


def render(diagnosis: Diagnosis, options: Any = None) -> str:
    out = [f"## advisor: {md(summary_line(diagnosis))}", ""]
    if diagnosis.runs:
        out += ["| Status | Run | Findings | Worst finding | Where |", "|---|---|---:|---|---|"]
        for r in sorted_runs(diagnosis):
            w = worst_finding(r)
            worst = f"{md(w.rule)} {md(w.pattern)} ({md(w.severity)})" if w else md((r.problem or "—").split(":")[0])
            where = " ".join(x for x in (md(w.metric) if w and w.metric else "",
                                         md(finding_span(w)) if w else "") if x)
            out.append(f"| {STATUS_ICON[r.status]} | {md(r.run.name)} | {len(r.findings)} | {worst} | {where or '—'} |")
        out.append("")
    for r in sorted_runs(diagnosis):
        if r.status == "ok" and not r.findings:
            continue
        out += _run_section(r)
    if diagnosis.errors:
        out += ["### Inputs that could not be read", ""]
        out += [f"- {md(e.get('path'))}: {md(e.get('message'))}" for e in diagnosis.errors]
        out.append("")
    out.append(f"<sub>advisor {md(__version__)}</sub>")
    return "\n".join(out) + "\n"


def _run_section(r: RunReport) -> list[str]:
    out = [f"### {STATUS_ICON[r.status]}: {md(r.run.name)}", ""]
    if r.problem:
        kind, _, detail = r.problem.partition(": ")
        out += [f"**{md(kind[:1].upper() + kind[1:])}:** {md(detail)}", ""]
    hp = hparams_of(r)
    for f in sorted_findings(r.findings):
        out += _finding(f, hp)
    for v in r.verification or []:
        out.append(f"- **Verified:** {md(v.verdict)} — {md(v.rule)} {md(v.action)} on {md(v.measure)}: "
                   f"baseline {md(' '.join(fmt_num(x) for x in v.baseline))} vs fix "
                   f"{md(' '.join(fmt_num(x) for x in v.fix))} ({v.seeds} seeds × {v.steps} steps)")
    for w in r.run.warnings:
        out.append(f"- _note:_ {md(w)}")
    out.append("")
    return out


def _finding(f: Finding, hp: dict) -> list[str]:
    where = ", ".join(x for x in (md(f.metric) if f.metric else "", md(finding_span(f))) if x)
    out = [f"- **{SEVERITY_ICON.get(f.severity, md(f.severity))}** {md(f.pattern)} "
           f"({md(f.rule)}){' — ' + where if where else ''}: {md(f.summary)}"]
    if f.evidence:
        out.append(f"  - evidence: {md(fmt_evidence(f.evidence))}")
    for rec in f.recommendations:
        line = f"  - **fix:** {md(fmt_recommendation(rec, hp))}"
        if rec.text:
            line += f" — {md(rec.text)}"
        if rec.source:
            line += f" _({md(rec.source)})_"
        out.append(line)
    return out
