"""Slow convergence: still clearly falling at the end and far from done (seed 003, yellow).

Two questions, both scale-free:
- *still improving?* The Theil-Sen slope of the raw points over the last quarter is
  significantly negative, and material: `end_slope_rel` expresses it as the share of the whole
  drop the loss would still gain in another 10% of the run. A last quarter of a few noisy points
  that falls without reaching significance is judged on the last half (`_short_tail_falls`).
- *how far from done?* Three trend values at 50%, 75% and 100% of the run give, for an
  exponential tail, the asymptote by Aitken's delta-squared; `remaining_rel` is the gap from the
  last value to it as a share of the drop made so far (linear or accelerating tails have no
  asymptote in sight and are capped at 10).
A run that reached its final level in the first half (`saturated_early`) is the opposite case.
When the training loss is too noisy to answer (per-step losses of a small batch) and a validation
loss is logged, the run is judged on that validation loss (`_val_agrees`). `early_share` (the
share of the fall made in the first quarter) tells a loss on its way since the start from a
stall that only started falling later (plateau.py uses it), and a loss that made most of its fall
there converged fast and is only sliding down its tail (SLOW_FRONT). The val loss starts at the
first evaluation, after any fall before it: `front_share` counts the share from where the training
loss logged by that evaluation started, when it shows such a fall.
"""
from __future__ import annotations

import numpy as np

from advisor.model import Curves, Measurement
from advisor.priors import lr_over_usual, lr_over_usual_bound
from advisor.signals.metrics import past_chance
from advisor.signals.robust import (
    Slope, diff_sigma, finite_curve, has_points, head_level, lowess, percent_scale, tail_level, theil_sen,
)

MIN_N = 8
REMAINING_CAP = 10.0
FAR_DROP = 0.65  # a loss that fell by more than 65% of its start is judged near its floor
# The LR prior (advisor.priors.lr_over_usual): a run at or above the top of its optimizer's usual
# LR range that is still falling is not slow for want of LR (Adam at 6e-3 or SGD at 0.3-0.5 that
# keep improving are healthy or stalled, never "raise the LR"); unknown LRs are judged by the
# curve alone
PRIOR_NOT_SLOW = 1.0
# ... and a run at an LR 30x or more below that top (SGD at 3e-4-6e-3, issue 9's "SGD at 1e-3 on
# logistic regression is 100x too low") that still falls at its end is slow for want of LR even
# when the fall is not significant on its last quarter: on 10-40 evaluations, or per-step losses
# of a small batch, a fall of 9-14% of the drop per 10% of the run does not reach significance,
# and the prior supplies the evidence the points cannot. The fall must still be material
# (end_slope_rel >= 0.05, far from done) as for any run.
PRIOR_FAR_LOW = 1.0 / 30
# With no optimizer logged, a run is not slow for want of LR (PRIOR_NOT_SLOW's case) at an LR of at
# least a quarter of the top of the most permissive family's usual range (lr_over_usual_bound,
# least: plain SGD's 0.2, so LR >= 0.05: half of SGD with momentum's top, 5x Adagrad's, 50x Adam's).
# Every slow-labelled run of gen2 seeds 1-4, 9-11, 15 and the first pool's seeds 7, 11, 29, 235
# trains at <= 5e-3 (<= 0.025 of that top; <= 2e-3 where only the LR is logged); the slow calls this
# drops are a moons net at RMSprop 0.1 (oscillation-labelled) and circles at AdamW 0.09 (plateau),
# both logging the LR alone. Not with a batch of >= LARGE_BATCH logged: by the linear scaling rule
# a large batch runs at a proportionally larger LR (SGD at 0.1 can be slow at batch 1024, SLOW002)
PRIOR_NOT_SLOW_ANY = 0.25
LARGE_BATCH = 256
# A validation loss read in place of a noisy training loss must have lost >= 3% of its start: a
# drift of 1% on a net stuck at chance (deep sigmoid stack, val 1.10 -> 1.09) is a stall
# (plateau.SLOW_DROP, the OOS labeller's "a stall never falls 3%"), however steady it is
VAL_MIN_DROP = 0.03
# ... or, when the training loss itself lost >= VAL_MIN_DROP, >= VAL_CONFIRM_DROP of its start: the val
# loss falls less than the training loss as a net learns (GRUs at Adam 5e-5 / NAdam 1e-4 on the
# counting task, slow-labelled: training 3.0-4.3% down, val 2.2-3.6%), but a val loss that lost less
# than two thirds of the stall bound does not confirm a fall the training loss made (a 1-layer tanh
# net at SGD 5e-3 on Hastie, plateau-labelled: training 3.3%, val 1.8%; a GRU at 3.6% / 1.9%)
VAL_CONFIRM_DROP = 0.02
# Slow all along (seed 003's yellow curve, SLOW001's name): a loss slowed by its LR falls from its
# first steps, so its first quarter makes a fair share of the fall (~25% for a steady fall). One
# whose first quarter made < 10% of it sat near its start first and only then got going (an
# LSTM that is slow to start, a net at momentum 0.9 that accelerates): that is a late start, a
# stall then a fall (the OOS labeller's "moving from the start": >= 10% of the fall in the
# first quarter), not a slow convergence. The bar is the labellers' 10% read on a logged curve, which
# starts after the first evaluation and so makes a little less of its fall there than their full-batch
# loss from the untrained net: chosen by leave-one-corpus-out over the 17 tuning corpora among 0.075-0.10
# (session 22: 0.09 in 16 of 17 folds; held out, gen2 0.910 -> 0.912, the first generator 0.939 -> 0.937;
# GRU / LSTM / NAdam runs slow at a label share of 0.10-0.13 read 0.087-0.099 here)
SLOW_EARLY = 0.09
# ... and slow all along makes no more than a fair share of its fall in the first quarter: a steady
# fall ~25% (the 172 slow calls on slow-labelled runs of gen2 seeds 1-3 and the first pool: 0.10-0.40).
# A loss that made > 60% of its fall there converged fast and is sliding down its tail (gen2 s3's
# healthy RMSprop on moons: 0.83)
SLOW_FRONT = 0.60
# ... counted from where the run started when the training loss logged by the first evaluation sits
# clearly above the val loss's start (_start_before_first_eval): by more than this many times the
# training loss's point-to-point noise. Counted so, the 176 slow calls on slow-labelled runs of gen2
# seeds 1-4, 9, 10 and the first pool read 0.17-0.48 where it applies (55 of them) and the healthy
# runs that converged before their first evaluation (gen2 s9 0162, 0167, 0214, s2 0134) 0.66-0.95
START_NOISE = 2.0
# A classifier whose accuracy never changed over >= ACC_PINNED_N evaluations (not by one sample) and
# sits below the halfway mark from chance to perfect predicts the same classes throughout: a loss that
# creeps down there is its output bias sliding toward the class prior, a stall, not a net learning
# slowly (a 6-layer tanh net at SGD 1e-2 with tiny init: val accuracy 0.6814 at all 30 evaluations,
# loss 0.691 -> 0.661). No slow-labelled run of gen2 seeds 1-4 or the first pool's seeds 7 and 11
# has such an accuracy (0 of 131 val / train accuracies); 22 plateau-labelled runs do.
ACC_PINNED_N = 8
# LOWESS neighbours of each point at least (_trend)
MIN_NEIGHBOURS = 5
# A last quarter of fewer points than this cannot show a steady fall through its noise
# (_short_tail_falls): Theil-Sen's 95% interval on 4-7 points excludes 0 only when nearly every pair
# of points falls, so a per-step loss logged 20 times (5 points in the last quarter) whose noise is
# a quarter of the quarter's fall reads "not significant" however steady the fall. The last half
# (twice the points) then judges the direction, when the points' noise (diff_sigma) is at least
# TAIL_NOISE of the fall the last quarter's slope makes over that quarter: a cleaner tail that is
# not significant is a step or a flattening, which more points would not change (a deep tanh net at
# SGD 1e-2 flat at ln 2 for 80% of its run, then 0.69, 0.67, 0.43, 0.37, 0.37). Over the 157 curves
# of gen2 seeds 1-4, 9-11, 15-17 and pool seeds 7, 11, 29, 235-237 that reach this test, the 28
# whose last half falls significantly read 0.001 and 0.012 (that step's training and val loss) and
# 0.084 and up (noisy tails); the bar sits between (0.03, their geometric middle). Two verdicts
# change, both slow-labelled train-only logs of 20 points (gen2 0004: a GRU at Adam 5e-5, noise
# 0.31 of the tail's fall; s9 0236: a CNN at Adagrad 3e-4, 0.23); the other 24 noisy tails stay out
# on another test (an end slope < 5% of the drop per 10% of the run, an extrapolated remainder
# < 0.15, the LR prior, a fast first quarter) or were already called
SHORT_TAIL = 8
TAIL_NOISE = 0.03
# Flattening, not slow: the labellers call slow only when the last quarter of the evaluations still
# makes >= 15% of the fall (bench/make_corpus_oos.CRITERIA["slow_tail"]); a run whose val loss, read the
# same way (`_val_tail`: its last quarter's share of the fall from the start, >= 2 changes, the start being the first
# logged training or val loss, the higher), makes < FLAT_TAIL of it and already ends below FLAT_LEVEL of
# that start is converging to its floor, however steep the trend of its tail reads. Over the 17 tuning
# corpora (253 runs labelled slow or called SLOW001 with a val loss logged): 2 healthy runs called slow
# read tail shares 0.066-0.084 at 0.36-0.46 of their start (Adagrad 3e-4, SGD 1e-3, flat at 36-46% of
# their start; three more 10-evaluation ones read 0.063-0.079 on their last change alone, 0.14-0.17 on
# two); the 6 slow ones with shares under 0.10 end at 0.57-0.89 of theirs (a val loss that flattened while
# the full-batch loss still fell)
FLAT_TAIL = 0.10
# A last quarter too noisy for its own slope to be significant, on a long curve (>= SHORT_TAIL points there),
# is still falling when the last half falls significantly and the quarter keeps >= STRAIGHT_TAIL of the
# half's pace (`_noisy_tail_falls`): the noise hid the slope, the fall did not stop. Per-step losses of
# logistic regression at SGD 3e-4, batch 32, logged with the LR alone (no optimizer, so no "far below its
# range" prior): 1.49 -> 1.2 and 2.2 -> 2.0 in straight lines under +-0.1 of batch noise, 100 points in the
# last quarter, its slope 9-11% of the fall per tenth of the run and not significant (first-generator
# o246 0039, o247 0040, labelled slow; the issue's "logistic regression with SGD: still falling steadily at
# the end, no finding"). Read only past NOISY_TAIL_DROP of fall, twice the labellers' stall line (3%,
# VAL_MIN_DROP): a net at chance creeping 3% (GRUs at Adam 5e-5 on a 4-class task, 1.40 -> 1.36 around
# ln 4: gen2 g48 0136 and 0220, labelled plateau) reads the same way, and a reading that stands in for a
# significant tail needs a fall past doubt. Over the 22 tuning corpora (3,918 runs) this gains those two
# slow runs and moves nothing else; without the 6% it also took those two plateaus, and two slow-labelled
# creeps of 4.3% and 5.4% (an LSTM at Adam, an MLP at SGD), a coin flip at the stall line
STRAIGHT_TAIL = 0.5
NOISY_TAIL_DROP = 0.06
FLAT_LEVEL = 0.5


def _trend(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """The curve's trend: LOWESS over 30% of the points, 20% past 60 points (a longer curve bends
    more than a wider window follows)."""
    frac = 0.3 if len(y) <= 60 else 0.2
    return lowess(x, y, frac=max(frac, MIN_NEIGHBOURS / len(y)))


def _short_tail_falls(x: np.ndarray, y: np.ndarray, span_x: float, slope: float) -> bool:
    """Whether a curve whose last quarter (< SHORT_TAIL points) falls, but not significantly, is
    still falling at its end: its last half falls significantly (Theil-Sen) and its points are too
    noisy for the last quarter alone to show it (point-to-point noise >= TAIL_NOISE of the fall the
    last quarter's slope makes over that quarter)."""
    fall = -slope * 0.25 * span_x
    if diff_sigma(y) < TAIL_NOISE * fall:
        return False  # a clean tail that is not significant is a step or a flattening, not noise
    return bool(_last_half_fit(x, y, span_x).significant_down)


def _last_half_fit(x: np.ndarray, y: np.ndarray, span_x: float) -> Slope:
    """Theil-Sen over the curve's last half: what both tail readings fall back on when the last
    quarter alone shows no significant slope."""
    half = x >= x[0] + 0.5 * span_x
    return theil_sen(x[half], y[half])


def _noisy_tail_falls(x: np.ndarray, y: np.ndarray, span_x: float, slope: float) -> bool:
    """Whether a long curve whose last quarter falls, but not significantly under its noise, is still
    falling at its end: its last half falls significantly (Theil-Sen) and the last quarter falls at
    >= STRAIGHT_TAIL of the last half's slope (the fall has not flattened; the noise hid it). Asked
    only of a curve that fell >= NOISY_TAIL_DROP (see STRAIGHT_TAIL)."""
    ts = _last_half_fit(x, y, span_x)
    return bool(ts.significant_down and slope <= STRAIGHT_TAIL * ts.slope)


def _judge(curves: Curves, x: np.ndarray, y: np.ndarray, moved_by: float | None = None) -> tuple[bool, dict, str]:
    """The slow-convergence questions on one curve: (detected by the curve alone, values, note).
    `moved_by`: the training loss's own relative drop, when this is the val loss read in its place
    (it counts towards having moved, see _val_agrees)."""
    n = len(y)
    span_x = x[-1] - x[0]
    t = _trend(x, y)
    head = head_level(y, 0.05)
    last = float(t[-1])
    drop = head - last
    rel_drop = float(drop / abs(head)) if head != 0 else None
    tail = x >= x[0] + 0.75 * span_x
    if tail.sum() < 4:
        tail = np.zeros(n, dtype=bool)
        tail[-4:] = True
    ts = theil_sen(x[tail], y[tail])
    values: dict = {"rel_drop": rel_drop, "end_slope_rel": None, "still_improving": False,
                    "remaining_rel": None, "saturated_early": False, "early_share": None, "late_start": False,
                    "front_share": None}
    if drop <= 0:
        return False, values, "the curve did not fall overall"
    end_slope_rel = float(-ts.slope * 0.1 * span_x / drop)
    prior = lr_over_usual(curves.hparams)
    far_too_low = prior is not None and prior <= PRIOR_FAR_LOW
    still = bool((ts.significant_down or (far_too_low and ts.slope < 0)) and end_slope_rel >= 0.03)
    if not still and ts.slope < 0 and end_slope_rel >= 0.03:
        # a tail that falls without a significant slope: too few points, or too noisy (see STRAIGHT_TAIL)
        if tail.sum() < SHORT_TAIL:
            still = _short_tail_falls(x, y, span_x, ts.slope)
        elif rel_drop is not None and rel_drop >= NOISY_TAIL_DROP:
            still = _noisy_tail_falls(x, y, span_x, ts.slope)
    y1, y2, y3 = np.interp([x[0] + 0.5 * span_x, x[0] + 0.75 * span_x, x[-1]], x, t)
    d1, d2 = y1 - y2, y2 - y3
    if d2 <= 0:
        remaining = 0.0
    elif d1 <= 0 or d2 >= 0.95 * d1:
        remaining = REMAINING_CAP * drop
    else:
        r = d2 / d1
        remaining = d2 * r / (1 - r)
    remaining_rel = float(min(REMAINING_CAP, remaining / drop))
    saturated = bool((y1 - y3) <= 0.05 * drop)
    early_share = float((head - np.interp(x[0] + 0.25 * span_x, x, t)) / drop)
    values.update(end_slope_rel=end_slope_rel, still_improving=still, remaining_rel=remaining_rel,
                  saturated_early=saturated, early_share=early_share)
    # far from done: a positive loss that has not even lost two thirds of its start level, the start being
    # the first logged value where that is higher than the first 5%'s median (a fine-tune logged every 50
    # steps went 0.82 -> 0.158 between its first two points; from the median of its first 62, 0.096, its
    # tail's slow slide to 0.082 read as the whole of a slow fall)
    start = max(head, float(y[0]))
    far = rel_drop is None or head <= 0 or (start - last) / start <= FAR_DROP
    # ... and it has moved: a loss within VAL_MIN_DROP of its start has not left it (a stall)
    moved = rel_drop is None or rel_drop >= VAL_MIN_DROP or (
        moved_by is not None and moved_by >= VAL_MIN_DROP and rel_drop >= VAL_CONFIRM_DROP)
    # (at an LR 30x or more below its optimizer's usual range the run is far from done whatever the asymptote
    # read off its trend says: on per-step losses of a small batch the trend of a nearly straight fall bends
    # with the noise, and Aitken's estimate put logistic regression at SGD 3e-4 within 10% of its drop of the
    # end, 1.97 -> 1.70 with the full-batch loss still falling steadily 87-90% of the way back to the start
    # from where LR 0.03 ends (first-generator oos239 0037, oos241 0114, both labelled slow); over the 14
    # tuning corpora those two calls are all it changes)
    near_done = remaining_rel < 0.15 and not far_too_low
    detected = bool(still and end_slope_rel >= 0.05 and not near_done and not saturated and far and moved)
    if detected:
        if prior is None:
            least = lr_over_usual_bound(curves.hparams, most=False)
            batch = curves.hparams.get("batch_size")
            large = isinstance(batch, (int, float)) and not isinstance(batch, bool) and batch >= LARGE_BATCH
            detected = least is None or least < PRIOR_NOT_SLOW_ANY or large
        else:
            detected = prior < PRIOR_NOT_SLOW
    if saturated:
        note = "reached its final level in the first half of the run"
    else:
        note = f"end slope {end_slope_rel:.1%} of the drop per 10% of the run"
    return detected, values, note


def _val_agrees(curves: Curves) -> dict | None:
    """The validation loss's slow-convergence values when it shows a slow convergence that the
    training loss's own points could not: a per-step training loss of a small batch bounces by
    more than its whole fall (SGD 3e-4 on a linear model: 1.58 -> 1.49 under +-0.05 of batch
    noise), while the validation loss, evaluated on a fixed set, falls smoothly (1.62 -> 1.51, one
    small step every evaluation). A practitioner reads the speed off the val curve then (issue 9:
    "the val curve when logged is far less noisy"). Only when that val loss is not overfitting
    (it is still falling at its end, which the test itself requires) and the training loss went
    the same way: below its start at its end, or at least not significantly rising (Theil-Sen),
    and not near its floor."""
    v = curves.get("val_loss")
    tr = curves.get("train_loss")
    if v is None or tr is None:
        return None
    found = finite_curve(curves, "val_loss", MIN_N)
    found_tr = finite_curve(curves, "train_loss", MIN_N)
    if found is None or found_tr is None:
        return None
    _, vx, vy = found
    _, tx, ty = found_tr
    t_head, t_tail = head_level(ty, 0.1), tail_level(ty, 0.1)  # cheap, so first: most runs stop here
    if t_head > 0 and (t_head - t_tail) / t_head > FAR_DROP:
        return None
    if not t_tail < t_head and theil_sen(tx, ty).significant_up:
        # a training loss that ends above its start went the other way only when its rise stands
        # out of its noise: an epoch average under dropout 0.3 at batch 16 bounces by +-5% (1.03,
        # 0.99, 1.01 ... 0.94, 1.09, 1.07) while its val loss falls at every evaluation
        # (0.798 -> 0.736), and its last two points say nothing about the direction
        return None
    t_drop = (t_head - t_tail) / t_head if t_head > 0 else None
    detected, values, _ = _judge(curves, vx, vy, moved_by=t_drop)
    if not detected or values["rel_drop"] is None:
        return None
    if values["rel_drop"] < VAL_MIN_DROP:
        if t_drop is None or t_drop < VAL_MIN_DROP or values["rel_drop"] < VAL_CONFIRM_DROP:
            return None
        # the training loss moved >= 3% and the val loss, still falling, confirms the direction
        # (VAL_CONFIRM_DROP): the drop reported is the training loss's, as the labellers' stall is
        # judged on the training set
        values = {**values, "rel_drop": float(t_drop)}
    return values


def _val_tail(curves: Curves) -> tuple[float, float] | None:
    """(the val loss's last quarter's share of its fall from the start, its end / the start), read as
    the labellers read their full-batch loss (its evaluations plus the untrained net's point: the
    quarter starts one evaluation earlier than the val loss's own), the start the first logged training
    or val loss, the higher; None without both curves or a fall."""
    fv = finite_curve(curves, "val_loss", MIN_N)
    ft = finite_curve(curves, "train_loss", MIN_N)
    if fv is None or ft is None:
        return None
    vy, ty = fv[2], ft[2]
    start = max(float(ty[0]), float(vy[0]))
    fall = start - float(vy[-1])
    if not (start > 0 and fall > 0):
        return None
    n_fb = len(vy) + 1
    # (their quarter of an 11-point loss is its last change alone; here at least two changes: one is a
    # single evaluation's noise, and a real YOLOv5 box loss still falling 0.066 -> 0.054 -> 0.051 read as
    # flattening on its last one)
    q = n_fb - max(3, n_fb // 4) - 1
    return float((vy[q] - vy[-1]) / fall), float(vy[-1] / start)


def _early_share(curves: Curves, role: str, values: dict) -> float | None:
    """The share of the fall made in the first quarter, read on the cleaner curve: the validation
    loss when it is logged and falls too (evaluated on a fixed set, it has no batch noise to put
    into the first quarter's level), else the curve judged."""
    if role == "train_loss" and curves.get("val_loss") is not None:
        found = finite_curve(curves, "val_loss", MIN_N)
        if found is not None:
            _, vx, vy = found
            _, v_values, _ = _judge(curves, vx, vy)
            if v_values["early_share"] is not None and v_values["rel_drop"] is not None and v_values["rel_drop"] > 0:
                return v_values["early_share"]
    return values.get("early_share")


def _start_before_first_eval(curves: Curves, vx: np.ndarray, vy: np.ndarray) -> float | None:
    """Where the validation loss would have started, read off the training loss logged no later
    than the first evaluation; None when the log cannot tell it from the val loss's own start.

    The first evaluation comes after training began (an epoch, or a few dozen steps, in), and a
    run that converges fast has made most of its fall by then: a GRU's epoch-1 training average is
    0.91 where its first val loss is already 0.50, a per-step regression loss starts at 0.87 and
    the val loss 16 steps later reads 0.32. The level is the median of the first (<= 3) training
    points logged by the first evaluation, less the offset the training loss keeps above the val
    loss over the rest of the run (dropout, a noisier loss on a harder split: diabetes' training
    MSE sits 0.26 above its val MSE from its first epoch to its last, which is no fall). It is
    used only when it sits more than START_NOISE x the training loss's point-to-point noise above
    the val loss's start."""
    found = finite_curve(curves, "train_loss", MIN_N)
    if found is None:
        return None
    _, tx, ty = found
    before = ty[tx <= vx[0]][:3]
    later = vx > vx[0]
    if not len(before) or not later.any():
        return None
    trend = _trend(tx, ty)
    offset = float(np.median(np.interp(vx[later], tx, trend) - vy[later]))
    start = float(np.median(before)) - offset
    return start if start - head_level(vy, 0.05) > START_NOISE * diff_sigma(ty) else None


def _front_share(curves: Curves) -> float | None:
    """The val loss's early share (the share of its fall made in the first quarter) counted from
    where the run started (`_start_before_first_eval`) rather than from its first evaluation; None
    when no val and training loss are logged or the training loss shows no fall before the first
    evaluation."""
    found = finite_curve(curves, "val_loss", MIN_N)
    if found is None:
        return None
    _, x, y = found
    start = _start_before_first_eval(curves, x, y)
    if start is None:
        return None
    t = _trend(x, y)
    end = float(t[-1])
    if start <= end:
        return None
    return float((start - np.interp(x[0] + 0.25 * (x[-1] - x[0]), x, t)) / (start - end))


def _accuracy_pinned(curves: Curves) -> bool:
    """The val accuracy (else the training accuracy), >= ACC_PINNED_N finite points, holds one value
    throughout, below the halfway mark from chance (1/C; 1/2 when C is unknown) to perfect."""
    for role in ("val_acc", "train_acc"):
        a = curves.get(role)
        if a is None or curves.higher_is_better.get(role) is False:
            continue
        y = a.y[np.isfinite(a.y)]
        if len(y) < ACC_PINNED_N:
            continue
        level = float(y[0]) / percent_scale(y)
        return bool(float(np.ptp(y)) == 0.0 and not past_chance(curves, level, 0.5))
    return False


def measure_slow_convergence(curves: Curves, role: str) -> Measurement | None:
    """End slope relative to the total drop, and the distance to the extrapolated asymptote."""
    found = finite_curve(curves, role, MIN_N)
    if found is None:
        return None
    c, x, y = found
    detected, values, note = _judge(curves, x, y)
    judged_on = role
    if detected and role == "val_loss" and has_points(curves, "train_loss", MIN_N):
        detected = False  # the run's speed is judged on its training loss; the val loss follows it
    if not detected and role == "train_loss":
        val_values = _val_agrees(curves)
        if val_values is not None:
            detected, values, judged_on = True, val_values, "val_loss"
    late_start = False
    if detected:
        # a run already judged on its val loss has that curve's share in `values`: not judged twice
        early = _early_share(curves, judged_on, values)
        values["early_share"] = early
        flat_first = early is not None and early < SLOW_EARLY
        # ... and one that made most of its fall in the first quarter converged fast: its slow
        # slide since is the tail of a fit, not an LR too small all along (SLOW_FRONT)
        front_loaded = early is not None and early > SLOW_FRONT
        if not front_loaded and early is not None:
            # ... counting the fall made before the first evaluation, which the val loss never saw
            values["front_share"] = _front_share(curves)
            front_loaded = values["front_share"] is not None and values["front_share"] > SLOW_FRONT
        detected = not flat_first and not front_loaded
        # a late start has got going: >= 3% below its start (VAL_MIN_DROP, a stall's bound)
        late_start = flat_first and values["rel_drop"] is not None and values["rel_drop"] >= VAL_MIN_DROP
    values["late_start"] = late_start
    flattening = None
    if detected:
        vt = _val_tail(curves)
        if vt is not None and vt[0] < FLAT_TAIL and vt[1] < FLAT_LEVEL:
            detected, flattening = False, vt
    if detected and _accuracy_pinned(curves):
        detected = False
        note = "the accuracy never changed: a loss sliding toward the class prior, not a net learning slowly"
    if detected:
        from advisor.signals.divergence import run_divergence

        detected = run_divergence(curves) is None  # a diverged run is judged by `divergence` alone
    if flattening is not None:
        note = (f"the val loss's last quarter made only {flattening[0]:.0%} of its fall and it ends at "
                f"{flattening[1]:.0%} of its start: flattening toward its floor, not slow")
    elif late_start:
        note = (f"made only {values['early_share']:.1%} of its fall in the first quarter of the run: flat first, "
                "then falling (a late start, not slow all along)")
    elif values["front_share"] is not None and values["front_share"] > SLOW_FRONT:
        note = (f"made {values['front_share']:.0%} of its fall in the first quarter, counted from where the training "
                "loss logged by the first evaluation started: it converged fast and is sliding down its tail")
    if detected:
        end_slope_rel, remaining_rel = values["end_slope_rel"], values["remaining_rel"]
        note = (f"still falling at the end ({end_slope_rel:.0%} of the total drop per 10% of the run), "
                f"about {min(remaining_rel, 9.99):.1f}x the drop so far still to go"
                + (" (read on the validation loss, which is far less noisy)" if judged_on != role else ""))
    return Measurement(family="slow_convergence", role=role, tag=c.tag, detected=detected, values=values,
                       start_step=float(x[0]) if detected else None,  # a property of the whole run
                       end_step=float(x[-1]) if detected else None,
                       confidence=float(min(0.9, 0.4 + values["end_slope_rel"] * 3)) if detected else 0.0, note=note)
