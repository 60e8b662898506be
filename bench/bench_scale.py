"""Many-run benchmark: `advisor diagnose` over sweeps, on all cores, on Ray, and its peak memory.

    python bench/bench_scale.py [--many DIR] [--only jobs|ray|memory] [--sizes 10000,100000]
                                [--sweeps /tmp/sweeps] [--compare OTHER_CHECKOUT]

Data: bench_ingest's many-runs set (1,000 run folders, 5 tags x 500 steps, torch SummaryWriter),
written under bench/out/ unless --many points at an existing copy. Larger sweeps (10,000,
100,000 runs) are that set hard-linked N times (`--sweeps`/sweep_N, default bench/out; it must be
on the same file system): distinct runs to advisor, no extra disk but one inode a run folder.

Each measurement runs whole `advisor` processes (imports, pool start and all) and prints ratios
against anchors measured in the same run:
  jobs:   --jobs 1 vs --jobs 2 (vs --jobs <cores>): wall time, speed-up, identical JSON output;
  ray:    --executor ray with 1 CPU vs all cores (a local Ray cluster started for each), as
          whole processes and, Ray started and warmed first, the diagnosis alone; the local
          pool beside it; identical output;
  memory: peak memory of the process tree (parent + workers: summed PSS, which counts the
          pages the forked workers share with the parent once; sampled every 0.2 s) of `advisor diagnose --format json` for the sizes asked, against the
          1,000-run anchor; with --compare, the same commands with another checkout's advisor
          (e.g. `git worktree add /tmp/base main`) for a before/after in one run.
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


def linked_sweep(source: Path, n: int, root: Path = OUT) -> Path:
    """`n` runs: the source's run folders hard-linked as many times as needed."""
    target = root / f"sweep_{n}"
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
    """Peaks of a process tree's memory, sampled in a thread: the summed PSS (proportional set
    size: a page shared by the parent and its forked workers counted once, split between them;
    what the tree really costs), the summed RSS (which counts shared pages once per process),
    and the parent's own RSS."""

    def __init__(self, pid: int, every: float = 0.2):
        import psutil

        self.proc, self.every, self._stop = psutil.Process(pid), every, threading.Event()
        self.peak = self.peak_rss = self.peak_parent = 0
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        import psutil

        while not self._stop.is_set():
            try:
                procs = [self.proc, *self.proc.children(recursive=True)]
                pss = rss = 0
                for p in procs:
                    try:
                        full = p.memory_full_info()
                        pss, rss = pss + full.pss, rss + full.rss
                        if p.pid == self.proc.pid:
                            self.peak_parent = max(self.peak_parent, full.rss)
                    except psutil.Error:
                        pass
                self.peak, self.peak_rss = max(self.peak, pss), max(self.peak_rss, rss)
            except psutil.Error:
                return
            time.sleep(self.every)

    def stop(self) -> tuple[int, int, int]:
        self._stop.set()
        self.thread.join()
        return self.peak, self.peak_rss, self.peak_parent


def advisor(args: list[str], env: dict | None = None, checkout: Path = REPO) -> dict:
    """Run `advisor ARGS` (this checkout's code, or `checkout`'s); wall, CPU of all processes, peak
    tree RSS, output digest."""
    env = {**os.environ, "PYTHONPATH": str(checkout), **(env or {})}
    with tempfile.TemporaryFile() as out:
        before = os.times()
        t0 = time.perf_counter()
        proc = subprocess.Popen([sys.executable, "-m", "advisor", *args], stdout=out, stderr=subprocess.PIPE, env=env)
        mem = TreeMemory(proc.pid)
        _, err = proc.communicate()
        wall = time.perf_counter() - t0
        peak, peak_rss, peak_parent = mem.stop()
        after = os.times()
        out.seek(0)
        digest = hashlib.sha256(out.read()).hexdigest()[:16]
    if proc.returncode not in (0, 1):
        raise SystemExit(f"advisor {' '.join(args)} failed ({proc.returncode}): {err.decode()[-2000:]}")
    cpu = (after.children_user - before.children_user) + (after.children_system - before.children_system)
    return {"wall": wall, "cpu": cpu, "peak_mb": peak / 2**20, "rss_mb": peak_rss / 2**20,
            "parent_mb": peak_parent / 2**20, "digest": digest}


def line(label: str, r: dict, anchor: dict | None = None, what: str = "wall") -> None:
    ratio = f"  x{anchor[what] / r[what]:.2f} vs anchor" if anchor and what != "peak_mb" else ""
    if anchor and what == "peak_mb":
        ratio = f"  x{r['peak_mb'] / anchor['peak_mb']:.2f} of anchor"
    print(f"  {label:<38} wall {r['wall']:7.1f} s  cpu {r['cpu']:7.1f} s  peak {r['peak_mb']:7.0f} MB PSS"
          f" ({r['rss_mb']:.0f} MB summed RSS, parent {r['parent_mb']:.0f} MB)  out {r['digest']}{ratio}", flush=True)


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
    """Ray's fan-out measured two ways, against anchors of the same run:
    - whole processes (what a user waits for, Ray's start included): local --jobs 1, then
      --executor ray with 1 and with all cores;
    - in one process per configuration, the Ray instance started and its workers warmed first,
      then only the diagnosis timed: Ray with 1 CPU (the anchor), Ray with all cores, and the
      local pool with 1 and all workers for comparison. CPU is summed over the whole process
      tree (raylet and Ray workers included)."""
    from advisor.executor import cores_available

    cores = cores_available()
    n = sum(1 for p in data.iterdir() if p.is_dir())
    print(f"ray: advisor diagnose {n} runs --format json on {cores} cores available "
          f"(speed-up ceiling: x{cores}; on 2 cores expect ~x1.6-1.9: the parent's discovery, sort and "
          "JSON writing are serial)", flush=True)
    env = {"RAY_AUTH_MODE": "disabled"}
    one = advisor(["diagnose", str(data), "--format", "json", "-q", "--jobs", "1"])
    line("whole process: local --jobs 1 (anchor)", one)
    ray_one = advisor(["diagnose", str(data), "--format", "json", "-q", "--jobs", "1", "--executor", "ray"], env=env)
    line("whole process: ray --jobs 1", ray_one, one)
    for jobs in sorted({2, cores}):
        r = advisor(["diagnose", str(data), "--format", "json", "-q", "--jobs", str(jobs), "--executor", "ray"], env=env)
        line(f"whole process: ray --jobs {jobs}", r, one)
        print(f"    x{ray_one['wall'] / r['wall']:.2f} vs ray --jobs 1; same output as local --jobs 1: "
              f"{r['digest'] == one['digest']}", flush=True)
    print("  diagnosis only (Ray started and its workers warmed first):", flush=True)
    anchor = _in_process(data, "ray", 1)
    _inside_line("ray, 1 CPU (anchor)", anchor)
    for jobs in sorted({2, cores}):
        r = _in_process(data, "ray", jobs)
        _inside_line(f"ray, {jobs} CPUs", r, anchor)
    for jobs in sorted({1, 2, cores}):
        _inside_line(f"local pool, {jobs} workers", _in_process(data, "local", jobs), anchor)


def _in_process(data: Path, executor: str, jobs: int) -> dict:
    import json

    out = subprocess.run([sys.executable, __file__, "--inside", executor, str(jobs), str(data)], capture_output=True,
                         text=True, env={**os.environ, "PYTHONPATH": str(REPO), "RAY_AUTH_MODE": "disabled"})
    if out.returncode:
        raise SystemExit(f"--inside {executor} {jobs} failed: {out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def _inside_line(label: str, r: dict, anchor: dict | None = None) -> None:
    ratio = f"  x{anchor['wall'] / r['wall']:.2f} vs anchor" if anchor else ""
    same = f"  same output as anchor: {r['digest'] == anchor['digest']}" if anchor else ""
    print(f"  {label:<38} start {r['start']:5.1f} s  warm {r['warm']:5.1f} s  diagnose wall {r['wall']:6.1f} s  "
          f"cpu {r['cpu']:6.1f} s{ratio}{same}", flush=True)


def inside(executor: str, jobs: int, data: Path) -> None:
    """One configuration, timed in this process (the `--inside` mode of this script)."""
    import json

    import psutil

    from advisor.pipeline import Execution, diagnose_paths
    from advisor.report.json_report import render_chunks

    def tree_cpu() -> float:
        total = 0.0
        me = psutil.Process()
        for p in [me, *me.children(recursive=True)]:
            try:
                t = p.cpu_times()
                total += t.user + t.system + t.children_user + t.children_system
            except psutil.Error:
                pass
        return total

    runs = sorted(p for p in data.iterdir() if p.is_dir())
    execution = Execution(jobs=jobs, executor=executor)
    t0 = time.perf_counter()
    if executor == "ray":
        import ray

        ray.init(num_cpus=jobs, include_dashboard=False, log_to_driver=False)
    start = time.perf_counter() - t0
    t1 = time.perf_counter()
    diagnose_paths(runs[:4 * jobs], keep="summary", execution=execution)  # workers import and warm up
    warm = time.perf_counter() - t1
    cpu0, t2 = tree_cpu(), time.perf_counter()
    diagnosis = diagnose_paths([data], keep="summary", execution=execution)
    wall, cpu = time.perf_counter() - t2, tree_cpu() - cpu0
    digest = hashlib.sha256("".join(render_chunks(diagnosis)).encode()).hexdigest()[:16]
    if executor == "ray":
        ray.shutdown()
    print(json.dumps({"start": start, "warm": warm, "wall": wall, "cpu": cpu, "digest": digest}))


def bench_memory(data: Path, sizes: list[int], sweeps: Path = OUT, compare: Path | None = None) -> None:
    print("memory: peak RSS of the whole process tree", flush=True)

    def cmd(path: Path) -> list[str]:
        return ["diagnose", str(path), "--format", "json", "-q", "-o", os.devnull]

    anchor = advisor(cmd(data))
    n_anchor = sum(1 for p in data.iterdir() if p.is_dir())
    line(f"{n_anchor:,} runs (anchor)", anchor)
    if compare:
        base = advisor(cmd(data), checkout=compare)
        line(f"{n_anchor:,} runs, {compare.name}", base, anchor, what="peak_mb")
    for n in sizes:
        path = linked_sweep(data, n, sweeps)
        r = advisor(cmd(path))
        line(f"{n:,} runs", r, anchor, what="peak_mb")
        print(f"    {r['peak_mb'] * 2**20 / n / 1024:.1f} KB a run (whole tree); "
              f"{(r['peak_mb'] - anchor['peak_mb']) * 2**20 / (n - n_anchor) / 1024:.2f} KB a run above the anchor; "
              f"{n / r['wall']:.0f} runs/s wall, {r['cpu'] / n * 1000:.1f} ms CPU a run", flush=True)
        if compare:
            b = advisor(cmd(path), checkout=compare)
            line(f"{n:,} runs, {compare.name}", b, r, what="peak_mb")
            print(f"    same output: {b['digest'] == r['digest']}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--many", help="folder of the 1,000-run set (default: written by bench_ingest)")
    parser.add_argument("--only", choices=["jobs", "ray", "memory"])
    parser.add_argument("--sizes", default="10000", help="sweep sizes for the memory run (comma-separated)")
    parser.add_argument("--sweeps", type=Path, default=OUT, help="where the hard-linked sweeps go (same file system)")
    parser.add_argument("--compare", type=Path, help="another checkout whose advisor to measure beside this one")
    parser.add_argument("--inside", nargs=3, metavar=("EXECUTOR", "JOBS", "DATA"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.inside:
        inside(args.inside[0], int(args.inside[1]), Path(args.inside[2]))
        return
    data = many_runs(args.many)
    if args.only in (None, "jobs"):
        bench_jobs(data)
    if args.only in (None, "ray"):
        bench_ray(data)
    if args.only in (None, "memory"):
        bench_memory(data, [int(s) for s in args.sizes.split(",") if s], args.sweeps, args.compare)


if __name__ == "__main__":
    main()
