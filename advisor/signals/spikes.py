"""Spikes: isolated jumps far above the local trend that come back down.

A spike is a point >= K robust sigmas above a running median of the curve, with the curve back
near the trend within a few points (so a divergence is not counted as spikes). For a positive
curve the test is done on log values, which makes it scale-free and matches how spikes look on
a loss plot. `p90` is the value seed advice uses as a gradient-clipping threshold.
"""
from __future__ import annotations

import numpy as np

from advisor.model import Curves, Measurement
from advisor.signals.robust import curve_or_none, finite_xy, mad_sigma, odd, running_median
from advisor.signals.robust import percentile  # numpy's numbers, without its per-call dispatch

K = 6.0
MIN_N = 10


def measure_spikes(curves: Curves, role: str) -> Measurement | None:
    """Count, size and first position of isolated spikes."""
    c = curve_or_none(curves, role, MIN_N)
    if c is None:
        return None
    x, y = finite_xy(c)
    n = len(y)
    if n < MIN_N:
        return None
    positive = bool(np.all(y > 0))
    z = np.log(y) if positive else y
    w = odd(max(5, min(51, n // 20)))
    base = running_median(z, w)
    r = z - base
    sigma = max(mad_sigma(r), 1e-12)
    if not positive:
        sigma = max(sigma, 1e-9 * float(np.max(np.abs(y))))
    hot = r > K * sigma
    if positive:
        hot &= r > np.log(1.5)  # at least 1.5x the local trend
    # isolated: the run of hot points is short and the curve returns near the trend afterwards
    idx = np.flatnonzero(hot)
    spikes = []
    i = 0
    while i < len(idx):
        j = i
        while j + 1 < len(idx) and idx[j + 1] == idx[j] + 1:
            j += 1
        a, b = idx[i], idx[j]
        back = b + 1 < n and r[min(b + 3, n - 1)] < 0.5 * r[a: b + 1].max()
        # (the first logged point is where training starts, above a trend the later, lower points set:
        # no spike, since nothing comes before it to jump from; a PINN's first loss, 0.148 at step 49 of a
        # run then at ~0.05, read "first at step 49")
        if b - a + 1 <= max(3, w // 3) and back and a > 0:
            k = a + int(np.argmax(r[a: b + 1]))
            spikes.append(k)
        i = j + 1
    # against a trend at 0 a ratio is no number ("2.4e+297x"): a non-negative loss logged as 0 (rounded
    # once a training set is memorised) is below the log's resolution, its smallest positive value
    floor = float(np.min(y[y > 0])) if not positive and np.all(y >= 0) and np.any(y > 0) else 1e-300
    ratios = [float(np.exp(r[k])) if positive else float(1 + r[k] / max(abs(base[k]), floor)) for k in spikes]
    values = {
        "count": len(spikes),
        "max_ratio": max(ratios) if ratios else None,
        "p90": float(percentile(y, 90)),
        "first_step": float(x[spikes[0]]) if spikes else None,
    }
    note = f"{len(spikes)} isolated spike(s)" + (f", largest {max(ratios):.3g}x the local trend" if ratios else "")
    return Measurement(family="spikes", role=role, tag=c.tag, detected=bool(spikes), values=values,
                       start_step=values["first_step"], end_step=float(x[spikes[-1]]) if spikes else None,
                       confidence=0.6 if spikes else 0.0, note=note)
