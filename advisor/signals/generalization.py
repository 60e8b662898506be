"""Overfitting: the validation loss passes its minimum and climbs while training keeps falling, or
training and validation losses end up orders of magnitude apart (seed 003).

Seed 003 is explicit that a train/val gap of the *same* order (0.8 vs 0.9) is not overfitting;
`orders_apart` (log10 of val/train at the end) carries that judgement. The climb is measured on
a 3-point running median of the validation curve, must be sustained (several points after the
minimum, significant given the curve's own noise) and must not be contradicted by the validation
metric: a val loss that rises while val accuracy keeps improving is `inconsistent_metric`
(over-confident but still generalising), not overfitting.
"""
from __future__ import annotations

import math

import numpy as np

from advisor.model import Curves, Measurement
from advisor.signals.robust import (
    curve_or_none, diff_sigma, finite_xy, head_level, running_median, theil_sen,
)

MIN_N = 6
RISE_REL = 0.1  # val must climb >= 10% above its minimum (relative; progress-relative for <= 0 losses)
ORDERS = 1.0  # val/train >= 10x: different orders of magnitude
LOWER_IS_BETTER = ("wer", "cer", "loss", "error", "err", "rmse", "mae", "mse", "perplexity", "ppl", "fid")


def _falling_after(curves: Curves, role: str, x0: float, x_end: float) -> tuple[bool | None, float | None]:
    """Whether `role` keeps falling from x0 on (None when not logged there), and its end level."""
    c = curves.get(role)
    if c is None:
        return None, None
    x, y = finite_xy(c)
    if len(y) < 3:
        return None, None
    end = float(np.median(y[-max(2, len(y) // 10):]))
    m = x >= x0
    if m.sum() >= 4:
        ts = theil_sen(x[m], y[m])
        start = float(np.median(y[m][: max(2, m.sum() // 5)]))
        return bool(ts.significant_down or end < start - 0.05 * abs(start)), end
    before = float(np.interp(x0, x, y))
    return bool(end < before - 0.05 * abs(before)), end


def _metric_improves(curves: Curves, x0: float) -> bool:
    """Whether the validation accuracy/metric keeps improving after x0."""
    for role in ("val_acc", "val_metric"):
        c = curves.get(role)
        if c is None:
            continue
        x, y = finite_xy(c)
        if len(y) < 4:
            continue
        sign = 1.0
        if role == "val_metric" and any(tok in c.tag.lower() for tok in LOWER_IS_BETTER):
            sign = -1.0
        z = sign * y
        m = x >= x0
        if m.sum() < 3:
            continue
        at = float(np.interp(x0, x, z))
        end = float(np.median(z[-max(2, len(z) // 10):]))
        noise = diff_sigma(z)
        ts = theil_sen(x[m], z[m])
        if (ts.significant_up or end - at > 2 * noise) and end > at:
            return True
    return False


def measure_overfitting(curves: Curves, role: str) -> Measurement | None:
    """Validation minimum, the climb after it, the train/val ratio and the gap trend."""
    c = curve_or_none(curves, role, MIN_N)
    if c is None:
        return None
    x, y = finite_xy(c)
    n = len(y)
    if n < MIN_N or x[-1] <= x[0]:
        return None
    span_x = x[-1] - x[0]
    s = running_median(y, 3)
    i_min = int(np.argmin(s))
    vmin = float(s[i_min])
    xmin = float(x[i_min])
    k_end = max(2, int(round(0.1 * n)))
    v_end = float(np.median(s[-k_end:]))
    head = head_level(y, 0.1, min_n=2)
    rise = v_end - vmin
    progress = max(head - vmin, 0.0)
    rise_rel = float(rise / abs(vmin)) if vmin > 0 else float(rise / max(progress, 1e-300))
    noise = diff_sigma(y)
    after = x > xmin
    n_after = int(after.sum())
    significant = rise > 3 * noise / math.sqrt(k_end) and rise > 0
    sustained = n_after >= 2 and (xmin <= x[0] + 0.9 * span_x)
    if n_after >= 4:
        sustained = sustained and (theil_sen(x[x >= xmin], y[x >= xmin]).significant_up or rise_rel >= 2 * RISE_REL)
    train_falling, train_end = _falling_after(curves, "train_loss", xmin, x[-1])
    ratio = orders = None
    if train_end is not None and train_end > 0 and v_end > 0:
        ratio = float(v_end / train_end)
        orders = float(math.log10(ratio))
    # gap trend over the second half
    gap_trend = None
    tr = curves.get("train_loss")
    if tr is not None:
        tx, ty = finite_xy(tr)
        half = x >= x[0] + 0.5 * span_x
        if len(ty) >= 3 and half.sum() >= 4:
            gap = y[half] - np.interp(x[half], tx, ty)
            ts = theil_sen(x[half], gap)
            gap_trend = "widening" if ts.significant_up else ("closing" if ts.significant_down else "stable")
    half = x >= x[0] + 0.5 * span_x
    v_ts = theil_sen(x[half], y[half]) if half.sum() >= 4 else None
    val_flat = bool(v_ts is not None and not v_ts.significant_down and
                    abs(v_ts.slope * 0.5 * span_x) <= 0.05 * max(abs(v_end), 1e-300))
    val_flat_train_falling = bool(val_flat and train_falling)
    inconsistent = bool(rise > 0 and significant and sustained and _metric_improves(curves, xmin))
    rise_case = bool(significant and sustained and rise_rel >= RISE_REL and progress > 0
                     and train_falling is not False and not inconsistent)
    gap_case = bool(orders is not None and orders >= ORDERS)
    detected = rise_case or gap_case
    values = {
        "val_min_step": xmin, "val_min": vmin, "rise_rel": rise_rel, "train_val_ratio": ratio,
        "orders_apart": orders, "gap_trend": gap_trend, "train_falling": train_falling,
        "val_flat_train_falling": val_flat_train_falling, "inconsistent_metric": inconsistent,
    }
    if rise_case:
        note = f"validation loss bottoms out at step {xmin:g} and climbs {rise_rel:.0%} while training keeps falling"
    elif gap_case:
        note = f"validation loss is {ratio:.3g}x the training loss (different orders of magnitude)"
    elif inconsistent:
        note = "validation loss rises but the validation metric keeps improving (inconsistent, not overfitting)"
    else:
        note = f"validation minimum at step {xmin:g}; rise after it {rise_rel:.0%}"
    return Measurement(family="overfitting", role=role, tag=c.tag, detected=detected, values=values,
                       start_step=xmin if detected else None, end_step=float(x[-1]) if detected else None,
                       confidence=float(min(0.95, 0.5 + rise_rel)) if detected else 0.0, note=note)
