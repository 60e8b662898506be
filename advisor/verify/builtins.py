"""Built-in reference trials: small, real torch trainings on data that ships with scikit-learn.

Why these exist: every detector in advisor is tuned and tested on curves, and curves drawn by
hand lie in convenient ways (clean noise, tidy onsets). These tasks really train, in seconds on
one CPU core, and reproduce the experiments of the seed articles:

- LR ladder (seed 000, Ng's x3 rule): `lr` far too high -> divergence / NaN; moderately too high
  -> loss bounces around the trend and does not settle; too low -> still falling at the end.
- Batch size vs LR (seed 002): the same LR at batch 16 and 128; the LR range test (Smith 2015)
  is `lr_range_test`.
- Saddle plateau then breakout (seed 002, 004): deep sigmoid/tanh net with small init.
- Overfitting (seed 003): `train_size` small, no regularisation -> val loss passes its minimum and
  rises while train keeps falling.
- Unshuffled class-sorted data (seed 003 "数据集未打乱"): `sort_by_class` -> loss jumps at epoch
  boundaries.
- MSE vs cross-entropy for classification, input normalisation, BatchNorm allowing larger LR,
  warmup, momentum (seeds 000, 004).

The API is stable (the verifier calls it): `TASKS`, `DEFAULTS`, `train(config, steps, seed, log,
device)` and `lr_range_test(config, seed, log, ...)`. `log(tag, step, value)` receives every
logged point; tags are `train/loss` (minibatch loss, every `log_every` steps), `train/loss_avg`
(mean minibatch loss since the last evaluation, i.e. what Keras reports per epoch), `val/loss`,
`val/acc`, `train/acc` (every `eval_every` steps), `lr`, `grad_norm`.

Step convention: the minibatch loss computed *before* update k (k = 0, 1, ...) is logged at step
k; an evaluation made after n updates is logged at step n. A non-finite loss is logged as such,
then training stops and the result says `diverged=True`.

Determinism: a run is a pure function of (config, steps, seed) on CPU: parameter init, dropout,
shuffling, subset choice and label noise all draw from generators seeded by `seed`; the data
split itself is fixed (seed 0), so runs with different seeds share one validation set and their
numbers are comparable. `train` sets torch's intra-op threads to `threads` (default 1) for the
duration of the call and restores it afterwards.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

LogFn = Callable[[str, int, float], None]


# ----------------------------------------------------------------------------- data


@dataclass(frozen=True)
class TaskSpec:
    """A small classification task: how to load its data and which model family trains on it."""

    name: str
    model: str  # "mlp" | "cnn"
    loader: Callable[[], tuple[np.ndarray, np.ndarray]]
    n_classes: int
    val_fraction: float
    description: str
    image_shape: tuple[int, int] | None = None  # for "cnn": (H, W), one channel


def _load_digits():
    from sklearn.datasets import load_digits

    d = load_digits()
    return d.data.astype(np.float32), d.target.astype(np.int64)


def _load_cancer():
    from sklearn.datasets import load_breast_cancer

    d = load_breast_cancer()
    return d.data.astype(np.float32), d.target.astype(np.int64)


def _load_moons():
    from sklearn.datasets import make_moons

    x, y = make_moons(n_samples=1200, noise=0.3, random_state=0)
    return x.astype(np.float32), y.astype(np.int64)


def _load_synth():
    from sklearn.datasets import make_classification

    x, y = make_classification(
        n_samples=3000, n_features=20, n_informative=10, n_redundant=4, n_classes=4,
        n_clusters_per_class=2, flip_y=0.02, class_sep=1.0, random_state=0,
    )
    return x.astype(np.float32), y.astype(np.int64)


TASKS: dict[str, TaskSpec] = {
    "digits-mlp": TaskSpec("digits-mlp", "mlp", _load_digits, 10, 0.2,
                           "8x8 handwritten digits (1797), MLP"),
    "digits-cnn": TaskSpec("digits-cnn", "cnn", _load_digits, 10, 0.2,
                           "8x8 handwritten digits (1797), two conv layers + MLP head", (8, 8)),
    "moons-mlp": TaskSpec("moons-mlp", "mlp", _load_moons, 2, 0.25,
                          "two interleaved half-moons (1200, noise 0.3), MLP"),
    "cancer-mlp": TaskSpec("cancer-mlp", "mlp", _load_cancer, 2, 0.25,
                           "Wisconsin breast cancer (569, 30 raw features of very different scales), MLP"),
    "synth-mlp": TaskSpec("synth-mlp", "mlp", _load_synth, 4, 0.2,
                          "make_classification (3000, 20 features, 4 classes), MLP"),
}

_COMMON: dict[str, Any] = {
    "optimizer": "sgd", "momentum": 0.9, "weight_decay": 0.0, "dropout": 0.0, "batchnorm": False,
    "hidden": 64, "depth": 2, "activation": "relu", "init": "default", "init_scale": 0.01,
    "loss": "ce", "shuffle": True, "sort_by_class": False, "train_size": None, "label_noise": 0.0,
    "normalize_inputs": True, "lr_schedule": "none", "step_size": None, "gamma": 0.5,
    "milestones": None, "eta_min": 0.0, "plateau_factor": 0.5, "plateau_patience": 3,
    "warmup_steps": 0, "grad_clip": None, "eval_every": None, "log_every": 1, "channels": 8,
    "threads": 1, "explode_at": 1e6,
}

# Healthy configs: each converges within a few hundred steps and its val loss does not turn up
# by 1000 steps (weight decay was tuned for that: without it every task overfits its small
# training set; checked by the tests and by the fixtures' objective criteria).
DEFAULTS: dict[str, dict[str, Any]] = {
    "digits-mlp": {**_COMMON, "task": "digits-mlp", "lr": 0.05, "batch_size": 64, "optimizer": "momentum",
                   "weight_decay": 1e-3},
    "digits-cnn": {**_COMMON, "task": "digits-cnn", "lr": 0.05, "batch_size": 64, "optimizer": "momentum",
                   "hidden": 64, "depth": 1, "weight_decay": 1e-3},
    "moons-mlp": {**_COMMON, "task": "moons-mlp", "lr": 0.05, "batch_size": 32, "optimizer": "momentum",
                  "hidden": 32, "weight_decay": 1e-3},
    "cancer-mlp": {**_COMMON, "task": "cancer-mlp", "lr": 0.003, "batch_size": 32, "optimizer": "momentum",
                   "hidden": 16, "weight_decay": 3e-3},
    "synth-mlp": {**_COMMON, "task": "synth-mlp", "lr": 0.05, "batch_size": 64, "optimizer": "momentum",
                  "weight_decay": 3e-3},
}

_DATA_CACHE: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = {}


def _split(task: TaskSpec):
    """The fixed train/val split of a task (seed 0, stratified), cached per process."""
    if task.name not in _DATA_CACHE:
        x, y = task.loader()
        rng = np.random.RandomState(0)
        val_idx, train_idx = [], []
        for c in np.unique(y):
            idx = np.flatnonzero(y == c)
            rng.shuffle(idx)
            n_val = int(round(len(idx) * task.val_fraction))
            val_idx.append(idx[:n_val])
            train_idx.append(idx[n_val:])
        tr = np.concatenate(train_idx)
        va = np.concatenate(val_idx)
        rng.shuffle(tr)
        rng.shuffle(va)
        _DATA_CACHE[task.name] = (x[tr], y[tr], x[va], y[va])
    return _DATA_CACHE[task.name]


def resolve_config(config: dict) -> dict:
    """The full config a trial runs with: DEFAULTS[task] overlaid by `config`.

    Unknown keys are an error, so a typo in a recommendation's `change` cannot silently run the
    baseline again.
    """
    task = config.get("task", "digits-mlp")
    if task not in TASKS:
        raise ValueError(f"unknown task {task!r}; known: {', '.join(TASKS)}")
    cfg = dict(DEFAULTS[task])
    unknown = set(config) - set(cfg)
    if unknown:
        raise ValueError(f"unknown config keys: {', '.join(sorted(unknown))}")
    cfg.update(config)
    cfg["task"] = task
    if cfg["optimizer"] not in ("sgd", "momentum", "adam"):
        raise ValueError(f"optimizer must be sgd|momentum|adam, not {cfg['optimizer']!r}")
    if cfg["activation"] not in ("relu", "tanh", "sigmoid"):
        raise ValueError(f"activation must be relu|tanh|sigmoid, not {cfg['activation']!r}")
    if cfg["init"] not in ("default", "small", "kaiming", "xavier"):
        raise ValueError(f"init must be default|small|kaiming|xavier, not {cfg['init']!r}")
    if cfg["loss"] not in ("ce", "mse"):
        raise ValueError(f"loss must be ce|mse, not {cfg['loss']!r}")
    if cfg["lr_schedule"] not in ("none", "step", "multistep", "exp", "cosine", "plateau"):
        raise ValueError(f"unknown lr_schedule {cfg['lr_schedule']!r}")
    return cfg


def task_data(cfg: dict, seed: int):
    """Training and validation arrays for a resolved config (subset, label noise, scaling)."""
    task = TASKS[cfg["task"]]
    x_tr, y_tr, x_va, y_va = _split(task)
    rng = np.random.RandomState(seed + 7919)
    # scaling statistics come from the whole training split: they are dataset preprocessing, and a
    # tiny subset would give pixels that are always 0 in it a ~0 std and blow up validation inputs
    mu = x_tr.mean(0, keepdims=True)
    sd = x_tr.std(0, keepdims=True)
    sd = np.where(sd < 1e-3, 1.0, sd)
    if cfg["train_size"]:
        n = int(cfg["train_size"])
        if n < len(y_tr):
            x_tr, y_tr = x_tr[:n], y_tr[:n]  # the split is already shuffled: a fixed subset
    y_tr = y_tr.copy()
    if cfg["label_noise"]:
        flip = rng.rand(len(y_tr)) < float(cfg["label_noise"])
        y_tr[flip] = rng.randint(0, task.n_classes, size=int(flip.sum()))
    if cfg["normalize_inputs"]:
        x_tr = (x_tr - mu) / sd
        x_va = (x_va - mu) / sd
    return x_tr.astype(np.float32), y_tr, x_va.astype(np.float32), y_va


# ----------------------------------------------------------------------------- model


def build_model(cfg: dict, n_features: int):
    """MLP or small CNN as the config says (depth, width, activation, BN, dropout, init)."""
    from torch import nn

    task = TASKS[cfg["task"]]
    act = {"relu": nn.ReLU, "tanh": nn.Tanh, "sigmoid": nn.Sigmoid}[cfg["activation"]]
    layers: list[nn.Module] = []
    if task.model == "cnn":
        h, w = task.image_shape
        c = int(cfg["channels"])
        layers += [nn.Unflatten(1, (1, h, w)), nn.Conv2d(1, c, 3, padding=1)]
        if cfg["batchnorm"]:
            layers.append(nn.BatchNorm2d(c))
        layers += [act(), nn.Conv2d(c, 2 * c, 3, padding=1)]
        if cfg["batchnorm"]:
            layers.append(nn.BatchNorm2d(2 * c))
        layers += [act(), nn.MaxPool2d(2), nn.Flatten()]
        width = 2 * c * (h // 2) * (w // 2)
    else:
        width = n_features
    for _ in range(int(cfg["depth"])):
        layers.append(nn.Linear(width, int(cfg["hidden"])))
        if cfg["batchnorm"]:
            layers.append(nn.BatchNorm1d(int(cfg["hidden"])))
        layers.append(act())
        if cfg["dropout"]:
            layers.append(nn.Dropout(float(cfg["dropout"])))
        width = int(cfg["hidden"])
    layers.append(nn.Linear(width, task.n_classes))
    model = nn.Sequential(*layers)
    if cfg["init"] != "default":
        for m in model.modules():
            if isinstance(m, (nn.Linear, nn.Conv2d)):
                if cfg["init"] == "small":
                    nn.init.normal_(m.weight, 0.0, float(cfg["init_scale"]))
                elif cfg["init"] == "kaiming":
                    nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
                else:
                    nn.init.xavier_normal_(m.weight)
                nn.init.zeros_(m.bias)
    return model


def _loss_fn(cfg: dict, n_classes: int):
    import torch
    import torch.nn.functional as F

    if cfg["loss"] == "ce":
        return lambda logits, y: F.cross_entropy(logits, y)

    def mse(logits, y):
        # MSE on softmax probabilities against one-hot targets: the "wrong loss for
        # classification" of seed 004; its gradients vanish when the softmax saturates.
        return F.mse_loss(torch.softmax(logits, 1), F.one_hot(y, n_classes).to(logits.dtype))

    return mse


def _make_optimizer(cfg: dict, params, lr: float):
    import torch

    wd = float(cfg["weight_decay"])
    if cfg["optimizer"] == "adam":
        return torch.optim.Adam(params, lr=lr, weight_decay=wd)
    mom = float(cfg["momentum"]) if cfg["optimizer"] == "momentum" else 0.0
    return torch.optim.SGD(params, lr=lr, momentum=mom, weight_decay=wd)


class _LRPolicy:
    """The LR of each step: base x warmup x schedule. Computed here (not torch schedulers) so the
    logged `lr` is exactly what was used and step-level schedules need no epoch bookkeeping."""

    def __init__(self, cfg: dict, steps: int, steps_per_epoch: int):
        self.cfg = cfg
        self.base = float(cfg["lr"])
        self.steps = max(1, steps)
        self.step_size = int(cfg["step_size"] or max(1, steps // 3))
        self.milestones = sorted(int(m) for m in (cfg["milestones"] or [steps // 2, (3 * steps) // 4]))
        self.gamma = float(cfg["gamma"])
        self.plateau_mult = 1.0
        self.best = math.inf
        self.bad = 0

    def lr(self, k: int) -> float:
        c = self.cfg
        s = c["lr_schedule"]
        if s == "step":
            mult = self.gamma ** (k // self.step_size)
        elif s == "multistep":
            mult = self.gamma ** sum(k >= m for m in self.milestones)
        elif s == "exp":
            # gamma per step_size steps, applied smoothly per step
            mult = self.gamma ** (k / self.step_size)
        elif s == "cosine":
            eta_min = float(c["eta_min"])
            return self._warm(k, eta_min + (self.base - eta_min) * 0.5 * (1 + math.cos(math.pi * k / self.steps)))
        elif s == "plateau":
            mult = self.plateau_mult
        else:
            mult = 1.0
        return self._warm(k, self.base * mult)

    def _warm(self, k: int, lr: float) -> float:
        w = int(self.cfg["warmup_steps"] or 0)
        if w > 0 and k < w:
            return lr * (k + 1) / w
        return lr

    def on_eval(self, val_loss: float) -> None:
        if self.cfg["lr_schedule"] != "plateau":
            return
        if val_loss < self.best * (1 - 1e-4):
            self.best = val_loss
            self.bad = 0
        else:
            self.bad += 1
            if self.bad > int(self.cfg["plateau_patience"]):
                self.plateau_mult *= float(self.cfg["plateau_factor"])
                self.bad = 0


# ----------------------------------------------------------------------------- training


def _epoch_orders(cfg: dict, y: np.ndarray, seed: int):
    """Yields the sample order of each epoch: class-sorted, shuffled or fixed."""
    import torch

    n = len(y)
    if cfg["sort_by_class"]:
        order = np.argsort(y, kind="stable")
        while True:
            yield order
    if not cfg["shuffle"]:
        order = np.arange(n)
        while True:
            yield order
    g = torch.Generator().manual_seed(seed + 104729)
    while True:
        yield torch.randperm(n, generator=g).numpy()


def _evaluate(model, loss_fn, x, y):
    import torch

    model.eval()
    with torch.no_grad():
        logits = model(x)
        loss = float(loss_fn(logits, y))
        acc = float((logits.argmax(1) == y).float().mean())
    model.train()
    return loss, acc


def train(config: dict, steps: int, seed: int, log: LogFn, device: str = "cpu") -> dict:
    """Really trains `steps` minibatch updates of the configured task and logs every point.

    A minibatch loss that is NaN/inf, or above `explode_at` (default 1e6; None turns the guard
    off and lets the run go on until the loss really is NaN/inf), is logged, then training stops
    with `diverged=True`.

    Returns the final metrics: `train_loss`, `train_acc` (full training set, eval mode),
    `val_loss`, `val_acc`, `diverged`, `wall_s`, plus `steps_done`, `steps_per_epoch`,
    `n_train`, `best_val_loss`, `best_val_step` and the resolved `config` (what writers put in
    their hparams files).
    """
    import torch

    cfg = resolve_config(config)
    t0 = time.perf_counter()
    old_threads = torch.get_num_threads()
    if cfg["threads"]:
        torch.set_num_threads(int(cfg["threads"]))
    try:
        return _train(cfg, int(steps), int(seed), log, device, t0)
    finally:
        torch.set_num_threads(old_threads)


def _train(cfg: dict, steps: int, seed: int, log: LogFn, device: str, t0: float) -> dict:
    import torch

    task = TASKS[cfg["task"]]
    x_tr, y_tr, x_va, y_va = task_data(cfg, seed)
    n = len(y_tr)
    bs = int(cfg["batch_size"])
    steps_per_epoch = math.ceil(n / bs)
    eval_every = int(cfg["eval_every"] or steps_per_epoch)
    log_every = max(1, int(cfg["log_every"] or 1))

    torch.manual_seed(seed)
    model = build_model(cfg, x_tr.shape[1]).to(device)
    loss_fn = _loss_fn(cfg, task.n_classes)
    policy = _LRPolicy(cfg, steps, steps_per_epoch)
    opt = _make_optimizer(cfg, model.parameters(), policy.lr(0))
    X = torch.from_numpy(x_tr).to(device)
    Y = torch.from_numpy(y_tr).to(device)
    XV = torch.from_numpy(x_va).to(device)
    YV = torch.from_numpy(y_va).to(device)
    clip = float(cfg["grad_clip"]) if cfg["grad_clip"] else None
    explode_at = float(cfg["explode_at"]) if cfg["explode_at"] else math.inf

    orders = _epoch_orders(cfg, y_tr, seed)
    order = next(orders)
    pos = 0
    diverged = False
    window: list[float] = []
    best_val, best_step = math.inf, None
    last = {"train_loss": math.nan, "train_acc": math.nan, "val_loss": math.nan, "val_acc": math.nan}
    k = 0
    model.train()

    def evaluate(at: int) -> None:
        nonlocal best_val, best_step
        vl, va = _evaluate(model, loss_fn, XV, YV)
        tl, ta = _evaluate(model, loss_fn, X, Y)
        if window:
            log("train/loss_avg", at, float(np.mean(window)))
            window.clear()
        log("val/loss", at, vl)
        log("val/acc", at, va)
        log("train/acc", at, ta)
        last.update(train_loss=tl, train_acc=ta, val_loss=vl, val_acc=va)
        if math.isfinite(vl) and vl < best_val:
            best_val, best_step = vl, at
        policy.on_eval(vl)

    for k in range(steps):
        if pos >= n:
            order = next(orders)
            pos = 0
        idx = torch.from_numpy(np.ascontiguousarray(order[pos:pos + bs])).to(device)
        pos += bs
        lr = policy.lr(k)
        for group in opt.param_groups:
            group["lr"] = lr
        logits = model(X[idx])
        loss = loss_fn(logits, Y[idx])
        lv = float(loss.detach())
        if not math.isfinite(lv) or lv > explode_at:
            log("train/loss", k, lv)
            log("lr", k, lr)
            diverged = True
            last.update(train_loss=lv, val_loss=math.nan, val_acc=math.nan, train_acc=math.nan)
            break
        opt.zero_grad(set_to_none=True)
        loss.backward()
        if clip is not None:
            gn = float(torch.nn.utils.clip_grad_norm_(model.parameters(), clip))
        else:
            gn = float(torch.sqrt(sum((p.grad.detach() ** 2).sum() for p in model.parameters()
                                      if p.grad is not None)))
        opt.step()
        window.append(lv)
        if k % log_every == 0:
            log("train/loss", k, lv)
            log("lr", k, lr)
            log("grad_norm", k, gn)
        if (k + 1) % eval_every == 0 or k + 1 == steps:
            evaluate(k + 1)
    else:
        k = steps

    return {
        "train_loss": last["train_loss"],
        "train_acc": last["train_acc"],
        "val_loss": last["val_loss"],
        "val_acc": last["val_acc"],
        "diverged": diverged,
        "wall_s": time.perf_counter() - t0,
        "steps_done": k,
        "steps_per_epoch": steps_per_epoch,
        "eval_every": eval_every,
        "n_train": n,
        "best_val_loss": best_val if best_step is not None else math.nan,
        "best_val_step": best_step,
        "config": cfg,
    }


def lr_range_test(config: dict, seed: int, log: LogFn, start_lr: float = 1e-5, end_lr: float = 10.0,
                  steps: int = 200, device: str = "cpu", stop_factor: float = 4.0,
                  smooth: float = 0.98) -> dict:
    """Smith's LR range test (seed 002, fastai's lr_find): one short training whose LR rises
    geometrically from `start_lr` to `end_lr`, logging `train/loss`, `lr_find/smoothed_loss` and
    `lr` per step. Stops once the smoothed loss exceeds `stop_factor` x its best, or is not finite.

    Returns `lrs`, `losses`, `smoothed`, `suggested_lr` (steepest fall of the smoothed loss, the
    usual pick), `min_loss_lr` and `diverged_lr` (None when it never blew up).
    """
    import torch

    cfg = resolve_config(config)
    old_threads = torch.get_num_threads()
    if cfg["threads"]:
        torch.set_num_threads(int(cfg["threads"]))
    try:
        task = TASKS[cfg["task"]]
        x_tr, y_tr, _, _ = task_data(cfg, seed)
        n, bs = len(y_tr), int(cfg["batch_size"])
        torch.manual_seed(seed)
        model = build_model(cfg, x_tr.shape[1]).to(device)
        model.train()
        loss_fn = _loss_fn(cfg, task.n_classes)
        opt = _make_optimizer(cfg, model.parameters(), start_lr)
        X = torch.from_numpy(x_tr).to(device)
        Y = torch.from_numpy(y_tr).to(device)
        orders = _epoch_orders(cfg, y_tr, seed)
        order, pos = next(orders), 0
        ratio = (end_lr / start_lr) ** (1.0 / max(1, steps - 1))
        lrs, losses, smoothed = [], [], []
        avg, best, diverged_lr = 0.0, math.inf, None
        for k in range(steps):
            if pos >= n:
                order, pos = next(orders), 0
            idx = torch.from_numpy(np.ascontiguousarray(order[pos:pos + bs])).to(device)
            pos += bs
            lr = start_lr * ratio ** k
            for group in opt.param_groups:
                group["lr"] = lr
            loss = loss_fn(model(X[idx]), Y[idx])
            lv = float(loss.detach())
            log("lr", k, lr)
            log("train/loss", k, lv)
            lrs.append(lr)
            losses.append(lv)
            if not math.isfinite(lv):
                diverged_lr = lr
                smoothed.append(lv)
                log("lr_find/smoothed_loss", k, lv)
                break
            avg = smooth * avg + (1 - smooth) * lv
            s = avg / (1 - smooth ** (k + 1))
            smoothed.append(s)
            log("lr_find/smoothed_loss", k, s)
            best = min(best, s)
            if s > stop_factor * best:
                diverged_lr = lr
                break
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
    finally:
        torch.set_num_threads(old_threads)
    sm = np.asarray(smoothed, float)
    finite = np.isfinite(sm)
    suggested = min_lr = None
    if finite.sum() >= 3:
        li = np.log10(np.asarray(lrs, float))
        idx = np.flatnonzero(finite)
        i_min = idx[np.argmin(sm[idx])]
        min_lr = lrs[i_min]
        # steepest descent before the minimum, on the smoothed curve (skip the first 10% warm-in)
        lo = max(1, len(sm) // 10)
        grads = np.gradient(sm[: i_min + 1], li[: i_min + 1]) if i_min >= 2 else None
        if grads is not None and len(grads) > lo:
            suggested = lrs[lo + int(np.argmin(grads[lo:]))]
        else:
            suggested = min_lr / 10
    return {"lrs": lrs, "losses": losses, "smoothed": smoothed, "suggested_lr": suggested,
            "min_loss_lr": min_lr, "diverged_lr": diverged_lr}


# the in-memory `log` callable lives with the writers that consume it; re-exported for callers
# that only need a trial: `rec = Recorder(); train(cfg, 300, 0, rec)`.
from advisor.verify.logwriters import Recorder  # noqa: E402

__all__ = ["TASKS", "DEFAULTS", "TaskSpec", "train", "lr_range_test", "resolve_config", "task_data",
           "build_model", "Recorder"]
