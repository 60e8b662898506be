"""What a run's x axis counts, named one way in every summary, report and chart.

Why one module: "steps 0–149" in the terminal next to "epoch 0" in the summary and "epochs 0–149"
in the HTML made the reader guess which one the log counts (issue 9: every number in the run's
own units). The rules engine (summaries: "at epoch 4"), every renderer (a finding's range:
"epochs 14–49", "timesteps 50–6,550") and the chart axes ask this module, so they agree.

The unit of a curve follows from its `x_kind` (advisor.roles decides it from the log) and, for
curves whose x is a logged step, from what that step counts in this run:
- `epoch` for epoch-level logs (a Keras/fastai CSV, Keras History, Keras TensorBoard
  `epoch_loss`, YOLOv5/Ultralytics, which log each epoch's scalars at step = epoch);
- `timestep` for Stable-Baselines3 (its "step" is `num_timesteps`, the environment steps taken
  so far, not an update count);
- `step` otherwise; `second` for a curve placed on wall time, `point` for one placed on the
  order of its points (when the log had no usable step).
"""
from __future__ import annotations

from typing import Any

# unit -> (one, several, chart axis label)
UNITS: dict[str, tuple[str, str, str]] = {
    "step": ("step", "steps", "step"),
    "epoch": ("epoch", "epochs", "epoch"),
    "timestep": ("timestep", "timesteps", "environment timesteps"),
    "second": ("second", "seconds", "wall time (s)"),
    "point": ("point", "points", "logged point"),
}
KIND_UNIT = {"epoch": "epoch", "wall_time": "second", "index": "point"}
# x columns of logs whose step counts environment timesteps (advisor.ingest.csv_logs: SB3 progress.csv)
TIMESTEP_AXES = frozenset({"time/total_timesteps"})
# writers that log every scalar of an epoch at step = epoch (yolov5 `tb.add_scalar(k, v, epoch)`,
# ultralytics `_log_scalars(..., trainer.epoch + 1)`)
EPOCH_WRITERS = frozenset({"yolov5", "ultralytics"})


def step_unit(run: Any) -> str:
    """What a logged step counts in `run` (an advisor.model.Run): "timestep" for SB3, else "step"."""
    if run is None:
        return "step"
    axis = (getattr(run, "meta", None) or {}).get("x_axis")
    if getattr(run, "writer", None) == "sb3" or (isinstance(axis, str) and axis in TIMESTEP_AXES):
        return "timestep"
    return "step"


def counts_epochs(run: Any) -> bool:
    """True when the run's logged step is the epoch: its x column is named epoch, or its writer
    logs once per epoch at step = epoch."""
    axis = (getattr(run, "meta", None) or {}).get("x_axis")
    return (isinstance(axis, str) and axis.lower().startswith("epoch")) or getattr(run, "writer", None) in EPOCH_WRITERS


def unit_of(x_kind: str | None, steps_count: str = "step") -> str:
    """The unit of a curve with this `x_kind` in a run whose logged steps count `steps_count`."""
    if x_kind in (None, "step"):
        return steps_count if steps_count in UNITS else "step"
    return KIND_UNIT.get(x_kind, "step")


def name(unit: str, plural: bool = False) -> str:
    """`epoch` / `epochs`."""
    one, several, _ = UNITS.get(unit, UNITS["step"])
    return several if plural else one


def axis_label(unit: str) -> str:
    """The chart's x-axis title for `unit` ("environment timesteps", "wall time (s)")."""
    return UNITS.get(unit, UNITS["step"])[2]
