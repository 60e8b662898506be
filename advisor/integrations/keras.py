"""Keras 3: `AdvisorKerasCallback` stops a doomed `model.fit` (any backend: torch, jax, tensorflow).

    from advisor.integrations.keras import AdvisorKerasCallback
    model.fit(x, y, validation_data=..., callbacks=[AdvisorKerasCallback(stop_on="error")])

Keras reports running means over the epoch in its batch logs, so the curves advisor measures are
the epoch-end values (`loss`, `val_loss`, accuracies, and the optimizer's learning rate), at the
global step where each epoch ends. A batch whose loss is NaN or infinite is recorded at once,
since that is the run dying. On a finding at or above `stop_on` it sets `model.stop_training` and
prints the reason.
"""
from __future__ import annotations

import math
from typing import Any

try:
    import keras
except ImportError as exc:  # pragma: no cover - the extra is not installed
    raise ImportError("AdvisorKerasCallback needs Keras 3: pip install 'advisor[keras]'") from exc

from advisor.integrations.base import Guard, as_float

KEYS = {"loss": "train_loss", "val_loss": "val_loss", "accuracy": "train_acc", "val_accuracy": "val_acc",
        "sparse_categorical_accuracy": "train_acc", "val_sparse_categorical_accuracy": "val_acc"}


class AdvisorKerasCallback(keras.callbacks.Callback):
    def __init__(self, stop_on: str | None = "error", log_to=None, name: str = "keras",
                 **monitor_options: Any) -> None:
        super().__init__()
        self.stop_on = stop_on
        monitor_options.setdefault("every_steps", 1)  # sparse logs: each one is worth a look
        self.log_to = log_to if log_to is not None else keras.utils.io_utils.print_msg
        self.name = name
        self.monitor_options = monitor_options
        self.guard: Guard | None = None
        self.step = 0

    @property
    def stop_reason(self) -> str | None:
        return self.guard.stop_reason if self.guard else None

    def on_train_begin(self, logs=None):
        self.guard = Guard(name=self.name, stop_on=self.stop_on, log_to=self.log_to, writer="keras",
                           hparams={"lr": self._lr()}, **self.monitor_options)
        self.step = 0

    def on_train_batch_end(self, batch, logs=None):
        self.step += 1
        loss = as_float((logs or {}).get("loss"))
        if loss is not None and not math.isfinite(loss):
            self._observe({"train_loss": loss, "lr": self._lr()})

    def on_epoch_end(self, epoch, logs=None):
        scalars = {KEYS.get(key, key): as_float(value) for key, value in (logs or {}).items()
                   if key != "learning_rate"}
        scalars["lr"] = self._lr()
        self._observe(scalars)

    def on_train_end(self, logs=None):
        if self.guard is not None and not self.guard.should_stop:
            self.guard.evaluate(final=True)

    def _observe(self, scalars: dict[str, float | None]) -> None:
        if self.guard is not None and self.guard.observe(self.step, **scalars):
            self.model.stop_training = True

    def _lr(self) -> float | None:
        optimizer = getattr(self.model, "optimizer", None)
        rate = getattr(optimizer, "learning_rate", None)
        if rate is None:
            return None
        try:
            return float(keras.ops.convert_to_numpy(rate))
        except (TypeError, ValueError):
            return None
