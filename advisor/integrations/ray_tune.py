"""Ray Tune: `AdvisorStopper` stops the trials advisor diagnoses as hopeless.

    from ray import tune
    from advisor.integrations.ray_tune import AdvisorStopper
    tuner = tune.Tuner(trainable, param_space=...,
                       run_config=tune.RunConfig(stop=AdvisorStopper(metric="val_loss", mode="min")))

Each reported result's `metric` (at `training_iteration`) feeds the trial's curve, which is
diagnosed as Optuna's AdvisorPruner does (advisor.integrations.sweep); a diverged,
stalled-at-chance or stuck trial is stopped and the reason kept in `stopper.reasons[trial_id]`
and logged to the `advisor` logger. Other trials go on (`stop_all` is False).
"""
from __future__ import annotations

import logging
from typing import Any

try:
    from ray.tune import Stopper
except ImportError as exc:  # pragma: no cover - the extra is not installed
    raise ImportError("AdvisorStopper needs Ray Tune: pip install 'advisor[ray]'") from exc

from advisor.integrations.sweep import PATTERNS, TrialJudge

LOG = logging.getLogger("advisor")


class AdvisorStopper(Stopper):
    def __init__(self, metric: str, mode: str = "min", patterns=PATTERNS, severity: str = "warning",
                 min_points: int = 4, **monitor_options: Any) -> None:
        if mode not in ("min", "max"):
            raise ValueError(f"mode must be 'min' or 'max', not {mode!r}")
        self.metric = metric
        self.judge = TrialJudge(mode == "max", patterns, severity, min_points, **monitor_options)
        self.points: dict[str, dict[int, float]] = {}

    @property
    def reasons(self) -> dict[str, str]:
        return self.judge.reasons

    def __call__(self, trial_id: str, result: dict[str, Any]) -> bool:
        if self.metric not in result:
            return False
        points = self.points.setdefault(trial_id, {})
        points[int(result.get("training_iteration", len(points) + 1))] = float(result[self.metric])
        stop = self.judge.update(trial_id, points) is not None
        if stop and trial_id in self.points:
            LOG.warning(self.judge.reasons[trial_id])
            del self.points[trial_id]
            self.judge.forget(trial_id)
        return stop

    def stop_all(self) -> bool:
        return False
