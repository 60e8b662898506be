"""Plateau: a long flat stretch: a saddle the run breaks out of (seeds 002/004), or a stall at a
high loss.

"Flat" means the trend (running median over a tenth of the points) stays within 5% of the fall
achieved (never less than a tenth of the start level; the fixture labeller's scale), widened by
what the trend's own noise allows, with no significant Theil-Sen slope inside. A plateau covers
>= 20% of the run and at least 3 points, and sits either >= 30% of the way up from the best
level (a saddle; `breakout` says whether a sudden drop follows and where) or at >= 65% of the
start level / at chance (ln C; with no class count logged, ln k beside an accuracy at 1/k) (a
stall: the run is not learning there; one at chance need be flat only within the range its trend's
noise reaches over a run, NOISE_RANGE). A curve that converged
and rests at a LOW level at the end is healthy: that stretch is reported (`ends_flat`) but not
detected. Drops at LR step changes are the schedule, not a breakout; a high stretch followed by
a climb, or a diverged run, is not a plateau. On a run with a training loss, the run's plateau is
judged on it (validation values are reported, not detected).
"""
from __future__ import annotations

import math

import numpy as np

from advisor.model import Curves, Measurement
from advisor.signals.metrics import classes_at_chance, past_chance
from advisor.signals.robust import (
    bin_medians, diff_sigma, finite_curve, finite_xy, has_points, interp_at, longest_flat, longest_flat_high,
    lr_change_points, odd, percent_scale, running_median, theil_sen,
)
from advisor.signals.robust import median, percentile  # numpy's numbers, without its per-call dispatch

MIN_N = 8
ACC_ROLES = ("train_acc", "val_acc")
MIN_LENGTH = 0.2  # a plateau worth reporting spans at least a fifth of the run
# ... and one the run breaks out of (a saddle, a stall then a fall) a quarter: a deep net of
# saturating units that sits at chance for 22% of its run and then converges is a normal start
# (the OOS labeller calls a flat start of < 25% healthy, 25-40% ambiguous). That quarter is read
# between the flat stretch's own logged points (_judge's `shown`), not widened by half a logging
# interval at its end: past its last flat point the loss may already be falling, and on an
# epoch-level log half an interval is 5% of a 10-epoch run. A healthy sigmoidal start (SGD 5e-3 at
# batch 8 on digits, a warmup to Adam 0.1: gen2 s18 0209, 0074) reads flat for 3 of 10 epochs, 22%
# of the run shown (27% widened; its full-batch loss left the start after 9-18% of the run); the
# labelled saddles read 0.286 and up shown (slow-labelled GRUs of 15 epochs that are no saddle either,
# LSTMs of 14 epochs at 0.308, fixtures/runs/plateau-saddle at 0.317) over gen2 seeds 1-4, 9-11,
# 15-21, pool seeds 7, 11, 29, 235-238 and the 20 convention corpora
SADDLE_LENGTH = 0.25
FLAT = 0.05  # flat: the trend stays within 5% of the fall achieved (fixtures/labels.py's scale)
HIGH = 0.3  # a saddle sits at least 30% of the way up from the best level
STALL = 0.65  # a stall sits at >= ~2/3 of its start level (the labeller: half-way from the healthy final to the start)
# A run still falling at its end is slow, not stalled, unless flat for a third of the run (the
# middle of the OOS labeller's ambiguous 25-40% band of flat starts) ...
SLOW_LENGTH = 1 / 3
SLOW_DROP = 0.03  # ... when it has lost >= 3% of its start overall (the labeller's: a stall never falls 3%)
# ... and at any length when it has been falling since the start: its first quarter made >= 10% of
# the whole fall (convergence.SLOW_EARLY: a steady fall makes ~25% there, a stall then a fall
# next to nothing)
# An accuracy logged over the flat stretch that sits at least halfway from chance (1/C; 1/2 when C is
# unknown, the highest chance of any classifier) to perfect says the net has learned: a loss flat
# there is converged at the task's floor (moons' noisy labels keep a healthy loss at 65-85% of its
# first epoch average, while its accuracy is 84-89%), not stuck. A stalled net sits at chance, or at
# the majority class's share (below the halfway mark for any share under 1/2 + (1 - 1/C) / 2).
LEARNED_ACC = 0.5
# A val loss that creeps down: Kendall's tau of its bin medians (<= 20 bins) over the run at or below
# CREEP_TAU, nearly every evaluation lower than every earlier one. That is a net learning slowly (an
# LR too small for it), not a dead one: the val loss of a deep net of saturating units pinned at
# chance wanders without a direction (tau -0.79..+1.0 on the 138 such plateau calls with a val loss
# in gen2 seeds 1 and 3 and the first pool), while the stalls at an LR far too low fall at every
# evaluation, however little (tau -0.95..-1.0, falls of 0.1-2%). The per-step training loss is too noisy for this reading; it is not used.
CREEP_TAU = -0.9
# A loss with no chance level (no class count, no accuracy logged) that sits >= 25% below its first
# logged value has learned: it is converged at its floor, not stalled (_fell_without_chance_level)
LEARNED_FALL = 0.25
# An explosion in the first steps: leading points >= 10x the level the run holds right after
BLOWUP_HEAD = 10.0
CREEP_BINS = 20
# A class count read off a stall when none is logged (_chance_classes): metrics.classes_at_chance, its
# bars (CHANCE_LOSS, CHANCE_LOSS_ABOVE, CHANCE_ACC, MAX_CLASSES) and the runs they were set on are there
# Bins for the highest level a loss reached (_rose_above): medians of >= 1/50 of the run each
ROSE_BINS = 50
# A breakout while the logged LR is at most this share of its peak so far is the LR's anneal (_lr_annealed_at)
ANNEALED = 0.8
# A flat stretch the run breaks out of at <= PAUSE_LEVEL of where the run started (_run_start) is a
# pause on the way down that the run got past by itself (a fast first fall, a pause, a second
# descent: a regression that fell from 0.62 to 0.31 in its first epoch, paused at 0.28 and then fell
# to 0.21 sits at 0.45 of its start), not a plateau: the OOS labellers' plateau is flat at >= 97% of
# the start, seed 002's saddle a long flat stretch near the start level. Over gen2 seeds 1-4 and 9-12,
# the first pool and seeds 229 and 231, the breakouts of the plateau-labelled runs sit at 0.97-1.00
# of that start (2.2 for one that rose first), seed 002's planted saddles (signals.synthetic, 80
# draws) at 0.76-1.17, the two healthy runs' pauses at 0.45 and 0.63.
PAUSE_LEVEL = 0.7
VAL_LEARNS = 0.2  # a val loss falling >= 20% through a training loss's flat stretch: the net is learning
# ... or falling at every evaluation through it by >= VAL_LEARNS_STEADY of its level there: a stall's val
# loss creeps (the plateau-labelled runs of session 24's 13 tuning corpora whose val loss falls at every
# evaluation of the stretch lose 0.5-4.3% of it: GRUs at Adam 5e-5, SGD 1e-3, deep sigmoid stacks), a
# net learning under a noisy training loss falls steadily (a diabetes MLP at Adamax 2e-3, its epoch means
# 0.79, 0.77, 0.90, 0.77 read as a saddle, its val loss 0.62, 0.58, 0.56, 0.54 there: 12.9%, labelled healthy)
VAL_LEARNS_STEADY = 0.075
# ... and the points of a training loss logged by the first evaluation show where the run started
# when they sit more than this many times the loss's point-to-point noise above its own start
# (convergence.START_NOISE)
START_NOISE = 2.0
# A stall at chance whose flat stretch the trend's own noise broke up (measure_plateau's last try):
# the trend is a running median over a tenth of the bins, so a run holds ~10 independent values of
# it, and the range of 10 normal draws exceeds 2 sigma (the tight tolerance) nearly always and 4
# sigma one time in ten. A per-step loss at batch 16-64 pinned at ln C for the whole run (gen2 s10
# 0161: 1.40-1.42 at ln 4, trend range 6.3x its noise) then reads flat for 13-19% of it only. With
# NOISE_RANGE x the trend's noise as the tolerance, and only when the stretch sits at a chance
# level (_at_chance_level), three plateau-labelled runs of gen2 seeds 1-4, 9-11, 15, 16 and pool
# seeds 7, 11, 29, 235, 236 gain a stall (s10 0161, oos 0239, oos3 0092) and nothing else changes;
# at 6x one more does (s16 0186), still nothing else
NOISE_RANGE = 4.0


def _trend(x: np.ndarray, z: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """Bin medians (<= 400) smoothed by a running median over a tenth of them: the trend a
    practitioner reads a plateau from, with the noise left in it."""
    xb, zb, _ = bin_medians(x, z, 400)
    m = len(zb)
    w = odd(max(3, int(round(0.1 * m))))
    tb = running_median(zb, w) if m >= 5 else zb.copy()
    noise = 1.25 * diff_sigma(zb) / math.sqrt(w)
    return xb, tb, noise


def measure_plateau(curves: Curves, role: str) -> Measurement | None:
    """Longest flat stretch, its level, and whether it is a saddle (breakout) or a high stall."""
    found = finite_curve(curves, role, MIN_N)
    if found is None:
        return None
    c, x, y = found
    is_acc = role in ACC_ROLES
    z = -y if is_acc else y
    xb, tb, tnoise = _trend(x, z)
    # the labellers' start (median of the first 3 points); on a short curve the 2nd and 3rd
    # points are already far into training, so there the first point is the start
    head_z = float(median(z[:3])) if len(z) >= 20 else float(z[0])
    if not is_acc and len(z) >= 20 and 0 < z[0] < head_z and float(median(z)) <= head_z:
        # ... but a blow-up inside the first three points that the run comes back from is not
        # the start: SGD at LR 1 logs 0.73, 1.45, 1.52 and then sits at ~0.74 (ln 2) for the rest
        # of its run (a loss that rises and stays up is not brought back to its first point)
        head_z = float(z[0])
    k = _blowup_head(z) if not is_acc else 0
    if k:
        # ... nor is an explosion in the first steps that the run drops straight back from: the
        # run starts where it lands (SGD at LR 2 logs 1508, then 1.51, 1.52, 1.50 ... to the end)
        head_z = float(median(z[k:k + 3]))
    min_z = float(np.min(tb))
    progress = max(head_z - min_z, 0.0)
    rng_z = float(percentile(z, 95) - percentile(z, 5))
    # the labellers' scale: the fall achieved, but never below a tenth of the start level
    scale = max(progress, 0.1 * abs(head_z) if head_z != 0 else 0.1 * rng_z, 1e-300)
    tol = max(FLAT * scale, 2.0 * tnoise)  # a smoothed trend's own noise must not break a flat stretch
    high = min_z + HIGH * progress
    found = longest_flat_high(tb, tol, high)
    any_flat = longest_flat(tb, tol)
    stretches = [found] if found is not None else []
    if head_z > 0 and not is_acc:
        stall_found = longest_flat_high(tb, tol, STALL * head_z)  # the longest stretch at stall level
        if stall_found is not None:
            stretches.append(stall_found)
    stretches.append(any_flat)
    cands = [_judge(curves, x, y, z, xb, tb, i, j, tol, head_z, min_z, progress, scale, is_acc, role)
             for (i, j) in stretches]
    hits = [cd for cd in cands if cd["detected"]]
    if not hits and head_z > 0 and not is_acc:
        # no flat stretch at the tight tolerance: a late start (a creep near the start, then the fall)
        start_flat = _flat_start(tb, head_z, tnoise)
        if start_flat is not None:
            cd = _judge(curves, x, y, z, xb, tb, *start_flat, tol, head_z, min_z, progress, scale, is_acc, role,
                        creeps=True)
            hits = [cd] if cd["detected"] else []
    if not hits and head_z > 0 and not is_acc:
        # no flat stretch and no late start: a stall at chance that the trend's own noise broke up
        wide_tol = max(FLAT * scale, NOISE_RANGE * tnoise)
        wide = longest_flat_high(tb, wide_tol, STALL * head_z)
        if wide is not None:
            cd = _judge(curves, x, y, z, xb, tb, *wide, wide_tol, head_z, min_z, progress, scale, is_acc, role)
            if cd["detected"] and cd["at_chance_level"]:
                hits = [cd]
    best = max(hits, key=lambda cd: cd["length"]) if hits else cands[-1]
    if not is_acc:
        best["values"]["rose_above"] = _rose_above(curves, best["start"], best["end"])
        best["values"]["val_creeps"] = _val_creeps(curves)
        best["values"]["acc_learned"] = _accuracy_learned(curves, float(x[0]), float(x[-1]), unknown=None)
        if _unanchored(curves, role, best["values"]["val_creeps"]):
            best["values"]["unanchored"] = True
            if best["detected"]:
                best = {**best, "detected": False,
                        "note": best["note"] + "; not a stall: a val loss alone, with no chance level, flat from its first evaluation"}
    return _measurement(c, role, best)


def _unanchored(curves: Curves, role: str, creeps: bool | None) -> bool:
    """A validation loss logged with no training loss, no class count and no accuracy, that does
    not creep down (_val_creeps): nothing in the log says where the untrained net stood. A val loss
    is first evaluated after the first epoch (or eval interval), and a net at a sensible LR has
    made most of its fall by then; its loss is flat from there on whether it converged before
    that evaluation or never left its start, and with no chance level (ln C) or accuracy to read
    the level against, a flat val loss is no evidence of a stall. Over the val-only rewrites of
    gen2 seeds 1, 2, 3 and 11 (bench/conventions.py --only valonly), the 17 plateau calls on such
    curves (all regressions) were 3 stalls and 14 nets that had learned (12 labelled healthy, 2
    overfitting: small-data nets that memorised their training set and froze, a healthy NAdam or
    Adam run settled at its floor): the stalls are two that creep (plain SGD at 5e-4 and 1e-3,
    lower at every evaluation: _val_creeps, kept) and one flat at an LR 3x the top of every
    optimizer's usual range (0.6, no optimizer logged), which PLT005 reads from the LR itself
    (its stats branch, kept). The val-only rewrites of pool seeds 2 and 3 hold no such curve.
    A training loss of MIN_N points makes this False: logs that have one are not touched."""
    return role == "val_loss" and not creeps and not has_points(curves, "train_loss", MIN_N) and _no_chance_level(curves)


def _no_chance_level(curves: Curves) -> bool:
    """No class count and no accuracy logged: nothing places a loss against chance (ln C)."""
    return not curves.num_classes and all(curves.get(r) is None for r in ACC_ROLES)


def _val_creeps(curves: Curves) -> bool | None:
    """Whether the validation loss falls steadily across the whole run (Kendall's tau of its bin
    medians <= CREEP_TAU); None when no val loss of MIN_N points is logged. A stall whose val loss
    creeps down is slow, not dead: what a reader does first is raise the LR, not add BatchNorm."""
    found = finite_curve(curves, "val_loss", MIN_N)
    if found is None:
        return None
    _, x, y = found
    _, yb, _ = bin_medians(x, y, CREEP_BINS)
    n = len(yb)
    if n < MIN_N:
        return None
    later_minus_earlier = np.sign(yb[None, :] - yb[:, None])[np.triu_indices(n, 1)]
    tau = float(later_minus_earlier.sum()) / (n * (n - 1) / 2)  # Kendall's tau-a (ties count 0)
    return bool(tau <= CREEP_TAU)


def _rose_above(curves: Curves, x_start: float, x_end: float) -> float | None:
    """How far the loss ever rose above where it started and where it stalls: the highest of its
    bin medians (<= ROSE_BINS, so one noisy step or batch does not count) over the larger of its
    start level (median of the first three points) and its level over [x_start, x_end], the
    largest over the training and the validation loss; None when neither has MIN_N points.
    A net whose gradient vanishes (a deep stack of sigmoid/tanh units) sits at its untrained
    level from the first evaluation and cannot rise far above it: its outputs stay near uniform.
    A loss that rose well above both was thrown off by steps too large (an LR far too high, a
    momentum of 0.99): confident wrong outputs, then dead units at chance."""
    best = None
    for role in ("train_loss", "val_loss"):
        found = finite_curve(curves, role, MIN_N)
        if found is None:
            continue
        _, x, y = found
        if float(np.min(y)) <= 0:
            continue  # a ratio of levels says nothing of a loss that is not positive (an energy model's, near 0)
        _, yb, _ = bin_medians(x, y, ROSE_BINS)
        inside = (x >= x_start) & (x <= x_end)
        level = max(float(median(y[:3])), float(median(y[inside])) if inside.any() else -math.inf)
        if level > 0:
            r = float(np.max(yb)) / level
            best = r if best is None else max(best, r)
    return best


def _blowup_head(z: np.ndarray) -> int:
    """How many leading points (1-3, at most a tenth of the curve) an explosion in the first steps
    put >= BLOWUP_HEAD times above the level the run holds right after them (the median of the
    next three points); 0 when none. A net thrown off at once by an LR far too high logs one or
    two astronomical values (1508, then 1.51, 1.52 ... at SGD 2; 334, then 4.1, 2.0 ... at RMSprop
    0.1) and then sits where it landed: that landing is where its stall starts. A healthy net that
    falls 10x in its first logged step (common: 0.45, then 0.025 on blobs) keeps falling after it,
    so moving its start changes nothing: over the 1,491 runs of gen2 seeds 1 and 3 and the first
    pool, this start changed the verdict of three runs, all stalls labelled plateau."""
    n = len(z)
    best = 0
    for k in range(1, min(3, max(1, n // 10)) + 1):
        after = z[k:k + 3]
        if len(after) < 3:
            break
        level = float(median(after))
        if level > 0 and float(np.min(z[:k])) >= BLOWUP_HEAD * level:
            best = k
    return best


def _flat_start(tb: np.ndarray, head_z: float, tnoise: float) -> tuple[int, int] | None:
    """The stretch [0, j] over which the trend has not yet left its start: it stays above the
    start less SLOW_DROP of it (the labellers' "a stall never falls 3%"), or less twice the
    trend's own noise when that is larger; None when that is shorter than SLOW_LENGTH of the
    run. A loss that creeps down by 2% over the first half of the run and only then gets going
    has a late start (a plateau at its start), whatever the tight tolerance of `longest_flat`
    makes of the creep."""
    below = np.flatnonzero(tb < head_z - max(SLOW_DROP * head_z, 2.0 * tnoise))
    if not len(below):
        return None  # never left its start: the other stretches describe that stall
    j = int(below[0]) - 1
    return (0, j) if j >= 0 and (j + 1) / len(tb) >= SLOW_LENGTH else None


def _judge(curves, x, y, z, xb, tb, i, j, tol, head_z, min_z, progress, scale, is_acc, role, creeps=False) -> dict:
    """Evaluate one flat stretch [i, j] of the binned trend (`creeps`: the flat start, whose
    slow creep within its SLOW_DROP band is part of the stall, not a descent)."""
    m = len(tb)
    span_x = x[-1] - x[0]
    half = 0.5 * span_x / max(m, 1)
    x_start = float(x[0]) if i == 0 else float(xb[i] - half)
    x_end = float(x[-1]) if j == m - 1 else float(xb[j] + half)
    length = float(np.clip((x_end - x_start) / span_x, 0.0, 1.0))
    level_z = float(np.mean(tb[i: j + 1]))
    level = -level_z if is_acc else level_z
    head = -head_z if is_acc else head_z
    level_rel_range = float(np.clip((level_z - min_z) / progress, 0.0, 1.5)) if progress > tol else 1.0
    level_rel_start = float(level / head) if head > 0 and not is_acc else None
    ends_flat = bool(j >= m - 1 or (x[-1] - x_end) <= 0.1 * span_x)
    # chance level: ln C for a loss, 1/C for an accuracy; else "within 10% of the start"
    C = curves.num_classes
    stall_k = None
    if is_acc:
        chance = (1.0 / C) * percent_scale(y) if C and C > 1 else None
        at_chance = chance is not None and abs(level - chance) <= 0.1 * abs(chance)
    else:
        # ln C; with no class count logged, ln k beside an accuracy at 1/k (_chance_classes)
        stall_k = _stall_classes(curves, level, x_start, x_end)
        at_chance = _at_chance_level(curves, level, stall_k)
    at_chance_level = at_chance  # the chance level itself, before the "at its start" fallback
    if not at_chance:
        # (a loss that never got below where it began is at its start, unless it takes both signs: an
        # energy model's contrastive-divergence loss climbing from -0.11 to hover around 0 is no stall at
        # its start, and no level of it says "chance")
        signed = bool(np.min(y) < 0 < np.max(y)) and not is_acc
        at_chance = abs(level_z - head_z) <= 0.1 * scale if progress > 0 or signed else True
    # breakout: a clear further drop after the stretch (not at an LR step)
    breakout, breakout_step = False, None
    if not ends_flat:
        after = tb[j + 1:]
        drop = level_z - float(np.min(after)) if len(after) else 0.0
        need = max(3 * tol, 0.2 * progress)
        if drop >= need:
            k = np.flatnonzero(after < level_z - tol)
            bstep = float(xb[j + 1 + int(k[0])]) if len(k) else float(xb[min(j + 1, m - 1)])
            cps = lr_change_points(curves)
            near_lr = any(abs(cp - bstep) <= 0.05 * span_x + half for cp in cps)
            if not near_lr and not _lr_annealed_at(curves, bstep):
                breakout, breakout_step = True, bstep
    if is_acc:
        # an accuracy stuck where it started counts only when that is low (not a model that was
        # already trained when logging began)
        acc_scale = percent_scale(y)
        stalled_high = bool(ends_flat and at_chance and level < 0.5 * acc_scale)
    elif level_rel_start is not None:
        # a stall at a high level that noise keeps from reaching the end as one flat stretch (a
        # net stuck at chance, its per-step loss bouncing 10-20% with a high LR) still "stalled
        # high" when the last quarter sits at that level, within the flat tolerance
        end_level = float(median(z[x >= x[0] + 0.75 * span_x])) if len(z) >= 8 else level_z
        ends_there = abs(end_level - level_z) <= tol
        stalled_high = bool((ends_flat or ends_there) and (level_rel_start >= STALL or at_chance))
    else:
        stalled_high = bool(ends_flat and at_chance)
    is_high = level_rel_range >= HIGH
    # "flat" must also hold for the raw points: no significant slope worth the tolerance
    inside = (x >= x_start) & (x <= x_end)
    descending = False
    if inside.sum() >= 4 and not creeps:
        ts = theil_sen(x[inside], z[inside])
        # significant AND material: with hundreds of points a drift of 0.3% is "significant"
        descending = bool(ts.significant_down and -ts.slope * (x_end - x_start) >= max(0.5 * tol, 0.01 * abs(level_z)))
        if descending and not is_acc and not breakout and _settles_onto_chance(float(tb[j]), tol, stall_k):
            descending = False
    # a high stretch followed by a climb is the run getting worse, not a plateau
    rises_after = bool(not ends_flat and float(np.max(tb[j + 1:])) > level_z + 3 * tol
                       and float(np.min(tb[j + 1:])) > level_z - tol)
    enough = int(inside.sum()) >= 3  # two points are a segment, not a stretch
    # the length the log shows flat: from the stretch's first logged point to its last (SADDLE_LENGTH)
    shown = float(np.clip((xb[j] - xb[i]) / span_x, 0.0, 1.0))
    saddle = bool(is_high and not ends_flat and shown >= SADDLE_LENGTH and not descending and not rises_after
                  and enough)
    # a stall: a long flat stretch (anywhere) that sits at >= half the start level or at chance:
    # the run is not learning there, whatever it does later
    high_level = bool(level_rel_start is not None and level_rel_start >= STALL) or bool(at_chance and not is_acc)
    # ... a stall the run breaks out of must be as long as a saddle, as the log shows it
    breaks_out = breakout and not stalled_high
    stall = bool((stalled_high or high_level) and (shown >= SADDLE_LENGTH if breaks_out else length >= MIN_LENGTH)
                 and not descending and not rises_after and enough)
    if (saddle or stall) and breakout and not is_acc and level_z <= PAUSE_LEVEL * _run_start(curves, role, x, z, head_z):
        saddle = stall = False  # a pause on the way down, not a plateau at the start
    if (saddle or stall) and not breakout and not is_acc and _fell_without_chance_level(curves, z, level_z):
        # (a stretch the run breaks out of is another matter: stuck part-way down, then escaping)
        saddle = stall = False
    if (saddle or stall) and not is_acc:
        # a climbing curve is a divergence, not a plateau
        from advisor.signals.divergence import run_divergence

        if run_divergence(curves) is not None:
            saddle = stall = False
    if role == "val_loss" and has_points(curves, "train_loss", MIN_N):
        saddle = stall = False  # the run's plateau is judged on its training loss
    if (saddle or stall) and not is_acc and _still_falling(curves, role, length):
        # a flat stretch shorter than a third of a run that keeps falling steadily to its end (an
        # LSTM at Adam 1e-4 that is slow to get going, SGD 3e-4 on a linear model) is slow
        # convergence: the fix is a larger LR, and "plateau" would send the reader to saddles
        saddle = stall = False
    if (saddle or stall) and not is_acc and _accuracy_learned(curves, x_start, x_end):
        saddle = stall = False
    if (saddle or stall) and role == "train_loss" and _val_learns(curves, x_start, x_end):
        saddle = stall = False
    detected = saddle or stall
    values = {
        "length_fraction": length, "level_rel_start": level_rel_start, "at_chance": bool(at_chance),
        "breakout": bool(breakout), "breakout_step": breakout_step, "stalled_high": stalled_high,
        "ends_flat": ends_flat, "level_rel_range": level_rel_range, "level": level,
    }
    if saddle:
        note = f"flat for {length:.0%} of the run well above its best level" + (
            f", then breaks out at step {breakout_step:g} (saddle)" if breakout_step is not None else "")
    elif stall:
        note = f"flat for {length:.0%} of the run at a high level ({level:.4g}, {level_rel_start or 1:.0%} of its start)"
    else:
        note = f"longest flat stretch {length:.0%} of the run" + (" (converged)" if ends_flat else "")
    return {"detected": bool(detected), "values": values, "start": x_start, "end": x_end,
            "length": length, "note": note, "at_chance_level": bool(at_chance_level)}


def _run_start(curves: Curves, role: str, x: np.ndarray, z: np.ndarray, head_z: float) -> float:
    """Where the run started, in the curve's units: its own start (`head_z`), or for a training
    loss logged with a val loss the median of its (<= 3) points logged by the first evaluation when
    they sit more than START_NOISE x its point-to-point noise above that start, falling from the
    first one. An epoch-level log's first point is the first epoch's average, which holds the fall
    made in that epoch that the later points (and a median of the first three) no longer show.
    Points that rise above the first one are an explosion in the first steps (Adagrad at 0.3 logs
    1.06, 5.7, 14085 ...), not a fall: the curve's own start stands."""
    if role != "train_loss":
        return head_z
    found = finite_curve(curves, "val_loss", MIN_N)
    if found is None:
        return head_z
    before = z[x <= found[1][0]][:3]
    if not len(before):
        return head_z
    start = float(median(before))
    return start if start <= before[0] and start - head_z > START_NOISE * diff_sigma(z) else head_z


def _lr_annealed_at(curves: Curves, x_at: float) -> bool:
    """Whether the logged LR at `x_at` has come down to <= ANNEALED of its peak so far (a linear or
    cosine decay under way): a loss that falls there is the schedule's doing, not a breakout. A
    high LR holds the loss at its noise level, and it falls as the LR anneals; a net escaping a
    saddle does so at the LR it sat there with (smaller steps escape slower, not faster). The four
    healthy runs of gen2 seeds 1-4 read as saddles under a decaying LR (warmup then linear decay,
    cosine) broke out at 0.52-0.76 of their peak LR; every plateau-labelled saddle of gen2 and the
    first pool broke out at a constant LR (1.0). False when no LR curve is logged."""
    lr = curves.get("lr")
    if lr is None:
        return False
    x, y = finite_xy(lr)
    before = x <= x_at
    if len(y) < 2 or not before.any():
        return False
    peak = float(np.max(y[before]))
    return bool(peak > 0 and float(interp_at(x, y, x_at)) <= ANNEALED * peak)


def _fell_without_chance_level(curves: Curves, z: np.ndarray, level_z: float) -> bool:
    """With no class count and no accuracy logged but a val loss (an MSE regression) a loss has
    no chance level to be stuck at; what shows that the net learned is its own fall from
    its first logged value (the one nearest the untrained net; after an explosion in the first
    steps, where the run landed): a level >= LEARNED_FALL below it. A stalled net stays where it
    started (the labellers' stall is within 3% of the start): the 46 plateau-labelled detections on
    curves with no class count and no accuracy in gen2 seeds 1-3 and the first pool sit at
    0.93-1.17 of their first value, while the healthy regressions that fell fast and converged at
    their noise floor (diabetes keeps half its variance) sit at 0.42-0.67 of it. A stretch the run
    breaks out of (a saddle) is not judged here."""
    if not _no_chance_level(curves):
        return False
    if finite_curve(curves, "val_loss", MIN_N) is None:
        # a training loss alone cannot say which case it is: a classifier stuck at its class prior
        # (cross-entropy from ln C down to the prior's entropy, 70% of it for a skewed 4-class set)
        # looks the same, and the stall reading stands (PLT003's "drops a little, then flat at 70%")
        return False
    first = float(z[_blowup_head(z)])
    return first > 0 and level_z <= (1.0 - LEARNED_FALL) * first


def _stall_classes(curves: Curves, level: float, x_start: float, x_end: float) -> int | None:
    """The class count a stall at `level` over [x_start, x_end] is read against: the logged one, else the
    one its level and accuracy are both at chance for (_chance_classes); None when neither is known."""
    C = curves.num_classes
    return C if C and C > 1 else _chance_classes(curves, level, x_start, x_end)


def _at_chance_level(curves: Curves, level: float, k: int | None) -> bool:
    """The loss `level` sits at the chance level of a classifier of `k` classes (_stall_classes): within
    10% of ln C with the class count logged; a count read off the accuracy already holds the loss to
    ln k (metrics.classes_at_chance). Not the fallback "within 10% of its own start", which a
    regression that settled early meets as well."""
    if k is None:
        return False
    logged = bool(curves.num_classes and curves.num_classes > 1)
    return abs(level - math.log(k)) <= 0.1 * math.log(k) if logged else True


def _settles_onto_chance(end_z: float, tol: float, k: int | None) -> bool:
    """A loss that drifts down through a stretch at chance and ends it still at the chance level (ln C,
    within the flat tolerance) is not learning: a net thrown above ln C by steps too large sheds that
    overshoot as its LR anneals and lands on the uniform guess, no better than where an untrained net
    stands. SGD at LR 1 on digits under a linear decay (gen2 g49 0213, 800 steps at batch 4, labelled
    plateau): its loss drifts from 2.34 to 2.30 = ln 10 over the last half while its accuracy stays at
    7-11%, a significant fall of 1.7% that read as "descending" and left the run with no finding. Asked
    of a stretch the run does not break out of: a flat start at chance that creeps and then breaks out is
    a net finding its way (a deep sigmoid net on moons, a 3-class AdamW run flat at ln 3 for 25-29% of
    their runs, gen2 g45 0150 and first-generator o247 0208, both labelled healthy), and its creep stays
    a descent. Over the 22 tuning corpora (3,918 runs) this gains two plateaus (g49 0213, g50 0191: a GRU
    at NAdam 0.2 bouncing around ln 4) and moves nothing else; asked of every stretch it made those two
    healthy runs saddles for one more plateau (o246 0102, read as an oscillation). `k`: the stretch's
    class count (_stall_classes), read once for this and for _at_chance_level."""
    return k is not None and end_z >= math.log(k) - tol


def _stall_accuracy(curves: Curves, x_start: float, x_end: float, min_points: int) -> float | None:
    """The val accuracy (else the training accuracy) over [x_start, x_end] as a fraction: the median
    of its >= `min_points` finite points there; None when neither has that many. What the net
    scored while its loss stood still, read once for the chance level and for "it has learned"."""
    for role in ("val_acc", "train_acc"):
        a = curves.get(role)
        if a is None or curves.higher_is_better.get(role) is False:
            continue
        ax, ay = finite_xy(a)
        inside = (ax >= x_start) & (ax <= x_end)
        if inside.sum() < min_points:
            continue
        return float(median(ay[inside] / percent_scale(ay)))
    return None


def _chance_classes(curves: Curves, level: float, x_start: float, x_end: float) -> int | None:
    """The class count k a stall is at chance for, read with no class count logged: its level and the val
    accuracy (else the training accuracy), its median over [x_start, x_end] of >= 3 points, both at
    chance for k (metrics.classes_at_chance); None when they are not or no accuracy is logged."""
    acc = _stall_accuracy(curves, x_start, x_end, min_points=3)
    return None if acc is None else classes_at_chance(acc, level)


def _accuracy_learned(curves: Curves, x_start: float, x_end: float, unknown: bool | None = False) -> bool | None:
    """The val accuracy (else the training accuracy) over [x_start, x_end], its median, is at
    least LEARNED_ACC of the way from chance to perfect; `unknown` when no accuracy is logged."""
    acc = _stall_accuracy(curves, x_start, x_end, min_points=2)
    return unknown if acc is None else past_chance(curves, acc, LEARNED_ACC)


def _val_learns(curves: Curves, x_start: float, x_end: float) -> bool:
    """Whether the val loss falls through a training loss's flat stretch: >= 4 evaluations inside it,
    falling significantly (Theil-Sen) by >= VAL_LEARNS of its level where the stretch starts, or at every
    evaluation by >= VAL_LEARNS_STEADY of its first value there. The val
    loss, evaluated on a fixed set, shows the net learning where a per-step minibatch loss that noise
    keeps flat cannot; the labellers' stall never falls 3% on the training set. It must end the stretch
    below the training loss's first logged value: a val loss coming down from an early blow-up (Adagrad
    1.0: 5.6 -> 1.4, the run having begun at 1.1) is recovering, not learning."""
    found = finite_curve(curves, "val_loss", MIN_N)
    tr = finite_curve(curves, "train_loss", MIN_N)
    if found is None or tr is None:
        return False
    _, vx, vy = found
    inside = (vx >= x_start) & (vx <= x_end)
    if inside.sum() < 4:
        return False
    ts = theil_sen(vx[inside], vy[inside])
    level = float(ts.intercept + ts.slope * vx[inside][0])
    below_start = float(vy[inside][-1]) < float(tr[2][0])
    w = vy[inside]
    steady = bool(np.all(np.diff(w) < 0) and w[0] > 0 and w[0] - w[-1] >= VAL_LEARNS_STEADY * w[0])
    return bool(below_start and (steady or (ts.significant_down and level > 0
                                           and -ts.slope * (vx[inside][-1] - vx[inside][0]) >= VAL_LEARNS * level)))


def _still_falling(curves: Curves, role: str, length: float) -> bool:
    """The slow-convergence detector's call on this curve (still falling materially at the end,
    far from done), with an overall drop of >= SLOW_DROP of the start, for a flat stretch shorter
    than SLOW_LENGTH, or of any length when the loss has been on its way since the start (its
    first quarter made >= SLOW_EARLY of the fall): a loss that leaves its start at a shallow
    slope stays within a few percent of it for a long time because it is slow, not because it
    is stuck, while a stall followed by a fall ("flat first, then falling") makes next to
    nothing of its fall in its first quarter. Computed only for a candidate stall, so most runs
    never pay for it."""
    from advisor.signals.convergence import SLOW_EARLY, VAL_CONFIRM_DROP, measure_slow_convergence

    m = measure_slow_convergence(curves, role)
    if m is None or not m.detected:
        return False
    rel_drop = m.values.get("rel_drop")
    if rel_drop is None or rel_drop < SLOW_DROP:
        return False
    if role == "train_loss" and curves.get("val_loss") is not None:
        # the validation loss, when logged, must confirm the fall: it falls less than the training
        # loss as the net learns (the labellers' 3% is the training set's), but a val loss that lost
        # less than VAL_CONFIRM_DROP (2%) of its start has not left it (convergence.VAL_CONFIRM_DROP)
        v = measure_slow_convergence(curves, "val_loss")
        v_drop = v.values.get("rel_drop") if v is not None else None
        if v_drop is not None and v_drop < VAL_CONFIRM_DROP:
            return False
    early = m.values.get("early_share")
    return length < SLOW_LENGTH or (early is not None and early >= SLOW_EARLY)


def _measurement(c, role: str, r: dict) -> Measurement:
    return Measurement(family="plateau", role=role, tag=c.tag, detected=r["detected"], values=r["values"],
                       start_step=r["start"], end_step=r["end"],
                       confidence=float(min(0.95, 0.4 + r["length"])) if r["detected"] else 0.0, note=r["note"])
