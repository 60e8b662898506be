"""Hugging Face transformers: `AdvisorTrainerCallback` stops a doomed `Trainer` run.

    from advisor.integrations.hf import AdvisorTrainerCallback
    trainer = Trainer(..., callbacks=[AdvisorTrainerCallback(stop_on="error")])

It reads what the Trainer logs (`on_log`: `loss`, `eval_loss`, `learning_rate`, `grad_norm`,
`eval_*` metrics) at `state.global_step`; on a finding at or above `stop_on` it sets
`control.should_training_stop` and logs the reason to the transformers logger. The reason is also
kept in `state.log_history` (as `{"advisor": line, "step": ...}`), which the Trainer saves in
trainer_state.json beside the curves.
"""
from __future__ import annotations

from typing import Any

try:
    from transformers import TrainerCallback
    from transformers.utils import logging as hf_logging
except ImportError as exc:  # pragma: no cover - the extra is not installed
    raise ImportError("AdvisorTrainerCallback needs transformers: pip install 'advisor[hf]'") from exc

from advisor.integrations.base import Guard, as_float

# trainer log key -> Monitor name (roles are then assigned from these names)
KEYS = {"loss": "train_loss", "eval_loss": "val_loss", "learning_rate": "lr", "grad_norm": "grad_norm"}
SKIP = {"epoch", "total_flos", "train_runtime", "train_samples_per_second", "train_steps_per_second",
        "train_loss", "eval_runtime", "eval_samples_per_second", "eval_steps_per_second"}


class AdvisorTrainerCallback(TrainerCallback):
    def __init__(self, stop_on: str | None = "error", log_to=None, name: str | None = None,
                 **monitor_options: Any) -> None:
        self.stop_on = stop_on
        monitor_options.setdefault("every_steps", 1)  # sparse logs: each one is worth a look
        self.log_to = log_to if log_to is not None else hf_logging.get_logger("advisor")
        self.name = name
        self.monitor_options = monitor_options
        self.guard: Guard | None = None
        self._state = None

    @property
    def stop_reason(self) -> str | None:
        return self.guard.stop_reason if self.guard else None

    def on_train_begin(self, args, state, control, **kwargs):
        hparams = {"lr": args.learning_rate, "batch_size": args.per_device_train_batch_size,
                   "weight_decay": args.weight_decay, "warmup_steps": args.warmup_steps}
        self.guard = Guard(name=self.name or args.output_dir or "run", stop_on=self.stop_on, log_to=self.log_to,
                           writer="hf-transformers", hparams=hparams, **self.monitor_options)
        self._state = state
        self.guard.hooks.append(self._keep_in_history)

    def on_log(self, args, state, control, logs=None, **kwargs):
        if self.guard is None or not logs:
            return
        scalars = {}
        for key, value in logs.items():
            if key in SKIP or key.startswith("train_"):
                continue
            number = as_float(value)
            if number is not None:
                scalars[KEYS.get(key, key)] = number
        if scalars and self.guard.observe(state.global_step, **scalars):
            control.should_training_stop = True

    def on_train_end(self, args, state, control, **kwargs):
        if self.guard is not None and not self.guard.should_stop:
            self.guard.evaluate(final=True)

    def _keep_in_history(self, event: dict[str, Any], line: str) -> None:
        if self._state is not None:
            self._state.log_history.append({"advisor": line, "step": self._state.global_step})
