"""GitLab Code Quality report (`artifacts: reports: codequality:`): a JSON array of issues.

Each finding, and each unreadable or empty run, is one issue with GitLab's fields: `description`,
`check_name` (the rule id), `fingerprint` (stable across pipelines: rule, run and metric, so
GitLab can tell new issues from fixed ones), `severity` (info / minor / major / critical) and
`location.path` (the run's log file relative to the project) with line 1.
"""
from __future__ import annotations

import hashlib
import json
from typing import Any

from advisor.model import Diagnosis
from advisor.report.common import sorted_findings, sorted_runs, workspace_path

SEVERITY = {"info": "info", "warning": "minor", "error": "major"}


def render(diagnosis: Diagnosis, options: Any = None) -> str:
    allow_empty = bool(getattr(options, "allow_empty", False))
    issues = []
    for r in sorted_runs(diagnosis):
        path = workspace_path(r.log_file or r.run.path) or str(r.log_file or r.run.path)
        if r.problem:
            severity = "info" if r.status == "empty" and allow_empty else "critical"
            issues.append(_issue(f"{r.run.name}: {r.problem}", f"{r.status}-run", severity, path, r.run.name, ""))
        for f in sorted_findings(r.findings):
            issues.append(_issue(f"{f.rule} {f.pattern}: {r.run.name}: {f.summary}", f.rule,
                                 SEVERITY.get(f.severity, "minor"), path, r.run.name, f.metric or ""))
    return json.dumps(issues, indent=2, ensure_ascii=False) + "\n"


def _issue(description: str, check: str, severity: str, path: str, run: str, metric: str) -> dict[str, Any]:
    fingerprint = hashlib.sha256("\0".join((check, run, metric)).encode("utf-8", "replace")).hexdigest()
    return {"description": description, "check_name": check, "fingerprint": fingerprint, "severity": severity,
            "location": {"path": path, "lines": {"begin": 1}}}
