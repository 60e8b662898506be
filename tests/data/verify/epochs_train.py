"""An ordinary epoch-loop training script for `advisor verify --cmd` tests: the PyTorch tutorial shape.

A torch MLP on scikit-learn's digits (pixels scaled to [0, 1], not standardised), plain SGD, options by
argparse (`--lr`, `--epochs`, `--batch-size`, `--seed`, `--log-dir`), a SummaryWriter with `Loss/train`
per step and `Loss/val` per epoch, nothing else logged: no hparams, no LR curve. At `--lr 0.003` for 20
epochs the loss falls 2.30 -> 2.19 (slow); one rung up it reaches 1.78.
"""
import argparse

import torch
import torch.nn as nn
from sklearn.datasets import load_digits
from torch.utils.tensorboard import SummaryWriter


def main() -> None:
    p = argparse.ArgumentParser(description="digits MLP")
    p.add_argument("--lr", type=float, default=0.01)
    p.add_argument("--epochs", type=int, default=20)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--log-dir", default="runs/exp")
    a = p.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(a.seed)
    X, y = load_digits(return_X_y=True)
    X, y = torch.tensor(X / 16.0, dtype=torch.float32), torch.tensor(y)
    n = int(0.8 * len(X))
    xt, yt, xv, yv = X[:n], y[:n], X[n:], y[n:]
    model = nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 10))
    opt = torch.optim.SGD(model.parameters(), lr=a.lr)
    w = SummaryWriter(a.log_dir)
    step = 0
    for epoch in range(a.epochs):
        perm = torch.randperm(n)
        for i in range(0, n, a.batch_size):
            idx = perm[i:i + a.batch_size]
            loss = nn.functional.cross_entropy(model(xt[idx]), yt[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            step += 1
            w.add_scalar("Loss/train", loss.item(), step)
        with torch.no_grad():
            val = nn.functional.cross_entropy(model(xv), yv).item()
        w.add_scalar("Loss/val", val, step)
        print(f"epoch {epoch} val loss {val:.4f}")
    w.close()


if __name__ == "__main__":
    main()
