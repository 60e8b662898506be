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


# START_CHANCE: with no class count logged, an untrained classifier shows it at its first evaluation:
# its accuracy at 1/k and its cross-entropy at ln k (the same pairing plateau._chance_classes reads on a
# stall). Both must agree, within START_ACC / k of 1/k and START_LOSS_BELOW / START_LOSS_ABOVE x ln k of
# ln k: a net that learnt before its first evaluation scores above 1/k with a loss under ln k, and a
# binary task's 50% is read as k = 2 only beside a loss at ln 2. A 6-layer sigmoid net with BatchNorm on
# a 4-class task (gen2 g42 0061, labelled healthy) starts at 25.6% and 1.39 (ln 4 = 1.386); at 70% it
# is 60% of the way from chance to perfect, past the halfway mark a stall is cleared at, which the
# coin-flip default (halfway = 75%) did not see.
START_ACC = 0.2
START_LOSS_BELOW = 0.05
START_LOSS_ABOVE = 0.15
MAX_START_CLASSES = 100


def start_classes(curves: Curves) -> int | None:
    """The class count k the run started at chance for (see START_CHANCE), or None."""
    for acc_role, loss_role in (("val_acc", "val_loss"), ("train_acc", "train_loss")):
        a, lo = curves.get(acc_role), curves.get(loss_role)
        if a is None or lo is None or curves.higher_is_better.get(acc_role) is False:
            continue
        _, ay = finite_xy(a)
        _, ly = finite_xy(lo)
        if not len(ay) or not len(ly):
            continue
        acc = float(ay[0]) / percent_scale(ay)
        if not 0 < acc <= 0.5 + START_ACC / 2:
            return None
        k = int(round(1.0 / acc))
        if not 2 <= k <= MAX_START_CLASSES:
            return None
        near_acc = abs(acc - 1.0 / k) <= START_ACC / k
        near_loss = -START_LOSS_BELOW * np.log(k) <= float(ly[0]) - np.log(k) <= START_LOSS_ABOVE * np.log(k)
        return k if near_acc and near_loss else None
    return None


def past_chance(curves: Curves, accuracy: float, share: float) -> bool:
    """Whether `accuracy` (a fraction) is at least `share` of the way from chance (1/C for the run's number
    of classes; else the class count the run started at chance for, `start_classes`; 1/2 when neither is
    known) to perfect."""
    C = curves.num_classes or start_classes(curves)
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
