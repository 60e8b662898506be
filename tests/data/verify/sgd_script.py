"""A tiny numpy training script for `advisor verify --cmd` tests (no torch: starts in ~0.1 s).

Minibatch SGD on a linear regression (0.5 * squared error, 20 standardised features): stable for
LR below ~0.6, diverging to inf/NaN above. It writes what a hand-written loop would:
`<logdir>/metrics.csv` (step, train_loss, lr), `<logdir>/config.json` (its hyperparameters) and,
for the injection test, its own argv as JSON in `<logdir>/argv.log`.
"""
import argparse
import json
import math
import sys
from pathlib import Path

import numpy as np


def main(argv=None):
    raw = sys.argv[1:] if argv is None else argv
    p = argparse.ArgumentParser()
    p.add_argument("--lr", type=float, required=True)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--max-steps", type=int, required=True)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--logdir", required=True)
    p.add_argument("--device", default="cpu")
    p.add_argument("--note", default="")
    a = p.parse_args(raw)
    out = Path(a.logdir)
    out.mkdir(parents=True, exist_ok=True)
    (out / "argv.log").write_text(json.dumps(raw))
    data = np.random.default_rng(0)
    x = data.standard_normal((2000, 20))
    y = x @ data.standard_normal(20) + 0.5 * data.standard_normal(2000)
    rng = np.random.default_rng(a.seed)
    w = 0.1 * rng.standard_normal(20)
    rows = []
    with np.errstate(all="ignore"):
        for step in range(a.max_steps):
            idx = rng.integers(0, len(y), a.batch_size)
            r = x[idx] @ w - y[idx]
            loss = float(0.5 * np.mean(r * r))
            rows.append((step, loss, a.lr))
            if not math.isfinite(loss):
                break
            w = w - a.lr * (x[idx].T @ r) / a.batch_size
    with open(out / "metrics.csv", "w") as f:
        f.write("step,train_loss,lr\n")
        for s, v, lr in rows:
            f.write(f"{s},{v!r},{lr!r}\n")
    (out / "config.json").write_text(json.dumps({"lr": a.lr, "batch_size": a.batch_size, "note": a.note}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
