"""What changed in a run's diagnosis since the last look, as `advisor.event/1` objects.

The engine keeps at most one finding per pattern per run (advisor.engine), so a finding is
tracked by its pattern: it is reported once when it appears (with its onset step), again only
when it escalates to a worse severity, and as cleared when a later diagnosis no longer has it
(a plateau the run escapes). Wording and numbers of a finding change as the run grows; that is
not news and is not reported again.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from advisor import units
from advisor.model import Finding, RunReport, severity_rank

SCHEMA = "advisor.event/1"


def event(kind: str, run: str, **fields: Any) -> dict[str, Any]:
    return {"schema": SCHEMA, "event": kind, "run": run, "time": round(time.time(), 3), **fields}


def last_step(report: RunReport) -> float | None:
    """The furthest step logged by any of the run's series (where the run is now)."""
    ends = [float(s.step[-1]) for s in report.run.series.values() if len(s)]
    return max(ends) if ends else None


def run_unit(report: RunReport) -> str:
    """What the run's logged steps count (advisor.units: step, epoch, timestep), so the watch says
    "at epoch 12" for a Keras log as `advisor diagnose` does."""
    curves = report.curves.by_role if report.curves is not None else {}
    curve = curves.get("train_loss") or curves.get("val_loss") or next(iter(curves.values()), None)
    unit = units.unit_of(curve.x_kind if curve is not None else None, units.step_unit(report.run))
    return unit if unit in ("epoch", "timestep") else units.step_unit(report.run)


# Patterns that judge how a run ends ("still clearly falling at the end"): every healthy run in
# progress looks like that, so while a run is live they are held back until `final=True`.
END_OF_RUN_PATTERNS = frozenset({"slow_convergence"})


@dataclass
class FindingTracker:
    """The findings of one run already reported, keyed by pattern.

    A warning or info finding must be present in `confirm` consecutive evaluations before it is
    reported, and absent as many times before it is reported cleared, so a detector flickering on
    the first few points of a run does not flood the stream; errors are reported at once.
    """

    run: str
    confirm: int = 2
    active: dict[str, Finding] = field(default_factory=dict)
    seen: dict[str, int] = field(default_factory=dict)  # pattern -> consecutive evaluations present
    missing: dict[str, int] = field(default_factory=dict)  # active pattern -> consecutive absences
    status: str | None = None

    def update(self, report: RunReport, final: bool = False) -> list[dict[str, Any]]:
        """Events for the findings that appeared, escalated or cleared in `report`.

        `final`: the run is over; report what the last diagnosis says without waiting.
        """
        from advisor.report.json_report import finding_dict

        step = last_step(report)
        events = []
        now = {f.pattern: f for f in report.findings if final or f.pattern not in END_OF_RUN_PATTERNS}
        for pattern in list(self.seen):
            if pattern not in now:
                del self.seen[pattern]
        for pattern, finding in now.items():
            self.seen[pattern] = self.seen.get(pattern, 0) + 1
            self.missing.pop(pattern, None)
            before = self.active.get(pattern)
            if before is None:
                if finding.severity != "error" and self.seen[pattern] < self.confirm and not final:
                    continue
                events.append(event("finding", self.run, step=step, onset_step=finding.start_step,
                                    x_unit=finding.x_unit, finding=finding_dict(finding)))
            elif severity_rank(finding.severity) > severity_rank(before.severity):
                events.append(event("escalated", self.run, step=step, onset_step=finding.start_step,
                                    x_unit=finding.x_unit, previous=before.severity, finding=finding_dict(finding)))
            elif severity_rank(finding.severity) < severity_rank(before.severity):
                finding = before  # keep the worst seen until the pattern clears
            self.active[pattern] = finding
        for pattern in [p for p in self.active if p not in now]:
            self.missing[pattern] = self.missing.get(pattern, 0) + 1
            if self.missing[pattern] < self.confirm and not final:
                continue
            gone = self.active.pop(pattern)
            self.missing.pop(pattern)
            events.append(event("cleared", self.run, step=step, pattern=pattern, rule=gone.rule,
                                metric=gone.metric, onset_step=gone.start_step, x_unit=gone.x_unit))
        if report.status != self.status or events:
            self.status = report.status
            events.append(status_event(report))
        return events


def status_event(report: RunReport) -> dict[str, Any]:
    return event("status", report.run.name, step=last_step(report), x_unit=run_unit(report), status=report.status,
                 format=report.run.format, points=report.run.points,
                 findings=[f"{f.rule} {f.pattern} ({f.severity})" for f in report.findings],
                 error=report.read_error or report.error, problem=report.problem)


def worst_severity(events: list[dict[str, Any]]) -> int:
    """The worst severity among new or escalated findings in `events` (-1 when none)."""
    ranks = [severity_rank(e["finding"]["severity"]) for e in events if e["event"] in ("finding", "escalated")]
    return max(ranks, default=-1)
