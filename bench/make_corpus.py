"""Make the detectors' tuning corpus: a seeded sweep of real small trainings, objectively labelled.

    python bench/make_corpus.py                      # -> bench/out/corpus/ (git-ignored), ~250 runs
    python bench/make_corpus.py OUT --runs 300 --seed 1 --jobs 2

Why: thresholds tuned on a handful of fixtures overfit them. This sweep trains the built-in
tasks (advisor.verify.builtins) across an LR ladder (x3 steps, seed 000), optimizers, batch sizes
(seed 002), training-set sizes and regularisation (seed 003 overfitting), schedules and warmup,
class-sorted data, deep saturating nets with tiny init (saddles, seeds 002/004), MSE for
classification, unnormalised inputs, BatchNorm at high LR (seed 000), label noise and small
batches (noisy but healthy), over 300-1500 steps and as short epoch-level runs of 8-30 points.
Each run is written by one of the log writers (advisor.verify.logwriters) under a random tag
convention, read back, and labelled by the same code and thresholds as the fixtures
(fixtures/labels.py via fixtures/make_fixtures.py: measure against the task's healthy DEFAULTS
config trained for the same budget and written the same way). Runs whose statistics fall just
short of a threshold (labels.AMBIGUITY) are left out and counted, so every label is clear-cut.

Output: OUT/runs/<id>/... and OUT/truth.json = {"schema": "advisor.corpus/1", "criteria",
"counts", "runs": {id: entry like fixtures/truth.json's + "regime"}, "rejected": {id: why}}.
Paths in entries are relative to OUT. Runs in parallel over --jobs processes (each trial uses
one torch thread); deterministic for a given --seed.
"""
from __future__ import annotations

import argparse
import json
import math
import shutil
import sys
import time
from collections import Counter
from multiprocessing import Pool
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from advisor.verify import logwriters as lw  # noqa: E402
from advisor.verify.builtins import DEFAULTS, TASKS, _split, resolve_config  # noqa: E402
from fixtures.labels import CRITERIA  # noqa: E402
from fixtures.make_fixtures import _round, config_summary, measure, record, reference, write_run  # noqa: E402

SCHEMA = "advisor.corpus/1"
DEFAULT_OUT = REPO / "bench" / "out" / "corpus"

# task weights: the CNN costs ~5x an MLP step, so it is sampled less
TASK_WEIGHTS = {"digits-mlp": 0.34, "moons-mlp": 0.18, "cancer-mlp": 0.16, "synth-mlp": 0.2, "digits-cnn": 0.12}
STEP_WRITERS = ["tb-torch", "tb-tbx", "tb-lightning", "lightning-csv", "wide-csv", "long-csv", "hf-trainer",
                "wandb-legacy", "mlflow"]
EPOCH_WRITERS = ["tb-keras", "keras-csv", "fastai-csv", "keras-json"]
ANY_CONVENTION = {"tb-torch", "tb-tbx", "wide-csv", "long-csv", "wandb-legacy", "mlflow"}
FREE_GRANULARITY = {"tb-torch", "tb-tbx", "wide-csv", "wandb-legacy", "mlflow"}
MAX_STEPS = 1500


def n_train(cfg: dict) -> int:
    n = len(_split(TASKS[cfg["task"]])[1])
    return min(n, int(cfg["train_size"])) if cfg.get("train_size") else n


def _regime(rng: np.random.Generator, task: str) -> tuple[str, dict]:
    """One training regime: the config overrides that make a run what it is."""
    d = DEFAULTS[task]
    lr0 = d["lr"]
    kind = rng.choice(["ladder", "batch", "small_data", "schedule", "saddle", "sorted", "noisy", "special",
                       "too_high"], p=[0.34, 0.1, 0.12, 0.07, 0.08, 0.08, 0.06, 0.05, 0.10])
    if kind == "ladder":
        # Ng's x3 ladder (seed 000) around each optimizer's healthy LR; tanh nets blow up where
        # ReLU nets die, so both are drawn
        opt = str(rng.choice(["sgd", "momentum", "momentum", "adam"]))
        base = {"sgd": lr0 * 10, "momentum": lr0, "adam": lr0 / 20}[opt]
        mult = float(rng.choice([0.01, 0.03, 0.1, 0.3, 1, 3, 10, 30, 100, 300]))
        cfg = {"optimizer": opt, "lr": base * mult}
        if rng.random() < (0.6 if mult >= 10 else 0.25):
            cfg["activation"] = "tanh"
        return f"lr_ladder_x{mult:g}_{opt}", cfg
    if kind == "too_high":
        # moderately too high: bouncing that does not settle (seed 003 purple), or small noisy
        # batches at an LR that suits big ones (seed 002)
        if rng.random() < 0.5:
            return "lr_high_tanh", {"activation": "tanh", "lr": lr0 * float(rng.choice([5, 10, 20]))}
        return "small_batch_high_lr", {"batch_size": int(rng.choice([8, 16])), "optimizer": "sgd",
                                       "lr": lr0 * 10 * float(rng.choice([2, 5, 10]))}
    if kind == "batch":
        bs = int(rng.choice([8, 16, 32, 128, 256]))
        opt = str(rng.choice(["sgd", "momentum"]))
        lr = (lr0 * 10 if opt == "sgd" else lr0) * float(rng.choice([0.3, 1, 3]))
        return f"batch{bs}", {"batch_size": bs, "optimizer": opt, "lr": lr}
    if kind == "small_data":
        size = int(rng.choice([40, 60, 100, 200, 300]))
        cfg = {"train_size": size, "weight_decay": float(rng.choice([0.0, 0.0, d["weight_decay"], 1e-2])),
               "hidden": int(rng.choice([64, 128, 256])), "batch_size": int(rng.choice([16, 32]))}
        if rng.random() < 0.3:
            cfg["dropout"] = 0.3
        if rng.random() < 0.3:
            cfg["depth"] = 3
        return "small_data", cfg
    if kind == "schedule":
        sched = str(rng.choice(["step", "multistep", "exp", "cosine", "plateau"]))
        cfg = {"lr_schedule": sched, "lr": lr0 * float(rng.choice([1, 2, 4]))}
        if sched in ("step", "exp"):
            cfg["gamma"] = float(rng.choice([0.3, 0.5]))
        if rng.random() < 0.4:
            cfg["warmup_steps"] = int(rng.choice([20, 50, 100]))
        return f"schedule_{sched}", cfg
    if kind == "saddle":
        act = str(rng.choice(["tanh", "sigmoid"]))
        cfg = {"activation": act, "depth": int(rng.choice([3, 4, 5])), "init": "small",
               "init_scale": float(rng.choice([0.005, 0.01, 0.02, 0.05])),
               "lr": lr0 * float(rng.choice([0.5, 1, 2])), "optimizer": str(rng.choice(["sgd", "momentum"]))}
        if cfg["optimizer"] == "sgd":
            cfg["lr"] *= 10
        return f"saddle_{act}", cfg
    if kind == "sorted":
        return "class_sorted", {"sort_by_class": True, "lr": lr0 * float(rng.choice([0.3, 1, 2]))}
    if kind == "noisy":
        cfg = {"batch_size": int(rng.choice([16, 32])), "lr": lr0 * float(rng.choice([0.3, 0.5, 1]))}
        if rng.random() < 0.5:
            cfg["label_noise"] = float(rng.choice([0.1, 0.2]))
        return "noisy_healthy", cfg
    choice = str(rng.choice(["mse", "unnormalised", "bn_high_lr", "grad_clip_high_lr"]))
    if choice == "mse":
        return "mse_loss", {"loss": "mse", "lr": lr0 * float(rng.choice([1, 10, 30]))}
    if choice == "unnormalised":
        return "unnormalised_inputs", {"normalize_inputs": False, "lr": lr0 * float(rng.choice([0.01, 0.1, 1]))}
    if choice == "bn_high_lr":
        return "batchnorm_high_lr", {"batchnorm": True, "lr": lr0 * float(rng.choice([3, 10, 30]))}
    return "grad_clip_high_lr", {"grad_clip": 1.0, "lr": lr0 * float(rng.choice([3, 10, 30]))}


def make_specs(n: int, seed: int) -> list[dict[str, Any]]:
    """The sweep, drawn up front from one generator so the corpus is a function of --seed."""
    rng = np.random.default_rng(seed)
    tasks = list(TASK_WEIGHTS)
    p = np.array([TASK_WEIGHTS[t] for t in tasks])
    specs = []
    for i in range(n):
        task = str(rng.choice(tasks, p=p / p.sum()))
        regime, over = _regime(rng, task)
        cfg = {"task": task, **over}
        full = resolve_config(cfg)
        spe = math.ceil(n_train(full) / int(full["batch_size"]))
        epoch_level = rng.random() < 0.3
        writer = str(rng.choice(EPOCH_WRITERS if epoch_level else STEP_WRITERS))
        if epoch_level and rng.random() < 0.4:
            writer = str(rng.choice(sorted(FREE_GRANULARITY)))
        granularity = "epoch" if epoch_level else "step"
        if epoch_level:
            epochs = int(rng.integers(8, 31))
            steps = epochs * spe
            if steps > MAX_STEPS:
                epochs = max(8, MAX_STEPS // spe)
                steps = epochs * spe
            if steps > 2 * MAX_STEPS:  # tiny batches on big data: no short epoch run possible
                granularity, writer = "step", str(rng.choice(STEP_WRITERS))
                steps = int(rng.choice([300, 600, 1000]))
        else:
            steps = int(rng.choice([300, 600, 600, 1000, 1500]))
        if task == "digits-cnn":
            steps = min(steps, 400)
        if granularity == "step" and steps / spe < 8:
            cfg["eval_every"] = max(1, steps // 20)  # keep >= 8 val points
        convention = str(rng.choice(sorted(lw.CONVENTIONS))) if writer in ANY_CONVENTION else "slash"
        if convention == "keras" and granularity == "step":
            convention = "plain"
        options: dict[str, Any] = {}
        if writer == "hf-trainer":
            options = {"logging_steps": int(rng.choice([1, 5, 10, 25])), "checkpoint": bool(rng.random() < 0.4)}
        elif writer == "lightning-csv":
            options = {"log_every_n_steps": int(rng.choice([1, 5, 10]))}
        elif writer == "tb-torch":
            options = {"new_style": bool(rng.random() < 0.25)}
        elif writer == "tb-keras":
            options = {"tf2": bool(rng.random() < 0.7), "batch_level": bool(rng.random() < 0.3)}
        specs.append({"id": f"{i:04d}-{task}-{regime}", "config": cfg, "steps": int(steps),
                      "seed": int(rng.integers(0, 5)), "writer": writer, "convention": convention,
                      "granularity": granularity, "options": options, "regime": regime})
    return specs


def run_spec(args: tuple[dict, str]) -> tuple[str, dict | None, str | None]:
    """Train, write, label one spec (in a worker). Returns (id, entry or None, why rejected)."""
    spec, out = args
    root = Path(out)
    run_dir = root / "runs" / spec["id"]
    t0 = time.time()
    try:
        rec = record(spec["config"], spec["steps"], spec["seed"], clock_start=1_763_900_000.0 + 86400 * spec["seed"])
        rec.meta["name"] = spec["id"]
        task = spec["config"]["task"]
        # the healthy reference evaluates as often as the run does, so epoch-level curves of both
        # have the same number of points
        ref = reference(task, spec["steps"], spec["writer"], spec["convention"], spec["granularity"], spec["options"],
                        eval_every=int(rec.meta["eval_every"]) if spec["granularity"] == "epoch" else None)
        entry = write_run(rec, spec["writer"], run_dir, root, spec["convention"], spec["granularity"], spec["options"])
        lab = measure(root, entry, ref)
    except Exception as exc:  # a broken spec is reported, not fatal for the sweep
        shutil.rmtree(run_dir, ignore_errors=True)
        return spec["id"], None, f"error: {type(exc).__name__}: {exc}"
    if lab["ambiguous"]:
        shutil.rmtree(run_dir, ignore_errors=True)
        return spec["id"], None, "ambiguous: " + ",".join(lab["ambiguous"])
    entry.update(
        patterns=sorted(lab["patterns"]), onsets=lab["onsets"], healthy=not lab["patterns"],
        regime=spec["regime"], config=config_summary(spec["config"]), steps=spec["steps"],
        steps_done=int(rec.meta["steps_done"]), seed=spec["seed"], steps_per_epoch=int(rec.meta["steps_per_epoch"]),
        convention=spec["convention"], granularity=spec["granularity"], options=spec["options"],
        reference=_round(ref), stats=_round(lab["stats"]),
        final={k: _round(float(rec.meta[k])) for k in ("train_loss", "val_loss", "val_acc")},
        notes=f"{spec['regime']}: {json.dumps(spec['config'], sort_keys=True)}", train_s=round(time.time() - t0, 2),
    )
    return spec["id"], entry, None


def sweep(run_spec, specs: list[dict], out: Path, jobs: int) -> tuple[dict[str, dict], dict[str, str], float]:
    """Train every spec with `run_spec((spec, out_dir)) -> (id, entry or None, why)` in a pool of
    `jobs` workers into a fresh `out/runs`: (kept entries by id, rejection reasons by id,
    seconds). Shared by both corpus generators. The workers live for the whole sweep, so each
    keeps its cache of reference trainings."""
    shutil.rmtree(out / "runs", ignore_errors=True)
    (out / "runs").mkdir(parents=True, exist_ok=True)
    t0 = time.time()
    runs: dict[str, dict] = {}
    rejected: dict[str, str] = {}
    with Pool(jobs) as pool:
        for k, (rid, entry, why) in enumerate(pool.imap_unordered(run_spec, [(s, str(out)) for s in specs]), 1):
            if entry is None:
                rejected[rid] = why
            else:
                runs[rid] = entry
            if k % 25 == 0:
                print(f"{k}/{len(specs)} done, {len(runs)} kept, {time.time() - t0:.0f}s", file=sys.stderr)
    return runs, rejected, round(time.time() - t0, 1)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("out", nargs="?", type=Path, default=DEFAULT_OUT)
    ap.add_argument("--runs", type=int, default=260, help="specs to train (ambiguous ones are dropped)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--jobs", type=int, default=2)
    args = ap.parse_args(argv)
    out: Path = args.out
    runs, rejected, seconds = sweep(run_spec, make_specs(args.runs, args.seed), out, args.jobs)
    counts = Counter(p for e in runs.values() for p in e["patterns"])
    counts["healthy"] = sum(e["healthy"] for e in runs.values())
    summary = {
        "runs": len(runs), "rejected": len(rejected), "patterns": dict(sorted(counts.items())),
        "multi_label": sum(len(e["patterns"]) > 1 for e in runs.values()),
        "writers": dict(sorted(Counter(e["writer"] for e in runs.values()).items())),
        "formats": dict(sorted(Counter(e["format"] for e in runs.values()).items())),
        "x_kind": dict(sorted(Counter(e["x_kind"] for e in runs.values()).items())),
        "tasks": dict(sorted(Counter(e["config"]["task"] for e in runs.values()).items())),
        "rejected_why": dict(sorted(Counter(w.split(":")[0] + (":" + w.split(":")[1] if w.startswith("ambiguous") else "")
                                           for w in rejected.values()).items())),
        "seconds": seconds, "jobs": args.jobs, "seed": args.seed,
    }
    truth = {"schema": SCHEMA, "generator": "bench/make_corpus.py", "criteria": CRITERIA, "counts": summary,
             "runs": {k: runs[k] for k in sorted(runs)}, "rejected": {k: rejected[k] for k in sorted(rejected)}}
    (out / "truth.json").write_text(json.dumps(truth, indent=1) + "\n")
    print(json.dumps(summary, indent=1), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
