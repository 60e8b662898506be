"""Deciding cheaply: where the fault first shows in the original run, and how sure a verdict is.

Why: a verifier that trains every arm for 3 seeds at a fixed fraction of the run costs more than
the retraining it replaces (median 2.5x in the issue's benchmark), and one that picks its budget
from a detector onset often stops before the fault shows, then calls it `not-reproduced`.

- `fault_step`: the first step at which the finding's *own* criterion (the judge's detector,
  advisor.verify.verdict) holds on the original run truncated there. Trials run to that step
  with a margin, so the baseline reproduces the fault by construction on seed 0 (the original
  run itself, already paid for) and `not-reproduced` can only mean other seeds do not show it.
- `confidence`: how sure the verdict is, from the per-seed numbers under a normal model of log
  values whose seed-to-seed spread is shrunk towards a prior floor (`NOISE_FLOOR`, per judge):
  with one or two seeds the sample spread says almost nothing, so the floor keeps one lucky pair
  from looking certain, while a dramatic effect (a NaN run made finite, a loss cut in half) is
  decided after one pair. Seeds are added one round at a time until the verdict's confidence
  reaches the target (sequential testing), the seed limit or the compute cap is hit.
"""
from __future__ import annotations

import math
from statistics import NormalDist
from typing import Any

import numpy as np

from advisor.model import Run, Series

# seed-to-seed spread (SD of log values) assumed before the seeds say otherwise, per judged number:
# amplitudes and rises vary a lot between seeds, final losses little (measured on the built-in
# tasks: SD of log final loss 0.03-0.12 over seeds, of log rel. amplitude 0.15-0.35)
NOISE_FLOOR = {"oscillation": 0.35, "overfitting": 0.4, "loss_spike": 0.5, "divergence": 0.35,
               "gradient_explosion": 0.35}
# ... and of the progress judges' number (verdict.progress_numbers: start / the fall from it), which a
# seed moves as much as an amplitude: a small fall's relative spread is large
PROGRESS_FLOOR = 0.35
DEFAULT_FLOOR = 0.15
PRIOR_WEIGHT = 2.0  # pseudo-degrees of freedom of the floor when pooled with the sample spread
LOG_CLAMP = 1e6  # an infinite number (a run that ended non-finite) counts as this many times the level
BUDGET_MARGIN = 1.5  # trials run this much past the step from which the fault shows ...
# ... except where a fix needs time to act: a lower LR still bounces at 1.5-2x the onset of the
# lr-oscillates experiment and has settled at 3x (measured over 3 seeds at 110/150/200/300 steps)
# A plateau needs no margin: its criterion already holds for good at the onset cut and the judged
# number is the loss there, so a fix that lifts the stall shows at that step (bench/verify_agreement.py,
# five plateau cases: every clear verdict still agreed with the full-length truth at 1.0, compute per
# case 0.25-0.74x instead of 0.71-1.22x). Slow convergence needed its margin while it was judged on the
# final level alone: a higher LR's lead grows with time (lr-too-low: x0.87 of the baseline at the onset,
# inconclusive; confirmed at 1.5x). Judged by its progress too (verdict.progress_numbers, session 21), the
# fix's lead shows at the onset: bench/verify_agreement.py's moons-lr-too-low confirmed at 182 steps of 399
# (0.46x the run, confidence 0.96) as at 285 (0.71x, 0.88), agreeing with its full-length truth; the
# agreement over the 13 candidates with a clear truth stays 1.0.
PATTERN_MARGIN = {"oscillation": 3.0, "plateau": 1.0, "slow_convergence": 1.0}
# patterns whose onset survives one scanned cut where the criterion dips between two that hold: a
# stall is a level a fix changes at once; an oscillation seen early and lost again is a transient
# (lr-oscillates: from such an onset the 3x budget is 135 steps, too short for a lower LR to settle)
DIP_TOLERANT = {"plateau"}
SCAN_POINTS = 24  # truncation points tried on the original run


def truncate(run: Run, step: float) -> Run:
    """The run as it was at `step`: every series cut to points at or before it."""
    series = {}
    for tag, s in run.series.items():
        keep = np.asarray(s.step) <= step
        if keep.any():
            wall = None if s.wall_time is None else np.asarray(s.wall_time)[keep]
            series[tag] = Series(tag, np.asarray(s.step)[keep], np.asarray(s.value)[keep], wall)
    return Run(name=run.name, path=run.path, format=run.format, series=series, writer=run.writer,
               hparams=dict(run.hparams), meta=dict(run.meta))


def scan_cuts(original: int, min_steps: int) -> list[int]:
    if original <= min_steps:
        return [original]
    return sorted({int(round(c)) for c in np.geomspace(min_steps, original, SCAN_POINTS)} | {original})


def fault_step(run: Run, judge, original: int, min_steps: int) -> int | None:
    """The step from which `judge` sees the problem on `run` truncated there, and keeps seeing it
    at every later scanned cut up to the run's end (None when it does not hold at the end).

    Why "and keeps seeing it": early in any run a criterion can flicker (every run is "still
    falling, far from done" at step 50); the fault the finding is about is the one that holds
    from some point on, so the budget starts from there. For a stall (DIP_TOLERANT) a single
    scanned cut where the noisy level dips under its threshold between two cuts that hold does
    not restart the count (a stall at a far too high LR: holds at 122 and 134, misses at 149,
    holds from 164 to the end)."""
    from advisor.verify.verdict import measure_trial

    holds = []
    for cut in scan_cuts(original, min_steps):
        try:
            holds.append((cut, bool(measure_trial(judge, truncate(run, cut)).problem)))
        except Exception:  # too few points to measure yet
            holds.append((cut, False))
    if judge.pattern in DIP_TOLERANT:
        holds = [(cut, ok or (0 < i < len(holds) - 1 and holds[i - 1][1] and holds[i + 1][1]))
                 for i, (cut, ok) in enumerate(holds)]
    onset = None
    for cut, ok in holds:
        if ok and onset is None:
            onset = cut
        elif not ok:
            onset = None
    return onset


def trial_budget(onset: int | None, original: int, min_steps: int, pattern: str = "") -> int:
    """Steps per trial: the first scanned cut past the fault's onset by the pattern's margin (a
    cut at which the criterion is known to hold), never past the run."""
    if onset is None:
        return original
    want = onset * PATTERN_MARGIN.get(pattern, BUDGET_MARGIN)
    later = [c for c in scan_cuts(original, min_steps) if c >= want]
    return int(max(min_steps, min(later) if later else original))


# ----------------------------------------------------------------------------- confidence


def _logs(values: list[float], scale: float) -> np.ndarray:
    """Log values; inf clamps to LOG_CLAMP x the typical level, zero (no rise, no spike) to a
    hundredth of it, so neither dominates the mean by itself."""
    out = []
    for v in values:
        if v is None or (isinstance(v, float) and math.isnan(v)):
            continue
        v = min(abs(v), LOG_CLAMP * scale) if math.isinf(v) or v > 0 else 0.0
        out.append(math.log(max(v, 0.01 * scale, 1e-12)))
    return np.asarray(out, float)


def shift(base: list[float], fix: list[float], floor: float) -> tuple[float, float] | None:
    """(mean log(fix) - mean log(base), its standard error) with the spread shrunk to `floor`."""
    finite = [abs(v) for v in base + fix if v is not None and math.isfinite(v) and v != 0]
    scale = float(np.median(finite)) if finite else 1.0
    b, f = _logs(base, scale), _logs(fix, scale)
    if len(b) == 0 or len(f) == 0:
        return None
    ss = float(((b - b.mean()) ** 2).sum() + ((f - f.mean()) ** 2).sum())
    dof = len(b) + len(f) - 2
    sd = math.sqrt((ss + PRIOR_WEIGHT * floor ** 2) / (dof + PRIOR_WEIGHT))
    return float(f.mean() - b.mean()), sd * math.sqrt(1 / len(b) + 1 / len(f))


def prob_below(base: list[float], fix: list[float], ratio: float, floor: float) -> float | None:
    """P(the fix's typical value is below `ratio` x the baseline's)."""
    s = shift(base, fix, floor)
    if s is None:
        return None
    d, se = s
    return NormalDist().cdf((math.log(ratio) - d) / se) if se > 0 else float(d < math.log(ratio))


def verdict_confidence(verdict: str, judge, base, fix, effect: dict[str, Any]) -> float | None:
    """How sure `verdict` is, given the arms' per-seed numbers (verdict.ArmNumbers)."""
    from advisor.verify import verdict as V

    floor = NOISE_FLOOR.get(judge.pattern, DEFAULT_FLOOR)
    guards_b = [n.guard for n in base.numbers]
    guards_f = [n.guard for n in fix.numbers]
    if verdict == "confirmed":
        on_value = _or(_reach_prob(judge, base, fix, floor), 0.0)
        on_guard = _or(prob_below(guards_b, guards_f, V.GUARD_GAIN, DEFAULT_FLOOR), 0.0)
        cleared = effect.get("problem_fix", 1) == 0 and effect.get("problem_baseline", 0) > 0
        return round(max(on_value, on_guard if cleared else 0.0), 3)
    if verdict == "refuted":
        if fix.nonfinite > base.nonfinite or (judge.pattern in ("divergence", "gradient_explosion")
                                               and fix.numbers and all(n.problem for n in fix.numbers)):
            # the fix broke (or did not mend) training outright: a categorical outcome per seed
            n = len(fix.numbers)
            return round(1 - 0.5 ** (n + 1), 3)
        # refuted = the fix did not help enough: the complement of reaching the confirm threshold
        worse = 1 - _or(prob_below(guards_b, guards_f, V.TRADE_RATIO, DEFAULT_FLOOR), 1.0)
        short = 1 - _or(_reach_prob(judge, base, fix, floor), 1.0)
        return round(max(worse, short), 3)
    if verdict == "not-reproduced":
        pb, kb = base.problems()
        return round(1 - 0.5 ** max(0, kb - pb), 3) if kb else None
    return None


def _reach_prob(judge, base, fix, floor: float) -> float | None:
    """P(the fix reaches the confirm threshold): its judged number below CONFIRM_RATIO x the baseline's, or,
    for a judge that also reads progress, its start / fall (it fell >= 1.25x as far), whichever is likelier;
    None when neither can be read."""
    from advisor.verify import verdict as V

    probs = [prob_below(base.values, fix.values, V.CONFIRM_RATIO, floor)]
    if judge.progress:
        probs.append(prob_below(V.progress_numbers(base), V.progress_numbers(fix), V.CONFIRM_RATIO, PROGRESS_FLOOR))
    known = [p for p in probs if p is not None]
    return max(known) if known else None


def _or(p: float | None, default: float) -> float:
    return default if p is None else p
