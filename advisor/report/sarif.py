"""SARIF 2.1.0 (OASIS) for GitHub code scanning, GitLab, and the VS Code SARIF viewer.

One `result` per finding (`ruleId`, `level` from the severity, the summary as the message, the
run's log file as the artifact location, relative to the workspace like GitHub wants it), plus
one per run that is unreadable or empty (rules `unreadable-run`, `empty-run`: a crashed training
must show up in code scanning too). `tool.driver.rules` describes each rule that has a result,
with its documentation as the help text. Inputs that are no run at all become tool execution
notifications. Validated against the official schema in tests/test_report_sarif.py.
"""
from __future__ import annotations

import json
from typing import Any

from advisor import __version__
from advisor.model import Diagnosis, Finding, RunReport
from advisor.report.common import (
    finding_span,
    fmt_evidence,
    fmt_recommendation,
    hparams_of,
    sorted_findings,
    sorted_runs,
    workspace_path,
)

SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"
LEVEL = {"error": "error", "warning": "warning", "info": "note"}
PROBLEM_RULES = {
    "unreadable": ("unreadable-run", "A run whose log could not be decoded at all",
                   "Nothing in the run's log files could be read: the file is corrupt, truncated to nothing, or "
                   "not the format its name says. The run cannot be judged, so it fails the gate."),
    "empty": ("empty-run", "A run whose log holds no scalar point",
              "The log was read but holds no scalar point: the training most likely crashed before its first "
              "log. It fails the gate unless --allow-empty is given (folders that hold placeholders)."),
    "error": ("analysis-failed", "A run whose analysis crashed",
              "A signal or rule raised an error on this run; the other runs were still diagnosed."),
}


def render(diagnosis: Diagnosis, options: Any = None) -> str:
    allow_empty = bool(getattr(options, "allow_empty", False))
    docs = {rule.id: rule for rule in diagnosis.rules}
    descriptors: dict[str, dict[str, Any]] = {}
    results = []
    for r in sorted_runs(diagnosis):
        location = _location(r)
        if r.problem:
            rule_id, short, full = PROBLEM_RULES[r.status]
            descriptors.setdefault(rule_id, _problem_descriptor(rule_id, short, full))
            level = "note" if r.status == "empty" and allow_empty else "error"
            results.append(_result(rule_id, level, f"{r.run.name}: {r.problem}", location, {"run": r.run.name}))
        hp = hparams_of(r)
        for f in sorted_findings(r.findings):
            descriptors.setdefault(f.rule, _descriptor(f, docs.get(f.rule)))
            results.append(_result(f.rule, LEVEL.get(f.severity, "warning"), _message(r, f, hp), location,
                                   _properties(r, f)))
    ids = list(descriptors)
    for result in results:
        result["ruleIndex"] = ids.index(result["ruleId"])
    notifications = [{"level": "error", "message": {"text": f"{e.get('path')}: {e.get('message')}"},
                      "locations": [{"physicalLocation": {"artifactLocation": {"uri": _uri(e.get("path"))}}}]}
                     for e in diagnosis.errors]
    log = {
        "$schema": SCHEMA_URI,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {"name": "advisor", "version": __version__, "semanticVersion": __version__,
                                "informationUri": "https://pypi.org/project/advisor/",
                                "rules": list(descriptors.values())}},
            "invocations": [{"executionSuccessful": True, "toolExecutionNotifications": notifications}],
            "results": results,
        }],
    }
    return json.dumps(log, indent=2, ensure_ascii=False, default=str) + "\n"


def _uri(path: Any) -> str:
    return workspace_path(path) or str(path or "")


def _location(r: RunReport) -> dict[str, Any]:
    rel = workspace_path(r.log_file or r.run.path)
    artifact = {"uri": rel, "uriBaseId": "%SRCROOT%"} if rel else {"uri": str(r.log_file or r.run.path)}
    return {"physicalLocation": {"artifactLocation": artifact, "region": {"startLine": 1}}} if rel else \
        {"physicalLocation": {"artifactLocation": artifact}}


def _result(rule_id: str, level: str, message: str, location: dict, properties: dict) -> dict[str, Any]:
    return {"ruleId": rule_id, "level": level, "message": {"text": message}, "locations": [location],
            "properties": properties}


def _message(r: RunReport, f: Finding, hp: dict) -> str:
    lines = [f"{r.run.name}: {f.summary}"]
    where = "  ".join(x for x in (f.metric or "", finding_span(f)) if x)
    if where:
        lines.append(where)
    if f.evidence:
        lines.append("evidence: " + fmt_evidence(f.evidence))
    lines += [f"fix: {fmt_recommendation(rec, hp)} ({rec.text})" for rec in f.recommendations]
    return "\n".join(lines)


def _properties(r: RunReport, f: Finding) -> dict[str, Any]:
    props: dict[str, Any] = {"run": r.run.name, "pattern": f.pattern, "metric": f.metric}
    for key, value in (("startStep", f.start_step), ("endStep", f.end_step)):
        if value is not None:
            props[key] = value
    return props


def _descriptor(f: Finding, rule) -> dict[str, Any]:
    """A rule as SARIF describes it: name, descriptions and help from the rule file's docs."""
    out: dict[str, Any] = {"id": f.rule, "defaultConfiguration": {"level": LEVEL.get(f.severity, "warning")},
                           "properties": {"tags": [f.pattern]}}
    if rule is None:
        out["shortDescription"] = {"text": f"{f.rule} ({f.pattern})"}
        return out
    doc = rule.doc
    help_text = "\n\n".join(str(doc.get(k, "")).strip() for k in ("what", "why", "fix") if doc.get(k))
    out.update({
        "name": rule.slug,
        "shortDescription": {"text": rule.name},
        "fullDescription": {"text": str(doc.get("summary") or rule.name)},
        "help": {"text": help_text + f"\n\n(advisor explain {rule.id})"},
    })
    return out


def _problem_descriptor(rule_id: str, short: str, full: str) -> dict[str, Any]:
    return {"id": rule_id, "name": rule_id, "shortDescription": {"text": short}, "fullDescription": {"text": full},
            "help": {"text": full}, "defaultConfiguration": {"level": "error"}}
