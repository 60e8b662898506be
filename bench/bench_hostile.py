"""Huge inputs (issue 14): a 10M-row CSV diagnosed in under 2 GB, a 1 GiB zero-filled event file in under 10 s.

Each measurement runs `advisor diagnose` in a child process and reads the child's peak RSS from
`resource.getrusage(RUSAGE_CHILDREN)` (what `/usr/bin/time -v` reports as "Maximum resident set
size"). Anchors measured in the same run, so the ratios mean something on a busy machine:
- the CSV's size on disk (memory / file size) and the same CSV at 1M rows (does memory grow
  with the rows, not the text?);
- a 1 MiB zero file (seconds per GiB extrapolated from it vs the 1 GiB measurement).
Files are cached under bench/out/ (the zero file is sparse: no disk space).

Run: `nice -n 10 python bench/bench_hostile.py [--rows 10000000]`. Not part of the tests.
"""
from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "bench" / "out" / "hostile"


def write_csv(path: Path, rows: int) -> Path:
    if path.exists():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    tmp = path.with_suffix(".part")
    with open(tmp, "w") as fh:
        fh.write("step,loss,lr\n")
        for lo in range(0, rows, 1_000_000):
            step = np.arange(lo, min(rows, lo + 1_000_000))
            loss = 2.3 * np.exp(-step / (rows / 3)) + 0.05 * rng.standard_normal(len(step)) ** 2
            np.savetxt(fh, np.column_stack([step, loss, np.full(len(step), 1e-3)]), fmt=["%d", "%.6f", "%g"],
                       delimiter=",")
    tmp.replace(path)
    return path


def zero_file(path: Path, size: int) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as fh:
        fh.truncate(size)  # sparse
    return path


def diagnose(folder: Path) -> tuple[float, float, int, str, float]:
    """(seconds, peak RSS in MB, exit code, first line of output, CPU seconds) of `advisor diagnose
    folder`. CPU seconds (user + system) barely move with the machine's load; wall seconds do."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    before, cpu_before = usage.ru_maxrss, usage.ru_utime + usage.ru_stime
    env = {**os.environ, "PYTHONPATH": str(REPO), "NO_COLOR": "1"}
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "advisor.cli", "diagnose", str(folder), "--jobs", "1"],
                          capture_output=True, text=True, env=env)
    seconds = time.perf_counter() - start
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    peak, cpu = usage.ru_maxrss, usage.ru_utime + usage.ru_stime - cpu_before
    if peak <= before:
        print("  (peak RSS not above an earlier child's: run each measurement alone to read it)")
    return seconds, peak / 1024, proc.returncode, (proc.stdout.strip().splitlines() or [proc.stderr.strip()])[0], cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--only", choices=["csv", "zero"], default=None)
    args = parser.parse_args()
    # Smallest first: RUSAGE_CHILDREN's maxrss is the max over all children so far.
    if args.only in (None, "zero"):
        small = zero_file(OUT / "zero-1m" / "events.out.tfevents.1.host", 1 << 20)
        big = zero_file(OUT / "zero-1g" / "events.out.tfevents.1.host", 1 << 30)
        s_small, _, _, _, c_small = diagnose(small.parent)
        s_big, _, rc, line, c_big = diagnose(big.parent)
        print(f"zero-filled event file: 1 GiB in {s_big:.1f} s wall, {c_big:.1f} s CPU (target < 10 s; process "
              f"start and imports included: 1 MiB takes {s_small:.1f} s wall, {c_small:.1f} s CPU); exit {rc}: {line}")
    if args.only in (None, "csv"):
        anchor_rows = max(1, args.rows // 10)
        anchor = write_csv(OUT / f"csv-{anchor_rows}" / "metrics.csv", anchor_rows)
        huge = write_csv(OUT / f"csv-{args.rows}" / "metrics.csv", args.rows)
        s_a, m_a, _, _, _ = diagnose(anchor.parent)
        s_h, m_h, rc, line, c_h = diagnose(huge.parent)
        size_mb = huge.stat().st_size / 1e6
        print(f"CSV {args.rows:,} rows ({size_mb:.0f} MB, {2 * args.rows:,} points): peak {m_h:.0f} MB "
              f"(target < 2048), {s_h:.0f} s wall, {c_h:.0f} s CPU; {m_h / size_mb:.1f}x the file; "
              f"{anchor_rows:,} rows: {m_a:.0f} MB, {s_a:.0f} s -> {(m_h - m_a) / (args.rows - anchor_rows) * 1e6:.0f} "
              f"bytes per extra row; exit {rc}: {line}")


if __name__ == "__main__":
    main()
