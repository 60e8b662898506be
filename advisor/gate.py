"""The CI gate: one exit code from a diagnosis, for `diagnose` (every format) and `report` alike.

Exit codes are a contract (DESIGN.md): 0 nothing at or above `--fail-on`; 1 something is; 2 a
usage error or nothing readable at all. A run that could not be read or analysed, or that holds no point (a
training that crashed before it logged), fails the gate like an error finding: in CI a job that
wrote nothing must not pass. `--allow-empty` (or `allow_empty = true` in config) lets empty runs
through, for folders that hold placeholders; an unreadable run still fails.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from advisor.model import Diagnosis

EXIT_OK = 0  # nothing at or above --fail-on
EXIT_FINDINGS = 1  # some finding at or above --fail-on, or a run that is unreadable or empty
EXIT_USAGE = 2  # usage error, or nothing readable found

FAIL_ON = ("error", "warning", "info", "never")


def exit_code(diagnosis: Diagnosis, fail_on: str = "error", allow_empty: bool = False) -> int:
    from advisor.model import severity_rank

    if not any(r.status != "unreadable" for r in diagnosis.runs):
        return EXIT_USAGE
    if fail_on == "never":
        return EXIT_OK
    threshold = severity_rank(fail_on)
    if any(severity_rank(f.severity) >= threshold for r in diagnosis.runs for f in r.findings):
        return EXIT_FINDINGS
    # A run whose analysis crashed (status `error`) was not diagnosed: its silence proves nothing, so
    # it fails the gate like an unreadable one (issue 14: one corrupted value must not pass the gate).
    if any(r.status in ("unreadable", "error") or (r.status == "empty" and not allow_empty) for r in diagnosis.runs):
        return EXIT_FINDINGS
    return EXIT_OK
