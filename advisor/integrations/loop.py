"""`TrainingGuard`: advisor inside a hand-written PyTorch training loop.

    guard = TrainingGuard(optimizer, stop_on="error")
    for step, (x, y) in enumerate(loader):
        loss = ...; loss.backward(); optimizer.step()
        if guard.step(step, train_loss=loss):       # tensors are fine: read with .item()
            print(guard.stop_reason); break
        ...
        guard.step(step, val_loss=val_loss)          # whenever you validate

The learning rate is read from the optimizer's first parameter group at every step.
"""
from __future__ import annotations

from typing import Any

from advisor.integrations.base import Guard, as_float


class TrainingGuard(Guard):
    def __init__(self, optimizer=None, name: str = "run", stop_on: str | None = "error", **options: Any) -> None:
        super().__init__(name=name, stop_on=stop_on, writer="torch-loop", **options)
        self.optimizer = optimizer

    def step(self, step: int, **scalars: Any) -> bool:
        """Record this step's scalars (floats or 0-d tensors); True when the run should stop."""
        values = {key: as_float(value) for key, value in scalars.items()}
        if self.optimizer is not None and "lr" not in values:
            values["lr"] = float(self.optimizer.param_groups[0]["lr"])
        return self.observe(step, **values)

    def finish(self) -> bool:
        """The loop is over: a last evaluation, with end-of-run findings (slow convergence)."""
        return self.evaluate(final=True)
