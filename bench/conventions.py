"""Logging conventions: the same training, logged the way another script would log it, must get the
same diagnosis, or lose only what the log no longer carries.

    python bench/conventions.py CORPUS --limit 100                       # every convention, the diffs
    python bench/conventions.py CORPUS --only valonly,ema --limit 60
    python bench/conventions.py CORPUS --only valonly --corpus-out /tmp/valonly   # a labelled corpus
    python bench/score.py /tmp/valonly                                   # ... scored against its labels

format_invariance.py changes the writer (file format, tag names); this changes what the loop puts
in the log: the values, the curves it keeps, the x column. Each run of a labelled corpus is read with
advisor's readers (format_invariance.record), written again through the torch SummaryWriter with
the tutorial's tags (`Loss/train`, `Loss/val`, ...) as the baseline, and once per convention:

  pct        accuracies in percent (0-100)
  err        `train_error_rate` / `val_error_rate` = 1 - accuracy
  nll        `train/nll`, `val/nll`, `train/top1`, `val/top1`
  noacc      no accuracy logged
  nolr       no LR curve and no hparams
  noindex    a CSV with no x column (one row per logged x)
  valonly    only the val curves (runs that log a val loss)
  ema        a per-step training loss logged as an EMA (0.9, debiased), as a "smoothed loss" loop does
  cummean    a per-step training loss logged as the mean since the epoch began (Keras' batch logs)
  sum        the losses x the batch size (`reduction="sum"`)
  samples    steps counted in samples seen (x the batch size)
  fracepoch  a CSV whose x column is the fractional epoch (HF's `epoch`)

and both are diagnosed with `advisor diagnose --format json`. The table counts, per convention, the
runs whose patterns or first action differ from the baseline's; each difference is listed with the
run's labels, so information loss (no train loss: overfitting cannot be seen) reads apart from a
reading that depends on a convention it should not (an EMA hides the bounce oscillation is read
from). Session 10's reading on gen2 seed 1 is in bench/README.md.
"""
from __future__ import annotations

import argparse
import json
import shutil
import sys
import warnings
from dataclasses import replace
from pathlib import Path
from typing import Callable

import numpy as np

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from bench import format_invariance as fi  # noqa: E402

TUTORIAL = {"train_loss": "Loss/train", "val_loss": "Loss/val", "train_acc": "Accuracy/train",
            "val_acc": "Accuracy/val", "lr": "LR", "grad_norm": "Gradients/norm"}


def _without(rec: fi.Recording, roles: tuple[str, ...]) -> fi.Recording:
    return replace(rec, series={k: v for k, v in rec.series.items() if k not in roles})


def _train_loss_as(rec: fi.Recording, how: Callable[[np.ndarray, np.ndarray], np.ndarray]) -> fi.Recording:
    x, y, w = rec.series["train_loss"]
    return replace(rec, series={**rec.series, "train_loss": (x, how(x, y.astype(float)), w)})


def _ema(x: np.ndarray, y: np.ndarray, beta: float = 0.9) -> np.ndarray:
    out, m = np.empty_like(y), 0.0
    for i, v in enumerate(y):
        m = beta * m + (1 - beta) * v
        out[i] = m / (1 - beta ** (i + 1))
    return out


def _epoch_mean(rec: fi.Recording) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    def how(x: np.ndarray, y: np.ndarray) -> np.ndarray:
        epoch = x // max(1, rec.steps_per_epoch)
        out = y.copy()
        for e in np.unique(epoch):
            at = epoch == e
            out[at] = np.cumsum(y[at]) / np.arange(1, int(at.sum()) + 1)
        return out
    return how


CSV_COLUMNS = {"train_loss": "loss", "val_loss": "val_loss", "train_acc": "acc", "val_acc": "val_acc", "lr": "lr"}


def _step_log(rec: fi.Recording) -> bool:
    return rec.granularity == "step" and "train_loss" in rec.series


# name -> (writer, whether the run can be written this way)
CONVENTIONS: dict[str, tuple[Callable[[fi.Recording, Path], None], Callable[[fi.Recording], bool]]] = {
    "pct": (lambda r, d: fi._tb_write(r.mapped(("train_acc", "val_acc"), lambda y: 100 * y), d, TUTORIAL),
            lambda r: True),
    "err": (lambda r, d: fi._tb_write(r.mapped(("train_acc", "val_acc"), lambda y: 1 - y), d,
                                      {**TUTORIAL, "train_acc": "train_error_rate", "val_acc": "val_error_rate"}),
            lambda r: True),
    "nll": (lambda r, d: fi._tb_write(r, d, {**TUTORIAL, "train_loss": "train/nll", "val_loss": "val/nll",
                                             "train_acc": "train/top1", "val_acc": "val/top1"}),
            lambda r: True),
    "noacc": (lambda r, d: fi._tb_write(_without(r, ("train_acc", "val_acc")), d, TUTORIAL), lambda r: True),
    "nolr": (lambda r, d: fi._tb_write(replace(_without(r, ("lr",)), hparams={}), d, TUTORIAL), lambda r: True),
    "noindex": (lambda r, d: fi._csv(r, d / "log.csv", None, CSV_COLUMNS), lambda r: True),
    "valonly": (lambda r, d: fi._tb_write(_without(r, ("train_loss", "train_acc")), d, TUTORIAL),
                lambda r: "val_loss" in r.series),
    "ema": (lambda r, d: fi._tb_write(_train_loss_as(r, _ema), d, TUTORIAL), _step_log),
    "cummean": (lambda r, d: fi._tb_write(_train_loss_as(r, _epoch_mean(r)), d,
                                          {**TUTORIAL, "train_loss": "batch_loss", "val_loss": "epoch_val_loss"}),
                _step_log),
    "sum": (lambda r, d: fi._tb_write(r.mapped(("train_loss", "val_loss"),
                                               lambda y: float(r.hparams.get("batch_size") or 32) * y), d, TUTORIAL),
            lambda r: True),
    "samples": (lambda r, d: fi._tb_write(replace(r, series={k: (x * int(r.hparams.get("batch_size") or 32), y, w)
                                                             for k, (x, y, w) in r.series.items()}), d, TUTORIAL),
                _step_log),
    "fracepoch": (lambda r, d: fi._csv(r, d / "metrics.csv", "epoch", CSV_COLUMNS,
                                       lambda x: round(x / max(1, r.steps_per_epoch), 4)),
                  _step_log),
}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("corpus", type=Path, help="folder with runs/ and truth.json")
    ap.add_argument("--out", type=Path, default=REPO / "bench" / "out" / "conventions")
    ap.add_argument("--only", default=",".join(CONVENTIONS))
    ap.add_argument("--limit", type=int, default=0, help="only the first N runs")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--corpus-out", type=Path, help="write the (one) convention's runs here as a labelled corpus")
    args = ap.parse_args(argv)
    warnings.filterwarnings("ignore")
    names = [n for n in args.only.split(",") if n]
    unknown = set(names) - set(CONVENTIONS)
    if unknown:
        ap.error(f"unknown conventions: {', '.join(sorted(unknown))} (known: {', '.join(CONVENTIONS)})")
    doc = json.loads((args.corpus / "truth.json").read_text())
    truth = doc["runs"]
    ids = sorted(truth)[: args.limit or None]
    recs = {rid: fi.record(args.corpus, rid, truth[rid]) for rid in ids}
    if args.corpus_out:
        if len(names) != 1:
            ap.error("--corpus-out writes one convention: name it with --only")
        fn, applies = CONVENTIONS[names[0]]
        shutil.rmtree(args.corpus_out, ignore_errors=True)
        kept = {}
        for rid, rec in recs.items():
            if rec.series and applies(rec):
                fn(rec, args.corpus_out / "runs" / rid)
                kept[rid] = {**truth[rid], "path": f"runs/{rid}"}
        (args.corpus_out / "truth.json").write_text(json.dumps({**doc, "runs": kept}))
        print(f"{len(kept)} runs written to {args.corpus_out}")
        return 0
    shutil.rmtree(args.out, ignore_errors=True)
    written: dict[str, list[str]] = {}
    for rid, rec in recs.items():
        if not rec.series:
            continue
        fi.torch_tutorial(rec, args.out / "baseline" / rid)
        for name in names:
            fn, applies = CONVENTIONS[name]
            if applies(rec):
                fn(rec, args.out / name / rid)
                written.setdefault(name, []).append(rid)
    base = fi.diagnose_dir(args.out / "baseline", args.jobs)
    print(f"{'convention':12s} {'runs':>5s} {'patterns':>9s} {'first action':>13s}")
    for name in names:
        got = fi.diagnose_dir(args.out / name, args.jobs) if written.get(name) else {}
        diffs = []
        for rid in written.get(name, []):
            b, g = base.get(rid), got.get(rid)
            if b is None or g is None:
                diffs.append((rid, "missing", b, g))
            elif b["patterns"] != g["patterns"] or b["first_action"] != g["first_action"]:
                diffs.append((rid, "differs", b, g))
        pat = sum(1 for _, k, b, g in diffs if k == "missing" or b["patterns"] != g["patterns"])
        act = sum(1 for _, k, b, g in diffs if k == "missing" or b["first_action"] != g["first_action"])
        print(f"{name:12s} {len(written.get(name, [])):5d} {pat:9d} {act:13d}")
        for rid, kind, b, g in diffs:
            label = truth[rid].get("patterns") or ["healthy"]
            if kind == "missing":
                print(f"    {rid} (labels {label}): not read back")
            else:
                print(f"    {rid} (labels {label}): {b['patterns']} {b['first_action']} -> {g['patterns']} {g['first_action']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
