"""Write what a trial logged in the formats (and tag conventions) real training code produces.

Why: advisor is scored on "labelled runs from real trainings, many formats and tag conventions".
The built-in trials (advisor.verify.builtins) log canonical tags into a `Recorder`; these writers
turn one recording into a TensorBoard event file (torch or tensorboardX writer, legacy
simple_value or TF2 tensor scalars), a Keras train/+validation/ pair, a Lightning CSVLogger
folder, a Keras CSVLogger file, a fastai history.csv, a Keras History JSON, an HF
trainer_state.json, a legacy W&B run folder, an MLflow file store and generic wide/long CSVs --
so fixtures and the tuning corpus exercise every ingester and the role mapper with curves whose
truth is known. Each writer follows the layout documented in /work/shared/FORMATS.md.

Canonical tags (as `builtins.train` logs them): `train/loss` (per step), `train/loss_avg` (mean
minibatch loss per evaluation window, what Keras calls the epoch loss), `val/loss`, `val/acc`,
`train/acc`, `lr`, `grad_norm`. A `convention` renames them (CONVENTIONS); a `granularity` of
"epoch" keeps one point per evaluation, numbered by epoch, like Keras and fastai logs.

Only writers needing torch/tensorboardX import them, lazily.
"""
from __future__ import annotations

import csv
import hashlib
import json
import math
import os
import struct
import time
from pathlib import Path
from typing import Any, Callable, Iterable

import numpy as np

CANONICAL = ("train/loss", "train/loss_avg", "val/loss", "val/acc", "train/acc", "lr", "grad_norm")

# How each writer names the optimizer a config trained with. A log that names another optimizer
# than the one that trained lies to every reader (advisor judges an LR against its optimizer's
# usual range): AdamW at 0.009 written as HF's `optim: sgd` reads as a low SGD LR.
# HF TrainingArguments.optim (OptimizerNames; HF has no plain Adam: `adamw_torch` is its default)
HF_OPTIM = {"adam": "adamw_torch", "adamw": "adamw_torch", "sgd": "sgd", "momentum": "sgd", "rmsprop": "rmsprop",
            "adagrad": "adagrad"}
# Lightning's LearningRateMonitor names its column `lr-<optimizer class>`
TORCH_OPTIMIZER_CLASS = {"adam": "Adam", "adamw": "AdamW", "sgd": "SGD", "momentum": "SGD", "rmsprop": "RMSprop",
                         "adagrad": "Adagrad", "adamax": "Adamax", "nadam": "NAdam", "adadelta": "Adadelta"}

# canonical tag -> name in the log (None: not written). "train_loss" is the name of the train loss
# whichever of train/loss (step level) or train/loss_avg (epoch level) feeds it.
CONVENTIONS: dict[str, dict[str, str | None]] = {
    # torch SummaryWriter users, HF-ish "split/metric"
    "slash": {"train_loss": "train/loss", "val/loss": "val/loss", "val/acc": "val/acc",
              "train/acc": "train/acc", "lr": "lr", "grad_norm": "grad_norm"},
    # PyTorch tutorial style "Metric/split"
    "pytorch": {"train_loss": "Loss/train", "val/loss": "Loss/val", "val/acc": "Accuracy/val",
                "train/acc": "Accuracy/train", "lr": "Learning_rate", "grad_norm": "Gradients/norm"},
    # Keras History / CSVLogger keys
    "keras": {"train_loss": "loss", "val/loss": "val_loss", "val/acc": "val_accuracy",
              "train/acc": "accuracy", "lr": "lr", "grad_norm": None},
    # fastai / hand-written loops
    "underscore": {"train_loss": "train_loss", "val/loss": "valid_loss", "val/acc": "valid_acc",
                   "train/acc": "train_acc", "lr": "learning_rate", "grad_norm": "grad_norm"},
    # HF Trainer TensorBoardCallback rewrite
    "hf": {"train_loss": "train/loss", "val/loss": "eval/loss", "val/acc": "eval/accuracy",
           "train/acc": None, "lr": "train/learning_rate", "grad_norm": "train/grad_norm"},
    # Lightning self.log names
    "lightning": {"train_loss": "train_loss_step", "val/loss": "val_loss", "val/acc": "val_acc",
                  "train/acc": "train_acc_epoch", "lr": "lr-SGD", "grad_norm": None},  # lr: see select
    # short names
    "plain": {"train_loss": "loss", "val/loss": "val_loss", "val/acc": "val_acc",
              "train/acc": "acc", "lr": "lr", "grad_norm": "grad_norm"},
    # long names
    "verbose": {"train_loss": "training_loss", "val/loss": "validation_loss",
                "val/acc": "validation_accuracy", "train/acc": "training_accuracy",
                "lr": "learning_rate", "grad_norm": "gradient_norm"},
    # the loss named by what it computes (torchmetrics / hand-written loops)
    "crossentropy": {"train_loss": "train/cross_entropy", "val/loss": "val/cross_entropy",
                     "val/acc": "val/accuracy", "train/acc": "train/accuracy", "lr": "optimizer/lr",
                     "grad_norm": "grad_norm"},
    # grouped by metric, one child per split (`add_scalar("losses/train", ...)`)
    "grouped": {"train_loss": "losses/train", "val/loss": "losses/val", "val/acc": "accuracy/val",
                "train/acc": "accuracy/train", "lr": "lr/group_0", "grad_norm": "gradients/norm"},
}


class Recorder:
    """A `log(tag, step, value)` callable that keeps every point: {tag: [(step, value, wall)]}.

    `clock` gives the wall time of each point; pass a deterministic one (see `fake_clock`) when
    the written files must be byte-reproducible. `meta` carries what writers need besides the
    points: `steps_per_epoch`, `eval_every`, `config`, `name` (train()'s result is a good meta).
    """

    def __init__(self, clock: Callable[[], float] | None = None, meta: dict | None = None) -> None:
        self.points: dict[str, list[tuple[int, float, float]]] = {}
        self.clock = clock or time.time
        self.meta: dict[str, Any] = dict(meta or {})

    def __call__(self, tag: str, step: int, value: float) -> None:
        self.points.setdefault(tag, []).append((int(step), float(value), float(self.clock())))

    def series(self, tag: str) -> tuple[np.ndarray, np.ndarray]:
        pts = self.points.get(tag, [])
        return (np.array([p[0] for p in pts], dtype=np.int64), np.array([p[1] for p in pts], dtype=float))

    def walls(self, tag: str) -> np.ndarray:
        return np.array([p[2] for p in self.points.get(tag, [])], dtype=float)

    def tags(self) -> list[str]:
        return list(self.points)

    def to_dict(self) -> dict:
        return {"meta": _jsonable(self.meta), "points": self.points}


def fake_clock(start: float = 1_763_900_000.0, dt: float = 0.01) -> Callable[[], float]:
    """A deterministic wall clock: start, start+dt, ... (one tick per logged point)."""
    state = {"t": start - dt}

    def tick() -> float:
        state["t"] += dt
        return round(state["t"], 6)

    return tick


def _jsonable(obj):
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, (np.floating,)):
        return float(obj)
    return obj


# ----------------------------------------------------------------------------- selection


def select(rec: Recorder, convention: str = "slash", granularity: str = "step",
           epoch_base: int = 0) -> dict[str, list[tuple[int, float, float]]]:
    """The points to write: {name: [(x, value, wall)]} under a convention and granularity.

    step granularity: train loss from `train/loss` at optimizer steps, eval tags at their steps.
    epoch granularity: one point per evaluation, x = evaluation index + `epoch_base`; train loss
    from `train/loss_avg`; lr sampled at the evaluation; grad_norm dropped. A run that diverged
    after its last evaluation gets one more epoch whose train loss is the blown-up value (NaN,
    inf, or the huge finite loss that stopped it), as Keras reports `loss: nan` for the epoch
    that blew up.
    """
    names = CONVENTIONS[convention]
    if convention == "lightning":  # LearningRateMonitor's `lr-<optimizer class>`
        names = {**names, "lr": lightning_lr_name(_config(rec).get("optimizer", "sgd"))}
    out: dict[str, list[tuple[int, float, float]]] = {}
    if granularity == "step":
        src = {"train_loss": "train/loss", "val/loss": "val/loss", "val/acc": "val/acc",
               "train/acc": "train/acc", "lr": "lr", "grad_norm": "grad_norm"}
        for role, tag in src.items():
            name = names.get(role)
            if name and rec.points.get(tag):
                out[name] = list(rec.points[tag])
        return out
    if granularity != "epoch":
        raise ValueError(f"granularity must be step|epoch, not {granularity!r}")
    evals = [p[0] for p in rec.points.get("val/loss", [])] or [p[0] for p in rec.points.get("train/loss_avg", [])]
    index = {s: i + epoch_base for i, s in enumerate(evals)}
    for role, tag in (("train_loss", "train/loss_avg"), ("val/loss", "val/loss"), ("val/acc", "val/acc"),
                      ("train/acc", "train/acc")):
        name = names.get(role)
        if name and rec.points.get(tag):
            out[name] = [(index[s], v, w) for s, v, w in rec.points[tag] if s in index]
    lr_name = names.get("lr")
    if lr_name and rec.points.get("lr"):
        lrs = rec.points["lr"]
        steps = np.array([p[0] for p in lrs])
        pts = []
        for s in evals:
            j = int(np.searchsorted(steps, s - 1, side="right")) - 1
            if j >= 0:
                pts.append((index[s], lrs[j][1], lrs[j][2]))
        out[lr_name] = pts
    tl = rec.points.get("train/loss", [])
    blew_up = tl and (not math.isfinite(tl[-1][1]) or rec.meta.get("diverged"))
    if blew_up and (not evals or tl[-1][0] >= evals[-1]):
        name = names["train_loss"]
        out.setdefault(name, []).append((len(evals) + epoch_base, tl[-1][1], tl[-1][2]))
    return out


def _steps_per_epoch(rec: Recorder) -> float:
    return float(rec.meta.get("steps_per_epoch") or rec.meta.get("eval_every") or 1)


# trial plumbing, not hyperparameters: kept out of hparams files
_INTERNAL = {"threads", "explode_at", "log_every", "eval_every"}


def lightning_lr_name(optimizer: str) -> str:
    """The column Lightning's LearningRateMonitor writes for an optimizer: `lr-AdamW`, `lr-SGD`."""
    return f"lr-{TORCH_OPTIMIZER_CLASS.get(str(optimizer).lower(), str(optimizer))}"


def _config(rec: Recorder) -> dict:
    cfg = dict(rec.meta.get("config") or {})
    return {k: v for k, v in cfg.items() if v is not None and k not in _INTERNAL}


def _fmt(v: float) -> str:
    """A float as Python writes it (repr), with nan/inf spelled the way CSV readers accept."""
    if math.isnan(v):
        return "nan"
    if math.isinf(v):
        return "inf" if v > 0 else "-inf"
    return repr(float(v))


def _run_id(rec: Recorder, n: int = 32) -> str:
    key = json.dumps(_jsonable(rec.meta.get("config", {})), sort_keys=True) + str(rec.meta.get("name", ""))
    key += str(rec.meta.get("seed", ""))
    return hashlib.sha1(key.encode()).hexdigest()[:n]


# ----------------------------------------------------------------------------- TensorBoard


def write_tb_torch(rec: Recorder, logdir: str | os.PathLike, convention: str = "slash",
                   granularity: str = "step", new_style: bool = False, hparams: bool = True) -> Path:
    """torch.utils.tensorboard SummaryWriter event file (legacy simple_value, or `new_style`
    tensor scalars); hparams plugin summaries in the same file (as Lightning writes them, so no
    extra timestamp sub-run appears)."""
    from torch.utils.tensorboard import SummaryWriter

    logdir = Path(logdir)
    logdir.mkdir(parents=True, exist_ok=True)
    w = SummaryWriter(str(logdir), flush_secs=3600)
    try:
        for name, pts in select(rec, convention, granularity).items():
            for x, v, wall in pts:
                w.add_scalar(name, v, x, walltime=wall, new_style=new_style)
        if hparams and rec.meta.get("config"):
            _tb_hparams(w.file_writer, rec)
    finally:
        w.close()
    return logdir


def _tb_hparams(file_writer, rec: Recorder) -> None:
    from torch.utils.tensorboard.summary import hparams as hp_summary

    cfg = {k: v for k, v in _config(rec).items() if isinstance(v, (int, float, str, bool))}
    metrics = {"hp/final_val_loss": float(rec.meta.get("val_loss", float("nan")))}
    exp, ssi, sei = hp_summary(cfg, metrics)
    wall = min((p[2] for pts in rec.points.values() for p in pts[:1]), default=None)
    for s in (exp, ssi, sei):
        file_writer.add_summary(s, 0, wall)


def write_tb_tbx(rec: Recorder, logdir: str | os.PathLike, convention: str = "slash",
                 granularity: str = "step") -> Path:
    """tensorboardX SummaryWriter event file (simple_value, no source metadata)."""
    from tensorboardX import SummaryWriter

    logdir = Path(logdir)
    logdir.mkdir(parents=True, exist_ok=True)
    w = SummaryWriter(logdir=str(logdir), flush_secs=3600)
    try:
        for name, pts in select(rec, convention, granularity).items():
            for x, v, wall in pts:
                w.add_scalar(name, v, x, walltime=wall)
    finally:
        w.close()
    return logdir


def _tf2_scalar_summary(tag: str, value: float):
    """A TF2-style scalar: rank-0 DT_FLOAT tensor in tensor_content, plugin "scalars", as the TF
    C++ summary writer (Keras TensorBoard callback) encodes it."""
    from tensorboard.compat.proto import summary_pb2, tensor_pb2, tensor_shape_pb2, types_pb2

    tensor = tensor_pb2.TensorProto(dtype=types_pb2.DT_FLOAT, tensor_shape=tensor_shape_pb2.TensorShapeProto(),
                                    tensor_content=struct.pack("<f", value))
    meta = summary_pb2.SummaryMetadata(plugin_data=summary_pb2.SummaryMetadata.PluginData(plugin_name="scalars"),
                                       data_class=summary_pb2.DATA_CLASS_SCALAR)
    return summary_pb2.Summary(value=[summary_pb2.Summary.Value(tag=tag, tensor=tensor, metadata=meta)])


def write_keras_tb(rec: Recorder, logdir: str | os.PathLike, tf2: bool = True,
                   batch_level: bool = False) -> Path:
    """Keras TensorBoard callback layout: `train/` and `validation/` sub-runs with `epoch_loss`,
    `epoch_accuracy` (and `epoch_learning_rate` in train/), 0-based epoch steps; with
    `batch_level`, `batch_loss` per optimizer step in train/ (update_freq=int). `tf2` encodes
    values as TF2 tensor scalars in `.v2` files, else simple_value."""
    from torch.utils.tensorboard.writer import FileWriter

    logdir = Path(logdir)
    ep = select(rec, "keras", "epoch")
    parts = {
        "train": {"epoch_loss": ep.get("loss", []), "epoch_accuracy": ep.get("accuracy", []),
                  "epoch_learning_rate": ep.get("lr", [])},
        "validation": {"epoch_loss": ep.get("val_loss", []), "epoch_accuracy": ep.get("val_accuracy", [])},
    }
    if batch_level:
        parts["train"]["batch_loss"] = list(rec.points.get("train/loss", []))
    for sub, tags in parts.items():
        d = logdir / sub
        d.mkdir(parents=True, exist_ok=True)
        fw = FileWriter(str(d), flush_secs=3600, filename_suffix=".v2" if tf2 else "")
        try:
            for tag, pts in tags.items():
                for x, v, wall in pts:
                    if tf2:
                        s = _tf2_scalar_summary(tag, v)
                    else:
                        from tensorboard.compat.proto import summary_pb2

                        s = summary_pb2.Summary(value=[summary_pb2.Summary.Value(tag=tag, simple_value=v)])
                    fw.add_summary(s, x, wall)
        finally:
            fw.close()
    return logdir


def write_lightning_tb(rec: Recorder, save_dir: str | os.PathLike, version: int = 0) -> Path:
    """Lightning TensorBoardLogger: `lightning_logs/version_N/` event file with `train_loss_step`,
    `val_loss`, `val_acc`, an `epoch` scalar with every logged point, `hp_metric`, plus
    hparams.yaml beside it."""
    from torch.utils.tensorboard import SummaryWriter

    d = Path(save_dir) / "lightning_logs" / f"version_{version}"
    d.mkdir(parents=True, exist_ok=True)
    spe = _steps_per_epoch(rec)
    w = SummaryWriter(str(d), flush_secs=3600)
    try:
        first_wall = min((p[2] for pts in rec.points.values() for p in pts[:1]), default=None)
        w.add_scalar("hp_metric", -1.0, 0, walltime=first_wall)
        for name, pts in select(rec, "lightning", "step").items():
            for x, v, wall in pts:
                # eval-level values are stamped with the last step of the epoch (x - 1)
                is_eval = name in ("val_loss", "val_acc", "train_acc_epoch")
                step = max(0, x - 1) if is_eval else x
                w.add_scalar(name, v, step, walltime=wall)
                w.add_scalar("epoch", float(int(step // spe)), step, walltime=wall)
        _tb_hparams(w.file_writer, rec)
    finally:
        w.close()
    _write_yaml(d / "hparams.yaml", _config(rec))
    return d


# ----------------------------------------------------------------------------- CSV family


def _write_yaml(path: Path, data: dict) -> None:
    import yaml

    path.write_text(yaml.safe_dump(_jsonable(data), sort_keys=True))


def write_lightning_csv(rec: Recorder, save_dir: str | os.PathLike, version: int = 0,
                        log_every_n_steps: int = 10) -> Path:
    """Lightning CSVLogger: `lightning_logs/version_N/metrics.csv` (sparse rows, one per
    log_metrics call, columns sorted: epoch, lr-SGD, step, train_loss_epoch, train_loss_step,
    val_acc, val_loss) + `hparams.yaml`. Train rows every `log_every_n_steps`; LR-monitor rows
    carry no epoch; epoch-level rows use the last step of the epoch."""
    d = Path(save_dir) / "lightning_logs" / f"version_{version}"
    d.mkdir(parents=True, exist_ok=True)
    spe = _steps_per_epoch(rec)
    lr_col = lightning_lr_name(_config(rec).get("optimizer", "sgd"))
    rows: list[tuple[int, int, dict]] = []  # (step, order, row)
    for s, v, _ in rec.points.get("train/loss", []):
        if s % log_every_n_steps == 0 or not math.isfinite(v):
            rows.append((s, 1, {"epoch": int(s // spe), "step": s, "train_loss_step": v}))
    for s, v, _ in rec.points.get("lr", []):
        if s % log_every_n_steps == 0:
            rows.append((s, 0, {"step": s, lr_col: v}))
    vals = {s: v for s, v, _ in rec.points.get("val/acc", [])}
    for s, v, _ in rec.points.get("val/loss", []):
        st = max(0, s - 1)
        rows.append((st, 2, {"epoch": int(st // spe), "step": st, "val_loss": v, "val_acc": vals.get(s, math.nan)}))
    for s, v, _ in rec.points.get("train/loss_avg", []):
        st = max(0, s - 1)
        rows.append((st, 3, {"epoch": int(st // spe), "step": st, "train_loss_epoch": v}))
    rows.sort(key=lambda r: (r[0], r[1]))
    cols = sorted({k for _, _, r in rows for k in r})
    with open(d / "metrics.csv", "w", newline="") as f:
        wr = csv.writer(f)
        wr.writerow(cols)
        for _, _, r in rows:
            wr.writerow(["" if c not in r else (str(r[c]) if isinstance(r[c], int) else _fmt(r[c])) for c in cols])
    _write_yaml(d / "hparams.yaml", _config(rec))
    return d


def write_keras_csv(rec: Recorder, path: str | os.PathLike, with_lr: bool = False) -> Path:
    """Keras CSVLogger: `epoch` + sorted keys (accuracy, loss[, lr], val_accuracy, val_loss), one row
    per epoch, 0-based; missing values as `NA`."""
    ep = select(rec, "keras", "epoch")
    keys = sorted(k for k in ep if with_lr or k != "lr")
    epochs = sorted({x for k in keys for x, _, _ in ep[k]})
    table = {k: {x: v for x, v, _ in ep[k]} for k in keys}
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="") as f:
        wr = csv.writer(f)
        wr.writerow(["epoch"] + keys)
        for e in epochs:
            wr.writerow([e] + [_fmt(table[k][e]) if e in table[k] else "NA" for k in keys])
    return path


def write_fastai_csv(rec: Recorder, path: str | os.PathLike) -> Path:
    """fastai CSVLogger `history.csv`: epoch,train_loss,valid_loss,accuracy,time (mm:ss)."""
    ep = select(rec, "underscore", "epoch")
    tl = {x: v for x, v, _ in ep.get("train_loss", [])}
    vl = {x: v for x, v, _ in ep.get("valid_loss", [])}
    va = {x: v for x, v, _ in ep.get("valid_acc", [])}
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="") as f:
        wr = csv.writer(f)
        wr.writerow(["epoch", "train_loss", "valid_loss", "accuracy", "time"])
        for e in sorted(set(tl) | set(vl)):
            wr.writerow([e, _fmt(tl.get(e, math.nan)), _fmt(vl.get(e, math.nan)),
                         _fmt(va.get(e, math.nan)), "00:01"])
    return path


def write_keras_history_json(rec: Recorder, path: str | os.PathLike) -> Path:
    """`json.dump(history.history)`: equal-length lists per key, index = epoch."""
    ep = select(rec, "keras", "epoch")
    n = max((len(v) for v in ep.values()), default=0)
    data = {}
    for k, pts in ep.items():
        vals = {x: v for x, v, _ in pts}
        data[k] = [vals.get(e, math.nan) for e in range(n)]
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data))
    return path


def write_wide_csv(rec: Recorder, path: str | os.PathLike, convention: str = "underscore",
                   granularity: str = "step", x_name: str = "step", with_wall: bool = False) -> Path:
    """Generic wide CSV: one x column + one column per metric, blank where not logged."""
    sel = select(rec, convention, granularity, epoch_base=1 if x_name == "epoch" else 0)
    xs = sorted({x for pts in sel.values() for x, _, _ in pts})
    table = {k: {x: v for x, v, _ in pts} for k, pts in sel.items()}
    walls = {}
    for pts in sel.values():
        for x, _, w in pts:
            walls.setdefault(x, w)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    cols = list(sel)
    with open(path, "w", newline="") as f:
        wr = csv.writer(f)
        wr.writerow([x_name] + (["wall_time"] if with_wall else []) + cols)
        for x in xs:
            wr.writerow([x] + ([repr(walls[x])] if with_wall else [])
                        + [_fmt(table[c][x]) if x in table[c] else "" for c in cols])
    return path


def write_long_csv(rec: Recorder, path: str | os.PathLike, convention: str = "slash") -> Path:
    """Tidy CSV `tag,step,value,wall_time` (tbparse's default layout)."""
    sel = select(rec, convention, "step")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="") as f:
        wr = csv.writer(f)
        wr.writerow(["tag", "step", "value", "wall_time"])
        for name, pts in sel.items():
            for x, v, w in pts:
                wr.writerow([name, x, _fmt(v), repr(w)])
    return path


# ----------------------------------------------------------------------------- HF, W&B, MLflow


def write_hf_trainer_state(rec: Recorder, output_dir: str | os.PathLike, logging_steps: int = 10,
                           nan_inf_filter: bool = False, checkpoint: bool = False) -> Path:
    """HF Trainer `trainer_state.json` (json.dumps(indent=2, sort_keys=True), NaN tokens allowed):
    training rows every `logging_steps` with the window-mean `loss`, `learning_rate`, `grad_norm`;
    eval rows with `eval_loss`, `eval_accuracy`; a final `train_*` summary row. `step` counts
    optimizer updates (1-based, as global_step). With `nan_inf_filter`, a non-finite window loss is
    replaced by the running average, as HF's default `logging_nan_inf_filter=True` does.
    `checkpoint` writes it under `checkpoint-<global_step>/` instead."""
    spe = _steps_per_epoch(rec)
    tl = rec.points.get("train/loss", [])
    lrs = {s: v for s, v, _ in rec.points.get("lr", [])}
    gns = {s: v for s, v, _ in rec.points.get("grad_norm", [])}
    hist: list[dict] = []
    window: list[float] = []
    seen: list[float] = []
    last_gn = math.nan
    global_step = 0
    for s, v, _ in tl:
        global_step = s + 1
        window.append(v)
        last_gn = gns.get(s, last_gn)
        stop = not math.isfinite(v)
        if global_step % logging_steps == 0 or stop:
            loss = float(np.mean(window))
            if nan_inf_filter and not math.isfinite(loss):
                loss = float(np.mean(seen)) if seen else 0.0
            seen.append(loss)
            hist.append({"epoch": round(global_step / spe, 4), "grad_norm": last_gn if not stop else math.nan,
                         "learning_rate": lrs.get(s, math.nan), "loss": round(loss, 4), "step": global_step})
            window = []
    accs = {s: v for s, v, _ in rec.points.get("val/acc", [])}
    for s, v, _ in rec.points.get("val/loss", []):
        hist.append({"epoch": round(s / spe, 4), "eval_accuracy": accs.get(s, math.nan), "eval_loss": v,
                     "eval_runtime": 0.05, "eval_samples_per_second": 7000.0, "eval_steps_per_second": 100.0,
                     "step": s})
    hist.sort(key=lambda r: (r["step"], "eval_loss" in r))
    mean_loss = float(np.mean([v for _, v, _ in tl])) if tl else math.nan
    hist.append({"epoch": round(global_step / spe, 4), "step": global_step, "total_flos": 1.0e12,
                 "train_loss": mean_loss, "train_runtime": float(rec.meta.get("wall_s", 1.0)),
                 "train_samples_per_second": 1000.0, "train_steps_per_second": 100.0})
    vl = [(s, v) for s, v, _ in rec.points.get("val/loss", []) if math.isfinite(v)]
    best = min(vl, key=lambda t: t[1]) if vl else (None, None)
    cfg = _config(rec)
    state = {
        "best_global_step": best[0], "best_metric": best[1], "best_model_checkpoint": None,
        "epoch": round(global_step / spe, 4), "eval_steps": int(rec.meta.get("eval_every") or spe),
        "global_step": global_step, "is_hyper_param_search": False, "is_local_process_zero": True,
        "is_world_process_zero": True, "log_history": hist, "logging_steps": logging_steps,
        "max_steps": int(rec.meta.get("max_steps") or global_step), "num_input_tokens_seen": 0,
        "num_train_epochs": int(math.ceil(global_step / spe)), "save_steps": 500, "stateful_callbacks": {},
        "total_flos": 1.0e12, "train_batch_size": int(cfg.get("batch_size", 8)), "trial_name": None,
        "trial_params": None,
    }
    d = Path(output_dir)
    if checkpoint:
        d = d / f"checkpoint-{global_step}"
    d.mkdir(parents=True, exist_ok=True)
    (d / "trainer_state.json").write_text(json.dumps(state, indent=2, sort_keys=True))
    # the training arguments a real output_dir carries, as JSON (the binary training_args.bin is torch-pickled)
    optimizer = str(cfg.get("optimizer", "sgd"))
    args = {"learning_rate": cfg.get("lr"), "per_device_train_batch_size": cfg.get("batch_size"),
            "weight_decay": cfg.get("weight_decay"), "max_steps": state["max_steps"],
            "lr_scheduler_type": {"none": "constant", "cosine": "cosine"}.get(cfg.get("lr_schedule"), "linear"),
            "warmup_steps": cfg.get("warmup_steps", 0), "logging_steps": logging_steps,
            "optim": HF_OPTIM.get(optimizer, optimizer)}
    (d / "training_args.json").write_text(json.dumps(args, indent=2, sort_keys=True))
    return d


def write_wandb_legacy(rec: Recorder, wandb_dir: str | os.PathLike, convention: str = "slash",
                       granularity: str = "step") -> Path:
    """Pre-0.10 W&B run folder: `run-YYYYMMDD_HHMMSS-<id>/files/{wandb-history.jsonl,
    config.yaml, wandb-summary.json}`; one history row per step with `_step`, `_runtime`,
    `_timestamp` and every metric logged at that step (NaN/Infinity tokens as json writes them)."""
    sel = select(rec, convention, granularity)
    rows: dict[int, dict] = {}
    for name, pts in sel.items():
        for x, v, w in pts:
            r = rows.setdefault(x, {"_step": x})
            r[name] = v
            r["_timestamp"] = max(r.get("_timestamp", 0.0), w)
    t0 = min((r["_timestamp"] for r in rows.values()), default=time.time())
    run_id = _run_id(rec, 8)
    stamp = time.strftime("%Y%m%d_%H%M%S", time.gmtime(t0))
    d = Path(wandb_dir) / f"run-{stamp}-{run_id}" / "files"
    d.mkdir(parents=True, exist_ok=True)
    summary: dict[str, Any] = {}
    with open(d / "wandb-history.jsonl", "w") as f:
        for x in sorted(rows):
            r = rows[x]
            r["_runtime"] = round(r["_timestamp"] - t0, 3)
            f.write(json.dumps(r) + "\n")
            summary.update(r)
    summary["_wandb"] = {"runtime": int(summary.get("_runtime", 0))}
    (d / "wandb-summary.json").write_text(json.dumps(summary))
    cfg = {"wandb_version": 1}
    for k, v in _config(rec).items():
        cfg[k] = {"desc": None, "value": v}
    _write_yaml(d / "config.yaml", cfg)
    return d.parent


def write_mlflow(rec: Recorder, root: str | os.PathLike, convention: str = "underscore",
                 granularity: str = "step", experiment_id: str = "0", run_name: str | None = None,
                 artifact_root: str = "file:///home/user/project/mlruns") -> Path:
    """MLflow file store: `mlruns/<exp>/meta.yaml`, `mlruns/<exp>/<run_id>/{meta.yaml,
    metrics/<key> ("<ms> <value> <step>" lines; `/` in a key makes folders), params/<key>,
    tags/mlflow.runName}`. `artifact_root` stands in for the absolute file URI MLflow records (the
    real one would leak the writer's temp folder into committed fixtures)."""
    mlruns = Path(root) / "mlruns"
    exp = mlruns / experiment_id
    exp.mkdir(parents=True, exist_ok=True)
    if not (exp / "meta.yaml").exists():
        _write_yaml(exp / "meta.yaml", {"artifact_location": f"{artifact_root}/{experiment_id}", "creation_time": 0,
                                        "experiment_id": experiment_id, "last_update_time": 0,
                                        "lifecycle_stage": "active",
                                        "name": "Default" if experiment_id == "0" else f"exp-{experiment_id}"})
    run_id = _run_id(rec)
    rd = exp / run_id
    sel = select(rec, convention, granularity)
    walls = [w for pts in sel.values() for _, _, w in pts]
    start = int(min(walls, default=0) * 1000)
    end = int(max(walls, default=0) * 1000)
    name = run_name or str(rec.meta.get("name") or run_id[:8])
    _write_yaml_ordered(rd / "meta.yaml", [
        ("artifact_uri", f"{artifact_root}/{experiment_id}/{run_id}/artifacts"), ("end_time", end),
        ("entry_point_name", ""),
        ("experiment_id", experiment_id), ("lifecycle_stage", "active"), ("run_id", run_id),
        ("run_name", name), ("run_uuid", run_id), ("source_name", ""), ("source_type", 4),
        ("source_version", ""), ("start_time", start), ("status", 4 if rec.meta.get("diverged") else 3),
        ("tags", []), ("user_id", "advisor")])
    for key, pts in sel.items():
        p = rd / "metrics" / key
        p.parent.mkdir(parents=True, exist_ok=True)
        with open(p, "w") as f:
            for x, v, w in pts:
                f.write(f"{int(w * 1000)} {_fmt(v)} {x}\n")
    for k, v in _config(rec).items():
        p = rd / "params" / k
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(str(v))
    (rd / "tags").mkdir(parents=True, exist_ok=True)
    (rd / "tags" / "mlflow.runName").write_text(name)
    (rd / "tags" / "mlflow.source.type").write_text("LOCAL")
    (rd / "artifacts").mkdir(exist_ok=True)
    return rd


def _write_yaml_ordered(path: Path, items: Iterable[tuple[str, Any]]) -> None:
    import yaml

    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(yaml.safe_dump({k: v}, default_flow_style=False) for k, v in items))


# ----------------------------------------------------------------------------- registry

# format id -> (writer, what it writes). Writers take (rec, dest, **options); `dest` is a folder
# except for single-file formats, whose file name the caller picks.
WRITERS: dict[str, Callable[..., Path]] = {
    "tb-torch": write_tb_torch,
    "tb-tbx": write_tb_tbx,
    "tb-keras": write_keras_tb,
    "tb-lightning": write_lightning_tb,
    "lightning-csv": write_lightning_csv,
    "keras-csv": write_keras_csv,
    "fastai-csv": write_fastai_csv,
    "keras-json": write_keras_history_json,
    "wide-csv": write_wide_csv,
    "long-csv": write_long_csv,
    "hf-trainer": write_hf_trainer_state,
    "wandb-legacy": write_wandb_legacy,
    "mlflow": write_mlflow,
}

# the format family each writer's output belongs to (RunSource.format vocabulary)
FAMILY: dict[str, str] = {
    "tb-torch": "tensorboard", "tb-tbx": "tensorboard", "tb-keras": "tensorboard", "tb-lightning": "tensorboard",
    "lightning-csv": "csv", "keras-csv": "csv", "fastai-csv": "csv", "wide-csv": "csv", "long-csv": "csv",
    "keras-json": "json", "hf-trainer": "hf-trainer", "wandb-legacy": "wandb", "mlflow": "mlflow",
}

# formats whose files hold one point per epoch whatever granularity is asked for
EPOCH_ONLY = {"tb-keras", "keras-csv", "fastai-csv", "keras-json"}
