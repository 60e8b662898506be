"""Speed, memory and fidelity of the console reader (advisor/ingest/console.py, console_hf.py) on large
terminal logs, against the CSV reader on the same points, measured in the same run.

One training curve (`--steps` optimizer steps, 1,000 an epoch, the loss and LR printed every step,
a val loss each epoch) is written the way each grammar prints it, and once as a CSV (the anchor):
  lines:        `Epoch [e/N], Step [i/1000], Loss: 0.5123, lr: 0.001` (+ an epoch's val line)
  metriclogger: `Epoch: [e]  [ i/1000]  eta: ..  lr: 0.100000  loss: 0.5123 (0.5300)  time: ..`
                and a `Test:  [9/10] ... loss: 0.61 (0.60)` line an epoch
  swin:         `[time] (main.py 229): INFO Train: [e/N][i/1000]\\teta .. lr ..\\tloss 0.5123 (0.5300)\\t..`
  hf:           the Trainer's `{'loss': '0.5123', 'learning_rate': '0.001', 'epoch': '1.234'}` dicts,
                an eval dict an epoch and the closing summary (no bar: the summary places them)
  csv:          `step,loss,lr,val_loss`
Files are cached under bench/out/console/. For each: the file's size, the median wall time of
`read_runs` over --repeat reads, MB/s, the ratio to the CSV's time, tracemalloc's peak, and whether
every loss point came back at its step with the printed value. Not part of the tests:

    python bench/bench_console.py [--steps 300000] [--repeat 3]
"""
from __future__ import annotations

import argparse
import math
import statistics
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
OUT = REPO / "bench" / "out" / "console"
PER_EPOCH = 1000


def curve(steps: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(loss at steps 1..steps rounded as printed, lr, val loss an epoch)."""
    rng = np.random.default_rng(0)
    x = np.arange(1, steps + 1)
    loss = np.round(2.3 * np.exp(-x / (steps / 3)) + 0.05 + 0.02 * rng.standard_normal(steps) ** 2, 4)
    lr = np.round(1e-3 * (1 - x / (steps + 1)), 8)
    val = np.round(loss[PER_EPOCH - 1::PER_EPOCH] + 0.1, 4)
    return loss, lr, val


# what each grammar prints at a step (epoch e from 0, i from 1 within it, s from 1 overall) and at an
# epoch's evaluation (its val loss v)
STEP_LINE = {
    "lines": lambda e, i, s, n, loss, lr: f"Epoch [{e + 1}/{n}], Step [{i}/{PER_EPOCH}], Loss: {loss:.4f}, lr: {lr:.8g}",
    "metriclogger": lambda e, i, s, n, loss, lr: (f"Epoch: [{e}]  [{i:>4d}/{PER_EPOCH}]  eta: 0:01:00  lr: {lr:.8f}  "
                                                  f"loss: {loss:.4f} ({loss + 0.01:.4f})  time: 0.1000  data: 0.0010"),
    "swin": lambda e, i, s, n, loss, lr: (f"[2026-12-06 12:00:00 net] (main.py 229): INFO Train: [{e}/{n}][{i}/{PER_EPOCH}]"
                                          f"\teta 0:01:00 lr {lr:.8f}\tloss {loss:.4f} ({loss + 0.01:.4f})\tmem 1000MB"),
    "hf": lambda e, i, s, n, loss, lr: str({"loss": f"{loss:.4g}", "grad_norm": "1.234", "learning_rate": f"{lr:.4g}",
                                            "epoch": f"{s / PER_EPOCH:.4g}"}),
}
EVAL_LINE = {
    "lines": lambda e, s, n, v: f"Epoch [{e + 1}/{n}] val loss: {v:.4f}",
    "metriclogger": lambda e, s, n, v: f"Test:  [9/10]  eta: 0:00:00  loss: {v + 0.02:.4f} ({v:.4f})  time: 0.01",
    "swin": lambda e, s, n, v: (f"[2026-12-06 12:00:00 net] (main.py 264): INFO Test: [9/10]\tTime 0.01 (0.01)\t"
                                f"Loss {v + 0.02:.4f} ({v:.4f})\tMem 0MB"),
    "hf": lambda e, s, n, v: str({"eval_loss": f"{v:.4g}", "eval_runtime": "1.0", "epoch": f"{s / PER_EPOCH:.4g}"}),
}


def write(kind: str, path: Path, steps: int) -> None:
    loss, lr, val = curve(steps)
    epochs = steps // PER_EPOCH
    with path.open("w") as f:
        if kind == "csv":
            f.write("step,loss,lr,val_loss\n")
            for s in range(1, steps + 1):
                v = val[s // PER_EPOCH - 1] if s % PER_EPOCH == 0 else ""
                f.write(f"{s},{loss[s - 1]:.4f},{lr[s - 1]:.8g},{v}\n")
            return
        for s in range(1, steps + 1):
            e, i = (s - 1) // PER_EPOCH, (s - 1) % PER_EPOCH + 1
            f.write(STEP_LINE[kind](e, i, s, epochs, loss[s - 1], lr[s - 1]) + "\n")
            if s % PER_EPOCH == 0:
                f.write(EVAL_LINE[kind](e, s, epochs, val[s // PER_EPOCH - 1]) + "\n")
        if kind == "hf":
            f.write(str({"train_runtime": f"{steps / 10:.4g}", "train_samples_per_second": "80",
                         "train_steps_per_second": "10", "train_loss": "0.5", "epoch": f"{epochs}"}) + "\n")


def timed_read(path: Path, repeat: int) -> tuple[float, float, object]:
    from advisor.pipeline import read_runs

    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        runs, problems = read_runs([str(path)])
        times.append(time.perf_counter() - t)
        assert runs and not problems, problems
    tracemalloc.start()
    read_runs([str(path)])
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return statistics.median(times), peak, runs[0]


def faithful(kind: str, run, steps: int) -> bool:
    loss, _, _ = curve(steps)
    series = run.series.get("loss") or run.series.get("Loss")
    want = loss if kind != "hf" else np.array([float(f"{v:.4g}") for v in loss])  # (the Trainer prints 4 digits)
    return bool(series is not None and np.array_equal(series.step, np.arange(1, steps + 1))
                and np.allclose(series.value, want))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", type=int, default=300_000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args(argv)
    OUT.mkdir(parents=True, exist_ok=True)
    paths = {}
    for kind in ("csv", *STEP_LINE):
        folder = OUT / f"{kind}-{args.steps}"
        folder.mkdir(exist_ok=True)
        paths[kind] = folder / ("log.csv" if kind == "csv" else "train.log")
        if not paths[kind].exists():
            write(kind, paths[kind], args.steps)
    timed_read(paths["csv"], 1)  # imports and caches warm before the anchor is timed
    rows = []
    anchor = None
    for kind, path in paths.items():
        wall, peak, run = timed_read(path, args.repeat)
        anchor = anchor or wall
        size = path.stat().st_size / 1e6
        rows.append((kind, size, wall, size / wall, wall / anchor, peak / 1e6, faithful(kind, run, args.steps)))
    print(f"console reader, {args.steps:,} steps ({math.ceil(args.steps / PER_EPOCH)} epochs), median of {args.repeat}")
    print(f"{'log':14s} {'MB':>7s} {'seconds':>8s} {'MB/s':>6s} {'x csv':>6s} {'peak MB':>8s}  every loss point")
    for kind, size, wall, rate, ratio, peak, ok in rows:
        print(f"{kind:14s} {size:7.1f} {wall:8.2f} {rate:6.1f} {ratio:6.2f} {peak:8.1f}  {'yes' if ok else 'NO'}")
    return 0 if all(r[-1] for r in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
