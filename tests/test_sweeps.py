"""Sweep adapters with the real libraries: Optuna's AdvisorPruner and Ray Tune's AdvisorStopper."""
from __future__ import annotations

import math
import os
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
pytestmark = [pytest.mark.slow, pytest.mark.trains]


def test_optuna_pruner_saves_steps_and_keeps_the_best_trial():
    """A smaller version of bench/bench_sweep.py: the same LRs with and without the pruner."""
    pytest.importorskip("optuna")
    sys.path.insert(0, str(REPO / "bench"))
    from bench_sweep import compare

    r = compare(trials=10, epochs=15, seed=0)
    assert r["saved"] >= 0.10, r
    assert r["pruned_best"][0] == r["plain_best"][0]  # the same trial (LR) wins
    assert abs(r["best_gap"]) <= 0.02
    reasons = [why for *_, why in r["pruned"]]
    assert reasons and all(why.startswith("advisor: trial") for why in reasons)


def test_optuna_pruner_prunes_a_diverging_trial_at_once():
    optuna = pytest.importorskip("optuna")
    from advisor.integrations.optuna import AdvisorPruner

    study = optuna.create_study(direction="minimize", pruner=AdvisorPruner())
    trial = study.ask()
    pruned_at = None
    for step, value in enumerate([2.3, 2.0, 1.8, 1.7, 5.0, 40.0, float("nan")]):
        trial.report(value, step)
        if trial.should_prune():
            pruned_at = step
            break
    assert pruned_at is not None and pruned_at <= 6
    assert "divergence" in study.trials[0].user_attrs["advisor"]


@pytest.fixture(scope="module")
def ray_tune():
    """One local Ray for the module (starting Ray takes seconds)."""
    ray = pytest.importorskip("ray")
    pytest.importorskip("ray.tune")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, ignore_reinit_error=True,
             runtime_env={"env_vars": {"PYTHONPATH": os.pathsep.join([str(REPO), str(REPO / "tests")])}})
    yield ray
    ray.shutdown()


def _trainable(config):
    """A real training of the built-in digits MLP, reporting the val loss after every epoch."""
    from ray import tune

    from advisor.verify.builtins import train

    def log(tag: str, step: int, value: float) -> None:
        if tag == "val/loss":
            tune.report({"val_loss": value if math.isfinite(value) else 1e9, "step": step})

    train({"task": "digits-mlp", "lr": config["lr"], "explode_at": None}, 20 * 23, 0, log)


def test_ray_tune_stopper_stops_hopeless_trials_only(ray_tune, tmp_path):
    from ray import tune

    from advisor.integrations.ray_tune import AdvisorStopper

    stopper = AdvisorStopper(metric="val_loss", mode="min")
    tuner = tune.Tuner(_trainable, param_space={"lr": tune.grid_search([1e-4, 0.1])},
                       run_config=tune.RunConfig(stop=stopper, storage_path=str(tmp_path), verbose=0))
    results = tuner.fit()
    iterations = {r.config["lr"]: r.metrics["training_iteration"] for r in results}
    assert iterations[0.1] == 20, "the healthy trial runs to the end"
    assert iterations[1e-4] < 20, "the trial stalled at its start is stopped"
    assert any("plateau" in why for why in stopper.reasons.values()), stopper.reasons
