"""Reinforcement-learning runs (SB3, RLlib, CleanRL): judged by the reward, not the loss.

A policy-gradient loss is not a supervised loss: it rises when the policy improves, jumps when
the value targets move, and a run "learns" when its episode reward climbs. What a practitioner
reads off an SB3/RLlib log:
- *learning*: the reward trend (running median over a tenth of the points) ends clearly above
  where it started (`gain_rel`: the rise as a share of the trend's range);
- *dead policy*: the reward trend is flat (`flat`) and nothing reaches the learner: the entropy
  has collapsed to a near-deterministic policy (|entropy| <= 0.05 nats at the end,
  `entropy_collapsed`), the loss is exactly 0 (`loss_zero`), the KL between successive
  policies is exactly 0 (`kl_zero`), or (TRL's GRPO) >= 90% of the prompt groups score alike, so no
  completion has an advantage (`no_signal`, from `frac_reward_zero_std`);
- *policy collapse*: the reward rose (peak >= 30% of the range above the start) and then lost at
  least half of what it had gained by the end (`collapsed`, onset at the peak);
- *KL blow-ups*: the approximate KL between successive policies above 0.1 (SB3's `target_kl` is
  usually 0.01-0.05) in `kl_spikes` updates, >= 3 and >= 5% of them (`kl_share`).
"""
from __future__ import annotations

import math

import numpy as np

from advisor.model import Curves, Measurement
from advisor.numbers import readable
from advisor.signals.robust import finite_xy, head_level, moving_average, odd, running_median, tail_level
from advisor.signals.robust import median  # numpy's numbers, without its per-call dispatch

MIN_N = 5
FLAT = 0.05  # trend range <= 5% of the reward's magnitude: flat
LEARN = 0.25  # the reward ends >= 25% of its trend's range above its start: learning
COLLAPSE_RISE = 0.3  # the peak is >= 30% of the range above the start ...
COLLAPSE_LOSS = 0.5  # ... and the end has lost >= 50% of that gain
ENTROPY_DEAD = 0.05  # nats: a near-deterministic policy
NO_SIGNAL = 0.9  # GRPO: >= 90% of the prompt groups score alike over the last quarter (frac_reward_zero_std)
KL_HIGH = 0.1
# ... in >= 3 updates and >= 5% of them: a long run passes 0.1 a few times by chance (an SB3 PPO on
# Flappy Bird: 4 of 1,626 updates at most 0.133, median KL 0.004, its reward rising 10 -> 50; an Atari
# PPO at LR 2.5e-4: 66 of 1,953, median 0.043), while a step size too large does it in most updates
# (a PPO at LR 5e-3: 99% of its updates, median 0.37)
KL_SPIKES_MIN = 3
KL_SHARE_MIN = 0.05
# A reward logged per episode as one of a few outcomes (a self-play game's win / draw / loss as +1 / 0 /
# -1) has no median trend: running medians of {-1, 0, 1} flip between the outcomes on noise. Such a
# reward (<= OUTCOME_LEVELS distinct values, none holding over OUTCOME_PINNED of the episodes) is read by
# its means (the win rate) over windows a quarter of the run wide, and a rise and a fall count only past
# OUTCOME_SIGMAS standard errors of the difference between the trend's window and the first or last
# tenth's mean: the peak is the highest of several windows, up to ~2 standard errors above the mean on
# noise alone, and the legs must stand 2 more above that. A public PPO self-play log (davidADSP/SIMPLE tb_3, 5,436
# episodes, means by tenth of the run -0.05 to +0.07) read as 'rose from -1 to a peak of 1 at step 394,
# then fell back to -1: the policy collapsed' (RL002); its sibling tb_4 (outcomes -1 to 1 by halves,
# tenths -0.01 to +0.21 in no order) is no collapse either.
OUTCOME_LEVELS = 5
OUTCOME_SIGMAS = 4.0
OUTCOME_PINNED = 0.9


def _tail_zero(curves: Curves, role: str) -> bool | None:
    c = curves.get(role)
    if c is None:
        return None
    _, y = finite_xy(c)
    if len(y) < MIN_N:
        return None
    return bool(np.all(y[len(y) // 2:] == 0.0))


def measure_rl(curves: Curves, role: str) -> Measurement | None:
    """Learning, dead policy, policy collapse and KL blow-ups of an RL run, from its reward."""
    c = curves.get(role)
    if c is None or not curves.rl:
        return None
    x, y = finite_xy(c)
    if len(y) < MIN_N:
        return None
    n = len(y)
    levels, counts = np.unique(y, return_counts=True)
    # (a reward pinned at one value, a dead policy's -100 with a few other episodes, keeps its medians)
    outcomes = len(levels) <= OUTCOME_LEVELS and float(np.max(counts)) <= OUTCOME_PINNED * n
    if outcomes:
        w = odd(max(3, n // 4))  # (outcomes are read over quarters of the run: a tenth's mean is too noisy)
        t = moving_average(y, w)
        k = max(1, n // 10)
        head, tail = float(np.mean(y[:k])), float(np.mean(y[-k:]))
        level = max(abs(float(np.mean(y))), 1e-12)
        # a difference of two windows' means (the trend's, and the first or last tenth's) moves by the
        # standard error of that difference on noise alone
        noise = OUTCOME_SIGMAS * float(np.std(y)) * math.sqrt(1.0 / w + 1.0 / k)
    else:
        t = running_median(y, odd(max(3, n // 10)))
        head, tail = head_level(y, 0.1), tail_level(y, 0.1)
        level = max(abs(float(median(y))), 1e-12)
        noise = 0.0
    rng = float(np.ptp(t))
    flat = bool(rng <= FLAT * level or rng <= noise)
    gain = tail - head
    learning = bool(not flat and gain >= LEARN * rng and gain > 0)
    i_peak = int(np.argmax(t))
    rise = float(t[i_peak] - head)
    collapsed = bool(not flat and rng > 0 and rise >= COLLAPSE_RISE * rng and i_peak < n - max(2, n // 10)
                     and tail <= t[i_peak] - COLLAPSE_LOSS * rise and rise >= noise
                     and t[i_peak] - tail >= noise)
    ent = curves.get("entropy")
    ent_tail = None
    if ent is not None:
        _, ey = finite_xy(ent)
        if len(ey) >= MIN_N:
            ent_tail = float(abs(tail_level(ey, 0.1)))
    entropy_collapsed = None if ent_tail is None else bool(ent_tail <= ENTROPY_DEAD)
    loss_zero = _tail_zero(curves, "train_loss")
    kl = curves.get("kl")
    kl_max = kl_spikes = kl_share = None
    kl_zero = None
    if kl is not None:
        _, ky = finite_xy(kl)
        if len(ky) >= MIN_N:
            kl_max = float(np.max(ky))
            kl_spikes = int(np.sum(ky > KL_HIGH))
            kl_share = kl_spikes / len(ky)
            kl_zero = bool(np.all(ky[len(ky) // 2:] == 0.0))
    # TRL's GRPO: when (nearly) every prompt's completions score alike, no completion has an advantage and
    # no gradient reaches the policy (a public GRPO run: 96% of its groups, reward 0 at almost every step)
    zero_std = curves.get("reward_zero_std")
    zero_std_tail = None
    if zero_std is not None:
        _, zy = finite_xy(zero_std)
        if len(zy) >= MIN_N:
            zero_std_tail = float(tail_level(zy, 0.25))
    no_signal = None if zero_std_tail is None else bool(zero_std_tail >= NO_SIGNAL)
    dead = bool(flat and (entropy_collapsed or loss_zero or kl_zero or no_signal))
    why = [w for w, holds in ((f"the policy's entropy ends at {readable(ent_tail)} nats", entropy_collapsed),
                              ("the loss is exactly 0", loss_zero), ("the KL between successive policies is exactly 0", kl_zero),
                              (f"{readable(100 * zero_std_tail) if zero_std_tail is not None else ''}% of the prompt groups "
                               "score alike, so no completion has an advantage", no_signal)) if holds]
    values = {
        "reward_first": float(head), "reward_last": float(tail), "reward_peak": float(t[i_peak]),
        "peak_step": float(x[i_peak]), "gain_rel": float(gain / rng) if rng > 0 else 0.0,
        "learning": learning, "flat": flat, "dead_policy": dead, "collapsed": collapsed,
        "entropy_last": ent_tail, "entropy_collapsed": entropy_collapsed, "loss_zero": loss_zero,
        "zero_std_share": zero_std_tail, "no_signal": no_signal, "dead_because": "; ".join(why) if dead else None,
        "kl_max": kl_max, "kl_spikes": kl_spikes, "kl_share": kl_share,
        "kl_blowup": bool(kl_spikes is not None and kl_spikes >= KL_SPIKES_MIN and kl_share >= KL_SHARE_MIN),
    }
    if dead:
        note = f"reward flat at {tail:.4g} with nothing reaching the learner: a dead policy"
    elif collapsed:
        note = f"reward peaked at {t[i_peak]:.4g} at step {x[i_peak]:g}, then fell back to {tail:.4g}: policy collapse"
    elif learning:
        note = f"reward rose from {head:.4g} to {tail:.4g}: learning"
    else:
        note = f"reward from {head:.4g} to {tail:.4g}"
    detected = dead or collapsed
    return Measurement(family="rl", role=role, tag=c.tag, detected=detected, values=values,
                       start_step=float(x[i_peak]) if collapsed else (float(x[0]) if dead else None),
                       end_step=float(x[-1]) if detected else None, confidence=0.8 if detected else 0.0, note=note)
