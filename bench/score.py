"""Score advisor's diagnoses against labelled runs: per-pattern precision/recall/F1, false alarms
on healthy runs, and whether the first recommended action fits the labelled problem.

    python bench/score.py bench/out/corpus            # truth.json inside the folder
    python bench/score.py fixtures/runs --truth fixtures/truth.json --errors

This is how the hidden evaluation scores `advisor diagnose --format json`, run in-process on the
same pipeline (the JSON output itself is tested in tests/test_cli.py). `--errors` lists every
miss and false alarm with the run's path, for tuning.
"""
from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

CORE = ("divergence", "oscillation", "plateau", "slow_convergence", "overfitting")
PRIMARY_ORDER = CORE  # when a run has several labels, the first of these is the one to fix first
ACCEPTED_FIRST_ACTION = {
    "divergence": {"lower_lr"},
    "oscillation": {"lower_lr", "lr_schedule", "shuffle_data", "raise_batch_size"},
    "plateau": {"change_optimizer", "check_data", "lr_schedule", "raise_lr", "normalize_inputs", "change_init", "add_batchnorm"},
    "slow_convergence": {"raise_lr", "train_longer", "lr_range_test"},
    "overfitting": {"early_stop", "regularize", "augment_data"},
}


def load_truth(path: Path) -> list[dict]:
    data = json.loads(path.read_text())
    if isinstance(data, dict) and "runs" in data:
        data = data["runs"]
    if isinstance(data, dict):
        data = [{"path": k, **v} for k, v in data.items()]
    return data


def diagnose_one(args: tuple[str, str]) -> dict:
    root, rel = args
    from advisor.pipeline import diagnose_paths

    return prediction(rel, diagnose_paths([str(Path(root) / rel)]))


def prediction(rel: str, diagnosis) -> dict:
    """What `score` reads of one labelled run's diagnosis (patterns, first action, every action)."""
    if not diagnosis.runs:
        return {"path": rel, "patterns": [], "first_action": None, "error": "no run read", "findings": []}
    findings = [f for r in diagnosis.runs for f in r.findings]
    first = findings[0].recommendations[0].action if findings and findings[0].recommendations else None
    return {
        "path": rel,
        "patterns": sorted({f.pattern for f in findings}),
        "first_action": first,
        "actions": [r.action for f in findings for r in f.recommendations],
        "first_pattern": findings[0].pattern if findings else None,
        "findings": [(f.rule, f.pattern, f.severity, f.summary) for f in findings],
        "error": diagnosis.runs[0].error,
    }


def score(truth: list[dict], predictions: dict[str, dict]) -> dict:
    counts = {p: Counter() for p in CORE}
    healthy_runs = healthy_alarms = 0
    action_total = action_ok = 0
    expected_total = expected_among = expected_first = 0
    expected_by = {p: Counter() for p in CORE}  # per primary pattern: runs, among, first
    misses, alarms, wrong_actions, wrong_expected = [], [], [], []
    for entry in truth:
        pred = predictions[entry["path"]]
        true = set(entry.get("patterns", [])) & set(CORE)
        one_of = set(entry.get("one_of", []))
        if one_of:  # either reading is right: score the one found (or the first, if none)
            true |= {next((p for p in CORE if p in one_of and p in pred["patterns"]), sorted(one_of)[0])}
        # findings a careful reader also accepts for this run (ambiguous curves) are not false alarms
        got = (set(pred["patterns"]) & set(CORE)) - ((set(entry.get("also_ok", [])) | one_of) - true)
        for p in CORE:
            if p in true and p in got:
                counts[p]["tp"] += 1
            elif p in got:
                counts[p]["fp"] += 1
                alarms.append((entry["path"], p, sorted(true)))
            elif p in true:
                counts[p]["fn"] += 1
                misses.append((entry["path"], p, sorted(got)))
        if not true:
            healthy_runs += 1
            if got:
                healthy_alarms += 1
        else:
            primary = next(p for p in PRIMARY_ORDER if p in true)
            action_total += 1
            if pred["first_action"] in ACCEPTED_FIRST_ACTION[primary]:
                action_ok += 1
            else:
                wrong_actions.append((entry["path"], primary, pred["first_action"]))
        expected = entry.get("expected_actions") or []
        if true and expected:  # the action that fixes the cause the run was drawn for (OOS corpus)
            expected_total += 1
            among = bool(set(expected) & set(pred.get("actions", [])))
            first = pred["first_action"] in expected
            expected_among += among
            expected_first += first
            by = expected_by[next(p for p in PRIMARY_ORDER if p in true)]
            by["runs"] += 1
            by["among"] += among
            by["first"] += first
            if not first:
                wrong_expected.append((entry["path"], expected, pred["first_action"], among))
    per = {}
    for p, c in counts.items():
        prec = c["tp"] / (c["tp"] + c["fp"]) if c["tp"] + c["fp"] else float("nan")
        rec = c["tp"] / (c["tp"] + c["fn"]) if c["tp"] + c["fn"] else float("nan")
        f1 = 2 * prec * rec / (prec + rec) if prec == prec and rec == rec and prec + rec else 0.0
        per[p] = {"tp": c["tp"], "fp": c["fp"], "fn": c["fn"], "precision": prec, "recall": rec, "f1": f1}
    present = [p for p in CORE if counts[p]["tp"] + counts[p]["fn"] > 0]
    macro = sum(per[p]["f1"] for p in present) / len(present) if present else float("nan")
    return {
        "per_pattern": per, "macro_f1": macro, "healthy_runs": healthy_runs, "healthy_false_alarms": healthy_alarms,
        "first_action_accuracy": action_ok / action_total if action_total else float("nan"),
        "expected_runs": expected_total,
        "expected_among": expected_among / expected_total if expected_total else float("nan"),
        "expected_first": expected_first / expected_total if expected_total else float("nan"),
        "expected_by_pattern": {p: dict(c) for p, c in expected_by.items() if c["runs"]},
        "misses": misses, "alarms": alarms, "wrong_actions": wrong_actions, "wrong_expected": wrong_expected,
    }


def print_table(result: dict) -> None:
    """Per-pattern counts, precision, recall and F1, one line each."""
    print(f"{'pattern':18} {'tp':>4} {'fp':>4} {'fn':>4} {'prec':>6} {'recall':>6} {'f1':>6}")
    for p, r in result["per_pattern"].items():
        print(f"{p:18} {r['tp']:4d} {r['fp']:4d} {r['fn']:4d} {r['precision']:6.2f} {r['recall']:6.2f} {r['f1']:6.2f}")


def print_expected_by_pattern(result: dict) -> None:
    """The expected action among the recommendations and first, per primary labelled pattern."""
    for p, c in result.get("expected_by_pattern", {}).items():
        print(f"  expected action, {p:17} {c['runs']:3d} runs: among {c['among'] / c['runs']:6.1%}   first {c['first'] / c['runs']:6.1%}")


def print_errors(result: dict) -> None:
    """Every miss, false alarm and run whose expected action is not the first one given."""
    for path, p, got in result["misses"]:
        print(f"MISS   {p:17} {path}   (found {got})")
    for path, p, true in result["alarms"]:
        print(f"ALARM  {p:17} {path}   (truth {true})")
    for path, want, act, among in result["wrong_expected"]:
        print(f"EXPECT {'/'.join(want):17} {path}   first action {act}{' (expected one later)' if among else ''}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("root", type=Path)
    ap.add_argument("--truth", type=Path, default=None)
    ap.add_argument("--errors", action="store_true", help="list misses, false alarms and wrong first actions")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    truth = load_truth(args.truth or args.root / "truth.json")
    jobs = [(str(args.root), e["path"]) for e in truth]
    with ProcessPoolExecutor(args.jobs) as pool:
        preds = {p["path"]: p for p in pool.map(diagnose_one, jobs, chunksize=4)}
    result = score(truth, preds)
    if args.json:
        print(json.dumps(result, indent=2, default=str))
        return
    print(f"{len(truth)} labelled runs ({result['healthy_runs']} healthy)")
    print_table(result)
    print(f"macro-F1 {result['macro_f1']:.3f}   healthy false alarms {result['healthy_false_alarms']}/{result['healthy_runs']}"
          f"   first action right {result['first_action_accuracy']:.2%}")
    if result["expected_runs"]:
        print(f"expected action ({result['expected_runs']} runs): among recommendations {result['expected_among']:.1%}"
              f"   first {result['expected_first']:.1%}")
        print_expected_by_pattern(result)
    if args.errors:
        print_errors(result)
        for path, p, act in result["wrong_actions"]:
            print(f"ACTION {p:17} {path}   first action {act}")
        for path, pred in preds.items():
            if pred.get("error"):
                print(f"ERROR  {path}: {pred['error']}")


if __name__ == "__main__":
    main()
