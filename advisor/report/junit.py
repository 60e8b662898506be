"""JUnit XML for CI test-report UIs (GitLab, Jenkins, Azure, GitHub test reporters).

One `<testsuite>` per invocation, one `<testcase>` per run (classname `advisor.<format>`, name the
run), plus one per input that could not be read. A run with findings at or above `--fail-on`
gets ONE `<failure>` (message: the worst finding; body: all of them), because several consumers
keep only the first failure of a test case; findings below the threshold go to `<system-out>`.
A run whose analysis crashed, an unreadable run or input, and an empty run (a training that crashed
before it logged) is an `<error>`; with `--allow-empty` an empty run is `<skipped>`.

Built with ElementTree (which escapes `<`, `&`, quotes), after removing the characters XML 1.0
cannot carry at all (NUL, ESC, …): an escaped control character is still invalid XML and would
make the whole report unreadable. No timestamps or durations: the same diagnosis gives the same
bytes.
"""
from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from typing import Any

from advisor import __version__
from advisor.model import Diagnosis, Finding, RunReport
from advisor.report.common import (
    at_or_above,
    clean,
    finding_span,
    fmt_evidence,
    fmt_recommendation,
    hparams_of,
    sorted_findings,
    sorted_runs,
)

# Characters outside XML 1.0's Char production (plus the C1 range, which is legal but useless).
_NOT_XML = re.compile("[^\t\n\r\x20-\x7e\x85\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def x(text: Any, *, newlines: bool = True) -> str:
    return _NOT_XML.sub("\ufffd", clean(text, newlines=newlines))


def a(text: Any) -> str:
    """An attribute value: one line (consumers show names and messages as single lines)."""
    return x(text, newlines=False)


def render(diagnosis: Diagnosis, options: Any = None) -> str:
    fail_on = getattr(options, "fail_on", "error") or "error"
    allow_empty = bool(getattr(options, "allow_empty", False))
    runs = sorted_runs(diagnosis)
    skipped = sum(1 for r in runs if r.status == "empty" and allow_empty)
    errors = sum(1 for r in runs if r.problem) - skipped + len(diagnosis.errors)
    failures = sum(1 for r in runs if not r.problem and at_or_above(r.findings, fail_on))
    tests = len(runs) + len(diagnosis.errors)
    suites = ET.Element("testsuites", name="advisor", tests=str(tests), failures=str(failures),
                        errors=str(errors), time="0")
    suite = ET.SubElement(suites, "testsuite", name="advisor diagnose", tests=str(tests),
                          failures=str(failures), errors=str(errors), skipped=str(skipped), time="0")
    props = ET.SubElement(suite, "properties")
    ET.SubElement(props, "property", name="advisor.version", value=x(__version__))
    ET.SubElement(props, "property", name="fail_on", value=x(fail_on))
    for r in runs:
        _testcase(suite, r, fail_on, allow_empty)
    for e in diagnosis.errors:
        tc = ET.SubElement(suite, "testcase", classname="advisor.input", name=a(e.get("path")), time="0")
        err = ET.SubElement(tc, "error", message=a(e.get("message")), type="unreadable")
        err.text = x(e.get("message"))
    ET.indent(suites)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suites, encoding="unicode") + "\n"


def _testcase(suite: ET.Element, r: RunReport, fail_on: str, allow_empty: bool) -> None:
    tc = ET.SubElement(suite, "testcase", classname=a(f"advisor.{r.run.format}"), name=a(r.run.name), time="0")
    hp = hparams_of(r)
    if r.problem:
        kind = {"error": "analysis"}.get(r.status, r.status)
        tag = "skipped" if r.status == "empty" and allow_empty else "error"
        err = ET.SubElement(tc, tag, message=a(r.problem), type=kind)
        err.text = x(r.problem)
    failing = sorted_findings(at_or_above(r.findings, fail_on))
    rest = [f for f in sorted_findings(r.findings) if f not in failing]
    if failing:
        worst = failing[0]
        more = f" (+{len(failing) - 1} more)" if len(failing) > 1 else ""
        fail = ET.SubElement(tc, "failure", message=a(f"{worst.severity} {worst.rule} {worst.pattern}: {worst.summary}{more}"),
                             type=a(worst.rule))
        fail.text = x("\n\n".join(_describe(f, hp) for f in failing))
    if rest or r.run.warnings:
        out = ET.SubElement(tc, "system-out")
        parts = [_describe(f, hp) for f in rest] + [f"note: {w}" for w in r.run.warnings]
        out.text = x("\n\n".join(parts))


def _describe(f: Finding, hp: dict) -> str:
    where = "  ".join(s for s in (clean(f.metric) if f.metric else "", finding_span(f)) if s)
    lines = [f"{f.severity} {clean(f.rule)} {clean(f.pattern)}{'  ' + where if where else ''}", clean(f.summary)]
    if f.evidence:
        lines.append("evidence: " + fmt_evidence(f.evidence))
    for rec in f.recommendations:
        lines.append("fix: " + fmt_recommendation(rec, hp) + (f" — {clean(rec.text)}" if rec.text else "")
                     + (f" [{clean(rec.source)}]" if rec.source else ""))
    return "\n".join(lines)
