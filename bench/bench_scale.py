"""Many-run benchmark: `advisor diagnose` over sweeps, on all cores, on Ray, and its peak memory.

    python bench/bench_scale.py [--many DIR] [--only jobs|ray|memory] [--sizes 10000,100000]

Data: bench_ingest's many-runs set (1,000 run folders, 5 tags x 500 steps, torch SummaryWriter),
written under bench/out/ unless --many points at an existing copy. Larger sweeps (10,000,
100,000 runs) are that set hard-linked N times (bench/out/sweep_N): distinct runs to advisor,
no extra disk.

Each measurement runs whole `advisor` processes (imports, pool start and all) and prints ratios
against anchors measured in the same run:
  jobs:   --jobs 1 vs --jobs 2 (vs --jobs <cores>): wall time, speed-up, identical JSON output;
  ray:    --executor ray (a local Ray started by the process) vs the local pool, same jobs:
          wall time, ratio, identical output;
  memory: peak resident memory of the process tree (parent + workers, summed, sampled every
          0.1 s) of `advisor diagnose --format json` for the sizes asked, against the
          1,000-run anchor.
Wall times on a shared machine vary with its load; CPU seconds (all processes) are printed too.
"""
from __future__ import annotations

import argparse
import hashlib
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "bench" / "out"
sys.path.insert(0, str(REPO))


def many_runs(given: str | None) -> Path:
    if given:
        return Path(given)
    sys.path.insert(0, str(REPO / "bench"))
    import bench_ingest

    return bench_ingest.make_data(quick=False)[1]


def linked_sweep(source: Path, n: int) -> Path:
    """`n` runs: the source's run folders hard-linked as many times as needed."""
    target = OUT / f"sweep_{n}"
    if (target / "done").exists():
        return target
    runs = sorted(p for p in source.iterdir() if p.is_dir())
    for i in range(n):
        src = runs[i % len(runs)]
        dst = target / f"copy_{i // len(runs):03d}" / src.name
        dst.mkdir(parents=True, exist_ok=True)
        for f in src.iterdir():
            if not (dst / f.name).exists():
                os.link(f, dst / f.name)
    (target / "done").write_text("ok")
    return target


class TreeMemory:
    """Peak of the summed RSS of a process and its descendants, sampled in a thread."""

    def __init__(self, pid: int, every: float = 0.1):
        import psutil

        self.proc, self.every, self.peak, self._stop = psutil.Process(pid), every, 0, threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        import psutil

        while not self._stop.is_set():
            try:
                procs = [self.proc, *self.proc.children(recursive=True)]
                total = 0
                for p in procs:
                    try:
                        total += p.memory_info().rss
                    except psutil.Error:
                        pass
                self.peak = max(self.peak, total)
            except psutil.Error:
                return
            time.sleep(self.every)

    def stop(self) -> int:
        self._stop.set()
        self.thread.join()
        return self.peak


def advisor(args: list[str], env: dict | None = None) -> dict:
    """Run `advisor ARGS` (this checkout's code); wall, CPU of all processes, peak tree RSS, output digest."""
    env = {**os.environ, "PYTHONPATH": str(REPO), **(env or {})}
    with tempfile.TemporaryFile() as out:
        before = os.times()
        t0 = time.perf_counter()
        proc = subprocess.Popen([sys.executable, "-m", "advisor", *args], stdout=out, stderr=subprocess.PIPE, env=env)
        mem = TreeMemory(proc.pid)
        _, err = proc.communicate()
        wall = time.perf_counter() - t0
        peak = mem.stop()
        after = os.times()
        out.seek(0)
        digest = hashlib.sha256(out.read()).hexdigest()[:16]
    if proc.returncode not in (0, 1):
        raise SystemExit(f"advisor {' '.join(args)} failed ({proc.returncode}): {err.decode()[-2000:]}")
    cpu = (after.children_user - before.children_user) + (after.children_system - before.children_system)
    return {"wall": wall, "cpu": cpu, "peak_mb": peak / 2**20, "digest": digest}


def line(label: str, r: dict, anchor: dict | None = None, what: str = "wall") -> None:
    ratio = f"  x{anchor[what] / r[what]:.2f} vs anchor" if anchor and what != "peak_mb" else ""
    if anchor and what == "peak_mb":
        ratio = f"  x{r['peak_mb'] / anchor['peak_mb']:.2f} of anchor"
    print(f"  {label:<38} wall {r['wall']:7.1f} s  cpu {r['cpu']:7.1f} s  peak {r['peak_mb']:7.0f} MB"
          f"  out {r['digest']}{ratio}", flush=True)


def bench_jobs(data: Path) -> None:
    from advisor.executor import cores_available

    n = sum(1 for p in data.iterdir() if p.is_dir())
    print(f"jobs: advisor diagnose {n} runs --format json", flush=True)
    one = advisor(["diagnose", str(data), "--format", "json", "-q", "--jobs", "1"])
    line("--jobs 1 (anchor)", one)
    for jobs in sorted({2, cores_available()}):
        r = advisor(["diagnose", str(data), "--format", "json", "-q", "--jobs", str(jobs)])
        line(f"--jobs {jobs}", r, one)
        print(f"    speed-up x{one['wall'] / r['wall']:.2f} on {jobs} jobs ({cores_available()} cores available); "
              f"same output: {r['digest'] == one['digest']}", flush=True)


def bench_ray(data: Path) -> None:
    from advisor.executor import cores_available

    jobs = str(cores_available())
    print(f"ray: --executor ray vs local, --jobs {jobs}", flush=True)
    local = advisor(["diagnose", str(data), "--format", "json", "-q", "--jobs", jobs])
    line("local pool (anchor)", local)
    ray = advisor(["diagnose", str(data), "--format", "json", "-q", "--jobs", jobs, "--executor", "ray"],
                  env={"RAY_AUTH_MODE": "disabled"})
    line("ray (local instance started by advisor)", ray, local)
    print(f"    ray/local wall x{ray['wall'] / local['wall']:.2f}; same output: {ray['digest'] == local['digest']}",
          flush=True)


def bench_memory(data: Path, sizes: list[int]) -> None:
    print("memory: peak RSS of the whole process tree", flush=True)

    def cmd(path: Path) -> list[str]:
        return ["diagnose", str(path), "--format", "json", "-q", "-o", os.devnull]

    anchor = advisor(cmd(data))
    line(f"{sum(1 for p in data.iterdir() if p.is_dir()):,} runs (anchor)", anchor)
    for n in sizes:
        r = advisor(cmd(linked_sweep(data, n)))
        line(f"{n:,} runs", r, anchor, what="peak_mb")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--many", help="folder of the 1,000-run set (default: written by bench_ingest)")
    parser.add_argument("--only", choices=["jobs", "ray", "memory"])
    parser.add_argument("--sizes", default="10000", help="sweep sizes for the memory run (comma-separated)")
    args = parser.parse_args()
    data = many_runs(args.many)
    if args.only in (None, "jobs"):
        bench_jobs(data)
    if args.only in (None, "ray"):
        bench_ray(data)
    if args.only in (None, "memory"):
        bench_memory(data, [int(s) for s in args.sizes.split(",") if s])


if __name__ == "__main__":
    main()
