"""Whole-process benchmark of one diagnosis: `advisor diagnose` against TensorBoard's own loaders.

    python bench/bench_diagnose.py                    # all cases, median of 3
    python bench/bench_diagnose.py --cases big small help --repeat 5
    python bench/bench_diagnose.py --many 100         # the many-runs case on its first 100 runs
    python bench/bench_diagnose.py --compare /tmp/old # also time advisor from another checkout

Why whole processes: a user (or a CI job) pays the interpreter start and every import on each
call, so that is what is timed, each command a fresh process, the median of --repeat runs, its
wall time and its CPU time (user + system of the process and its children, the fair number on a
shared machine). The anchors are measured in the same run, on the same files, as processes too:
  EventAccumulator  TensorBoard's Python loader, size_guidance 0 (every point kept), Reload();
  tbparse           SummaryReader(...).scalars (a pandas table of every point);
  data server       TensorBoard's Rust data server (the `tensorboard-data-server` package's
                    binary, what `tensorboard --load_fast` runs), started with --reload once and
                    --samples-per-plugin scalars=all, timed from spawn to its "Finished load
                    cycle" log line: the points are loaded in its memory, not yet sent to a
                    client, so this anchor is a lower bound on its cost.
Ratios are anchor time / advisor time (above 1: advisor is faster). With --compare DIR, every
advisor command is also timed with DIR's advisor package (an older checkout: before/after in one
run, on the same load).

Cases (data written once under bench/out/ by bench_ingest.make_data, git-ignored):
  big    the 1M-scalar event file (20 tags x 50,000 steps): advisor diagnose vs the three anchors;
  small  one small run (5 tags x 500 steps): advisor diagnose vs the three anchors;
  help   `advisor --help` (target <= 0.12 s);
  many   the first --many runs of the many-runs set (1,000 x 5 tags x 500 steps): advisor
         diagnose --jobs 1 (one core: the per-run cost) and with --jobs left to its default, vs
         EventAccumulator and the data server loading the same folders.
Not part of the tests (timings belong here, not in unit tests). Run it with `nice` on a shared
machine and read the CPU columns first.
"""
from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))

PY = sys.executable
COMPARE: Path | None = None  # --compare: another checkout whose advisor is timed too

EA_SCRIPT = """
import sys
from pathlib import Path
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
n = 0
for folder in sorted({p.parent for p in Path(sys.argv[1]).rglob('*tfevents*')}):
    acc = EventAccumulator(str(folder), size_guidance={'scalars': 0, 'tensors': 0})
    acc.Reload()
    n += sum(len(acc.Scalars(t)) for t in acc.Tags()['scalars'])
print(n)
"""

TBPARSE_SCRIPT = """
import sys
from tbparse import SummaryReader
print(len(SummaryReader(sys.argv[1], pivot=False).scalars))
"""


@dataclass
class Timing:
    """Medians of one command over its repeats."""

    label: str
    walls: list[float] = field(default_factory=list)
    cpus: list[float] = field(default_factory=list)
    note: str = ""

    @property
    def wall(self) -> float:
        return statistics.median(self.walls) if self.walls else float("nan")

    @property
    def cpu(self) -> float:
        return statistics.median(self.cpus) if self.cpus else float("nan")


def env_for(repo: Path) -> dict[str, str]:
    """The environment that makes `python -m advisor` import the advisor package of `repo`."""
    return {**os.environ, "PYTHONPATH": str(repo) + os.pathsep + os.environ.get("PYTHONPATH", "")}


def run_process(argv: list[str], timeout: float, repo: Path = REPO) -> tuple[float, float]:
    """(wall seconds, CPU seconds of the process and its children) of one command run to its end,
    from `repo` (`python -m` puts the working folder first on sys.path, so that is whose advisor
    runs)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env_for(repo), cwd=repo,
                          timeout=timeout)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode not in (0, 1):  # 1: findings at --fail-on, a normal diagnosis
        raise RuntimeError(f"{' '.join(argv[:4])} ... exited {proc.returncode}: {proc.stderr.decode()[-400:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def data_server_binary() -> str | None:
    try:
        from tensorboard_data_server import server_binary
    except ImportError:
        return None
    return server_binary()


def run_data_server(binary: str, logdir: Path, timeout: float) -> tuple[float, float]:
    """(wall seconds from spawn to "Finished load cycle", CPU seconds the server used until then)."""
    with tempfile.TemporaryDirectory() as tmp:
        argv = [binary, "--logdir", str(logdir), "--port", "0", "--port-file", str(Path(tmp) / "port"),
                "--reload", "once", "--samples-per-plugin", "scalars=all", "-v", "--die-after-stdin"]
        t0 = time.perf_counter()
        proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            wall = None
            deadline = t0 + timeout
            for raw in proc.stderr:  # one log line at a time, until the load is done
                if b"Finished load cycle" in raw:
                    wall = time.perf_counter() - t0
                    break
                if time.perf_counter() > deadline:
                    break
            cpu = _process_cpu(proc.pid)
        finally:
            proc.stdin.close()  # --die-after-stdin: the server exits
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if wall is None:
            raise RuntimeError(f"data server did not finish loading {logdir} in {timeout:.0f} s")
        return wall, cpu


def _process_cpu(pid: int) -> float:
    """CPU seconds a live process has used (Linux /proc; NaN elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return float("nan")


def measure(label: str, argv: list[str] | None, repeat: int, timeout: float,
            server: tuple[str, Path] | None = None, repo: Path = REPO) -> Timing:
    t = Timing(label)
    for _ in range(repeat):
        wall, cpu = run_data_server(*server, timeout) if server else run_process(argv, timeout, repo)
        t.walls.append(wall)
        t.cpus.append(cpu)
    return t


def measure_advisor(label: str, argv: list[str], repeat: int, timeout: float) -> list[Timing]:
    """This checkout's advisor, then (with --compare) the other checkout's on the same command."""
    out = [measure(label, argv, repeat, timeout)]
    if COMPARE is not None:
        out.append(measure(f"  same, {COMPARE.name} checkout", argv, repeat, timeout, repo=COMPARE))
    return out


def advisor_argv(*args: str) -> list[str]:
    return [PY, "-m", "advisor", *args]


def diagnose_argv(path: Path, *extra: str) -> list[str]:
    return advisor_argv("diagnose", str(path), "--format", "json", "--fail-on", "never", "-q", *extra)


def anchors(path: Path, repeat: int, timeout: float, skip: set[str]) -> list[Timing]:
    out = []
    if "ea" not in skip:
        out.append(measure("EventAccumulator (load)", [PY, "-c", EA_SCRIPT, str(path)], repeat, timeout))
    if "tbparse" not in skip:
        out.append(measure("tbparse (load)", [PY, "-c", TBPARSE_SCRIPT, str(path)], repeat, timeout))
    binary = data_server_binary()
    if "server" not in skip and binary:
        out.append(measure("Rust data server (load)", None, repeat, timeout, server=(binary, path)))
    elif "server" not in skip:
        out.append(Timing("Rust data server (load)", note="not installed (pip install tensorboard-data-server)"))
    return out


def many_subset(many: Path, count: int) -> Path:
    """A folder holding the first `count` runs of the many-runs set (copied once, git-ignored)."""
    runs = sorted(p for p in many.iterdir() if p.is_dir())
    if count >= len(runs):
        return many
    sub = many.parent / f"{many.name}_first{count}"
    if not (sub / "done").exists():
        shutil.rmtree(sub, ignore_errors=True)
        sub.mkdir()
        for r in runs[:count]:
            shutil.copytree(r, sub / r.name)
        (sub / "done").write_text("ok")
    return sub


def print_case(title: str, ours: list[Timing], theirs: list[Timing], target: str = "") -> None:
    print(f"\n== {title}" + (f"   (target: {target})" if target else ""))
    print(f"{'command':44} {'wall s':>8} {'CPU s':>8}   ratios to the first line (wall, CPU)")
    ref = ours[0] if ours else None
    for t in ours + theirs:
        if not t.walls:
            print(f"{t.label:44} {'-':>8} {'-':>8}   {t.note}")
            continue
        ratio = ""
        if ref is not None and t is not ref and (any(t is u for u in theirs) or t.label.startswith("  same,")):
            ratio = f"{t.wall / ref.wall:7.1f}x {t.cpu / ref.cpu:7.1f}x"  # for --compare: old / new
        print(f"{t.label:44} {t.wall:8.3f} {t.cpu:8.3f}   {ratio} {t.note}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cases", nargs="+", default=["help", "small", "big", "many"],
                    choices=["help", "small", "big", "many"])
    ap.add_argument("--repeat", type=int, default=3, help="runs per command; the median is shown [3]")
    ap.add_argument("--many", type=int, default=1000, help="runs of the many-runs set to diagnose [1000]")
    ap.add_argument("--skip", nargs="*", default=[], choices=["ea", "tbparse", "server"], help="anchors to leave out")
    ap.add_argument("--timeout", type=float, default=900.0, help="seconds one command may take [900]")
    ap.add_argument("--compare", type=Path, default=None, metavar="DIR",
                    help="also time the advisor package of this checkout (e.g. an older commit's tree)")
    args = ap.parse_args()
    global COMPARE
    COMPARE = args.compare.resolve() if args.compare else None
    # one core per diagnosis, where the CLI has --jobs (it defaults to every core)
    jobs1 = ("--jobs", "1") if b"--jobs" in subprocess.run(advisor_argv("diagnose", "--help"), env=env_for(REPO),
                                                            cwd=REPO, capture_output=True).stdout else ()

    import bench_ingest  # writes the data sets on first use

    big, many, _ = bench_ingest.make_data(quick=False)
    small = sorted(p for p in many.iterdir() if p.is_dir())[0]
    skip = set(args.skip)
    commit = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    print(f"advisor at {commit or REPO}; python {sys.version.split()[0]} on {os.cpu_count()} cores, "
          f"load average {os.getloadavg()[0]:.2f}; median of {args.repeat} whole-process runs")
    if "help" in args.cases:
        print_case("advisor --help", measure_advisor("advisor --help", advisor_argv("--help"), args.repeat, args.timeout), [],
                   "<= 0.12 s")
    if "small" in args.cases:
        ours = measure_advisor("advisor diagnose (1 run, 5 tags x 500)", diagnose_argv(small, *jobs1), args.repeat, args.timeout)
        print_case(f"one small run: {small.name}", ours, anchors(small, args.repeat, args.timeout, skip), "<= 0.5 s wall")
    if "big" in args.cases:
        ours = measure_advisor("advisor diagnose (1M scalars)", diagnose_argv(big, *jobs1), args.repeat, args.timeout)
        print_case("1 file, 20 tags x 50,000 steps = 1,000,000 scalars", ours,
                   anchors(big, args.repeat, args.timeout, skip), ">= 17x EventAccumulator")
    if "many" in args.cases:
        sub = many_subset(many, args.many)
        n = sum(1 for p in sub.iterdir() if p.is_dir())
        ours = measure_advisor(f"advisor diagnose --jobs 1 ({n} runs)", diagnose_argv(sub, *jobs1), args.repeat, args.timeout)
        if jobs1:
            ours += measure_advisor(f"advisor diagnose --jobs default ({os.cpu_count()} cores)", diagnose_argv(sub),
                                    args.repeat, args.timeout)
        print_case(f"{n} small runs (5 tags x 500 steps each)", ours,
                   anchors(sub, args.repeat, args.timeout, skip | {"tbparse"}), "1,000 runs <= 5 s on 2 cores")
        print(f"per run, one core: {ours[0].cpu / n * 1e3:.1f} ms CPU, {ours[0].wall / n * 1e3:.1f} ms wall")
    print(f"\nload average at the end {os.getloadavg()[0]:.2f} (wall times inflate with it; CPU times much less)")


if __name__ == "__main__":
    main()
