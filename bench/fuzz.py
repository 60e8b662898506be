"""The full fuzz campaign (issue 14), on demand: >= 10,000 mutated copies of the real logs and fixtures.

Every case is one run folder copied to scratch, one of its log files mutated by one of the
operators of tests/fuzzing.py, then `advisor diagnose --format json` in a forked child under
RLIMIT_AS and a timeout. Printed at the end, and written to bench/out/fuzz.json:
- tracebacks, hangs (past the timeout, and again when re-run alone with 5x the time: on a loaded
  machine a 3 s case can pass 60 s of wall time), cases whose peak RSS reached the memory threshold;
- exit-code flips 1 -> 0 after a one-value mutation, split into "run lost or errored" and "run read
  but most of its points lost" (bugs: the W&B framing lost whole blocks this way) and "run read
  and diagnosed, symptom gone" (the value carried the symptom: informational);
- every control's point count (the unmutated seed in the sandbox) against an in-process read, and
  controls re-run every `--control-every` cases against their first reading (state leaking between cases);
- peak RSS and the slowest case.

Run: `nice -n 10 python bench/fuzz.py --cases 10000` (about 1-2 h on 2 busy cores). Not a test;
tests/test_fuzz.py runs a seeded sample of the same campaign.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import asdict
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import fuzzing  # noqa: E402


def controls_off(controls: dict[str, fuzzing.Outcome], seeds: list[fuzzing.Seed]) -> list[str]:
    """Seeds whose unmutated reading in the sandbox differs from an in-process read of the same folder.

    The in-process counts are the ones tests/test_*real* hold against manifest.json (which counts
    numeric columns except epoch/step, see MANIFEST.md), so equal counts here mean the sandboxed CLI
    reads every control exactly as the tested reader does."""
    from advisor.pipeline import read_runs

    wrong = []
    for seed in seeds:
        runs, _ = read_runs([seed.path])
        expected = sum(r.points for r in runs)
        got = sum(r["points"] for r in controls[seed.name].runs.values())
        if got != expected:
            wrong.append(f"{seed.name}: {got} points in the sandbox, {expected} read in process")
    return wrong


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=14)
    parser.add_argument("--timeout", type=float, default=60.0)
    parser.add_argument("--memory-mb", type=float, default=1024, help="peak RSS a case must stay under")
    parser.add_argument("--cap-mb", type=float, default=2048, help="RLIMIT_AS of each case")
    parser.add_argument("--control-every", type=int, default=250)
    parser.add_argument("--max-seed-mb", type=float, default=4)
    parser.add_argument("--out", default=str(REPO / "bench" / "out" / "fuzz.json"), help="where the figures go")
    args = parser.parse_args()

    fuzzing.preload()
    seeds = fuzzing.seeds(fuzzing.default_roots(), max_bytes=int(args.max_seed_mb * (1 << 20)))
    started = time.time()
    controls = {s.name: fuzzing.run_case(s.path, args.timeout, int(args.cap_mb * (1 << 20))) for s in seeds}
    controls_wrong = controls_off(controls, seeds)
    print(f"{len(seeds)} seeds, {sum(len(s.files) for s in seeds)} files, {len(fuzzing.OPERATORS)} operators; "
          f"controls read in {time.time() - started:.0f} s; control point-count mismatches: {len(controls_wrong)}", flush=True)

    def progress(done: int, summary: fuzzing.Summary) -> None:
        if done % 500 == 0:
            print(f"  {done}/{args.cases} cases, {time.time() - started:.0f} s: {len(summary.tracebacks)} tracebacks, "
                  f"{len(summary.hangs)} hangs, peak {summary.peak_rss_mb:.0f} MB, "
                  f"{len(summary.lost_run_flips)} lost-run flips", flush=True)

    summary = fuzzing.campaign(seeds, args.cases, args.seed, args.timeout, args.memory_mb, controls,
                               args.control_every, progress)
    elapsed = time.time() - started
    result = {**asdict(summary), "control_count_mismatches": controls_wrong, "seconds": elapsed, "seeds": len(seeds),
              "operators": len(fuzzing.OPERATORS)}
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2))
    print(f"\n{summary.cases} mutated files ({summary.skipped} draws not applicable) in {elapsed:.0f} s")
    print(f"  tracebacks: {len(summary.tracebacks)}   hangs > {args.timeout:.0f} s: {len(summary.hangs)}   "
          f"cases >= {args.memory_mb:.0f} MB: {len(summary.over_memory)}")
    print(f"  peak RSS {summary.peak_rss_mb:.0f} MB, slowest case {summary.max_seconds:.1f} s wall, "
          f"most CPU {summary.max_cpu_seconds:.1f} s; {len(summary.slow_under_load)} past the timeout once but "
          f"done when re-run with 5x the time (load, not a hang)")
    print(f"  exit 1 -> 0 after one corrupted value: {len(summary.lost_run_flips)} with the run lost or errored, "
          f"{len(summary.points_lost_flips)} with most of its points lost, "
          f"{len(summary.signal_flips)} with the run read and diagnosed (the value carried the symptom)")
    print(f"  controls: {len(controls_wrong)} seeds off their in-process point count, "
          f"{len(summary.control_mismatches)} re-runs differing from the first reading")
    for label, items in (("traceback", summary.tracebacks), ("hang", summary.hangs),
                         ("slow under load", summary.slow_under_load),
                         ("memory", summary.over_memory), ("lost run", summary.lost_run_flips),
                         ("points lost", summary.points_lost_flips), ("symptom gone", summary.signal_flips),
                         ("control count", controls_wrong), ("control", summary.control_mismatches)):
        for item in items[:10]:
            print(f"  {label}: {item}")
    sys.exit(0 if summary.ok() and not controls_wrong else 1)


if __name__ == "__main__":
    main()
