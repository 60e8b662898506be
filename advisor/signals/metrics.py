"""Metric stall: the loss falls but the accuracy does not improve (seed 003: "loss 下降, acc 不提高").

Judged against each curve's own noise: the loss "falls" when the Theil-Sen slope over the run is
significantly negative and the drop is material (>= 5% of its start, or of its range for losses
that are not positive); the accuracy is "flat" when its gain is within max(2 noise, 1% of its
scale).
"""
from __future__ import annotations

import math

import numpy as np

from advisor.model import Curves, Measurement
from advisor.signals.robust import (diff_sigma, finite_curve, finite_xy, head_level, percent_scale, running_median,
                                   tail_level, theil_sen)

MIN_N = 5
MATCH = {"train_acc": "train_loss", "val_acc": "val_loss"}


# A val accuracy that stays flat beside a training accuracy that learned is no LR problem: the net learns
# to classify its training set and the validation data do not follow (a preprocessing, label encoding or
# BatchNorm train/eval mismatch, a shift between the splits). `train_learned`: the training accuracy ends
# past the halfway mark from chance to perfect and >= TRAIN_AHEAD above the val accuracy's end. A public
# Keras run (Klimorg/cracks_defect) ended at 97% training accuracy, its val accuracy at 41-49% on two
# classes: ACC001 put 'raise the LR' first.
TRAIN_AHEAD = 0.3

# An accuracy that had already learnt by the run's first tenth (past the halfway mark from chance to
# perfect, `past_chance`) and holds there while the loss goes on falling is a net sharpening its
# confidence on what it already classifies (the loss of a right answer still falls towards 0), or a task
# whose accuracy tops out early (moons' noisy labels cap it near 86-88%): seed 003's "loss falls, acc does
# not improve" is a net that never learns to classify, not this. `held_learnt`. Over the 16 tuning corpora
# (2,828 runs) ACC001 warned on 17 healthy runs, every one a moons net whose val accuracy read 85-90% in
# its first tenth; the 9 calls left are nets at chance or below, or an accuracy that falls.
START_LEARNT = 0.5


# A class count read at chance when none is logged (`classes_at_chance`): the loss within 5% of ln k
# and the accuracy within 20% of 1/k (0.20-0.30 for 4 classes: a net at chance scores each class's
# share of the evaluated set, +-noise), k <= 100. Read on a stall (plateau._chance_classes) and at the
# run's first evaluation (`start_classes`). The two stalls this reads in gen2 seeds 1-4, 9-11 and 15 (no
# class count logged, a first epoch inflated by a blow-up, so the stall sits below "its start"): s3 0125
# at 2.8% from ln 4 with val accuracy 3.7% (of 1/4) from 1/4, s15 0197 at 0.7% from ln 10, accuracy 3.1%
# from 1/10; no verdict of gen2 or the first pool moved otherwise (the stalls near their start already
# read at chance)
CHANCE_LOSS = 0.05
# ... and up to 15% above ln k: a net thrown off by a far-too-high LR and stuck there predicts confidently
# and wrongly, so its loss sits above ln k while its accuracy sits at 1/k (gen2 g36 0053, Adam 0.1 on
# digits: 2.44-2.66 against ln 10 = 2.30, val accuracy 7-12%, labelled plateau; no finding before). Over
# the 17 tuning corpora: 3 plateaus found more, 3 more read at chance (PLT004 -> PLT001), nothing else
# moves. At 30% a Lightning probe's per-batch losses (2.6-4.0 beside a per-batch accuracy of 0-28%, read
# by hand as an LR too high) became a stall, and the deep-net stall rule's readings moved
CHANCE_LOSS_ABOVE = 0.15
CHANCE_ACC = 0.2
MAX_CLASSES = 100
# NEIGHBOUR_K: a net stuck predicting one class scores that class's share of the evaluated set, which on a
# 4-class task of unequal shares can sit nearer 1/5 than 1/4: NAdam 0.2 on a 24-feature 4-class task (gen2
# g53 0126, labelled plateau, no finding before) scores a median 20.8% beside a loss of 1.40 (ln 4 = 1.386,
# ln 5 = 1.609), so k = 5 failed the loss band and the stall read as a net that had fallen from its first
# epoch's 2.78. Both neighbours of 1/accuracy have the accuracy inside their band there; the loss says
# which one. The nearest k is tried first, so no reading that held before changes: over the 2,477 runs
# with an accuracy among the 25 tuning corpora (4,446 runs) that one stall is gained and nothing else
# moves (session 27 saw the same rule move nothing on 22 of them).


def classes_at_chance(accuracy: float, loss: float, above: float = CHANCE_LOSS_ABOVE) -> int | None:
    """The class count k that an `accuracy` (a fraction) and a cross-entropy `loss` are both at chance
    for: the accuracy within CHANCE_ACC / k of 1/k (k the nearest integer to 1/accuracy, else the one on
    the other side of it, 2..MAX_CLASSES) and the loss within -CHANCE_LOSS / +`above` (CHANCE_LOSS_ABOVE)
    x ln k of ln k; None otherwise. Both readings must agree: a net stuck at a skewed class prior scores the majority's share with a loss below
    ln k, and a binary task's 50% is read as k = 2 only beside a loss at ln 2."""
    if not 0 < accuracy <= 0.5 + CHANCE_ACC / 2:
        return None
    nearest = int(round(1.0 / accuracy))
    # the nearest k first, then its neighbour on the other side of 1/accuracy (NEIGHBOUR_K)
    for k in dict.fromkeys((nearest, math.floor(1.0 / accuracy), math.ceil(1.0 / accuracy))):
        if not 2 <= k <= MAX_CLASSES:
            continue
        near_acc = abs(accuracy - 1.0 / k) <= CHANCE_ACC / k
        near_loss = -CHANCE_LOSS * math.log(k) <= loss - math.log(k) <= above * math.log(k)
        if near_acc and near_loss:
            return k
    return None


# START_CHANCE: with no class count logged, an untrained classifier shows it at its first evaluation: its
# accuracy at 1/k and its cross-entropy at ln k (`classes_at_chance`, as a stall is read at chance). A net
# that learnt before its first evaluation scores above 1/k with a loss under ln k. A 6-layer sigmoid net
# with BatchNorm on a 4-class task (gen2 g42 0061, labelled healthy) starts at 25.6% and 1.39 (ln 4 =
# 1.386); at 70% it is 60% of the way from chance to perfect, past the halfway mark a stall is cleared at,
# which the coin-flip default (halfway = 75%) did not see.
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
        return classes_at_chance(float(ay[0]) / percent_scale(ay), float(ly[0]))
    return None


def past_chance(curves: Curves, accuracy: float, share: float) -> bool:
    """Whether `accuracy` (a fraction) is at least `share` of the way from chance (1/C for the run's number
    of classes; else the class count the run started at chance for, `start_classes`; 1/2 when neither is
    known) to perfect."""
    C = curves.num_classes or start_classes(curves)
    chance = 1.0 / C if C and C > 1 else 0.5
    return accuracy >= chance + share * (1.0 - chance)


# NEVER_LEFT: a net whose accuracy never leaves chance over the whole run, while its loss never falls
# below the loss of guessing (ln k, less CHANCE_LOSS), never learned: a bouncing loss there is a plateau's
# bouncing (the LR threw the net off or keeps it thrashing), not an oscillation around a minimum it found.
# "Never left": the accuracy's running median (3 evaluations) stays within NEVER_LEFT of the way from
# chance to perfect. The class count is the logged one, or the one the first evaluation sits at chance for
# with a loss at or above the loss of guessing (`classes_at_chance` with no upper bound). Over the 16
# tuning corpora (2,828 runs), 391 runs with a val accuracy read so (332 labelled plateau, 38 divergence,
# 10 slow, 10 overfitting, 1 healthy);
# PLT005 reads it only beside a bouncing training loss at an LR >= 3x the usual top: of the 261 runs whose
# training loss bounces (oscillation detected), 10, all labelled plateau but one divergence already read
# as a stall, and three of them called oscillation (first generator 246 0206, 247 0026, 249 0125: AdamW
# 0.09 and SGD 1.0, val accuracy 32-55% on 2-3 classes to the end).
NEVER_LEFT = 0.1


def never_left_chance(curves: Curves, acc: np.ndarray, loss: np.ndarray) -> bool | None:
    """Whether an accuracy (`acc`, finite, as fractions) stayed at chance for the whole run while its
    matching loss (`loss`, finite) never fell below the loss of guessing (see NEVER_LEFT); None when the
    class count cannot be read."""
    # (a net thrown off at once predicts confidently and wrongly: its first loss may sit far above ln k,
    # hastie at AdamW 0.09 opens at 49% with a val loss of 1.02, 1.5 ln 2)
    k = curves.num_classes or classes_at_chance(float(acc[0]), float(loss[0]), above=math.inf)
    if not k or k < 2:
        return None
    chance = 1.0 / k
    stayed = float(np.max(running_median(acc, 3))) <= chance + NEVER_LEFT * (1.0 - chance)
    guessing = float(np.min(running_median(loss, 3))) >= (1.0 - CHANCE_LOSS) * math.log(k)
    return bool(stayed and guessing)


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
    steady = abs(gain) <= max(2 * noise, 0.01 * scale)
    flat = bool(steady or gain < 0)
    held_learnt = bool(steady and past_chance(curves, first / scale, START_LEARNT))
    loss_falls = never_left = None
    lc = curves.get(MATCH.get(role, ""))
    if lc is not None:
        lx, ly = finite_xy(lc)
        if len(ly) >= MIN_N:
            lf, ll = head_level(ly, 0.1, 2), tail_level(ly, 0.1, 2)
            ref = abs(lf) if lf > 0 else max(float(np.ptp(ly)), 1e-300)
            loss_falls = bool(theil_sen(lx, ly).significant_down and (lf - ll) >= 0.05 * ref)
            if curves.higher_is_better.get(role) is not False:
                never_left = never_left_chance(curves, y / scale, ly)
    detected = bool(loss_falls and flat)
    # the gain in percentage points whatever the accuracy's scale (a fraction or a percent), so a
    # summary never prints an accuracy gain of 0.94 points as "gain 0.00944"
    values = {"loss_falls": loss_falls, "metric_flat": flat, "metric_gain": gain,
              "metric_gain_points": gain * 100.0 / scale, "held_learnt": held_learnt,
              "train_learned": _train_learned(curves, role, last / scale),
              "never_left_chance": never_left}
    note = ("the loss falls but the accuracy does not improve" if detected else
            f"accuracy gain {gain:.3g}")
    return Measurement(family="metric_stall", role=role, tag=c.tag, detected=detected, values=values,
                       start_step=float(x[0]) if detected else None, end_step=float(x[-1]) if detected else None,
                       confidence=0.6 if detected else 0.0, note=note)
