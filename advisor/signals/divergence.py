"""Divergence: the loss goes non-finite, explodes, or rises from the very start (seed 003, red).

What a practitioner checks, in order of certainty:
1. a NaN/inf loss (train, or validation) at any step: the first one is the onset;
2. the loss trend (running median over a tenth of the points, so one bad batch or the swings
   of unshuffled data do not count) climbing to 2.5x its start: `early_rise` when it never got
   clearly below its start first (LR too high from the first steps), `explosion` when it learnt
   and then blew up (onset: where it left its running minimum). The fixture labeller uses 3x and
   treats 2-3x as too close to call;
3. the gradient norm going non-finite: HF Trainer replaces NaN losses by running averages, so
   there the loss can look calm while the gradients are already gone (a sustained >= 10x climb
   of the grad norm is reported as `grad_norm_explosion`).
4. a loss that learnt and then came back: the trend fell to <= 70% of its start, then climbed
   back to >= 90% of it and is still there at the end (`relapse`: seed 000's "损失函数越来越大"
   after a good start, a net that learns and then collapses to chance, e.g. SGD momentum 0.99);
   and a loss whose whole second half sits >= 20% above its start (`early_rise`: it never got
   anywhere better than where it began, however much it bounces on the way).
`explosion_ratio` (trend / its running minimum) and `early_rise_ratio` (the trend's peak / its
start, or / the first logged value for a rise measured from it) are reported for every curve.
For losses that are not positive the 2.5x becomes "1.5x the start's magnitude (or the fall
achieved) above the start". With a training loss logged, a validation loss that merely climbs is
overfitting's business; only its NaNs and a last value blown up (VAL_STOPPED) count here.
`run_divergence` gives the run's onset: the other pattern families abstain on a diverged run.
"""
from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from advisor.model import Curves, Measurement, UnloggedTail
from advisor.numbers import readable
from advisor.priors import lr_over_usual, lr_over_usual_bound, optimizer_family
from advisor.signals.robust import (
    MIN_POINTS, bin_medians, curve_or_none, diff_sigma, finite_xy, has_points, head_level, last_quarter_level, odd,
    percent_scale, running_median, tail_level, theil_sen,
)
from advisor.signals.robust import median  # numpy's numbers, without its per-call dispatch

DIV_FACTOR = 2.5  # the loss trend climbs to 2.5x its start (fixtures/labels.py: 3x, 2-3x ambiguous)
LEARNT = 0.7  # relapse: the trend first fell to <= 70% of its start ...
RELAPSE = 0.9  # ... then came back to >= 90% of it and stayed there (last 10% of the points)
# "learnt" may be brief: momentum 0.99 reaches 17-57% of its start within the first quarter of the
# run and is thrown back by its first blow-up, and the tenth-of-the-run trend averages that low
# away. A short running median (2% of the points, >= 5) at <= half the start counts too; a run
# bouncing at too high an LR around its start dips to 66-69% there (the verify built-in
# lr-oscillates' baseline, tanh units) and must not read as a relapse.
LEARNT_BRIEF = 0.5
LAST_BLOWUP = 100.0  # the last logged value >= 100x the start and the median: the run ended blown up
# STOPPED: that last value is read after every other reading of the run's loss (training, else
# validation), not only where the trend never climbed: a trend that rose past 2.5x its start and
# was cleared as a net sitting at chance (`_back_at_guessing`) or one that came back still ended on
# the blow-up (the first generator's seed 236: hastie at SGD 1.0, momentum 0.9, batch 16, its
# per-step loss at ln 2 with bursts to 1.6, then 1.9e12 as the last logged value, the val accuracy at
# chance). Over gen2 seeds 1-4, 9-11, 15, 16, the first-generator pool (seeds 7, 11, 29, 235, 236)
# and the convention corpora, every loss whose last value is >= 100x its start and median is
# labelled divergence (177 curves, the lowest at 119x), and every other curve's last value is
# <= 2.7x (an overfit net's val loss).
# VAL_STOPPED: the same reading of the val loss in a log that has a training loss. The divergence
# rules read the training loss whenever one is logged, so a val loss that ended on a blow-up beside a
# training loss that did not show it (a Trainer log of SGD at LR 1, batch 4: three logged training
# losses 1.03, 0.32, 1.0, the val loss 0.83, 0.17, then 165 at the last evaluation, its accuracy
# 98% -> 14%) was never reported. Over gen2 seeds 1-4, 9-11, 15-17, the first-generator pool (seeds
# 7, 11, 29, 235-237) and the val-only rewrites, every val loss beside a training loss whose last
# value is >= 10x its start and median is labelled divergence (38 curves, 11.8x-2e34x), a tenth of the
# LAST_BLOWUP cut; the one this adds reads 198x.
ABOVE_START = 1.2  # the whole second half of the trend >= 1.2x its start: worse than doing nothing
ACC_DROP = 0.2  # collapse: the accuracy fell >= 20 points from its best ...
ACC_LOSS_BACK = 0.8  # ... while the (training) loss is back to >= 80% of its start
ACC_LEARNT = 0.9  # ... after it had fallen below 90% of it
# ... or a val accuracy that rose >= ACC_GAIN above the level it falls back to, read from the best of
# its last quarter: a net collapsed to chance predicts one class at a time and scores that class's
# share, so its tail flips between shares (cancer: 32% and 68%), and the best of them is the chance
# level the labeller's 25 points are counted from (the majority share); the tail's median or the
# accuracy's low count a flip to a minority share as a fall from chance. The tail's best is at most
# the majority share, so no collapse the labeller calls reads under the labeller's own 25 points
# here. gen2 s1-s4: the collapse this reading alone calls gained 48 points over its tail's best; of
# the plateaus it called, cancer flipping 68% / 32% gained 0 (36 over the tail's median), a digits
# net at the labeller's edge 26 (the labeller's 24.8 over a majority share of 11.9%, the tail's best
# 10.6%). A cut of 30 also drops the latter, but would cost the labeller's collapses of 25-30 points
# (two-class tasks peaking at 75-80%), the first generator's weakest divergence reading.
ACC_GAIN = 0.25
# BACK_AT_GUESS (`_collapse_at_guessing`, DIV008): that rise and fall of an evaluated accuracy (>=
# ACC_GAIN above the best of its last quarter, >= ACC_SHORT_POINTS evaluations) beside a loss whose last
# tenth is back at >= SETTLED_LOW x the loss of guessing is a collapse on its own: a net that learnt and
# now predicts one class scores that class's share and pays about the loss of guessing for it. The other
# readings of a collapse also ask the loss to be back near its start, or the accuracy's tail at its floor,
# and miss the collapses whose first logged loss was already blown up (Keras epoch 0 of momentum 0.99 on
# blobs: 10.9, then 34, 6,530, then 1.9 = ln 6 for 29 epochs, the val accuracy 56% then 14-18%) or whose
# tail flips between two class shares (moons at NAdam 0.2: 88%, then 44% / 56%, the losses at ln 2; a
# val-only wine log flipping 30% / 41% / 48% after 86%). Over gen2 seeds 1-4, 9-11, 15-21, the
# first-generator pool (7, 11, 29, 235-238) and the convention and summed rewrites, the runs labelled
# anything but divergence that gained >= ACC_GAIN read 0.26-0.29 and are all called a divergence already
# (labeller-edge plateaus whose full-batch loss never fell 30%, and an oscillation: the relapse readings;
# the next ones gained 0.20-0.23); the four this adds gained 0.27-0.45, their loss at 0.87-0.97x guessing.
ACC_MIN_POINTS = 16  # ... read off >= 16 evaluations, so that the last quarter holds >= 4 of them
# ... or off >= ACC_SHORT_POINTS (10) when the record itself says "back at chance": the last quarter
# of the accuracy at its floor (within ACC_FLOOR of its 10th percentile) and the loss's last tenth at
# >= SETTLED_LOW (0.75) x the loss of guessing, ln(1 / that low). Momentum 0.99 and SGD at LR 1 on
# epoch logs of 10-13 evaluations (gen2 s11: digits 43% -> 8-12% with the loss back at ln 10; moons
# 86% -> 44/56% at ln 2) were read as plateaus. Over gen2 s1-4, 9-11, 15 and the first generator's
# pool, these two runs are all that this reading adds, and still all at 6 evaluations, a floor
# within 15 points or a loss at >= 0.5x the loss of guessing.
ACC_SHORT_POINTS = 10
# ACC_FINE: with no val accuracy, a training accuracy whose distinct values step by <= 1% was measured
# on >= 100 samples at a time (an evaluation of the training set, an epoch's average) and its peak is
# evidence of learning as a val accuracy's is; one batch's accuracy steps by 1/B (1/32 = 3%, 1/8). Over
# gen2 seeds 1-4, 9-11, 15, 16, the first-generator pool and the convention corpora, the train-only
# runs whose training accuracy rose >= ACC_GAIN above the best of its last quarter and ended at its
# floor are all labelled divergence (16 runs, their accuracy stepping by 0.01-0.5%); the one this
# adds is gen2 s11's momentum 0.99 on 4 classes (tensorboardX, 13 evaluations: 43% -> 57% -> 24-26%,
# the loss back at ln 4), read as a plateau. The nearest other run, a plateau, rose 20 points.
ACC_FINE = 0.01
VAL_ABOVE = 1.5  # a val loss ending >= 1.5x its start, with the training loss >= ABOVE_START x its own
ACC_HELD = 0.1  # a val accuracy whose last quarter is within 10 points of its best did not relapse
# COMING_DOWN: an early rise the loss is still coming back down from at the end of the run, with the
# accuracy at its level, is a spike that comes back down (the oscillation detector's), not a loss
# that rose past its start and stayed there: its third quarter's median >= COMING_DOWN x its last
# quarter's, that last quarter under BACK_NEAR_START x the start, and the accuracy's last quarter
# (validation first, else training) within ACC_HELD of its best. A warmup to LR 0.2 on moons: the
# per-step loss 0.54 -> 58.7 -> 0.23-0.52, falling 3.3x over its last half, val accuracy 87% against
# a best of 88%; SGD at LR 2, batch 4, on moons: 0.34 -> 2.6 -> 0.3, falling 1.3x, train accuracy
# 87% against 92%. Over gen2 seeds 1-4, 9-11, 15-17 and the first-generator pool (seeds 7, 11, 29,
# 235-237), the training-loss divergence calls with an accuracy within ACC_HELD of its best: those
# ending under 1.8x their start fall <= 1.02x over their last half (nets stuck where the blow-up
# left them), and those still falling >= 1.15x end >= 2.5x their start (blow-ups still wearing off
# far above it); the two oscillations read 1.30x / 0.73x and 3.27x / 0.95x (the latter's val loss
# ends at 1.05x its first evaluation: it is held to the same BACK_NEAR_START, not to 1.0x).
# A relapse (the trend back at its start, or both losses ending above theirs) reads the same way, on
# the training loss alone: the relapses called with the accuracy held fall <= 0.75x over their last
# half (momentum 0.99 on 4 classes, its loss back at 1.36x its start, the val accuracy 7 points
# under its best); a Keras log of momentum 0.99 on blobs that starts after the net learnt (train
# accuracy 97-99%, val 95-98% all run, the train loss bouncing 0.12-0.58 from a first epoch at 0.22,
# its val loss climbing 0.16 -> 0.94: labelled oscillation and overfitting) falls 1.52x at 1.31x.
COMING_DOWN = 1.15
BACK_NEAR_START = 1.8
GRAD_RATIO = 10.0
# A relapse read off the training loss alone is contradicted by a validation loss that kept its fall:
# it averages over the whole val set, so it is the cleaner witness of where the net is. A val loss
# that fell >= 20% of its start and still holds >= 3/4 of that fall in its last quarter says the
# net did not go back to where it started: the training loss's "relapse" is its minibatch noise (a
# moons MLP at SGD 0.005 and batch 4, its loss logged as the last batch's every 25 steps: 0.98 as
# the last value while the val loss sat at its minimum 0.35). Nets wrecked by their LR lose their
# val loss's fall with the training loss's (the first generator's relapses: the val loss's last
# quarter at or above its start).
VAL_FALL = 0.2
VAL_STAYS_BLOWN = 100.0  # a val loss ending two orders of magnitude above its start stayed blown up (`_recovered`)
VAL_KEPT = 0.75
# A classifier's cross-entropy starts near the loss of guessing, ln(C), and a net that is not
# broken stays below it. With an accuracy logged, its low (10th percentile, <= 50%: the net was no
# better than a coin flip at some point) bounds the chance level from above, so ln(1 / low) is a
# guessing loss the run cannot legitimately stay far above. The loss's last quarter at
# >= ABOVE_CHANCE x that loss while the accuracy stays at its floor (within ACC_FLOOR), or at
# >= FAR_ABOVE_CHANCE x while the accuracy has not even doubled from it (nor closed half the way
# from it to 100%, which is the stricter of the two for a low above 1/3: a binary classifier's
# accuracy cannot double from 50%), is a net whose outputs
# blew up (gen2: SGD at LR 1-2 with batch 4-16, Adagrad at LR 1, logging 7.5-190 on 10 classes
# and 12-20 on 2 classes, accuracy at chance): the labeller's full-batch loss rose past 1.5x its
# start. Across the first generator's pool and gen2 (seeds 1, 3), every run at >= 1.6x is a
# divergence; plateaus at chance read 1.0-1.45x, slow runs up to 1.58x.
# The cut is 1.6x, the labeller's own 1.5x line for a loss that rose past its untrained start (an
# untrained classifier sits at about ln C, and ln(1 / the accuracy's low) >= ln C): over gen2's six
# tuning seeds (1-4, 9, 10), the first-generator pool and seed 229, with the accuracy flat at its
# floor, every plateau or slow run reads <= 1.44x (a 4-class net at an LR far too low) and the
# divergences not caught by another reading 1.82x (NAdam 0.2 on 4 classes) and 1.86x (RMSprop 0.1,
# its per-step loss ~3 beside a train accuracy at 23-30%); 2x, the first cut, missed both.
ABOVE_CHANCE = 1.6
FAR_ABOVE_CHANCE = 10.0
# A VAL loss (a log with no training loss) is read between those two as well: its last quarter at
# >= VAL_ABOVE_GUESS x the loss of guessing (low <= 50%) while it has not climbed to more than
# VAL_NOT_CLIMBED x its first evaluation. A net blown up by its first steps is far above guessing
# from its first evaluation and stays there (the wreck jitters, it does not climb: gen2's
# classifiers at SGD 1-2 with batch 8-16 read 5.1-9.4x at 0.26-0.97x their first value, their val
# accuracy creeping 10-30 points above chance); an overfit small-data net's val loss climbs there
# from a low first evaluation (the overfitting-labelled runs at >= 2.75x guessing climbed
# 2.75-4.1x). Over gen2 seeds 1-4, 9-11, 15, 16, the first-generator pool (7, 11, 29, 235, 236) and
# their val-only rewrites, the runs labelled anything but a divergence that stay under 1.5x their
# first value read <= 2.0x (an overfit 4-class net 2.0x, Adagrad too low on 10 classes 1.94x) but
# two Adagrad-at-LR-1 plateaus at chance (3.31x, 2.27x: ABOVE_CHANCE's flat branch reads them
# already); the divergences it adds read >= 5.1x.
VAL_ABOVE_GUESS = 4.0
VAL_NOT_CLIMBED = 1.5
# BOTH_ABOVE_GUESS: a classifier whose training loss AND val loss both end (last-quarter medians) at
# >= VAL_ABOVE_GUESS x the loss of guessing while its accuracy's last quarter is no better than a coin
# flip is a net whose outputs blew up, even where its accuracy crept up from its low: the val loss is
# the cross-entropy over the whole held-out set, the training loss over the batches it trains on, and
# at 4 x ln C on both the net puts about C^-4 on the true class of the average example (10 classes:
# 1e-4), on the data it fits and on the data it does not. An overfit net's training loss is near 0
# (its val loss climbs alone); a net stuck at chance sits at about 1x; a net that learns falls below
# 1x. SGD at LR 1-2 with batch 4-8 on digits: both losses at 6.7-18x while the accuracy creeps from
# 9% to 19-25%, which the accuracy tests above (flat; 10x and not doubled) miss by a point or a
# ratio (the labeller: the full-batch training loss ended >= 1.5x its untrained start, about ln C).
# The accuracy bound keeps out a learning net whose loss is summed over the batch (B x its mean, far
# above ln C while it classifies at 60-100%); the LR gate (LR_CAN_BLOW_UP) is DIV007's. Over gen2
# seeds 1-4, 9-11, 15-21 and the first-generator pool (7, 11, 29, 235-238), the runs read here
# (both losses and an accuracy logged, accuracy tail <= 50%, LR not under the gate: 421) that are
# labelled anything but divergence reach 1.36x (a momentum-0.99 plateau at chance), 2.27x in the
# convention rewrites (an EMA-smoothed Adagrad-1.0 plateau); 4.0 sits 1.8x above; the two it adds
# read 6.7x and 15x. A summed loss of a net stuck at chance at a high LR reads as high as a blown-up
# one (DIV007's known problem: the summed rewrites of gen2 s3 add one such plateau, a warmup to 100x
# the usual top, lower_lr first either way).
# LR_CAN_BLOW_UP: outputs blown up that far need a step far too large; with the LR logged and under
# twice the top of its optimizer's usual range (advisor.priors.lr_over_usual; with the optimizer
# unknown, under twice Adam's 1e-3, the lowest top of any family), a classifier loss far above the
# loss of guessing is on another scale, not exploded: a loss summed over the batch
# (`reduction="sum"`) of a net stuck at chance sits at B x ln C, flat from its first value, exactly
# like logits thrown far in the first steps. Over gen2 seeds 1-4, 9-11, 15, 16, the first-generator
# pool (seeds 7, 11, 29, 235, 236) and five of them written with summed losses (bench/conventions.py
# sum: gen2 1, 3, 16, pool 29, 236), every divergence these readings call with an LR logged is at
# >= 5x its optimizer's top (SGD at 1.0, SGD-momentum 0.9 at 0.5), or >= 100x Adam's with the
# optimizer unknown (an LR of 0.1); the summed-loss plateaus and slow runs they called sit at
# 0.003-1x (deep saturating nets at SGD 0.03-0.1, SGD and Adagrad far too low, LSTMs at Adam 1.5e-4).
# Without an LR nothing changes.
LR_CAN_BLOW_UP = 2.0
COIN_FLIP = 0.5  # an accuracy's low at or under this bounds the chance level (see `_guessing`)
GUESS_LOW = 1e-3  # ... floored here: a low of 0 bounds nothing, its loss of guessing reads ln 1000
# A classifier whose accuracy never came down to a coin flip (its 10th percentile > 50%) has no
# guessing level in the log but ln 2, and C is unknown: a 10-class net that learnt sits below ln 10
# = 3.3 x ln 2, but a loss of 3.3 x ln 2 while the net classifies at > 50% is a net guessing worse
# than among 8 classes with confident outputs. A TRAINING loss whose last quarter is >= ABOVE_LN2 x
# ln 2 and has not fallen to half its first value is that (gen2: cancer at SGD 1.0, batch 8, train
# accuracy 85-89% at an epoch loss of 3.2-5; 4 classes at SGD 2.0 with tanh units, accuracy 53% ->
# 70% at 2.3-3.2). Over gen2 s1-s4 and s9-s12, the first-generator pool and seeds 229/231, the runs
# labelled anything but a divergence read <= 1.97 (an oscillation on 4 classes; a plateau 1.64),
# the divergences 1.86-4.7e13 (those under 3.46 are called by another reading); no real log but a
# summed loss that falls to 6% of its first value (TF1 estimator, MNIST) reads above 1.8. A val
# loss is not read this way: an overfit net's val loss climbs far above ln 2 at 95% accuracy.
ABOVE_LN2 = 3.0
# ... and whose last quarter has not fallen below NOT_FALLEN x its first value. The divergences of
# gen2 seeds 1-4 and the first generator's seeds 7 and 11 read there ended 0.88x their first value
# at the lowest (moons at SGD, batch 4), most of them far above it; a healthy 4-class net whose
# per-step loss is logged x100 (a loss summed over the batch) fell to 0.54x, and at the old 0.5x
# read as blown up.
NOT_FALLEN = 0.7
ACC_FLOOR = 0.05
# A loss that jumps to >= 1,000x its level (the larger of its start and its median) at three or
# more logged points is a net whose weights repeatedly blow up, however often it comes back down
# (per-step logs of SGD at LR 1 with batch 4: 3.7e6 and 1.2e9 between values at ln 10). Lesser
# spikes, and one or two of them, are the spike detector's business; in both generators only two
# plateau runs show two such values, and no healthy run one.
HUGE = 1e3
# MEAN_CLIMB: a per-step loss that reads 0 on most batches can still be blowing up: momentum 0.99 on a
# small set memorises it (the loss exactly 0 at float32 on three batches in four) while the rest throw
# losses that grow all run long (wine, LR 0.1: 0.02-1.3, then 7-54, then 19-744); every median and
# running median reads 0 and never climbs. The mean, what the optimizer minimises, does: a training
# loss whose quarter means rise quarter after quarter to >= DIV_FACTOR x its level (the larger of its
# 3-point start and its median) is an explosion. Over gen2 seeds 1-4, 9-11, 15-17, the first-generator
# pool (seeds 7, 11, 29, 235-237) and the convention rewrites, no training loss labelled anything but
# divergence has quarter means rising every quarter to even 1.2x its level (two oscillating cancer
# nets read 7.5x and 4.9x with quarter means that go up and down); the one this adds reads 68x
# (quarter means 0.25, 1.6, 5.3, 55 against a start of 0.81). A val loss is not read this way: an
# overfit net's climbs every quarter (val-only rewrites: up to 2.3x).
MEAN_MIN_POINTS = 20
HUGE_COUNT = 3
# One logged value a million times where the loss otherwise sits is a blow-up however quickly the
# loss came back down: the weights were thrown so far that the net is a wreck, whatever level it
# then settles at (digits at SGD 2.0: the first epochs' means 1.9e6 and 3.5e7, then ln 10 with the
# accuracy at chance; cancer at SGD 2.0, batch 16: 1.2e12 at step 10, then 0.5-1.0 beside a val
# accuracy flipping between the two class shares). The height is read against the higher of the
# loss's median (whole run and last quarter) and the lower of the value's two neighbours, so a
# first value that the loss fell from for good (a net memorising its data: 2.55, then 4e-6 ...
# 1e-7) is not a spike: its neighbour is where it went. Over gen2 seeds 1-4 and 9-12, the
# first-generator pool and seeds 229/231, no run the labellers did not call a blow-up reaches
# 1.2e5 (a momentum-0.99 plateau at 1.1e5, an SGD 2.0 plateau at 1.5e4); the blow-ups no other
# reading catches read 1.3e7, 1.6e12 and 3.5e19, and no real log exceeds 11.
ASTRONOMICAL = 1e6
MIN_DIV_POINTS = 3  # a run that blew up within 3-4 logged points is still a divergence
# A classifier's loss trend that climbs past 2.5x its start but peaks under FAR_BELOW x the loss of
# guessing (ln(1 / the accuracy's low), or ln 2 when the accuracy never came down to 50%) did not
# blow up: a memorised net's last-batch losses span five orders of magnitude (cancer at SGD 2.0,
# batch 16: 5e-6 to 0.5, its first logged value 3e-3, while the val accuracy holds 93-99%), and a
# trend of 0.03 is 37x a start of 0.005. gen2 s1-s4 and s9, classifiers whose divergence reading
# came from a climb of the trend: that run peaks at 0.045x the loss of guessing, the divergences at
# >= 0.68x (the run that stopped on a huge last value, 0.069x, is read from that value).
FAR_BELOW = 0.25
# A classifier whose first logged losses sit far above the loss of guessing, whose loss then comes
# back only to that loss, and whose accuracy never rises from its floor: the first steps threw the
# weights far (Adagrad at LR 1, SGD 2 at batch 16, momentum 0.99 at LR 0.3 log 5.2-7,000 on 2-10
# classes at their first log line) and the rest of the run is the net finding its way back to where
# an untrained one starts, not learning. Its loss falls 70-99.9%, which hides the stall from every
# loss-only reading; the accuracy at its floor and the loss of guessing show it. Not a divergence
# (the run is not worse than an untrained net at its end: the labeller's plateau), but its cause
# is the blow-up, so the plateau finding that reads it (PLT008) puts lowering the LR first.
# `settled_after_blowup` is the first three logged values' max over that loss whenever the accuracy
# never rose and the loss ended back at it; PLT008 calls it a blow-up from BLOWN_START (its
# `min_ratio`). Measured on the first generator's pool and gen2 seeds 1-4 (accuracy low <= 50%):
# - the first three logged values' max is >= 2.5x ln(1 / the accuracy's low): the blow-ups read
#   3.8-2,700x; nets that never learnt without a blow-up (deep saturating stacks, LRs far too low,
#   LSTMs crawling) start at 0.8-1.7x (an untrained net's loss is about ln C);
# - the loss's last quarter sits at 0.75-2x that loss (the runs read here 0.88-1.21x; >= 2x with
#   the accuracy at its floor is `above_chance`; a net that learnt ends far below);
# - the accuracy's best is within NEVER_ROSE (15 points) of its low: these runs 3-12 points, the
#   nearest other runs 20 (an oscillation), 25 (an LR decayed to 0 that let the net learn) and 26
#   points (a healthy Adagrad run on digits that also starts at 456).
BLOWN_START = 2.5
SETTLED_LOW, SETTLED_HIGH = 0.75, ABOVE_CHANCE
NEVER_ROSE = 0.15
# A loss that rose from its start (`early_rise`) on a classifier whose val loss never got clearly
# below the loss of guessing and ends at it, while the accuracy never rose far from its floor, was
# thrown off at once and sits at chance: a plateau (PLT005 / PLT008 read it, lower_lr first), not
# a divergence. The labeller's line is the full-batch loss ending >= 1.5x its untrained start,
# about ln C; the val loss's last quarter over ln(1 / the accuracy's low) reads that line
# (GUESS_RISE, the labeller's own 1.5), the val loss's minimum over it (>= NEVER_BELOW) says the net
# never learnt, and an accuracy that rose >= GAINED above its floor is a collapse after learning
# (the labeller's: 25 points above chance). Over gen2 s1-s4 and s9-s12, the first-generator pool
# and seeds 229/231, the early-rise calls on classifiers with a val loss: plateau-labelled ones end
# at 0.88-1.15x, never below 0.87x, gain 5-27 points (seven runs; an eighth gained 28 points and
# reached 0.77x); the divergences that never got below 0.85x end at >= 2.08x or gained >= 41
# points (a collapse the accuracy shows: 41 and 73 points at 1.22x and 1.04x).
GUESS_RISE = 1.5
NEVER_BELOW = 0.85
GAINED = 0.3
# A regression has no loss of guessing in the log, but its val loss says whether the net ended
# worse than it was: an early rise of the training trend (measured from its 3-point start) beside
# a val loss whose last quarter sits within VAL_AT_BEST of its minimum, and a training loss whose
# last quarter is under DIV_FACTOR x its first logged value, is a net back at (or stuck at) its
# level, not one that rose past its start and stayed (a warmup to NAdam 0.6 on Friedman: the
# per-step loss bounces 0.7-1.4 after a blow-up while the val loss sits at 1.067, the variance of
# the targets, for 30 evaluations). Over gen2 s1-s4 and s9-s12, the first-generator pool and seeds
# 229/231, the early-rise calls without an accuracy and with a val loss: the plateau-labelled five
# end their val loss at 1.00-1.03x its minimum and their training loss at 1.0-2.0x its first value;
# the divergences at 1.81x and above, or (val at 1.08x) with the training loss 17x its first value.
VAL_AT_BEST = 1.25
# A loss whose first logged value is hundreds of times the next three is a net that blew up before
# or at its first log line and came back down (Adagrad at LR 0.3 on a regression: 2e4 at step 25,
# then 10.7, 6.7, 5.3 ...). With no accuracy there is no loss of guessing to say where it came back
# to, but the blow-up and its cause are in the log: `first_log_blowup` is the first value over the
# median of the next three (loss curves of >= 8 positive points), and PLT009 reads it, with an LR
# far above the optimizer's range, as a stall whose first fix is the LR. gen2 s1-s4 and the
# first-generator pool, runs without an accuracy: the two plateau-labelled blow-ups read 1,230 and
# 2,990; every other run <= 176 (an oscillation at RMSprop 0.1; healthy runs <= 162), and <= 15
# among those at >= 10x their optimizer's usual LR.
FIRST_LOG_BLOWUP = 300.0
# Such a blow-up is still a divergence at the end of the run while the loss is still wearing it
# off: a net thrown far comes back down towards the level of an untrained one (predicting the
# mean), steeply at first; a loss still falling fast over its last half has not got back there
# (Adagrad at LR 1 on Friedman / diabetes: 1.5e4 -> 2.4, 9.4e4 -> 53, 5.8e8 -> 2e5 at the end of
# the run, each quarter well below the one before), where a net that came back and stalls is flat.
# Read on runs (regressions; classifiers with a val loss, see CLASSIFIER_WEARING) whose
# first logged loss is >= FIRST_LOG_BLOWN x the next three: the third quarter's median over the
# last quarter's is >= STILL_FALLING, and a logged val loss falls too (>= VAL_STILL_FALLING, same
# quarters: a memorising net's training loss falls 390x over its last half beside a flat val loss).
# gen2 s1-s4 and s9-s12, the first-generator pool, seeds 229/231, runs without an accuracy whose
# first value is >= 100x the next three: the runs labelled plateau or oscillation fall 0.95-1.27x,
# the divergences 1.41-2.34x (val 1.21-1.63x); the memorising healthy run 393x beside a val 0.98x.
# The margin is narrow (1.27 vs 1.41; cut 1.33, their geometric middle), the call's first action
# is lower_lr either way (PLT009's, on the same blow-up).
FIRST_LOG_BLOWN = 100.0
# ... and the blow-up is the first point alone: it is >= FIRST_LOG_ALONE x the second value too. A fast
# first descent is no blow-up however far it falls: a public Lightning LSTM regression logged every 50
# steps read 0.254, 0.120, 0.0018, 0.0012 ... 2.4e-5 (its sibling runs start at 0.250, the untrained
# level), 142x the next three but 2.1x the second, and was FAIL "rose to 142x ... training diverged".
# The wearing-off calls of the 14 tuning corpora (2,461 runs) read 116-1,421x their second value.
FIRST_LOG_ALONE = 10.0
STILL_FALLING = 1.33
VAL_STILL_FALLING = 1.1
# CLASSIFIER_WEARING: a classifier reads the same way when its val loss is logged and falls too: its
# loss of guessing (DIV007) reads only an accuracy stuck at its floor, and a net that blew up in its
# first epoch can classify well while its loss is still far above where an untrained one starts
# (cancer at RMSprop 0.1, Keras CSV: 2.1e4 at epoch 0, then 225 ... 1.0 at the end, val accuracy
# 93-99%, the val loss 166 -> 1.07; the labeller: the full-batch loss ends >= 1.5x its start). A
# classifier still learning after such a blow-up has both losses falling too, so its val loss must
# fall as steeply as the training loss (>= STILL_FALLING). gen2 s1-s4, classifiers whose first value
# is >= 100x the next three: the divergence falls 3.06x (val 1.88x); a healthy Adagrad net on digits
# 1.24x (val 1.07x), the plateaus 0.98-1.01x (val 0.91-1.03x), the overfitting runs 1.17-2.23x
# beside a val loss at 0.96-1.0x. A train-only classifier has no such witness (a memorising net's
# training loss falls for ever) and is not read this way.
# ... and one that logged two values, the second >= LAST_BLOWUP x the first (Keras CSV of SGD
# momentum 0.99: epoch 0 at 8.5, epoch 1 at 1.5e6, then the run died): no trend needed for that


# VAL_ONLY: a log with no training loss (validation-only logging: an eval callback, a Keras CSV
# of `val_*` columns) has only its val loss to read a blow-up from, and a val loss that falls and
# then climbs is what overfitting looks like there too. Its climb (the trend past 2.5x its start,
# a relapse to the start, a second half above it, or an end >= 2.5x the first value) is no
# divergence while the run's accuracy says the net still classifies: a val accuracy whose 10th
# percentile stays above a coin flip (> 50%) and whose last quarter is within ACC_HELD (10 points)
# of its best. Without an accuracy (a regression), the climb must stay under VAL_ONLY_FACTOR x the first
# logged value (the trend's peak and the last quarter) not to be a blow-up. Non-finite values,
# astronomical or repeated spikes, a collapse of the accuracy and a loss far above the loss of
# guessing (DIV007) still read as before, and so does a val loss that reached HUGE (1,000) x its
# first value. gen2 seed 1 logged val-only (bench/conventions.py valonly): the overfitting-labelled
# classifiers read as divergence lose 0-7 points of accuracy from their best at a 10th percentile
# of 56-96%; the divergences 26-47 points, or sit at chance (10th percentile <= 31%), but for one
# momentum-0.99 run (71%, 7 points; its val loss at 10.4x ln 2, which DIV007 reads). The
# overfitting regressions' val losses peak at 1.36-1.68x their first value, the divergence's at
# 148x (last quarter 4.6x). Held out (gen2 seeds 2, 3, 11 and the first generator's seed 11
# written val-only after the cuts were set): overfitting runs read as divergence gain their label
# (their val losses at most 92.7x their first value) and a healthy run loses its false alarm; five
# momentum-0.99 / SGD divergences whose val accuracy held (drops of 2-10 points at 67-96%) look the
# same in such a log and are lost. The HUGE guard came after: it keeps a warmup to a blow-up on
# Friedman (seed 2, no accuracy, a val loss at 2,090x its first value) a divergence.


def _smooth(y: np.ndarray, frac: float = 0.02) -> np.ndarray:
    """Running median over `frac` of the points (>= 5, shrinking at the edges): a rise must
    last to count, and the first point alone cannot make the trend's start."""
    n = len(y)
    if n < 3:
        return y.copy()
    return running_median(y, odd(max(5, int(round(n * frac)))))


def _blowup(x: np.ndarray, y: np.ndarray) -> dict:
    """The loss trend climbing to DIV_FACTOR x its start (or, for losses that are not positive,
    DIV_FACTOR - 1 times its start's magnitude or its fall above the start).

    The trend is a running median over a tenth of the points (the labellers' trend): a loss that
    swings between batches (unshuffled data, a too-high LR) has deep troughs, and a running
    minimum of a short-window trend would call the next swing an explosion. Kind: `early_rise`
    when the trend never got clearly below its start before climbing (seed 003's red curve),
    `explosion` when it first learnt and then blew up. Also returns the evidence ratios:
    the largest trend / running minimum (`ratio`) and the early window's median / start.
    """
    xs, ys = (x, y) if len(y) <= 4000 else bin_medians(x, y, 2000)[:2]
    n = len(ys)
    s = _smooth(ys, 0.1)
    k = 3 if n >= 20 else 1  # the labellers' start (median of 3); a short curve's 2nd point is already far in
    start = float(median(ys[:k]))
    runmin = np.minimum.accumulate(s)
    positive = bool(np.min(s) > 0)
    span = max(float(np.max(s) - np.min(s)), 1e-300)
    if positive:
        ratio = s / np.maximum(runmin, 1e-300)
        threshold = DIV_FACTOR * start if start > 0 else math.inf
    else:
        ratio = 1.0 + (s - runmin) / np.maximum(np.maximum(start - runmin, 0.05 * span), 1e-300)
        threshold = start + (DIV_FACTOR - 1) * max(abs(start), start - float(np.min(s)), 1e-300)
    # how far the trend climbed above its start (DIV003's evidence). It was the median of the first
    # 30% of the steps over the start, which reads 1x for a loss that sat at its start before
    # blowing up at mid-run (4,086x) or for a three-point log whose first 30% is its start alone
    peak = float(np.max(s))
    early_ratio = peak / start if start > 0 else 1.0 + (peak - start) / span
    out = {"ratio": float(np.max(ratio)), "early_ratio": float(early_ratio), "kind": None, "onset": None}
    over = np.flatnonzero(s > threshold)
    if not len(over) and _stopped_blown_up(ys):
        # the run stopped on a loss 100x its start (a guard like `loss > 1e6: stop`, or the job
        # crashed): one point, but the last one, so no trend will ever show it. Per-step losses
        # that hit exactly 0 between their spikes count too (their trend is not positive).
        out.update(kind="explosion", onset=float(xs[-1]), ratio=float(ys[-1] / max(float(runmin[-1]), 1e-300)))
        return out
    if not len(over):
        if positive and start > 0 and n >= 8:
            return _came_back(xs, ys, s, start, out)
        return out
    c = int(over[0])
    learnt_first = bool(np.min(s[: c + 1]) < start - 0.1 * max(abs(start), 1e-300)) if positive else \
        bool(np.min(s[: c + 1]) < start - 0.1 * span)
    if learnt_first:
        # onset: the last raw point before the climb still near the minimum reached so far
        seg = ys[: c + 1]
        if positive and np.all(seg > 0):
            ls = np.log(seg)
            low = np.minimum.accumulate(ls)
            tol = max(3 * diff_sigma(ls[: max(5, len(ls) // 2)]), 0.1 * (ls.max() - low[-1]))
            near = np.flatnonzero(ls - low <= tol)
        else:
            low = np.minimum.accumulate(seg)
            near = np.flatnonzero(seg - low <= 0.1 * (seg.max() - low[-1]))
        j = int(near[-1]) if len(near) else 0
        out.update(kind="explosion", onset=float(xs[j]), trend_peak=peak)
    else:
        calm = np.flatnonzero(s[: c + 1] <= start + 0.1 * (threshold - start))
        out.update(kind="early_rise", onset=float(xs[int(calm[-1])]) if len(calm) else float(xs[0]))
    return out


def _guessing(curves: Curves, min_points: int = MIN_POINTS) -> tuple[float, float, np.ndarray] | None:
    """(the loss of guessing, the accuracy's low, the accuracy as fractions) of a classifier, or None
    without an accuracy of >= `min_points` evaluations: the one place the loss of guessing is derived.

    The low is the accuracy's 10th percentile, floored at GUESS_LOW (an accuracy at 0 bounds no
    chance level, and ln(1 / 0) is no loss); the loss of guessing is ln(1 / low) for a low at or
    under a coin flip, and ln 2 for one above it (C is unknown, but no C makes ln 2 a bound: see
    ABOVE_CHANCE, ABOVE_LN2)."""
    acc = _accuracy(curves)
    if acc is None or len(acc[1]) < min_points:
        return None
    ay = acc[1]
    low = max(float(np.percentile(ay, 10)), GUESS_LOW)
    return (math.log(1.0 / low) if low <= COIN_FLIP else math.log(2.0)), low, ay


def _far_below_guessing(curves: Curves, peak: float | None) -> bool:
    """A classifier's loss trend whose peak stays under FAR_BELOW x the loss of guessing (see
    FAR_BELOW): its climb is the batch noise of a net that classifies, not a blow-up."""
    g = _guessing(curves)
    return peak is not None and g is not None and peak < FAR_BELOW * g[0]


def _came_back(xs: np.ndarray, ys: np.ndarray, s: np.ndarray, start: float, out: dict) -> dict:
    """Below the explosion threshold: a loss that learnt and came back to its start (`relapse`), or
    whose second half sits above its start (`early_rise`). Vectorised over the trend `s`."""
    n = len(s)
    i_min = int(np.argmin(s))
    tail = float(median(ys[-max(2, n // 10):]))
    second = float(median(s[n // 2:]))
    back_at_start = tail >= RELAPSE * start and bool(np.all(s[-max(2, n // 10):] >= RELAPSE * start))
    brief = False
    if back_at_start and s[i_min] > LEARNT * start:  # the short median only where it can decide
        short = _smooth(ys, 0.02)
        brief = float(np.min(short)) <= LEARNT_BRIEF * start
        if brief:
            i_min = int(np.argmin(short))
    if back_at_start and (s[i_min] <= LEARNT * start or brief):
        # onset: where the trend left its minimum for good (the last point within 10% of the
        # fall above the minimum before the climb)
        back = np.flatnonzero(s[: i_min + 1] <= s[i_min] + 0.1 * (start - s[i_min]))
        j = i_min + int(np.argmax(s[i_min:] > s[i_min] + 0.1 * (start - s[i_min]))) - 1
        trend = short if brief else s  # the trend the fall was read on
        onset = max(j, int(back[-1]) if len(back) else i_min, _lowest_before_return(ys, trend, RELAPSE * start))
        out.update(kind="relapse", onset=float(xs[onset]))
    elif second >= ABOVE_START * start and tail >= ABOVE_START * start:
        above = np.flatnonzero(s > start)
        out.update(kind="early_rise", onset=float(xs[int(above[0])]) if len(above) else float(xs[0]))
    return out


def _acc_collapse(curves: Curves, x: np.ndarray, y: np.ndarray) -> float | None:
    """Onset x of a collapse to chance seen in the accuracy, or None.

    A net that learns and is then wrecked by its LR (SGD momentum 0.99, SGD at 0.6-1) ends up
    predicting one class: its accuracy falls from its best back to the class share while the
    loss returns to where it started. The per-step loss is too noisy to show the relapse on its
    own (its trend may never get to 70% of the start); the accuracy's fall of >= 20 points,
    together with the loss (x, y) back at >= 80% of a start it had once fallen 10% below (or
    ending >= 11% above its first logged value: worse than the net it started from), does.
    Overfitting also loses accuracy, but its training loss stays low; a stall never gains 20
    points to lose. The evidence must rest on >= 16 evaluations: a net bouncing at too high an
    LR evaluated 8 times (the built-in lr-oscillates) can show a 20-point fall in its last two.
    """
    acc = _accuracy(curves)
    if acc is None:
        return None
    ax, ay = acc
    n = len(ay)
    if n < ACC_SHORT_POINTS or len(y) < 8:
        return None
    k = max(3, n // 4)
    i_peak = int(np.argmax(ay[:-k]))
    tail = float(median(ay[-k:]))
    start = float(median(y[:3]))
    loss_tail = float(median(y[-max(3, len(y) // 10):]))
    # it learnt: the loss (a short running median) got below 90% of its start at some point; a
    # run whose loss never fell (a probe logging per-batch accuracy) has only noise to lose
    # a blow-up inside the first three points is not the start level (SGD momentum 0.9 at LR 0.5:
    # 2.25, 5.56, 2.69, then ln 10 to the end is a net that never learnt)
    first = float(y[0])
    base = min(start, first) if first > 0 else start
    learnt = float(np.min(_smooth(y, 0.02))) <= ACC_LEARNT * base
    # ... or the loss ends worse than its first logged value (>= 1/ACC_LEARNT of it): an
    # epoch-level log's first point is the first epoch's average, often the only one from before
    # the wreck (SGD at LR 1 on blobs: 1.26, then 35.7 and ~1.81 to the end while the accuracy
    # falls from 72% to the 1-in-6 chance; momentum 0.99: 0.61 -> ~0.79, accuracy 81% -> 50%).
    # Accuracy down by 20 points and the loss up is a wrecked net, not a stall or overfitting.
    # The accuracy must then be a validation accuracy, or a training accuracy measured on many
    # samples (see ACC_FINE): its peak may be a single evaluation, which on a fixed set is evidence of
    # learning, while one per-batch training accuracy of 32 samples (a Lightning probe at chance:
    # 37.5% once, then 0-28%) is noise.
    evaluated = curves.get("val_acc") is not None or _fine_grained(ay)
    low = float(np.percentile(ay, 10))
    # (the accuracy must have shown the learning the loss's first point hides: its peak >= ACC_GAIN above its
    # low, the labellers' "beat chance by 25 points"; SGD 0.5 momentum 0.9 on 4 classes, 43% at its first
    # evaluation and 21-27% after, its loss 1.27 then ln 4, never learnt: a plateau)
    worse = evaluated and first > 0 and loss_tail * ACC_LEARNT >= first and ay[i_peak] - low >= ACC_GAIN
    # ... or the val accuracy itself shows the learning and the wreck: >= ACC_GAIN above the best of
    # its last quarter, which ends flat (its median within ACC_FLOOR of its low, i.e. chance), the
    # labeller's own definition of a collapse. An epoch average hides the loss's dip (digits at SGD 0.5 momentum 0.9: loss 2.1,
    # 2.94, then ln 10; val accuracy 33%, 44%, then 7-11%); a net killed from the start never gets
    # that far above chance (30% once on 10 classes).
    shown = evaluated and ay[i_peak] - float(np.max(ay[-k:])) >= ACC_GAIN and tail <= low + ACC_FLOOR
    if n < ACC_MIN_POINTS:
        # a short record (see ACC_SHORT_POINTS): its last quarter at the accuracy's floor and the loss
        # there at the loss of guessing
        g = _guessing(curves, ACC_SHORT_POINTS)
        if g is None or tail > g[1] + ACC_FLOOR or loss_tail < SETTLED_LOW * g[0]:
            return None
    if start > 0 and (learnt or worse or shown) and ay[i_peak] - tail >= ACC_DROP and loss_tail >= ACC_LOSS_BACK * base:
        return float(ax[i_peak])
    return None


def _collapse_at_guessing(curves: Curves, y: np.ndarray) -> tuple[float, float, float, float] | None:
    """(onset x, the accuracy's peak, the best of its last quarter, the loss's last tenth / the loss
    of guessing) of a collapse read from the accuracy and the loss of guessing alone, or None (see
    BACK_AT_GUESS). The accuracies are in the log's units; the onset is the accuracy's peak."""
    logged = _accuracy_logged(curves)
    if logged is None or len(y) < 8:
        return None
    ax, raw, scale = logged
    ay = raw / scale
    n = len(ay)
    g = _guessing(curves, ACC_SHORT_POINTS)
    if n < ACC_SHORT_POINTS or g is None or not (curves.get("val_acc") is not None or _fine_grained(ay)):
        return None
    k = max(3, n // 4)
    i_peak = int(np.argmax(ay[:-k]))
    best_tail = float(np.max(ay[-k:]))
    over_guess = float(median(y[-max(3, len(y) // 10):])) / g[0]
    if float(ay[i_peak]) - best_tail < ACC_GAIN or over_guess < SETTLED_LOW:
        return None
    return float(ax[i_peak]), float(ay[i_peak]) * scale, best_tail * scale, over_guess


def _fine_grained(ay: np.ndarray) -> bool:
    """The accuracy `ay` (fractions) steps by <= ACC_FINE between its distinct values: measured on
    >= 100 samples at a time (an evaluation, or an epoch's average), not one batch (see ACC_FINE)."""
    steps = np.diff(np.unique(ay))
    return bool(len(steps)) and float(np.min(steps)) <= ACC_FINE


def _accuracy(curves: Curves) -> tuple[np.ndarray, np.ndarray] | None:
    """The run's accuracy (validation first), as a fraction, or None when none is logged."""
    logged = _accuracy_logged(curves)
    return None if logged is None else (logged[0], logged[1] / logged[2])


def _accuracy_logged(curves: Curves) -> tuple[np.ndarray, np.ndarray, float] | None:
    """The run's accuracy (validation first) as logged, and its scale (100 for percent, else 1)."""
    a = curves.get("val_acc") or curves.get("train_acc")
    if a is None or curves.higher_is_better.get(a.role) is False:
        return None
    ax, ay = finite_xy(a)
    return ax, ay, percent_scale(ay)


def _step_too_small_to_blow_up(curves: Curves) -> bool:
    """The logged LR is under LR_CAN_BLOW_UP x the top of its optimizer's usual range (Adam's, the
    lowest top, when the optimizer is unknown): a loss far above the loss of guessing is then on
    another scale (a summed loss), not blown-up logits (see LR_CAN_BLOW_UP)."""
    lr_ratio = lr_over_usual_bound(curves.hparams, most=True)
    return lr_ratio is not None and lr_ratio < LR_CAN_BLOW_UP


def _above_chance(curves: Curves, x: np.ndarray, y: np.ndarray, training: bool) -> tuple[float, float] | None:
    """(onset x, ratio) of a classifier loss sitting far above the loss of guessing, or None.

    See ABOVE_CHANCE: the ratio is the loss's last quarter over ln(1 / the accuracy's low); for a
    `training` loss beside an accuracy never down to 50%, see ABOVE_LN2."""
    g = _guessing(curves, MIN_DIV_POINTS)
    if g is None or len(y) < MIN_DIV_POINTS:
        return None
    if _step_too_small_to_blow_up(curves):
        return None  # a loss on another scale (a summed loss), not blown-up logits
    guess, low, ay = g
    loss_tail = last_quarter_level(y)
    if low > COIN_FLIP:
        # never near a coin flip: C is unknown, but no C makes ln(2) a bound. A loss >= 10 x ln 2
        # that does not even fall (last quarter >= half its first value) while the net classifies
        # at > 50% is exploded logits (moons at SGD 1.0, batch 8: 12-16 per epoch, accuracy 75-85%);
        # a summed loss of a learning net falls (by more than 1 - NOT_FALLEN).
        ratio = loss_tail / guess
        cut = ABOVE_LN2 if training else FAR_ABOVE_CHANCE
        if ratio >= cut and y[0] > 0 and loss_tail >= NOT_FALLEN * float(y[0]):
            over = np.flatnonzero(y >= cut * guess)
            return float(x[int(over[0])] if len(over) else x[0]), ratio
        return None
    ratio = loss_tail / guess
    acc_tail = last_quarter_level(ay)
    flat = acc_tail <= low + ACC_FLOOR
    not_learnt = acc_tail <= min(2 * low, low + 0.5 * (1.0 - low))
    blown_from_first = not training and ratio >= VAL_ABOVE_GUESS and y[0] > 0 \
        and loss_tail <= VAL_NOT_CLIMBED * float(y[0])
    if not ((ratio >= ABOVE_CHANCE and flat) or (ratio >= FAR_ABOVE_CHANCE and not_learnt) or blown_from_first):
        return None
    over = np.flatnonzero(y >= ABOVE_CHANCE * guess)
    return float(x[int(over[0])] if len(over) else x[0]), ratio


def _both_above_guessing(curves: Curves, x: np.ndarray, y: np.ndarray) -> tuple[float, float] | None:
    """(onset x, ratio) of a classifier whose training loss `y` and val loss (>= 5 evaluations) both
    end at >= VAL_ABOVE_GUESS x the loss of guessing while its accuracy's last quarter is no better
    than a coin flip, or None (see BOTH_ABOVE_GUESS). The ratio is the lower of the two last-quarter
    medians over that loss; the onset the first training value at that level."""
    g = _guessing(curves)
    _, vy = finite_xy(curves.get("val_loss"))
    if g is None or len(y) < MIN_POINTS or len(vy) < MIN_POINTS:
        return None
    if _step_too_small_to_blow_up(curves):
        return None  # a loss on another scale (a summed loss), not blown-up logits
    guess, _, ay = g
    if last_quarter_level(ay) > COIN_FLIP and not _blown_at_first_log(y, guess):
        return None  # a net that classifies: a summed loss of a learning net reads as high
    ratio = min(last_quarter_level(y), last_quarter_level(vy)) / guess
    if ratio < VAL_ABOVE_GUESS:
        return None
    over = np.flatnonzero(y >= VAL_ABOVE_GUESS * guess)
    return float(x[int(over[0])] if len(over) else x[0]), ratio


def _blown_at_first_log(y: np.ndarray, guess: float) -> bool:
    """A training loss whose first logged value is a blow-up (>= FIRST_LOG_BLOWN x the next three) and
    whose last quarter is still >= ABOVE_LN2 x the loss of guessing: its height is the blow-up's, not a
    summed loss's scale, so a net that classifies does not clear it (see BOTH_ABOVE_GUESS).

    A summed loss starts at B x ln C and falls with the net; it does not drop 100x between its first two
    log lines. Cancer at RMSprop 0.1 (Lightning CSV, gen2 g44 0014, labelled divergence: the full-batch
    loss ended >= 1.5x its untrained start): epoch 0 at 1.9e5, then 478, 44 ... 1.95 (2.8x ln 2) with
    the val loss at 38 (55x) and the val accuracy 96%. Over the 13 tuning corpora of session 24 the runs
    with such a first value and an accuracy above a coin flip read <= 2.3x / 3.9x on the two losses
    (Adagrad 1.0 on cancer, labelled plateau) but that one (5.3x / 53x)."""
    head = _first_log_blowup(y)
    return head is not None and head >= FIRST_LOG_BLOWN and last_quarter_level(y) >= ABOVE_LN2 * guess


def _settled_after_blowup(curves: Curves, y: np.ndarray) -> float | None:
    """The first three logged losses' max / the loss of guessing, for a classifier whose loss ends
    at the loss of guessing while its accuracy never rose (see BLOWN_START), or None. Near 1 for a
    net stuck at chance from its first step; PLT008 reads >= BLOWN_START as a blow-up."""
    g = _guessing(curves)
    if g is None or len(y) < MIN_POINTS or not np.all(y > 0):
        return None
    guess, low, ay = g
    if low > COIN_FLIP or float(np.max(ay)) - low > NEVER_ROSE:
        return None
    head = float(np.max(y[:3])) / guess
    settled = last_quarter_level(y) / guess
    if not SETTLED_LOW <= settled < SETTLED_HIGH:
        return None
    return head


def _back_at_guessing(curves: Curves) -> bool:
    """A classifier's val loss (>= 5 evaluations) that never got below NEVER_BELOW x the loss of
    guessing and ends under GUESS_RISE x it, while the accuracy never rose GAINED above its floor
    (see GUESS_RISE)."""
    g = _guessing(curves)
    _, vy = finite_xy(curves.get("val_loss"))
    if g is None or len(vy) < MIN_POINTS:
        return False
    guess, low, ay = g
    if low > COIN_FLIP or float(np.max(ay)) - low >= GAINED:
        return False
    tail = last_quarter_level(vy, 2)
    return float(np.min(vy)) >= NEVER_BELOW * guess and tail < GUESS_RISE * guess


def _val_at_its_best(curves: Curves, y: np.ndarray) -> bool:
    """No accuracy logged, a val loss (>= 5 evaluations) whose last quarter is within VAL_AT_BEST of
    its minimum, and a training loss `y` ending under DIV_FACTOR x its first value (see VAL_AT_BEST)."""
    if _accuracy(curves) is not None or not len(y) or not y[0] > 0:
        return False
    return _val_end_at_best(curves) is not None and not _ends_far_above_first_value(y)


def _val_end_at_best(curves: Curves) -> tuple[float, float] | None:
    """(last-quarter median, first evaluation) of a positive val loss of >= 5 evaluations whose last
    quarter is within VAL_AT_BEST of its minimum, or None: a val loss that ends at its best."""
    _, vy = finite_xy(curves.get("val_loss"))
    if len(vy) < MIN_POINTS or not np.all(vy > 0):
        return None
    tail = last_quarter_level(vy, 2)
    return (tail, float(vy[0])) if tail <= VAL_AT_BEST * float(np.min(vy)) else None


def _first_log_blowup(y: np.ndarray) -> float | None:
    """The first logged loss / the median of the next three (see FIRST_LOG_BLOWUP), or None."""
    if len(y) < 8 or not np.all(y > 0):
        return None
    return float(y[0]) / float(median(y[1:4]))


def _fall_over_last_half(y: np.ndarray) -> float | None:
    """The third quarter's median over the last quarter's (>= 8 points), or None."""
    n = len(y)
    q = n // 4
    if n < 8 or q < 2:
        return None
    last = float(median(y[n - q:]))
    return float(median(y[n - 2 * q:n - q])) / last if last > 0 else None


def _still_wearing_off(curves: Curves, y: np.ndarray) -> float | None:
    """The first logged value over the next three, for a run that blew up at its first log line and
    is still coming down at its end (see STILL_FALLING), or None. A classifier needs its val loss
    as the witness (see CLASSIFIER_WEARING)."""
    head = _first_log_blowup(y)
    if head is None or head < FIRST_LOG_BLOWN or not float(y[0]) >= FIRST_LOG_ALONE * float(y[1]):
        return None
    fall = _fall_over_last_half(y)
    if fall is None or fall < STILL_FALLING:
        return None
    classifier = _accuracy(curves) is not None
    _, vy = finite_xy(curves.get("val_loss"))
    if len(vy) >= 8 and np.all(vy > 0):
        vfall = _fall_over_last_half(vy)
        if vfall is None or vfall < (STILL_FALLING if classifier else VAL_STILL_FALLING):
            return None
    elif classifier:
        return None
    return head


def _mean_climbs(y: np.ndarray) -> tuple[int, float] | None:
    """(index where the climb shows, ratio) of a training loss whose quarter means rise quarter after
    quarter to >= DIV_FACTOR x its level (the larger of its 3-point start and its median), or None
    (>= MEAN_MIN_POINTS non-negative values; see MEAN_CLIMB). The index is the first point of the
    first quarter whose mean is over that line."""
    n = len(y)
    if n < MEAN_MIN_POINTS or float(np.min(y)) < 0:
        return None
    q = n // 4
    means = np.array([float(np.mean(y[i * q:(i + 1) * q])) for i in range(3)] + [float(np.mean(y[3 * q:]))])
    level = max(float(median(y[:3])), float(median(y)))
    if level <= 0 or not np.all(np.diff(means) > 0) or means[-1] < DIV_FACTOR * level:
        return None
    return int(np.argmax(means >= DIV_FACTOR * level)) * q, float(means[-1] / level)


def _repeated_blowups(x: np.ndarray, y: np.ndarray) -> tuple[float, float] | None:
    """(onset x, ratio) when >= HUGE_COUNT logged values reach HUGE x the loss's level, or None."""
    if len(y) < MIN_DIV_POINTS:
        return None
    level = max(float(median(y[:3])), float(median(y)))
    if level <= 0:
        return None
    huge = np.flatnonzero(y >= HUGE * level)
    if len(huge) < HUGE_COUNT:
        return None
    return float(x[int(huge[0])]), float(np.max(y) / level)


def _astronomical_spike(x: np.ndarray, y: np.ndarray) -> tuple[float, float] | None:
    """(onset x, height) of a logged value >= ASTRONOMICAL x the loss's level, or None.

    The height is the largest value over the higher of the median (whole curve and last quarter)
    and the lower of its neighbours (the first value instead, when the peak climbed from it); the
    onset is the first value >= HUGE x that level (where the blow-up began, which may be a few
    points before its peak)."""
    n = len(y)
    if n < MIN_POINTS or not np.all(y > 0):
        return None
    i = int(np.argmax(y))
    neighbours = [float(y[j]) for j in (i - 1, i + 1) if 0 <= j < n]
    # (the neighbours guard a first value the loss fell from for good; a peak after the first value,
    # reached by a climb from it, is measured from that first value too, whatever its neighbours: Adagrad
    # at LR 0.3 logs 0.88, 2.4e3, 1.4e6, 1.5e5, then ~0.7 to the end, a peak 590x its lower neighbour and
    # 1.6e6x where the run began, labelled a blow-up; a climb to 1.8e5x its first value, Adagrad at LR 1.0
    # on diabetes logging 1.25, 1.4e4, 2.2e5, 1.8e4 ..., stays under ASTRONOMICAL and is read as before)
    local = min(neighbours) if i == 0 or float(y[0]) >= float(min(neighbours)) else max(float(y[0]), 1e-300)
    level = max(float(median(y)), last_quarter_level(y, 2), local)
    height = float(y[i]) / level
    if height < ASTRONOMICAL:
        return None
    start = np.flatnonzero(y >= HUGE * level)
    return float(x[int(start[0])] if len(start) else x[i]), height


def _accuracy_drop(curves: Curves) -> float | None:
    """How far the accuracy's last quarter sits below its best (>= 5 evaluations), or None."""
    acc = _accuracy(curves)
    if acc is None or len(acc[1]) < MIN_POINTS:
        return None
    ay = acc[1]
    return float(np.max(ay) - last_quarter_level(ay))


def _recovered(y: np.ndarray, curves: Curves) -> bool:
    """An early rise the loss came back from: its last quarter <= LEARNT x its start, and no
    accuracy that fell by ACC_DROP says the net was wrecked on the way.

    A warmup to a too-high peak, or one bad stretch, can push the loss's trend past 2.5x its start;
    a loss that then falls to below 70% of where it began, and stays there, has learnt: the
    labeller's spike "that comes back down", for the oscillation and spike detectors to judge
    (a Friedman MLP under a warmup: 0.58 -> 1.75 -> 0.21; SGD at batch 4 on wine: 1.09 -> 6.2 ->
    ~0). A net wrecked by its blow-up shows it in its accuracy even when its loss comes back down
    (SGD momentum 0.99 on 4 classes: loss 1.9 -> 43 -> 1.6, val accuracy 63% -> 27%)."""
    drop = _accuracy_drop(curves)
    learnt = _ends_below(y, LEARNT)
    if not learnt and not _coming_down(y, drop):
        return False
    # a val loss that stays blown up says the net did not come back (cancer at SGD 2.0: the
    # training loss 1.5e3 -> 7e14 -> 0.017, the val loss 546 -> 6.3e13 to the end); one still coming
    # down is held to the training loss's bound (BACK_NEAR_START). Blown up is VAL_STAYS_BLOWN x its start:
    # a val loss that climbed 2-29x while the training loss came back below 70% of its start is the net
    # overfitting after a bad stretch, the labellers' reading (a warmup to NAdam 0.6 / Adam 0.3 on cancer:
    # training 0.22 -> 57 -> 0.12, val 0.21 -> 63 -> 4.2; five such runs labelled overfitting were DIV003
    # "never gets below its start", one labelled oscillation), while the divergences whose training loss
    # came back are read off their accuracy (ACC_DROP). Over the 17 tuning corpora any bar from 30x to
    # 1000x gives the same verdicts; at 1x (the bar before) those six were divergences
    _, vy = finite_xy(curves.get("val_loss"))
    if len(vy) >= MIN_POINTS and not _ends_below(vy, VAL_STAYS_BLOWN if learnt else BACK_NEAR_START):
        return False
    return drop is None or drop < ACC_DROP


def _lowest_before_return(ys: np.ndarray, s: np.ndarray, bar: float) -> int:
    """The index of the lowest logged point before the trend `s` climbs back to `bar` for good: a climb
    back to the start begins at or after it.

    The trend's minimum (a running median over a tenth of the points, or the short one of a brief fall)
    can sit before the loss's lowest logged point: SGD momentum 0.99 on blobs logs 1.85, 1.25, 0.22 ...
    0.58 and an exact 0 at step 44, then blows up at step 50; the trend left its minimum at step 8.
    Read from the trend alone, the relapse "climbed back from step 8" after falling "to 0 at step 44"
    (42 of the 92 DIV006 calls over session 26's 19 tuning corpora told their story backwards), and
    the checkpoint to keep came after the climb."""
    below = np.flatnonzero(s < bar)
    end = int(below[-1]) + 1 if len(below) else 0
    return int(np.argmin(ys[: end + 1]))


def _coming_down(y: np.ndarray, drop: float | None) -> bool:
    """An early rise still coming back down at the end, with an accuracy that kept its level: the
    loss's last quarter under BACK_NEAR_START x its start, its third quarter >= COMING_DOWN x its
    last, and the accuracy's last quarter within ACC_HELD of its best (see COMING_DOWN)."""
    if drop is None or drop >= ACC_HELD:
        return False
    r, fall = _end_ratio(y), _fall_over_last_half(y)
    return r is not None and fall is not None and r < BACK_NEAR_START and fall >= COMING_DOWN


def _came_back_to_learnt(y: np.ndarray, curves: Curves) -> bool:
    """A trend explosion the training loss came back from, with an accuracy that never lost its
    level: the loss's last quarter <= LEARNT x its start and the accuracy's last quarter (validation
    first, else training) within ACC_HELD of its best.

    The labeller's divergences are a full-batch loss whose last quarter sits >= 1.5x its start, one
    back at >= 90% of its start at the end, or a val accuracy back at chance: none of them ends
    with a training loss far below its start and an accuracy at its best. A per-batch loss at a
    too-high LR can still bounce far above its running minimum for a while before it settles (gen2
    s11: cancer at NAdam 0.2, batch 16, cosine decay, its batch loss 0.1-18 over the first 40% of
    the run, then exactly 0 to the end, train accuracy 100%, val accuracy 96.5% against a best of
    97.3%; the val loss ends at 3.1x its start, an overconfident net's few wrong answers, so
    `_recovered`'s val-loss test cannot be used here). Over gen2 s1-4, 9-11, 15 and the
    first-generator pool, that run is the only trend explosion this clears: it reads 0.0x / 0.9
    points; the explosions labelled divergence nearest to it end at >= 0.93x their start, or drop
    >= 14 points of accuracy (0.99x, 14 points: gen2 0068 momentum 0.99), and the one that ends
    below (gen2 s10 0171, 0.05x, 0 points) stopped on a blow-up at its last point, which is not
    a trend explosion (and its grad norm calls it anyway). Without a logged accuracy (a regression)
    the val loss speaks for the net, as it does for an early rise (`_val_at_its_best`, VAL_AT_BEST):
    a training loss back below LEARNT x its start beside a val loss that ends within VAL_AT_BEST of
    its minimum has come back (gen2 s47 0254, Friedman under a linear warmup to Adam 0.3: the batch
    loss 0.90 -> 7.2 at the peak -> 0.06, the val loss 0.34 -> 3.0 -> 0.19, its best; labelled
    healthy). Over the 19 tuning corpora of session 26 (3,373 runs) that run is the only call this
    clears; the two regressions labelled divergence whose training loss ends below LEARNT x its start
    are read elsewhere (one stopped on a blow-up, a last batch loss of 1.3e7; one logged 1e8 first and
    thousands to the end, Adagrad at 1.0, a blow-up still wearing off)."""
    if not _ends_below(y, LEARNT):
        return _val_learnt(y, curves)
    drop = _accuracy_drop(curves)
    if drop is None:
        return _val_at_its_best(curves, y)
    return drop < ACC_HELD


# VAL_LEARNT: ... and a trend explosion of a per-batch loss whose val loss ends at its best (its last
# quarter within VAL_AT_BEST of its minimum and below its first evaluation), at most half the loss of
# guessing, beside an accuracy within ACC_HELD of its best and a training loss that never logged a
# value HUGE x its median: the net is learning on the held-out set, and the climb is the batch noise of
# a tiny batch read against a start the noise set (moons at SGD 1.0, batch 4: the first logged batch
# loss 6.9e-7, the next 0.54 and 0.17, a trend wandering 0.2-0.47 "2.8x its start" while the val loss
# fell 0.51 -> 0.23 at ln 2 = 0.69 and the val accuracy rose 86% -> 91%; labelled healthy). Over the 13
# tuning corpora of session 24 (2,267 runs) the divergence calls with a val loss at its best are 18: the
# divergences among them end at or above the loss of guessing (ln 10 = 2.3 on digits, 19-48 on 2-4
# classes) or logged values >= 1e4x their median; that healthy run is the one this clears.
VAL_LEARNT = 0.5


def _val_learnt(y: np.ndarray, curves: Curves) -> bool:
    """The val loss says the net learnt though its training loss's trend climbed (see VAL_LEARNT)."""
    g = _guessing(curves)
    drop = _accuracy_drop(curves)
    at_best = _val_end_at_best(curves)
    if g is None or drop is None or drop >= ACC_HELD or at_best is None:
        return False
    tail, first = at_best
    level = float(median(y))
    return bool(tail < first and tail <= VAL_LEARNT * g[0] and level > 0 and float(np.max(y)) < HUGE * level)


def _stopped_blown_up(y: np.ndarray) -> bool:
    """The last logged value is >= LAST_BLOWUP x the start (the median of the first three points, the
    first point of a log under 20) and x the median: the run stopped on a blow-up (see STOPPED)."""
    return len(y) >= MIN_DIV_POINTS and _blown_up_value(float(y[-1]), y)


def _blown_up_value(value: float, y: np.ndarray) -> bool:
    """`value` >= LAST_BLOWUP x the start of the loss `y` (the median of its first three points, its first
    point for a log under 20) and x its median, and above its first logged value.

    (The last bar: a net that memorises its training set logs exact zeros, and with most of its points
    and two of its first three at 0 the start and median are ~0, so a last loss of 1.4e-5 read as 100x
    both, "rose to 1.45e+295x": gen2 s42 0252, cancer at Adagrad 1.0, labelled healthy. A run that
    stopped blown up ends far above where it started.)"""
    start = float(median(y[:3 if len(y) >= 20 else 1]))
    return start > 0 and value >= LAST_BLOWUP * max(start, float(median(y))) and value > float(y[0])


def _blew_up_after_last_log(tail: UnloggedTail | None, y: np.ndarray) -> bool:
    """The steps after the last logged training loss averaged a non-finite loss, or >= LAST_BLOWUP x the
    start and the median of the logged ones (the `_stopped_blown_up` bar): a run that blew up between its
    last log line and its end (`advisor.roles.unlogged_tail`, the HF Trainer's final train_loss). A
    first-generator run, wine at SGD 1.0 with momentum 0.9, logged 1.09 and 13.2 at steps 5 and 10 and
    stopped at step 14 with a run mean of 2.9e9: steps 11-14 averaged 1.0e10. The tails of real
    transformers logs (Whisper, a CPT seq2seq, a stress classifier, an RLHF run) read 0.87-1.33x their
    last logged loss."""
    if tail is None or not len(y):
        return False
    return not math.isfinite(tail.mean) or _blown_up_value(tail.mean, y)


def _ends_far_above_first_value(y: np.ndarray) -> bool:
    """The loss's last quarter (median) is >= DIV_FACTOR x its first logged value.

    The trend's start is the median of the first three points, which a blow-up at the second
    point already inflates (a per-step log of Adagrad at LR 0.3 on a regression: 0.89 at step 1,
    then 1,199, 9.6e6, 2.9e7 ... and ~15 over the last quarter): measured from that start the loss
    never rises, measured from its first value it ends 17x above it, worse than the untrained net
    (the labellers' divergence: the last quarter >= 1.5x the start). Over gen2 s1-s4 and the
    first-generator pool, the runs not already called a divergence end at <= 1.46x their first
    value."""
    first = float(y[0])
    return first > 0 and last_quarter_level(y, 2) >= DIV_FACTOR * first


def _below_first_value(y: np.ndarray) -> bool:
    """The loss trend never got above the first logged value: a rise measured from a 3-point start
    that the loss had already fallen far below its first value by (a last-batch loss of SGD at LR 1,
    batch 16, on cancer: 0.327, then 0.0034, 0.0002, then 0.003-0.25 to the end while the val
    accuracy holds 93-99%) is batch noise above a lucky low, not a rise from where the run began.
    Over gen2 s1-s4 and the first-generator pool, the `early_rise` calls' trend peaks at 0.61x
    their first value on that run and at >= 1.07x on every other (all of them blow-ups or relapses
    to chance)."""
    if len(y) < MIN_DIV_POINTS or not y[0] > 0:
        return False
    return float(np.max(_smooth(y, 0.1))) <= float(y[0])


def _ends_below(y: np.ndarray, frac: float) -> bool:
    """The last quarter's median is <= frac x the start (see `_end_ratio`)."""
    r = _end_ratio(y)
    return r is not None and r <= frac


def _end_ratio(y: np.ndarray) -> float | None:
    """The last quarter's median / the start (the lower of the 3-point start and the first
    value: a blow-up inside the first three points is not the start level), None if the start
    is not positive."""
    n = len(y)
    first = float(y[0])
    start = min(float(median(y[:3])), first) if n >= 20 and first > 0 else first
    return last_quarter_level(y, 2) / start if start > 0 else None


def _both_end_above(curves: Curves, x: np.ndarray, y: np.ndarray) -> float | None:
    """Onset x of a training loss that fell, then ended >= ABOVE_START x its start while the
    val loss (>= 5 evaluations) ends >= VAL_ABOVE x its own start, or None.

    Both losses worse than where they began is no overfitting (the training loss rose too) and
    no noise: the net was thrown off the minimum it was finding (SGD momentum 0.99 on 4 classes,
    its loss logged every 10 steps: 1.13 -> 0.69 -> 1.5-1.65, the val loss 1.01 -> 2.72). The
    first generator's runs and gen2's that end with both losses up (train >= 1.2x) are divergences
    at a val ratio of 1.97; the plateaus that come closest end their val loss at 1.13-1.28x."""
    _, vy = finite_xy(curves.get("val_loss"))
    if len(y) < 8 or len(vy) < MIN_POINTS:
        return None
    tr, vr = _end_ratio(y), _end_ratio(vy)
    if tr is None or vr is None or tr < ABOVE_START or vr < VAL_ABOVE:
        return None
    short = _smooth(y, 0.02)
    i_min = int(np.argmin(short))
    if float(short[i_min]) > ACC_LEARNT * min(float(median(y[:3])), float(y[0])):
        return None  # it never fell: a rise from the start is `early_rise`'s business
    return float(x[i_min])


def _val_ends_above_start(curves: Curves) -> bool:
    """The val loss (>= 5 evaluations) ends above its start (see `_end_ratio`)."""
    _, vy = finite_xy(curves.get("val_loss"))
    r = _end_ratio(vy) if len(vy) >= MIN_POINTS else None
    return r is not None and r > 1.0


def _val_kept_its_fall(curves: Curves) -> bool:
    """The val loss (>= 5 finite evaluations) fell >= VAL_FALL of its start and its last quarter
    keeps >= VAL_KEPT of that fall."""
    _, vy = finite_xy(curves.get("val_loss"))
    n = len(vy)
    if n < 5 or not np.all(vy > 0):
        return False
    start = float(median(vy[:3]))
    low = float(np.min(vy))
    tail = last_quarter_level(vy, 2)
    fall = start - low
    return fall >= VAL_FALL * start and start - tail >= VAL_KEPT * fall


class GradExplosion(NamedTuple):
    """The logged gradient norm blowing up: where it started, how far, whether it went non-finite."""

    explodes: bool
    onset: float | None = None
    nonfinite: bool = False
    ratio: float | None = None  # its smoothed peak over its running minimum there


def _grad_explosion(curves: Curves) -> GradExplosion:
    """How the grad_norm curve, if logged, blows up: to >= GRAD_RATIO x its running minimum (smoothed),
    >= half that times its median, and staying there (its end >= 0.3x the peak); or non-finite for good."""
    g = curves.get("grad_norm")
    if g is None or len(g) < 3:
        return GradExplosion(False)
    y_all = np.asarray(g.y, dtype=np.float64)
    bad = ~np.isfinite(y_all)
    if bad.any():
        i = int(np.argmax(bad))
        persistent = bad[-1] or bad[i:].mean() >= 0.5
        if persistent:
            return GradExplosion(True, float(g.x[i]), True)
    x, y = finite_xy(g)
    if len(y) < MIN_POINTS:
        return GradExplosion(False)
    s = _smooth(np.abs(y))
    runmin = np.minimum.accumulate(s)
    with np.errstate(over="ignore"):  # a norm 1e300x its running minimum is inf here, and past GRAD_RATIO
        ratio = s / np.maximum(runmin, 1e-300)
    ref = float(median(np.abs(y)))
    i = int(np.argmax(ratio))
    if ratio[i] >= GRAD_RATIO and s[i] >= GRAD_RATIO * 0.5 * ref and s[-1] >= 0.3 * s[i]:
        near = np.flatnonzero(s[: i + 1] <= 2 * runmin[i])
        return GradExplosion(True, float(x[near[-1]]) if len(near) else float(x[i]), False, float(ratio[i]))
    return GradExplosion(False)


# ... without an accuracy, the climb must stay under VAL_ONLY_FACTOR (2x) its first value. The
# overfitting-labelled val-only logs with no accuracy (val-only rewrites of gen2 seeds 1, 2, 3, 11
# and the first generator's 29) peak at 1.52-1.82x; their divergences at 3.2x and more. 2.5x
# (DIV_FACTOR) let through an Optuna sweep's digits MLP at SGD-momentum LR 0.34 reporting its val
# loss alone: 0.93, 0.53, then 2.07-2.73 and flat at 2.30 (ln 10, chance), a trend peak of 2.48x,
# which AdvisorPruner no longer pruned (tests/test_sweeps.py)
VAL_ONLY_FACTOR = 2.0
# ADAPTIVE_BOUNDED: ... and a val-only climb under an adaptive optimizer (Adam and kin, Adagrad) logged
# at an LR under LR_CAN_BLOW_UP x its usual top is overfitting's too, whatever the accuracy: such an
# optimizer's step is about its LR whatever the gradient, so it cannot throw the net far (SGD's step
# grows with the gradient and with a momentum that is often not logged: momentum 0.99 at LR 0.05-0.1
# reads 0.25-0.5x SGD's usual top without it, and blows up). Over gen2 seeds 1-4, 9-11, 15-17, the
# first-generator pool (seeds 7, 11, 29, 235-237) and their val-only rewrites, every divergence with an
# adaptive optimizer logged is at >= 30x its usual top (30 runs as logged, 13 in the val-only
# rewrites); the val-only climbs read as divergences at 1x (Adam 1e-3) are overfit small-data nets
# whose accuracy sits under a coin flip (4 classes at 48%, 3 classes at 41% -> 61%), which the
# accuracy test above cannot clear.


def _val_only_held(curves: Curves, y: np.ndarray) -> bool:
    """A validation-only log (no training loss) whose val loss `y` climbs while the net still
    classifies, or under an adaptive optimizer at an ordinary LR (see ADAPTIVE_BOUNDED), or (no
    accuracy) stays under VAL_ONLY_FACTOR x its first value: see VAL_ONLY."""
    if curves.get("train_loss") is not None or len(y) < MIN_POINTS or not y[0] > 0 \
            or float(np.max(y)) >= HUGE * float(y[0]):
        return False
    if _adaptive_step_bounded(curves):
        return True
    acc = _accuracy(curves)
    if acc is None:
        first = float(y[0])
        return float(np.max(_smooth(y, 0.1))) < VAL_ONLY_FACTOR * first and \
            last_quarter_level(y, 2) < VAL_ONLY_FACTOR * first
    g = _guessing(curves)
    drop = _accuracy_drop(curves)
    return g is not None and g[1] > COIN_FLIP and drop is not None and drop < ACC_HELD


def _adaptive_step_bounded(curves: Curves) -> bool:
    """An adaptive optimizer (Adam and kin, Adagrad) logged with an LR under LR_CAN_BLOW_UP x its
    usual top (see ADAPTIVE_BOUNDED)."""
    hp = curves.hparams or {}
    if optimizer_family(hp) not in ("adaptive", "adagrad"):
        return False
    r = lr_over_usual(hp)
    return r is not None and r < LR_CAN_BLOW_UP


def measure_divergence(curves: Curves, role: str) -> Measurement | None:
    """Whether and where the loss diverges: kind, onset and the ratios behind the call."""
    c = curve_or_none(curves, role, 2)
    if c is None:
        return None
    y_all = np.asarray(c.y, dtype=np.float64)
    x_all = np.asarray(c.x, dtype=np.float64)
    bad = ~np.isfinite(y_all)
    first_bad = float(x_all[int(np.argmax(bad))]) if bad.any() else None
    x, y = finite_xy(c)
    values: dict = {
        "kind": None, "first_nonfinite_step": first_bad, "explosion_ratio": None,
        "early_rise_ratio": None, "onset_step": None, "grad_norm_explosion": False,
        "grad_norm_onset_step": None, "grad_norm_ratio": None, "grad_norm_rise": None,
        "after_fraction": None, "chance_ratio": None, "settled_after_blowup": None,
        "first_log_blowup": None, "collapse_acc_peak": None, "collapse_acc_tail": None,
        "collapse_loss_over_guess": None, "relapse_min": None, "relapse_min_step": None,
        "tail_from_step": None, "run_steps": None, "tail_mean": None,
        "run_mean": None,
    }
    kind, onset = None, None
    held = role == "val_loss" and _val_only_held(curves, y)  # a val-only climb read as overfitting
    if bad.any():
        kind, onset = "nan", first_bad
    if len(y) == 2 and kind is None and len(y_all) == 2 and y[0] > 0 and y[1] >= LAST_BLOWUP * y[0]:
        kind, onset = "explosion", float(x[1])
        values["explosion_ratio"] = float(y[1] / y[0])
    if len(y) >= MIN_DIV_POINTS:
        bl = _blowup(x, y)
        values["explosion_ratio"] = bl["ratio"]
        values["early_rise_ratio"] = bl["early_ratio"]
        if kind is None and bl["kind"] is not None and not _far_below_guessing(curves, bl.get("trend_peak")) and not held \
                and not (role == "train_loss" and bl.get("trend_peak") is not None and _came_back_to_learnt(y, curves)):
            kind, onset = bl["kind"], bl["onset"]
        elif kind == "nan" and bl["kind"] is not None and bl["onset"] < onset:
            onset = bl["onset"]  # it was already blowing up before the first NaN
    collapsed = False
    loss_role = "train_loss" if curves.get("train_loss") is not None else "val_loss"
    if kind is None and role == loss_role and len(y) >= 8:
        onset_acc = _acc_collapse(curves, x, y)
        if onset_acc is not None:
            kind, onset, collapsed = "relapse", onset_acc, True
        else:
            at_guess = _collapse_at_guessing(curves, y)
            if at_guess is not None:
                # the accuracy rose and fell back with the loss at the loss of guessing (BACK_AT_GUESS, DIV008)
                kind, onset, collapsed = "relapse", at_guess[0], True
                values.update(collapse_acc_peak=at_guess[1], collapse_acc_tail=at_guess[2],
                              collapse_loss_over_guess=at_guess[3])
    if kind is None and role == loss_role:
        spikes = _repeated_blowups(x, y) or _astronomical_spike(x, y)
        if spikes is not None:
            kind, onset = "explosion", spikes[0]
            values["explosion_ratio"] = spikes[1]
    read_above = kind is None and role == loss_role
    if read_above:
        above = _above_chance(curves, x, y, role == "train_loss")
        if above is not None:
            kind, onset = "above_chance", above[0]
            values["chance_ratio"] = above[1]
    if kind is None and role == "train_loss":
        wearing = _still_wearing_off(curves, y)
        if wearing is not None:
            kind, onset = "explosion", float(x[0])
            values["explosion_ratio"] = wearing
    if kind is None and role == "train_loss":
        climb = _mean_climbs(y)
        if climb is not None:
            kind, onset = "explosion", float(x[climb[0]])
            values["explosion_ratio"] = climb[1]
    if kind is None and len(y) >= 8 and _ends_far_above_first_value(y) and not held:
        kind, onset = "early_rise", float(x[1])
        values["early_rise_ratio"] = float(np.max(_smooth(y))) / float(y[0])  # the trend's peak, from the first value
    if kind == "relapse" and not collapsed and role == "train_loss" and _val_kept_its_fall(curves):
        kind, onset = None, None
    # a training loss still coming back down with the accuracy held is neither a relapse nor a pair of
    # losses ending above their starts (COMING_DOWN); read once for both tests
    coming_down = role == "train_loss" and kind in (None, "relapse") and _coming_down(y, _accuracy_drop(curves))
    if kind is None and role == "train_loss" and not coming_down:
        onset_both = _both_end_above(curves, x, y)
        if onset_both is not None:
            kind, onset = "relapse", onset_both
    if kind == "relapse" and not collapsed and coming_down:
        kind, onset = None, None  # ... nor one still coming back down with the accuracy held (COMING_DOWN)
    if kind == "relapse" and not collapsed and role == "train_loss" and _accuracy(curves) is not None \
            and not _val_ends_above_start(curves):
        # ... and so is an accuracy that kept its level (validation first, else training), with a
        # val loss not above its start: a net back at its start is back at chance (gen2: moons at
        # SGD 0.3 and batch 4, its loss logged as the last batch's: 0.27 -> 0.05 -> 0.32, while the
        # val accuracy held 85-88% and the val loss ended at 0.87x its start; moons at SGD 1.0 and
        # batch 16, train-only, last-batch losses 0.07-0.50 while its evaluated training accuracy
        # climbed 83% -> 92%). The relapses of both generators lose 22-81 points of validation
        # accuracy, and 27-69 of training accuracy where only that is logged; a training accuracy
        # per batch only makes the drop from its best larger.
        drop = _accuracy_drop(curves)
        if drop is not None and drop < ACC_HELD:
            kind, onset = None, None
    rise_unmeasured = False
    if kind == "early_rise":
        # ... an early rise measured from a start the loss had already fallen far below is no rise at all
        # (`_below_first_value`), unlike the other clears, which judge the run (came back, at chance)
        rise_unmeasured = _below_first_value(y)
        if rise_unmeasured or _recovered(y, curves) or (role == loss_role and _back_at_guessing(curves)) \
                or (role == "train_loss" and (_val_at_its_best(curves, y) or _val_learnt(y, curves))):
            kind, onset = None, None
    if kind is None and role == loss_role and not read_above and rise_unmeasured:
        # ... so it stood in the way of the loss of guessing's reading, which is read now: moons at SGD
        # 2.0, batch 8, its first logged loss 41.6 (already blown up) and 10-50 to the end beside a val
        # loss at 9-108, the val accuracy 85%: the trend never rose above that first value, and the
        # training loss at 44x ln 2 (ABOVE_LN2) was never read. Over gen2 seeds 1-4, 9-11, 15-21, the
        # first-generator pool (7, 11, 29, 235-238) six logs have such an unmeasured rise beside an
        # accuracy, and 20 of the convention and summed rewrites: that run (and its no-LR rewrite) is
        # the one the loss of guessing calls; the others (overfitting, a plateau, an oscillation) read
        # under its bars.
        above = _above_chance(curves, x, y, role == "train_loss")
        if above is not None:
            kind, onset = "above_chance", above[0]
            values["chance_ratio"] = above[1]
    both_blown = False
    if kind is None and role == "train_loss":
        both = _both_above_guessing(curves, x, y)
        if both is not None:
            # ... and both losses far above the loss of guessing are blown-up outputs (BOTH_ABOVE_GUESS);
            # read after every reading that clears a call, whatever that reading saw in the trend
            kind, onset, both_blown = "above_chance", both[0], True
            values["chance_ratio"] = both[1]
    if kind is None and role == loss_role and _stopped_blown_up(y):
        # the run stopped on a blow-up: no reading of the trend before it clears that (see STOPPED)
        kind, onset = "explosion", float(x[-1])
        values["explosion_ratio"] = float(y[-1]) / max(float(np.min(_smooth(y, 0.1))), 1e-300)
    if kind is None and role == "train_loss":
        vx, vy = finite_xy(curves.get("val_loss"))
        if _stopped_blown_up(vy):
            # ... and so did its val loss: the divergence rules read the training loss whenever one is
            # logged, so a run whose last evaluation blew up is reported from here (see VAL_STOPPED)
            kind, onset = "explosion", float(vx[-1])
            values["explosion_ratio"] = float(vy[-1]) / max(float(np.min(vy)), 1e-300)
    if kind is None and role == "train_loss" and _blew_up_after_last_log(curves.unlogged_tail, y):
        # the steps after the last logged loss blew up, as the run's summary of its mean loss says (DIV009)
        tail = curves.unlogged_tail
        kind, onset = "after_last_log", tail.last_logged_step
        values.update(tail_from_step=tail.last_logged_step, run_steps=tail.final_step, tail_mean=tail.mean,
                      run_mean=tail.run_mean)
    g_exp, g_onset, g_nan, g_ratio = _grad_explosion(curves)
    values["grad_norm_explosion"] = bool(g_exp)
    values.update(grad_norm_onset_step=g_onset, grad_norm_ratio=g_ratio,
                  grad_norm_rise=None if not g_exp else "non-finite" if g_nan else f"to {readable(g_ratio)}x its lowest level before")
    if kind is None and g_nan and role == "train_loss":
        kind, onset = "nan", g_onset  # HF Trainer masks NaN losses; the gradients tell the truth
    if kind in ("explosion", "early_rise", "relapse") and role == "val_loss" and has_points(curves, "train_loss", MIN_POINTS):
        # with a training loss logged, the run's divergence is read from it; a validation loss
        # that climbs while training is fine is overfitting or noise
        kind, onset = None, None
    if kind in ("explosion", "early_rise", "relapse") and role == "val_loss":
        # A validation loss that climbs while training keeps improving is overfitting, not divergence.
        tr = curves.get("train_loss")
        if tr is not None:
            tm = measure_divergence(curves, "train_loss")
            tx, ty = finite_xy(tr)
            if (tm is None or not tm.detected) and len(ty) >= MIN_POINTS:
                half = len(ty) // 2
                if tail_level(ty, 0.1) < head_level(ty, 0.1) and not theil_sen(tx[half:], ty[half:]).significant_up:
                    kind, onset = None, None
    if kind is None and role == loss_role:
        values["settled_after_blowup"] = _settled_after_blowup(curves, y)
        values["first_log_blowup"] = _first_log_blowup(y)
    detected = kind is not None
    values["kind"] = kind
    values["onset_step"] = onset
    if kind == "relapse" and onset is not None:
        # the lowest logged value before the climb, and where: what DIV006 tells and the checkpoint to keep
        before = np.flatnonzero(x <= onset)
        if len(before):
            i = int(before[np.argmin(y[before])])
            values.update(relapse_min=float(y[i]), relapse_min_step=float(x[i]))
    span = float(x_all[-1] - x_all[0]) if len(x_all) > 1 else 0.0
    if onset is not None and span > 0:
        values["after_fraction"] = float(np.clip((x_all[-1] - onset) / span, 0.0, 1.0))
    conf = 0.0
    if kind in ("nan", "after_last_log"):
        conf = 0.95
    elif kind == "explosion":
        conf = 0.85
    elif kind in ("early_rise", "relapse", "above_chance"):
        conf = 0.7
    if kind is None:
        note = "no divergence"
    elif kind == "nan":
        note = (f"loss becomes non-finite at step {first_bad:g}" if first_bad is not None
                else "gradient norm becomes non-finite (the logged loss may be masked)")
    elif kind == "after_last_log":
        note = (f"the run's mean loss over all {values['run_steps']:g} steps puts the steps after the last logged one "
                f"at a mean of {values['tail_mean']:.3g}: it blew up after its last log line")
    elif kind == "explosion":
        note = f"loss explodes to {values['explosion_ratio']:.3g}x its running minimum, above {DIV_FACTOR:g}x its start"
    elif kind == "relapse" and values["collapse_acc_peak"] is not None:
        note = (f"the accuracy rose to {values['collapse_acc_peak']:.3g}, then fell back to {values['collapse_acc_tail']:.3g} at "
                f"best while the loss sits at {values['collapse_loss_over_guess']:.3g}x the loss of guessing: collapsed after learning")
    elif kind == "relapse" and collapsed:
        note = "the accuracy fell back by >= 20 points from its best while the loss returned to its start: collapsed after learning"
    elif kind == "relapse":
        note = "the loss learnt, then climbed back to its starting level and stayed there"
    elif kind == "above_chance" and both_blown:
        note = (f"a classifier's training and val losses both end at >= {values['chance_ratio']:.3g}x the loss of guessing "
                "(ln 1/accuracy at its low): the outputs blew up")
    elif kind == "above_chance":
        note = (f"a classifier's loss ends at {values['chance_ratio']:.3g}x the loss of guessing (ln 1/accuracy at its low) "
                "while the accuracy stays near its floor: the outputs blew up")
    else:
        note = f"loss rises from the start to over {DIV_FACTOR:g}x its starting level (LR too high from the first steps)"
    if not detected and g_exp:
        onset = g_onset  # the span a finding about the grad norm alone (DIV004) names
    return Measurement(family="divergence", role=role, tag=c.tag, detected=detected, values=values,
                       start_step=onset, end_step=float(x_all[-1]) if detected or g_exp else None,
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
