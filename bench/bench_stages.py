"""CPU a run, stage by stage, of diagnosing a set of small runs (in one process, no pool).

    python bench/bench_stages.py [SET ...] [--runs 200] [--passes 2] [--compare OTHER_CHECKOUT]
    python bench/bench_stages.py SET --profile out.prof     # cProfile on a CPU clock
    python bench/bench_stages.py SET --dump out.txt         # every measurement, for a diff

SET is a folder of runs; `tb` (the default) is bench_ingest's many-runs set (5 tags x 500
steps, bench/out/many_1000x5x500) and `csv` the tests' CSV sweep (tests/sweep.py: 40 epochs,
train and val loss, four kinds), written under bench/out/ on first use.

The stages are what a worker does for one run (`pipeline.diagnose_packed`): discover (the set's
discovery shared out per run), read, roles.build_curves, signals.measure, engine.evaluate_run,
slim + pack. Each is timed with `time.process_time` around it, unprofiled; the last of
`--passes` passes is reported (the earlier ones warm the lazy imports and caches a long-lived
worker has warm). `--compare DIR` runs the same measurement with another checkout's advisor in
a child process (e.g. `git worktree add /tmp/base main`) and prints the ratio per stage: an
anchor measured in the same run, on the same load.

`--dump FILE` writes every measurement of every run (family, role, detected, steps, confidence,
values with floats by repr, note) in a fixed order: two checkouts' dumps are equal exactly when
the signals computed the same numbers, a stronger check than the reports, which show only what
the rules pick.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parents[1]
REPO = Path(os.environ.get("BENCH_STAGES_REPO", HERE))  # whose advisor is measured
sys.path.insert(0, str(REPO))

STAGES = ("discover", "read", "roles", "signals", "engine", "pack")


def set_path(name: str) -> Path:
    """The folder of a named set (written on first use) or the folder given."""
    out = HERE / "bench" / "out"
    if name == "tb":
        path = out / "many_1000x5x500"
        if not path.exists():
            subprocess.run([sys.executable, str(HERE / "bench" / "bench_ingest.py"), "--only", "many"], check=True)
        return path
    if name == "csv":
        path = out / "csv_sweep_1000"
        if not (path / "done").exists():
            sys.path.insert(0, str(HERE / "tests"))
            from sweep import write_sweep

            write_sweep(path, 1000)
            (path / "done").write_text("")
        return path
    return Path(name)


def stage_times(root: Path, runs: int, passes: int, profile: str | None, dump: str | None) -> dict:
    """CPU seconds a run per stage over the first `runs` runs of `root` (last pass)."""
    import dataclasses

    from advisor.engine import evaluate_run, load_rules, select_rules
    from advisor.ingest.discover import discover
    from advisor.packed import pack
    from advisor.pipeline import DiagnoseOptions, RunReport, _read_one, slim_report, with_byte_shares
    from advisor.roles import build_curves
    from advisor.signals import measure

    clock = time.process_time
    sources, _ = discover([root])
    sources = sorted(sources, key=lambda s: str(s.path))[:runs]
    items = with_byte_shares(sources)
    rules = select_rules(load_rules([]), (), ())
    options = DiagnoseOptions()
    profiler = None
    if profile:
        import cProfile

        profiler = cProfile.Profile(clock)
    dumped: list[str] = []
    for p in range(passes):
        spent = dict.fromkeys(STAGES, 0.0)
        last = p == passes - 1
        t = clock()
        found, _ = discover([root])  # the whole set's discovery, shared out per run below
        spent["discover"] = (clock() - t) * len(items) / max(1, len(found))
        if last and profiler:
            profiler.enable()
        for item in items:
            t = clock()
            run, _error = _read_one(item)
            t1 = clock()
            if run is None:
                continue
            curves, roles = build_curves(run, options.roles)
            t2 = clock()
            ms = measure(curves)
            t3 = clock()
            verdict = evaluate_run(rules, ms, curves, options.thresholds)
            t4 = clock()
            report = RunReport(run=run, metrics=roles, findings=verdict.findings,
                               abstentions=verdict.abstentions + verdict.superseded, curves=curves,
                               measurements=ms)
            pack(slim_report(report, "summary"))
            t5 = clock()
            for stage, dt in zip(STAGES[1:], (t1 - t, t2 - t1, t3 - t2, t4 - t3, t5 - t4)):
                spent[stage] += dt
            if last and dump is not None:
                dumped.append(f"## {run.path}")
                dumped.extend(_measurement_lines(ms))
        if last and profiler:
            profiler.disable()
    if profiler:
        profiler.dump_stats(profile)
    if dump is not None:
        Path(dump).write_text("\n".join(dumped) + "\n")
    n = max(1, len(items))
    return {"runs": len(items), "ms": {k: 1000 * v / n for k, v in spent.items()}}


def _measurement_lines(ms) -> list[str]:
    def canon(v):
        if isinstance(v, float):
            return repr(v)
        if isinstance(v, dict):
            return {str(k): canon(x) for k, x in sorted(v.items())}
        if isinstance(v, (list, tuple)):
            return [canon(x) for x in v]
        if hasattr(v, "item") and getattr(v, "shape", None) == ():
            return canon(v.item())
        if hasattr(v, "tolist"):
            return canon(v.tolist())
        return v if v is None or isinstance(v, (bool, int, str)) else repr(v)

    lines = []
    for m in sorted(ms, key=lambda m: (m.family, m.role)):
        lines.append(json.dumps([m.family, m.role, m.tag, bool(m.detected), canon(m.start_step), canon(m.end_step),
                                 canon(m.confidence), canon(m.values), m.note], sort_keys=True))
    return lines


def child(repo: Path, root: Path, runs: int, passes: int) -> dict:
    env = dict(os.environ, BENCH_STAGES_REPO=str(repo), PYTHONPATH=str(repo))
    out = subprocess.run([sys.executable, __file__, str(root), "--runs", str(runs), "--passes", str(passes), "--json"],
                         env=env, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def print_table(title: str, ours: dict, theirs: dict | None) -> None:
    print(f"\n{title}: {ours['runs']} runs, CPU ms a run (last of the passes)")
    head = f"{'stage':<10}{'this':>10}"
    if theirs:
        head += f"{'compare':>10}{'ratio':>9}"
    print(head)
    for stage in STAGES + ("total",):
        a = sum(ours["ms"].values()) if stage == "total" else ours["ms"][stage]
        row = f"{stage:<10}{a:>10.2f}"
        if theirs:
            b = sum(theirs["ms"].values()) if stage == "total" else theirs["ms"][stage]
            row += f"{b:>10.2f}{(b / a if a else float('nan')):>8.2f}x"
        print(row)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("sets", nargs="*", default=["tb", "csv"], help="tb, csv or folders of runs [tb csv]")
    ap.add_argument("--runs", type=int, default=200)
    ap.add_argument("--passes", type=int, default=2)
    ap.add_argument("--compare", type=Path, help="another checkout to measure in the same run")
    ap.add_argument("--profile", help="cProfile (CPU clock) of the last pass to this file")
    ap.add_argument("--dump", help="every measurement of the last pass to this file")
    ap.add_argument("--json", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    load = os.getloadavg()
    for name in args.sets:
        root = set_path(name)
        ours = stage_times(root, args.runs, args.passes, args.profile, args.dump)
        if args.json:
            print(json.dumps(ours))
            continue
        theirs = child(args.compare, root, args.runs, args.passes) if args.compare else None
        print_table(f"{name} ({root}, this = {REPO}" + (f", compare = {args.compare}" if theirs else "") + ")",
                    ours, theirs)
    if not args.json:
        print(f"\nload average at start {load[0]:.2f}, at end {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
