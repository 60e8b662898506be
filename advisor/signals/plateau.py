"""Plateau: a long flat stretch: a saddle the run breaks out of (seeds 002/004), or a stall at a
high loss until the end.

"Flat" means the trend moves less than a tolerance that is the larger of (a) what the noise of
the trend allows and (b) a tenth of the trend's own range, so it is scale-free and does not call
a slow but steady descent flat. A curve that converged and rests at a LOW level at the end is
healthy: that stretch is reported (`ends_flat`) but not detected. Drops that coincide with LR
step changes are the schedule at work, not a breakout.
"""
from __future__ import annotations

import math

import numpy as np

from advisor.model import Curves, Measurement
from advisor.signals.robust import (
    bin_medians, curve_or_none, diff_sigma, finite_xy, head_level, longest_flat, lr_change_points,
    moving_average, odd, running_median, theil_sen,
)

MIN_N = 8
ACC_ROLES = ("train_acc", "val_acc")
MIN_LENGTH = 0.25  # a plateau worth reporting spans at least a quarter of the run


def _flat_stretch(x: np.ndarray, z: np.ndarray) -> dict:
    """Longest flat stretch of the trend of z (lower is better)."""
    xb, zb, cnt = bin_medians(x, z, 120)
    m = len(zb)
    w = odd(max(3, m // 15))
    tb = moving_average(running_median(zb, w), 3) if m >= 5 else zb.copy()
    noise = diff_sigma(zb)
    rng = float(np.max(tb) - np.min(tb))
    tol = max(0.1 * rng, 6.0 * noise / math.sqrt(w), 1e-12 * max(abs(float(np.median(tb))), 1e-300))
    i, j = longest_flat(tb, tol)
    return {"xb": xb, "tb": tb, "i": i, "j": j, "tol": tol, "noise": noise}


def measure_plateau(curves: Curves, role: str) -> Measurement | None:
    """Longest flat stretch, its level, and whether it is a saddle (breakout) or a high stall."""
    c = curve_or_none(curves, role, MIN_N)
    if c is None:
        return None
    x, y = finite_xy(c)
    if len(y) < MIN_N or x[-1] <= x[0]:
        return None
    is_acc = role in ACC_ROLES
    z = -y if is_acc else y
    f = _flat_stretch(x, z)
    xb, tb, i, j, tol = f["xb"], f["tb"], f["i"], f["j"], f["tol"]
    span_x = x[-1] - x[0]
    # the stretch covers from its first to its last bin, extended by half a bin at each side
    half = 0.5 * span_x / max(len(xb), 1)
    x_start = float(x[0]) if i == 0 else float(xb[i] - half)
    x_end = float(x[-1]) if j == len(xb) - 1 else float(xb[j] + half)
    length = float(np.clip((x_end - x_start) / span_x, 0.0, 1.0))
    level_z = float(np.median(tb[i: j + 1]))
    head_z = head_level(z, 0.05)
    min_z = float(np.min(tb))
    level = -level_z if is_acc else level_z
    head = -head_z if is_acc else head_z
    progress = head_z - min_z
    level_rel_range = float(np.clip((level_z - min_z) / progress, 0.0, 1.5)) if progress > tol else 1.0
    level_rel_start = float(level / head) if head != 0 and not is_acc else None
    ends_flat = bool(j >= len(xb) - 1)
    # chance level: ln C for a loss, 1/C for an accuracy; else "within 10% of the start"
    C = curves.num_classes
    at_chance = False
    if C and C > 1:
        chance = (1.0 / C) * (100.0 if is_acc and np.nanmax(y) > 1.5 else 1.0) if is_acc else math.log(C)
        at_chance = abs(level - chance) <= 0.1 * abs(chance)
    if not at_chance:
        scale = abs(head) if (head != 0 and not is_acc) else max(progress, tol)
        at_chance = abs(level - head) <= 0.1 * scale
    # breakout: a clear further drop after the stretch (not at an LR step)
    breakout, breakout_step = False, None
    if not ends_flat:
        after = tb[j + 1:]
        drop = level_z - float(np.min(after)) if len(after) else 0.0
        need = max(3 * tol, 0.2 * progress)
        if drop >= need:
            k = np.flatnonzero(after < level_z - tol)
            bstep = float(xb[j + 1 + int(k[0])]) if len(k) else float(xb[min(j + 1, len(xb) - 1)])
            # sudden: the drop takes at most half as long as the plateau lasted (a steady slow
            # descent also has "flat" stretches at this tolerance, but no sudden escape)
            kk = np.flatnonzero(after <= level_z - need)
            took = float(xb[j + 1 + int(kk[0])] - x_end) if len(kk) else math.inf
            cps = lr_change_points(curves)
            near_lr = any(abs(cp - bstep) <= 0.05 * span_x + half for cp in cps)
            if not near_lr and took <= 0.5 * (x_end - x_start):
                breakout, breakout_step = True, bstep
    if is_acc:
        stalled_high = bool(ends_flat and at_chance)
    elif head > 0 and level_rel_start is not None:
        stalled_high = bool(ends_flat and (level_rel_start >= 0.5 or at_chance))
    else:
        stalled_high = bool(ends_flat and at_chance)
    # "flat" must also hold for the raw points: no significant slope worth the tolerance
    inside = (x >= x_start) & (x <= x_end)
    descending = False
    if inside.sum() >= 4:
        ts = theil_sen(x[inside], z[inside])
        descending = bool(ts.significant_down and -ts.slope * (x_end - x_start) >= tol)
    saddle = bool(breakout and level_rel_range >= 0.5 and length >= MIN_LENGTH * 0.8)
    stall = bool(stalled_high and length >= MIN_LENGTH and not descending)
    if (saddle or stall) and not is_acc:
        # a flat-but-bouncing curve is oscillation, a climbing one divergence: not a plateau
        from advisor.signals.divergence import measure_divergence
        from advisor.signals.oscillation import measure_oscillation

        div = measure_divergence(curves, role)
        if div is not None and div.detected:
            saddle = stall = False
        else:
            for r in dict.fromkeys((role, "train_loss")):
                osc = measure_oscillation(curves, r)
                if osc is not None and osc.detected and not osc.values.get("epoch_jumps"):
                    stall = False
    detected = saddle or stall
    values = {
        "length_fraction": length, "level_rel_start": level_rel_start, "at_chance": bool(at_chance),
        "breakout": bool(breakout), "breakout_step": breakout_step, "stalled_high": stalled_high,
        "ends_flat": ends_flat, "level_rel_range": level_rel_range, "level": level,
    }
    if saddle:
        note = (f"flat for {length:.0%} of the run near its starting level, then breaks out at "
                f"step {breakout_step:g} (saddle)")
    elif stall:
        note = f"flat for the last {length:.0%} of the run at a high level ({level:.4g})"
    else:
        note = f"longest flat stretch {length:.0%} of the run" + (" (converged)" if ends_flat else "")
    return Measurement(family="plateau", role=role, tag=c.tag, detected=detected, values=values,
                       start_step=x_start, end_step=x_end,
                       confidence=float(min(0.95, 0.4 + length)) if detected else 0.0, note=note)
