"""Format invariance: the same training, logged by another writer, must get the same diagnosis.

    python bench/format_invariance.py /path/to/oos          # runs/ + truth.json inside
    python bench/format_invariance.py OOS --writers torch-tutorial,keras-csv --limit 40 --keep

For every labelled run of a corpus (bench/make_corpus_oos.py's layout) this reads the run with
advisor's own readers (discover -> ingest -> roles), takes the curves advisor found for each role
(train/val loss, train/val accuracy, learning rate, gradient norm) and the normalised hparams
(lr, optimizer, batch size, momentum, weight decay, architecture), and writes them again through
the writers practitioners use, each with its own tag conventions:

- torch SummaryWriter (`Loss/train`, `Loss/val`; `train_loss`/`val_loss`; `add_scalars` children
  `loss_train`/`loss_validation`; HF's TensorBoardCallback `train/loss`, `eval/loss`), hparams
  through `add_hparams` (its timestamp sub-folder), as the library writes them;
- tensorboardX (`loss/train`, `loss/validation`, `add_hparams`);
- Keras 3 CSVLogger (the real callback) and the Keras TensorBoard layout (`train/` and
  `validation/` sub-runs, `epoch_loss`, TF2 tensor scalars in `.v2` files; the real callback needs
  TensorFlow, which is not installed, so its layout is written per FORMATS.md 1.5) - epoch-level
  runs only, since Keras logs once per epoch;
- Lightning's CSVLogger (the real logger: sparse long rows, `train_loss_step`/`train_loss_epoch`,
  `val_loss`, `lr-Adam` and `lr-Adam-momentum` as LearningRateMonitor(log_momentum=True) names
  them, `epoch`, `hparams.yaml`);
- HF `trainer_state.json` (transformers' own TrainerState.save_to_json: `loss`, `eval_loss`,
  `learning_rate`, `grad_norm`, float `epoch`, `train_batch_size`) beside the `training_args.bin`
  Trainer saves (torch.save of a real TrainingArguments: learning_rate, optim, batch size);
- W&B legacy run folder (`files/wandb-history.jsonl` rows merged per step, wandb-core
  `config.yaml` with `{value: ...}` wrappers), and as Lightning's WandbLogger fills it (a row per
  log call, `_step` counting calls, `trainer/global_step` and `epoch` in every row);
- MLflow file store (mlflow's own client: `metrics/<key>`, `params/<key>`), and mlflow's Keras
  autolog callback on a real Keras model (`optimizer_name`, `optimizer_learning_rate`, ...);
- torch tags typed as words (`Train Loss`, `Validation Loss`, `Learning Rate`, `Gradient Norm`);
- three generic CSVs with other spellings (`training_loss`, `validation_loss`, `accuracy`, `val_acc`,
  `lr` on `step`; `loss`, `test_loss`, `test_accuracy` on `iteration`; camelCase `trainLoss`,
  `valLoss`, `learningRate` on `globalStep`).

Then it diagnoses the originals and every variant with `advisor diagnose --format json` (one CLI
call per writer folder) and compares each variant's patterns and first action with its original's.
The table says, per writer, how many runs' patterns and first actions differ; `--details` lists
each difference with both role maps, which is what tells a format's genuine information loss (the
format cannot carry the batch size) from a roles/ingest bug (the LR was logged and not found).
Deterministic: wall times are taken from the original log, ids and paths are fixed.
"""
from __future__ import annotations

import argparse
import csv
import json
import logging
import math
import os
import shutil
import subprocess
import sys
import warnings
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable
from unittest import mock

import numpy as np

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from advisor.verify.logwriters import TORCH_OPTIMIZER_CLASS, lightning_lr_name  # noqa: E402

ROLES = ("train_loss", "val_loss", "train_acc", "val_acc", "lr", "grad_norm")
OPTIMIZER_CLASS = TORCH_OPTIMIZER_CLASS  # Lightning's `lr-<optimizer class>` columns


@dataclass
class Recording:
    """One run as advisor read it: a series per role, its cadence and its hparams."""

    run_id: str
    granularity: str  # "step" | "epoch" (the corpus' label of how the run was logged)
    series: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]] = field(default_factory=dict)  # role -> x, y, wall
    hparams: dict[str, Any] = field(default_factory=dict)  # normalised names (advisor.roles)
    steps_per_epoch: int = 1
    # the optimizer that trained (the corpus' config), which Lightning names in its LR column even
    # when the run's logged hyperparameters leave it out
    trained_with: str | None = None

    def optimizer(self) -> str:
        return str(self.hparams.get("optimizer") or self.trained_with or "sgd")

    def points(self, role: str) -> list[tuple[int, float, float]]:
        if role not in self.series:
            return []
        x, y, w = self.series[role]
        return [(int(a), float(b), float(c)) for a, b, c in zip(x, y, w)]

    def xs(self) -> list[int]:
        """Every x at which something was logged, ascending."""
        return sorted({int(v) for x, _, _ in self.series.values() for v in x})

    def wall_at(self, x: int) -> float:
        for xs, _, w in self.series.values():
            hit = np.nonzero(xs == x)[0]
            if len(hit) and math.isfinite(w[hit[0]]):
                return float(w[hit[0]])
        return 1_764_000_000.0 + x

    def value_at(self, role: str, x: int) -> float | None:
        if role not in self.series:
            return None
        xs, ys, _ = self.series[role]
        hit = np.nonzero(xs == x)[0]
        return float(ys[hit[-1]]) if len(hit) else None

    def mapped(self, roles: tuple[str, ...], how: Callable[[np.ndarray], np.ndarray]) -> "Recording":
        """A copy whose `roles` hold how(y): the same run as a writer that logs another form of
        those curves (a perplexity for a loss, an error rate for an accuracy)."""
        series = dict(self.series)
        for role in roles:
            if role in series:
                x, y, w = series[role]
                with np.errstate(over="ignore", invalid="ignore"):
                    series[role] = (x, how(y), w)
        return replace(self, series=series)

    def epoch_of(self, step: int) -> float:
        return step / self.steps_per_epoch if self.granularity == "step" else float(step)


def record(root: Path, run_id: str, entry: dict) -> Recording:
    """Read one corpus run with advisor's readers and keep what a writer would log again."""
    from advisor import ingest
    from advisor.ingest.discover import discover
    from advisor.roles import build_curves

    sources, problems = discover([str(root / entry["path"])])
    if not sources:
        raise RuntimeError(f"{run_id}: nothing discovered ({problems})")
    run = ingest.read(sources[0])
    curves, roles = build_curves(run)
    rec = Recording(run_id=run_id, granularity=entry.get("granularity") or (
        "epoch" if entry.get("x_kind") == "epoch" else "step"), hparams=dict(curves.hparams),
        trained_with=(entry.get("config") or {}).get("optimizer"))
    for role in ROLES:
        if role in roles:
            s = run.series[roles[role]]
            order = np.argsort(s.step, kind="stable")
            wall = s.wall_time[order].copy()
            bad = ~np.isfinite(wall)  # Keras CSV, W&B rows without _timestamp: a clock of 1 s per step
            wall[bad] = 1_764_000_000.0 + s.step[order][bad].astype(float)
            rec.series[role] = (s.step[order], _as_its_role(role, roles[role], s.value[order]), wall)
    spe = curves.steps_per_epoch or (entry.get("config") or {}).get("eval_every") or 1
    rec.steps_per_epoch = max(1, int(round(float(spe))))
    return rec


def _as_its_role(role: str, tag: str, logged: np.ndarray) -> np.ndarray:
    """The values a role holds, not the ones its tag logged: a perplexity read back as the loss, an
    RMSE as the MSE, an error rate as the accuracy (roles' own readers, Curve.scale). The writers
    put a recording under loss and accuracy tags; written raw, a perplexity run's `Loss/train`
    held e^loss and a fastai run's `Accuracy/val` held its error rate (gen2 seed 1: 0096, 0183 and
    0204 read DIV007 in every convention corpus for that alone)."""
    from advisor.model import Curve
    from advisor.roles import _read_as_accuracy, _read_as_loss

    curve = Curve(role=role, tag=tag, x=np.arange(len(logged), dtype=float), y=np.array(logged, dtype=float))
    if role in ("train_loss", "val_loss"):
        _read_as_loss(curve)
    elif role in ("train_acc", "val_acc"):
        _read_as_accuracy(curve)
    return curve.y


# ----------------------------------------------------------------------------- writers
# Each writer: (Recording, run_dir) -> None; the run is whatever discovery finds under run_dir.


def _hp(rec: Recording, names: dict[str, str]) -> dict[str, Any]:
    """The run's hparams under one writer's spellings ({normalised name: that writer's key})."""
    out = {}
    for norm, key in names.items():
        v = rec.hparams.get(norm)
        if v is None:
            continue
        if isinstance(v, float) and v.is_integer() and norm in {"batch_size", "depth", "epochs", "max_steps"}:
            v = int(v)
        out[key] = v
    return out


TORCH_HP = {"lr": "lr", "optimizer": "optimizer", "batch_size": "batch_size", "momentum": "momentum",
            "weight_decay": "weight_decay", "activation": "activation", "depth": "depth", "init": "init",
            "init_scale": "init_scale", "epochs": "epochs", "max_steps": "max_steps"}


def _tb_write(rec: Recording, run_dir: Path, tags: dict[str, str], lib: str = "torch",
              hp_names: dict[str, str] | None = None, scalars_groups: dict[str, dict[str, str]] | None = None) -> None:
    """A SummaryWriter loop: add_scalar per role (or add_scalars groups), then add_hparams."""
    if lib == "torch":
        from torch.utils.tensorboard import SummaryWriter
    else:
        from tensorboardX import SummaryWriter
    first_wall = min((float(np.nanmin(w)) for _, _, w in rec.series.values() if len(w) and np.isfinite(w).any()),
                     default=1_764_000_000.0)
    with mock.patch("time.time", return_value=first_wall):
        w = SummaryWriter(log_dir=str(run_dir), flush_secs=3600)
        for role, tag in tags.items():
            for x, v, wall in rec.points(role):
                w.add_scalar(tag, v, x, walltime=wall)
        for main, children in (scalars_groups or {}).items():
            for x in rec.xs():
                d = {child: rec.value_at(role, x) for child, role in children.items()}
                d = {k: v for k, v in d.items() if v is not None}
                if d:
                    w.add_scalars(main, d, x, walltime=rec.wall_at(x))
        hp = _hp(rec, hp_names or TORCH_HP)
        if hp:
            # what users call at the end of a run; torch writes it into a timestamp sub-folder
            metric = {"hparam/final_loss": rec.points("train_loss")[-1][1]} if rec.points("train_loss") else {}
            w.add_hparams({k: (v if isinstance(v, (int, float, str, bool)) else str(v)) for k, v in hp.items()},
                          metric)
        w.close()


def torch_tutorial(rec: Recording, d: Path) -> None:
    _tb_write(rec, d, {"train_loss": "Loss/train", "val_loss": "Loss/val", "train_acc": "Accuracy/train",
                       "val_acc": "Accuracy/val", "lr": "LR", "grad_norm": "Gradients/norm"})


def torch_underscore(rec: Recording, d: Path) -> None:
    _tb_write(rec, d, {"train_loss": "train_loss", "val_loss": "val_loss", "train_acc": "train_acc",
                       "val_acc": "val_acc", "lr": "learning_rate", "grad_norm": "grad_norm"},
              hp_names={**TORCH_HP, "lr": "learning_rate", "batch_size": "batch-size", "optimizer": "optim"})


def torch_spaces(rec: Recording, d: Path) -> None:
    """Tags as people type them in notebooks: words and spaces."""
    _tb_write(rec, d, {"train_loss": "Train Loss", "val_loss": "Validation Loss", "train_acc": "Train Accuracy",
                       "val_acc": "Validation Accuracy", "lr": "Learning Rate", "grad_norm": "Gradient Norm"})


def torch_add_scalars(rec: Recording, d: Path) -> None:
    _tb_write(rec, d, {"lr": "lr", "grad_norm": "grad_norm"},
              scalars_groups={"loss": {"train": "train_loss", "validation": "val_loss"},
                              "accuracy": {"train": "train_acc", "validation": "val_acc"}})


def torch_hf_callback(rec: Recording, d: Path) -> None:
    """HF TensorBoardCallback: `train/x`, `eval/x`, hparams = TrainingArguments' names."""
    _tb_write(rec, d, {"train_loss": "train/loss", "val_loss": "eval/loss", "val_acc": "eval/accuracy",
                       "lr": "train/learning_rate", "grad_norm": "train/grad_norm"},
              hp_names={"lr": "learning_rate", "batch_size": "per_device_train_batch_size", "optimizer": "optim",
                        "weight_decay": "weight_decay", "epochs": "num_train_epochs", "max_steps": "max_steps"})


def tbx(rec: Recording, d: Path) -> None:
    _tb_write(rec, d, {"train_loss": "loss/train", "val_loss": "loss/validation", "train_acc": "accuracy/train",
                       "val_acc": "accuracy/validation", "lr": "lr", "grad_norm": "grad_norm"}, lib="tbx")


def _keras_logs(rec: Recording) -> list[tuple[int, dict[str, float]]]:
    """One Keras `logs` dict per epoch (0-based), as model.fit hands them to callbacks."""
    names = {"train_loss": "loss", "val_loss": "val_loss", "train_acc": "accuracy", "val_acc": "val_accuracy",
             "lr": "learning_rate"}
    epochs: dict[int, dict[str, float]] = {}
    for role, key in names.items():
        for x, v, _ in rec.points(role):
            epochs.setdefault(x, {})[key] = v
    return sorted(epochs.items())


def keras_csv(rec: Recording, d: Path) -> None:
    """The real keras.callbacks.CSVLogger, fed the logs of each epoch."""
    os.environ.setdefault("KERAS_BACKEND", "torch")
    import keras

    d.mkdir(parents=True, exist_ok=True)
    cb = keras.callbacks.CSVLogger(str(d / "training.log"))
    cb.on_train_begin()
    for epoch, logs in _keras_logs(rec):
        cb.on_epoch_end(epoch, logs)
    cb.on_train_end()


def keras_tb(rec: Recording, d: Path) -> None:
    """Keras 3 TensorBoard callback layout (FORMATS.md 1.5): TF2 tensor scalars in `.v2` files."""
    from torch.utils.tensorboard.writer import FileWriter

    from advisor.verify.logwriters import _tf2_scalar_summary

    parts = {"train": {"loss": "epoch_loss", "accuracy": "epoch_accuracy", "learning_rate": "epoch_learning_rate"},
             "validation": {"val_loss": "epoch_loss", "val_accuracy": "epoch_accuracy"}}
    logs = _keras_logs(rec)
    for sub, keys in parts.items():
        (d / sub).mkdir(parents=True, exist_ok=True)
        with mock.patch("time.time", return_value=rec.wall_at(logs[0][0]) if logs else 1_764_000_000.0):
            fw = FileWriter(str(d / sub), flush_secs=3600, filename_suffix=".v2")
        for epoch, values in logs:
            for key, tag in keys.items():
                if key in values:
                    fw.add_summary(_tf2_scalar_summary(tag, values[key]), epoch, rec.wall_at(epoch))
        fw.close()


def lightning_csv(rec: Recording, d: Path) -> None:
    """The real lightning CSVLogger as a LightningModule's self.log calls drive it."""
    from lightning.pytorch.loggers import CSVLogger

    logger = CSVLogger(str(d), name="lightning_logs", version=0)
    hp = _hp(rec, TORCH_HP)
    if hp:
        logger.log_hyperparams(hp)
    opt = OPTIMIZER_CLASS.get(rec.optimizer().lower(), "SGD")
    # LearningRateMonitor(log_momentum=True) logs the momentum (Adam's beta1) beside the LR
    momentum = float(rec.hparams.get("momentum") or (0.9 if opt in ("Adam", "AdamW", "NAdam", "Adamax") else 0.0))
    if rec.granularity == "epoch":
        # on_epoch logging: one row per epoch, stamped with the epoch's last global step
        spe = rec.steps_per_epoch
        for x in rec.xs():
            row = {"epoch": x}
            for role, key in (("train_loss", "train_loss_epoch"), ("val_loss", "val_loss"),
                              ("train_acc", "train_acc_epoch"), ("val_acc", "val_acc"), ("lr", f"lr-{opt}")):
                v = rec.value_at(role, x)
                if v is not None:
                    row[key] = v
            if f"lr-{opt}" in row:
                row[f"lr-{opt}-momentum"] = momentum
            logger.log_metrics(row, step=(x + 1) * spe - 1)
    else:
        spe = rec.steps_per_epoch
        evals = {x for x, _, _ in rec.points("val_loss")} | {x for x, _, _ in rec.points("val_acc")}
        per_epoch: dict[int, list[float]] = {}
        for x in rec.xs():
            epoch = x // spe
            row: dict[str, float] = {}
            for role, key in (("train_loss", "train_loss_step"), ("lr", f"lr-{opt}"), ("grad_norm", "grad_norm")):
                v = rec.value_at(role, x)
                if v is not None:
                    row[key] = v
            if f"lr-{opt}" in row:
                row[f"lr-{opt}-momentum"] = momentum
            if "train_loss_step" in row:
                per_epoch.setdefault(epoch, []).append(row["train_loss_step"])
            if row:
                logger.log_metrics({**row, "epoch": epoch}, step=x)
            if x in evals:
                ev = {k: rec.value_at(r, x) for r, k in (("val_loss", "val_loss"), ("val_acc", "val_acc"))}
                logger.log_metrics({**{k: v for k, v in ev.items() if v is not None}, "epoch": epoch}, step=x)
            if (x + 1) % spe == 0 and per_epoch.get(epoch):
                logger.log_metrics({"train_loss_epoch": float(np.mean(per_epoch[epoch])), "epoch": epoch}, step=x)
    logger.save()
    logger.finalize("success")


def hf_trainer(rec: Recording, d: Path) -> None:
    """transformers' TrainerState written by its own save_to_json (log_history rows)."""
    from transformers import TrainerState

    spe = rec.steps_per_epoch
    hist: list[dict[str, Any]] = []
    offset = 1 if rec.granularity == "epoch" else 0  # epoch-level: logged at the end of epoch e
    for x in rec.xs():
        step = (x + 1) * spe if rec.granularity == "epoch" else x
        epoch = round(float(x + offset) if rec.granularity == "epoch" else x / spe, 4)
        train = {k: rec.value_at(r, x) for r, k in (("train_loss", "loss"), ("grad_norm", "grad_norm"),
                                                     ("lr", "learning_rate"))}
        train = {k: v for k, v in train.items() if v is not None}
        if "loss" in train:
            hist.append({**train, "epoch": epoch, "step": step})
        ev = {k: rec.value_at(r, x) for r, k in (("val_loss", "eval_loss"), ("val_acc", "eval_accuracy"))}
        ev = {k: v for k, v in ev.items() if v is not None}
        if ev:
            hist.append({**ev, "epoch": epoch, "eval_runtime": 0.1, "step": step})
    last = hist[-1]["step"] if hist else 0
    epochs = int(math.ceil(hist[-1]["epoch"])) if hist else 0
    state = TrainerState(epoch=hist[-1]["epoch"] if hist else 0.0, global_step=last, max_steps=last,
                         num_train_epochs=epochs, logging_steps=1, log_history=hist,
                         train_batch_size=int(rec.hparams["batch_size"]) if rec.hparams.get("batch_size") else None)
    d.mkdir(parents=True, exist_ok=True)
    state.save_to_json(str(d / "trainer_state.json"))
    _hf_training_args(rec, d, epochs, last)


HF_OPTIM = {"adam": "adamw_torch", "adamw": "adamw_torch", "sgd": "sgd", "rmsprop": "rmsprop",
            "adagrad": "adagrad"}


def _hf_training_args(rec: Recording, d: Path, epochs: int, steps: int) -> None:
    """`training_args.bin` as Trainer saves it: torch.save(TrainingArguments(...)). The LR the user
    set is the schedule's peak; momentum has no field (HF passes it in an `optim_args` string)."""
    hp = rec.hparams
    if not hp.get("optimizer"):
        return  # every TrainingArguments names an optimizer: writing one would invent it; share the state only
    import torch
    from transformers import TrainingArguments

    opt = str(hp.get("optimizer") or "").lower()
    opt = opt if opt in HF_OPTIM.values() else HF_OPTIM.get(opt, "adamw_torch")
    kw: dict[str, Any] = {"optim": opt, "num_train_epochs": max(epochs, 1), "max_steps": steps or -1,
                          "max_grad_norm": 0.0, "report_to": [], "logging_steps": 1}
    if hp.get("lr"):
        kw["learning_rate"] = float(hp["lr"])
    if hp.get("batch_size"):
        kw["per_device_train_batch_size"] = int(hp["batch_size"])
    if hp.get("weight_decay") is not None:
        kw["weight_decay"] = float(hp["weight_decay"])
    torch.save(TrainingArguments(output_dir=str(d), **kw), d / "training_args.bin")


def wandb_legacy(rec: Recording, d: Path) -> None:
    """A legacy W&B run folder: history rows merged per step (wandb.log(..., step=s))."""
    import yaml

    files = d / "wandb" / "run-20251201_120000-fmtinv01" / "files"
    files.mkdir(parents=True, exist_ok=True)
    keys = {"train_loss": "train/loss", "val_loss": "val/loss", "train_acc": "train/acc", "val_acc": "val/acc",
            "lr": "train/lr", "grad_norm": "train/grad_norm"}
    t0 = rec.wall_at(rec.xs()[0]) if rec.xs() else 0.0
    with open(files / "wandb-history.jsonl", "w") as fh:
        for x in rec.xs():
            row: dict[str, Any] = {"_step": x, "_runtime": rec.wall_at(x) - t0, "_timestamp": rec.wall_at(x)}
            row["epoch"] = rec.epoch_of(x)
            for role, key in keys.items():
                v = rec.value_at(role, x)
                if v is not None:
                    row[key] = v
            fh.write(json.dumps(row) + "\n")  # json writes NaN/Infinity tokens, as W&B does
    config = {k: {"value": v} for k, v in _hp(rec, {**TORCH_HP, "lr": "learning_rate"}).items()}
    config["_wandb"] = {"value": {"cli_version": "0.18.0"}}
    (files / "config.yaml").write_text(yaml.safe_dump(config))


def wandb_lightning(rec: Recording, d: Path) -> None:
    """Lightning's WandbLogger: one history row per log call (train rows and eval rows apart, so
    `_step` counts calls, not optimizer steps), each with `trainer/global_step` and `epoch`."""
    import yaml

    files = d / "wandb" / "run-20251201_120000-fmtinv02" / "files"
    files.mkdir(parents=True, exist_ok=True)
    t0 = rec.wall_at(rec.xs()[0]) if rec.xs() else 0.0
    calls = 0
    with open(files / "wandb-history.jsonl", "w") as fh:
        for x in rec.xs():
            for keys in ({"train_loss": "train_loss", "lr": lightning_lr_name(rec.optimizer()),
                          "grad_norm": "grad_norm"},
                         {"val_loss": "val_loss", "val_acc": "val_acc", "train_acc": "train_acc"}):
                row: dict[str, Any] = {k: rec.value_at(role, x) for role, k in keys.items()}
                row = {k: v for k, v in row.items() if v is not None}
                if not row:
                    continue
                row.update({"_step": calls, "_runtime": rec.wall_at(x) - t0, "_timestamp": rec.wall_at(x),
                            "trainer/global_step": x, "epoch": int(rec.epoch_of(x))})
                fh.write(json.dumps(row) + "\n")
                calls += 1
    config = {k: {"value": v} for k, v in _hp(rec, TORCH_HP).items()}
    (files / "config.yaml").write_text(yaml.safe_dump(config))


def mlflow_store(rec: Recording, d: Path) -> None:
    """mlflow's own client on a file store: metrics/<key> lines, params/<key>."""
    os.environ["MLFLOW_ALLOW_FILE_STORE"] = "true"
    from mlflow.entities import Metric, Param
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=(d / "mlruns").resolve().as_uri())
    exp = client.create_experiment("fmtinv")
    run = client.create_run(exp, run_name=rec.run_id)
    keys = {"train_loss": "train_loss", "val_loss": "val_loss", "train_acc": "train_accuracy",
            "val_acc": "val_accuracy", "lr": "lr", "grad_norm": "grad_norm"}
    metrics = [Metric(key, v, int(wall * 1000), x) for role, key in keys.items() for x, v, wall in rec.points(role)]
    for i in range(0, len(metrics), 1000):
        client.log_batch(run.info.run_id, metrics=metrics[i:i + 1000])
    params = [Param(k, str(v)) for k, v in _hp(rec, {**TORCH_HP, "optimizer": "optimizer_name"}).items()]
    if params:
        client.log_batch(run.info.run_id, params=params)
    client.set_terminated(run.info.run_id)


def _keras_optimizer(rec: Recording):
    """The Keras optimizer the recorded run used (its class, LR, momentum, weight decay)."""
    import keras

    hp = rec.hparams
    name = str(hp.get("optimizer") or "sgd").lower()
    lr = float(hp.get("lr") or 0.01)
    kw: dict[str, Any] = {"learning_rate": lr}
    if hp.get("weight_decay"):
        kw["weight_decay"] = float(hp["weight_decay"])
    if name.startswith("adamw"):
        return keras.optimizers.AdamW(**kw)
    if name.startswith("adamax"):
        return keras.optimizers.Adamax(**kw)
    if name.startswith("nadam"):
        return keras.optimizers.Nadam(**kw)
    if name.startswith("adagrad"):
        return keras.optimizers.Adagrad(**kw)
    if name.startswith("adam"):
        return keras.optimizers.Adam(**kw)
    if name.startswith("rmsprop"):
        return keras.optimizers.RMSprop(**kw)
    return keras.optimizers.SGD(momentum=float(hp.get("momentum") or 0.0), **kw)


def mlflow_keras(rec: Recording, d: Path) -> None:
    """mlflow.keras.autolog's callback on a real Keras model: params `optimizer_name`,
    `optimizer_learning_rate`, `optimizer_momentum`, ... from the optimizer's get_config(), plus
    the `batch_size` autolog infers from fit(); metrics as Keras hands them over each epoch."""
    if not (rec.hparams.get("lr") and rec.hparams.get("optimizer")):
        return  # the original log did not say which optimizer: inventing one is not the same run
    os.environ.setdefault("KERAS_BACKEND", "torch")
    os.environ["MLFLOW_ALLOW_FILE_STORE"] = "true"
    import keras
    import mlflow
    from mlflow.keras.callback import MlflowCallback

    mlflow.set_tracking_uri((d / "mlruns").resolve().as_uri())
    mlflow.set_experiment("fmtinv")
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(optimizer=_keras_optimizer(rec), loss="mse")
    with mlflow.start_run(run_name=rec.run_id):
        if rec.hparams.get("batch_size"):
            mlflow.log_param("batch_size", int(rec.hparams["batch_size"]))
        cb = MlflowCallback()
        cb.set_model(model)
        cb.on_train_begin()
        for epoch, logs in _keras_logs(rec):
            cb.on_epoch_end(epoch, logs)
        mlflow.flush_async_logging()


def _csv(rec: Recording, path: Path, x_name: str | None, cols: dict[str, str],
         x_of: Callable[[int], Any] = lambda x: x) -> None:
    """One row per logged x: the x column `x_name` (x_of(x); none when x_name is None), then `cols`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(([x_name] if x_name else []) + list(cols.values()))
        for x in rec.xs():
            vals = [rec.value_at(role, x) for role in cols]
            if all(v is None for v in vals):
                continue
            w.writerow(([x_of(x)] if x_name else []) + ["" if v is None else repr(v) for v in vals])


def csv_training(rec: Recording, d: Path) -> None:
    _csv(rec, d / "metrics.csv", "epoch" if rec.granularity == "epoch" else "step",
         {"train_loss": "training_loss", "val_loss": "validation_loss", "train_acc": "accuracy", "val_acc": "val_acc",
          "lr": "lr", "grad_norm": "grad_norm"})


def csv_camel(rec: Recording, d: Path) -> None:
    _csv(rec, d / "history.csv", "epoch" if rec.granularity == "epoch" else "globalStep",
         {"train_loss": "trainLoss", "val_loss": "valLoss", "train_acc": "trainAcc", "val_acc": "valAcc",
          "lr": "learningRate", "grad_norm": "gradNorm"})


def csv_test(rec: Recording, d: Path) -> None:
    _csv(rec, d / "log.csv", "epoch" if rec.granularity == "epoch" else "iteration",
         {"train_loss": "loss", "val_loss": "test_loss", "train_acc": "train_accuracy", "val_acc": "test_accuracy",
          "lr": "learning_rate"})


def jsonl_rows(rec: Recording, path: Path, names: dict[str, str], x_key: str) -> None:
    """What `f.write(json.dumps({...}) + "\\n")` in a training loop writes: a row per log call,
    training values and evaluations in rows of their own, each with its x and a unix `timestamp`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as fh:
        for x in rec.xs():
            for group in (("train_loss", "train_acc", "lr", "grad_norm"), ("val_loss", "val_acc")):
                row = {names[r]: rec.value_at(r, x) for r in group if r in names and rec.value_at(r, x) is not None}
                if row:
                    fh.write(json.dumps({x_key: x, **row, "timestamp": rec.wall_at(x)}) + "\n")


def jsonl_loop(rec: Recording, d: Path) -> None:
    """A hand-written loop's `metrics.jsonl` on `step` (or `epoch`), beside the `config.json` it
    saved at the start."""
    jsonl_rows(rec, d / "metrics.jsonl", {"train_loss": "loss", "train_acc": "acc", "lr": "lr",
                                          "grad_norm": "grad_norm", "val_loss": "val_loss", "val_acc": "val_acc"},
               "epoch" if rec.granularity == "epoch" else "step")
    hp = _hp(rec, TORCH_HP)
    if hp:
        (d / "config.json").write_text(json.dumps(hp, indent=2))


def ray_tune(rec: Recording, d: Path) -> None:
    """A Ray Tune trial folder: `result.json`, one row per `tune.report()` (once per epoch here),
    numbered by `training_iteration` from 1, with Ray's bookkeeping keys and the trial's `config`
    in every row, and `params.json`."""
    trial = d / "train_fn_2f1c0_00000_0"
    trial.mkdir(parents=True, exist_ok=True)
    config = _hp(rec, TORCH_HP)
    names = {"train_loss": "loss", "val_loss": "val_loss", "train_acc": "accuracy", "val_acc": "val_accuracy",
             "lr": "lr"}
    t0 = rec.wall_at(rec.xs()[0]) if rec.xs() else 0.0
    with open(trial / "result.json", "w") as fh:
        for i, x in enumerate(rec.xs(), 1):
            row: dict[str, Any] = {k: rec.value_at(role, x) for role, k in names.items()}
            row = {k: v for k, v in row.items() if v is not None}
            row.update({"timestamp": int(rec.wall_at(x)), "time_total_s": rec.wall_at(x) - t0, "done": False,
                        "training_iteration": i, "trial_id": "2f1c0_00000", "config": config})
            fh.write(json.dumps(row) + "\n")
    (trial / "params.json").write_text(json.dumps(config))


def torch_perplexity_rmse(rec: Recording, d: Path) -> None:
    """The loss logged as what the task reports instead: a classifier's perplexity (exp of its
    cross-entropy, float32 as SummaryWriter stores it, so a loss past 88 logs inf) and a
    regression's RMSE, under the torch tutorial's tags and no tag named loss."""
    classifier = "train_acc" in rec.series or "val_acc" in rec.series
    out = rec.mapped(("train_loss", "val_loss"), (lambda y: np.exp(y.astype(np.float32))) if classifier else np.sqrt)
    word = "Perplexity" if classifier else "RMSE"
    _tb_write(out, d, {"train_loss": f"{word}/train", "val_loss": f"{word}/val", "train_acc": "Accuracy/train",
                       "val_acc": "Accuracy/val", "lr": "LR", "grad_norm": "Gradients/norm"})


def fastai_csv(rec: Recording, d: Path) -> None:
    """fastai's CSVLogger (`history.csv`): `epoch`, `train_loss`, `valid_loss`, then the metrics
    computed on the validation set with no split word (`error_rate`, as `metrics=error_rate` names
    it; `accuracy` when the run has no val accuracy but a training one is not fastai's), `time` as
    mm:ss. Values are written with str(), as fastai does."""
    d.mkdir(parents=True, exist_ok=True)
    rows = [["epoch", "train_loss", "valid_loss", "error_rate", "time"]]
    for epoch, logs in _keras_logs(rec):
        acc = logs.get("val_accuracy")
        cells = [logs.get("loss"), logs.get("val_loss"), None if acc is None else 1.0 - acc]
        rows.append([str(epoch), *("" if v is None else str(v) for v in cells), "00:01"])
    with open(d / "history.csv", "w", newline="") as fh:
        csv.writer(fh).writerows(rows)

# DVCLive's names for the roles: its HF callback's (`train/loss`, `eval/loss`, ...) and its Keras
# callback's (the logs dict as Keras fills it: `loss`, `val_loss`, ...)
DVCLIVE_HF = {"train_loss": "train/loss", "val_loss": "eval/loss", "train_acc": "train/accuracy",
              "val_acc": "eval/accuracy", "lr": "train/learning_rate", "grad_norm": "train/grad_norm"}
DVCLIVE_KERAS = {"train_loss": "loss", "val_loss": "val_loss", "train_acc": "accuracy", "val_acc": "val_accuracy",
                 "lr": "learning_rate"}


def dvclive_live(rec: Recording, d: Path, names: dict[str, str] = DVCLIVE_HF) -> None:
    """The real `dvclive.Live` (not an advisor dependency: run where dvclive is installed), its step set
    to each logged x, every role logged under `names`, the hparams through `log_params`."""
    from dvclive import Live

    cwd = os.getcwd()
    d.mkdir(parents=True, exist_ok=True)
    os.chdir(d)  # Live writes dvc.yaml beside its folder, in the working directory
    try:
        with Live(save_dvc_exp=False, report=None) as live:
            hp = _hp(rec, TORCH_HP)
            if hp:
                live.log_params(hp)
            for x in rec.xs():
                live.step = x
                for role, name in names.items():
                    v = rec.value_at(role, x)
                    if v is not None:
                        live.log_metric(name, v)
    finally:
        os.chdir(cwd)


WRITERS: dict[str, tuple[Callable[[Recording, Path], None], bool]] = {
    # name -> (writer, epoch-level runs only)
    "torch-tutorial": (torch_tutorial, False),
    "torch-underscore": (torch_underscore, False),
    "torch-spaces": (torch_spaces, False),
    "torch-add_scalars": (torch_add_scalars, False),
    "torch-hf-callback": (torch_hf_callback, False),
    "tensorboardX": (tbx, False),
    "keras-csv": (keras_csv, True),
    "keras-tb": (keras_tb, True),
    "lightning-csv": (lightning_csv, False),
    "hf-trainer": (hf_trainer, False),
    "wandb-history": (wandb_legacy, False),
    "wandb-lightning": (wandb_lightning, False),
    "mlflow": (mlflow_store, False),
    "mlflow-keras": (mlflow_keras, True),
    "csv-training": (csv_training, False),
    "csv-test": (csv_test, False),
    "csv-camel": (csv_camel, False),
    "jsonl-loop": (jsonl_loop, False),
    "ray-tune": (ray_tune, True),
    "torch-perplexity-rmse": (torch_perplexity_rmse, False),
    "fastai-csv": (fastai_csv, True),
}
try:  # dvclive pulls in dvc (~100 packages): a writer only where it is installed
    import dvclive as _dvclive  # noqa: F401

    WRITERS["dvclive"] = (dvclive_live, False)
except ImportError:
    pass


# ----------------------------------------------------------------------------- diagnosis


def diagnose_dir(path: Path, jobs: int, runs: list[str] | None = None) -> dict[str, dict]:
    """`advisor diagnose PATH --format json` (or PATH/<id> for each of `runs`) -> {run id (first
    folder under PATH): result}."""
    env = {**os.environ, "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    targets = [str(path / r) for r in runs] if runs else [str(path)]
    proc = subprocess.run([sys.executable, "-m", "advisor", "diagnose", *targets, "--format", "json", "-q",
                           "--fail-on", "never", "-j", str(jobs)], capture_output=True, text=True, env=env)
    if proc.returncode not in (0, 1):
        raise RuntimeError(f"advisor diagnose {path} exited {proc.returncode}: {proc.stderr.strip()[-500:]}")
    doc = json.loads(proc.stdout)
    out: dict[str, dict] = {}
    base = Path(path).resolve()
    for r in doc["runs"]:
        p = Path(r["run"])
        p = p if p.is_absolute() else (Path.cwd() / p)
        try:
            rid = p.resolve().relative_to(base).parts[0]
        except (ValueError, IndexError):
            rid = r["run"]
        findings = r.get("findings") or []
        first = next((f["recommendations"][0]["action"] for f in findings if f.get("recommendations")), None)
        res = {"patterns": sorted({f["pattern"] for f in findings}), "first_action": first, "metrics": r["metrics"],
               "runs": 1, "status": r["status"]}
        if rid in out:  # a writer whose layout discovery splits into several runs: keep them all
            prev = out[rid]
            res = {"patterns": sorted(set(prev["patterns"]) | set(res["patterns"])),
                   "first_action": prev["first_action"] or first, "metrics": {**prev["metrics"], **res["metrics"]},
                   "runs": prev["runs"] + 1, "status": prev["status"]}
        out[rid] = res
    for e in doc.get("errors", []):
        out.setdefault("_errors", {}).setdefault("list", []).append(e)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("corpus", type=Path, help="folder with runs/ and truth.json (bench/make_corpus_oos.py)")
    ap.add_argument("--out", type=Path, default=REPO / "bench" / "out" / "formats")
    ap.add_argument("--writers", default=",".join(WRITERS),
                    help="comma-separated; also bench/print_writers.py's terminal layouts (print-mnist, ...)")
    ap.add_argument("--limit", type=int, default=0, help="only the first N runs")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--details", action="store_true", help="list every difference with both role maps")
    ap.add_argument("--json", type=Path, help="write the table and the differences here")
    args = ap.parse_args(argv)
    warnings.filterwarnings("ignore")
    logging.getLogger("mlflow").setLevel(logging.WARNING)
    truth = json.loads((args.corpus / "truth.json").read_text())["runs"]
    ids = sorted(truth)[: args.limit or None]
    writers = [w for w in args.writers.split(",") if w]
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from print_writers import PRINT_WRITERS  # the terminal layouts: not in WRITERS (gen2's corpora stay the same)

    known = {**{name: (fn, "epoch" if epoch_only else "any") for name, (fn, epoch_only) in WRITERS.items()},
             **PRINT_WRITERS}
    unknown = set(writers) - set(known)
    if unknown:
        ap.error(f"unknown writers: {', '.join(sorted(unknown))} (known: {', '.join(known)})")
    if args.out.exists():
        shutil.rmtree(args.out)
    recs = {rid: record(args.corpus, rid, truth[rid]) for rid in ids}
    for name in writers:
        fn, runs = known[name]
        for rid, rec in recs.items():
            if not rec.series or (runs == "epoch") != (rec.granularity == "epoch") and runs != "any":
                continue  # nothing advisor could read, or a layout its program never prints for such a run
            fn(rec, args.out / name / rid)
    base = diagnose_dir((args.corpus / "runs").resolve(), args.jobs, ids)
    table: dict[str, dict[str, Any]] = {}
    diffs: list[dict] = []
    for name in writers:
        got = diagnose_dir((args.out / name).resolve(), args.jobs) if (args.out / name).exists() else {}
        n = pat = act = split = missing = 0
        for rid in ids:
            if rid not in got:
                written = (args.out / name / rid).exists()
                missing += written
                if written:
                    diffs.append({"writer": name, "run": rid, "granularity": recs[rid].granularity,
                                  "original": base.get(rid, {}), "variant": {"patterns": "not found"},
                                  "truth": truth[rid]["patterns"]})
                continue
            n += 1
            a, b = base.get(rid, {}), got[rid]
            dp, da = a.get("patterns") != b["patterns"], a.get("first_action") != b["first_action"]
            split += b["runs"] > 1
            pat += dp
            act += da
            if dp or da or b["runs"] > 1:
                diffs.append({"writer": name, "run": rid, "granularity": recs[rid].granularity,
                              "original": a, "variant": b, "truth": truth[rid]["patterns"]})
        table[name] = {"runs": n, "patterns_differ": pat, "first_action_differs": act, "split_runs": split, "missing": missing}
    print(f"{'writer':20s} {'runs':>5s} {'patterns≠':>10s} {'1st action≠':>12s} {'split':>6s} {'missing':>8s}")
    for name, row in table.items():
        print(f"{name:20s} {row['runs']:5d} {row['patterns_differ']:10d} {row['first_action_differs']:12d} "
              f"{row['split_runs']:6d} {row['missing']:8d}")
    if args.details:
        for d in diffs:
            print(f"\n{d['writer']} {d['run']} ({d['granularity']}; truth {d['truth']})")
            for side in ("original", "variant"):
                r = d[side]
                print(f"  {side:8s} {r.get('patterns')} first={r.get('first_action')} runs={r.get('runs')} "
                      f"metrics={r.get('metrics')}")
    if args.json:
        args.json.write_text(json.dumps({"table": table, "differences": diffs}, indent=1, default=str))
    counts = Counter(d["writer"] for d in diffs)
    return 0 if not counts else 1


if __name__ == "__main__":
    sys.exit(main())
