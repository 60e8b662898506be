"""Entry points for `advisor verify --entry` tests: same signature as builtins.train, numpy only."""
import math

import numpy as np


def train_quad(config, steps, seed, log, device="cpu"):
    """SGD on a noisy 1-d quadratic (curvature 1): diverges for lr > 2, converges below."""
    rng = np.random.default_rng(seed)
    w = 3.0 + 0.1 * rng.standard_normal()
    lr = float(config["lr"])
    with np.errstate(all="ignore"):
        for k in range(steps):
            g = w + 0.05 * rng.standard_normal()
            loss = 0.5 * w * w + 0.01
            log("train/loss", k, float(loss))
            log("lr", k, lr)
            if not math.isfinite(loss):
                break
            w = w - lr * g
    return {"device": device}


def train_crash(config, steps, seed, log, device="cpu"):
    log("train/loss", 0, 1.0)
    raise RuntimeError("CUDA out of memory (simulated)")


def train_env(config, steps, seed, log, device="cpu"):
    """Logs the CUDA_VISIBLE_DEVICES its worker was pinned to (-1 when unset or empty)."""
    import os

    cvd = os.environ.get("CUDA_VISIBLE_DEVICES") or "-1"
    for k in range(steps):
        log("train/loss", k, 1.0 / (k + 1))
        log("env/cuda", k, float(cvd))


def train_quad_opt(config, steps, seed, log, device="cpu"):
    """train_quad with an optimizer spelled the trainer's way: "sgd" or "momentum" (heavy ball,
    0.5), anything else rejected like a real trainer would; logs which one it ran."""
    if config["optimizer"] not in ("sgd", "momentum"):
        raise ValueError(f"optimizer must be sgd|momentum, not {config['optimizer']!r}")
    beta = 0.5 if config["optimizer"] == "momentum" else 0.0
    rng = np.random.default_rng(seed)
    w, v = 3.0 + 0.1 * rng.standard_normal(), 0.0
    lr = float(config["lr"])
    with np.errstate(all="ignore"):
        for k in range(steps):
            loss = 0.5 * w * w + 0.01
            log("train/loss", k, float(loss))
            log("opt/momentum", k, beta)
            if not math.isfinite(loss):
                break
            v = beta * v + (w + 0.05 * rng.standard_normal())
            w = w - lr * v
    return {"device": device}
