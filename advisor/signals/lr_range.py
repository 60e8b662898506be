"""LR range test (Smith 2015; seed 002 12.3.2): read a suggested LR off a loss-vs-LR sweep.

A run is a range test when its LR rises geometrically over (almost) the whole run. The loss is
then read against log(LR): suggestions are the steepest descent of the smoothed loss after a
burn-in (fastai's `steep`), the valley point (fastai's `valley`: two thirds into the longest
descending stretch) and the LR at the minimum divided by 10. `agreement` is the spread of the
suggestions; with no clear descent the test is uninformative and gives no number.
"""
from __future__ import annotations

import math

import numpy as np

from advisor.model import Curves, Measurement
from advisor.signals.robust import finite_xy, moving_average, running_median


# A sweep rises geometrically: each half of its points covers a like share of its log-LR span. A linear
# ramp from (near) zero covers it almost all in its first points: a public MAE pretraining's warmup, LR
# 0, 1.0e-7, 2.0e-7 ... 1.5e-5 over its 151 logged points (its first 2,419 steps, all the log holds), spans
# 150x, 4.3 of its 5.0 nats in the first half, and read as 'an LR range test, suggested LR 1.22e-5'. A
# range test run in linear mode (Lightning's lr_find(mode="linear")) sweeps up to a large LR, 1 by default:
# one ending at >= LINEAR_SWEEP_TOP is still read as one.
HALF_SPAN_RATIO = 4.0
LINEAR_SWEEP_TOP = 0.1


def _geometric(log_lr: np.ndarray) -> bool:
    """Each half of the points covers between 1/HALF_SPAN_RATIO and HALF_SPAN_RATIO x the other's log span."""
    h = len(log_lr) // 2
    first, second = float(log_lr[h] - log_lr[0]), float(log_lr[-1] - log_lr[h])
    if first <= 0 or second <= 0:
        return False
    return 1.0 / HALF_SPAN_RATIO <= first / second <= HALF_SPAN_RATIO


def measure_lr_range_test(curves: Curves, role: str) -> Measurement | None:
    """Whether this run is an LR sweep and, if so, which LR its loss curve suggests."""
    loss = curves.get(role)
    lr = curves.get("lr")
    if loss is None or lr is None:
        return None
    lx, ly = finite_xy(lr)
    x, y = finite_xy(loss)
    if len(ly) < 5 or len(y) < 8:
        return None
    pos = ly > 0
    is_rt = False
    if pos.sum() >= 5:
        l = np.log(ly[pos])
        d = np.diff(l)
        is_rt = bool((d >= -1e-12).mean() > 0.9 and l[-1] - l[0] >= math.log(100) and (d > 0).mean() > 0.5
                     and (_geometric(l) or float(ly[pos][-1]) >= LINEAR_SWEEP_TOP))
    values = {"is_range_test": is_rt, "suggested_lr": None, "valley_lr": None, "min_lr_over_10": None,
              "agreement": None, "informative": False}
    if not is_rt:
        return Measurement(family="lr_range_test", role=role, tag=loss.tag, detected=False, values=values,
                           note="the LR does not sweep geometrically: not a range test")
    lr_at = np.exp(np.interp(x, lx[pos], np.log(ly[pos])))
    n = len(y)
    s = moving_average(running_median(y, max(3, (n // 20) | 1)), max(1, n // 20))
    i_min = int(np.argmin(s))
    burn = max(1, n // 10)
    # stop before the loss blows up past 4x its minimum
    blow = np.flatnonzero((np.arange(n) > i_min) & (s > s[i_min] + 3 * abs(s[i_min])))
    stop = int(blow[0]) if len(blow) else n
    llr = np.log(lr_at)
    g = np.gradient(s[:stop], llr[:stop]) if stop - burn >= 3 else np.array([])
    informative = bool(s[0] - s[i_min] > 0.1 * max(abs(s[0]), 1e-300) and i_min > burn)
    if informative and len(g) > burn:
        i_steep = burn + int(np.argmin(g[burn:i_min + 1])) if i_min + 1 > burn else burn
        # valley: longest strictly descending stretch before the minimum, 2/3 in
        best_a, best_len, a = 0, 0, 0
        for i in range(1, i_min + 1):
            if s[i] >= s[i - 1]:
                a = i
            if i - a > best_len:
                best_a, best_len = a, i - a
        i_valley = best_a + int(round(2 * best_len / 3))
        sugg = float(lr_at[i_steep])
        valley = float(lr_at[min(i_valley, n - 1)])
        min10 = float(lr_at[i_min] / 10)
        cands = [sugg, valley, min10]
        values.update(suggested_lr=sugg, valley_lr=valley, min_lr_over_10=min10,
                      agreement=float(max(cands) / min(cands)), informative=True)
        note = f"range test: steepest descent at lr={sugg:.3g}, valley {valley:.3g}, min/10 {min10:.3g}"
    else:
        note = "range test without a clear descent: no LR suggested"
    return Measurement(family="lr_range_test", role=role, tag=loss.tag, detected=True, values=values,
                       start_step=float(x[0]), end_step=float(x[-1]), note=note)
