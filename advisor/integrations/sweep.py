"""What the sweep adapters (Optuna, Ray Tune) share: one Monitor per trial, fed the trial's reported
metric, and the decision to end a trial early.

A trial is ended when the diagnosis of its curve so far has a finding whose pattern is in
`patterns` at `severity` or worse: by default a divergence (the loss explodes or turns NaN), a
plateau (stuck at chance, stalled high, no progress) or an oscillation that does not settle:
trials that will not come back. The reported metric is read as a validation loss when lower is
better and as a validation accuracy when higher is better; the rules then measure it as they
measure any log.

Hopelessly slow: once other trials have finished, a trial whose own curve cannot reach near the
best finished result is ended too. Where its curve is heading comes from advisor's slow-convergence
signal (advisor.signals.convergence: the asymptote of the trend by Aitken's delta-squared, from
the values at 50%, 75% and 100% of the curve so far; a tail still falling linearly has no
asymptote in sight and is never judged hopeless). A trial is hopeless when that floor is worse
than the best finished trial's final value by more than `slow_margin` (default 50%). This is not
ranking by the current value (what Optuna's MedianPruner and Ray's ASHA do, and they can be
combined with this): a slow starter heading for a good floor is kept.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from advisor.integrations.base import describe
from advisor.live.monitor import Monitor
from advisor.model import severity_rank

PATTERNS = ("divergence", "plateau")
# A saddle the run has already broken out of (PLT002 says "before breaking out") is history, not a
# reason to stop: the trial is learning again.
SPARED_RULES = ("PLT002",)


class TrialJudge:
    def __init__(self, higher_is_better: bool = False, patterns=PATTERNS, severity: str = "warning",
                 min_points: int = 4, spared_rules=SPARED_RULES, slow_margin: float | None = 0.5,
                 **monitor_options: Any) -> None:
        self.spared = set(spared_rules)
        self.higher_is_better = higher_is_better
        self.slow_margin = slow_margin
        self.metric = "val_acc" if higher_is_better else "val_loss"
        self.patterns = set(patterns)
        self.severity = severity
        self.min_points = min_points
        self.monitor_options = {"every_steps": 1, "max_overhead": 1.0, **monitor_options}
        self.monitors: dict[Any, Monitor] = {}
        self.last_step: dict[Any, float] = {}
        self.reasons: dict[Any, str] = {}

    def update(self, trial: Any, points: dict[int, float], best_final: float | None = None) -> str | None:
        """Feed the trial's points not seen yet; the reason to stop it, or None to let it run.

        `best_final`: the best final value of the trials finished so far (for "hopelessly slow").
        """
        if trial in self.reasons:
            return self.reasons[trial]
        monitor = self.monitors.get(trial)
        if monitor is None:
            monitor = self.monitors[trial] = Monitor(f"trial {trial}", **self.monitor_options)
        since = self.last_step.get(trial, float("-inf"))
        fresh = sorted((s, v) for s, v in points.items() if s > since)
        for step, value in fresh:
            monitor.log(step, **{self.metric: value})
        if fresh:
            self.last_step[trial] = fresh[-1][0]
        if not fresh or len(points) < self.min_points:
            return None
        events = monitor.evaluate() if monitor._pending_steps else []
        for e in events:
            if e["event"] in ("finding", "escalated") and self._decisive(e["finding"]):
                self.reasons[trial] = describe(e)
                return self.reasons[trial]
        for f in monitor.findings:
            if self._decisive({"pattern": f.pattern, "severity": f.severity, "rule": f.rule}):
                self.reasons[trial] = f"advisor: trial {trial}: {f.severity} {f.rule} {f.pattern}: {f.summary}"
                return self.reasons[trial]
        floor = self._heading_for(monitor)
        if floor is not None and best_final is not None and self.slow_margin is not None:
            gap = (best_final - floor) if self.higher_is_better else (floor - best_final)
            if gap > self.slow_margin * abs(best_final):
                self.reasons[trial] = (f"advisor: trial {trial}: hopelessly slow: its {self.metric} is heading for "
                                       f"about {floor:.4g} (extrapolated from its own curve), the best finished "
                                       f"trial reached {best_final:.4g}")
                return self.reasons[trial]
        return None

    def _heading_for(self, monitor: Monitor) -> float | None:
        """Where the trial's curve is heading (the trend's asymptote), or None when not in sight."""
        from advisor.signals.convergence import REMAINING_CAP

        report = monitor.report
        if report is None or report.measurements is None:
            return None
        m = report.measurements.get("slow_convergence", self.metric)
        if m is None or m.values.get("remaining_rel") is None or m.values["remaining_rel"] >= REMAINING_CAP:
            return None
        series = next(iter(monitor.run().series.values()))
        finite = series.value[np.isfinite(series.value)]
        if len(finite) < 2:
            return None
        head, last = float(finite[0]), float(finite[-1])
        return last - m.values["remaining_rel"] * (head - last)

    def _decisive(self, finding: dict[str, Any]) -> bool:
        return (finding["pattern"] in self.patterns and finding["rule"] not in self.spared
                and severity_rank(finding["severity"]) >= severity_rank(self.severity))

    def forget(self, trial: Any) -> None:
        self.monitors.pop(trial, None)
        self.last_step.pop(trial, None)
