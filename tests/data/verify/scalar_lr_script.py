"""An ordinary script that records its learning rate only as a logged column, as many do: no
config file, no hparams, just `step,epoch,train_loss,lr` in a CSV. Linear regression by minibatch SGD
in numpy (fast, and the same on every CPU: no torch kernels).

`advisor verify RUN --cmd '... --lr {lr} ...'` must find `{lr}` in the LR the log holds, and
`--epochs {epochs}` the number of epochs its `epoch` column counts."""
import argparse
import json
import math
import sys
from pathlib import Path

import numpy as np

STEPS_PER_EPOCH = 10


def main(argv=None):
    raw = sys.argv[1:] if argv is None else argv
    p = argparse.ArgumentParser(description="linear regression by SGD")
    p.add_argument("--lr", type=float, default=0.01)
    p.add_argument("--max-steps", type=int, default=300)
    p.add_argument("--epochs", type=int, default=None, help=f"or a length in epochs of {STEPS_PER_EPOCH} steps")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--logdir", required=True)
    p.add_argument("--record-config", action="store_true", help="also write config.json, Lightning's way (max_epochs)")
    a = p.parse_args(raw)
    out = Path(a.logdir)
    out.mkdir(parents=True, exist_ok=True)
    (out / "argv.log").write_text(json.dumps(raw))
    if a.record_config:
        (out / "config.json").write_text(json.dumps({"lr": a.lr, "max_epochs": a.epochs, "batch_size": a.batch_size}))
    data = np.random.default_rng(0)
    x = data.standard_normal((2000, 20))
    y = x @ data.standard_normal(20) + 0.5 * data.standard_normal(2000)
    rng = np.random.default_rng(a.seed)
    w = 0.1 * rng.standard_normal(20)
    with open(out / "metrics.csv", "w") as f, np.errstate(all="ignore"):
        f.write("step,epoch,train_loss,lr\n")
        for step in range(a.max_steps if a.epochs is None else a.epochs * STEPS_PER_EPOCH):
            idx = rng.integers(0, len(y), a.batch_size)
            r = x[idx] @ w - y[idx]
            loss = float(0.5 * np.mean(r * r))
            f.write(f"{step},{step // STEPS_PER_EPOCH},{loss!r},{a.lr!r}\n")
            if not math.isfinite(loss):
                break
            w = w - a.lr * (x[idx].T @ r) / a.batch_size
    return 0


if __name__ == "__main__":
    sys.exit(main())
