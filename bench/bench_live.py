"""Benchmark: reading a growing event file incrementally vs reading the finished file once.

The 1M-scalar file of bench_ingest (20 tags x 50,000 steps, torch SummaryWriter; written to
bench/out/ on first use) is copied into a new file in 1,000 appends cut at arbitrary byte
positions (so most appends end inside a record, as a live writer's flushes do). After each append
the live reader (advisor.live.tail.TensorBoardTail) polls; the total poll time is compared with
one read of the finished file by the one-shot reader, in the same process. The assembled run
must equal the one-shot run point for point. Also timed: building the Run from the live columns
(what each re-diagnosis starts from). Run: `python bench/bench_live.py [--quick]`.
"""
from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="100,000 scalars instead of 1,000,000")
    parser.add_argument("--appends", type=int, default=1000)
    args = parser.parse_args()
    from bench_ingest import OUT, _write_run

    steps = 5_000 if args.quick else 50_000
    big = OUT / f"big_20x{steps}"
    if not (big / "done").exists():
        print(f"writing {big} with torch SummaryWriter ...", flush=True)
        _write_run((str(big), 20, steps))
        (big / "done").write_text("ok")
    source_file = next(big.glob("*tfevents*"))
    data = source_file.read_bytes()

    from advisor.ingest import read
    from advisor.ingest.discover import discover

    (src,), _ = discover([str(big)])
    once = []
    for _ in range(3):
        t = time.perf_counter()
        whole = read(src)
        once.append(time.perf_counter() - t)
    t_once = min(once)

    rng = np.random.default_rng(0)
    cuts = np.sort(rng.choice(np.arange(1, len(data)), size=args.appends - 1, replace=False))
    bounds = [0, *cuts.tolist(), len(data)]
    live_times = []
    for _ in range(3):  # the machine is shared: best of three, like the one-shot read
        t_poll, t_build, run = _grow_and_poll(data, source_file.name, bounds)
        live_times.append((t_poll, t_build))
    t_poll, t_build = min(live_times)
    same = set(run.series) == set(whole.series) and all(
        np.array_equal(run.series[k].step, whole.series[k].step)
        and np.array_equal(run.series[k].value, whole.series[k].value)
        and np.array_equal(run.series[k].wall_time, whole.series[k].wall_time)
        for k in whole.series
    )
    points = whole.points
    print(f"{points:,} scalars, {len(data):,} bytes, {args.appends} appends")
    print(f"one read of the finished file : {t_once:8.3f} s")
    print(f"live polls, all appends       : {t_poll:8.3f} s   ratio {t_poll / t_once:5.2f}x (target <= ~2x)")
    print(f"building the Run after each   : {t_build:8.3f} s   ({t_build / args.appends * 1e3:.2f} ms per poll)")
    print(f"live run equals one-shot read : {same}  (warnings live: {run.warnings})")


def _grow_and_poll(data: bytes, name: str, bounds: list[int]):
    """Append the file piece by piece, polling the live reader after each piece."""
    from advisor.ingest.discover import discover
    from advisor.live.tail import TensorBoardTail

    tmp = Path(tempfile.mkdtemp(prefix="bench_live_"))
    try:
        run_dir = tmp / "run"
        run_dir.mkdir()
        target = run_dir / name
        target.write_bytes(b"")
        (live_src,), _ = discover([str(run_dir)])
        tail = TensorBoardTail(live_src)
        t_poll = t_build = 0.0
        with open(target, "ab") as out:
            for lo, hi in zip(bounds[:-1], bounds[1:]):
                out.write(data[lo:hi])
                out.flush()
                t = time.perf_counter()
                tail.poll()
                t_poll += time.perf_counter() - t
                t = time.perf_counter()
                run = tail.run()
                t_build += time.perf_counter() - t
    finally:
        shutil.rmtree(tmp)
    return t_poll, t_build, run


if __name__ == "__main__":
    main()
