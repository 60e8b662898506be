"""Make the out-of-sample corpus: real small trainings that nobody tuned advisor on.

    nice -n 10 python bench/make_corpus_oos.py                 # -> bench/out/oos/ (git-ignored)
    python bench/make_corpus_oos.py OUT --runs 200 --seed 7 --jobs 2

Why a second corpus: bench/make_corpus.py trains advisor.verify.builtins' tasks and labels them
with fixtures/labels.py, and the detectors' thresholds were tuned on that sweep, so its scores
flatter them. This sweep shares none of it:

- its own tasks (scikit-learn's wine, circles, gaussian quantiles, Hastie 10.2, noisy blobs, and a
  synthetic sequence task for an LSTM), its own models (MLPs of 1-8 layers with sigmoid/tanh/ReLU,
  tiny or default init, BatchNorm; logistic regression; an LSTM) and its own training loop here;
- optimizers the builtins lack (RMSprop, AdamW, SGD momentum 0.99) and the failure modes the
  tuning corpus under-samples: Adam/RMSprop at 10-100x their usual LR, SGD at a high LR with
  batch 4-16, deep saturating nets stalled at chance, a net that learns and then blows up
  (momentum 0.99), logistic regression with SGD 1e-3 still falling, an LSTM at Adam 1.5e-4,
  SGD at LR 0.6-1 that kills the net, AdamW at 3e-3+ stuck; healthy controls of each kind;
- epoch-level Keras CSVLogger and Keras TensorBoard logs (30-150 epochs), HF trainer_state.json,
  W&B history jsonl, and per-step TensorBoard logs at batch 4-16, some train-only;
- labels from the trainings themselves, not from the written curves: the loop also evaluates the
  full-batch training loss at step 0 and at every evaluation (it is not written to the log), and
  `label()` judges that curve, the val loss and the val accuracy against chance and against the
  task's well-tuned reference run (Adam, same budget). Each run also carries the action that fixes
  the cause its config was drawn for (`expected_actions`, first = the one to try first); a run
  whose measured pattern contradicts that cause, or whose statistics fall in a band just short of
  a threshold, is rejected and counted, so every label is clear-cut.

Output: OUT/runs/<id>/..., OUT/truth.json = {"schema": "advisor.corpus/1", "generator",
"criteria", "counts", "runs": {id: {"path", "writer", "format", "patterns", "healthy",
"expected_actions", "cause", "regime", "config", "stats", ...}}, "rejected": {id: why}} (paths
relative to OUT), scored by bench/score.py and cross-validated by bench/cv.py. Deterministic for a
given --seed; about 6 minutes on 2 cores.
"""
from __future__ import annotations

import argparse
import json
import math
import shutil
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from advisor.verify import logwriters as lw  # noqa: E402
from bench.make_corpus import sweep  # noqa: E402
from fixtures.make_fixtures import _round, write_run  # noqa: E402

SCHEMA = "advisor.corpus/1"
DEFAULT_OUT = REPO / "bench" / "out" / "oos"

# Every threshold of the labeller (see label()); "amb" entries are the near-miss bands rejected.
CRITERIA: dict[str, float] = {
    "blowup_factor": 1.5,       # non-finite, or the last quarter's median full-batch loss >= 1.5x its start: diverged
    "learned_frac": 0.7,        # "learned" = full-batch loss got below 70% of its start ...
    "relapse_frac": 0.9,        # ... then its last three evaluations are back above 90% of the start
    "acc_collapse": 0.05,       # or val accuracy back within 5 points of chance after beating it by 25
    "stall_level": 0.97,        # "at its start" = full-batch loss >= 97% of its start
    "stall_len": 0.40,          # plateau: such a stretch from the start covers >= 40% of the run
    "stall_len_amb": 0.25,
    "osc_move": 0.10,           # oscillation (second half): mean |change| between evaluations >= 10% of the level
    "osc_move_amb": 0.05,
    "osc_up": 0.30,             # ... and >= 30% of evaluations go up by more than 2% of the level
    "slow_min_fall": 0.03,      # a run that never fell 3% below its start did not move at all (plateau)
    "slow_early": 0.10,         # slow: the first quarter made >= 10% of the fall (moving from the start) ...
    "slow_tail": 0.15,          # ... and the last quarter still makes >= 15% of the total fall
    "slow_tail_amb": 0.08,
    "slow_far": 0.30,           # ... and the end is >= 30% of the way from the reference's end back to the start
    "slow_far_amb": 0.15,
    "overfit_rise": 1.25,       # overfitting: val loss (mean of the last 3) >= 1.25x its (rolling-3) minimum
    "overfit_rise_amb": 1.10,
    "overfit_train_fall": 0.8,  # ... while the full-batch train loss fell to <= 80% of its value at that minimum
    "healthy_gap": 0.5,         # healthy: the final full-batch loss is within 50% of the way back from the reference's end
}

PATTERNS = ("divergence", "oscillation", "plateau", "slow_convergence", "overfitting")
# the action that fixes each cause, per pattern it can produce (first = the one to try first)
ACTIONS: dict[str, dict[str, list[str]]] = {
    "lr_high": {"divergence": ["lower_lr", "gradient_clipping"], "oscillation": ["lower_lr", "lr_schedule"],
                "plateau": ["lower_lr", "warmup"], "overfitting": ["early_stop", "regularize"]},
    "small_batch_lr_high": {"divergence": ["lower_lr"], "oscillation": ["lower_lr", "raise_batch_size"],
                            "plateau": ["lower_lr"], "overfitting": ["early_stop", "regularize"]},
    "saturating": {"plateau": ["add_batchnorm", "change_init"], "slow_convergence": ["add_batchnorm", "change_init"]},
    "lr_low": {"slow_convergence": ["raise_lr", "lr_range_test"], "plateau": ["raise_lr", "lr_range_test"]},
    "small_data": {"overfitting": ["early_stop", "regularize", "augment_data"]},
    "none": {"overfitting": ["early_stop", "regularize", "augment_data"]},  # a healthy config that overfits
}


# ----------------------------------------------------------------------------- tasks


def _task_data(name: str) -> tuple[np.ndarray, np.ndarray, int]:
    from sklearn import datasets

    if name == "wine":
        d = datasets.load_wine()
        x, y = d.data, d.target
    elif name == "circles":
        x, y = datasets.make_circles(n_samples=1200, noise=0.12, factor=0.5, random_state=3)
    elif name == "quantiles":
        x, y = datasets.make_gaussian_quantiles(n_samples=2000, n_features=8, n_classes=3, random_state=3)
    elif name == "hastie":
        x, y = datasets.make_hastie_10_2(n_samples=2000, random_state=3)
        y = (y > 0).astype(int)
    elif name == "blobs":
        x, y = datasets.make_blobs(n_samples=2000, centers=6, n_features=16, cluster_std=4.0, random_state=3)
    elif name == "seq":
        rng = np.random.RandomState(3)
        x = rng.randn(1500, 16, 4)
        proj = rng.randn(4, 3)
        # the class is decided by the second half of the sequence: the LSTM has to carry state
        y = np.argmax(x[:, 8:, :].mean(1) @ proj + 0.3 * rng.randn(1500, 3), 1)
    else:
        raise ValueError(name)
    y = np.asarray(y, np.int64)
    return np.asarray(x, np.float32), y, int(y.max() + 1)


_DATA: dict[str, tuple] = {}


def split(name: str):
    """Fixed 75/25 split, standardised with the training split's statistics."""
    if name not in _DATA:
        x, y, c = _task_data(name)
        rng = np.random.RandomState(11)
        idx = rng.permutation(len(y))
        n_val = len(y) // 4
        va, tr = idx[:n_val], idx[n_val:]
        axes = (0, 1) if x.ndim == 3 else 0
        mu, sd = x[tr].mean(axes, keepdims=True), x[tr].std(axes, keepdims=True) + 1e-6
        x = (x - mu) / sd
        _DATA[name] = (x[tr], y[tr], x[va], y[va], c)
    return _DATA[name]


def init_small(net, std: float) -> None:
    """Every Linear layer drawn from N(0, std) with zero bias: the tiny init that stalls a deep
    saturating net at chance."""
    from torch import nn

    for m in net.modules():
        if isinstance(m, nn.Linear):
            nn.init.normal_(m.weight, 0.0, std)
            nn.init.zeros_(m.bias)


def build(cfg: dict, n_in: int, n_classes: int):
    from torch import nn

    class LSTMNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.rnn = nn.LSTM(n_in, int(cfg["hidden"]), batch_first=True)
            self.head = nn.Linear(int(cfg["hidden"]), n_classes)

        def forward(self, x):
            return self.head(self.rnn(x)[0][:, -1])

    if cfg["model"] == "lstm":
        return LSTMNet()
    if cfg["model"] == "logreg":
        return nn.Linear(n_in, n_classes)
    act = {"relu": nn.ReLU, "tanh": nn.Tanh, "sigmoid": nn.Sigmoid}[cfg["activation"]]
    layers, width = [], n_in
    for _ in range(int(cfg["depth"])):
        layers.append(nn.Linear(width, int(cfg["hidden"])))
        if cfg.get("batchnorm"):
            layers.append(nn.BatchNorm1d(int(cfg["hidden"])))
        layers.append(act())
        width = int(cfg["hidden"])
    layers.append(nn.Linear(width, n_classes))
    net = nn.Sequential(*layers)
    if cfg.get("init") == "small":
        init_small(net, float(cfg["init_scale"]))
    return net


def optimizer(cfg: dict, params):
    import torch

    lr, wd = float(cfg["lr"]), float(cfg.get("weight_decay", 0.0))
    name = cfg["optimizer"]
    if name == "adam":
        return torch.optim.Adam(params, lr=lr, weight_decay=wd)
    if name == "adamw":
        return torch.optim.AdamW(params, lr=lr, weight_decay=wd or 0.01)
    if name == "rmsprop":
        return torch.optim.RMSprop(params, lr=lr, weight_decay=wd)
    return torch.optim.SGD(params, lr=lr, momentum=float(cfg.get("momentum", 0.0)), weight_decay=wd)


def train(cfg: dict, seed: int, rec: lw.Recorder) -> dict:
    """Train and log canonical tags into `rec`; return the labeller's private view of the run."""
    import torch
    import torch.nn.functional as F

    torch.set_num_threads(1)
    x_tr, y_tr, x_va, y_va, n_classes = split(cfg["task"])
    if cfg.get("train_size"):
        x_tr, y_tr = x_tr[: int(cfg["train_size"])], y_tr[: int(cfg["train_size"])]
    torch.manual_seed(seed)
    net = build(cfg, x_tr.shape[-1], n_classes)
    opt = optimizer(cfg, net.parameters())
    X, Y, XV, YV = map(torch.from_numpy, (x_tr, y_tr, x_va, y_va))
    n, bs, steps = len(y_tr), int(cfg["batch_size"]), int(cfg["steps"])
    spe = math.ceil(n / bs)
    eval_every = int(cfg.get("eval_every") or spe)
    g = torch.Generator().manual_seed(seed + 1)

    def full(xs, ys):
        net.eval()
        with torch.no_grad():
            logits = net(xs)
            loss, acc = float(F.cross_entropy(logits, ys)), float((logits.argmax(1) == ys).float().mean())
        net.train()
        return loss, acc

    fb = [full(X, Y)[0]]  # full-batch train loss at step 0, then at every evaluation (never logged)
    va_loss, va_acc, window = [], [], []
    order, pos, diverged, k = torch.randperm(n, generator=g), 0, False, 0
    net.train()
    for k in range(steps):
        if pos >= n:
            order, pos = torch.randperm(n, generator=g), 0
        idx = order[pos:pos + bs]
        pos += bs
        loss = F.cross_entropy(net(X[idx]), Y[idx])
        lv = float(loss.detach())
        if not math.isfinite(lv) or lv > 1e6:
            rec("train/loss", k, lv)
            rec("lr", k, float(cfg["lr"]))
            diverged = True
            break
        opt.zero_grad(set_to_none=True)
        loss.backward()
        gn = float(torch.sqrt(sum((p.grad ** 2).sum() for p in net.parameters() if p.grad is not None)))
        opt.step()
        window.append(lv)
        rec("train/loss", k, lv)
        rec("lr", k, float(cfg["lr"]))
        rec("grad_norm", k, gn)
        if (k + 1) % eval_every == 0 or k + 1 == steps:
            vl, va = full(XV, YV)
            tl, ta = full(X, Y)
            rec("train/loss_avg", k + 1, float(np.mean(window)))
            window.clear()
            rec("val/loss", k + 1, vl)
            rec("val/acc", k + 1, va)
            rec("train/acc", k + 1, ta)
            fb.append(tl)
            va_loss.append(vl)
            va_acc.append(va)
            if not (math.isfinite(tl) and math.isfinite(vl)):
                diverged = True
                break
    else:
        k = steps
    counts = np.bincount(y_va, minlength=n_classes)
    rec.meta.update(steps_per_epoch=spe, eval_every=eval_every, diverged=diverged, steps_done=k,
                    val_loss=va_loss[-1] if va_loss else math.nan, max_steps=steps)
    return {"fb": np.array(fb), "val_loss": np.array(va_loss), "val_acc": np.array(va_acc), "diverged": diverged,
            "chance_acc": float(counts.max() / counts.sum()), "ln_c": math.log(n_classes), "steps_done": k}


# ----------------------------------------------------------------------------- labels


def label(run: dict, ref: dict | None) -> tuple[list[str], list[str], dict]:
    """(patterns, near misses, statistics) of one training, by CRITERIA."""
    C = CRITERIA
    fb, vl, vacc = run["fb"], run["val_loss"], run["val_acc"]
    start = float(fb[0])
    st: dict[str, Any] = {"start": start, "evals": len(fb) - 1}
    pats: list[str] = []
    amb: list[str] = []
    finite = np.isfinite(fb)
    n = len(fb)
    if run["diverged"] or not finite.all():
        return ["divergence"], [], {**st, "why": "non-finite or blew up"}
    # a rise past the start that lasts (the last quarter's median above 1.5x the start); a spike
    # above it that comes back down is for the oscillation criterion to judge
    if np.median(fb[-max(2, n // 4):]) >= C["blowup_factor"] * start:
        return ["divergence"], [], {**st, "why": "rose past its start and stayed there"}
    i_min = int(np.argmin(fb))
    st["min_frac"] = float(fb[i_min] / start)
    relapse = fb[i_min] <= C["learned_frac"] * start and np.all(fb[-3:] >= C["relapse_frac"] * start)
    acc_collapse = (len(vacc) >= 5 and vacc.max() >= run["chance_acc"] + 0.25
                    and np.all(vacc[-3:] <= run["chance_acc"] + C["acc_collapse"]))
    if relapse or acc_collapse:
        return ["divergence"], [], {**st, "why": "learned, then relapsed to the start / chance"}
    total = start - float(fb[-1])
    q = n - max(2, n // 4)
    # slow convergence: moving from the start, still falling steadily at the end, far from what
    # the reference reaches in the same budget (the yellow curve: not flat first, then falling)
    slow = False
    if ref is not None and n >= 8 and total > C["slow_min_fall"] * start:
        st["slow_tail"] = float((fb[q] - fb[-1]) / total)
        st["early_share"] = float((start - fb[max(1, n // 4)]) / total)
        gap = start - ref["fb_end"]
        st["slow_far"] = float((fb[-1] - ref["fb_end"]) / gap) if gap > 0 else 0.0
        moving = st["early_share"] >= C["slow_early"]
        if st["slow_tail"] >= C["slow_tail"] and st["slow_far"] >= C["slow_far"] and moving:
            pats.append("slow_convergence")
            slow = True
        elif st["slow_tail"] >= C["slow_tail_amb"] and st["slow_far"] >= C["slow_far_amb"] and moving:
            amb.append("slow_convergence")
    # plateau: flat at the starting level from the start (within 3%), or never moved at all
    at_start = fb >= C["stall_level"] * start
    stall = int(np.argmin(at_start)) if not at_start.all() else n
    st["stall_frac"] = stall / n
    if not slow:
        if st["stall_frac"] >= C["stall_len"] or total <= C["slow_min_fall"] * start:
            pats.append("plateau")
        elif st["stall_frac"] >= C["stall_len_amb"]:
            amb.append("plateau")
    # oscillation: the full-batch loss itself jumps around in the second half
    half = fb[n // 2:]
    if len(half) >= 6 and "plateau" not in pats:
        level = max(float(np.median(half)), 0.05 * start)
        d = np.diff(half)
        st["osc_move"] = float(np.mean(np.abs(d)) / level)
        st["osc_up"] = float(np.mean(d > 0.02 * level))
        if st["osc_move"] >= C["osc_move"] and st["osc_up"] >= C["osc_up"]:
            pats.append("oscillation")
            if slow:
                pats.remove("slow_convergence")
        elif st["osc_move"] >= C["osc_move_amb"] and st["osc_up"] >= C["osc_up"] / 2:
            amb.append("oscillation")
    # overfitting: val loss passes its minimum and climbs while the training loss keeps falling
    if len(vl) >= 8:
        sm = np.convolve(vl, np.ones(3) / 3, mode="valid")
        j = int(np.argmin(sm)) + 1  # centre of the window, an index into vl (and fb[1:])
        rise = float(np.mean(vl[-3:]) / sm.min()) if sm.min() > 0 else 0.0
        st["overfit_rise"] = rise
        early = j <= len(vl) - 3
        train_fell = fb[-1] <= C["overfit_train_fall"] * fb[j + 1]
        if early and rise >= C["overfit_rise"] and train_fell:
            pats.append("overfitting")
        elif early and rise >= C["overfit_rise_amb"] and (train_fell or rise >= C["overfit_rise"]):
            amb.append("overfitting")
    if not pats and ref is not None:
        gap = start - ref["fb_end"]
        st["end_gap"] = float((fb[-1] - ref["fb_end"]) / gap) if gap > 0 else 0.0
        if st["end_gap"] > C["healthy_gap"] and "slow_convergence" not in amb:
            amb.append("unfinished")
    return pats, amb, st


def judge(run: dict, ref: dict | None, cause: str, train_only: bool) -> tuple[list[str], list[str], dict, str | None]:
    """(patterns, expected actions, statistics, why rejected or None) of one training drawn for
    `cause`: label() it, then reject near misses, overfitting a train-only log cannot show, and a
    pattern its cause cannot explain (a healthy config that oscillates), so every kept label is
    clear-cut. Shared by every corpus generator that labels by these CRITERIA."""
    pats, amb, stats = label(run, ref)
    if amb:
        return pats, [], stats, "ambiguous: " + ",".join(amb)
    if train_only and "overfitting" in pats:
        return pats, [], stats, "unobservable: overfitting in a train-only log"
    if not pats:
        return pats, [], stats, None
    primary = next(p for p in PATTERNS if p in pats)
    actions = ACTIONS[cause].get(primary)
    if not actions:
        return pats, [], stats, f"inconsistent: {primary} from cause {cause}"
    return pats, list(actions), stats, None


_REF: dict[tuple, dict] = {}


def reference(task: str, model: str, steps: int, batch: int) -> dict:
    """The task's well-tuned run for the same budget (Adam at a good LR, same batch), evaluated once
    at the end: what "done" looks like for slow convergence and unfinished healthy runs."""
    key = (task, model, steps, batch)
    if key not in _REF:
        lr = {"lstm": 3e-3, "logreg": 3e-2}.get(model, 3e-3)
        cfg = {"task": task, "model": model, "optimizer": "adam", "lr": lr, "batch_size": batch, "steps": steps,
               "eval_every": steps, "hidden": 32, "depth": 2, "activation": "relu"}
        out = train(cfg, 0, lw.Recorder(clock=lw.fake_clock()))
        _REF[key] = {"fb_end": float(out["fb"][-1]), "val_acc": float(out["val_acc"][-1]), "lr": lr}
    return _REF[key]


# ----------------------------------------------------------------------------- the sweep

USUAL_LR = {"adam": 1e-3, "adamw": 1e-3, "rmsprop": 1e-3, "sgd": 0.05, "momentum": 0.01}
MLP_TASKS = ["wine", "circles", "quantiles", "hastie", "blobs"]
LINEAR_TASKS = ["wine", "blobs"]


def _regime(rng: np.random.Generator) -> tuple[str, str, dict]:
    """(regime, cause, config) of one run."""
    kind = str(rng.choice(
        ["healthy", "adaptive_high", "sgd_small_batch_high", "deep_saturating", "momentum_blowup", "logreg_slow",
         "lstm_slow", "sgd_kill", "adamw_high", "overfit", "mlp_slow"],
        p=[0.30, 0.14, 0.10, 0.08, 0.06, 0.06, 0.04, 0.04, 0.04, 0.08, 0.06]))
    task = str(rng.choice(MLP_TASKS))
    mlp = {"model": "mlp", "task": task, "depth": int(rng.choice([1, 2, 3])), "hidden": int(rng.choice([32, 64])),
           "activation": str(rng.choice(["relu", "relu", "tanh"])), "batch_size": int(rng.choice([16, 32, 64]))}
    if kind == "healthy":
        flavour = str(rng.choice(["adam", "rmsprop", "momentum", "sgd_small", "logreg", "lstm", "deep_bn", "adamw"]))
        if flavour == "logreg":  # on the linearly separable tasks: elsewhere a linear model cannot fit at all
            return "healthy_logreg", "none", {"model": "logreg", "task": str(rng.choice(LINEAR_TASKS)), "optimizer": "sgd",
                                               "lr": float(rng.choice([0.1, 0.3])), "batch_size": 32}
        if flavour == "lstm":
            return "healthy_lstm", "none", {"model": "lstm", "task": "seq", "hidden": 24, "optimizer": "adam",
                                             "lr": float(rng.choice([3e-3, 1e-2])), "batch_size": 32}
        if flavour == "deep_bn":
            return "healthy_deep_bn", "none", {**mlp, "depth": 5, "activation": "sigmoid", "batchnorm": True,
                                                "optimizer": "adam", "lr": 1e-3}
        if flavour == "sgd_small":
            return "healthy_small_batch", "none", {**mlp, "batch_size": int(rng.choice([4, 8, 16])),
                                                    "optimizer": "sgd", "lr": float(rng.choice([0.003, 0.01]))}
        opt = "sgd" if flavour == "momentum" else flavour
        lr = float(rng.choice([0.5, 1, 2])) * USUAL_LR[flavour] * (3 if flavour != "momentum" else 1)
        cfg = {**mlp, "optimizer": opt, "lr": lr}
        if flavour == "momentum":
            cfg["momentum"] = 0.9
        return f"healthy_{flavour}", "none", cfg
    if kind == "adaptive_high":
        opt = str(rng.choice(["adam", "rmsprop"]))
        return f"{opt}_x{0}", "lr_high", {**mlp, "optimizer": opt, "lr": float(rng.choice([0.01, 0.03, 0.05, 0.1]))}
    if kind == "sgd_small_batch_high":
        return "sgd_small_batch_high", "small_batch_lr_high", {**mlp, "batch_size": int(rng.choice([4, 8, 16])),
                                                                "optimizer": "sgd", "lr": float(rng.choice([0.3, 0.5, 1.0]))}
    if kind == "deep_saturating":
        return "deep_saturating", "saturating", {
            **mlp, "depth": int(rng.choice([5, 6, 7, 8])), "activation": str(rng.choice(["sigmoid", "tanh"])),
            "init": "small", "init_scale": float(rng.choice([0.01, 0.03, 0.05])),
            "optimizer": "sgd", "momentum": float(rng.choice([0.0, 0.9])), "lr": float(rng.choice([0.01, 0.03, 0.1]))}
    if kind == "momentum_blowup":
        return "momentum_0.99_blowup", "lr_high", {**mlp, "optimizer": "sgd", "momentum": 0.99,
                                                    "lr": float(rng.choice([0.1, 0.2, 0.3]))}
    if kind == "logreg_slow":
        return "logreg_sgd_slow", "lr_low", {"model": "logreg", "task": str(rng.choice(LINEAR_TASKS)), "optimizer": "sgd",
                                              "lr": float(rng.choice([3e-4, 1e-3])), "batch_size": 32}
    if kind == "lstm_slow":
        return "lstm_adam_slow", "lr_low", {"model": "lstm", "task": "seq", "hidden": 24, "optimizer": "adam",
                                             "lr": float(rng.choice([1e-4, 1.5e-4])), "batch_size": 32}
    if kind == "mlp_slow":
        return "mlp_sgd_slow", "lr_low", {**mlp, "optimizer": "sgd", "lr": float(rng.choice([2e-3, 5e-3]))}
    if kind == "sgd_kill":
        return "sgd_lr_kill", "lr_high", {**mlp, "depth": int(rng.choice([2, 3])), "activation": "relu",
                                          "optimizer": "sgd", "momentum": 0.9, "lr": float(rng.choice([0.6, 1.0]))}
    if kind == "adamw_high":
        return "adamw_high", "lr_high", {**mlp, "depth": int(rng.choice([3, 4])), "optimizer": "adamw",
                                         "lr": float(rng.choice([3e-3, 1e-2, 3e-2])) * 3}
    return "overfit_small_data", "small_data", {
        "model": "mlp", "task": str(rng.choice(["wine", "hastie", "blobs", "quantiles"])), "depth": 3, "hidden": 128,
        "activation": "relu", "optimizer": "adam", "lr": float(rng.choice([1e-3, 3e-3])), "batch_size": 16,
        "train_size": int(rng.choice([60, 100, 150]))}


STEP_WRITERS = ["tb-torch", "tb-tbx", "hf-trainer", "wandb-legacy"]
EPOCH_WRITERS = ["keras-csv", "tb-keras", "wandb-legacy"]


def make_specs(n: int, seed: int) -> list[dict]:
    rng = np.random.default_rng(seed)
    specs = []
    for i in range(n):
        regime, cause, cfg = _regime(rng)
        regime = regime.replace("_x0", f"_lr{cfg['lr']:g}")
        n_tr = len(split(cfg["task"])[1]) if cfg["task"] != "seq" else 1125
        n_tr = min(n_tr, int(cfg.get("train_size") or n_tr))
        spe = math.ceil(n_tr / cfg["batch_size"])
        small_batch = cfg["batch_size"] <= 16
        epoch_level = not small_batch and rng.random() < 0.5
        if epoch_level:
            epochs = int(rng.integers(30, 151))
            epochs = max(30, min(epochs, 1000 // spe))
            steps = epochs * spe
            writer = str(rng.choice(EPOCH_WRITERS))
            granularity, eval_every = "epoch", None
        else:
            steps = int(rng.choice([400, 600, 800]))
            writer = str(rng.choice(STEP_WRITERS))
            granularity = "step"
            eval_every = max(spe if steps // spe >= 20 else 1, steps // int(rng.choice([20, 30, 50])))
        if cfg["model"] == "lstm":
            steps = min(steps, 500)
        cfg.update(steps=int(steps), eval_every=eval_every)
        train_only = granularity == "step" and cause != "small_data" and rng.random() < 0.3
        convention = str(rng.choice(["slash", "pytorch", "underscore", "plain"])) if writer in (
            "tb-torch", "tb-tbx", "wandb-legacy") else "slash"
        if writer in EPOCH_WRITERS and granularity == "epoch" and writer != "wandb-legacy":
            convention = "keras"
        options: dict[str, Any] = {}
        if writer == "hf-trainer":
            options = {"logging_steps": int(rng.choice([1, 5, 10]))}
        elif writer == "tb-keras":
            options = {"tf2": bool(rng.random() < 0.6)}
        specs.append({"id": f"{i:04d}-{cfg['task']}-{regime}", "config": cfg, "cause": cause, "regime": regime,
                      "seed": int(rng.integers(0, 1000)), "writer": writer, "granularity": granularity,
                      "convention": convention, "options": options, "train_only": train_only})
    return specs


HPARAM_KEYS = ("lr", "optimizer", "momentum", "batch_size", "weight_decay", "activation", "depth", "hidden",
               "init", "init_scale", "batchnorm", "model")


def run_spec(args: tuple[dict, str]) -> tuple[str, dict | None, str | None]:
    spec, out = args
    root = Path(out)
    run_dir = root / "runs" / spec["id"]
    cfg = spec["config"]
    t0 = time.time()
    try:
        rec = lw.Recorder(clock=lw.fake_clock(1_764_000_000.0 + 3600 * spec["seed"], 0.01))
        run = train(cfg, spec["seed"], rec)
        ref = reference(cfg["task"], cfg["model"], cfg["steps"], cfg["batch_size"])
        pats, actions, stats, why = judge(run, ref, spec["cause"], spec["train_only"])
        if why:
            return spec["id"], None, why
        hp = {k: cfg[k] for k in HPARAM_KEYS if k in cfg}
        if hp.get("optimizer") == "sgd" and cfg.get("momentum"):
            hp["momentum"] = cfg["momentum"]
        hp["epochs" if spec["granularity"] == "epoch" else "max_steps"] = (
            cfg["steps"] // rec.meta["steps_per_epoch"] if spec["granularity"] == "epoch" else cfg["steps"])
        rec.meta.update(config=hp, name=spec["id"], seed=spec["seed"])
        if spec["train_only"]:
            for tag in ("val/loss", "val/acc", "train/acc", "train/loss_avg"):
                rec.points.pop(tag, None)
        entry = write_run(rec, spec["writer"], run_dir, root, spec["convention"], spec["granularity"], spec["options"])
    except Exception as exc:  # a broken spec is reported, not fatal for the sweep
        shutil.rmtree(run_dir, ignore_errors=True)
        return spec["id"], None, f"error: {type(exc).__name__}: {exc}"
    entry.update(patterns=sorted(pats), healthy=not pats, expected_actions=actions, cause=spec["cause"],
                 regime=spec["regime"], config=_round(dict(cfg)), seed=spec["seed"], granularity=spec["granularity"],
                 convention=spec["convention"], train_only=spec["train_only"], stats=_round(stats),
                 reference=_round(ref), train_s=round(time.time() - t0, 2))
    return spec["id"], entry, None


def write_truth(out: Path, generator: str, runs: dict[str, dict], rejected: dict[str, str], seconds: float,
                **extra: Any) -> dict:
    """Write OUT/truth.json (schema advisor.corpus/1) and return its summary counts."""
    counts = Counter(p for e in runs.values() for p in e["patterns"])
    counts["healthy"] = sum(e["healthy"] for e in runs.values())
    summary = {
        "runs": len(runs), "rejected": len(rejected), "patterns": dict(sorted(counts.items())),
        "regimes": dict(sorted(Counter(e["regime"].split("_lr")[0] for e in runs.values()).items())),
        "writers": dict(sorted(Counter(e["writer"] for e in runs.values()).items())),
        "train_only": sum(e["train_only"] for e in runs.values()),
        "epoch_level": sum(e["granularity"] == "epoch" for e in runs.values()),
        "rejected_why": dict(sorted(Counter(w.split(":")[0] for w in rejected.values()).items())),
        "seconds": seconds, **extra,
    }
    truth = {"schema": SCHEMA, "generator": generator, "criteria": CRITERIA, "counts": summary,
             "runs": {k: runs[k] for k in sorted(runs)}, "rejected": {k: rejected[k] for k in sorted(rejected)}}
    (out / "truth.json").write_text(json.dumps(truth, indent=1) + "\n")
    return summary


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("out", nargs="?", type=Path, default=DEFAULT_OUT)
    ap.add_argument("--runs", type=int, default=240)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--jobs", type=int, default=2)
    args = ap.parse_args(argv)
    out: Path = args.out
    runs, rejected, seconds = sweep(run_spec, make_specs(args.runs, args.seed), out, args.jobs)
    summary = write_truth(out, "bench/make_corpus_oos.py", runs, rejected, seconds, jobs=args.jobs, seed=args.seed)
    print(json.dumps(summary, indent=1), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
