"""A tiny training script driven by a command line, as `advisor verify --cmd` runs one.

It trains a built-in task (advisor.verify.builtins.train) and writes a plain wide CSV
(`metrics.csv`: step, train_loss, valid_loss, ...) into --logdir, like a hand-written loop would.
"""
import argparse
import sys
from pathlib import Path


def main(argv=None):
    p = argparse.ArgumentParser()
    p.add_argument("--task", default="digits-mlp")
    p.add_argument("--lr", type=float, required=True)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--optimizer", default="momentum")
    p.add_argument("--lr-schedule", default="none")
    p.add_argument("--max-steps", type=int, required=True)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--logdir", required=True)
    p.add_argument("--device", default="cpu")
    a = p.parse_args(argv)
    from advisor.verify.builtins import train
    from advisor.verify.logwriters import Recorder, write_wide_csv

    cfg = {"task": a.task, "lr": a.lr, "batch_size": a.batch_size, "optimizer": a.optimizer,
           "lr_schedule": a.lr_schedule}
    rec = Recorder()
    train(cfg, a.max_steps, a.seed, rec, a.device)
    write_wide_csv(rec, Path(a.logdir) / "metrics.csv")
    return 0


if __name__ == "__main__":
    sys.exit(main())
