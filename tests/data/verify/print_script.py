"""A training script that only prints, as pytorch/examples' mnist does: no log file, no --logdir (numpy, no
torch: starts in ~0.1 s). For `advisor verify RUN --cmd` tests: each trial's terminal output is its log.

Minibatch SGD on a linear regression (0.5 * squared error, 20 standardised features, 2,000 samples): stable
for LR below ~0.6, diverging to inf/NaN above. It prints `Train Epoch: {e} [{n}/{N} ({p:.0f}%)]\\tLoss:
{loss:.6f}` every --log-interval batches and, after each epoch, `Test set: Average loss: {:.4f}` on 500
held-out samples, the example's layouts; it stops at the first non-finite loss. With --print-args it first prints
its argparse Namespace, as many scripts do (`Namespace(lr=0.9, batch_size=32, ...)`).
"""
import argparse
import math
import sys

import numpy as np


def main(argv=None):
    p = argparse.ArgumentParser()
    p.add_argument("--lr", type=float, default=0.1)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--log-interval", type=int, default=5)
    p.add_argument("--print-args", action="store_true", help="print(args) first, as many scripts do")
    a = p.parse_args(argv)
    if a.print_args:
        print(a)
    data = np.random.default_rng(0)
    x = data.standard_normal((2500, 20))
    y = x @ data.standard_normal(20) + 0.5 * data.standard_normal(2500)
    xtr, ytr, xte, yte = x[:2000], y[:2000], x[2000:], y[2000:]
    rng = np.random.default_rng(a.seed)
    w = 0.1 * rng.standard_normal(20)
    batches = math.ceil(len(ytr) / a.batch_size)
    with np.errstate(all="ignore"):
        for epoch in range(1, a.epochs + 1):
            order = rng.permutation(len(ytr))
            for batch_idx in range(batches):
                idx = order[batch_idx * a.batch_size:(batch_idx + 1) * a.batch_size]
                r = xtr[idx] @ w - ytr[idx]
                loss = float(0.5 * np.mean(r * r))
                if batch_idx % a.log_interval == 0:
                    print("Train Epoch: {} [{}/{} ({:.0f}%)]\tLoss: {:.6f}".format(
                        epoch, batch_idx * len(idx), len(ytr), 100.0 * batch_idx / batches, loss))
                if not math.isfinite(loss):
                    return 1
                w = w - a.lr * (xtr[idx].T @ r) / len(idx)
            test = float(0.5 * np.mean((xte @ w - yte) ** 2))
            print("\nTest set: Average loss: {:.4f}\n".format(test))
    return 0


if __name__ == "__main__":
    sys.exit(main())
