"""Overfitting: the validation loss passes its minimum and climbs while training keeps falling, or
training and validation losses end up orders of magnitude apart (seed 003).

Seed 003 is explicit that a train/val gap of the *same* order (0.8 vs 0.9) is not overfitting;
`orders_apart` (log10 of val/train at the end) carries that judgement, and counts only while the
training loss still falls and validation stops improving (a model that memorised its training
set while its val loss converged is healthy). The climb: the val minimum on a rolling mean of 3,
not among the last 2 points; the mean of the last 10% >= 1.15x that minimum; the training trend
falls >= 10% after it (the fixture labeller's criteria). A val loss that rises only mildly
(< 20%) while the val accuracy/metric keeps improving is `inconsistent_metric` (over-confident
but still generalising), not overfitting.

Overfitting is a model that first generalised better, then worse: a val loss whose lowest point is
its very first evaluation never improved, so it has no minimum to pass. When the val metric
improved all along meanwhile (a YOLOv5 fork's results.csv whose shifted `val/box_loss` column
climbs 0.0126 -> 0.83 while mAP@0.5 climbs 0.002 -> 0.87), the loss and the metric disagree:
`inconsistent_metric` (`loss_metric_disagree`), never an overfitting call anchored at the first
evaluation. A metric that gained only a few points while the loss climbed (a memorised small
training set) leaves the call as it was; without a metric, a val loss climbing from its first
evaluation while the training loss falls is a training set memorised before that evaluation.

A val loss that bounces (an LR too high) makes its rolling minimum a trough: the climb must then
stand 3.5 noise units above it, or the val loss's trend must rise significantly after its own
lowest point (`trend_rise`, Theil-Sen), or its last three evaluations must average >= 25% above its
lowest 3-point mean while training fell to <= 0.8x its level there (`PLAIN_CLIMB`, the labellers'
own line): a run can oscillate and overfit at once.
`train_share_after_min` tells a training loss still learning after the val minimum from one
that memorised its training set before it (OVF003's small creeps count only for the former).
"""
from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from advisor.model import Curves, Measurement
from advisor.numbers import readable
from advisor.signals.robust import (
    diff_sigma, finite_curve, finite_xy, head_level, last_quarter_level, odd, running_median, theil_sen,
)
from advisor.signals.robust import median  # numpy's numbers, without its per-call dispatch

MIN_N = 5  # HF evaluates every 1000 steps: a 5k-step fine-tune has 5 val points
RISE_REL = 0.15  # val must climb >= 15% above its minimum (relative; progress-relative for <= 0 losses)
TRAIN_FALL = 0.1  # ... while the training trend falls >= 10% after it (fixtures/labels.py)
INCONSISTENT_MAX = 0.2  # a metric that keeps improving vetoes only a mild climb (< 20%)
ORDERS = 1.0  # val/train >= 10x: different orders of magnitude
# The climb must stand out of the val loss's own point-to-point noise: an LR too high makes the
# val loss bounce, its rolling minimum is then a trough and the mean of the last points sits above
# it by 1-2.5 noise units without any overfitting (true climbs: >= 4.7 units on the held-out corpus)
RISE_NOISE = 3.5
# ... but a val loss that bounces around a *rising* trend is both: the climb is then judged on the
# trend, not on the trough: a running median over a sixth of the evaluations (>= 3) finds the
# trend's lowest point, and from there to the end the Theil-Sen slope must be significantly up (its
# 95% interval above zero, which scales with the number of points and their scatter) and climb
# >= RISE_REL of that lowest level (Adam/RMSprop at a high LR on epoch logs: the val loss bounces
# 20-40% between evaluations around a trend that rises 25-45% while training keeps falling)
TREND_MIN_POINTS = 5  # evaluations from the trend's minimum to the end, for a slope to mean anything
# PLAIN_CLIMB: a val loss whose last three evaluations average >= 25% above its lowest 3-point mean,
# while the training trend fell to <= 0.8x its level there (PLAIN_TRAIN), is overfitting however much
# it bounces: the labellers' own line (a climb of >= 25% with the training loss at <= 0.8x), read on
# the logged val loss. Adam at 0.01-0.03 or RMSprop at 0.03-0.1 on an epoch log bounces 20-40% between
# evaluations, so the noise bar (RISE_NOISE) and the trend's 95% interval both miss a 30% climb (the
# first generator's seed 248: 0001, 0104, labelled oscillation and overfitting; gen2 s41 0063), and a
# val accuracy that held does not veto it (248 0183, 0220): a practitioner reads a val loss 40% above
# its low beside a flat accuracy as overfitting too (bench/people_labels.json, gen2 s19 0085). Over
# session 23's eight tuning corpora (gen2 seeds 38-43, first generator 247, 248: 1,384 runs) it adds 8
# overfitting calls, all 8 labelled overfitting, and moves no other verdict; 0.25 (the labellers' own
# number) was chosen over 0.2, 0.3, 0.35 and no such line in 7 of 8 leave-one-corpus-out folds (0.2
# tied in the eighth).
PLAIN_CLIMB = 0.25
PLAIN_TRAIN = 0.8
DISAGREE_GAIN = 0.5  # share of the way to a perfect metric covered after a val loss that never fell,
DISAGREE_POINTS = 0.25  # ... and at least 25 points of the [0, 1] scale: a val accuracy at 95.5%
# gaining one sample of 44 (0.955 -> 0.977) is half the way to perfect, and no evidence of learning
# A val loss lowest at its first evaluation that jumps at the second and then sits flat (a small
# training set memorised before the first evaluation) read a climb of 10-15% from the first point's
# 2-point mean (gen2: four healthy runs, the labeller's rolling-3 statistic 1.045-1.098) where the
# mean of the first three evaluations puts it at 5-10%; the never-fell runs labelled overfitting keep
# >= 27% measured that way (gen2's six tuning seeds, the first-generator pool and seed 229). From 8
# evaluations (the labellers' minimum), a window of 3 is at most 3/8 of the curve; on fewer it would
# average away a climb that starts at the first evaluation (an HF Whisper fine-tune evaluated 5 times:
# 0.321, 0.359, 0.394, 0.412, 0.420).
WHOLE_WINDOWS = 8
# HELD: a mild climb (< INCONSISTENT_MAX) while a bounded val metric (accuracy, F1, mAP) ends no
# worse than it was at the val loss's minimum is the logits growing more confident, not the model
# generalising worse: the metric is what the run is for, and it did not move (a cancer MLP at 98.2%
# val accuracy for 14 evaluations while its val loss crept 6%; a NAdam run whose val accuracy rose
# 88.1% -> 89.6% while its loss crept 9%). The real Keras Reuters log creeps 7.5% while its val
# accuracy falls from 83.1% at the minimum to 81.3%: that stays overfitting (OVF003).
# HELD_GAP: the same holds when the two losses are orders apart: a net that memorised its training
# set (train loss 4e-4) while its val loss creeps 17% at 1% of its start and its val accuracy stays
# at 100% from the minimum to the end (the first generator's seed 236: wine at Adam 3e-3, labelled
# healthy, 1.5 orders apart) generalises no worse. The orders-apart reading (`gap_case`) is vetoed
# by a val metric that held, did not improve (`inconsistent` stays INC001's / OVF001's) and a climb
# under INCONSISTENT_MAX (`metric_shrugged`; OVF002 reads it too). Over gen2 seeds 1-4, 9-11, 15, 16 and the first-generator pool (seeds
# 7, 11, 29, 235, 236), every overfitting-labelled run climbs >= 23.6% (gen2 s10 0251), and with a
# metric that held >= 24.1% (gen2 s2 0006); the runs the gap reading finds with a held metric and
# a climb under 20% are all labelled healthy, and all but that one climb < 10% (OVF001's floor).
# A log without a metric (the verify built-in overfit-wd: 3 orders apart, +14%) is not touched.
LOWER_IS_BETTER = ("wer", "cer", "loss", "error", "err", "rmse", "mae", "mse", "perplexity", "ppl", "fid")


def _lower_is_better(role: str, tag: str) -> bool:
    """Whether a validation metric improves downwards (WER, an error rate, an RMSE): never an accuracy."""
    return role == "val_metric" and any(tok in tag.lower() for tok in LOWER_IS_BETTER)


def _falling_after(curves: Curves, role: str, x0: float,
                   x_end: float) -> tuple[bool | None, float | None, float | None, float | None]:
    """Whether `role`'s trend fell by >= 10% from x0 to the end (None when not logged), its end
    level, the share of its whole fall (from its start, the median of its first 10%) that
    came after x0, and the trend's end / its level at x0 (None unless that level is > 0). The trend
    is a running median over a tenth of the points (>= 5)."""
    c = curves.get(role)
    if c is None:
        return None, None, None, None
    x, y = finite_xy(c)
    if len(y) < 3:
        return None, None, None, None
    t = running_median(y, odd(max(5, int(round(0.1 * len(y)))))) if len(y) >= 5 else y
    end = float(np.mean(y[-max(1, len(y) // 10):]))
    t_at = float(np.interp(x0, x, t))
    t_end = float(t[-1])
    fall = head_level(y, 0.1) - t_end
    share = float(min(1.0, max(0.0, (t_at - t_end) / fall))) if fall > 0 else None
    if t_at > 0:
        return bool(t_end <= (1 - TRAIN_FALL) * t_at), end, share, t_end / t_at
    if t_at == 0 and t_end == 0 and float(np.min(y)) >= 0:
        # a non-negative loss logged as 0 from the val minimum on (4 decimals: a memorised
        # training set) is at its floor: whether it still falls cannot be read, it is no evidence
        # that training stopped
        return None, end, share, None
    start = float(t[0])
    return bool(t_at - t_end >= TRAIN_FALL * max(start - t_end, 1e-300)), end, share, None


def _metric_improves(curves: Curves, x0: float) -> bool:
    """Whether the validation accuracy/metric keeps improving after x0."""
    for role in ("val_acc", "val_metric"):
        c = curves.get(role)
        if c is None:
            continue
        x, y = finite_xy(c)
        if len(y) < 4:
            continue
        z = -y if _lower_is_better(role, c.tag) else y
        m = x >= x0
        if m.sum() < 3:
            continue
        at = float(np.interp(x0, x, z))
        end = float(median(z[-max(2, len(z) // 10):]))
        noise = diff_sigma(z)
        ts = theil_sen(x[m], z[m])
        if (ts.significant_up or end - at > 2 * noise) and end > at:
            return True
    return False


def _metric_held(curves: Curves, x0: float) -> bool | None:
    """Whether a validation accuracy/metric ends no worse than it was at x0 (the median of its last
    quarter, >= 2 points, against its value there, give or take its resolution: the smallest step
    between two logged values, one sample of a fixed validation set), None when none is logged with
    >= 3 evaluations from x0 on. See HELD: with a mild climb of the loss, a metric that held vetoes
    the call."""
    held = None
    for role in ("val_acc", "val_metric"):
        c = curves.get(role)
        if c is None:
            continue
        x, y = finite_xy(c)
        if len(y) < 4 or (x >= x0).sum() < 3:
            continue
        z = -y if _lower_is_better(role, c.tag) else y
        at = float(np.interp(x0, x, z))
        end = last_quarter_level(z, 2)
        steps = np.diff(np.unique(z))
        if end < at - (float(np.min(steps)) if len(steps) else 0.0):
            return False  # any metric that got worse says the model did
        held = True
    return held


def _metric_gain(curves: Curves, x0: float) -> float:
    """The largest share of the way to a perfect score a validation metric bounded by [0, 1]
    (accuracy, mAP, F1; error rates such as WER towards 0) covered from x0 to the end (the
    median of its last 10%, >= 2 points), counting only gains of >= DISAGREE_POINTS of the scale;
    0 when no bounded metric is logged."""
    best = 0.0
    for role in ("val_acc", "val_metric"):
        c = curves.get(role)
        if c is None:
            continue
        x, y = finite_xy(c)
        if len(y) < 4 or np.min(y) < 0 or np.max(y) > 1:
            continue
        at = float(np.interp(x0, x, y))
        end = float(median(y[-max(2, len(y) // 10):]))
        lower = _lower_is_better(role, c.tag)
        points = at - end if lower else end - at
        room = at if lower else 1.0 - at
        if points >= DISAGREE_POINTS and room > 0:
            best = max(best, points / room)
    return best


class MetricBest(NamedTuple):
    """Where a validation metric that kept improving after the val loss's minimum is best."""

    tag: str
    step: float  # a logged evaluation
    best: float  # the metric there, as logged
    at_min: float  # the metric at the val loss's minimum, as logged


def _metric_best_after(curves: Curves, x0: float) -> MetricBest | None:
    """The checkpoint a validation metric picks when it kept improving after the val loss's minimum x0:
    its best 3-evaluation mean after x0, and its end (the median of its last 10%, >= 2 evaluations), beat
    the mean around x0 by more than the metric's own point-to-point noise and its resolution (one sample
    of a fixed validation set); the checkpoint is the best logged evaluation of that window. None when no
    metric says so.

    A val loss that climbs while accuracy or WER keeps improving is a model growing over-confident on
    the examples it gets wrong while it gets more of them right: the climb is real (overfitting by the
    loss), but the checkpoint at the loss's minimum is a worse model by the measure the run is for.
    Public runs read in session 20 showed it again and again: Whisper fine-tunes (eval loss 0.307 ->
    0.468 while WER went 34.6 -> 32.0, the trainer's own best_model_checkpoint at step 4,000, the loss's
    minimum at 1,000), a Keras speaker classifier (val loss from its first epoch up, val accuracy 0.41
    -> 0.63), ViT and ResNet tutorials (val accuracy 0.74 -> 0.78 after the loss's minimum)."""
    for role in ("val_acc", "val_metric"):
        c = curves.get(role)
        if c is None:
            continue
        x, y = finite_xy(c)
        if len(y) < 4 or (x > x0).sum() < 2:
            continue
        sign = -1.0 if _lower_is_better(role, c.tag) else 1.0
        z = sign * y
        sm = np.convolve(np.pad(z, 1, mode="edge"), np.ones(3) / 3, mode="valid")
        at = float(np.interp(x0, x, sm))
        after = np.flatnonzero(x > x0)
        i = int(after[int(np.argmax(sm[after]))])
        steps = np.diff(np.unique(z))
        margin = max(diff_sigma(z), float(np.min(steps)) if len(steps) else 0.0)
        # (and it ends better than it was there: a metric that wandered back, as a val accuracy at chance
        # does around 0.53 on a memorised net, picks no checkpoint)
        end = float(median(z[-max(2, len(z) // 10):]))
        if sm[i] - at <= margin or end - at <= margin:
            continue
        lo = max(int(after[0]), i - 1)
        j = lo + int(np.argmax(z[lo:i + 2]))
        z_at = float(np.interp(x0, x, z))  # the logged metric at the loss's minimum (its sign as z's)
        if z[j] <= z_at:
            # (the best logged evaluation is no better than the one at the loss's minimum: the 3-evaluation
            # means moved, the checkpoints did not. gen2 s41 0237, cancer: val accuracy 0.9735 at the loss's
            # minimum (epoch 1) and at epoch 3, 0.9292 between; keep the loss's minimum)
            continue
        return MetricBest(c.tag, float(x[j]), float(y[j]), sign * z_at)
    return None


def trend_climb(x: np.ndarray, y: np.ndarray) -> float | None:
    """The Theil-Sen climb from the trend's lowest point to the end, relative to that level, when
    the slope after it is significantly up; else None. The trend is a running median over a sixth
    of the evaluations (>= 3 points), its minimum taken before the last two points."""
    n = len(y)
    if n < TREND_MIN_POINTS + 2:
        return None
    t = running_median(y, odd(max(3, n // 6)))
    i = int(np.argmin(t[: n - 2]))
    level = float(t[i])
    if n - i < TREND_MIN_POINTS or level <= 0:
        return None
    ts = theil_sen(x[i:], y[i:])
    if not ts.significant_up:
        return None
    return float(ts.slope * (x[-1] - x[i]) / level)


class Climb(NamedTuple):
    """How the val loss's climb after its (rolling) minimum reads, before the train loss is asked."""

    significant: bool  # the climb stands RISE_NOISE noise units above the minimum
    trend_rise: float | None  # a bouncing val loss: its trend's climb (None when not significantly up)
    climbs: bool  # either of the two
    sustained: bool  # the minimum is not among the last 2 evaluations
    never_fell: bool  # the lowest logged value is the first evaluation
    inconsistent: bool  # it climbs while the val metric keeps improving (`inconsistent_metric`)
    disagree: bool  # ... from the first evaluation, while the metric went most of the way (`loss_metric_disagree`)
    held: bool | None  # a val metric ended no worse than at the minimum (None: no metric)
    veto: bool  # the metric overrules the climb: a mild one (< INCONSISTENT_MAX) it contradicts or that
    # left it where it was (`held`), or `disagree`


def _judge_climb(curves: Curves, x: np.ndarray, y: np.ndarray, i_min: int, xmin: float, rise: float,
                 rise_rel: float, rise_noise: float) -> Climb:
    """The climb's flags, in one place: how far it stands out of the noise or the trend, whether it
    lasts, and whether the val metric contradicts it."""
    n = len(y)
    significant = rise > 0 and rise_noise >= RISE_NOISE
    # a bouncing val loss: the climb of its trend (None when the trend does not rise significantly)
    trend_rise = trend_climb(x, y) if rise > 0 and not significant else None
    climbs = bool(significant or (trend_rise is not None and trend_rise >= RISE_REL))
    sustained = i_min <= n - 3
    # the lowest logged val loss is its first evaluation: it never fell
    never_fell = bool(int(np.argmin(y)) == 0)
    inconsistent = bool(rise > 0 and climbs and sustained and _metric_improves(curves, xmin))
    # a val loss that never fell while the val metric went at least half of the way to perfect (and
    # >= 25 points) is not a model getting worse (YOLO: mAP 0.002 -> 0.87 while the column climbed); a model that
    # memorised a small training set gains a few points of val accuracy (0.55 -> 0.61) while its
    # val loss quadruples from the first evaluation, and that is overfitting
    disagree = bool(inconsistent and never_fell and _metric_gain(curves, xmin) >= DISAGREE_GAIN)
    held = _metric_held(curves, xmin) if rise > 0 else None
    veto = bool((inconsistent or held) and rise_rel < INCONSISTENT_MAX) or disagree
    return Climb(significant, trend_rise, climbs, sustained, never_fell, inconsistent, disagree, held, veto)


def measure_overfitting(curves: Curves, role: str) -> Measurement | None:
    """Validation minimum, the climb after it, the train/val ratio and the gap trend."""
    found = finite_curve(curves, role, MIN_N)
    if found is None:
        return None
    c, x, y = found
    n = len(y)
    span_x = x[-1] - x[0]
    # rolling mean of 3 (the labellers' smoothing): one noisy evaluation neither makes nor hides it
    s = np.convolve(np.pad(y, 1, mode="edge"), np.ones(3) / 3, mode="valid") if n >= 3 else y.copy()
    s[0], s[-1] = np.mean(y[:2]), np.mean(y[-2:])
    # From WHOLE_WINDOWS evaluations on, how low the minimum is is read off whole 3-evaluation
    # windows: the first point's 2-point mean is a noisier estimate, and the lowest of unequally
    # noisy means is drawn to the noisiest (see WHOLE_WINDOWS). Where it is stays the lowest mean's
    # place (the first evaluation for a val loss that never fell): the early-stopping point is a
    # logged evaluation. The end's 2-point mean cannot be a minimum that is passed (`sustained`).
    i_min = int(np.argmin(s))
    vmin = float(np.min(s[1:])) if n >= WHOLE_WINDOWS else float(s[i_min])
    xmin = float(x[i_min])
    # the end: the mean of the last tenth, and of at least the last 3 from WHOLE_WINDOWS evaluations on
    # (the labellers' end); a 2-point mean is the noisier end, and of two noisy means the later
    # reads a climb off the noise (gen2 s1-s4, healthy runs whose training still falls: the highest
    # climb read 11.1% over a 2-point end, 9.8% over 3 points; every run labelled overfitting
    # >= 24.1% either way)
    k_end = max(3 if n >= WHOLE_WINDOWS else 2, n // 10)
    v_end = float(np.mean(y[-k_end:]))
    head = head_level(y, 0.1)
    rise = v_end - vmin
    # a val loss whose last evaluation is its lowest ends at its best: whatever the mean of its last
    # evaluations reads, it did not climb after its minimum (a public Keras log, 5 epochs: val 12.6, 2.25,
    # 0.41, 2.68, 0.0265 beside a training loss of 0.027, read as 'at the end the validation loss is 50.5x
    # the training loss' off the 2-point end mean 1.35; 10 OVF002 calls over that project's 47 runs, 3 so)
    if float(y[-1]) <= float(np.min(y)):
        rise = min(rise, 0.0)
    progress = max(head - vmin, 0.0)
    rise_rel = float(rise / abs(vmin)) if vmin > 0 else float(rise / max(progress, 1e-300))
    noise = diff_sigma(y)
    rise_noise = float(rise / noise) if noise > 0 else (math.inf if rise > 0 else 0.0)
    climb = _judge_climb(curves, x, y, i_min, xmin, rise, rise_rel, rise_noise)
    # the climb in the log's own numbers, for the summary: the mean of the last evaluations
    # against the lowest logged value (rise_rel, on the 3-point mean, is what the rules threshold)
    y_min = float(np.min(y))
    rise_logged = float((v_end - y_min) / y_min) if y_min > 0 else rise_rel
    train_falling, train_end, train_share_after, train_kept = _falling_after(curves, "train_loss", xmin, x[-1])
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
    # no "progress below the start" is asked of the val loss: one that climbs from its first
    # evaluation while training falls was memorised before it (60 samples: train at 1.5% of its
    # start by then), and that is overfitting unless the metric says otherwise (`veto`)
    # the labellers' own reading, which no bouncing hides: the mean of the last three evaluations
    # >= PLAIN_CLIMB above the lowest 3-point mean while the training trend fell to <= PLAIN_TRAIN of
    # its level there (see PLAIN_CLIMB)
    end3 = float(np.mean(y[-3:])) if n >= WHOLE_WINDOWS else v_end
    plain = bool(vmin > 0 and climb.sustained and (end3 - vmin) / vmin >= PLAIN_CLIMB
                 and train_kept is not None and train_kept <= PLAIN_TRAIN and not climb.disagree)
    # either way the climb lasts past the minimum, reaches RISE_REL and training did not stop falling
    lasting = climb.sustained and rise_rel >= RISE_REL and train_falling is not False
    rise_case = bool(lasting and ((climb.climbs and not climb.veto) or plain))
    # orders apart alone is not enough: a model that memorised its training set while its val
    # loss converged is healthy (fixtures/labels.py); the gap counts while training still falls
    # and validation does not follow
    val_not_improving = bool(v_ts is not None and not v_ts.significant_down)
    # ... nor while a val metric that did not improve ended where it was at the minimum and the climb
    # is mild (see HELD_GAP); a metric that kept improving is INC001's and OVF001's business
    shrugged = bool(climb.held and not climb.inconsistent and rise_rel < INCONSISTENT_MAX)
    gap_case = bool(orders is not None and orders >= ORDERS and train_falling and val_not_improving
                    and rise_rel >= 0.05 and climb.significant and climb.sustained and not climb.disagree
                    and not shrugged)
    detected = rise_case or gap_case
    if detected:
        from advisor.signals.divergence import run_divergence

        detected = run_divergence(curves) is None  # a diverged run is judged by `divergence` alone
    values = {
        "val_min_step": xmin, "val_min": vmin, "rise_rel": rise_rel, "train_val_ratio": ratio,
        "orders_apart": orders, "gap_trend": gap_trend, "train_falling": train_falling, "train_share_after_min": train_share_after,
        "train_kept_after_min": train_kept,
        "val_flat_train_falling": val_flat_train_falling, "inconsistent_metric": climb.inconsistent,
        "rise_noise": rise_noise if math.isfinite(rise_noise) else None,
        "trend_rise": climb.trend_rise, "val_end": v_end, "rise_logged": rise_logged,
        "rise_ratio": 1.0 + rise_logged, "never_fell": climb.never_fell,
        "loss_metric_disagree": climb.disagree, "metric_held": climb.held, "metric_veto": climb.veto,
        "metric_shrugged": shrugged,
    }
    # the checkpoint to keep: the loss's lowest logged evaluation, unless a val metric kept improving after it
    # (read from the lowest logged evaluation, the minimum the summaries name, not the 3-point mean's)
    x_logged_min = float(x[int(np.argmin(y))])
    best = _metric_best_after(curves, x_logged_min) if detected or climb.inconsistent else None
    values["best_step"] = x_logged_min if best is None else best.step
    values["best_by"] = "" if best is None else (
        f" by {best.tag}, which kept improving after the loss's minimum ({readable(best.best)} there against "
        f"{readable(best.at_min)})")
    if best is not None:
        values.update(metric_best_step=best.step, metric_best=best.best, metric_at_min=best.at_min, metric_name=best.tag)
    if rise_case:
        note = f"validation loss bottoms out at step {xmin:g} and climbs {rise_rel:.0%} while training keeps falling"
    elif gap_case:
        note = f"validation loss is {ratio:.3g}x the training loss (different orders of magnitude)"
    elif climb.inconsistent:
        note = "validation loss rises but the validation metric keeps improving (inconsistent, not overfitting)"
    else:
        note = f"validation minimum at step {xmin:g}; rise after it {rise_rel:.0%}"
    return Measurement(family="overfitting", role=role, tag=c.tag, detected=detected, values=values,
                       # the climb's span: a finding about it (overfitting, or the loss and the
                       # metric disagreeing) names where it starts and ends; it starts at the lowest
                       # logged evaluation, the minimum its summary and the early-stopping point name
                       # (the 3-point mean's lowest can sit epochs later: a val loss at 0.255 at epoch
                       # 0, then 0.3-12.9, had its span start at epoch 10 beside "minimum at epoch 0")
                       start_step=x_logged_min if detected or climb.inconsistent else None,
                       end_step=float(x[-1]) if detected or climb.inconsistent else None,
                       confidence=float(min(0.95, 0.5 + rise_rel)) if detected else 0.0, note=note)
