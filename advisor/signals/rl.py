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

import numpy as np

from advisor.model import Curves, Measurement
from advisor.numbers import readable
from advisor.signals.robust import finite_xy, head_level, odd, running_median, tail_level
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
    t = running_median(y, odd(max(3, n // 10)))
    head, tail = head_level(y, 0.1), tail_level(y, 0.1)
    rng = float(np.ptp(t))
    level = max(abs(float(median(y))), 1e-12)
    flat = bool(rng <= FLAT * level)
    gain = tail - head
    learning = bool(not flat and gain >= LEARN * rng and gain > 0)
    i_peak = int(np.argmax(t))
    rise = float(t[i_peak] - head)
    collapsed = bool(not flat and rng > 0 and rise >= COLLAPSE_RISE * rng and i_peak < n - max(2, n // 10)
                     and tail <= t[i_peak] - COLLAPSE_LOSS * rise)
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
