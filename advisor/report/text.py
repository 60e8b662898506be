"""The terminal report: what is wrong with each run and what to change, worst run first.

Lines are built as (text, style) segments and rendered twice-over from the same segments: plain
(pipes, files, CI, gold tests) or through `rich` with colour when `options.color` is set (the CLI
sets it only on a TTY, never when CI=true; see advisor.report.output.use_color). Untrusted text
goes into rich as `Text` segments, never as markup, so a tag like `[bold]x[/]` prints literally,
and control characters are replaced first so a log cannot drive the terminal.
"""
from __future__ import annotations

import io
from typing import Any

from advisor import __version__
from advisor.model import Diagnosis, Finding, RunReport, Verification
from advisor.report.common import (
    STATUS_LABEL,
    clean,
    finding_span,
    fmt_change,
    fmt_evidence,
    fmt_num,
    fmt_recommendation,
    hparams_of,
    run_meta,
    sorted_findings,
    sorted_runs,
    summary_line,
)

Segment = tuple[str, str]  # (text, rich style; "" = none)
Line = list[Segment]

STATUS_STYLE = {"fail": "bold red", "unreadable": "bold magenta", "error": "bold magenta", "empty": "bold magenta",
                "warn": "bold yellow", "ok": "green"}
SEVERITY_STYLE = {"error": "red", "warning": "yellow", "info": "cyan"}
INDENT = "    "


def render(diagnosis: Diagnosis, options: Any = None) -> str:
    color = bool(getattr(options, "color", False))
    verbose = bool(getattr(options, "verbose", False))
    lines = build_lines(diagnosis, verbose=verbose)
    if color:
        return _to_ansi(lines)
    return "".join("".join(text for text, _ in line) + "\n" for line in lines)


def build_lines(diagnosis: Diagnosis, *, verbose: bool = False) -> list[Line]:
    lines: list[Line] = [[(f"advisor {__version__} — ", "bold"), (summary_line(diagnosis), "bold")]]
    for report in sorted_runs(diagnosis):
        lines.append([])
        lines.extend(_run_lines(report, verbose))
    if diagnosis.errors:
        lines.append([])
        lines.append([("could not read:", "bold magenta")])
        for e in diagnosis.errors:
            lines.append([("  " + clean(e.get("path")), "magenta"), (": " + clean(e.get("message")), "")])
    return lines


def _run_lines(report: RunReport, verbose: bool) -> list[Line]:
    status = report.status
    head: Line = [
        ((STATUS_LABEL[status] + " ").ljust(6), STATUS_STYLE[status]),
        (clean(report.run.name), "bold"),
        (f"  ({run_meta(report)})", "dim"),
    ]
    if status == "ok" and not report.findings and not report.error and not verbose:
        # Healthy: one line, so the eye lands on the runs that need attention; what the reader had to
        # say about the log (a truncated file, several trainings in one folder) still shows under it
        head.append(("  no findings", "green"))
        return [head] + _note_lines(report)
    out = [head]
    if report.problem:
        kind, _, detail = report.problem.partition(": ")
        out.append([(f"  {kind}: ", "bold magenta"), (clean(detail), "")])
    hparams = hparams_of(report)
    for f in sorted_findings(report.findings):
        out.extend(_finding_lines(f, hparams))
    if not report.findings and not report.problem:
        out.append([("  no findings", "green")])
    for v in report.verification or []:
        out.append(_verification_line(v))
    out.extend(_note_lines(report))
    if verbose:
        for rule, why in report.abstentions:
            out.append([("  abstained: ", "dim"), (clean(rule), "dim"), (" — " + clean(why), "dim")])
    return out


def _note_lines(report: RunReport) -> list[Line]:
    return [[("  note: ", "dim"), (clean(w), "dim")] for w in report.run.warnings]


def _finding_lines(f: Finding, hparams: dict[str, Any]) -> list[Line]:
    where = "  ".join(x for x in (clean(f.metric) if f.metric else "", finding_span(f)) if x)
    out: list[Line] = [[
        ("  ", ""),
        (f"{f.severity:<8}", SEVERITY_STYLE.get(f.severity, "")),
        (f" {clean(f.pattern):<17}", "bold"),
        (f" {clean(f.rule):<8}", "dim"),
        ("  " + where if where else "", ""),
    ]]
    out.append([(INDENT, ""), (clean(f.summary), "")])
    if f.evidence:
        out.append([(INDENT, ""), ("evidence: ", "dim"), (fmt_evidence(f.evidence), "dim")])
    for r in f.recommendations:
        line: Line = [(INDENT, ""), ("→ ", "bold green"), (fmt_recommendation(r, hparams), "bold green")]
        if r.text:
            line.append(("  " + clean(r.text), ""))
        if r.source:
            line.append((f"  [{clean(r.source)}]", "dim"))
        out.append(line)
    return out


def _verification_line(v: Verification) -> Line:
    style = {"confirmed": "bold green", "refuted": "bold red"}.get(v.verdict, "yellow")
    base = " ".join(fmt_num(x) for x in v.baseline)
    fix = " ".join(fmt_num(x) for x in v.fix)
    effect = ", ".join(f"{clean(k)}={fmt_num(x)}" for k, x in v.effect.items())
    text = (
        f" {clean(v.rule)} {clean(v.action)} ({fmt_change(v.change)}) on {clean(v.measure)}: "
        f"baseline [{base}] vs fix [{fix}]" + (f" ({effect})" if effect else "")
        + f"; {v.seeds} seeds × {v.steps} steps on {clean(v.device)}"
    )
    return [("  verified: ", "bold"), (clean(v.verdict), style), (text, "")]


def _to_ansi(lines: list[Line]) -> str:
    """Render the segments through rich (colour only; no wrapping, no markup, no highlighting)."""
    from rich.console import Console
    from rich.text import Text

    buf = io.StringIO()
    console = Console(file=buf, force_terminal=True, color_system="standard", width=10_000,
                      soft_wrap=True, highlight=False, emoji=False, markup=False)
    for line in lines:
        t = Text()
        for text, style in line:
            t.append(text, style=style or None)
        console.print(t)
    return buf.getvalue()
