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
        is_rt = bool((d >= -1e-12).mean() > 0.9 and l[-1] - l[0] >= math.log(100) and (d > 0).mean() > 0.5)
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
