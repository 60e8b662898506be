"""Benchmark: how much compute `AdvisorPruner` saves on a real Optuna sweep, and whether the best
trial is still found.

The sweep: the learning rate of the built-in digits MLP (advisor.verify.builtins, momentum SGD,
batch 64), log-uniform over [1e-4, 30], `--trials` trials of `--epochs` epochs, the validation
loss reported after every epoch. The same trials (a seeded RandomSampler draws the same LRs in
both arms; every trial trains with seed 0) run once without pruning and once with AdvisorPruner.
The built-in trainer's own explosion guard is off (explode_at=None), so a diverging trial costs
what it would cost in a user's loop until its loss is NaN. Printed: steps trained per arm, the
saving, each arm's best trial and final val loss, and which trials were pruned and why.
Run: `python bench/bench_sweep.py [--trials 24] [--epochs 30]`.
"""
from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def run_sweep(trials: int, epochs: int, pruner, seed: int = 0, lr_range=(1e-4, 30.0)):
    """(study, steps trained in all) for one arm of the sweep."""
    import optuna

    from advisor.verify.builtins import train

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    steps_per_epoch = 23  # digits: 1,437 training images / batch 64
    total = {"steps": 0}

    def objective(trial):
        lr = trial.suggest_float("lr", *lr_range, log=True)
        done = {"step": 0}

        def log(tag: str, step: int, value: float) -> None:
            done["step"] = max(done["step"], step)
            if tag == "val/loss":
                trial.report(value, step)
                if trial.should_prune():
                    raise optuna.TrialPruned()

        try:
            result = train({"task": "digits-mlp", "lr": lr, "explode_at": None}, epochs * steps_per_epoch, 0, log)
        finally:
            total["steps"] += done["step"] + 1
        loss = result["val_loss"]
        return loss if math.isfinite(loss) else 1e9

    study = optuna.create_study(direction="minimize", sampler=optuna.samplers.RandomSampler(seed=seed),
                                pruner=pruner)
    study.optimize(objective, n_trials=trials)
    return study, total["steps"]


def compare(trials: int, epochs: int, seed: int = 0, slow_margin: float = 0.5) -> dict:
    import optuna

    from advisor.integrations.optuna import AdvisorPruner

    t = time.perf_counter()
    plain, plain_steps = run_sweep(trials, epochs, optuna.pruners.NopPruner(), seed)
    t_plain = time.perf_counter() - t
    t = time.perf_counter()
    pruned, pruned_steps = run_sweep(trials, epochs, AdvisorPruner(slow_margin=slow_margin), seed)
    t_pruned = time.perf_counter() - t
    best_plain, best_pruned = plain.best_trial, pruned.best_trial
    return {
        "plain_steps": plain_steps, "pruned_steps": pruned_steps, "saved": 1 - pruned_steps / plain_steps,
        "plain_best": (best_plain.params["lr"], best_plain.value), "pruned_best": (best_pruned.params["lr"], best_pruned.value),
        "best_gap": best_pruned.value / best_plain.value - 1, "t_plain": t_plain, "t_pruned": t_pruned,
        "pruned": [(tr.number, tr.params["lr"], tr.last_step, tr.user_attrs.get("advisor", ""))
                   for tr in pruned.trials if tr.state == optuna.trial.TrialState.PRUNED],
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--trials", type=int, default=24)
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--seed", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--slow-margin", type=float, default=0.5)
    args = parser.parse_args()
    for seed in args.seed:
        report(compare(args.trials, args.epochs, seed, args.slow_margin), args, seed)


def report(r: dict, args, seed: int) -> None:
    print(f"sweep: {args.trials} trials x {args.epochs} epochs, LR log-uniform [1e-4, 30], sampler seed {seed}, "
          f"slow margin {args.slow_margin}")
    print(f"steps without pruning : {r['plain_steps']:7d}   ({r['t_plain']:.1f} s)")
    print(f"steps with AdvisorPruner: {r['pruned_steps']:5d}   ({r['t_pruned']:.1f} s)   saved {r['saved']:.1%} (target >= 30%)")
    print(f"best without pruning  : lr={r['plain_best'][0]:.4g} val_loss={r['plain_best'][1]:.4f}")
    print(f"best with pruning     : lr={r['pruned_best'][0]:.4g} val_loss={r['pruned_best'][1]:.4f}   "
          f"gap {r['best_gap']:+.2%} (target within 2%)")
    for number, lr, step, why in r["pruned"]:
        print(f"  pruned trial {number:2d} lr={lr:<10.4g} at step {step:4d}: {why[:150]}")


if __name__ == "__main__":
    main()
