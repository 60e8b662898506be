"""Descriptive statistics of one curve: the numbers every rule and report line starts from."""
from __future__ import annotations

import numpy as np

from advisor.model import Curves, Measurement
from advisor.signals.robust import finite_xy, head_level, tail_level


def measure_stats(curves: Curves, role: str) -> Measurement | None:
    """Points, finite share, first/last/min/max and a robust relative drop.

    `rel_drop` uses the medians of the first and last 10% so one noisy minibatch at either end
    does not decide it; it is relative to |first| and so is meaningless for curves that start
    near zero (rules should then use the values directly).
    """
    c = curves.get(role)
    if c is None or len(c) == 0:
        return None
    y_all = np.asarray(c.y, dtype=np.float64)
    x, y = finite_xy(c)
    values: dict = {
        "points": int(len(c)),
        "finite_fraction": float(np.isfinite(y_all).mean()) if len(y_all) else 0.0,
        "x_span": float(c.x[-1] - c.x[0]) if len(c) > 1 else 0.0,
    }
    if len(y):
        i_min = int(np.argmin(y))
        first, last = head_level(y), tail_level(y)
        values.update({
            "first": float(y[0]), "last": float(y[-1]),
            "min": float(y[i_min]), "min_step": float(x[i_min]), "max": float(np.max(y)),
            "rel_drop": float((first - last) / abs(first)) if first != 0 else 0.0,
        })
    else:
        values.update({"first": None, "last": None, "min": None, "min_step": None, "max": None,
                       "rel_drop": None})
    return Measurement(family="stats", role=role, tag=c.tag, detected=False, values=values,
                       start_step=float(c.x[0]), end_step=float(c.x[-1]),
                       note=f"{len(c)} points, {values['finite_fraction']:.0%} finite")
