"""A recorded training printed as popular training scripts print it to the terminal, and dumped as a loop's
JSON history: the layouts advisor's console and JSON readers learnt in session 19, for
bench/format_invariance.py (`--writers print-mnist,...`).

Why: each layout was tested on a few real trainings; rewriting a labelled corpus through them (tests/data/oos:
~250 runs of two generators) says whether a run printed this way keeps the verdict its TensorBoard copy gets,
and where it cannot (a layout that prints the loss to 2 decimals, or no validation at all, loses information).
Kept out of format_invariance.WRITERS so that corpora made by bench/make_corpus_gen2.py, which draws its writers
from that table, stay the same for a seed.

Every writer prints what its program prints, from the recording's points (x = the step, or the epoch for
epoch-level runs), in x order:
- print-mnist: pytorch/examples' mnist/main.py: `Train Epoch: {e} [{n}/{N} ({p:.0f}%)]\\tLoss: {:.6f}` (n the samples
  before the batch at the run's batch size, 32 when unknown) and `Test set: Average loss: {:.4f}, Accuracy: {c}/{T}
  ({p:.0f}%)` (T = 1,000; without a val accuracy, the loss alone). Step-level runs.
- print-cifar: the CIFAR-10 tutorial's `[%d, %5d] loss: %.3f` (epoch, minibatch within it). Training loss only.
  Step-level runs.
- print-ignite: Ignite's examples: `Epoch[{e}] Iteration[{i}/{len}] Loss: {:.4f}` (the global iteration) for
  step-level runs, and per evaluation `Training Results - Epoch: {e}  Avg accuracy: {:.2f} Avg loss: {:.2f}` and
  `Validation Results - ...` (the example's 2 decimals).
- print-clu: CLU's LoggingWriter on absl's lines (JAX/Flax): `[Hyperparameters] {...}`, `[{x}] learning_rate=..,
  train_accuracy=.., train_loss=..` (sorted, .6g) and `[{x}] eval_accuracy=.., eval_loss=..`.
- print-fastai: fastai's results table in a terminal (epoch-level runs): `epoch  train_loss  valid_loss
  accuracy  time`, `#na#` for a missing value.
- print-paddleocr: PaddleOCR's trainer (step-level): `epoch: [{e}/{E}], global_step: {s}, loss: {:x<6f}, lr: ..,
  acc: .., avg_reader_cost: ..` and its evaluation's `cur metric, acc: {}, fps: ..` (no val loss: an OCR
  trainer evaluates its metric only).
- json-history: `json.dump(history)` of a list of per-x dicts (`epoch` or `step`, train_loss, val_loss,
  train_acc, val_acc, lr).
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable

ABSL = "I1206 12:00:00.000000 140000 logging_writer.py:48] "
PADDLE = "[2026/12/06 12:00:00] ppocr INFO: "


def _rows(rec) -> list[tuple[int, dict[str, float]]]:
    """(x, {role: value}) at every logged x, ascending."""
    return [(x, {role: v for role in rec.series for v in [rec.value_at(role, x)] if v is not None})
            for x in rec.xs()]


def _batch(rec) -> int:
    b = rec.hparams.get("batch_size")
    return int(b) if isinstance(b, (int, float)) and b >= 1 else 32


def _spe(rec) -> int:
    return max(1, int(rec.steps_per_epoch))


def _write(d: Path, name: str, lines: list[str]) -> None:
    d.mkdir(parents=True, exist_ok=True)
    (d / name).write_text("".join(line + "\n" for line in lines))


def print_mnist(rec, d: Path) -> None:
    bs, spe = _batch(rec), _spe(rec)
    lines = []
    for x, v in _rows(rec):
        epoch, i = x // spe + 1, x % spe
        if "train_loss" in v:
            lines.append("Train Epoch: {} [{}/{} ({:.0f}%)]\tLoss: {:.6f}".format(
                epoch, i * bs, spe * bs, 100.0 * i / spe, v["train_loss"]))
        if "val_loss" in v:
            if "val_acc" in v:
                c = int(round(v["val_acc"] * 1000))
                lines += ["", "Test set: Average loss: {:.4f}, Accuracy: {}/{} ({:.0f}%)".format(
                    v["val_loss"], c, 1000, c / 10), ""]
            else:
                lines += ["", "Test set: Average loss: {:.4f}".format(v["val_loss"]), ""]
    _write(d, "train.log", lines)


def print_cifar(rec, d: Path) -> None:
    spe = _spe(rec)
    lines = ["[%d, %5d] loss: %.3f" % (x // spe + 1, x % spe + 1, v["train_loss"])
             for x, v in _rows(rec) if "train_loss" in v]
    _write(d, "train.log", lines + ["Finished Training"])


def print_ignite(rec, d: Path) -> None:
    spe, by_step = _spe(rec), rec.granularity != "epoch"
    lines = []
    for x, v in _rows(rec):
        epoch = x // spe + 1 if by_step else x + 1
        if by_step and "train_loss" in v:
            lines.append(f"Epoch[{epoch}] Iteration[{x}/{spe}] Loss: {v['train_loss']:.4f}")
        if "val_loss" in v or "val_acc" in v:
            for phase, loss, acc in (("Training", "train_loss", "train_acc"), ("Validation", "val_loss", "val_acc")):
                fields = [f"Avg accuracy: {v[acc]:.2f}" if acc in v else "", f"Avg loss: {v[loss]:.2f}" if loss in v else ""]
                if any(fields) and not (phase == "Training" and by_step and acc not in v):
                    lines.append(f"{phase} Results - Epoch: {epoch}  " + " ".join(f for f in fields if f))
    _write(d, "train.log", lines)


CLU_NAMES = {"train_loss": "train_loss", "train_acc": "train_accuracy", "lr": "learning_rate",
             "val_loss": "eval_loss", "val_acc": "eval_accuracy"}


def print_clu(rec, d: Path) -> None:
    hp = {k: v for k, v in rec.hparams.items() if isinstance(v, (int, float, str, bool))}
    lines = [ABSL + f"[Hyperparameters] {hp!r}"] if hp else []
    for x, v in _rows(rec):
        for roles in (("lr", "train_acc", "train_loss"), ("val_acc", "val_loss")):
            scalars = {CLU_NAMES[r]: v[r] for r in roles if r in v}
            if scalars:
                lines.append(ABSL + f"[{x}] " + ", ".join(f"{k}={val:.6g}" for k, val in sorted(scalars.items())))
    _write(d, "train.log", lines)


def print_fastai(rec, d: Path) -> None:
    names = ["train_loss", "valid_loss"] + (["accuracy"] if "val_acc" in rec.series else []) + ["time"]
    padded = [n + " " * (8 - len(n)) if len(n) < 8 else n for n in names]
    lines = ["  ".join(["epoch   "] + padded)]
    for x, v in _rows(rec):
        cells = [str(x)]
        for role in ("train_loss", "val_loss") + (("val_acc",) if "val_acc" in rec.series else ()):
            cells.append(f"{v[role]:.6f}" if role in v else "#na#")
        cells.append("00:01")
        lines.append("".join(c + " " * (2 + len(n) - len(c)) for c, n in zip(cells, ["epoch   "] + padded)))
    _write(d, "console.log", lines)


def print_paddleocr(rec, d: Path) -> None:
    spe = _spe(rec)
    epochs = max(rec.xs()) // spe + 1 if rec.xs() else 1
    lines = [PADDLE + f"train dataloader has {spe} iters"]
    for x, v in _rows(rec):
        if "train_loss" in v:
            stats = {"loss": v["train_loss"]}
            if "lr" in v:
                stats["lr"] = v["lr"]
            if "train_acc" in v:
                stats["acc"] = v["train_acc"]
            logs = ", ".join("{}: {:x<6f}".format(k, s) for k, s in stats.items())
            lines.append(PADDLE + "epoch: [{}/{}], global_step: {}, {}, avg_reader_cost: 0.00012 s, avg_batch_cost: "
                         "0.00231 s, avg_samples: 32.0, ips: 13852.10000 samples/s, eta: 0:00:33".format(
                             x // spe + 1, epochs, x, logs))
        if "val_acc" in v:
            lines.append(PADDLE + f"cur metric, acc: {v['val_acc']}, fps: 98765.4")
    _write(d, "train.log", lines)


def json_history(rec, d: Path) -> None:
    key = "epoch" if rec.granularity == "epoch" else "step"
    history: list[dict[str, Any]] = [{key: x, **v} for x, v in _rows(rec)]
    d.mkdir(parents=True, exist_ok=True)
    with open(d / "history.json", "w") as fh:
        json.dump(history, fh, indent=2)


# name -> (writer, which runs it prints: "step", "epoch" or "any")
PRINT_WRITERS: dict[str, tuple[Callable[[Any, Path], None], str]] = {
    "print-mnist": (print_mnist, "step"),
    "print-cifar": (print_cifar, "step"),
    "print-ignite": (print_ignite, "any"),
    "print-clu": (print_clu, "any"),
    "print-fastai": (print_fastai, "epoch"),
    "print-paddleocr": (print_paddleocr, "step"),
    "json-history": (json_history, "any"),
}
