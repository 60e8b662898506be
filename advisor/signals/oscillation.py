"""Oscillation: large bouncing around the trend that does not settle (seeds 000, 002, 003).

The hard part is telling LR-too-high bouncing from healthy minibatch noise; a curve alone does
not say how noisy a healthy run of the same task would be. What does:
- *step-level curves* (> 60 points): the residual amplitude around a 10% running-median trend,
  relative to the trend level, must exceed the density's healthy floor (`noise_floor`), must not
  settle (third vs fourth quarter), and the *validation* loss must bounce too (`val_bounce`):
  it averages over the whole val set, so minibatch noise cannot explain its bouncing, an
  unstable optimiser can. Without a val loss, the bouncing must also be a sizeable share of the
  progress made (`amplitude_vs_drop`) with no further improvement in the second half.
- *epoch-level curves*: they are averages and smooth when healthy, so the curve's own
  point-to-point bouncing (robust second differences, `bounce`) counts, with the val loss's,
  unless the run already reached a small fraction of its start level.
- *epoch-boundary jumps / class-sorted data*: the curve folded by epoch (known
  `steps_per_epoch`, else its own autocorrelation period) shows one consistent jump, or a
  repeated pattern carrying most of the residual variance (`epoch_jumps`).
Seed 003's purple curve (fast drop, then flat and noisy) is the same finding with `late_only`.
LR warmup and step decays are not oscillation: the warmup is skipped, the trend is fitted
separately between the LR curve's change points, and `lr_schedule_explains` says when only the
unsegmented fit would have called it. Thresholds were set on the labelled corpus
(bench/make_corpus.py) with precision on healthy runs weighed as much as recall.
"""
from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from advisor.model import Curves, Measurement
from advisor.priors import lr_over_usual, lr_over_usual_bound, lr_over_usual_for_batch
from advisor.signals.robust import (
    acf, finite_curve, finite_xy, group_medians, has_points, head_level, lowess, lr_change_points, mad_sigma, odd,
    regular, running_median, theil_sen,
)
from advisor.signals.robust import median, percentile  # numpy's numbers, without its per-call dispatch

MIN_N = 8


def noise_floor(n: int) -> float:
    """Relative residual amplitude a healthy run shows at this point density.

    Epoch-level curves (<= 30 points) are averages over a whole epoch: a few percent. Per-step
    losses of small minibatches: up to ~15-20%. Log-interpolated in between.
    """
    lo_n, hi_n, lo_v, hi_v = 30, 300, 0.05, 0.18
    if n <= lo_n:
        return lo_v
    if n >= hi_n:
        return hi_v
    f = (math.log(n) - math.log(lo_n)) / (math.log(hi_n) - math.log(lo_n))
    return lo_v + f * (hi_v - lo_v)


def floor_points(x: np.ndarray) -> int:
    """The point count the noise floor is read at: the points the curve would have at its own
    denser spacing (the 25th percentile of its x steps), or its count where that is more. A log
    whose cadence changes mid-run (every step for the first fifth, then every third) holds the same
    single-minibatch losses as the dense log, but fewer of them: read at its own count, the floor
    fell from 18% to 13.7-16.6% and four healthy per-step runs of gen2 s15 and the pool (an LSTM at
    3x the usual LR bouncing 25-31%, a BatchNorm net, a NAdam run) were called oscillating; uniformly
    spaced logs keep their count."""
    n = len(x)
    dx = np.diff(np.asarray(x, dtype=np.float64))
    dx = dx[dx > 0]
    if len(dx) < 2:
        return n
    step = float(percentile(dx, 25))
    return max(n, int(round((float(x[-1]) - float(x[0])) / step)) + 1) if step > 0 else n


DENSE = 60  # above this many points a curve is step-level (minibatch noise)
STUCK_LEVEL = 0.7  # second-half level / start: the run is not getting anywhere ...
STUCK_BOUNCE = 0.05  # ... and bounces >= 5% of that level around its trend
DESCENDED = 0.0  # below this level / start, relative bouncing is the tiny-loss regime's
FLOOR_SHARE = 0.1  # a level is never taken as smaller than this share of the fall/range
SPARSE_BOUNCE = 0.03  # epoch-level: point-to-point bouncing >= 3% of the level ...
SPARSE_VAL_BOUNCE = 0.08  # ... with the val loss bouncing >= 8% of its level
SPARSE_OFF_TREND = 0.01  # ... and its points >= 1% of the level around its trend (not only bending)
VAL_BOUNCE = 0.10  # relative point-to-point bouncing of the val loss that minibatch noise cannot explain
# (per-step logs bouncing 1-2x the density's floor at an LR not known to be far too high, val loss not
# settled, six gen2 tuning seeds and the first generator's pool: healthy val losses bounce <= 5.2%,
# oscillating ones 10.7-31.5%; it was 18%, set on the first generator, which missed three at 10.7-16%
# (gen2 s2 0097, s9 0082, pool oos2 0111, 20-50 evaluations); the one plateau above the bar, pool oos6
# 0224 at 17.4%, sits at its start and bounces above it like the fixture lr-too-high-oscillation)
VAL_BOUNCE_EVALS = 12  # ... read on at least this many evaluations; on fewer, the bounce (a robust scale
VAL_BOUNCE_FEW = 0.18  # of the second differences of the last two thirds: 4-6 of them) is too noisy for
# 10%, and the first generator's 18% stays: the verify built-in lr-oscillates' fixed arm (SGD 0.3,
# 8 evaluations, 1.3-1.4x the floor, settled by the lower LR) reads 8-21% across seeds
STUCK_VAL_BOUNCE = 0.06  # ... for a loss stuck high (seed 000's 抖动 never reaching the minimum): nets stuck at
# chance or killed by their LR bounce 8-20% per step while their val loss bounces < 9%
# Train-only step logs: the LR prior (advisor.priors.lr_over_usual) where the optimizer and LR are
# logged. Minibatch losses of a healthy run bounce as much as those of an overshooting one (a
# healthy LSTM at Adam 3e-3 and a net at Adam 1e-2 both show 25-35% residuals); what a
# practitioner adds is the LR: at >= 5x the top of the optimizer's usual range the bouncing is
# the optimiser's; from the top of the range to 5x it the curve must show it clearly; within the
# usual range the run is not called.
PRIOR_HIGH = 5.0
# A train-only log with no LR at all (no hparams, no LR curve: a Keras or generic CSV, a bare loss
# column) is not called oscillating on its per-step or sparse samples: without the LR, nothing on the
# curve tells an overshooting optimiser from minibatch noise. The 14 tuning corpora (2,471 runs) hold
# no such run as logged; rewritten without hparams and LR (bench/conventions.py --only nolr), their
# healthy train-only nets bounce as much as the oscillating ones on every measure the other cases read:
# residuals 1.2-5.5x the density's floor (moons at SGD 0.005, batch 4: 4.8x; a digits CNN sampled 50
# times: 5.5x) against 1.6-5.7x for the oscillating ones called, 1.6-21x their start's noise against
# 1.3-10.8x, a share of the progress of 0.04-0.88 against 0.06-1.51. The rule the other cases used here
# (>= the floor, >= 12% of the progress, >= 1.5x the start's noise) called 11 healthy nets (gen2 0195,
# 0259, s2 0255, s9 0057, s9 0154, s10 0127, s15 0234, s16 0151, pool oos 0028, 0144, oos2 0008) and a
# plateau and a slow run, for 18 oscillations. A logged LR (PRIOR_*) or val loss (`_val_confirms`) is
# what lets a bouncing train loss be called; or a loss whose second half sits at or above its start (no
# converging run's minibatch noise: the real Lightning probe rising from 2.35 to 2.6-4.0, 1.06x, bouncing
# there; no labelled oscillation of the rewrites, whose train-only ones sit at <= 0.85x; the healthy
# moons net gen2 s9 0057, 20 samples at 1.04x, stays called)
PRIOR_FLOOR_SHARE = 0.75  # ... and at that LR, 3/4 of the density's noise floor is enough evidence
PRIOR_AT_TOP = 1.0  # between the top of the usual range and 5x it, the curve must show it clearly:
PRIOR_CLEAR = 1.5  # ... 1.5x the noise floor (a healthy LSTM at 3x Adam's top bounces 1.4x it)
# With a val loss and an LR >= 5x the top of the usual range for the optimizer and batch (SGD's
# range scaled down below batch 32, seed 002), the val loss needs only the epoch-level
# confirmation, 8%: Adam at 0.03-0.1, RMSprop at 0.01-0.05 and SGD 0.3 at batch 4 bounce 11-17%
# between evaluations, below the 18% that minibatch noise cannot explain at an unknown LR, while
# no run that is not oscillating bounces over 5.5% there (held-out corpora, seeds 7, 11, 29, 31)
# The same 8% confirms per-step bouncing of >= 2x the density's noise floor at any LR: that much
# is not minibatch noise on its own (healthy runs with a val bounce >= 6% do not exist in those
# 647 runs; the verify built-in lr-oscillates' fixed arm, SGD 0.165, bounces 1.3-1.4x the floor
# with a val bounce of 8-21% and must stay uncalled)
CLEAR_FLOOR = 2.0
# ... and at such an LR, per-step bouncing of >= 4x the floor needs a val bounce of only 6% (the stuck
# val bounce), the train loss above 5% of its start: SGD 0.5-1.0 at batch 8-16 (the per-step
# swings) bouncing 4.5x and 9.6x the floor with val bounces of 7.1% and 7.6% whose full-batch losses
# move 15-22% per evaluation (gen2 s9 0155, s11 0248); the per-step logs of gen2 s1-s4, s9-s11 and pool
# oos-oos3 that are not oscillating and bounce >= 4x the floor with a val bounce of 6-8% have a settled
# val loss or no LR prior (healthy s1 0135, s10 0204, 0220, s9 0102; s2 0190 at 2.7x)
FAR_CLEAR_FLOOR = 4.0
# An epoch-boundary jump is the largest step of the folded profile, chosen out of up to 40 bins: it
# must go the same way in at least this many epochs, since 4 agreeing signs are chance one time in
# eight per candidate bin (a healthy, reshuffled 4-epoch HF run had OSC003 from a mid-epoch bin)
MIN_JUMP_EPOCHS = 5
# ... and it must stand out of the curve's own bouncing in each epoch, not only in the fold's
# average: >= 1.5 robust sigmas of the residuals. Class-sorted data makes a saw-tooth visible in
# the raw curve; a healthy HF-logged AdamW run (7 epochs of 94 steps, logged every 10) had a
# consistent boundary step of 1.1 sigmas (the averaged log at the epoch's small last batch)
JUMP_NOISE = 1.5
# Train-only logs carry no val loss to confirm the bouncing, and minibatch noise grows relative to
# the level as a loss falls. Two references a practitioner uses for "more than noise":
# - the run's own start, where every run of the task has its minibatch noise whatever its LR: with
#   no LR prior (no optimizer or LR logged), or on a sparse step log (<= 60 samples of per-step
#   losses, not epoch averages), the relative bouncing of the second half must be >= 1.5x the
#   start's, whatever the LR (waiving it at an LR >= 5x the usual top found one gen2 tuning run and
#   made a healthy false alarm on the next blind gen2 seed: session 10 reverted it). Healthy
#   train-only runs of a second generator (moons, a Friedman regression, a 4-class MLP; batch
#   4-32) bounce 0.5-1.15x their start's noise; the first generator's oscillating train-only runs
#   without an LR prior 1.6-11x;
NOISE_GROWTH = 1.5
# ... and at the top of the usual range or a little above it (1-5x), clearly past it: healthy
# train-only runs of the second generator there bounce up to 2.11x their start's noise (SGD 0.5 at
# batch 8 on moons; RMSprop 3e-3 and Adagrad 1e-3 logged with the LR only: 1.58x, 1.69x), the
# oscillating ones of both generators 2.57-10.7x (SGD 0.3-1.0 at batch 4-16)
NOISE_CLEAR = 2.3
# (not asked of a loss whose second half sits at or above its start: a run that got no better than
# where it began is not a converging run's minibatch noise; a Lightning probe rising from 2.3 to
# 2.7-4.0 and bouncing there)
# A start whose minibatch losses scatter by under START_CALM (1%) of its level is no reference for the
# task's minibatch noise, and no growth past it is read (`noise_grew`, `noise_clear` false unless the
# loss sits at or above its start): a batch's loss scatters around the full-batch loss by the spread of
# the per-example losses / sqrt(batch), and a net whose outputs are the same for every example (a deep
# saturated net predicting 0.5 on every moons point: each example's loss is ln 2) has no spread, while
# the same net once it separates the classes has the task's (confident points near 0, the overlapping
# ones far above the mean). gen2 s20 0066 (healthy, LR 0.01 logged alone, 600 per-step losses flat at
# 0.69 +- 0.7% for its first 30 points, then 0.1-0.5) read 36.8x its start's noise. Over the 12 gen2 and
# 6 pool tuning seeds (2,815 runs) the bar changes that run alone; the calmest start among the
# oscillations whose call reads the noise growth is 1.51% (pool oos235 0215, SGD 0.3 at batch 4, 40
# samples), the first lost when the bar is raised to 3%
START_CALM = 0.01
# - the labeller's floor of the level, 5% of the start: a loss that fell to 1% of its start bounces
#   by large ratios from a few misclassified samples (Adagrad on digits at 0.8% of its start bounces
#   60% of its level, a few % of 5% of its start)
LOW_LEVEL = 0.05
# Recurring spikes: a loss that sits at its floor (under 5% of its start, LOW_LEVEL) and is knocked
# out of it again and again (>= 5 isolated spikes, advisor.signals.spikes) while the val loss bounces
# (>= the epoch-level 8%) is the LR's doing, however calm its robust residuals (they are the floor's:
# most of the points are ~0). Such labelled oscillating runs of both generators: 80-208 spikes with
# a val bounce of 9.3-19%; every such spiky run that is not oscillating (memorised wine/blobs/cancer
# nets at Adam/RMSprop 10-100x) bounces <= 0.9% on val. Above the floor spikes are not this (a
# healthy BatchNorm net at 17% of its start: 38 spikes of <= 16x, val bounce 8.6%)
RECURRING_SPIKES = 5
# Bouncing that stopped: the val loss's bounce is measured over its last two thirds, so a val loss
# that bounced mid-run and then settled (an LR decayed to ~0: warmup-linear to SGD 0.5 or Adam 0.1)
# still reads 9-21%. Over its last quarter such val losses move 0.3-2.1% of their level per
# evaluation; oscillating runs' val losses called on their amplitude 6.2% or more (gen2 s1-s4, s10
# and the pool). A call confirmed by the val loss needs it not to have settled (<= 3%). The
# spike-driven call is the train loss's own evidence (>= 5 recurring spikes out of its floor) and
# keeps the 8% bounce as its confirmation (SGD 0.5 at batch 4 under a decaying LR: 208 spikes, the
# val loss settled to 0.9% at the end, labelled oscillating)
VAL_SETTLED = 0.03
# A loss that never got going is a plateau, not an oscillation (both labelled generators and the
# issue's evaluation set call a net stuck at chance or killed by its LR from the start a plateau): a
# loss whose trend never fell 5% below where the run started (the larger of the first logged value
# and the median of the first points) keeps its bouncing detected, since the plateau rules read it
# to put a lower LR first, but is no oscillation finding (`stalled_bounce`). Such runs called
# oscillation read 0.975-1.0 (gen2 s3 0012; pool oos3 0092, oos5 0047; all labelled plateau; and
# pool oos4 0225, whose bouncing is PLT004's evidence), every oscillating run of the six gen2 tuning
# seeds and the pool <= 0.906 (a 10-epoch log at SGD 0.5 whose loss fell to 0.37x its start). A loss
# that fell first and then bounced back above its start stays an oscillation (the verify built-in
# lr-oscillates, SGD 0.5 on tanh: it fell to 0.76-0.87x its start; the fixture
# lr-too-high-oscillation: 0.80x)
NEVER_FELL = 0.95
# The val loss moves as the labellers' full-batch loss does when the net itself bounces: over its second
# half, the mean |change| between evaluations is >= VAL_MOVE of its level (the level no lower than 5% of
# its first value) and >= VAL_MOVE_UP of the evaluations go up by more than 2% of it (`val_moves`). Both
# labellers call oscillation on the full-batch training loss at 10% and 30% (bench/make_corpus_oos.CRITERIA);
# the val loss, evaluated on the whole val set at the same steps, carries that movement where the log
# has no full-batch train loss. Its robust bounce (`bounce`, MAD of second differences) discounts the
# few large moves that make an oscillating net's val loss: runs over eight gen2 tuning seeds and the
# first generator's pool, per-step logs with bouncing above the floor, the train loss >= 5% of its start
# and the val loss not settled: not oscillating <= 8.6% (healthy oos_s231 0007), oscillating 8.4-14.5%
# with a robust bounce of 5.2-9.3%, under the 8-10% it needed. On epoch-level / sparse logs the robust
# bounce alone let through val losses that wander without moving much (a net that memorised, a
# 12-point Lightning log): those calls' val moves read 5.5-8.6%, every oscillating one >= 8.9%, so
# there, with >= 12 evaluations, the move decides instead of the robust bounce: it also reads the
# oscillating val losses whose robust bounce stayed under 8% (6.2-7.7%: gen2 s4 0246, s12 0206, pool
# oos6 0001, moving 11.3-21.5%), while the sparse runs that are not oscillating and move that much
# fail the train loss's own tests (a curve that never turns, or points < 1% off its trend: healthy
# warmups to a high peak moving 12.9-38.6%); and so it is of a loss stuck high whose only confirmation is the 6% stuck
# val bounce (STUCK_VAL_BOUNCE): such calls with a val loss that does not move were a healthy NAdam run
# on moons and two plateaus of the pool, while every oscillating stuck-high call's val loss moves
VAL_MOVE = 0.088
VAL_MOVE_UP = 0.3
VAL_MOVE_UP_FEW = 0.2
# An LR known to be within the usual range is not what makes a loss bounce: where the optimizer is logged,
# the LR the second half trained at is at most the top of its family's usual range for the batch
# (`lr_over_usual_for_batch`); where only the LR is logged, at most the lowest top of any family (Adam's
# 1e-3), within the range whatever the optimizer. The train-only cases already never called such a run;
# the val-confirmed ones did. Over the 14 tuning corpora of both generators (2,471 runs) every labelled
# oscillation whose optimizer and LR are logged (119) trains at >= 2.5x the top for its batch as logged
# (SGD 0.5 with no batch logged; SGD 0.3 at batch 16 is 3x), every one with only its LR logged (48) at
# >= 1e-2, 10x Adam's top, while the only two runs within the range that were called were healthy (gen2
# s15 0033: SGD 0.05 logged without its momentum, per-step bouncing 2.5x the floor after a fast drop,
# confirmed by a 10.4% val bounce whose val loss does not move, `val_moves` false; pool oos235 0180: a
# BatchNorm net at LR 1e-3 bouncing from its start, loss spikes). Within the range only the purple curve
# is called: a fast drop, then bouncing (`late_only`), the val loss moving as an oscillating loss does
# where it is logged
WITHIN_USUAL = 1.0
# A val loss that moves as the labellers' oscillating full-batch loss does (`val_moves`, from
# VAL_MOVES_MIN_N evaluations) is the call by itself while the training loss's second half stays >=
# TRAIN_HIGH of its start: the net has not memorised its data, so the val loss moves with the weights,
# as the full-batch train loss does. Below it, a memorised net's val loss wanders on a train loss near
# zero that the labellers read against 5% of its start. Over the 17 tuning corpora of both generators
# (2,990 runs), such runs the other cases left uncalled (no divergence or plateau finding either):
# labelled oscillation 10 with the train level at 0.18-0.84 of its start (Keras / epoch logs of 10-20
# evaluations, whose second half's 5-9 changes the 12-evaluation `val_moves` did not read, and a
# per-step RMSprop 0.01 log whose bouncing settled), against 2 not (a healthy SGD 0.5 batch-4 net at
# 0.36, a plateau at SGD 1.0 at 0.88); 15 healthy or overfitting nets at <= 0.11 (0.107: a warmup to
# Adam 0.3). Under a decaying LR the val loss must still move over its last third (`_still_moving`).
TRAIN_HIGH = 0.15
VAL_MOVES_MIN_N = 10


def lr_within_usual(hparams: dict) -> bool:
    """Whether the logged LR is known to be at most the top of the usual range (`WITHIN_USUAL`)."""
    top = lr_over_usual_for_batch(hparams)
    if top is None:
        top = lr_over_usual_bound(hparams, most=True)
    # (a float32 log of LR 1e-3 reads 1.00000005e-3)
    return top is not None and top <= WITHIN_USUAL * (1 + 1e-6)


def _trend(x: np.ndarray, y: np.ndarray, cuts: list[float]) -> np.ndarray:
    """Trend fitted separately on each segment between LR change points: a running median over
    a tenth of the points for step-level curves (the labellers' trend), LOWESS for short ones
    (a running median would follow a period-2 bounce instead of averaging it away)."""
    n = len(y)
    frac = 0.3
    out = np.empty(n)
    if n > DENSE:
        w = odd(max(5, int(round(0.1 * n))))
        edges = [0] + [int(np.searchsorted(x, c)) for c in cuts] + [n]
        edges = sorted(set(e for e in edges if 0 <= e <= n))
        for a, b in zip(edges[:-1], edges[1:]):
            if b > a:
                out[a:b] = running_median(y[a:b], min(w, odd(b - a) if b - a > 1 else 1))
        return out
    edges = [0] + [int(np.searchsorted(x, c)) for c in cuts] + [n]
    edges = sorted(set(e for e in edges if 0 <= e <= n))
    for a, b in zip(edges[:-1], edges[1:]):
        if b - a <= 0:
            continue
        if b - a < 4:
            out[a:b] = median(y[a:b])
        else:
            out[a:b] = lowess(x[a:b], y[a:b], frac=max(frac, min(1.0, 4.0 / (b - a))))
    return out


def _amp(r: np.ndarray) -> float:
    return mad_sigma(r) if len(r) >= 3 else 0.0


def bounce(y: np.ndarray, ref_span: float = 0.0) -> float | None:
    """Point-to-point bouncing of a curve relative to its level, over its last two thirds:
    robust scale of second differences / sqrt(6) / median level. Second differences cancel a
    smooth trend, so a converging curve scores ~0 and an alternating one scores its amplitude."""
    y = np.asarray(y, dtype=np.float64)
    n = len(y)
    k = n // 3
    z = y[k:]
    if len(z) < 4:
        z = y[-4:] if n >= 4 else y
    if len(z) < 3:
        return None
    d2 = z[2:] - 2 * z[1:-1] + z[:-2]
    lvl = abs(float(median(z)))
    # the fall from a robust start (median of the first 3 points): the first epoch-average of a
    # Keras log can hold the untrained net's blow-up (10.6 where the run then sits at 0.1-0.2)
    span = max(float(median(y[:3]) - np.min(y)), ref_span)
    return float(mad_sigma(d2) / math.sqrt(6) / max(lvl, FLOOR_SHARE * span, 1e-300))


# `climbs_back` reads short epoch logs only (<= 30 points, the epoch-level density of `noise_floor`): on a
# longer averaged log (an HF or Lightning loss averaged over logging steps) some change of the second half
# always goes up, and the bouncing tests have the points they need
CLIMB_BACK_POINTS = 30


def climbs_back(y: np.ndarray) -> bool:
    """Whether a loss logged as epoch means rises again in its second half: one of its changes there
    goes up by more than SPARSE_OFF_TREND (1%) of the half's level (the level no lower than 5% of the
    first value, as `val_moves` reads it).

    Epoch means average each epoch's minibatches, so a converging run's means fall epoch after epoch; on a
    10-15 epoch log an optimiser bouncing at an LR far above its range shows as one or two epochs whose
    mean climbs back, which neither the robust second differences (`bounce`: a MAD ignores one outlier
    among four) nor the turns of the 3-point smoothed curve (`sign_change_density`) count. Read only
    where the rest of the epoch-level case holds (LR >= PRIOR_HIGH for its batch, the val loss bouncing
    or moving, the train loss >= 5% of its start and >= 1% of its level around its trend): over the 16
    tuning corpora of both generators (2,815 runs) that is 7 runs the bouncing tests left out: the two
    healthy ones never rose in their second half (their largest change a fall of 2.6% and 5.3% of the
    level: gen2 s4 0146 SGD momentum 0.99, s4 0238 SGD 0.5 at batch 16, 10 epochs each), the two gained
    rose 4.2% and 9.3% (gen2 s9 0052, s17 0081: SGD 0.5 at batch 8, 10 epochs, labelled oscillating);
    two oscillating ones that never rose stay missed (s2 0063, s2 0122) and a stalled plateau (pool
    oos235 0151) stays the plateau rules' (PLT005 explains it). Most healthy epoch logs with a val loss at
    such an LR (20 of 35) do rise in their second half: it is the val loss's bouncing, with the level and
    the off-trend share, that holds them off (the nearest, gen2 s9 0075, a warmup to Adam 0.1 whose val
    loss bounces 32%, sits 0.7% around its trend against the 1% asked, as it does for the bouncing
    tests)."""
    h, level = _second_half_level(y)
    if len(h) < 3:
        return False
    return bool(level > 0 and float(np.max(np.diff(h))) > SPARSE_OFF_TREND * level)


def _second_half_level(y: np.ndarray, start: int | None = None) -> tuple[np.ndarray, float]:
    """The second half of a loss (from index `start`, its middle by default) and its level as the
    labellers read an oscillating loss: the half's median, no lower than LOW_LEVEL (5%) of the first
    value (`val_moves`, `climbs_back`, `_still_moving`)."""
    y = np.asarray(y, dtype=np.float64)
    half = y[len(y) // 2 if start is None else start:]
    return half, max(float(median(half)), LOW_LEVEL * abs(float(y[0])))


def never_fell(y: np.ndarray) -> bool:
    """Whether a positive loss's trend (running median over a tenth of the points, >= 3) stayed at
    >= NEVER_FELL of its start for the whole run. The start is the larger of the first value and the
    median of the first 5% (>= 3 points): a net that learned in its first evaluations (0.33 ->
    0.0034) is not "at its start" at 0.0034."""
    y = np.asarray(y, dtype=np.float64)
    if len(y) < MIN_N or not np.all(y > 0):
        return False
    start = max(float(y[0]), head_level(y, 0.05, 3))
    t = running_median(y, odd(max(3, int(round(0.1 * len(y))))))
    return bool(float(np.min(t)) >= NEVER_FELL * start)


def settled(vy: np.ndarray) -> bool:
    """Whether the val loss stopped moving at the end: over its last quarter (>= 4 evaluations) it
    moves <= VAL_SETTLED of its level per evaluation on average. Its bounce (`bounce`) is measured
    over the last two thirds, so bouncing that ended before the last quarter still reads high."""
    k = max(4, len(vy) // 4)
    if len(vy) < k + 1:
        return False
    z = vy[-k:]
    lvl = abs(float(median(z)))
    return bool(lvl > 0 and float(np.mean(np.abs(np.diff(z)))) <= VAL_SETTLED * lvl)


def val_moves(vy: np.ndarray, min_n: int = 12) -> bool | None:
    """Whether the val loss's second half moves as the labellers' oscillating full-batch loss does:
    mean |change| >= VAL_MOVE of its level and >= VAL_MOVE_UP of the changes up by more than 2% of it,
    the up share read over the second half or over the last two thirds (the window of `bounce`)
    (None: fewer than `min_n` evaluations; 12 give the second half six changes). Under 12, the half
    is the labellers' own: their full-batch loss has one more point, the untrained net's, so its
    second half starts one evaluation earlier (10 evaluations: the last six, five changes)."""
    vy = np.asarray(vy, dtype=np.float64)
    if len(vy) < min_n:
        return None
    half, level = _second_half_level(vy, (len(vy) + 1) // 2 - 1 if len(vy) < 12 else None)
    if level <= 0:
        return None
    d = np.diff(half)
    if not float(np.mean(np.abs(d))) >= VAL_MOVE * level:
        return False
    # (a second half that begins at a peak, or a val loss that jumps up and comes down over several
    # evaluations, has few of its changes up though it climbs again and again: gen2 s15 0058, Adagrad 0.3,
    # 15 epochs, the val loss at 7x its level at the mid-point, 2 of its 7 later changes up (0.29), 4 of 9
    # over the last two thirds; gen2 s3 0234, SGD 0.5 momentum 0.9, 40 epochs, climbs of 35-98% of its
    # level followed by slow descents, 4 of 19 up (0.21), 0.35 over the last two thirds. Both labelled
    # oscillation, val moves 1.28 and 0.29 of the level. Over the 14 tuning corpora and 9 convention
    # corpora nothing else changes verdict: the other val losses that now read as moving belong to
    # diverged runs (judged by `divergence`) or to train losses under 5% of their start)
    late = np.diff(vy[len(vy) // 3:])
    # (on fewer than 12 evaluations the half has five changes, and the labellers' 30% is two of the six their
    # loss has: one climb of five is the nearest reading)
    need = VAL_MOVE_UP if len(vy) >= 12 else VAL_MOVE_UP_FEW
    return bool(max(float(np.mean(d > 0.02 * level)), float(np.mean(late > 0.02 * level))) >= need)


def _lr_decays(curves: Curves, x: np.ndarray) -> bool:
    """Whether the logged LR ends at <= half its value at the curve's mid-point: a decaying schedule."""
    lx, ly = finite_xy(curves.get("lr"))
    if len(ly) < 3:
        return False
    at_mid = ly[min(int(np.searchsorted(lx, x[0] + 0.5 * (x[-1] - x[0]))), len(ly) - 1)]
    return bool(at_mid > 0 and ly[-1] <= 0.5 * at_mid)


def _still_moving(vy: np.ndarray) -> bool:
    """Whether the val loss still moves over its last third (>= 3 changes): mean |change| >= VAL_MOVE
    of the second half's level, so the moves of `val_moves` are not all early in the half, where a
    decaying schedule calmed them (a Keras regression under a warmup to Adam 0.1 and a linear decay
    to 0: val 0.99 -> 0.71 -> 0.54 at the half's start, then within 5%; labelled healthy)."""
    vy = np.asarray(vy, dtype=np.float64)
    late = vy[-max(4, len(vy) // 3 + 1):]
    level = _second_half_level(vy)[1]
    return bool(level > 0 and float(np.mean(np.abs(np.diff(late)))) >= VAL_MOVE * level)


class StepEvidence(NamedTuple):
    """What a per-step (dense) log shows, for STEP_LEVEL_CASES."""

    confirm: float | None  # the val loss's bounce (None: train-only)
    confirm_n: int  # ... read on this many evaluations
    prior: float | None  # LR / the top of the optimizer's usual range (None: not logged)
    prior_batch: float | None  # ... with SGD's range scaled down to the batch below 32
    rel2: float  # second-half residual amplitude / level
    rel2_low: float  # ... against at least 5% of the start (LOW_LEVEL)
    floor: float  # the density's healthy noise floor
    lvl_rel: float  # second-half level / start
    stuck: bool  # stuck high and bouncing (seed 000's "抖动")
    amp_vs_drop: float  # bouncing / the progress made
    improving2: bool  # still improving significantly in the second half
    noise_grew: bool  # the bouncing grew past the start's own noise
    noise_clear: bool  # ... clearly (NOISE_CLEAR), as an LR at the top of the usual range needs
    val_moves: bool | None = None  # the val loss moves as the labellers' oscillating loss (`val_moves`)
    val_curve: bool = False  # the curve is itself a val loss (a val-only log): no minibatch noise in it


def _val_confirms(e: StepEvidence) -> bool:
    # step-level minibatch losses bounce even when healthy (at chance level too: a net stuck at
    # chance or killed by its LR bounces 10-20% per batch): the validation loss, averaged over the
    # whole val set, must bounce too before it is the optimiser's
    far_too_high = e.prior_batch is not None and e.prior_batch >= PRIOR_HIGH
    need = SPARSE_VAL_BOUNCE if far_too_high or e.rel2 >= CLEAR_FLOOR * e.floor else \
        VAL_BOUNCE if e.confirm_n >= VAL_BOUNCE_EVALS else VAL_BOUNCE_FEW
    # (the more the per-step loss says, the less the val loss must: see FAR_CLEAR_FLOOR)
    if far_too_high and e.rel2 >= FAR_CLEAR_FLOOR * e.floor and e.lvl_rel >= LOW_LEVEL:
        need = STUCK_VAL_BOUNCE
    # (and at such an LR 3/4 of the floor is enough of the per-step evidence, as on train-only
    # logs: NAdam 0.02 on a Friedman regression bounced 0.81x the floor with a 9.5% val bounce)
    enough = PRIOR_FLOOR_SHARE * e.floor if far_too_high else e.floor
    # (or the val loss moves as an oscillating full-batch loss does, its few large moves included, while
    # the train loss has not sunk under 5% of its start, where a memorised net's val loss wanders)
    moves = bool(e.val_moves) and e.lvl_rel >= LOW_LEVEL
    # (with no LR logged at all, a val loss that does not move, `val_moves` false, confirms nothing, as for a
    # val loss logged alone (`measure_oscillation`): the 14 tuning corpora rewritten without hparams and LR,
    # per-step logs with a val loss and no LR called on it: a healthy SGD momentum-0.99 net on moons
    # bouncing 10.4% on val while its val loss does not move (gen2 s15 0033), and two oscillating warmup /
    # RMSprop runs bouncing 16% and 40% (s9 0082, s15 0046); as logged, no run without an LR reaches this test)
    if e.prior_batch is None and e.val_moves is False:
        return False
    return ((e.rel2 >= enough and (e.confirm >= need or moves)) or
            (e.stuck and e.confirm >= STUCK_VAL_BOUNCE and e.val_moves is not False)) and e.lvl_rel >= DESCENDED


def _lr_unknown(prior: float | None, prior_batch: float | None, val_curve: bool, lvl_rel: float) -> bool:
    """No LR logged (no prior of either kind), the curve not a val loss logged alone, and a loss
    below where it began: nothing tells the LR's bouncing from minibatch noise (the note at
    PRIOR_HIGH), on a per-step log or a sparse one."""
    return prior is None and prior_batch is None and not val_curve and lvl_rel < 1.0


# Per-step logs: which evidence decides depends on what the log holds besides the curve. The first
# case that applies decides (the last always applies); the caller then drops a bouncing that settles.
STEP_LEVEL_CASES = (
    # a val loss is logged: it must bounce too
    (lambda e: e.confirm is not None, _val_confirms),
    # train-only at an LR far above the usual range: the bouncing is the LR's, even while the trend
    # still descends
    (lambda e: e.prior is not None and e.prior >= PRIOR_HIGH,
     lambda e: e.rel2_low >= PRIOR_FLOOR_SHARE * e.floor),
    # at the top of the usual range or a little above: the curve must show it clearly (1.5x the
    # density's noise floor, and a sizeable share of the progress made), and past the start's own
    # noise (RMSprop at its default 1e-3 bounces 1.2x it on moons)
    (lambda e: e.prior is not None and e.prior >= PRIOR_AT_TOP,
     lambda e: e.rel2_low >= PRIOR_CLEAR * e.floor and e.amp_vs_drop >= 0.12 and not e.improving2 and e.noise_clear),
    # an LR within the usual range: per-step bouncing is minibatch noise
    (lambda e: e.prior is not None, lambda e: False),
    # the LR logged without its optimizer at over 5x Adam's top, the curve a val loss logged alone, or a loss
    # no better than where it began (not a converging run's noise): the bouncing must also have grown past
    # the start's own noise
    (lambda e: not _lr_unknown(e.prior, e.prior_batch, e.val_curve, e.lvl_rel),
     lambda e: ((e.rel2_low >= e.floor and e.amp_vs_drop >= 0.12 and not e.improving2) or e.stuck) and e.noise_grew),
    # no LR, no val loss: nothing tells the LR's bouncing from minibatch noise (the note at PRIOR_HIGH)
    (lambda e: True, lambda e: False),
)


def _core(x: np.ndarray, y: np.ndarray, cuts: list[float], confirm: float | None = None,
          prior: float | None = None, prior_batch: float | None = None, averaged: bool = False,
          confirm_n: int = 0, moves: bool | None = None, val_curve: bool = False) -> dict:
    n = len(y)
    t = _trend(x, y, cuts)
    r = y - t
    mid = x[0] + 0.5 * (x[-1] - x[0])
    q1 = x[0] + 0.25 * (x[-1] - x[0])
    q3 = x[0] + 0.75 * (x[-1] - x[0])
    first = (x >= q1 * 0 + x[0]) & (x < mid)
    second = x >= mid
    if second.sum() < 4:
        second = np.zeros(n, dtype=bool)
        second[n // 2:] = True
        first = ~second
    head = head_level(y, 0.05, 3)  # >= 3 points: one huge first epoch-average is not the start
    span = float(percentile(y, 97.5) - percentile(y, 2.5))
    if np.all(y > 0):
        span = 0.0  # a positive loss is judged relative to its own level, however low
    level2 = float(median(t[second]))
    level1 = float(median(t[first])) if first.any() else level2
    denom2 = max(abs(level2), 0.1 * span, 1e-300)
    denom1 = max(abs(level1), 0.1 * span, 1e-300)
    amp2 = _amp(r[second])
    amp1 = _amp(r[first & (x >= q1)]) if (first & (x >= q1)).sum() >= 3 else _amp(r[first])
    rel2 = amp2 / denom2
    rel1 = amp1 / denom1
    # train-only: the bouncing of a loss near zero is judged against 5% of its start (LOW_LEVEL)
    rel2_low = amp2 / max(denom2, LOW_LEVEL * head) if head > 0 and span == 0.0 else rel2
    # persistence: third vs fourth quarter, relative to the local level
    q3m = (x >= mid) & (x < q3)
    q4m = x >= q3
    if q3m.sum() >= 3 and q4m.sum() >= 3:
        a3 = _amp(r[q3m]) / max(abs(float(median(t[q3m]))), 0.1 * span, 1e-300)
        a4 = _amp(r[q4m]) / max(abs(float(median(t[q4m]))), 0.1 * span, 1e-300)
        ratio = a4 / max(a3, 1e-300)
    else:
        ratio = 1.0
    amp_trend = "growing" if ratio > 1.5 else ("settling" if ratio < 0.5 else "persistent")
    # progress: how much the loss fell overall and in the second half
    drop = max(head - float(np.min(t)), 0.0)
    amp_vs_drop = amp2 / max(drop, 0.05 * span, 1e-300)
    i_mid = int(np.searchsorted(x, mid))
    drop2 = float(t[min(i_mid, n - 1)] - t[-1])
    improving2 = drop2 > 2.0 * amp2 and theil_sen(x[second], y[second]).significant_down
    # sign changes of the (lightly) smoothed derivative
    ys = np.convolve(y, np.ones(3) / 3, mode="valid") if n >= 5 else y
    d = np.diff(ys)
    d = d[d != 0]
    scd = float(np.mean(np.sign(d[1:]) != np.sign(d[:-1]))) if len(d) >= 3 else 0.0
    # purple: most of the drop happens in the first 30% of the run
    early = x <= x[0] + 0.3 * (x[-1] - x[0])
    early_drop = head - float(median(t[early][-max(1, early.sum() // 4):])) if early.any() else 0.0
    fast_early = drop > 0 and early_drop >= 0.7 * drop
    floor = noise_floor(floor_points(x))
    # the run's own start is a healthy reference for the noise at a high level: every run
    # starts from the same initial loss, where minibatch noise is that of the task, not of the LR
    k = max(6, n // 20)
    d0 = np.abs(np.diff(y[: k + 1]))
    lvl0 = abs(float(median(y[: k + 1])))
    early_rel = float(median(d0) * 1.4826 / math.sqrt(2) / max(lvl0, 1e-300)) if len(d0) else 0.0
    self_ratio = amp2 / max(early_rel * abs(level2), 1e-300) if early_rel > 0 else math.inf
    tb = bounce(y) or 0.0
    if head > 0 and np.all(y > 0):
        lvl_rel = level2 / head
    else:  # a loss that is not positive: the position between its best level and its start
        lo = float(np.min(t))
        lvl_rel = (level2 - lo) / (head - lo) if head > lo else 1.0
    # (a start calmer than START_CALM is no reference for the minibatch noise)
    ref_ok = early_rel >= START_CALM
    noise_grew = (ref_ok and self_ratio >= NOISE_GROWTH) or lvl_rel >= 1.0
    noise_clear = (ref_ok and self_ratio >= NOISE_CLEAR) or lvl_rel >= 1.0
    if n > DENSE and not averaged:
        # stuck high and bouncing: the loss is no better than ~70% of its start in the second
        # half and bounces >= 5% of that level (seed 000's "抖动" around a minimum it never reaches)
        stuck = lvl_rel >= STUCK_LEVEL and rel2 >= STUCK_BOUNCE and not improving2
        e = StepEvidence(confirm, confirm_n, prior, prior_batch, rel2, rel2_low, floor, lvl_rel, stuck, amp_vs_drop,
                         improving2, noise_grew, noise_clear, moves, val_curve)
        big = next(decides(e) for applies, decides in STEP_LEVEL_CASES if applies(e))
        big = big and amp_trend != "settling"
    else:
        # epoch-level curves are averages: a healthy one is smooth, so point-to-point bouncing
        # of the curve itself counts (confirmed by the val loss when logged); a run that reached
        # a small fraction of its start level is judged converged
        # (a curve that never turns, scd 0, falls smoothly: its second differences are convexity)
        if confirm is not None:
            # (and the points leave the trend: >= 1% of the level around it; a short curve that bends
            # has second differences without any bouncing, a Keras CSV regression under a warmup to LR
            # 0.1 at 0.5% around its trend, while the first generator's oscillating epoch logs sit
            # 6-94% around theirs)
            # (a train loss under 5% of its start is converged, unless the LR is >= 5x the top of the
            # usual range: then a bouncing val loss is the LR's while the net memorises its
            # minibatches; RMSprop at 10-30x bounced 11.5-14% on val with the train loss at 1-4% of its
            # start, while every other run of both generators at such an LR and train level bounces
            # <= 2.5%)
            # (... and provided the train loss bounces as the labellers' level sees it: both judge the
            # full-batch loss against at least 5% of its start (LOW_LEVEL), so a net memorised to 0.3% of
            # its start must bounce by large ratios of its own level to move that much. Its residuals
            # against 5% of the start, `rel2_low`, must reach the share of the density's floor that an LR
            # this high needs on per-step logs: the oscillating such runs of gen2 s1-s4 read 0.36-0.64
            # (1-4.5% of their start), the overfitting Adamax 0.06 net at 0.27% of its start 0.043
            # (gen2 s3 0082, full-batch move 2.9%), under 3/4 of its floor, 0.059)
            far = prior_batch is not None and prior_batch >= PRIOR_HIGH
            low_ok = far and rel2_low >= PRIOR_FLOOR_SHARE * floor
            # (with >= 12 evaluations the val loss's move decides, `val_moves`; the robust bounce on fewer)
            val_ok = bool(moves if moves is not None else confirm >= SPARSE_VAL_BOUNCE)
            big = tb >= SPARSE_BOUNCE and val_ok and (lvl_rel >= 0.05 or low_ok) and scd > 0 \
                and rel2 >= SPARSE_OFF_TREND
            # (a training loss logged as epoch means is an average of the bouncing minibatch losses, smooth
            # however the weights bounce, while the val loss is the weights at one moment: at an LR far
            # above the usual range a val loss bouncing by VAL_BOUNCE_FEW (18%, what minibatch noise cannot
            # explain at an unknown LR) is the call even where the mean itself moves < 3% (gen2 s33 0122 and
            # 0221, moons at SGD 1.0, batch 8, tanh: train means 0.32-0.43 within 0.5% of their trend, val
            # bouncing 24-26%, its full-batch loss moving 14-28% per evaluation). Over the 14 tuning corpora
            # those two are the only runs it calls)
            if not big and averaged and far and tb < SPARSE_BOUNCE and confirm >= VAL_BOUNCE_FEW and lvl_rel >= 0.05:
                big = True
            # (at an LR far above the usual range, a train loss logged as epoch means whose second half
            # climbs back once is enough of the train loss's part: see `climbs_back`)
            if not big and averaged and far and n <= CLIMB_BACK_POINTS:
                big = val_ok and lvl_rel >= 0.05 and rel2 >= SPARSE_OFF_TREND and climbs_back(y)
        else:
            # a sparse step log samples per-step losses, noisy when healthy: past the start's noise
            # (at an LR >= 5x the usual top the bouncing is the LR's without growing past the start's noise,
            # as on dense logs (STEP_LEVEL_CASES): a net at Adam 0.1 or NAdam 0.06, 30-50 sampled losses
            # bouncing 12-18% with their start as noisy (1.0-1.4x), labelled oscillation (gen2 g37 0026,
            # g40 0044); over the 17 tuning corpora nothing else changes)
            big = tb >= 2 * SPARSE_BOUNCE * 1.5 and lvl_rel >= 0.05 and scd >= 0.3 \
                and (averaged or noise_grew or (prior is not None and prior >= PRIOR_HIGH))
            # at the top of the usual range or a little above, the dense logs' test: the bouncing is a
            # sizeable share of the progress made (a digits CNN at Adam 1e-3 whose samples bounce 7.8x
            # its start's noise, 3% of its fall from 2.3 to 0.23: a classification loss gets relatively
            # noisier as it falls)
            # (and so within the usual range: never less than at its top)
            if prior is not None and prior < PRIOR_HIGH:
                big = big and amp_vs_drop >= 0.12 and (averaged or noise_clear)
            # (and with no LR logged at all, not called: the note at PRIOR_HIGH)
            if _lr_unknown(prior, prior_batch, val_curve, lvl_rel):
                big = False
    detected = bool(big)
    return {
        "rel2": rel2, "rel1": rel1, "amp_trend": amp_trend, "scd": scd, "floor": floor,
        "amp_vs_drop": amp_vs_drop, "detected": detected, "self_ratio": self_ratio, "bounce": tb,
        "lvl_rel": lvl_rel, "late_only": bool(detected and fast_early),
        "onset": _onset(x, r, t, span, floor, head - 0.7 * drop if detected and fast_early else None)
        if detected else None,
    }


def _onset(x, r, t, span, floor, dropped_to: float | None = None) -> float:
    """First x where the rolling relative amplitude reaches the floor; for bouncing that followed a
    fast early drop (`late_only`), no earlier than where the trend first reached `dropped_to` (70% of
    its drop): the rolling amplitude of the drop itself reads high against the falling level, and
    "dropped fast, then stayed flat and noisy from step 0" said the drop was the bouncing."""
    n = len(r)
    w = max(3, n // 10)
    lvl = np.maximum(np.abs(t), 0.1 * span)
    a = np.abs(r) / np.maximum(lvl, 1e-300)
    roll = running_median(a, odd(w)) * 1.4826
    above = np.flatnonzero(roll >= floor)
    # the first time the bouncing reaches the floor: with a too-high LR that is from the start
    i = int(above[0]) if len(above) else 0
    if dropped_to is not None:
        reached = np.flatnonzero(t <= dropped_to)
        if len(reached):
            i = max(i, int(reached[0]))
    return float(x[min(i, n - 1)])


def _epoch_jumps(curves: Curves, x: np.ndarray, y: np.ndarray, x_kind: str) -> tuple[bool, float | None, float | None]:
    """(jumps at every epoch boundary, jump ratio, period in x) from the folded profile."""
    n = len(y)
    P = curves.steps_per_epoch if x_kind == "step" else None
    t = lowess(x, y, frac=0.3)
    span = float(percentile(y, 97.5) - percentile(y, 2.5))
    r = (y - t) / np.maximum(np.abs(t), max(0.1 * span, 1e-300))
    known = P is not None and P > 0
    if known and (x[-1] - x[0]) < 3 * P:
        # a known epoch length the run does not cover three times: no boundary to see jumps at (a single-
        # epoch LLM fine-tune whose loss alternates every few logging steps read "jumps at every epoch
        # boundary" from its own autocorrelation period, 100 steps, against an epoch of 1,187)
        return False, None, None
    if not known:
        # unknown epoch length: the curve's own period, from the autocorrelation of residuals
        if not regular(x) or n < 40:
            return False, None, None
        ac = acf(r, n // 3)
        if len(ac) < 5:
            return False, None, None
        lag = int(np.argmax(ac[3:]) + 3)
        if ac[lag] < 0.4 or n / lag < 3:
            return False, None, None
        P = lag * float(median(np.diff(x)))
    per = max(1, int(round(P / max(float(median(np.diff(x))), 1e-300))))
    if per < 4:
        return False, None, float(P)
    nb = int(min(per, 40))
    phase = ((x - x[0]) % P) / P
    b = np.minimum(np.floor(phase * nb + 1e-6).astype(int), nb - 1)
    prof = np.array([median(r[b == i]) if np.any(b == i) else np.nan for i in range(nb)])
    if np.isnan(prof).any():
        return False, None, float(P)
    dif = np.diff(np.append(prof, prof[0]))  # circular
    k = int(np.argmax(np.abs(dif)))
    others = np.delete(np.abs(dif), k)
    ratio = float(np.abs(dif[k]) / max(median(others), 1e-300))
    # the jump must show in (almost) every epoch, not only on average
    cyc = ((x - x[0]) // P).astype(int)
    signs = _jump_signs(r, cyc, b, k, nb)
    consistent = len(signs) >= MIN_JUMP_EPOCHS and abs(np.mean(signs)) >= 0.6
    # a loss that steps *down* at every epoch boundary is a net memorising the examples it sees again each
    # epoch (multi-epoch fine-tuning's staircase), not the order of the data: against the trend that step
    # reads as a jump up and a saw-tooth, so its direction is read on the logged values. Known epoch lengths
    # only: the boundaries sit at its multiples (global steps count from 0), after the fold's bin `last`
    staircase = False
    if known:
        last = (int(math.floor(((-float(x[0])) % P) / P * nb + 1e-6)) - 1) % nb
        raw = _jump_signs(y, cyc, b, last, nb)
        staircase = len(raw) >= MIN_JUMP_EPOCHS and float(np.mean(raw)) <= -0.6
    noise = mad_sigma(r)
    size = abs(dif[k]) >= 0.05 and abs(dif[k]) >= max(2 / math.sqrt(max(1, n / nb)), JUMP_NOISE) * noise
    jump = bool(ratio >= 4 and consistent and size)
    # class-sorted data: not one jump but the same multi-step pattern repeated every epoch; it
    # shows as a strong autocorrelation at the epoch lag and a folded profile that carries most
    # of the residual variance
    dx = float(median(np.diff(x))) if n > 1 else 1.0
    lag = int(round(P / max(dx, 1e-300)))
    periodic = False
    if regular(x) and 3 <= lag <= n // 3:
        ac_p = float(acf(r, lag)[lag])
        fitted = prof[b]
        explained = 1.0 - float(np.var(r - fitted)) / max(float(np.var(r)), 1e-300)
        periodic = bool(ac_p >= 0.5 and explained >= 0.4 and float(np.std(prof)) >= 0.05)
    return bool((jump or periodic) and not staircase), ratio, float(P)


def _jump_signs(r: np.ndarray, cyc: np.ndarray, b: np.ndarray, k: int, nb: int) -> np.ndarray:
    """Per epoch (in order), the sign of median(residuals just after bin k) - median(just
    before), for the epochs that have points on both sides: does the jump show in each epoch.
    One sort for all epochs (`group_medians`) instead of masking the curve once per epoch."""
    shift = 1 if k == nb - 1 else 0  # the bin after the last is the next epoch's first
    before_keys, before_med = group_medians(r[b == k], cyc[b == k])
    after_keys, after_med = group_medians(r[b == (k + 1) % nb], cyc[b == (k + 1) % nb] - shift)
    both, i_before, i_after = np.intersect1d(before_keys, after_keys, assume_unique=True, return_indices=True)
    return np.sign(after_med[i_after] - before_med[i_before])


def _empty_values() -> dict:
    return {"rel_amplitude": None, "rel_amplitude_first": None, "sign_change_density": None,
            "amplitude_trend": None, "late_only": False, "epoch_jumps": False, "epoch_jump_ratio": None,
            "noise_floor": None, "lr_schedule_explains": False, "amplitude_vs_drop": None, "period": None, "val_bounce": None,
            "noise_vs_start": None, "bounce": None, "level_rel_start": None, "spike_driven": False,
            "val_settled": False, "stalled_bounce": False, "val_moves": None, "epoch_cumulative": False}


# A per-step loss logged as the mean since the epoch began (Keras' batch logs: the Mean metric is
# reset at each epoch) is smooth late in each epoch and resets at its start: its step-to-step moves
# shrink as 1/k with the k-th batch of the epoch, a saw-tooth that hides the bouncing every per-step
# test reads. Such a curve is read as the per-step losses that make it (`epoch_cumulative`).
CUMULATIVE_RATIO = 3.0
CUMULATIVE_AC = 0.3


def epoch_cumulative(x: np.ndarray, y: np.ndarray) -> np.ndarray | None:
    """The per-logged-step losses of a loss logged as its running mean since the epoch began, or None
    when it is not one. The epoch is the period of the log-sizes of its moves (autocorrelation
    >= CUMULATIVE_AC at a lag of >= 8 points, >= 3 epochs), its start the phase of the largest moves;
    the moves early in each epoch (its first quarter) must be >= CUMULATIVE_RATIO times those late in
    it (the last quarter): 1/k shrinks them ~7x over an epoch, a per-step log's do not shrink
    (<= 2.0 on the 1,307 per-step logs of eight gen2 seeds and the first generator's pool, 0 of them
    at 3). The k-th point of an epoch is then k*y_k - (k-1)*y_(k-1)."""
    n = len(y)
    if n <= DENSE or not regular(x) or not np.all(np.isfinite(y)):
        return None
    mv = np.abs(np.diff(y))
    a = np.log(mv + 1e-12 * max(float(np.max(np.abs(y))), 1e-300))
    a = a - float(median(a))
    ac = acf(a, n // 3)
    if len(ac) < 9:
        return None
    lag = int(np.argmax(ac[8:]) + 8)
    if ac[lag] < CUMULATIVE_AC or n / lag < 3:
        return None
    P = lag
    prof = np.array([median(a[i::P]) for i in range(P)])
    ph = int(np.argmax(prof))
    pos = (np.arange(len(a)) - ph) % P
    in_early, in_late = (pos >= 1) & (pos <= P // 4), pos >= (3 * P) // 4  # an epoch's first / last quarter
    early, late = mv[in_early], mv[in_late]
    if not len(early) or not len(late) or not float(median(late)) > 0:
        return None
    if float(median(early)) < CUMULATIVE_RATIO * float(median(late)):
        return None
    # each epoch's first point, one period apart from the phase of the largest moves; the log starts
    # with the first epoch, whatever its length (a step count from 1 leaves it one point short)
    k = np.empty(n)
    starts = [0] + [int(i) for i in range((ph + 1) % P or P, n, P)]
    for a0, b0 in zip(starts, starts[1:] + [n]):
        k[a0:b0] = np.arange(1, b0 - a0 + 1)
    z = y.copy()
    z[1:] = np.where(k[1:] > 1, k[1:] * y[1:] - (k[1:] - 1) * y[:-1], y[1:])
    # the losses it gives move as much late in each epoch as early: a loss that really moves less and
    # less through each epoch (class-sorted data's saw-tooth, OSC003) would be amplified k-fold late
    dz = np.abs(np.diff(z))
    zl, ze = dz[in_late], dz[in_early]
    if not 0.5 <= float(median(zl)) / max(float(median(ze)), 1e-300) <= 2.0:
        return None
    return z


def judged_hparams(curves: Curves, x: np.ndarray) -> dict:
    """The run's hparams with the LR it trained at over the curve's second half, where oscillation is
    judged (both labellers judge the full-batch loss's second half), when the LR curve is logged there:
    the median of its values from the curve's mid-point on (>= 3 of them). A cosine or step schedule
    that decays SGD 1.0 to 0.01 trains its second half at ~0.15, not at the 1.0 its hparams name."""
    lr = curves.get("lr")
    if lr is None or len(x) < 2:
        return curves.hparams
    lx, ly = finite_xy(lr)
    late = ly[lx >= x[0] + 0.5 * (x[-1] - x[0])]
    if len(late) < 3 or not np.all(late > 0):
        return curves.hparams
    return {**curves.hparams, "lr": float(median(late))}


def measure_oscillation(curves: Curves, role: str) -> Measurement | None:
    """Residual amplitude around a robust trend, its persistence, and epoch-boundary jumps."""
    found = finite_curve(curves, role, MIN_N, need_span=False)
    if found is None:
        return None
    c, x, y = found
    cuts = lr_change_points(curves)
    # the warmup is a schedule, not a behaviour: judge from its end on
    lr = curves.get("lr")
    if lr is not None and cuts:
        lx, ly = finite_xy(lr)
        if len(ly) > 3:
            i_max = int(np.argmax(ly))
            if 0 < i_max < len(ly) - 1 and ly[0] < 0.5 * ly[i_max]:
                keep = x >= lx[i_max]
                if keep.sum() >= MIN_N:
                    x, y = x[keep], y[keep]
    # a diverged run is judged by `divergence` alone
    from advisor.signals.divergence import run_divergence

    if run_divergence(curves) is not None:
        return Measurement(family="oscillation", role=role, tag=c.tag, detected=False,
                           values=_empty_values(), note="diverged: judged by `divergence`")
    inner = [cp for cp in cuts if x[0] < cp < x[-1]]
    hparams = judged_hparams(curves, x)
    prior = lr_over_usual(hparams)
    if prior is None:
        # only the LR is logged: one under 5x the lowest top of any family (Adam's 1e-3) is at most a
        # little above the usual range whatever the optimizer (and within it from 1e-3 down), so the
        # train-only cases judge it as at the top, not as an unknown LR
        most = lr_over_usual_bound(hparams, most=True)
        if most is not None and most < PRIOR_HIGH:
            prior = most
    # (with the val loss as the evidence, an LR of >= 1.0 is far too high whatever the optimizer when
    # none is logged: >= 5x the top of every family's usual range, plain SGD's 0.2 the largest; the
    # val-confirmed cases only compare it with PRIOR_HIGH)
    prior_batch = lr_over_usual_for_batch(hparams)
    if prior_batch is None:
        prior_batch = lr_over_usual_bound(hparams, most=False)
    confirm = None
    confirm_n = 0
    val_settled = False
    moves = None
    if role == "train_loss":
        v = curves.get("val_loss")
        if v is not None:
            _, vy = finite_xy(v)
            if len(vy) >= 5:
                # relative to the level, but a level near zero after a long fall is judged
                # against the fall (the training loss's progress): tiny losses bounce in ratio
                _, ty = finite_xy(curves.get("train_loss"))
                # (the fall from the first logged value, the untrained net's, unless the median of the
                # first three is lower: an early blow-up, 0.91 -> 949-4133 within 5 steps with RMSprop
                # 0.01, is not where the loss started, and read as the start it hid a 31% val bounce)
                ref = float(min(median(ty[:3]), ty[0]) - np.min(ty)) if len(ty) >= 3 else 0.0
                confirm = bounce(vy, ref)
                confirm_n = len(vy)
                val_settled = settled(vy)
                moves = val_moves(vy, min_n=VAL_MOVES_MIN_N)
    averaged = c.x_kind == "epoch" or c.averaged
    y_logged = y
    cumulative = False
    if role == "train_loss" and not averaged:
        z = epoch_cumulative(x, y)
        if z is not None:
            y, cumulative = z, True
    val_only = role == "val_loss" and not has_points(curves, "train_loss", MIN_N)
    seg = _core(x, y, inner, confirm, prior, prior_batch, averaged, confirm_n, moves, val_only)
    if val_settled and seg["detected"]:
        seg.update(detected=False, late_only=False, onset=None)
    # (the val loss moves as the labellers' oscillating full-batch loss does, from 10 evaluations on,
    # while the training loss's second half stays >= TRAIN_HIGH of its start: see TRAIN_HIGH)
    val_called = False
    if moves and not seg["detected"] and not val_settled and seg["lvl_rel"] >= TRAIN_HIGH \
            and (_still_moving(vy) or not _lr_decays(curves, x)):
        val_called = True
        seg.update(detected=True, late_only=False, onset=float(x[len(x) // 2]))
    spike_driven = False
    if confirm is not None and confirm >= SPARSE_VAL_BOUNCE and not seg["detected"] and seg["lvl_rel"] < LOW_LEVEL:
        from advisor.signals.spikes import measure_spikes

        spikes = measure_spikes(curves, role)
        if spikes is not None and spikes.values["count"] >= RECURRING_SPIKES:
            spike_driven = True
            seg.update(detected=True, late_only=False, onset=spikes.values["first_step"])
    # A val loss logged alone (no train loss: a val-only log) is its own confirmation: averaged over the
    # whole val set, it carries no minibatch noise, and it moves as the labellers' oscillating full-batch
    # loss does (`val_moves`, not `settled`, and it fell below its start: not `never_fell`). At an LR >= 5x
    # the usual top (PRIOR_HIGH) that is called, and with no LR logged only that is: the 14 tuning corpora
    # rewritten to their val curves (1,970 runs, 142 oscillating): at >= 5x the usual top 78 oscillations
    # move so against 2 healthy nets (gen2 s15 0132, Adam 0.03; s9 0075, a warmup to Adam 0.1), 10
    # plateaus, 4 overfitting nets and 54 divergences; with no LR logged 9 oscillations against no healthy
    # net, 1 plateau and 7 divergences.
    # A val curve read as a sparse train-only log (the cases above) called 56 of the 142 with 18 false
    # calls; with this, 107 with 30 (most of the new ones divergences the divergence signal misses on a
    # val curve alone, where a lower LR is the first action either way), healthy false alarms 24 -> 24.
    # Within 5x the usual top (1-5x: 32 oscillations, 12 healthy nets move so) the cases above decide
    val_only_moves = False
    if val_only and (prior_batch is None or prior_batch >= PRIOR_HIGH):
        val_only_moves = bool(val_moves(y)) and not settled(y) and not never_fell(y)
        if val_only_moves and not seg["detected"]:
            seg.update(detected=True, late_only=False, onset=float(x[len(x) // 2]))
        elif prior_batch is None and not val_only_moves and seg["detected"]:
            seg.update(detected=False, late_only=False, onset=None)
    within = lr_within_usual(hparams)
    # (the purple curve, a fast drop and then bouncing, stays: an LR that suits the start can be too large
    # near the minimum, OSC002's "keep it, decay it"; its val loss must move, not only bounce)
    purple = seg["late_only"] and not spike_driven and moves is not False
    gated = within and seg["detected"] and not purple
    if gated:
        seg.update(detected=False, late_only=False, onset=None)
        spike_driven = False
    # (the bouncing stays detected: the plateau rules read it to put a lower LR first)
    stalled = bool(seg["detected"] and not spike_driven and never_fell(y if cumulative else finite_xy(c)[1]))
    if role == "val_loss" and not val_only:
        seg["detected"] = False  # the run's bouncing is judged on its training loss
        seg["late_only"] = False
    explains = False
    if inner and not seg["detected"] and not within:
        explains = _core(x, y, [], confirm, prior, prior_batch, averaged, confirm_n, moves, val_only)["detected"]
    jumps, jratio, period = _epoch_jumps(curves, x, y_logged, c.x_kind)
    detected = bool(seg["detected"] or jumps)
    values = {
        "rel_amplitude": float(seg["rel2"]), "rel_amplitude_first": float(seg["rel1"]),
        "sign_change_density": float(seg["scd"]), "amplitude_trend": seg["amp_trend"],
        "late_only": bool(seg["late_only"]), "epoch_jumps": bool(jumps),
        "epoch_jump_ratio": jratio, "noise_floor": float(seg["floor"]),
        "lr_schedule_explains": bool(explains), "amplitude_vs_drop": float(seg["amp_vs_drop"]),
        "period": period if jumps else None, "val_bounce": confirm,
        "noise_vs_start": float(seg["self_ratio"]) if math.isfinite(seg["self_ratio"]) else None,
        "bounce": float(seg["bounce"]), "level_rel_start": float(seg["lvl_rel"]),
        "spike_driven": bool(spike_driven and seg["detected"]),
        "val_settled": bool(val_settled),
        "stalled_bounce": bool(stalled and seg["detected"]),
        "val_moves": moves, "epoch_cumulative": cumulative,
    }
    onset = seg["onset"] if seg["detected"] else (float(x[0]) if jumps else None)
    if jumps and not seg["detected"]:
        note = f"the loss jumps at every epoch boundary (period {period:g}): data not shuffled?"
    elif val_only_moves and seg["detected"]:
        note = "the val loss (logged alone) climbs and falls back again and again at an LR far above the usual range"
    elif val_called and seg["detected"]:
        note = (f"the val loss climbs and falls back again and again in the second half while the training loss "
                f"stays at {seg['lvl_rel']:.0%} of its start")
    elif values["spike_driven"]:
        note = f"recurring spikes while the val loss bounces by {confirm:.0%} of its level"
    elif detected:
        note = (f"the loss bounces by {seg['rel2']:.0%} of its level in the second half "
                f"({seg['amp_trend']}), {seg['amp_vs_drop']:.0%} of the progress it made")
        if values["stalled_bounce"]:
            note += ", around a stall: a plateau's bouncing"
    else:
        note = f"residual amplitude {seg['rel2']:.1%} of the level (healthy floor {seg['floor']:.0%})"
        if gated:
            note += ", bouncing at an LR within its optimizer's usual range: not the LR's"
    conf = 0.0
    if detected:
        conf = float(min(0.95, 0.5 + 0.5 * min(1.0, seg["rel2"] / (3 * seg["floor"]))))
    return Measurement(family="oscillation", role=role, tag=c.tag, detected=detected, values=values,
                       start_step=onset, end_step=float(x[-1]) if detected else None,
                       confidence=conf, note=note)
