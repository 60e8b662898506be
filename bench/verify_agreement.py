"""Agreement benchmark for `advisor verify`: do short, adaptive verifications agree with full-length
multi-seed reruns, and what do they cost?

Method (run on demand; CPU, about 4 minutes on an idle 2-core box, 16 at load 20, with `nice`):

1. Cases: real small trainings (advisor.verify.builtins.train on scikit-learn data) with a fault,
   on tasks and with faults that differ from the built-in experiments (advisor.verify.experiments
   uses digits-mlp and synth-mlp; these use moons-mlp, cancer-mlp and digits-cnn).
2. Each case's original run (seed 0, full length) is written as a Lightning CSV log and diagnosed
   by the real pipeline.
3. The verifier: `verify_findings` exactly as `advisor verify RUN --entry ... --value ...` runs it
   with its defaults (each finding's first recommendation that can run, original run reused as
   seed 0, budget from where the finding's criterion holds, sequential seeds, 1.5x cap, confidence
   0.9; `--all-recommendations` here verifies every one). The `--value` maps spell the rules'
   `sgd_momentum`/`cross_entropy` the built-in trainer's way, as a user would. A deliberately
   wrong LR move is verified in a second session, as a user's `--only-try` would be (its compute is
   reported apart: it is not part of what `advisor verify RUN` costs).
4. Truth: baseline and each verified change rerun at FULL length with 3 seeds, measured with the
   finding's own judge at the original log's cadence, decided by the same rule as the verifier
   (advisor.verify.verdict.decide): confirmed = helps, refuted = does-not-help, anything else =
   no clear truth (reported, left out of the agreement).

Scores: agreement over all tested candidates with a clear truth (a verdict other than confirmed/
refuted counts as a disagreement), decided rate, not-reproduced rate over the faults that the
full-length baseline shows, compute ratio per case (steps trained by the `advisor verify RUN`
session / original steps; the truth reruns and the control session are not counted).

    nice -n 10 python bench/verify_agreement.py            # everything, table on stdout
    nice -n 10 python bench/verify_agreement.py --json out.json
"""
from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import tempfile
import time
from pathlib import Path

CASES = [
    # name, config (overlaid on the task's healthy defaults), steps
    ("moons-lr-explodes", {"task": "moons-mlp", "optimizer": "sgd", "init": "kaiming", "lr": 8.0, "explode_at": None}, 300),
    ("moons-lr-too-low", {"task": "moons-mlp", "optimizer": "sgd", "lr": 0.003}, 400),
    ("moons-overfit", {"task": "moons-mlp", "weight_decay": 0.0, "train_size": 60, "hidden": 128}, 800),
    ("cancer-raw-inputs", {"task": "cancer-mlp", "normalize_inputs": False, "lr": 0.003}, 400),
    ("cancer-overfit", {"task": "cancer-mlp", "weight_decay": 0.0, "train_size": 80, "hidden": 64, "lr": 0.01}, 600),
    ("cancer-lr-too-low", {"task": "cancer-mlp", "optimizer": "sgd", "lr": 0.0003}, 400),
    ("cnn-lr-too-high", {"task": "digits-cnn", "lr": 0.5}, 300),
    ("cnn-small-batch", {"task": "digits-cnn", "batch_size": 8, "lr": 0.15}, 300),
    ("cnn-lr-too-low", {"task": "digits-cnn", "optimizer": "sgd", "lr": 0.003}, 300),
    ("moons-saddle", {"task": "moons-mlp", "activation": "sigmoid", "init": "small", "depth": 4,
                      "optimizer": "sgd", "lr": 0.3}, 600),
]
TRUTH_SEEDS = 3


def _original(config: dict, steps: int, root: Path, name: str):
    """Train seed 0 at full length, write it as a Lightning CSV log, diagnose it for real."""
    from advisor.pipeline import diagnose_paths
    from advisor.verify import builtins as B
    from advisor.verify.logwriters import Recorder, write_lightning_csv

    rec = Recorder(meta={"name": name})
    rec.meta.update(B.train(config, steps, 0, rec))
    logdir = write_lightning_csv(rec, root / name)
    return diagnose_paths([str(logdir)]).runs[0]


def _full_runs(config: dict, steps: int, seeds: int, every: int):
    from advisor.verify.entry import BUILTIN_TRAIN, entry_config, run_entry_trial, thin_run

    runs = []
    for seed in range(seeds):
        t = run_entry_trial(BUILTIN_TRAIN, entry_config(BUILTIN_TRAIN, config, set(config)), steps, seed, "cpu", "truth")
        runs.append(t)
        if t.run is not None:
            t.run = thin_run(t.run, every, steps)
    return runs


def _truth(judge, base_trials, fix_trials) -> tuple[str, str]:
    from advisor.verify import verdict as V
    from advisor.verify.session import _numbers

    base, fix = _numbers(judge, base_trials), _numbers(judge, fix_trials)
    if fix.errors and not fix.numbers:
        return "not-expressible", fix.errors[0]
    verdict, _, reason = V.decide(judge, base, fix)
    label = {"confirmed": "helps", "refuted": "does-not-help"}.get(verdict, "unclear")
    return label, reason


# how the built-in trainer spells what the rules call sgd_momentum and cross_entropy: passed as a
# user passes `--value` to `advisor verify`
VALUE_MAPS = {"optimizer": {"sgd_momentum": "momentum"}, "loss": {"cross_entropy": "ce"}}


def _wrong_move(report, config: dict) -> dict:
    """The deliberately wrong LR move for the case's first finding, as a user's `--try` is given."""
    f = next(f for f in report.findings if f.severity != "info")
    moves = {r.action for r in f.recommendations}
    up = "lower_lr" in moves or f.pattern in ("divergence", "oscillation")
    return {"lr": float(f"{config['lr'] * (3.0 if up else 0.33):.6g}")}


def _arm_of(v, config: dict, original: int) -> tuple[dict, int]:
    """The config and length a verification's fix trained with, for its full-length truth."""
    from advisor.verify.entry import mapped_values

    cfg, steps = dict(config), original
    for key, spec in v.change.items():
        value = spec.get("set") if isinstance(spec, dict) else spec
        if key == "max_steps":
            steps = int(value)
        else:
            cfg[key] = value
    return mapped_values(cfg, VALUE_MAPS), steps


def run(cases=CASES, progress=print, all_recommendations: bool = False) -> dict:
    from advisor.verify import verdict as V
    from advisor.verify.builtins import resolve_config
    from advisor.verify.entry import BUILTIN_TRAIN
    from advisor.verify.session import VerifyOptions, verify_findings
    from advisor.verify.trial import log_cadence, original_length

    root = Path(tempfile.mkdtemp(prefix="advisor-agreement-"))
    rows, case_rows = [], []
    t0 = time.perf_counter()
    for name, cfg, steps in cases:
        config = resolve_config(cfg)
        report = _original(config, steps, root, name)
        every = log_cadence(report.run, report.metrics.get("train_loss"))
        original = original_length(report.run)
        findings = [f for f in report.findings if f.severity != "info"]
        progress(f"{name}: {len(report.findings)} finding(s) {[f.rule for f in report.findings]}")
        if not findings:
            case_rows.append({"case": name, "findings": [], "ratio": None})
            continue
        # the verifier, as `advisor verify RUN --entry ... --value ...` runs it (defaults otherwise) ...
        opts = VerifyOptions(entry=BUILTIN_TRAIN, device="cpu", log_every=every, value_maps=VALUE_MAPS,
                             all_recommendations=all_recommendations)
        verdicts = verify_findings(report.findings, dict(config), {}, opts, original, original_run=report.run)
        ratio = verdicts[0].compute.get("ratio") if verdicts else None
        # ... and the wrong move as a user's own session: `advisor verify RUN ... --only-try lr=WRONG`
        opts = VerifyOptions(entry=BUILTIN_TRAIN, device="cpu", log_every=every, value_maps=VALUE_MAPS,
                             tries=[_wrong_move(report, config)], only_tries=True)
        control = verify_findings(report.findings, dict(config), {}, opts, original, original_run=report.run)
        control_ratio = control[0].compute.get("ratio") if control else None
        verdicts += control
        # truth: baseline and each verified change rerun at full length, 3 seeds
        base_full = _full_runs(config, original, TRUTH_SEEDS, every)
        by_rule = {f.rule: f for f in findings}
        shows, truths = {}, {}
        for v in verdicts:
            f = by_rule[v.rule]
            judge = V.judge_for(f)
            if f.rule not in shows:
                flags = [V.measure_trial(judge, t.run).problem for t in base_full if t.run is not None]
                shows[f.rule] = sum(bool(x) for x in flags) * 2 >= max(1, len(flags))
            note = v.notes[0] if v.notes else ""
            if note.startswith("fix not run: the change leaves"):
                truth = ("no-change", note)
            elif note.startswith("fix not run: the built-in trainer cannot"):
                truth = ("not-expressible", note)
            else:
                fcfg, fsteps = _arm_of(v, config, original)
                key = (f.rule, repr(sorted(fcfg.items())), fsteps)
                if key not in truths:
                    truths[key] = _truth(judge, base_full, _full_runs(fcfg, fsteps, TRUTH_SEEDS, every))
                truth = truths[key]
            rows.append({"case": name, "rule": f.rule, "pattern": f.pattern, "action": v.action,
                         "change": _change_text(v.change), "truth": truth[0], "truth_reason": truth[1],
                         "verdict": v.verdict, "confidence": v.confidence, "fault_in_full_run": shows[f.rule],
                         "agree": (truth[0], v.verdict) in (("helps", "confirmed"), ("does-not-help", "refuted")),
                         "steps": v.steps, "seeds": v.seeds, "note": note})
        case_rows.append({"case": name, "findings": sorted(shows), "ratio": ratio, "control_ratio": control_ratio,
                          "original_steps": original})
        progress(f"{name}: compute {ratio}x (+{control_ratio}x for the control), {sum(r['agree'] for r in rows if r['case'] == name)}/"
                 f"{sum(r['case'] == name for r in rows)} agree")
    return {"rows": rows, "cases": case_rows, "wall_s": round(time.perf_counter() - t0, 1)}


def _change_text(change: dict) -> str:
    from advisor.verify.textout import change_text

    return change_text(change)


def summarize(result: dict) -> dict:
    rows = result["rows"]
    tested = [r for r in rows if r["truth"] in ("helps", "does-not-help")]
    agree = sum(r["agree"] for r in tested)
    decided = sum(r["verdict"] in ("confirmed", "refuted") for r in tested)
    faults = [r for r in tested if r["fault_in_full_run"]]
    notrep = sum(r["verdict"] == "not-reproduced" for r in faults)
    ratios = [c["ratio"] for c in result["cases"] if c.get("ratio") is not None]
    return {
        "candidates": len(rows),
        "tested_with_clear_truth": len(tested),
        "unclear_truth": sum(r["truth"] == "unclear" for r in rows),
        "not_expressible": sum(r["truth"] == "not-expressible" for r in rows),
        "no_change": sum(r["truth"] == "no-change" for r in rows),
        "agreement": round(agree / len(tested), 3) if tested else None,
        "decided_rate": round(decided / len(tested), 3) if tested else None,
        "not_reproduced_rate": round(notrep / len(faults), 3) if faults else None,
        "compute_median": round(statistics.median(ratios), 3) if ratios else None,
        "compute_max": round(max(ratios), 3) if ratios else None,
        "control_compute_median": _median([c.get("control_ratio") for c in result["cases"]]),
        "cases_with_findings": len(ratios),
        "wall_s": result["wall_s"],
    }


def _median(values) -> float | None:
    values = [v for v in values if v is not None]
    return round(statistics.median(values), 3) if values else None


def table(result: dict) -> str:
    lines = [f"{'case':<20} {'rule':<7} {'action':<16} {'change':<22} {'truth':<14} {'verdict':<15} conf  steps seeds"]
    for r in result["rows"]:
        conf = "" if r["confidence"] is None else f"{r['confidence']:.2f}"
        lines.append(f"{r['case']:<20} {r['rule']:<7} {r['action']:<16} {r['change'][:22]:<22} {r['truth']:<14} "
                     f"{r['verdict']:<15} {conf:<5} {r['steps']:>5} {r['seeds']:>5}" + ("" if r["agree"] else "  *"))
    lines.append("")
    for c in result["cases"]:
        ratio = "-" if c.get("ratio") is None else f"{c['ratio']:.2f}x"
        control = "-" if c.get("control_ratio") is None else f"{c['control_ratio']:.2f}x"
        lines.append(f"{c['case']:<20} compute {ratio:<7} (control session {control:<6}) "
                     f"findings {', '.join(c['findings']) or '-'}")
    return "\n".join(lines)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--json", help="also write rows and summary to this file")
    p.add_argument("--case", action="append", help="only these cases (repeatable)")
    p.add_argument("--all-recommendations", action="store_true",
                   help="verify every recommendation of a finding (advisor verify --all-recommendations)")
    a = p.parse_args(argv)
    cases = [c for c in CASES if not a.case or c[0] in a.case]
    result = run(cases, progress=lambda m: print(m, file=sys.stderr, flush=True),
                 all_recommendations=a.all_recommendations)
    summary = summarize(result)
    print(table(result))
    print()
    print(json.dumps(summary, indent=2))
    targets = {"agreement >= 0.90": (summary["agreement"] or 0) >= 0.9,
               "not-reproduced <= 0.05": (summary["not_reproduced_rate"] or 0) <= 0.05,
               "median compute <= 0.5x": (summary["compute_median"] or math.inf) <= 0.5,
               "max compute <= 1.5x": (summary["compute_max"] or math.inf) <= 1.5}
    for k, ok in targets.items():
        print(f"{'met' if ok else 'NOT met'}: {k}")
    if a.json:
        Path(a.json).write_text(json.dumps({"summary": summary, **result}, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
