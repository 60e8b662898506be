"""Seeded generators of training curves with a known truth, for property tests and tuning.

Each generator returns a `Synth`: `Curves` ready for the signal families plus `truth`, a dict
pattern -> onset x (None when the pattern is present without a meaningful onset), listing every
pattern planted. Healthy generators return an empty truth. Curves are shaped like the real
thing (exponential/power-law decay, lognormal minibatch noise proportional to the level at
step density, small noise at epoch density), and can be moved to any scale/offset, so the
detectors are tested for scale-freeness too.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from advisor.model import Curve, Curves


@dataclass
class Synth:
    name: str
    curves: Curves
    truth: dict[str, float | None] = field(default_factory=dict)


def _x(n: int, density: str, rng: np.random.Generator, irregular: bool = False) -> np.ndarray:
    if density == "epoch":
        x = np.arange(n, dtype=np.float64)
    else:
        stride = int(rng.choice([1, 10, 50]))
        x = np.arange(1, n + 1, dtype=np.float64) * stride
    if irregular:
        keep = np.sort(rng.choice(n, size=max(8, int(0.8 * n)), replace=False))
        x = x[keep]
    return x


def _noise_rel(density: str, rng: np.random.Generator) -> float:
    return float(rng.uniform(0.08, 0.2)) if density == "step" else float(rng.uniform(0.005, 0.025))


def _decay(t: np.ndarray, y0: float, floor: float, tau: float, power: bool = False) -> np.ndarray:
    """t in [0, 1]: exponential (or power-law) decay from y0 to `floor`."""
    if power:
        return floor + (y0 - floor) * (1 + t / tau) ** -1.5
    return floor + (y0 - floor) * np.exp(-t / tau)


def _noisy(rng, clean: np.ndarray, rel: float) -> np.ndarray:
    return clean * np.exp(rel * rng.standard_normal(len(clean)) - 0.5 * rel ** 2)


def _pack(name, x, train, val=None, xv=None, lr=None, truth=None, steps_per_epoch=None,
          num_classes=None, scale=1.0, offset=0.0, grad=None) -> Synth:
    curves = Curves(run=name, steps_per_epoch=steps_per_epoch, num_classes=num_classes)
    curves.by_role["train_loss"] = Curve("train_loss", "train/loss", x, train * scale + offset)
    if val is not None:
        xv = x if xv is None else xv
        curves.by_role["val_loss"] = Curve("val_loss", "val/loss", xv, val * scale + offset)
    if lr is not None:
        curves.by_role["lr"] = Curve("lr", "lr", x, lr)
    if grad is not None:
        curves.by_role["grad_norm"] = Curve("grad_norm", "grad_norm", x, grad)
    if truth is not None and scale != 1.0 or offset != 0.0:
        pass
    return Synth(name, curves, dict(truth or {}))


def _val_of(rng, x, train_clean, density, gap=None):
    """A validation curve at epoch cadence tracking the training trend with a small gap."""
    gap = float(rng.uniform(1.03, 1.2)) if gap is None else gap
    if density == "step":
        idx = np.unique(np.linspace(0, len(x) - 1, int(rng.integers(10, 40))).round().astype(int))
    else:
        idx = np.arange(len(x))
    v = train_clean[idx] * gap
    return x[idx], _noisy(rng, v, float(rng.uniform(0.005, 0.02)))


# ----------------------------------------------------------------------------- healthy controls


def healthy(seed: int, density: str = "step", n: int | None = None, scale: float = 1.0,
            offset: float = 0.0, schedule: str | None = None, irregular: bool = False) -> Synth:
    """A run that trains fine: fast decay to a low level, minibatch noise, optional schedule."""
    rng = np.random.default_rng(seed)
    n = n or (int(rng.integers(200, 2000)) if density == "step" else int(rng.integers(8, 31)))
    x = _x(n, density, rng, irregular)
    n = len(x)
    t = (x - x[0]) / max(x[-1] - x[0], 1)
    y0 = float(rng.uniform(0.7, 3.0))
    floor = y0 * float(rng.uniform(0.02, 0.2))
    tau = float(rng.uniform(0.05, 0.2))
    clean = _decay(t, y0, floor, tau, power=bool(rng.integers(0, 2)))
    schedule = schedule or str(rng.choice(["constant", "cosine", "step", "warmup_cosine"]))
    lr0 = float(10 ** rng.uniform(-4, -1))
    if schedule == "constant":
        lr = np.full(n, lr0)
    elif schedule == "cosine":
        lr = lr0 * 0.5 * (1 + np.cos(np.pi * t))
    elif schedule == "warmup_cosine":
        w = 0.05
        lr = np.where(t < w, lr0 * t / w, lr0 * 0.5 * (1 + np.cos(np.pi * (t - w) / (1 - w))))
    else:  # step decay: the loss drops at each step
        drops = [0.5, 0.75]
        lr = lr0 * 0.1 ** np.searchsorted(drops, t, side="right")
        for d in drops:
            clean = np.where(t >= d, clean * 0.75, clean)
    rel = _noise_rel(density, rng)
    if schedule in ("cosine", "warmup_cosine") and density == "step":
        rel_t = rel * (0.5 + 0.5 * lr / lr0)  # noise shrinks with the LR
    else:
        rel_t = rel
    train = clean * np.exp(rel_t * rng.standard_normal(n) - 0.5 * np.asarray(rel_t) ** 2)
    xv, val = _val_of(rng, x, clean, density)
    s = _pack(f"healthy-{density}-{seed}", x, train, val, xv, lr, {}, scale=scale, offset=offset)
    return s


# ----------------------------------------------------------------------------- divergence


def diverge_nan(seed: int, density: str = "step") -> Synth:
    """Trains, then the loss climbs for a few points and becomes NaN until the end."""
    rng = np.random.default_rng(seed)
    s = healthy(seed, density)
    c = s.curves.by_role["train_loss"]
    n = len(c)
    i = int(rng.integers(max(3, int(0.3 * n)), max(4, int(0.8 * n))))
    y = c.y.copy()
    ramp = max(1, min(5, i - 2, n - i - 1))
    y[i - ramp:i] = y[i - ramp:i] * np.geomspace(2, 100, ramp)
    y[i:] = np.nan
    c.y = y
    s.curves.by_role.pop("val_loss", None)
    s.truth = {"divergence": float(c.x[i - ramp])}
    s.name = f"nan-{density}-{seed}"
    return s


def diverge_explode(seed: int, density: str = "step") -> Synth:
    """Trains, then the loss grows exponentially from an onset and stays high."""
    rng = np.random.default_rng(seed)
    s = healthy(seed, density, schedule="constant")
    c = s.curves.by_role["train_loss"]
    n = len(c)
    i = int(rng.integers(int(0.3 * n), int(0.7 * n)))
    y = c.y.copy()
    k = np.arange(n - i)
    growth = np.minimum(np.exp(k * np.log(float(rng.uniform(20, 1000))) / max(1, min(n - i, 12))), 1e4)
    y[i:] = y[i:] * growth
    c.y = y
    s.curves.by_role.pop("val_loss", None)
    s.truth = {"divergence": float(c.x[i])}
    s.name = f"explode-{density}-{seed}"
    return s


def early_rise(seed: int, density: str = "step") -> Synth:
    """Seed 003's red curve: the loss rises from the first steps and bounces high (LR too high)."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(200, 2000)) if density == "step" else int(rng.integers(8, 31))
    x = _x(n, density, rng)
    t = (x - x[0]) / max(x[-1] - x[0], 1)
    y0 = float(rng.uniform(0.7, 3.0))
    top = y0 * float(rng.uniform(3.5, 8.0))
    clean = top - (top - y0) * np.exp(-t / max(float(rng.uniform(0.03, 0.15)), 4.0 / n))
    rel = _noise_rel(density, rng) * 1.5
    train = _noisy(rng, clean, rel)
    train[0] = y0
    s = _pack(f"early-rise-{density}-{seed}", x, train, lr=np.full(len(x), 0.5))
    s.truth = {"divergence": float(x[0])}
    return s


# ----------------------------------------------------------------------------- oscillation


def oscillating(seed: int, density: str = "step") -> Synth:
    """LR too high with a fixed LR (seeds 000/002): a short drop, then large bouncing around a
    high level that neither shrinks nor improves."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(200, 2000)) if density == "step" else int(rng.integers(12, 31))
    x = _x(n, density, rng)
    t = (x - x[0]) / max(x[-1] - x[0], 1)
    y0 = float(rng.uniform(0.7, 3.0))
    level = y0 * float(rng.uniform(0.75, 1.0))  # an LR this high gets (almost) nowhere
    clean = _decay(t, y0, level, float(rng.uniform(0.03, 0.1)))
    if density == "step":
        amp = float(rng.uniform(0.35, 0.6))
        ar = np.zeros(n)
        e = rng.standard_normal(n)
        for i in range(1, n):
            ar[i] = 0.5 * ar[i - 1] + e[i]
        ar /= ar.std() + 1e-12
        ramp = np.clip((t - 0.03) / 0.07, 0.05, 1.0)  # the bouncing starts once the loss reaches the valley
        train = clean * np.exp(amp * ramp * ar - 0.5 * (amp * ramp) ** 2)
    else:
        amp = float(rng.uniform(0.2, 0.45))
        sign = np.where(np.arange(n) % 2 == 0, 1.0, -1.0)
        jitter = rng.uniform(0.5, 1.5, n)
        train = clean * (1 + amp * sign * jitter * (t > 0.1))
    onset = float(x[np.searchsorted(t, 0.1)])
    # the validation loss is as unstable as the weights it is measured on
    val_x, _ = _val_of(rng, x, clean, density, gap=1.05)
    vi = np.searchsorted(x, val_x)
    val = clean[vi] * 1.05 * np.exp(float(rng.uniform(0.25, 0.4)) * rng.standard_normal(len(vi)))
    s = _pack(f"osc-{density}-{seed}", x, train, val, val_x, np.full(n, 0.3))
    s.truth = {"oscillation": onset}
    return s


def epoch_jumps(seed: int) -> Synth:
    """Unshuffled data: within each epoch the loss follows the same saw-tooth and jumps at every
    epoch boundary (seed 003)."""
    rng = np.random.default_rng(seed)
    P = int(rng.integers(20, 80))
    epochs = int(rng.integers(6, 20))
    n = P * epochs
    x = np.arange(n, dtype=np.float64)
    t = x / n
    y0 = float(rng.uniform(0.7, 3.0))
    clean = _decay(t, y0, y0 * 0.3, 0.3)
    phase = (np.arange(n) % P) / P
    saw = 1 + float(rng.uniform(0.3, 0.6)) * (0.5 - phase)
    train = _noisy(rng, clean * saw, 0.05)
    s = _pack(f"epoch-jumps-{seed}", x, train, lr=np.full(n, 0.01), steps_per_epoch=float(P))
    s.truth = {"oscillation": float(P)}
    return s


def memorising_staircase(seed: int) -> Synth:
    """A net memorising a small training set over many epochs (multi-epoch fine-tuning): the loss is
    flat within an epoch and steps *down* at every boundary, as each example is met once more; the
    data is shuffled, so nothing about its order shows (the opposite of `epoch_jumps`)."""
    rng = np.random.default_rng(seed)
    P = int(rng.integers(20, 80))
    epochs = int(rng.integers(6, 20))
    n = P * epochs
    x = np.arange(n, dtype=np.float64)
    y0 = float(rng.uniform(0.7, 3.0))
    step = float(rng.uniform(0.6, 0.8))
    train = _noisy(rng, y0 * step ** (np.arange(n) // P).astype(np.float64), 0.05)
    return _pack(f"memorising-staircase-{seed}", x, train, lr=np.full(n, 1e-4), steps_per_epoch=float(P))


# ----------------------------------------------------------------------------- plateau / slow


def saddle(seed: int, density: str = "step") -> Synth:
    """Seed 002: a long flat stretch near the start level, then a sudden breakout and convergence."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(200, 2000)) if density == "step" else int(rng.integers(16, 31))
    x = _x(n, density, rng)
    t = (x - x[0]) / max(x[-1] - x[0], 1)
    y0 = float(rng.uniform(0.7, 3.0))
    first = y0 * float(rng.uniform(0.8, 0.95))
    t_break = float(rng.uniform(0.45, 0.7))
    pre = _decay(np.minimum(t, 0.05), y0, first, 0.02)
    post = first * np.exp(-np.maximum(t - t_break, 0) / 0.05) * 0.9 + first * 0.1 * (t < t_break) + \
        first * 0.05 * (t >= t_break)
    clean = np.where(t < t_break, pre, np.maximum(post, first * 0.05))
    train = _noisy(rng, clean, _noise_rel(density, rng))
    s = _pack(f"saddle-{density}-{seed}", x, train, lr=np.full(n, 0.01))
    s.truth = {"plateau": float(x[np.searchsorted(t, t_break)])}
    return s


def stall_high(seed: int, density: str = "step", num_classes: int | None = None) -> Synth:
    """Barely learns: a small early drop, then flat at a high level until the end."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(200, 2000)) if density == "step" else int(rng.integers(10, 31))
    x = _x(n, density, rng)
    t = (x - x[0]) / max(x[-1] - x[0], 1)
    y0 = float(np.log(num_classes)) if num_classes else float(rng.uniform(0.7, 3.0))
    clean = _decay(t, y0 * 1.05, y0 * float(rng.uniform(0.75, 0.98)), 0.04)
    # a net stuck near chance predicts near-uniformly: every batch scores about the same
    train = _noisy(rng, clean, float(rng.uniform(0.005, 0.03)))
    s = _pack(f"stall-{density}-{seed}", x, train, lr=np.full(n, 1e-3), num_classes=num_classes)
    s.truth = {"plateau": float(x[np.searchsorted(t, 0.2)])}
    return s


def slow(seed: int, density: str = "step") -> Synth:
    """Seed 003's yellow curve: LR too small, falling slowly and steadily all along."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(200, 2000)) if density == "step" else int(rng.integers(10, 31))
    x = _x(n, density, rng)
    t = (x - x[0]) / max(x[-1] - x[0], 1)
    y0 = float(rng.uniform(0.7, 3.0))
    floor = y0 * float(rng.uniform(0.02, 0.2))
    tau = float(rng.uniform(1.0, 4.0))
    clean = _decay(t, y0, floor, tau)
    train = _noisy(rng, clean, _noise_rel(density, rng) * 0.5)
    val_x, val = _val_of(rng, x, clean, density)
    s = _pack(f"slow-{density}-{seed}", x, train, val, val_x, np.full(n, 1e-5))
    s.truth = {"slow_convergence": None}
    return s


# ----------------------------------------------------------------------------- overfitting


def overfit(seed: int, density: str = "epoch") -> Synth:
    """Train keeps falling; validation reaches its minimum at the onset and climbs after it."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(200, 2000)) if density == "step" else int(rng.integers(12, 41))
    x = _x(n, density, rng)
    t = (x - x[0]) / max(x[-1] - x[0], 1)
    y0 = float(rng.uniform(0.7, 3.0))
    train_clean = _decay(t, y0, y0 * 0.01, float(rng.uniform(0.1, 0.25)))
    train = _noisy(rng, train_clean, _noise_rel(density, rng))
    t_min = float(rng.uniform(0.25, 0.55))
    vmin = y0 * float(rng.uniform(0.2, 0.4))
    val_clean = np.where(t < t_min, vmin + (y0 - vmin) * (1 - t / t_min) ** 2,
                         vmin * (1 + float(rng.uniform(0.6, 2.0)) * (t - t_min) / (1 - t_min)))
    if density == "step":
        idx = np.unique(np.linspace(0, n - 1, int(rng.integers(15, 40))).round().astype(int))
    else:
        idx = np.arange(n)
    val = _noisy(rng, val_clean[idx], 0.015)
    s = _pack(f"overfit-{density}-{seed}", x, train, val, x[idx], np.full(n, 1e-3))
    s.truth = {"overfitting": float(x[np.searchsorted(t, t_min)])}
    return s


def gap_orders(seed: int) -> Synth:
    """Seed 003: train loss an order of magnitude (or more) below a flat validation loss."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(12, 41))
    x = np.arange(n, dtype=np.float64)
    t = x / (n - 1)
    y0 = float(rng.uniform(0.7, 3.0))
    train = _noisy(rng, y0 * (1 + t / 0.02) ** -1.5, 0.02)  # still falling, orders below val
    vfloor = y0 * float(rng.uniform(0.2, 0.35))
    val = _noisy(rng, _decay(t, y0, vfloor, 0.08) + vfloor * 0.1 * np.clip((t - 0.5) / 0.5, 0, 1), 0.005)
    s = _pack(f"gap-{seed}", x, train, val, x, np.full(n, 1e-3))
    s.truth = {"overfitting": None}
    return s


def same_order_gap(seed: int) -> Synth:
    """Control for seed 003: val a little above train (0.8 vs 0.9) is not overfitting."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(12, 41))
    x = np.arange(n, dtype=np.float64)
    t = x / (n - 1)
    y0 = float(rng.uniform(0.7, 3.0))
    clean = _decay(t, y0, y0 * 0.3, 0.15)
    train = _noisy(rng, clean, 0.01)
    val = _noisy(rng, clean * 1.12, 0.01)
    return _pack(f"same-order-{seed}", x, train, val, x, np.full(n, 1e-3))


# ----------------------------------------------------------------------------- LR schedules


def lr_curve(kind: str, n: int = 300, lr0: float = 0.1, seed: int = 0) -> np.ndarray:
    t = np.linspace(0, 1, n)
    if kind == "constant":
        return np.full(n, lr0)
    if kind == "step":
        return lr0 * 0.1 ** np.searchsorted([0.33, 0.66], t, side="right")
    if kind == "exponential":
        return lr0 * 0.99 ** np.arange(n)
    if kind == "cosine":
        return lr0 * 0.5 * (1 + np.cos(np.pi * t))
    if kind == "linear":
        return lr0 * (1 - t) + 1e-7
    if kind == "warmup":
        w = 0.1
        return np.where(t < w, lr0 * (t + 1e-3) / w, lr0 * 0.5 * (1 + np.cos(np.pi * (t - w) / (1 - w))))
    if kind == "range_test":
        return np.geomspace(1e-7, 10, n)
    if kind == "cyclic":
        period = n / 4
        ph = (np.arange(n) % period) / period
        return 1e-3 + (lr0 - 1e-3) * (1 - np.abs(2 * ph - 1))
    raise ValueError(kind)


PLANTED = {
    "divergence": [diverge_nan, diverge_explode, early_rise],
    "oscillation": [oscillating],
    "plateau": [saddle, stall_high],
    "slow_convergence": [slow],
    "overfitting": [overfit],
}

__all__ = ["Synth", "healthy", "diverge_nan", "diverge_explode", "early_rise", "oscillating",
           "epoch_jumps", "saddle", "stall_high", "slow", "overfit", "gap_orders", "same_order_gap",
           "lr_curve", "PLANTED"]
