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
