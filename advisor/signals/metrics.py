"""Metric stall: the loss falls but the accuracy does not improve (seed 003: "loss 下降, acc 不提高").

Judged against each curve's own noise: the loss "falls" when the Theil-Sen slope over the run is
significantly negative and the drop is material (>= 5% of its start, or of its range for losses
that are not positive); the accuracy is "flat" when its gain is within max(2 noise, 1% of its
scale).
"""
from __future__ import annotations

import numpy as np

from advisor.model import Curves, Measurement
from advisor.signals.robust import diff_sigma, finite_curve, finite_xy, head_level, percent_scale, tail_level, theil_sen

MIN_N = 5
MATCH = {"train_acc": "train_loss", "val_acc": "val_loss"}


# A val accuracy that stays flat beside a training accuracy that learned is no LR problem: the net learns
# to classify its training set and the validation data do not follow (a preprocessing, label encoding or
# BatchNorm train/eval mismatch, a shift between the splits). `train_learned`: the training accuracy ends
# past the halfway mark from chance to perfect and >= TRAIN_AHEAD above the val accuracy's end. A public
# Keras run (Klimorg/cracks_defect) ended at 97% training accuracy, its val accuracy at 41-49% on two
# classes: ACC001 put 'raise the LR' first.
TRAIN_AHEAD = 0.3


def past_chance(curves: Curves, accuracy: float, share: float) -> bool:
    """Whether `accuracy` (a fraction) is at least `share` of the way from chance (1/C for the run's number
    of classes; 1/2 when it is unknown) to perfect."""
    C = curves.num_classes
    chance = 1.0 / C if C and C > 1 else 0.5
    return accuracy >= chance + share * (1.0 - chance)


def _train_learned(curves: Curves, role: str, val_end: float) -> bool | None:
    """For a val accuracy: whether the training accuracy learned while it did not (TRAIN_AHEAD); None for
    a training accuracy, or without one."""
    if role != "val_acc":
        return None
    tc = curves.get("train_acc")
    if tc is None or curves.higher_is_better.get("train_acc") is False:
        return None
    _, ty = finite_xy(tc)
    if len(ty) < 2:
        return None
    t_end = tail_level(ty, 0.1, 2) / percent_scale(ty)
    return bool(past_chance(curves, t_end, 0.5) and t_end - val_end >= TRAIN_AHEAD)


def measure_metric_stall(curves: Curves, role: str) -> Measurement | None:
    """Whether the matching loss falls while this accuracy stays flat."""
    found = finite_curve(curves, role, MIN_N, need_span=False)
    if found is None:
        return None
    c, x, y = found
    first, last = head_level(y, 0.1, 2), tail_level(y, 0.1, 2)
    gain = float(last - first)
    scale = percent_scale(y)
    noise = diff_sigma(y)
    flat = bool(abs(gain) <= max(2 * noise, 0.01 * scale) or gain < 0)
    loss_falls = None
    lc = curves.get(MATCH.get(role, ""))
    if lc is not None:
        lx, ly = finite_xy(lc)
        if len(ly) >= MIN_N:
            lf, ll = head_level(ly, 0.1, 2), tail_level(ly, 0.1, 2)
            ref = abs(lf) if lf > 0 else max(float(np.ptp(ly)), 1e-300)
            loss_falls = bool(theil_sen(lx, ly).significant_down and (lf - ll) >= 0.05 * ref)
    detected = bool(loss_falls and flat)
    # the gain in percentage points whatever the accuracy's scale (a fraction or a percent), so a
    # summary never prints an accuracy gain of 0.94 points as "gain 0.00944"
    values = {"loss_falls": loss_falls, "metric_flat": flat, "metric_gain": gain,
              "metric_gain_points": gain * 100.0 / scale, "train_learned": _train_learned(curves, role, last / scale)}
    note = ("the loss falls but the accuracy does not improve" if detected else
            f"accuracy gain {gain:.3g}")
    return Measurement(family="metric_stall", role=role, tag=c.tag, detected=detected, values=values,
                       start_step=float(x[0]) if detected else None, end_step=float(x[-1]) if detected else None,
                       confidence=0.6 if detected else 0.0, note=note)
