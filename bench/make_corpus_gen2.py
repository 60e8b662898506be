"""Make a corpus from a second, independent generator: labelled small trainings nobody tunes on.

    nice -n 10 python bench/make_corpus_gen2.py /work/corpora/gen2 --seed 1 --jobs 2
    python bench/make_corpus_gen2.py OUT --runs 30 --seed 2

Why: every out-of-sample number so far came from one generator (bench/make_corpus_oos.py: its
tasks, models, training loop and six writers); detectors tuned on several of its seeds can still
fit that generator. The hidden evaluation's runs come from other trainings and other writers, so
this sweep changes everything a practitioner's sweep would change, and keeps only the labels'
definitions, so its labels mean the same thing:

- tasks from other scikit-learn data: digits (8x8 images), breast cancer, moons, a 24-feature
  4-class make_classification, two regressions with an MSE loss and no accuracy (Friedman #1,
  diabetes) and a sequence-counting task for a GRU;
- models: a small CNN (Conv2d), MLPs with GELU/ELU/sigmoid/tanh/ReLU, dropout and weight decay, a
  residual MLP, a GRU;
- optimizers the first generator lacks (Adagrad, NAdam, Adamax, SGD with Nesterov momentum) beside
  Adam, RMSprop and SGD; LR schedules (cosine, step decay, linear warmup then decay) on healthy and
  failing runs alike, the scheduled LR logged;
- the same failure causes drawn differently: adaptive optimizers at 10-100x their usual LR, SGD at
  LR 0.5-2 with batch 4-16, a warmup that climbs to a far too high peak, deep saturating nets with
  tiny init stalled at chance, SGD momentum 0.99 blow-ups, SGD at an LR that kills the net, LRs far
  too low (SGD, Adagrad, NAdam, a GRU), small-data overfitting, healthy controls of every kind
  (~30%); budgets of 10-120 epochs or 300-3000 steps, evaluations every epoch or 12-50 per run,
  training loss logged every 1-25 steps as the window's mean or the last value;
- its own training loop here (torch, CPU, one thread, deterministic for a seed);
- writers: every run goes through one of bench/format_invariance.py's writers (real torch and
  tensorboardX SummaryWriters with their tag conventions, Keras 3 CSVLogger and the Keras TB
  layout for epoch-level runs, Lightning's CSVLogger, HF trainer_state.json + training_args.bin,
  W&B legacy and WandbLogger folders, mlflow's file store and Keras autolog, generic CSVs), fed a
  `Recording` built from the training's own curves; some runs are train-only, some carry no hparams.

Labels: bench.make_corpus_oos.judge() (label() by its CRITERIA, ACTIONS per cause, near misses and
contradictions rejected) on the full-batch training loss the loop evaluates at step 0 and at every
evaluation (never logged), the val loss and accuracy, against a well-tuned reference run of the same
task, model family, budget and batch (Adam, constant LR). Output layout and truth.json schema as
make_corpus_oos.py, so bench/score.py and bench/cv.py read it unchanged. About 8 minutes for the
default 200 specs on 2 busy cores.
"""
from __future__ import annotations

import argparse
import json
import logging
import math
import os
import shutil
import sys
import time
import warnings
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from bench.format_invariance import WRITERS, Recording  # noqa: E402
from bench.make_corpus import sweep  # noqa: E402
from bench.make_corpus_oos import init_small, judge, write_truth  # noqa: E402
from fixtures.make_fixtures import _round  # noqa: E402

DEFAULT_OUT = REPO / "bench" / "out" / "gen2"

# ----------------------------------------------------------------------------- tasks

REGRESSION = ("friedman", "diabetes")


def _task_data(name: str) -> tuple[np.ndarray, np.ndarray]:
    from sklearn import datasets

    if name == "digits":
        d = datasets.load_digits()
        x, y = d.images[:, None], d.target  # (n, 1, 8, 8) for the CNN; the MLPs flatten it
    elif name == "cancer":
        d = datasets.load_breast_cancer()
        x, y = d.data, d.target
    elif name == "moons":
        x, y = datasets.make_moons(n_samples=1600, noise=0.3, random_state=5)
    elif name == "classif":
        x, y = datasets.make_classification(n_samples=2400, n_features=24, n_informative=12, n_redundant=4,
                                            n_classes=4, n_clusters_per_class=2, class_sep=1.2, flip_y=0.03,
                                            random_state=5)
    elif name == "friedman":
        x, y = datasets.make_friedman1(n_samples=2000, n_features=10, noise=1.0, random_state=5)
    elif name == "diabetes":
        d = datasets.load_diabetes()
        x, y = d.data, d.target
    elif name == "count":
        rng = np.random.RandomState(5)
        x = rng.randn(1600, 20, 3)
        # the sign of channel 0 summed over the sequence and of channel 1 over its second half:
        # the GRU has to keep two running sums
        y = 2 * (x[:, :, 0].sum(1) > 0) + (x[:, 10:, 1].sum(1) > 0)
    else:
        raise ValueError(name)
    y = np.asarray(y, np.float32 if name in REGRESSION else np.int64)
    return np.asarray(x, np.float32), y


_DATA: dict[str, tuple] = {}


def split(name: str):
    """Fixed 80/20 split; inputs (and regression targets) standardised by the training split."""
    if name not in _DATA:
        x, y = _task_data(name)
        idx = np.random.RandomState(13).permutation(len(y))
        n_val = len(y) // 5
        va, tr = idx[:n_val], idx[n_val:]
        axes = {4: None, 3: (0, 1), 2: 0}[x.ndim]  # images: one mean and std for every pixel
        mu, sd = x[tr].mean(axes, keepdims=True), x[tr].std(axes, keepdims=True) + 1e-6
        x = (x - mu) / sd
        if name in REGRESSION:
            y = (y - y[tr].mean()) / y[tr].std()
            n_out = 1
        else:
            n_out = int(y.max() + 1)
        _DATA[name] = (x[tr], y[tr], x[va], y[va], n_out)
    return _DATA[name]


# ----------------------------------------------------------------------------- models

ACTIVATIONS = ("relu", "gelu", "elu", "tanh", "sigmoid")


def build(cfg: dict, in_shape: tuple[int, ...], n_out: int):
    from torch import nn

    act = {"relu": nn.ReLU, "gelu": nn.GELU, "elu": nn.ELU, "tanh": nn.Tanh, "sigmoid": nn.Sigmoid}[
        cfg.get("activation", "relu")]
    hidden, drop = int(cfg.get("hidden", 64)), float(cfg.get("dropout", 0.0))
    model = cfg["model"]

    class GRUNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.rnn = nn.GRU(in_shape[-1], hidden, num_layers=int(cfg.get("layers", 1)), batch_first=True)
            self.head = nn.Linear(hidden, n_out)

        def forward(self, x):
            return self.head(self.rnn(x)[0][:, -1])

    class Residual(nn.Module):
        def __init__(self):
            super().__init__()
            self.body = nn.Sequential(nn.LayerNorm(hidden), nn.Linear(hidden, hidden), act(), nn.Dropout(drop),
                                      nn.Linear(hidden, hidden))

        def forward(self, x):
            return x + self.body(x)

    if model == "gru":
        return GRUNet()
    if model == "cnn":
        c = int(cfg.get("channels", 8))
        bn = (lambda k: nn.BatchNorm2d(k)) if cfg.get("batchnorm") else (lambda k: nn.Identity())
        return nn.Sequential(nn.Conv2d(1, c, 3, padding=1), bn(c), act(), nn.Conv2d(c, 2 * c, 3, padding=1), bn(2 * c),
                             act(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(2 * c * 16, hidden), act(),
                             nn.Dropout(drop), nn.Linear(hidden, n_out))
    n_in = int(np.prod(in_shape))
    if model == "resmlp":
        return nn.Sequential(nn.Flatten(), nn.Linear(n_in, hidden), *[Residual() for _ in range(int(cfg["depth"]))],
                             act(), nn.Linear(hidden, n_out))
    layers: list = [nn.Flatten()]
    width = n_in
    for _ in range(int(cfg["depth"])):
        layers.append(nn.Linear(width, hidden))
        if cfg.get("batchnorm"):
            layers.append(nn.BatchNorm1d(hidden))
        layers.append(act())
        if drop:
            layers.append(nn.Dropout(drop))
        width = hidden
    layers.append(nn.Linear(width, n_out))
    net = nn.Sequential(*layers)
    if cfg.get("init") == "small":
        init_small(net, float(cfg["init_scale"]))
    return net


def optimizer(cfg: dict, params):
    import torch

    lr, wd = float(cfg["lr"]), float(cfg.get("weight_decay", 0.0))
    name = cfg["optimizer"]
    if name == "sgd":
        mom = float(cfg.get("momentum", 0.0))
        return torch.optim.SGD(params, lr=lr, momentum=mom, nesterov=bool(cfg.get("nesterov")) and mom > 0,
                               weight_decay=wd)
    cls = {"adam": torch.optim.Adam, "nadam": torch.optim.NAdam, "adamax": torch.optim.Adamax,
           "adagrad": torch.optim.Adagrad, "rmsprop": torch.optim.RMSprop}[name]
    return cls(params, lr=lr, weight_decay=wd)


def scheduler(cfg: dict, opt, steps: int):
    """The LR schedule, stepped once per optimizer step (None = constant)."""
    from torch.optim import lr_scheduler as sch

    kind = cfg.get("schedule", "constant")
    if kind == "cosine":
        return sch.CosineAnnealingLR(opt, T_max=steps, eta_min=float(cfg["lr"]) * 0.01)
    if kind == "step":
        return sch.StepLR(opt, step_size=max(1, steps // 3), gamma=0.3)
    if kind == "warmup_linear":  # transformers' get_linear_schedule_with_warmup
        warm = max(1, int(steps * float(cfg.get("warmup_frac", 0.1))))
        return sch.LambdaLR(opt, lambda k: (k + 1) / warm if k < warm else max(0.0, (steps - k) / (steps - warm)))
    return None


# ----------------------------------------------------------------------------- training


def train(cfg: dict, seed: int, grad_norm: bool = False) -> tuple[dict, dict]:
    """Train; return (the curves a training script sees, the labeller's private view).

    Curves: per optimizer step (1-based, after the update) the minibatch loss, accuracy, LR and
    optionally the gradient norm; per evaluation its step, val loss and val accuracy. The labeller's
    view adds the full-batch training loss at step 0 and at every evaluation, which no log holds.

    A blow-up (a non-finite loss, or one above 1e6) ends the run when cfg["on_blowup"] is "stop"
    (TerminateOnNaN, a script that raises); with "continue" the loop goes on as most scripts do: a
    finite loss keeps training, a non-finite one leaves NaN weights (what backward() and step() of
    a NaN loss give), and every later step and evaluation is computed, and logged, with them."""
    import torch
    import torch.nn.functional as F

    torch.set_num_threads(1)
    x_tr, y_tr, x_va, y_va, n_out = split(cfg["task"])
    if cfg.get("train_size"):
        x_tr, y_tr = x_tr[: int(cfg["train_size"])], y_tr[: int(cfg["train_size"])]
    regression = cfg["task"] in REGRESSION
    torch.manual_seed(seed)
    net = build(cfg, x_tr.shape[1:], n_out)
    opt = optimizer(cfg, net.parameters())
    steps, bs = int(cfg["steps"]), int(cfg["batch_size"])
    sched = scheduler(cfg, opt, steps)
    X, Y, XV, YV = map(torch.from_numpy, (x_tr, y_tr, x_va, y_va))
    n = len(Y)
    eval_every = int(cfg["eval_every"])
    g = torch.Generator().manual_seed(seed + 7)

    def loss_fn(out, y):
        return F.mse_loss(out.squeeze(-1), y) if regression else F.cross_entropy(out, y)

    def accuracy(out, y) -> float:
        return math.nan if regression else float((out.argmax(1) == y).float().mean())

    def full(xs, ys) -> tuple[float, float]:
        net.eval()
        with torch.no_grad():
            out = net(xs)
            res = float(loss_fn(out, ys)), accuracy(out, ys)
        net.train()
        return res

    fb = [full(X, Y)[0]]
    curves: dict[str, list] = {"loss": [], "acc": [], "lr": [], "grad_norm": [], "evals": []}
    diverged = dead = False
    stop = cfg.get("on_blowup", "stop") == "stop"
    order, pos = torch.randperm(n, generator=g), 0
    net.train()
    for k in range(steps):
        if pos >= n:
            order, pos = torch.randperm(n, generator=g), 0
        idx = order[pos:pos + bs]
        pos += bs
        out = net(X[idx])
        loss = loss_fn(out, Y[idx])
        lv = float(loss.detach())
        lr_now = float(opt.param_groups[0]["lr"])
        if not math.isfinite(lv) or lv > 1e6:
            diverged = True
            if stop:
                curves["loss"].append((k + 1, lv))
                curves["lr"].append((k + 1, lr_now))
                break
            if not math.isfinite(lv) and not dead:
                dead = True
                with torch.no_grad():
                    for p in net.parameters():
                        p.fill_(math.nan)
        if dead:
            if grad_norm:
                curves["grad_norm"].append((k + 1, math.nan))
        else:
            opt.zero_grad(set_to_none=True)
            loss.backward()
            if grad_norm:
                gn = float(torch.nn.utils.clip_grad_norm_(net.parameters(), float("inf")))
                curves["grad_norm"].append((k + 1, gn))
            opt.step()
        if sched is not None:
            sched.step()
        curves["loss"].append((k + 1, lv))
        curves["acc"].append((k + 1, accuracy(out.detach(), Y[idx])))
        curves["lr"].append((k + 1, lr_now))
        if (k + 1) % eval_every == 0 or k + 1 == steps:
            vl, va = full(XV, YV)
            tl = full(X, Y)[0]
            curves["evals"].append((k + 1, vl, va))
            fb.append(tl)
            if not (math.isfinite(tl) and math.isfinite(vl)):
                diverged = True
                if stop:
                    break
    evals = curves["evals"]
    view = {"fb": np.array(fb), "val_loss": np.array([e[1] for e in evals]),
            "val_acc": np.array([] if regression else [e[2] for e in evals]), "diverged": diverged,
            "steps_done": len(curves["loss"])}
    if not regression:
        counts = np.bincount(y_va, minlength=n_out)
        view["chance_acc"] = float(counts.max() / counts.sum())
    return curves, view


_REF: dict[tuple, dict] = {}
REF_LR = {"mlp": 3e-3, "resmlp": 2e-3, "cnn": 2e-3, "gru": 5e-3}


def reference(task: str, model: str, steps: int, batch: int) -> dict:
    """The well-tuned run of the same task, model family, budget and batch (Adam at a good LR,
    constant, default architecture), evaluated once at the end: what "done" looks like for the
    labeller's slow-convergence and unfinished tests (make_corpus_oos.reference's idea)."""
    key = (task, model, steps, batch)
    if key not in _REF:
        cfg = {"task": task, "model": model, "optimizer": "adam", "lr": REF_LR[model], "batch_size": batch,
               "steps": steps, "eval_every": steps, "hidden": 64, "depth": 2, "activation": "relu"}
        _, view = train(cfg, 0)
        _REF[key] = {"fb_end": float(view["fb"][-1]), "lr": REF_LR[model]}
    return _REF[key]


# ----------------------------------------------------------------------------- the sweep

USUAL_LR = {"adam": 1e-3, "nadam": 2e-3, "adamax": 2e-3, "rmsprop": 1e-3, "adagrad": 1e-2, "sgd": 0.05}
ADAPTIVE = ("adam", "nadam", "adamax", "rmsprop", "adagrad")
CLASSIFY = ["digits", "cancer", "moons", "classif"]
MLP_TASKS = CLASSIFY + ["friedman", "diabetes"]
STEP_CAP = {"mlp": 3000, "resmlp": 1200, "cnn": 1000, "gru": 600}  # CPU seconds stay small
EPOCH_CAP = 2000  # steps of an epoch-level run


def _pick(rng: np.random.Generator, options):
    return options[int(rng.integers(len(options)))]


def _schedule(rng: np.random.Generator, p_constant: float = 0.5) -> dict:
    if rng.random() < p_constant:
        return {"schedule": "constant"}
    kind = _pick(rng, ["cosine", "step", "warmup_linear"])
    return {"schedule": kind, **({"warmup_frac": _pick(rng, [0.05, 0.1])} if kind == "warmup_linear" else {})}


def _model(rng: np.random.Generator, family: str | None = None, tasks: list[str] | None = None) -> dict:
    """A model and a task it fits, as a practitioner would pair them."""
    family = family or _pick(rng, ["mlp", "mlp", "mlp", "resmlp", "cnn", "gru"])
    if family == "cnn":
        return {"model": "cnn", "task": "digits", "channels": _pick(rng, [4, 8]), "hidden": 32,
                "activation": _pick(rng, ["relu", "relu", "gelu", "elu"])}
    if family == "gru":
        return {"model": "gru", "task": "count", "hidden": _pick(rng, [16, 24]), "layers": _pick(rng, [1, 1, 2])}
    task = _pick(rng, tasks or (MLP_TASKS if family == "mlp" else ["classif", "friedman", "digits", "cancer"]))
    cfg = {"model": family, "task": task, "depth": _pick(rng, [1, 2, 3]) if family == "mlp" else _pick(rng, [2, 3]),
           "hidden": _pick(rng, [32, 64, 128]), "activation": _pick(rng, ["relu", "gelu", "elu", "tanh"])}
    if rng.random() < 0.3:
        cfg["dropout"] = _pick(rng, [0.1, 0.2, 0.3])
    if rng.random() < 0.3:
        cfg["weight_decay"] = _pick(rng, [1e-5, 1e-4, 5e-4])
    return cfg


def _regime(rng: np.random.Generator) -> tuple[str, str, dict]:
    """(regime, cause, config) of one run."""
    # weights set so that about 30% of the kept runs are healthy: healthy configs are rarely rejected
    kind = _pick(rng, ["healthy"] * 13 + ["adaptive_high"] * 15 + ["sgd_small_batch_high"] * 12
                 + ["deep_saturating"] * 6 + ["momentum_blowup"] * 5 + ["warmup_high"] * 3 + ["sgd_kill"] * 4
                 + ["sgd_low"] * 8 + ["adagrad_low"] * 4 + ["gru_low"] * 5 + ["nadam_low"] * 3 + ["overfit"] * 13)
    batch = {"batch_size": _pick(rng, [16, 32, 64, 128])}
    if kind == "healthy":
        flavour = _pick(rng, ["adam", "nadam", "adamax", "adagrad", "rmsprop", "nesterov", "small_batch", "cnn", "gru",
                              "regression", "deep_bn", "resmlp"])
        sch = _schedule(rng)
        if flavour == "cnn":
            opt = _pick(rng, [{"optimizer": "adam", "lr": _pick(rng, [1e-3, 2e-3])},
                              {"optimizer": "sgd", "momentum": 0.9, "nesterov": True, "lr": _pick(rng, [0.02, 0.05])}])
            return "healthy_cnn", "none", {**_model(rng, "cnn"), **batch, **opt, **sch}
        if flavour == "gru":
            opt = _pick(rng, [{"optimizer": "adam", "lr": _pick(rng, [3e-3, 5e-3])},
                              {"optimizer": "rmsprop", "lr": _pick(rng, [2e-3, 3e-3])}])
            return "healthy_gru", "none", {**_model(rng, "gru"), "batch_size": 32, **opt, **sch}
        if flavour == "regression":
            return "healthy_regression", "none", {**_model(rng, "mlp", ["friedman"]), **batch, "optimizer": "adam",
                                                  "lr": _pick(rng, [1e-3, 3e-3]), **sch}
        if flavour == "deep_bn":
            return "healthy_deep_bn", "none", {**_model(rng, "mlp", CLASSIFY), **batch, "depth": 6, "batchnorm": True,
                                               "activation": _pick(rng, ["sigmoid", "tanh"]), "optimizer": "adam",
                                               "lr": 1e-3, **sch}
        if flavour == "resmlp":
            return "healthy_resmlp", "none", {**_model(rng, "resmlp"), **batch, "optimizer": "sgd", "momentum": 0.9,
                                              "nesterov": True, "lr": _pick(rng, [0.01, 0.02]), **sch}
        if flavour == "small_batch":
            return "healthy_small_batch", "none", {**_model(rng, "mlp", CLASSIFY), "batch_size": _pick(rng, [4, 8, 16]),
                                                   "optimizer": "sgd", "lr": _pick(rng, [0.005, 0.01]), **sch}
        if flavour == "nesterov":
            return "healthy_nesterov", "none", {**_model(rng, "mlp"), **batch, "optimizer": "sgd", "momentum": 0.9,
                                                "nesterov": True, "lr": _pick(rng, [0.01, 0.03]), **sch}
        lr = USUAL_LR[flavour] * _pick(rng, [1, 2, 3] if flavour != "adagrad" else [2, 5])
        return f"healthy_{flavour}", "none", {**_model(rng, "mlp"), **batch, "optimizer": flavour, "lr": lr, **sch}
    if kind == "adaptive_high":
        opt = _pick(rng, list(ADAPTIVE))
        fac = _pick(rng, [10, 30, 100]) if opt != "adagrad" else _pick(rng, [30, 100])
        return f"{opt}_high", "lr_high", {**_model(rng), **batch, "optimizer": opt, "lr": USUAL_LR[opt] * fac,
                                          **_schedule(rng, 0.85)}
    if kind == "sgd_small_batch_high":
        return "sgd_small_batch_high", "small_batch_lr_high", {
            **_model(rng, "mlp", CLASSIFY), "batch_size": _pick(rng, [4, 8, 16]), "optimizer": "sgd",
            "momentum": _pick(rng, [0.0, 0.0, 0.5]), "nesterov": True, "lr": _pick(rng, [0.5, 1.0, 2.0]),
            **_schedule(rng, 0.8)}
    if kind == "deep_saturating":
        return "deep_saturating", "saturating", {
            **_model(rng, "mlp", CLASSIFY), **batch, "depth": _pick(rng, [5, 6, 7, 8]), "dropout": 0.0,
            "activation": _pick(rng, ["sigmoid", "tanh"]), "init": "small", "init_scale": _pick(rng, [0.01, 0.03, 0.05]),
            "optimizer": "sgd", "momentum": _pick(rng, [0.0, 0.9]), "nesterov": bool(rng.random() < 0.5),
            "lr": _pick(rng, [0.01, 0.03, 0.1]), **_schedule(rng, 0.7)}
    if kind == "momentum_blowup":
        return "momentum_0.99_blowup", "lr_high", {**_model(rng, _pick(rng, ["mlp", "mlp", "cnn"])), **batch,
                                                   "optimizer": "sgd", "momentum": 0.99, "nesterov": bool(rng.random() < 0.5),
                                                   "lr": _pick(rng, [0.05, 0.1, 0.3])}
    if kind == "warmup_high":
        opt = _pick(rng, ["adam", "nadam"])
        return "warmup_to_high_peak", "lr_high", {**_model(rng, _pick(rng, ["mlp", "resmlp"])), **batch, "optimizer": opt,
                                                  "lr": USUAL_LR[opt] * _pick(rng, [100, 300]), "schedule": "warmup_linear",
                                                  "warmup_frac": _pick(rng, [0.2, 0.3])}
    if kind == "sgd_kill":
        return "sgd_kill", "lr_high", {**_model(rng, "mlp", CLASSIFY), **batch, "depth": _pick(rng, [2, 3]),
                                          "activation": _pick(rng, ["relu", "gelu"]), "optimizer": "sgd", "momentum": 0.9,
                                          "nesterov": bool(rng.random() < 0.5), "lr": _pick(rng, [0.5, 1.0, 2.0])}
    if kind == "sgd_low":
        return "sgd_low", "lr_low", {**_model(rng, _pick(rng, ["mlp", "mlp", "resmlp", "cnn"])), **batch,
                                        "optimizer": "sgd", "lr": _pick(rng, [5e-4, 1e-3, 1e-3]), **_schedule(rng, 0.8)}
    if kind == "adagrad_low":
        return "adagrad_low", "lr_low", {**_model(rng), **batch, "optimizer": "adagrad",
                                            "lr": _pick(rng, [1e-4, 3e-4])}
    if kind == "gru_low":
        return "gru_slow", "lr_low", {**_model(rng, "gru"), "batch_size": 32, "optimizer": _pick(rng, ["adam", "nadam"]),
                                        "lr": _pick(rng, [5e-5, 1e-4, 2e-4])}
    if kind == "nadam_low":
        return "nadam_low", "lr_low", {**_model(rng, _pick(rng, ["mlp", "cnn"])), **batch, "optimizer": "nadam",
                                          "lr": _pick(rng, [2e-5, 5e-5, 1e-4]), **_schedule(rng, 0.7)}
    family = _pick(rng, ["mlp", "mlp", "mlp", "cnn"])
    cfg = {**_model(rng, family, ["cancer", "classif", "digits", "friedman", "diabetes"]), "batch_size": 16,
           "optimizer": _pick(rng, ["adam", "nadam", "adamax"]), "lr": _pick(rng, [1e-3, 3e-3]),
           "train_size": _pick(rng, [40, 60, 80, 120])}
    if family == "mlp":
        cfg.update(depth=3, hidden=_pick(rng, [128, 256]), activation=_pick(rng, ["relu", "gelu", "elu"]),
                   dropout=_pick(rng, [0.0, 0.0, 0.1]))
        cfg.pop("weight_decay", None)
    return "overfit_small_data", "small_data", cfg


STEP_BUDGETS = [300, 500, 500, 800, 800, 1200, 1200, 2000, 3000]  # long runs rarer: CPU time
EPOCH_BUDGETS = [10, 15, 20, 30, 40, 60, 80, 120]
# what each writer family is called in truth.json's "format"
FORMAT = {"keras-csv": "csv", "lightning-csv": "csv", "csv-training": "csv", "csv-test": "csv", "csv-camel": "csv",
          "hf-trainer": "hf", "wandb-history": "wandb", "wandb-lightning": "wandb", "mlflow": "mlflow",
          "mlflow-keras": "mlflow", "jsonl-loop": "jsonl", "ray-tune": "jsonl",
          "fastai-csv": "csv"}


def _budget(rng: np.random.Generator, cfg: dict) -> tuple[str, int, int, int]:
    """(granularity, steps, steps per epoch, eval every) of one run."""
    n_tr = int(cfg.get("train_size") or len(split(cfg["task"])[1]))
    spe = math.ceil(n_tr / cfg["batch_size"])
    cap = STEP_CAP[cfg["model"]]
    epochs = [e for e in EPOCH_BUDGETS if e * spe <= min(cap, EPOCH_CAP)]
    if epochs and rng.random() < 0.45:
        if cfg.get("train_size"):  # a small set: the run goes on for many epochs
            epochs = [e for e in epochs if e >= 60] or epochs[-1:]
        e = _pick(rng, epochs)
        return "epoch", e * spe, spe, spe
    steps = _pick(rng, [s for s in STEP_BUDGETS if s <= cap and (s >= 800 or not cfg.get("train_size"))])
    if 12 <= steps // spe <= 60 and rng.random() < 0.3:
        return "step", steps, spe, spe  # evaluated once per epoch
    return "step", steps, spe, max(1, steps // _pick(rng, [12, 20, 30, 50]))


def make_specs(n: int, seed: int) -> list[dict]:
    rng = np.random.default_rng(seed)
    specs = []
    for i in range(n):
        regime, cause, cfg = _regime(rng)
        granularity, steps, spe, eval_every = _budget(rng, cfg)
        cfg.update(steps=int(steps), eval_every=int(eval_every))
        train_only = granularity == "step" and cause != "small_data" and rng.random() < 0.25
        hparams = "none" if rng.random() < 0.15 else ("partial" if rng.random() < 0.15 else "all")
        eligible = [w for w, (_, epoch_only) in WRITERS.items()
                    if (granularity == "epoch" or not epoch_only) and not (w == "mlflow-keras" and hparams == "none")]
        # Keras logs only per epoch: its writers get a fair share of the epoch-level runs
        epoch_only = [w for w in eligible if WRITERS[w][1]]
        writer = _pick(rng, epoch_only if epoch_only and granularity == "epoch" and rng.random() < 0.35 else eligible)
        specs.append({"id": f"{i:04d}-{cfg['task']}-{regime}", "config": cfg, "cause": cause, "regime": regime,
                      "seed": int(rng.integers(0, 1000)), "writer": writer, "granularity": granularity,
                      "steps_per_epoch": spe, "train_only": train_only, "hparams": hparams,
                      "log_every": 1 if granularity == "epoch" else _pick(rng, [1, 1, 5, 10, 25]),
                      "log_mean": bool(rng.random() < 0.5), "grad_norm": bool(rng.random() < 0.4),
                      "step_seconds": float(_pick(rng, [0.01, 0.03, 0.1]))})
        cfg["on_blowup"] = _pick(rng, ["stop", "continue"])
    return specs


def _hparams(spec: dict) -> dict[str, Any]:
    """The run's hparams under advisor's normalised names, as its script would log them (the LR the
    user set: a schedule's peak). "partial": the LR and optimizer only; "none": nothing."""
    cfg = spec["config"]
    if spec["hparams"] == "none":
        return {}
    hp: dict[str, Any] = {"lr": cfg["lr"], "optimizer": cfg["optimizer"]}
    if spec["hparams"] == "partial":
        return hp
    hp["batch_size"] = cfg["batch_size"]
    for k in ("momentum", "weight_decay", "activation", "depth", "init", "init_scale"):
        if cfg.get(k) not in (None, 0.0) or (k == "momentum" and cfg["optimizer"] == "sgd"):
            hp[k] = cfg.get(k, 0.0)
    if spec["granularity"] == "epoch":
        hp["epochs"] = cfg["steps"] // spec["steps_per_epoch"]
    else:
        hp["max_steps"] = cfg["steps"]
    if spec["writer"] == "hf-trainer" and cfg["optimizer"] in ("nadam", "adamax"):
        # TrainingArguments has no such optim: the user passed the optimizer object to Trainer,
        # which leaves no trace in its files
        hp.pop("optimizer")
    return hp


def recording(spec: dict, curves: dict) -> Recording:
    """The curves as the run's script logs them: step-level (train loss every log_every steps, the
    window's mean or its last value; LR, grad norm beside it; val at each evaluation) or per epoch
    (epoch means as Keras reports them, val and LR at the epoch's end)."""
    cfg = spec["config"]
    spe = spec["steps_per_epoch"]
    t0, dt = 1_764_000_000.0 + 3600.0 * spec["seed"], spec["step_seconds"]
    series: dict[str, tuple[list, list]] = {}

    def put(role: str, x: int, v: float) -> None:
        xs, ys = series.setdefault(role, ([], []))
        xs.append(x)
        ys.append(v)

    evals = curves["evals"]
    regression = cfg["task"] in REGRESSION
    if spec["granularity"] == "epoch":
        loss, acc, lr = (dict(curves[k]) for k in ("loss", "acc", "lr"))
        last = max(loss) if loss else 0
        for e in range(math.ceil(last / spe)):
            steps = range(e * spe + 1, min((e + 1) * spe, last) + 1)
            put("train_loss", e, float(np.mean([loss[s] for s in steps])))
            if not regression:
                put("train_acc", e, float(np.mean([acc[s] for s in steps if s in acc] or [math.nan])))
            put("lr", e, lr[steps[-1]])
        for s, vl, va in evals:
            put("val_loss", s // spe - 1, vl)
            if not regression:
                put("val_acc", s // spe - 1, va)
        wall = lambda x: t0 + (x + 1) * spe * dt  # noqa: E731
    else:
        every = spec["log_every"]
        window: list[float] = []
        for i, (s, v) in enumerate(curves["loss"]):
            window.append(v)
            final = i == len(curves["loss"]) - 1
            if s % every == 0 or final:
                put("train_loss", s, float(np.mean(window)) if spec["log_mean"] else v)
                put("lr", s, curves["lr"][i][1])
                if spec["grad_norm"] and i < len(curves["grad_norm"]):
                    put("grad_norm", s, curves["grad_norm"][i][1])
                window.clear()
        for j, (s, vl, va) in enumerate(evals):
            put("val_loss", s, vl)
            if not regression:
                put("val_acc", s, va)
                prev = evals[j - 1][0] if j else 0
                put("train_acc", s, float(np.nanmean([a for t, a in curves["acc"] if prev < t <= s] or [math.nan])))
        wall = lambda x: t0 + x * dt  # noqa: E731
    if spec["train_only"]:
        series.pop("val_loss", None)
        series.pop("val_acc", None)
    rec = Recording(run_id=spec["id"], granularity=spec["granularity"], hparams=_hparams(spec), steps_per_epoch=spe,
                    trained_with=cfg["optimizer"])
    for role, (xs, ys) in series.items():
        x = np.asarray(xs, np.int64)
        rec.series[role] = (x, np.asarray(ys, float), np.array([wall(int(v)) for v in x], float))
    return rec


def run_spec(args: tuple[dict, str]) -> tuple[str, dict | None, str | None]:
    spec, out = args
    root = Path(out)
    run_dir = root / "runs" / spec["id"]
    cfg = spec["config"]
    t0 = time.time()
    try:
        curves, view = train(cfg, spec["seed"], grad_norm=spec["grad_norm"])
        ref = reference(cfg["task"], cfg["model"], cfg["steps"], cfg["batch_size"])
        pats, actions, stats, why = judge(view, ref, spec["cause"], spec["train_only"])
        if why:
            return spec["id"], None, why
        rec = recording(spec, curves)
        n_logged = len(rec.series["train_loss"][0]) if "train_loss" in rec.series else 0
        if n_logged < 3:  # blew up in its first logging interval(s): no curve to read
            return spec["id"], None, f"unobservable: the log holds {n_logged} train-loss points"
        writer, _ = WRITERS[spec["writer"]]
        logging.getLogger("mlflow").setLevel(logging.WARNING)  # mlflow resets it on import
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            writer(rec, run_dir)
        if not run_dir.exists() or not any(p.is_file() for p in run_dir.rglob("*")):
            raise RuntimeError(f"{spec['writer']} wrote nothing")
    except Exception as exc:  # a broken spec is reported, not fatal for the sweep
        shutil.rmtree(run_dir, ignore_errors=True)
        return spec["id"], None, f"error: {type(exc).__name__}: {exc}"
    entry = {"path": str(run_dir.relative_to(root)), "writer": spec["writer"],
             "format": FORMAT.get(spec["writer"], "tensorboard"), "x_kind": spec["granularity"],
             "patterns": sorted(pats), "healthy": not pats, "expected_actions": actions, "cause": spec["cause"],
             "regime": spec["regime"], "config": _round(dict(cfg)), "seed": spec["seed"],
             "granularity": spec["granularity"], "train_only": spec["train_only"], "hparams_logged": spec["hparams"],
             "roles_logged": sorted(rec.series), "log_every": spec["log_every"], "stats": _round(stats),
             "reference": _round(ref), "train_s": round(time.time() - t0, 2)}
    return spec["id"], entry, None


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("out", nargs="?", type=Path, default=DEFAULT_OUT)
    ap.add_argument("--runs", type=int, default=260, help="specs to train (ambiguous ones are dropped)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--jobs", type=int, default=2)
    args = ap.parse_args(argv)
    os.environ.setdefault("KERAS_BACKEND", "torch")
    os.environ["MLFLOW_ALLOW_FILE_STORE"] = "true"
    logging.getLogger("mlflow").setLevel(logging.WARNING)
    out: Path = args.out
    runs, rejected, seconds = sweep(run_spec, make_specs(args.runs, args.seed), out, args.jobs)
    summary = write_truth(out, "bench/make_corpus_gen2.py", runs, rejected, seconds, jobs=args.jobs, seed=args.seed,
                          tasks=dict(sorted(Counter(e["config"]["task"] for e in runs.values()).items())),
                          optimizers=dict(sorted(Counter(e["config"]["optimizer"] for e in runs.values()).items())),
                          schedules=dict(sorted(Counter(e["config"].get("schedule", "constant")
                                                       for e in runs.values()).items())),
                          hparams_logged=dict(sorted(Counter(e["hparams_logged"] for e in runs.values()).items())))
    print(json.dumps(summary, indent=1), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
