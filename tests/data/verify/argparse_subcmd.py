"""An argparse script with what ordinary training scripts use and the verifier must survive: a
subcommand (`fit`), `nargs="+"` with `type=int`, `store_true`, `BooleanOptionalAction`, `choices`,
and `type=float` options with defaults (one of them `None`); its length is `--max-steps` or
`--epochs` (of 15 steps each).

Numpy minibatch SGD on a linear regression (no torch: starts in ~0.1 s); stable for LR below
~0.6, diverging above. Writes `<logdir>/metrics.csv` (step, train_loss), `<logdir>/config.json`
(every option, the list and the booleans as JSON) and its own argv in `<logdir>/argv.log`.
"""
import argparse
import json
import math
import sys
from pathlib import Path

import numpy as np


STEPS_PER_EPOCH = 15


def parser():
    p = argparse.ArgumentParser(description="linear regression by SGD")
    sub = p.add_subparsers(dest="command", required=True)
    fit = sub.add_parser("fit", help="train")
    fit.add_argument("--lr", type=float, default=0.1, help="learning rate (default: %(default)s)")
    fit.add_argument("--batch-size", type=int, default=32)
    fit.add_argument("--max-steps", type=int, default=None, help="or --epochs")
    fit.add_argument("--epochs", type=int, default=None, help=f"epochs of {STEPS_PER_EPOCH} steps")
    fit.add_argument("--seed", type=int, default=0)
    fit.add_argument("--logdir", required=True)
    fit.add_argument("--hidden-sizes", type=int, nargs="+", default=[8, 8], help="unused widths, recorded")
    fit.add_argument("--clip", type=float, default=None, help="gradient norm clip (default: none)")
    fit.add_argument("--nesterov", action="store_true")
    fit.add_argument("--shuffle", action=argparse.BooleanOptionalAction, default=True)
    fit.add_argument("--schedule", choices=["constant", "cosine"], default="constant")
    fit.add_argument("--decay", type=float, choices=[0.5, 1.0], default=1.0)
    sub.add_parser("evaluate", help="not used here")
    return p


def main(argv=None):
    raw = sys.argv[1:] if argv is None else argv
    a = parser().parse_args(raw)
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
        total = a.max_steps if a.max_steps is not None else a.epochs * STEPS_PER_EPOCH
        for step in range(total):
            idx = rng.integers(0, len(y), a.batch_size)
            r = x[idx] @ w - y[idx]
            loss = float(0.5 * np.mean(r * r))
            rows.append((step, loss))
            if not math.isfinite(loss):
                break
            lr = a.lr * (0.5 * (1 + math.cos(math.pi * step / total)) if a.schedule == "cosine" else 1.0)
            grad = (x[idx].T @ r) / a.batch_size
            if a.clip is not None and np.linalg.norm(grad) > a.clip:
                grad = grad * (a.clip / np.linalg.norm(grad))
            w = w - lr * grad
    with open(out / "metrics.csv", "w") as f:
        f.write("step,train_loss\n")
        for s, v in rows:
            f.write(f"{s},{v!r}\n")
    config = {k: v for k, v in vars(a).items() if k not in ("logdir", "command", "seed")}
    (out / "config.json").write_text(json.dumps(config))
    return 0


if __name__ == "__main__":
    sys.exit(main())
