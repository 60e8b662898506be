"""Signals benchmark: speed (time to measure N runs) and accuracy against labelled truth.

    python bench/bench_signals.py                       # time 1,000 runs of seeded synthetic curves
    python bench/bench_signals.py --runs 200 --real /work/shared/real-logs
    python bench/bench_signals.py --truth fixtures/truth.json [--truth bench/out/corpus/truth.json]
    python bench/bench_signals.py --synthetic 40        # per-family hits/misses/false alarms

Speed: the curves are built once (ingest is not what is timed), then every family of the
catalogue is measured on every role, as `advisor.signals.measure` does for a diagnosis.
Accuracy: a run's detected patterns are the families with `detected` on train_loss or val_loss
(`overfitting` on val_loss); they are compared with the truth's `patterns` per family
(hits / misses / false alarms, precision, recall, F1) and, for hits, the onset error as a share
of the run's x span.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

import numpy as np  # noqa: E402

from advisor.signals import measure  # noqa: E402

PATTERNS = ("divergence", "oscillation", "plateau", "slow_convergence", "overfitting")
LOSS_ROLES = ("train_loss", "val_loss")


def run_patterns(ms) -> dict[str, float | None]:
    """pattern -> onset of the run's detected patterns (earliest over the loss roles)."""
    out: dict[str, float | None] = {}
    for m in ms:
        if m.family in PATTERNS and m.role in LOSS_ROLES and m.detected:
            prev = out.get(m.family)
            onset = m.start_step
            if m.family not in out or (onset is not None and (prev is None or onset < prev)):
                out[m.family] = onset
    return out


def curves_of_path(path: Path):
    from advisor.ingest import read
    from advisor.ingest.discover import discover
    from advisor.roles import build_curves

    sources, _ = discover([path])
    if not sources:
        raise RuntimeError(f"no run found under {path}")
    # the source whose folder is deepest wins when a store holds several
    src = sources[0]
    run = read(src)
    curves, _ = build_curves(run)
    return curves


class Score:
    def __init__(self) -> None:
        self.hit = {p: 0 for p in PATTERNS}
        self.miss = {p: 0 for p in PATTERNS}
        self.fa = {p: 0 for p in PATTERNS}
        self.onset_err: dict[str, list[float]] = {p: [] for p in PATTERNS}
        self.healthy_runs = 0
        self.healthy_alarms = 0
        self.lines: list[str] = []

    def add(self, name: str, truth: dict, got: dict, span: float) -> None:
        want = set(truth.get("patterns", []))
        have = set(got)
        for p in PATTERNS:
            if p in want and p in have:
                self.hit[p] += 1
                t_on = (truth.get("onsets") or {}).get(p)
                if t_on is not None and got[p] is not None and span > 0:
                    self.onset_err[p].append(abs(got[p] - t_on) / span)
            elif p in want:
                self.miss[p] += 1
            elif p in have:
                self.fa[p] += 1
        if not want:
            self.healthy_runs += 1
            self.healthy_alarms += bool(have)
        flag = "ok " if want == have else "XX "
        self.lines.append(f"{flag}{name[:58]:58s} truth={sorted(want)} got={sorted(have)}")

    def table(self) -> str:
        rows = [f"{'pattern':18s} {'hit':>4s} {'miss':>5s} {'FA':>4s} {'prec':>6s} {'rec':>6s} {'F1':>6s} onset_err(med,max)"]
        f1s = []
        for p in PATTERNS:
            h, m, f = self.hit[p], self.miss[p], self.fa[p]
            prec = h / (h + f) if h + f else float("nan")
            rec = h / (h + m) if h + m else float("nan")
            f1 = 2 * prec * rec / (prec + rec) if (h and prec + rec) else (0.0 if h + m + f else float("nan"))
            if h + m + f:
                f1s.append(f1)
            oe = self.onset_err[p]
            on = f"{np.median(oe):.3f},{np.max(oe):.3f}" if oe else "-"
            rows.append(f"{p:18s} {h:4d} {m:5d} {f:4d} {prec:6.2f} {rec:6.2f} {f1:6.2f} {on}")
        rows.append(f"macro-F1 {np.mean(f1s):.3f}; healthy runs with an alarm: {self.healthy_alarms}/{self.healthy_runs}")
        return "\n".join(rows)


def eval_truth(truth_path: Path, verbose: bool) -> Score:
    truth = json.loads(truth_path.read_text())
    root = truth_path.parent
    sc = Score()
    for name, entry in truth["runs"].items():
        path = root / entry["path"]
        try:
            curves = curves_of_path(path)
        except Exception as exc:  # noqa: BLE001
            sc.lines.append(f"ERR {name}: {type(exc).__name__}: {exc}")
            continue
        ms = measure(curves)
        tl = curves.get("train_loss") or curves.get("val_loss")
        span = float(tl.x[-1] - tl.x[0]) if tl is not None and len(tl) > 1 else 0.0
        sc.add(name, entry, run_patterns(ms), span)
    return sc


def eval_synthetic(n_seeds: int) -> Score:
    from advisor.signals import synthetic as S

    sc = Score()
    gens = [(S.healthy, "step"), (S.healthy, "epoch")]
    for pats in S.PLANTED.values():
        for g in pats:
            gens += [(g, "step"), (g, "epoch")]
    for g, d in gens:
        for seed in range(n_seeds):
            s = g(seed, d)
            tl = s.curves.get("train_loss")
            sc.add(s.name, {"patterns": list(s.truth), "onsets": s.truth}, run_patterns(measure(s.curves)),
                   float(tl.x[-1] - tl.x[0]))
    for g in (S.epoch_jumps, S.gap_orders, S.same_order_gap):
        for seed in range(n_seeds):
            s = g(seed)
            tl = s.curves.get("train_loss")
            truth = {"patterns": [p for p in s.truth if p != "oscillation" or g is S.epoch_jumps]}
            sc.add(s.name, truth, run_patterns(measure(s.curves)), float(tl.x[-1] - tl.x[0]))
    return sc


def time_runs(n: int, real: Path | None) -> tuple[float, int]:
    """Seconds to measure n runs (curves built beforehand)."""
    pool = []
    if real is not None:
        from advisor.ingest import read
        from advisor.ingest.discover import discover
        from advisor.roles import build_curves

        sources, _ = discover([real])
        for src in sources:
            try:
                pool.append(build_curves(read(src))[0])
            except Exception:  # noqa: BLE001
                pass
    if not pool:
        from advisor.signals import synthetic as S

        gens = [S.healthy, S.oscillating, S.saddle, S.slow, S.overfit, S.diverge_explode]
        for i in range(60):
            g = gens[i % len(gens)]
            pool.append(g(i, "step" if i % 2 else "epoch").curves)
    # distinct objects per run, so no per-run cache can make a repeat look cheap
    import copy

    runs = [copy.deepcopy(pool[i % len(pool)]) for i in range(n)]
    points = sum(sum(len(v) for v in c.by_role.values()) for c in runs)
    t0 = time.perf_counter()
    for c in runs:
        measure(c)
    return time.perf_counter() - t0, points


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=1000)
    ap.add_argument("--real", type=Path, default=None, help="time on runs read from this folder")
    ap.add_argument("--truth", type=Path, action="append", default=[])
    ap.add_argument("--synthetic", type=int, default=0, help="seeds per generator for the accuracy table")
    ap.add_argument("-v", "--verbose", action="store_true")
    args = ap.parse_args(argv)
    if args.truth or args.synthetic:
        for t in args.truth:
            sc = eval_truth(t, args.verbose)
            print(f"== {t}")
            if args.verbose:
                print("\n".join(sc.lines))
            print(sc.table())
        if args.synthetic:
            sc = eval_synthetic(args.synthetic)
            print(f"== synthetic ({args.synthetic} seeds per generator)")
            if args.verbose:
                print("\n".join(line for line in sc.lines if line.startswith("XX")))
            print(sc.table())
        return 0
    secs, points = time_runs(args.runs, args.real)
    print(f"measured {args.runs} runs ({points} points) in {secs:.2f} s: {1000 * secs / args.runs:.1f} ms/run")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
