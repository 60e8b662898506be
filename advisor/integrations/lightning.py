"""PyTorch Lightning: `AdvisorCallback` stops a doomed fit and says why.

    from advisor.integrations.lightning import AdvisorCallback
    trainer = L.Trainer(callbacks=[AdvisorCallback(stop_on="error")])

After every training batch it records the step's training metrics from
`trainer.callback_metrics` (and the batch loss Lightning hands the callback), the learning rate of
the first optimizer, and after every validation the validation metrics; roles are assigned from
the metric names as for any log. On a finding at or above `stop_on` it sets `trainer.should_stop`
(Lightning ends the fit after the current step) and logs the reason. Findings go to the `advisor`
logger and, when the trainer's logger can take text (TensorBoard), to `advisor/<rule>` next to the
curves. `restore_best_on_overfit=True`: when overfitting is found, the best checkpoint of the
trainer's ModelCheckpoint is loaded back into the module and the fit stops.
"""
from __future__ import annotations

import logging
from typing import Any

try:
    import lightning.pytorch as pl
except ImportError:  # pragma: no cover - the extra is not installed
    try:
        import pytorch_lightning as pl
    except ImportError as exc:
        raise ImportError("AdvisorCallback needs PyTorch Lightning: pip install 'advisor[lightning]'") from exc

from advisor.integrations.base import Guard, as_float
from advisor.roles import classify

LOG = logging.getLogger("advisor.lightning")


class AdvisorCallback(pl.Callback):
    def __init__(self, stop_on: str | None = "error", restore_best_on_overfit: bool = False,
                 log_to=None, name: str | None = None, **monitor_options: Any) -> None:
        super().__init__()
        self.stop_on = stop_on
        self.restore_best_on_overfit = restore_best_on_overfit
        self.log_to = log_to if log_to is not None else LOG
        self.name = name
        self.monitor_options = monitor_options
        self.guard: Guard | None = None
        self.restored_from: str | None = None

    @property
    def stop_reason(self) -> str | None:
        return self.guard.stop_reason if self.guard else None

    def on_fit_start(self, trainer, pl_module) -> None:
        name = self.name or getattr(trainer.logger, "log_dir", None) or type(pl_module).__name__
        self.guard = Guard(name=str(name), stop_on=self.stop_on, log_to=self.log_to, writer="lightning",
                           hparams=dict(getattr(pl_module, "hparams", {}) or {}), **self.monitor_options)
        self.guard.hooks.append(lambda event, line: self._to_logger(trainer, event, line))

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        scalars = {key: as_float(value) for key, value in trainer.callback_metrics.items()
                   if classify(key).split != "val"}
        loss = outputs.get("loss") if isinstance(outputs, dict) else outputs
        if not any(classify(key).kind == "loss" for key in scalars):
            scalars["train_loss"] = as_float(loss)
        scalars["lr"] = _lr(trainer)
        self._observe(trainer, pl_module, scalars)

    def on_validation_end(self, trainer, pl_module) -> None:
        if trainer.sanity_checking or self.guard is None:
            return
        scalars = {key: as_float(value) for key, value in trainer.callback_metrics.items()
                   if classify(key).split == "val"}
        if scalars:
            self._observe(trainer, pl_module, scalars)

    def on_fit_end(self, trainer, pl_module) -> None:
        if self.guard is not None and not self.guard.should_stop:
            self.guard.evaluate(final=True)

    def _observe(self, trainer, pl_module, scalars: dict[str, float | None]) -> None:
        guard = self.guard
        if guard is None:
            return
        was_stopping = guard.should_stop
        guard.observe(trainer.global_step, **scalars)
        if guard.should_stop and not was_stopping:
            trainer.should_stop = True
        if self.restore_best_on_overfit and self.restored_from is None:
            if any(f.pattern == "overfitting" for f in guard.monitor.findings):
                self._restore_best(trainer, pl_module)

    def _restore_best(self, trainer, pl_module) -> None:
        import torch

        checkpoint = getattr(trainer, "checkpoint_callback", None)
        best = getattr(checkpoint, "best_model_path", "") if checkpoint else ""
        if not best:
            return
        state = torch.load(best, map_location=pl_module.device, weights_only=False)["state_dict"]
        pl_module.load_state_dict(state)
        self.restored_from = best
        trainer.should_stop = True
        self.guard._write(f"advisor: overfitting: restored the best checkpoint {best} and stopped the fit")

    def _to_logger(self, trainer, event: dict[str, Any], line: str) -> None:
        """Findings as text in the trainer's logger (TensorBoard), at the step they were seen."""
        experiment = getattr(trainer.logger, "experiment", None) if trainer.logger else None
        add_text = getattr(experiment, "add_text", None)
        if callable(add_text):
            rule = event.get("finding", {}).get("rule") or event.get("rule")
            add_text(f"advisor/{rule}", line, trainer.global_step)


def _lr(trainer) -> float | None:
    optimizers = getattr(trainer, "optimizers", None) or []
    if not optimizers:
        return None
    return as_float(optimizers[0].param_groups[0].get("lr"))
