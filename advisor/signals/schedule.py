"""LR schedule recognition from the logged learning-rate curve.

Rules need to know the schedule to judge the loss (a step decay explains a sudden drop; a warmup
explains an early rise; a range test is not a training run at all). The shape is recognised with
scale-free tests on log(lr) and on lr normalised to its maximum: constant, step (few distinct
levels joined by jumps), warmup (rises first, then anything), exponential (log-linear fall),
linear, cosine (half-cosine fall), range_test (geometric rise over the whole run) and cyclic
(several rises and falls).
"""
from __future__ import annotations

import math

import numpy as np

from advisor.model import Curves, Measurement
from advisor.signals.robust import finite_xy, step_change_points


def _r2(y: np.ndarray, f: np.ndarray) -> float:
    ss = float(np.sum((y - y.mean()) ** 2))
    return 1.0 - float(np.sum((y - f) ** 2)) / ss if ss > 0 else 1.0


def _classify(x: np.ndarray, y: np.ndarray) -> tuple[str, bool, float | None]:
    n = len(y)
    ymax = float(np.max(y))
    if ymax <= 0:
        return "unknown", False, None
    u = y / ymax
    if float(np.ptp(u)) < 1e-6:
        return "constant", False, None
    t = (x - x[0]) / max(x[-1] - x[0], 1e-300)
    pos = y > 0
    d = np.diff(u)
    rises = d > 1e-9 * 1
    falls = d < -1e-9
    # range test: rises (almost) monotonically over the whole run by >= 100x
    if pos.all() and rises.mean() > 0.8 and falls.mean() < 0.05 and y[-1] / max(y[0], 1e-300) >= 100:
        return "range_test", False, None
    # warmup: the maximum comes after a rise from well below it, early in the run
    i_max = int(np.argmax(y))
    warm = bool(0 < i_max < n - 1 and y[0] < 0.5 * ymax and t[i_max] <= 0.5 and np.all(np.diff(y[: i_max + 1]) >= -1e-12 * ymax))
    warm_end = float(x[i_max]) if warm else None
    # cyclic: several alternating monotone runs of material size (a warmup is one rise, not cycles)
    sgn = np.sign(d[np.abs(d) > 1e-6])
    turns = int(np.sum(sgn[1:] != sgn[:-1])) if len(sgn) > 1 else 0
    if turns >= 3 and np.ptp(u) > 0.3 and turns <= n / 4:
        return "cyclic", False, None
    start = i_max if warm else 0
    yy, tt, uu = y[start:], t[start:], u[start:]
    if len(yy) < 3:
        return ("warmup" if warm else "unknown"), warm, warm_end
    tt = (tt - tt[0]) / max(tt[-1] - tt[0], 1e-300)
    levels = np.unique(np.round(np.log(yy[yy > 0]), 3))
    changes = np.sum(np.abs(np.diff(uu)) > 1e-9)
    if len(levels) <= max(6, int(0.05 * len(yy))) and changes <= max(6, 0.05 * len(yy)):
        kind = "step" if len(levels) > 1 else "constant"
        return (kind if not warm or kind != "constant" else "warmup"), warm, warm_end
    cands = {}
    u0 = uu / max(uu[0], 1e-300)
    cands["cosine"] = _r2(u0, uu[-1] / uu[0] + (1 - uu[-1] / uu[0]) * 0.5 * (1 + np.cos(np.pi * tt)))
    cands["linear"] = _r2(u0, 1 + (uu[-1] / uu[0] - 1) * tt)
    if np.all(yy > 0):
        lyy = np.log(yy)
        cands["exponential"] = _r2(lyy, lyy[0] + (lyy[-1] - lyy[0]) * tt) if abs(lyy[-1] - lyy[0]) > 0.05 else 0.0
    best = max(cands, key=cands.get)
    if cands[best] >= 0.97 and uu[-1] < uu[0]:
        return best, warm, warm_end
    return ("warmup" if warm else "unknown"), warm, warm_end


def measure_lr_schedule(curves: Curves, role: str) -> Measurement | None:
    """Kind of schedule, warmup, step change points, and the LR range."""
    c = curves.get(role)
    if c is None:
        return None
    x, y = finite_xy(c)
    if len(y) < 2:
        return None
    kind, warm, warm_end = _classify(x, y)
    cps = step_change_points(x, y, rel=0.05) if kind in ("step",) else []
    ymax, ymin = float(np.max(y)), float(np.min(y))
    values = {
        "kind": kind, "warmup": bool(warm), "warmup_steps": warm_end, "change_points": cps,
        "max_lr": ymax, "min_lr": ymin, "decay_ratio": float(y[-1] / ymax) if ymax > 0 else None,
    }
    note = f"{kind} schedule" + (f" with warmup to step {warm_end:g}" if warm else "") + \
        (f", max {ymax:.3g}" if math.isfinite(ymax) else "")
    return Measurement(family="lr_schedule", role=role, tag=c.tag, detected=kind not in ("constant", "unknown"),
                       values=values, start_step=float(x[0]), end_step=float(x[-1]), note=note)
