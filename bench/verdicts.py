"""Per-run verdicts of labelled corpora, kept and compared: what a detector change moves, run by run.

    python bench/verdicts.py dump before.json CORPUS...         # this checkout's verdict on every labelled run
    python bench/verdicts.py diff before.json after.json        # both scored per generator, then every run that moved
    python bench/verdicts.py diff --aggregate b.json a.json     # scores and the count of runs moved only (blinds)
    python bench/verdicts.py errors after.json [--grep TEXT]    # misses, false alarms, expected action not first

Why: a change is judged on every verdict it moves, not on one corpus's score (bench/README.md), and the
corpora are regenerated per machine. `dump` diagnoses each labelled run of the corpora given exactly as
bench/score.py does (`diagnose_one`) and keeps its truth beside the prediction; dump once from a worktree
at the base commit and once from the change, then `diff`. Scores are bench/score.py's `score`, per
generator (truth.json's `generator`), since a gain on one generator that costs the other fits a generator.
"""
from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.score import diagnose_one, load_truth, score  # noqa: E402


def dump(out: Path, roots: list[Path], jobs: int) -> int:
    """Diagnose every labelled run of `roots`; write [{corpus, generator, truth, pred}] to `out`."""
    work, meta = [], []
    for root in roots:
        data = json.loads((root / "truth.json").read_text())
        generator = data.get("generator", "?") if isinstance(data, dict) else "?"
        for entry in load_truth(root / "truth.json"):
            work.append((str(root), entry["path"]))
            meta.append((root.name, generator, entry))
    with ProcessPoolExecutor(jobs) as pool:
        preds = list(pool.map(diagnose_one, work, chunksize=8))
    rows = [{"corpus": c, "generator": g, "truth": t, "pred": p} for (c, g, t), p in zip(meta, preds)]
    out.write_text(json.dumps(rows, default=str))
    return len(rows)


def _key(row: dict) -> str:
    return f"{row['corpus']}/{row['truth']['path']}"


def scores(rows: list[dict]) -> dict[str, dict]:
    """bench/score.py's result per generator."""
    out = {}
    for gen in sorted({r["generator"] for r in rows}):
        mine = [r for r in rows if r["generator"] == gen]
        truth = [dict(r["truth"], path=_key(r)) for r in mine]
        out[gen] = score(truth, {_key(r): r["pred"] for r in mine})
    return out


def summary_line(label: str, gen: str, n: int, res: dict) -> str:
    per = " ".join(f"{p[:4]} {v['precision']:.2f}/{v['recall']:.2f}" for p, v in res["per_pattern"].items())
    return (f"{label:7} {Path(gen).stem:20} {n:5d} runs  macro-F1 {res['macro_f1']:.3f}  "
            f"false alarms {res['healthy_false_alarms']}/{res['healthy_runs']}  expected among/first "
            f"{res['expected_among']:.3f}/{res['expected_first']:.3f}  | prec/recall {per}")


def moved(before: list[dict], after: list[dict]) -> list[str]:
    """One line per run whose patterns or first action differ between the two dumps."""
    by_key = {_key(r): r for r in after}
    lines = []
    for r in before:
        s = by_key.get(_key(r))
        if s is None:
            continue
        a, b = r["pred"], s["pred"]
        if a["patterns"] != b["patterns"] or a["first_action"] != b["first_action"]:
            t = r["truth"]
            lines.append(f"{_key(r)}  truth {t.get('patterns')} expected {t.get('expected_actions')}: "
                         f"{a['patterns']}/{a['first_action']} -> {b['patterns']}/{b['first_action']}")
    return lines


def errors(rows: list[dict]) -> list[str]:
    """Misses, false alarms and runs whose expected action is not the first one given: bench/score.py's
    own lists (its `one_of` and `also_ok` handling), one line per run with what the log and config were."""
    truth = [dict(r["truth"], path=_key(r)) for r in rows]
    res = score(truth, {_key(r): r["pred"] for r in rows})
    missed, alarms, late = defaultdict(list), defaultdict(list), set()
    for path, pattern, _ in res["misses"]:
        missed[path].append(pattern)
    for path, pattern, _ in res["alarms"]:
        alarms[path].append(pattern)
    late.update(path for path, *_ in res["wrong_expected"])
    lines = []
    for r in rows:
        key = _key(r)
        if key not in missed and key not in alarms and key not in late:
            continue
        t, p, cfg = r["truth"], r["pred"], r["truth"].get("config", {})
        lines.append(f"{key}  truth {sorted(t.get('patterns', []))} false {sorted(alarms[key])} missed {sorted(missed[key])} "
                     f"first {p['first_action']} expected {t.get('expected_actions') or []}  {t.get('writer')} "
                     f"{t.get('granularity')}{' train-only' if t.get('train_only') else ''} "
                     f"{cfg.get('optimizer')}@{cfg.get('lr')} rules {[f[0] for f in p.get('findings', [])]}")
    return lines


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    d = sub.add_parser("dump")
    d.add_argument("out", type=Path)
    d.add_argument("roots", type=Path, nargs="+")
    d.add_argument("--jobs", type=int, default=2)
    f = sub.add_parser("diff")
    f.add_argument("before", type=Path)
    f.add_argument("after", type=Path)
    f.add_argument("--aggregate", action="store_true",
                   help="print the scores and how many runs moved, not which: a blind corpus's runs stay unseen")
    e = sub.add_parser("errors")
    e.add_argument("dump", type=Path)
    e.add_argument("--grep", default="")
    args = ap.parse_args(argv)
    if args.cmd == "dump":
        print(f"{dump(args.out, args.roots, args.jobs)} labelled runs -> {args.out}")
    elif args.cmd == "diff":
        before, after = json.loads(args.before.read_text()), json.loads(args.after.read_text())
        for label, rows in (("before", before), ("after", after)):
            for gen, res in scores(rows).items():
                print(summary_line(label, gen, sum(r["generator"] == gen for r in rows), res))
        lines = moved(before, after)
        if not args.aggregate:
            print("\n".join(lines))
        print(f"{len(lines)} runs moved")
    else:
        print("\n".join(line for line in errors(json.loads(args.dump.read_text())) if args.grep in line))
    return 0


if __name__ == "__main__":
    sys.exit(main())
