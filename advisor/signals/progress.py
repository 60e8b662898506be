"""Progress: how far a loss ever got below where it started, robust to noise.

A run that converged in its first few logged points and then sat at its floor has a tiny drop
between its first and last tenths, exactly like a run that never moved. What tells them apart is
the best level ever reached: the converged run went far below its start, the stuck one never did.
Both ends are rolling medians, so one noisy point neither makes nor hides progress.
"""
from __future__ import annotations

import numpy as np

from advisor.model import Curves, Measurement
from advisor.signals.robust import median  # numpy's numbers, without its per-call dispatch


def _rolling_median(y: np.ndarray, window: int) -> np.ndarray:
    if len(y) < window:
        return np.array([median(y)])
    view = np.lib.stride_tricks.sliding_window_view(y, window)
    return np.median(view, axis=1)


def measure_progress(curves: Curves, role: str) -> Measurement | None:
    curve = curves.get(role)
    if curve is None:
        return None
    y = curve.y[np.isfinite(curve.y)]
    if len(y) < 4:
        return None
    head = float(median(y[: max(1, min(3, len(y) // 4))]))
    window = 3 if len(y) < 30 else 5
    smooth = _rolling_median(y, window)
    best = float(np.min(smooth))
    scale = abs(head) if head != 0 else float(np.ptp(y)) or 1.0
    best_drop = (head - best) / scale
    return Measurement(
        family="progress", role=role, tag=curve.tag, detected=best_drop < 0.15,
        values={"best_drop": best_drop, "start": head, "best": best},
        note=f"best level {best:.4g} is {best_drop:.0%} below the start {head:.4g}",
    )
