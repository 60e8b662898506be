"""Divergence: the loss goes non-finite, explodes, or rises from the very start (seed 003, red).

What a practitioner checks, in order of certainty:
1. a NaN/inf loss that does not recover (the run is dead from that step on);
2. an explosion: the loss climbs far above its running minimum and gives back most of the
   progress it had made, and stays there (a spike that recovers is `spikes`, not divergence);
3. an early rise: the loss ends the first part of the run above where it started and never gets
   clearly below its start (LR too high from the first step: seed 003's red curve);
4. the gradient norm blowing up or going non-finite. HF Trainer replaces NaN losses by running
   averages, so there the loss can look calm while the gradients are already gone.

All thresholds are ratios to the curve's own running minimum, start level or progress, so they
hold at any scale; for curves that reach zero or below, ratios use the progress made
(start - running minimum) instead of the level.
"""
from __future__ import annotations

import math

import numpy as np

from advisor.model import Curves, Measurement
from advisor.signals.robust import (
    MIN_POINTS, bin_medians, curve_or_none, diff_sigma, finite_xy, head_level, odd, running_median,
    tail_level, theil_sen,
)

EXPLOSION_RATIO = 10.0  # loss >= 10x its running minimum: an explosion whatever else happens
PROGRESS_LOST = 0.5  # ... or it gave back >= half the progress made (and >= 2x where positive)
EARLY_WINDOW = 0.3  # share of the run in which an early rise is judged
GRAD_RATIO = 10.0


def _smooth(y: np.ndarray, frac: float = 0.02) -> np.ndarray:
    """Running median over `frac` of the points (>= 3): a rise must last to count."""
    n = len(y)
    if n < 5:
        return y.copy()
    return running_median(y, odd(max(3, int(n * frac))))


def _explosion(x: np.ndarray, y: np.ndarray) -> dict:
    """Largest sustained climb above the running minimum, scale-free.

    The trend is a running median over a tenth of the points (the labellers' trend): a loss
    that swings between batches (unshuffled data, a too-high LR) has low troughs, and a running
    minimum of a short-window trend would call the next swing an explosion.
    """
    if len(y) > 2000:
        x, y, _ = bin_medians(x, y, 1000)
    s = _smooth(y, 0.1)
    n = len(s)
    head = head_level(y, 0.05)
    runmin = np.minimum.accumulate(s)
    rise = s - runmin
    progress = np.maximum(head - runmin, 0.0)
    span = max(float(np.max(s) - np.min(s)), 1e-300)
    positive = bool(np.min(s) > 0)
    if positive:
        ratio = s / np.maximum(runmin, 1e-300)
    else:
        ref = np.maximum(progress, 0.05 * span)
        ratio = 1.0 + rise / np.maximum(ref, 1e-300)
    lost = rise / np.maximum(progress, 0.05 * span)
    i_peak = int(np.argmax(ratio)) if n else 0
    out = {"ratio": float(ratio[i_peak]) if n else 1.0, "peak": i_peak, "detected": False, "onset": None}
    if n < 3:
        return out
    peak_rise = rise[i_peak]
    base = runmin[i_peak]
    above_start = s[i_peak] > head + 0.05 * max(abs(head), span)
    big = (out["ratio"] >= EXPLOSION_RATIO and lost[i_peak] >= 0.2) or (
        lost[i_peak] >= PROGRESS_LOST and (out["ratio"] >= 2.0 or not positive) and progress[i_peak] > 0
    ) or (above_start and out["ratio"] >= 2.0)
    noise = diff_sigma(y)
    significant = peak_rise > 5 * noise
    # It must not recover: the end still holds a good share of the climb.
    tail = tail_level(s, 0.05)
    stays = (tail - base) >= 0.3 * peak_rise
    if big and significant and stays:
        # onset: last point before the peak still near the running minimum
        # onset: the last raw point before the peak still near the minimum reached so far
        seg = y[: i_peak + 1]
        if positive and np.all(seg > 0):
            ls = np.log(seg)
            raw_min = np.minimum.accumulate(ls)
            tol = max(3 * diff_sigma(ls[: max(5, len(ls) // 2)]), 0.1 * (ls[-1] - raw_min[-1]))
            near = np.flatnonzero(ls - raw_min <= tol)
        else:
            raw_min = np.minimum.accumulate(seg)
            near = np.flatnonzero(seg - raw_min <= max(3 * noise, 0.1 * peak_rise))
        j = int(near[-1]) if len(near) else 0
        out.update(detected=True, onset=float(x[j]))
    return out


def _early_rise(x: np.ndarray, y: np.ndarray) -> dict:
    """Rises above its start in the first part of the run and never gets clearly below it."""
    n = len(y)
    k_head = max(2, min(int(round(0.05 * n)), 20))
    head = float(np.median(y[:k_head]))
    x0, x1 = x[0], x[-1]
    cut = x0 + EARLY_WINDOW * (x1 - x0)
    win = (x > x[k_head - 1]) & (x <= cut)
    if win.sum() < 2:
        win = np.zeros(n, dtype=bool)
        win[k_head: max(k_head + 2, n // 3)] = True
    early = y[win]
    out = {"ratio": None, "detected": False, "onset": None}
    if len(early) < 2:
        return out
    span = float(np.percentile(y, 95) - np.percentile(y, 5))
    early_med = float(np.median(early))
    scale = max(abs(head), 1e-300)
    out["ratio"] = early_med / head if head > 0 else 1.0 + (early_med - head) / max(span, 1e-300)
    noise = diff_sigma(y)
    excess = early_med - head
    material = excess > 0.05 * max(abs(head), span) if head > 0 else excess > 0.1 * span
    significant = excess > 3 * noise / math.sqrt(len(early)) + 1e-12 * scale
    s = _smooth(y)
    after = s[win.argmax():] if win.any() else s
    never_below = float(np.min(after)) >= head - 0.1 * max(abs(head), 1e-300) if head > 0 else \
        float(np.min(after)) >= head - 0.1 * span
    # and it is not coming down at the end (a late recovery means a rough start, not divergence)
    tail_start = int(0.75 * n)
    falling_at_end = n - tail_start >= 4 and theil_sen(x[tail_start:], y[tail_start:]).significant_down \
        and tail_level(y, 0.1) < head
    if material and significant and never_below and not falling_at_end:
        idx = np.flatnonzero(s > head + 0.5 * excess)
        first = int(idx[0]) if len(idx) else 0
        calm = np.flatnonzero(s[: first + 1] <= head + 0.1 * excess)
        out.update(detected=True, onset=float(x[int(calm[-1])]) if len(calm) else float(x[0]))
    return out


def _grad_explosion(curves: Curves) -> tuple[bool, float | None, bool]:
    """(explodes, onset x, non-finite) for the grad_norm curve, if logged."""
    g = curves.get("grad_norm")
    if g is None or len(g) < 3:
        return False, None, False
    y_all = np.asarray(g.y, dtype=np.float64)
    bad = ~np.isfinite(y_all)
    if bad.any():
        i = int(np.argmax(bad))
        persistent = bad[-1] or bad[i:].mean() >= 0.5
        if persistent:
            return True, float(g.x[i]), True
    x, y = finite_xy(g)
    if len(y) < MIN_POINTS:
        return False, None, False
    s = _smooth(np.abs(y))
    runmin = np.minimum.accumulate(s)
    ratio = s / np.maximum(runmin, 1e-300)
    ref = float(np.median(np.abs(y)))
    i = int(np.argmax(ratio))
    if ratio[i] >= GRAD_RATIO and s[i] >= GRAD_RATIO * 0.5 * ref and s[-1] >= 0.3 * s[i]:
        near = np.flatnonzero(s[: i + 1] <= 2 * runmin[i])
        return True, float(x[near[-1]]) if len(near) else float(x[i]), False
    return False, None, False


def measure_divergence(curves: Curves, role: str) -> Measurement | None:
    """Whether and where the loss diverges: kind, onset and the ratios behind the call."""
    c = curve_or_none(curves, role)
    if c is None:
        return None
    y_all = np.asarray(c.y, dtype=np.float64)
    x_all = np.asarray(c.x, dtype=np.float64)
    bad = ~np.isfinite(y_all)
    first_bad = float(x_all[int(np.argmax(bad))]) if bad.any() else None
    nan_persistent = False
    if bad.any():
        i = int(np.argmax(bad))
        nan_persistent = bool(bad[-1] or bad[i:].mean() >= 0.5)
    x, y = finite_xy(c)
    values: dict = {
        "kind": None, "first_nonfinite_step": first_bad, "explosion_ratio": None,
        "early_rise_ratio": None, "onset_step": None, "grad_norm_explosion": False,
        "after_fraction": None,
    }
    kind, onset = None, None
    if nan_persistent:
        kind, onset = "nan", first_bad
    exp = er = None
    if len(y) >= MIN_POINTS:
        exp = _explosion(x, y)
        er = _early_rise(x, y)
        values["explosion_ratio"] = exp["ratio"]
        values["early_rise_ratio"] = er["ratio"]
        if kind is None and er["detected"]:
            kind, onset = "early_rise", er["onset"]
        if kind is None and exp["detected"]:
            kind, onset = "explosion", exp["onset"]
        elif kind == "early_rise" and exp["detected"] and exp["ratio"] >= EXPLOSION_RATIO:
            kind, onset = "explosion", min(onset, exp["onset"])
        if kind == "nan" and exp["detected"] and exp["onset"] is not None and exp["onset"] < onset:
            onset = exp["onset"]  # it was already blowing up before the first NaN
    g_exp, g_onset, g_nan = _grad_explosion(curves)
    values["grad_norm_explosion"] = bool(g_exp)
    if kind is None and g_nan and role == "train_loss":
        kind, onset = "nan", g_onset  # HF Trainer masks NaN losses; the gradients tell the truth
    if kind in ("explosion", "early_rise") and role == "val_loss":
        # A validation loss that climbs while training keeps improving is overfitting, not divergence.
        tr = curves.get("train_loss")
        if tr is not None:
            tm = measure_divergence(curves, "train_loss")
            tx, ty = finite_xy(tr)
            if (tm is None or not tm.detected) and len(ty) >= MIN_POINTS:
                half = len(ty) // 2
                if tail_level(ty, 0.1) < head_level(ty, 0.1) and not theil_sen(tx[half:], ty[half:]).significant_up:
                    kind, onset = None, None
    detected = kind is not None
    values["kind"] = kind
    values["onset_step"] = onset
    span = float(x_all[-1] - x_all[0]) if len(x_all) > 1 else 0.0
    if onset is not None and span > 0:
        values["after_fraction"] = float(np.clip((x_all[-1] - onset) / span, 0.0, 1.0))
    conf = 0.0
    if kind == "nan":
        conf = 0.95
    elif kind == "explosion":
        conf = float(min(0.95, 0.5 + 0.1 * math.log10(max(values["explosion_ratio"] or 1, 1.0)) * 3))
    elif kind == "early_rise":
        conf = 0.7
    if kind is None:
        note = "no divergence"
    elif kind == "nan":
        note = (f"loss becomes non-finite at step {first_bad:g}" if first_bad is not None
                else "gradient norm becomes non-finite (the logged loss may be masked)")
    elif kind == "explosion":
        note = f"loss explodes to {values['explosion_ratio']:.3g}x its running minimum"
    else:
        note = "loss rises above its starting level early on and never recovers"
    return Measurement(family="divergence", role=role, tag=c.tag, detected=detected, values=values,
                       start_step=onset, end_step=float(x_all[-1]) if detected else None,
                       confidence=conf if detected else 0.0, note=note)


_CACHE: dict = {}


def _fingerprint(curves: Curves) -> tuple:
    parts = [id(curves)]
    for role in ("train_loss", "val_loss", "grad_norm"):
        c = curves.get(role)
        if c is None:
            parts.append(None)
            continue
        y = np.asarray(c.y, dtype=np.float64)
        parts.append((id(c), len(y), float(np.nansum(y[:: max(1, len(y) // 16)])) if len(y) else 0.0))
    return tuple(parts)


def run_divergence(curves: Curves) -> float | None:
    """Onset x of the run's divergence (train or validation loss), or None.

    Other families abstain from detecting on a diverged run: its curve ends in the blow-up, and
    bouncing, flat or slow stretches before it are symptoms, not separate findings (the fixture
    labeller gives a diverged run no other label).
    """
    key = _fingerprint(curves)
    if key in _CACHE:
        return _CACHE[key]
    onset = None
    for role in ("train_loss", "val_loss"):
        if curves.get(role) is None:
            continue
        m = measure_divergence(curves, role)
        if m is not None and m.detected:
            o = m.values.get("onset_step")
            o = float(curves.get(role).x[0]) if o is None else float(o)
            onset = o if onset is None else min(onset, o)
    if len(_CACHE) > 256:
        _CACHE.clear()
    _CACHE[key] = onset
    return onset
