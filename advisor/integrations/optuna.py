"""Optuna: `AdvisorPruner` prunes the trials advisor diagnoses as hopeless.

    import optuna
    from advisor.integrations.optuna import AdvisorPruner
    study = optuna.create_study(direction="minimize", pruner=AdvisorPruner())

    def objective(trial):
        ...
        for epoch in range(epochs):
            val_loss = train_one_epoch(...)
            trial.report(val_loss, epoch)
            if trial.should_prune():
                raise optuna.TrialPruned()      # the reason is in trial.user_attrs["advisor"]
        return val_loss

The curve a trial reports (`trial.report`) is diagnosed after every report (advisor.integrations
.sweep): a diverged, stalled-at-chance or stuck trial is pruned, and so is a hopelessly slow one
(its curve heads for a floor far worse than the best finished trial), with the reason stored as
the trial's user attribute `advisor`. `wrap=` another pruner (MedianPruner, ...) to also prune by rank.
"""
from __future__ import annotations

from typing import Any

try:
    import optuna
except ImportError as exc:  # pragma: no cover - the extra is not installed
    raise ImportError("AdvisorPruner needs optuna: pip install 'advisor[optuna]'") from exc

from advisor.integrations.sweep import PATTERNS, TrialJudge


class AdvisorPruner(optuna.pruners.BasePruner):
    def __init__(self, patterns=PATTERNS, severity: str = "warning", n_warmup_steps: int = 0,
                 min_points: int = 4, wrap: optuna.pruners.BasePruner | None = None, **monitor_options: Any) -> None:
        self.patterns = patterns
        self.severity = severity
        self.n_warmup_steps = n_warmup_steps
        self.min_points = min_points
        self.wrap = wrap
        self.monitor_options = monitor_options
        self.judges: dict[bool, TrialJudge] = {}

    def prune(self, study: optuna.Study, trial: optuna.trial.FrozenTrial) -> bool:
        step = trial.last_step
        if step is None or step < self.n_warmup_steps:
            return False
        maximize = study.direction == optuna.study.StudyDirection.MAXIMIZE
        judge = self.judges.get(maximize)
        if judge is None:
            judge = self.judges[maximize] = TrialJudge(maximize, self.patterns, self.severity, self.min_points,
                                                       **self.monitor_options)
        reason = judge.update(trial.number, dict(trial.intermediate_values), _best_value(study))
        if reason is not None:
            study._storage.set_trial_user_attr(trial._trial_id, "advisor", reason)
            judge.forget(trial.number)
            return True
        return bool(self.wrap is not None and self.wrap.prune(study, trial))


def _best_value(study: optuna.Study) -> float | None:
    """The best final value among the finished trials, None before the first one finishes."""
    try:
        return float(study.best_value)
    except ValueError:
        return None
