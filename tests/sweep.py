"""A seeded sweep of small CSV runs with known troubles, for the tests of many-run diagnosis.

Each run is `metrics.csv` (epoch, train_loss, val_loss, 40 epochs): a quarter healthy, a quarter
diverging after epoch 25, a quarter oscillating, a quarter overfitting after epoch 20, so the
findings differ from run to run and an executor that mixed runs up would show it.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

KINDS = ("healthy", "diverging", "oscillating", "overfitting")


def write_sweep(root: Path, n: int, epochs: int = 40, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    x = np.arange(1, epochs + 1)
    for i in range(n):
        kind = KINDS[i % len(KINDS)]
        train = 2 * np.exp(-x / 10) + 0.1 + rng.normal(0, 0.02, epochs)
        if kind == "diverging":
            train = train + np.where(x > 25, (x - 25) * 0.3, 0)
        elif kind == "oscillating":
            train = train + 0.5 * (x % 2)
        val = train + 0.05 + (np.where(x > 20, (x - 20) * 0.02, 0) if kind == "overfitting" else 0)
        folder = root / f"run_{i:05d}_{kind}"
        folder.mkdir(parents=True, exist_ok=True)
        lines = ["epoch,train_loss,val_loss"] + [f"{e},{t:.5f},{v:.5f}" for e, t, v in zip(x, train, val)]
        (folder / "metrics.csv").write_text("\n".join(lines) + "\n")
    return root
