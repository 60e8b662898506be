"""Baseline gating: is this run worse than the runs we already trust?

`advisor diagnose runs/new --baseline runs/main-*` answers the CI question the per-run rules
cannot: a run can be perfectly healthy-looking and still end 3 points of accuracy below last
week's. We compare each key metric's **final** value (the model you would ship) and its **best**
value (what the run could reach, so an early-stopping setup is judged fairly) with the same
metric in the baseline runs, direction-aware (losses: lower is better; accuracy and most
metrics: higher; WER/CER/perplexity/error: lower).

Rule ids (stable, never reused), pattern `regression`, severity `error`:
- `BASE001` final-metric regression: the run's last value is worse than the baseline's by more
  than the tolerance. A non-finite last value (the run ended in NaN/inf) always regresses.
- `BASE002` best-metric regression: the run's best value is worse than the baseline's best by
  more than the tolerance.

Tolerance (`--baseline-tolerance`, see `parse_tolerance`):
- `band[:k]` (default, k=2): the band mean ± k·std of the baseline runs' values. Seed noise is
  what makes a fixed threshold wrong, and several baseline runs measure it. The half-width never
  falls below a floor (2% of |mean|, or the absolute floor), which is also what a single baseline
  run gets, since one run has no spread.
- `abs:<d>`: worse than the baseline mean by more than d (e.g. `abs:0.02` for accuracy).
- `rel:<f>` or `<p>%`: worse than the baseline mean by more than f·|mean| (e.g. `rel:0.05`, `5%`).

A metric the run or every baseline lacks is skipped and reported as an abstention, never
guessed. This module decides (it is gating logic, no renderer): it lives beside the rules engine.
BASE001/BASE002 have no rules-file form (their input is two groups of runs, not one run's
measurements), so `baseline_rules()` documents them for `advisor rules`, `advisor explain` and
`--select/--ignore`.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

import numpy as np

from advisor import units
from advisor.engine.rulefile import Rule
from advisor.model import Curve, Curves, Diagnosis, Finding, Run
from advisor.numbers import readable

RULE_FINAL = "BASE001"
RULE_BEST = "BASE002"

KEY_ROLES = ("val_loss", "train_loss", "val_acc", "val_metric")
_LOWER_IS_BETTER_TOKENS = ("loss", "wer", "cer", "perplexity", "ppl", "error", "err", "mse", "mae", "rmse", "nll")


_DOC_COMMON = {
    "known_problems": "A metric the run or every baseline run lacks is not compared (`-v` shows it among the "
                      "abstentions). One baseline run has no spread: the band is then its value ± 2%.",
    "fix": "Look at what changed since the baseline (code, data, hyperparameters, library versions); re-run "
           "the baseline with the same seed to rule out noise; widen --baseline-tolerance only with evidence.",
    "references": [],
}


def baseline_rules() -> list[Rule]:
    """BASE001 and BASE002 as documented rules (evaluated here by `apply`, never by the engine)."""
    here = Path(__file__)
    specs = [
        (RULE_FINAL, "final-metric-regression", "The final value of a key metric is worse than the baseline's",
         "The run ends worse than the baseline runs: its last value of a key metric (val_loss, train_loss, "
         "val_acc, the main validation metric) is outside the tolerance, direction-aware. A run that ends in "
         "NaN/inf always regresses.",
         "A run can look healthy and still ship a worse model than last week's; the final value is the model "
         "you would ship."),
        (RULE_BEST, "best-metric-regression", "The best value of a key metric is worse than the baseline's best",
         "The best value the run reached on a key metric is worse than the baseline runs' best beyond the "
         "tolerance.",
         "Fair to early-stopping setups, whose final value is not the one kept: the run could not reach what "
         "the baseline reached."),
    ]
    return [Rule(id=rid, slug=slug, name=name, status="stable", pattern="regression", severity="error",
                 metrics=list(KEY_ROLES), when={}, summary=name, recommendations=[],
                 doc={"summary": name, "what": what + " Given with `--baseline PATH` (repeatable) and "
                      "`--baseline-tolerance band[:k] | abs:<d> | rel:<f> | <p>%`.", "why": why, **_DOC_COMMON},
                 path=here, category="baseline")
            for rid, slug, name, what, why in specs]


@dataclass(frozen=True)
class Tolerance:
    mode: str = "band"  # "band" | "abs" | "rel"
    value: float = 2.0  # k for band; the absolute delta for abs; the fraction for rel
    floor_rel: float = 0.02  # band half-width >= floor_rel * |baseline mean|
    floor_abs: float = 1e-8  # ... and >= floor_abs (a baseline mean of 0)

    def __str__(self) -> str:
        if self.mode == "band":
            return f"band:{self.value:g}"
        return f"{self.mode}:{self.value:g}"


def parse_tolerance(spec: str | None) -> Tolerance:
    """`band`, `band:3`, `abs:0.05`, `rel:0.1`, `10%` -> Tolerance. ValueError on anything else
    (the CLI turns it into a usage error, exit 2)."""
    if spec is None or not str(spec).strip():
        return Tolerance()
    s = str(spec).strip().lower()
    m = re.fullmatch(r"([0-9]*\.?[0-9]+)\s*%", s)
    if m:
        return Tolerance("rel", float(m.group(1)) / 100.0)
    mode, _, val = s.partition(":")
    if mode not in ("band", "abs", "rel"):
        raise ValueError(f"tolerance {spec!r}: expected band[:k], abs:<delta>, rel:<fraction> or <p>%")
    if not val:
        if mode != "band":
            raise ValueError(f"tolerance {spec!r}: {mode} needs a value, e.g. {mode}:0.05")
        return Tolerance()
    try:
        v = float(val)
    except ValueError:
        raise ValueError(f"tolerance {spec!r}: {val!r} is not a number") from None
    if not math.isfinite(v) or v < 0:
        raise ValueError(f"tolerance {spec!r}: must be a finite number >= 0")
    return Tolerance(mode, v)


def lower_is_better(role: str, tag: str) -> bool:
    if role.endswith("_loss"):
        return True
    if role.endswith("_acc"):
        return False
    t = tag.lower()
    return any(re.search(rf"(^|[^a-z]){tok}($|[^a-z])", t) for tok in _LOWER_IS_BETTER_TOKENS)


def _final(c: Curve) -> tuple[float, float]:
    """(value, x) of the last point; the value may be non-finite (a run that ended in NaN)."""
    if len(c) == 0:
        return math.nan, math.nan
    return float(c.y[-1]), float(c.x[-1])


def _last_finite(c: Curve) -> tuple[float, float] | None:
    ok = np.isfinite(c.y)
    if not ok.any():
        return None
    i = int(np.flatnonzero(ok)[-1])
    return float(c.y[i]), float(c.x[i])


def _best(c: Curve, lower: bool) -> tuple[float, float] | None:
    ok = np.isfinite(c.y)
    if not ok.any():
        return None
    idx = np.flatnonzero(ok)
    i = int(idx[np.argmin(c.y[idx])] if lower else idx[np.argmax(c.y[idx])])
    return float(c.y[i]), float(c.x[i])


def _band(values: list[float], tol: Tolerance) -> tuple[float, float, float]:
    """(center, half-width, std) of the baseline values under the tolerance."""
    arr = np.asarray(values, dtype=float)
    center = float(arr.mean())
    std = float(arr.std(ddof=1)) if len(arr) >= 2 else 0.0
    if tol.mode == "abs":
        half = tol.value
    elif tol.mode == "rel":
        half = tol.value * abs(center)
    else:
        half = max(tol.value * std, tol.floor_rel * abs(center), tol.floor_abs)
    return center, half, std


def compare(run: Run, curves: Curves, baseline_runs: list[tuple[Run, Curves]],
            tolerance: Tolerance | str | None = None) -> list[Finding]:
    """Regression findings (BASE001/BASE002) of `run` against `baseline_runs`."""
    return compare_detailed(run, curves, baseline_runs, tolerance)[0]


def compare_detailed(run: Run, curves: Curves, baseline_runs: list[tuple[Run, Curves]],
                     tolerance: Tolerance | str | None = None) -> tuple[list[Finding], list[tuple[str, str]]]:
    """(findings, abstentions): abstentions say which metric could not be compared and why."""
    tol = tolerance if isinstance(tolerance, Tolerance) else parse_tolerance(tolerance)
    others = [(r, c) for r, c in baseline_runs if not (r.path == run.path and r.name == run.name)]
    findings: list[Finding] = []
    abstentions: list[tuple[str, str]] = []
    if not others:
        abstentions.append((RULE_FINAL, "no baseline runs to compare with"))
        return findings, abstentions
    for role in KEY_ROLES:
        mine = curves.get(role)
        base_curves = [c.get(role) for _, c in others]
        base_curves = [b for b in base_curves if b is not None and len(b)]
        if mine is None or not len(mine):
            if base_curves:
                abstentions.append((RULE_FINAL, f"the run has no {role} curve; the baseline has"))
            continue
        if not base_curves:
            abstentions.append((RULE_FINAL, f"no baseline run has a {role} curve"))
            continue
        lower = lower_is_better(role, mine.tag)
        unit = units.unit_of(mine.x_kind, curves.step_unit)  # the findings' "at epoch 12", as the rules say it
        # BASE001: final values. Baselines that ended non-finite contribute their last finite value.
        base_final = [v for v in (_last_finite(b) for b in base_curves) if v is not None]
        final_v, final_x = _final(mine)
        if base_final:
            f = _judge(RULE_FINAL, "final", role, mine.tag, final_v, final_x, [v for v, _ in base_final],
                       lower, tol, len(others))
            if f:
                f.x_unit = unit
                findings.append(f)
        # BASE002: best values.
        base_best = [v for v in (_best(b, lower) for b in base_curves) if v is not None]
        best = _best(mine, lower)
        if base_best and best is not None:
            f = _judge(RULE_BEST, "best", role, mine.tag, best[0], best[1], [v for v, _ in base_best],
                       lower, tol, len(others))
            if f:
                f.x_unit = unit
                findings.append(f)
        elif base_best and best is None:
            abstentions.append((RULE_BEST, f"{role} has no finite value"))
    return findings, abstentions


def _judge(rule: str, which: str, role: str, tag: str, value: float, x: float, base: list[float],
           lower: bool, tol: Tolerance, n_runs: int) -> Finding | None:
    center, half, std = _band(base, tol)
    limit = center + half if lower else center - half
    nonfinite = not math.isfinite(value)
    worse = nonfinite or (value > limit if lower else value < limit)
    if not worse:
        return None
    direction = "lower" if lower else "higher"
    evidence: dict[str, Any] = {
        which: value,
        "baseline_mean": center,
        "baseline_std": std,
        "baseline_runs": len(base),
        "limit": limit,
        "tolerance": str(tol),
        "better": direction,
    }
    if not nonfinite:
        evidence["delta"] = value - center
        if center != 0:
            evidence["delta_rel"] = (value - center) / abs(center)
        if std > 0:
            evidence["z"] = (value - center) / std
    spread = f"{_g(center)} ± {_g(half)}" if tol.mode == "band" else f"{_g(center)}, tolerance {tol}"
    what = f"{which.capitalize()} {tag}"
    if nonfinite:
        summary = f"{what} is {_g(value)}; the baseline ends at {spread} over {len(base)} run{'s' * (len(base) != 1)}."
    else:
        summary = (f"{what} {_g(value)} is worse than the baseline ({spread} over {len(base)} "
                   f"run{'s' * (len(base) != 1)}; {direction} is better, limit {_g(limit)}).")
    xs = x if math.isfinite(x) else None
    return Finding(rule=rule, pattern="regression", severity="error", metric=tag, start_step=xs, end_step=xs,
                   summary=summary, evidence=evidence, recommendations=[])


def _g(v: float) -> str:
    """The reports' one number format (advisor.numbers), with 4 significant digits so a value just
    past its limit does not print equal to it."""
    return readable(v, significant=4)


def apply(diagnosis: Diagnosis, baseline_runs: Iterable[tuple[Run, Curves]],
          tolerance: Tolerance | str | None = None, rule_ids: Iterable[str] = (RULE_FINAL, RULE_BEST)) -> None:
    """Add the regression findings (and abstentions) of the rules in `rule_ids` (what --select and
    --ignore left) to every run of `diagnosis`, in place, between the engine and the renderers."""
    base = list(baseline_runs)
    tol = tolerance if isinstance(tolerance, Tolerance) else parse_tolerance(tolerance)
    wanted = set(rule_ids)
    for report in diagnosis.runs:
        if report.curves is None or report.problem:
            report.abstentions.append((RULE_FINAL, "the run has no curves to compare"))
            continue
        findings, abst = compare_detailed(report.run, report.curves, base, tol)
        report.findings.extend(f for f in findings if f.rule in wanted)
        report.abstentions.extend(a for a in abst if a[0] in wanted)


def load_baseline(paths: Iterable[str], roles: dict[str, str] | None = None) -> tuple[list[tuple[Run, Curves]], list[dict[str, str]]]:
    """Read the baseline runs and build their curves (no rules: only their values are needed).
    Unreadable baseline inputs come back as error entries, like the main inputs."""
    from advisor.pipeline import read_runs
    from advisor.roles import build_curves

    runs, errors = read_runs(list(paths))
    out: list[tuple[Run, Curves]] = []
    for run in runs:
        try:
            curves, _ = build_curves(run, roles or {})
        except Exception as exc:  # one odd baseline run must not stop the gate
            errors.append({"path": run.path, "message": f"baseline curves failed: {type(exc).__name__}: {exc}"})
            continue
        out.append((run, curves))
    return out, errors


def apply_paths(diagnosis: Diagnosis, baseline_paths: Iterable[str], tolerance: Tolerance | str | None = None,
                roles: dict[str, str] | None = None, rule_ids: Iterable[str] = (RULE_FINAL, RULE_BEST)) -> int:
    """`--baseline PATH...`: read the baseline runs, add regression findings to `diagnosis`.
    Returns the number of baseline runs used; raises ValueError (a usage error) when the
    tolerance is malformed or no baseline run could be read."""
    tol = tolerance if isinstance(tolerance, Tolerance) else parse_tolerance(tolerance)
    base, errors = load_baseline(baseline_paths, roles)
    diagnosis.errors.extend({"path": e["path"], "message": f"baseline: {e['message']}"} for e in errors)
    if not base:
        raise ValueError("--baseline: no readable baseline run found")
    apply(diagnosis, base, tol, rule_ids)
    diagnosis.rules.extend(r for r in baseline_rules() if r.id in set(rule_ids))
    return len(base)
