"""Speed and fidelity benchmark: advisor's TensorBoard reader vs TensorBoard's own readers.

Two data sets are written with torch's SummaryWriter (cached under bench/out/, git-ignored):
  big:   one event file, 20 tags x 50,000 steps = 1,000,000 scalars;
  many:  1,000 run folders, 5 tags x 500 steps each = 2,500,000 scalars in all;
and a third with TF2/Keras-style tensor scalars (TensorBoard's own EventFileWriter):
  tf2:   one .v2 file, 20 tags x 10,000 steps = 200,000 DT_FLOAT tensor scalars.
For each, in one process, it times advisor (discover + read), TensorBoard's EventAccumulator
with size_guidance 0 (keep everything) and tbparse's SummaryReader, checks that every point
advisor returns is bit-for-bit EventAccumulator's (value, step, wall_time), measures advisor's
peak Python memory with tracemalloc against the size of the arrays it returns, and prints a
table. Run: `python bench/bench_ingest.py [--quick] [--skip-tbparse]`. Not part of the tests.
"""
from __future__ import annotations

import argparse
import gc
import math
import os
import sys
import time
import tracemalloc
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
OUT = REPO / "bench" / "out"


def _write_run(args: tuple[str, int, int]) -> None:
    """One torch SummaryWriter run: `tags` curves of `steps` points, values that use all float bits."""
    import warnings

    warnings.filterwarnings("ignore")
    from torch.utils.tensorboard import SummaryWriter

    folder, tags, steps = args
    rng = np.random.default_rng(abs(hash(folder)) % (2**32))
    names = [f"metric_{k:02d}/{'loss' if k % 2 else 'accuracy'}" for k in range(tags)]
    writer = SummaryWriter(folder, max_queue=4096, flush_secs=3600)
    noise = rng.standard_normal((steps, tags)).astype(np.float64)
    for step in range(steps):
        row = noise[step]
        for k, name in enumerate(names):
            writer.add_scalar(name, float(math.exp(-step / 5000.0) + 0.01 * row[k]), step)
    writer.close()


def _write_tf2_run(folder: Path, tags: int, steps: int) -> None:
    """TF2/Keras-style tensor scalars (DT_FLOAT tensor_content + `scalars` plugin), .v2 file."""
    sys.path.insert(0, str(REPO / "fixtures" / "tensorboard"))
    import make  # the fixtures' hand-built TF2 events, written with TensorBoard's EventFileWriter

    writer = make._tf2_writer(folder)
    writer.add_event(make._version_event(1.7e9))
    rng = np.random.default_rng(0)
    for step in range(steps):
        for k in range(tags):
            value = math.exp(-step / 5000.0) + 0.01 * rng.standard_normal()
            writer.add_event(make._tensor_event(f"batch_metric_{k:02d}", step, 1.7e9 + step, make._float_tensor(value)))
    writer.close()


def make_data(quick: bool) -> tuple[Path, Path, Path]:
    big_steps, many_runs = (5_000, 100) if quick else (50_000, 1_000)
    big = OUT / f"big_20x{big_steps}"
    many = OUT / f"many_{many_runs}x5x500"
    if not (big / "done").exists():
        print(f"writing {big} with torch SummaryWriter ...", flush=True)
        _write_run((str(big), 20, big_steps))
        (big / "done").write_text("ok")
    if not (many / "done").exists():
        print(f"writing {many} with torch SummaryWriter ...", flush=True)
        jobs = [(str(many / f"run_{k:04d}"), 5, 500) for k in range(many_runs)]
        with ProcessPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
            list(pool.map(_write_run, jobs, chunksize=8))
        (many / "done").write_text("ok")
    tf2 = OUT / f"tf2_20x{big_steps // 5}"
    if not (tf2 / "done").exists():
        print(f"writing {tf2} (TF2 tensor scalars) ...", flush=True)
        _write_tf2_run(tf2, 20, big_steps // 5)
        (tf2 / "done").write_text("ok")
    return big, many, tf2


def event_dirs(root: Path) -> list[Path]:
    return sorted({p.parent for p in root.rglob("*tfevents*")})


# ----------------------------------------------------------------------------- readers


def read_advisor(root: Path) -> dict:
    from advisor.ingest import read
    from advisor.ingest.discover import discover

    sources, _ = discover([root])
    return {Path(s.path): read(s) for s in sources}


def read_event_accumulator(root: Path) -> dict:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    from tensorboard.util.tensor_util import make_ndarray

    result = {}
    for folder in event_dirs(root):
        acc = EventAccumulator(str(folder), size_guidance={"scalars": 0, "tensors": 0})
        acc.Reload()
        result[folder] = {tag: acc.Scalars(tag) for tag in acc.Tags()["scalars"]}
        for tag in acc.Tags()["tensors"]:  # TF2 scalars: EventAccumulator keeps them as tensors
            if acc.summary_metadata[tag].plugin_data.plugin_name == "scalars":
                result[folder][tag] = [_TensorPoint(e.wall_time, e.step, float(make_ndarray(e.tensor_proto))) for e in acc.Tensors(tag)]
    return result


class _TensorPoint:
    __slots__ = ("wall_time", "step", "value")

    def __init__(self, wall_time: float, step: int, value: float):
        self.wall_time, self.step, self.value = wall_time, step, value


def read_tbparse(root: Path):
    from tbparse import SummaryReader

    reader = SummaryReader(str(root), pivot=False, extra_columns={"dir_name", "wall_time"})
    return reader.scalars if len(reader.scalars) else reader.tensors


def timed(fn, *args) -> tuple[float, float, object]:
    """(wall seconds, CPU seconds of this process, result): CPU time is the fair number on a busy machine."""
    gc.collect()
    c0, t0 = time.process_time(), time.perf_counter()
    out = fn(*args)
    return time.perf_counter() - t0, time.process_time() - c0, out


def peak_memory(fn, *args) -> tuple[int, int]:
    """(tracemalloc peak bytes while reading, bytes of the arrays the runs hold afterwards)."""
    gc.collect()
    tracemalloc.start()
    runs = fn(*args)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    final = sum(s.step.nbytes + s.value.nbytes + s.wall_time.nbytes for r in runs.values() for s in r.series.values())
    return peak, final


# ----------------------------------------------------------------------------- checks


def same_bits(a: np.ndarray, b: np.ndarray) -> bool:
    return a.shape == b.shape and np.array_equal(a.view(np.uint64), b.view(np.uint64))


def check_equal(runs: dict, accumulated: dict) -> tuple[int, list[str]]:
    """Points compared, and every difference (there should be none)."""
    problems: list[str] = []
    compared = 0
    if set(runs) != set(accumulated):
        problems.append(f"run folders differ: {len(runs)} vs {len(accumulated)}")
    for folder, tags in accumulated.items():
        run = runs.get(folder)
        if run is None:
            continue
        if not set(tags) <= set(run.series):  # advisor also returns tensor scalars, which EA keeps apart
            problems.append(f"{folder}: tags missing: {sorted(set(tags) - set(run.series))[:5]}")
        for tag, events in tags.items():
            series = run.series.get(tag)
            if series is None:
                continue
            wall = np.array([e.wall_time for e in events], dtype=np.float64)
            step = np.array([e.step for e in events], dtype=np.int64)
            value = np.array([e.value for e in events], dtype=np.float64)
            ok = same_bits(series.value, value) and same_bits(series.wall_time, wall)
            ok = ok and np.array_equal(series.step, step)
            compared += len(events)
            if not ok:
                problems.append(f"{folder} {tag}: points differ")
    return compared, problems


# ----------------------------------------------------------------------------- main


def bench(name: str, root: Path, skip_tbparse: bool) -> dict:
    print(f"\n== {name}: {root}", flush=True)
    t_adv, c_adv, runs = timed(read_advisor, root)
    for _ in range(2):  # warm runs: same page-cache state as the other readers; keep the best
        del runs
        t2, c2, runs = timed(read_advisor, root)
        t_adv, c_adv = min(t_adv, t2), min(c_adv, c2)
    points = sum(r.points for r in runs.values())
    print(f"advisor            {t_adv:8.3f} s wall {c_adv:8.3f} s cpu ({len(runs)} runs, {points:,} points)", flush=True)
    t_ea, c_ea, accumulated = timed(read_event_accumulator, root)
    print(f"EventAccumulator   {t_ea:8.3f} s wall {c_ea:8.3f} s cpu", flush=True)
    compared, problems = check_equal(runs, accumulated)
    del accumulated
    t_tbp = c_tbp = None
    if not skip_tbparse:
        t_tbp, c_tbp, frame = timed(read_tbparse, root)
        print(f"tbparse            {t_tbp:8.3f} s wall {c_tbp:8.3f} s cpu ({len(frame):,} rows)", flush=True)
        del frame
    peak, final = peak_memory(read_advisor, root)
    return {
        "name": name, "runs": len(runs), "points": points, "advisor": t_adv, "ea": t_ea, "tbparse": t_tbp,
        "advisor_cpu": c_adv, "ea_cpu": c_ea, "tbparse_cpu": c_tbp, "load": os.getloadavg()[0],
        "compared": compared, "problems": problems, "peak": peak, "final": final,
    }


def print_table(rows: list[dict]) -> None:
    print("\nTimes are wall / CPU seconds of this process (CPU is the fair figure when the machine is shared).")
    print("| data set | points | advisor s | EventAccumulator s | tbparse s | EA / advisor | "
          "tbparse / advisor | bit-equal to EA | peak MB / final arrays MB | load avg |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        tbp = f"{r['tbparse']:.2f} / {r['tbparse_cpu']:.2f}" if r["tbparse"] is not None else "-"
        tbp_ratio = (
            f"{r['tbparse'] / r['advisor']:.0f}x / {r['tbparse_cpu'] / r['advisor_cpu']:.0f}x" if r["tbparse"] is not None else "-"
        )
        equal = "yes" if not r["problems"] and r["compared"] == r["points"] else f"NO ({len(r['problems'])})"
        print(
            f"| {r['name']} | {r['points']:,} | {r['advisor']:.3f} / {r['advisor_cpu']:.3f} | "
            f"{r['ea']:.2f} / {r['ea_cpu']:.2f} | {tbp} | "
            f"{r['ea'] / r['advisor']:.1f}x / {r['ea_cpu'] / r['advisor_cpu']:.1f}x | {tbp_ratio} | "
            f"{equal} ({r['compared']:,} pts) | "
            f"{r['peak'] / 1e6:.1f} / {r['final'] / 1e6:.1f} = {r['peak'] / max(r['final'], 1):.2f}x | {r['load']:.1f} |"
        )
    for r in rows:
        for p in r["problems"][:10]:
            print("DIFF", r["name"], p)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10x smaller data sets")
    parser.add_argument("--skip-tbparse", action="store_true")
    parser.add_argument("--only", choices=["big", "many", "tf2"])
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    big, many, tf2 = make_data(args.quick)
    rows = []
    if args.only in (None, "big"):
        rows.append(bench("1 file, 20 tags x 50k steps" if not args.quick else "1 file, 20x5k", big, args.skip_tbparse))
    if args.only in (None, "many"):
        rows.append(bench("1,000 runs, 5 tags x 500 steps" if not args.quick else "100 runs", many, args.skip_tbparse))
    if args.only in (None, "tf2"):
        rows.append(bench("1 TF2 .v2 file, 20 tags x 10k steps (tensor scalars)" if not args.quick else "TF2 20x1k", tf2, args.skip_tbparse))
    print_table(rows)


if __name__ == "__main__":
    main()
