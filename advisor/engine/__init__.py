"""The rules engine: from a run's measurements to findings with concrete recommendations.

Rules are TOML files (advisor.engine.rulefile) shipped in the wheel as `advisor/rules` (and read
from the repository's `rules/` in a source checkout), plus any user folders. For each run the
engine evaluates every selected rule on the first metric role the run has, then keeps one
finding per pattern (the rule with the best priority) and drops symptoms another finding
explains (a NaN divergence explains the flat line after it).
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

import numpy as np

from advisor import units
from advisor.engine.conditions import Context, evaluate
from advisor.priors import stop_point
from advisor.engine.rulefile import Rule, RuleError, load_file
from advisor.engine.sources import SOURCES_FILE
from advisor.model import Curves, Finding, Recommendation, severity_rank
from advisor.numbers import plain, readable
from advisor.signals import Measurements

# Which signal family gives a finding its step range, by pattern.
SPAN_FAMILY = {
    "divergence": "divergence", "oscillation": "oscillation", "plateau": "plateau",
    "slow_convergence": "slow_convergence", "overfitting": "overfitting", "loss_spike": "spikes",
    "gradient_explosion": "divergence", "metric_stall": "metric_stall", "lr_range_test": "lr_range_test",
    "inconsistent_metric": "overfitting",
}


def builtin_rules_dir() -> Path:
    """`advisor/rules` inside an installed wheel; the repository's `rules/` in a source checkout."""
    packaged = Path(__file__).resolve().parent.parent / "rules"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parent.parent.parent / "rules"


@dataclass
class RuleSet:
    rules: list[Rule]

    def by_id(self, rule_id: str) -> Rule | None:
        for r in self.rules:
            if r.id == rule_id or rule_id in r.aliases or r.slug == rule_id:
                return r
        return None


def load_rules(extra_dirs: Iterable[str | Path] = ()) -> RuleSet:
    """Every rule file, validated; a user rule with a built-in rule's id replaces it."""
    dirs = [builtin_rules_dir(), *[Path(d) for d in extra_dirs]]
    by_id: dict[str, Rule] = {}
    for d in dirs:
        if not d.is_dir():
            raise RuleError(f"{d}: rules folder not found")
        for path in sorted(d.rglob("*.toml")):
            if path.name == SOURCES_FILE:  # the cited sources' registry, not a rule
                continue
            rule = load_file(path)
            by_id[rule.id] = rule
    return RuleSet(sorted(by_id.values(), key=lambda r: r.id))


def _matches(rule: Rule, keys: list[str]) -> bool:
    return any(rule.id.startswith(k) or k in (rule.slug, rule.category) or k in rule.aliases for k in keys)


def documented_rules(ruleset: RuleSet) -> list[Rule]:
    """Every rule a user can name: the rule files plus BASE001/BASE002 (advisor.engine.baseline)."""
    from advisor.engine.baseline import baseline_rules

    return sorted([*ruleset.rules, *baseline_rules()], key=lambda r: r.id)


def check_selectors(rules: list[Rule], keys: Iterable[str], where: str) -> None:
    """A selector that names no rule is a usage error, with the closest known names (like ruff):
    a typo in `--ignore` or `[tool.advisor]` must not silently switch checks off or on."""
    import difflib

    names = sorted({n for r in rules for n in (r.id, r.slug, r.category, *r.aliases)})
    for key in keys:
        if any(_matches(r, [key]) for r in rules):
            continue
        close = difflib.get_close_matches(key, names, n=3, cutoff=0.5)
        close += [n for n in difflib.get_close_matches(key.upper(), names, n=3, cutoff=0.5) if n not in close]
        hint = f" (closest: {', '.join(close[:3])})" if close else " (see `advisor rules`)"
        raise RuleError(f"{where}: unknown rule {key!r}{hint}")


def select_rules(ruleset: RuleSet, select: Iterable[str] = (), ignore: Iterable[str] = ()) -> list[Rule]:
    """Rules whose id, slug, category or id prefix is selected and not ignored."""
    select, ignore = list(select), list(ignore)
    matches = _matches

    chosen = [r for r in ruleset.rules if r.status != "deprecated"]
    if select:
        chosen = [r for r in chosen if matches(r, select)]
    if ignore:
        chosen = [r for r in chosen if not matches(r, ignore)]
    return chosen


@dataclass
class RunVerdict:
    findings: list[Finding] = field(default_factory=list)
    abstentions: list[tuple[str, str]] = field(default_factory=list)
    superseded: list[tuple[str, str]] = field(default_factory=list)


def evaluate_run(
    rules: list[Rule],
    measurements: Measurements,
    curves: Curves,
    thresholds: dict[str, dict[str, Any]] | None = None,
) -> RunVerdict:
    thresholds = thresholds or {}
    verdict = RunVerdict()
    fired: list[tuple[Rule, Finding]] = []
    for rule in rules:
        if curves.rl != (rule.category == "rl"):
            # a policy-gradient loss is not a supervised loss: an RL run is judged by its reward
            why = "an RL run is judged by its reward (rules/rl)" if curves.rl else "not a reinforcement-learning run"
            verdict.abstentions.append((rule.id, why))
            continue
        role = next((m for m in rule.metrics if curves.get(m) is not None), None)
        if role is None:
            verdict.abstentions.append((rule.id, f"no {' or '.join(rule.metrics)} curve in this run"))
            continue
        params = {**rule.params, **thresholds.get(rule.id, {}), **thresholds.get(rule.slug, {})}
        ctx = Context(measurements, curves, role, params)
        try:
            result = evaluate(rule.when, ctx)
        except Exception as exc:  # a broken rule is reported, never fatal
            verdict.abstentions.append((rule.id, f"rule failed: {type(exc).__name__}: {exc}"))
            continue
        if result is None:
            verdict.abstentions.append((rule.id, "not measured: " + ", ".join(dict.fromkeys(ctx.unknown))))
            continue
        if result:
            fired.append((rule, _finding(rule, ctx)))
    verdict.findings = _root_causes(fired, verdict)
    return verdict


def _root_causes(fired: list[tuple[Rule, Finding]], verdict: RunVerdict) -> list[Finding]:
    """One finding per pattern; symptoms explained by a worse finding are dropped."""
    fired.sort(key=lambda rf: (-severity_rank(rf[0].severity), rf[0].priority, rf[0].id))
    kept: list[tuple[Rule, Finding]] = []
    explained: set[str] = set()
    seen_patterns: set[str] = set()
    for rule, finding in fired:
        if rule.pattern in seen_patterns:
            verdict.superseded.append((rule.id, f"another {rule.pattern} rule ranks higher"))
            continue
        if rule.pattern in explained:
            verdict.superseded.append((rule.id, f"{rule.pattern} is explained by an earlier finding"))
            continue
        kept.append((rule, finding))
        seen_patterns.add(rule.pattern)
        explained.update(rule.explains)
    return [f for _, f in _cause_before_symptom(kept)]


def _cause_before_symptom(kept: list[tuple[Rule, Finding]]) -> list[tuple[Rule, Finding]]:
    """Move each finding ahead of the first earlier finding of the same severity whose pattern its
    rule lists in `shown_before` (the reader acts on the first finding's first advice: lower the LR
    that makes the loss bounce before early-stopping on the val rise the bouncing causes)."""
    out = list(kept)
    for rule, finding in kept:
        if not rule.shown_before:
            continue
        i = next(k for k, (_, f) in enumerate(out) if f is finding)
        j = next((k for k, (r, f) in enumerate(out[:i])
                  if f.pattern in rule.shown_before and f.severity == finding.severity), None)
        if j is not None:
            out.insert(j, out.pop(i))
    return out


def _logged_x(curve: Any, x: Any) -> Any:
    """The logged step (or epoch) nearest a measured one: a span found on a smoothed or
    de-duplicated curve can fall between two evaluations ("steps 2.172-6.828" on a log that counts
    epochs 0..9); the reader sees where it is in the log."""
    if curve is None or x is None or len(curve) == 0:
        return x
    try:
        xf = float(x)
    except (TypeError, ValueError):
        return x
    xs = np.asarray(curve.x, dtype=float)
    logged = xs if curve.logged_x is None or len(curve.logged_x) != len(xs) else np.asarray(curve.logged_x, dtype=float)
    ok = np.isfinite(xs) & np.isfinite(logged)
    if not math.isfinite(xf) or not ok.any():
        return x
    xs, logged = xs[ok], logged[ok]
    near = logged[int(np.argmin(np.abs(xs - xf)))]
    return int(near) if float(near).is_integer() else float(near)


def _holds(cond: dict[str, Any], ctx: Context) -> bool:
    """True only when the condition is known to hold on this run (unknown counts as not)."""
    return evaluate(cond, Context(ctx.measurements, ctx.curves, ctx.role, ctx.params)) is True


def _ordered_for_run(recommendations: list, ctx: Context) -> list:
    """The rule's advice in file order, except that advice whose `first_when` holds on this run
    comes first (stable: several such keep their file order). What a reader does first depends
    on the run: the same stall at chance calls for BatchNorm in a net that does not move at all,
    for a lower LR when it also bounces, for a higher LR when it is still creeping down."""
    first = [r for r in recommendations if r.first_when is not None and _holds(r.first_when, ctx)]
    return first + [r for r in recommendations if not any(r is f for f in first)]


def _finding(rule: Rule, ctx: Context) -> Finding:
    curve = ctx.curves.get(ctx.role)
    family = "rl" if rule.category == "rl" else SPAN_FAMILY.get(rule.pattern)
    m = ctx.measurements.get(family, ctx.role) if family else None
    start = _logged_x(curve, m.start_step) if m else None
    end = _logged_x(curve, m.end_step) if m else None
    evidence: dict[str, Any] = {}
    for ref in rule.evidence:
        value = ctx.resolve(ref)
        if value is not None:
            evidence[ref] = _logged_x(curve, value) if _names_a_step(ref) else _round(value)
    recs = []
    tiny_lr = _lr_tiny(ctx)
    for r in _ordered_for_run(rule.recommendations, ctx):
        if r.when is not None and not _holds(r.when, ctx):
            continue  # advice that does not fit this run (switch an Adam run to SGD, raise an LR already too high)
        if r.action == "lower_lr" and tiny_lr:
            continue  # never lower an LR already far below every optimizer's usual range
        change = _concrete_change(r.change, ctx)
        if change is None:
            continue  # e.g. early stopping at the first evaluation: no advice at all
        if change and all(_already_in_place(name, spec, ctx) for name, spec in change.items()):
            continue  # never advise what the run already does (e.g. clipping at 1.0 when it clips at 1.0)
        recs.append(Recommendation(action=r.action, change=change,
                                   text=_fill(r.text, ctx, curve.label if curve else ctx.role), source=r.source))
    return Finding(
        rule=rule.id, pattern=rule.pattern, severity=rule.severity,
        metric=curve.tag if curve else None, start_step=start, end_step=end,
        summary=_fill(rule.summary, ctx, curve.label if curve else ctx.role),
        evidence=evidence, recommendations=recs, x_unit=_x_unit(ctx),
    )


# An LR at most this share of the lowest usual top of any optimizer family (Adam-like 1e-3: 3e-5) is
# never lowered, whatever the rule reads off the curve: a public transformer run at AdamW 1e-6, flat at
# ln 2 with per-step bouncing, was told to go to 3e-7 (PLT001's "bounces around its stall")
TINY_LR = 0.03


def _lr_tiny(ctx: Context) -> bool:
    ratio = ctx.resolve("run.lr_over_usual_most")
    return isinstance(ratio, (int, float)) and not isinstance(ratio, bool) and ratio <= TINY_LR


def _x_unit(ctx: Context) -> str:
    """What the x of the rule's curve counts in this run (advisor.units): the finding's range and
    its summary's "at epoch 4" both use it, so every report names the run's own unit."""
    curve = ctx.curves.get(ctx.role)
    return units.unit_of(curve.x_kind if curve is not None else None, ctx.curves.step_unit)


_PLACEHOLDER = re.compile(r"\{([a-zA-Z_][a-zA-Z0-9_.]*)(?:\|(pct|int|above))?\}")


def _fill(template: str, ctx: Context, metric: str) -> str:
    """Substitute {metric}, {hparam.lr}, {oscillation.rel_amplitude}, {$param}: no format(), no eval.

    `{ref|pct}` writes a fraction as a percentage (0.9 -> "90%"); `{ref|above}` writes a relative
    rise as how far above its reference it ends (0.39 -> "39% above", 27.9 -> "28.9 times"; a rise
    of 2789% is not how anyone reads a ratio); `{ref|int}` writes a whole number; a ref naming a
    step (`..._step`) is written as the step (or epoch) logged nearest to it, since a log has no
    fractional steps and a smoothed curve's turning point may fall between two evaluations.
    `{x_unit}` names what the curve's x counts (advisor.units: step, epoch, timestep)."""

    curve = ctx.curves.get(ctx.role)

    def sub(match: re.Match) -> str:
        ref, how = match.group(1), match.group(2)
        if ref == "metric":
            return metric
        if ref == "role":
            return ctx.role
        if ref == "x_unit":
            return units.name(_x_unit(ctx))
        value = ctx.params[ref] if ref in ctx.params else ctx.resolve(ref)
        if value is None:
            return "?"
        if how == "pct" and isinstance(value, (int, float)) and not isinstance(value, bool):
            return _pct(float(value))
        if how == "above" and isinstance(value, (int, float)) and not isinstance(value, bool):
            return _above(float(value))
        if _names_a_step(ref) and ref not in ctx.params:
            value = _logged_x(curve, value)
        if (how == "int" or _names_a_step(ref)) and isinstance(value, float) and math.isfinite(value):
            return readable(int(round(value)))
        return _fmt(value)

    return _PLACEHOLDER.sub(sub, template)


def _names_a_step(ref: str) -> bool:
    """`plateau.end_step`, `stats.min_step`: a place on the x axis, not a measured quantity."""
    return ref.endswith("_step")


def _pct(fraction: float) -> str:
    """0.9 -> "90%", 0.0411 -> "4.1%", 38.8 -> "3880%"."""
    if not math.isfinite(fraction):
        return str(fraction)
    p = 100 * fraction
    return f"{p:.0f}%" if abs(p) >= 10 else f"{p:.2g}%"


def _above(rise: float) -> str:
    """0.39 -> "39% above", 27.9 -> "28.9 times": a rise under 100% as a percentage above, a larger
    one as the ratio to its reference (a measurement that states a rise carries that ratio too, e.g.
    overfitting.rise_ratio, so every number a summary prints is one the run's report holds)."""
    if not math.isfinite(rise) or rise < 1:
        return f"{_pct(rise)} above"
    return f"{readable(1 + rise)} times"


def _fmt(value: Any) -> str:
    """A value in a summary, in the reports' one number format (advisor.numbers.readable)."""
    if isinstance(value, (bool, int, float)):
        return readable(value)
    return str(value)


def _round(value: Any) -> Any:
    """6 significant digits, so evidence stays short (0.40312345 -> 0.403123); from 1e5 up the value
    is kept as logged, since those digits are its integer part: 2,234,085,120 rounded to
    2,234,090,000 printed a number the log never held as if it were exact."""
    value = plain(value)
    if isinstance(value, float) and math.isfinite(value) and abs(value) < 1e5:
        return float(f"{value:.6g}")
    return value


LR_LADDER = (1.0, 3.0)  # seed 000: try LRs a factor ~3 apart: 0.1, 0.03, 0.01, 0.003 ...


def _on_ladder_scale(value: float) -> bool:
    """Positive, finite, and far enough from the float range's ends for rungs 10^±3 around it."""
    return math.isfinite(value) and 1e-300 < value < 1e300


def snap_to_ladder(value: float) -> float:
    """The nearest rung of the x3 ladder (1 and 3 times a power of ten) in log space."""
    if not _on_ladder_scale(value):
        return value
    exp = math.floor(math.log10(value))
    rungs = [m * 10.0 ** e for e in (exp - 1, exp, exp + 1) for m in LR_LADDER]
    best = min(rungs, key=lambda r: abs(math.log10(r) - math.log10(value)))
    return float(f"{best:.3g}")


LADDER_TOL = 1e-3  # relative: float32 logs 3e-4 as 0.000300000014 (1e-7 off); a rung is a rung
# one step of the ladder moves the LR at least 1.5x: the next rung nearer than that is passed over, so an
# LR read off a logged curve whose schedule had moved it by the first logged point (HF's linear decay
# logs 1e-5 as 9.73e-6 at step 10 of 336, 8.84e-6 at step 40) goes to 3e-5, not "up" to 1e-5, and
# float32's read-back (3e-4 as 0.000300000014) to 1e-4; 0.05 still goes to 0.03 (1.67x)
MIN_STEP = 1.5


def _ladder(exp: int) -> list[float]:
    return sorted(float(f"{m * 10.0 ** e:.3g}") for e in range(exp - 2, exp + 3) for m in LR_LADDER)


def ladder_step(value: float, factor: float) -> float:
    """One rung down (factor < 1) or up the x3 ladder from `value`: 0.1 -> 0.03, 0.05 -> 0.03, 0.003 -> 0.01.

    The next rung at least MIN_STEP (1.5x) away, so a step always changes the LR enough to matter:
    an LR read back from a float32 event file (0.0003 stored as 0.000300000014) moves to 0.0001, not
    back to 0.0003, and one a schedule had moved by its first logged point (8.84e-6 for 1e-5) to
    3e-5, not to 1e-5. Every step is then 1.5-5x. A value no
    ladder reaches (a corrupted log's LR of 1e308) is simply multiplied."""
    if value <= 0 or not math.isfinite(value):
        return value
    if not _on_ladder_scale(value):
        return value * factor
    rungs = _ladder(math.floor(math.log10(value)))
    if factor < 1:
        return [r for r in rungs if r * MIN_STEP <= value * (1 + LADDER_TOL)][-1]
    return [r for r in rungs if r * (1 + LADDER_TOL) >= value * MIN_STEP][0]


def _already_in_place(name: str, spec: Any, ctx: Context) -> bool:
    current = ctx.curves.hparams.get(name)
    target = spec.get("set") if isinstance(spec, dict) else spec
    if current is None or target is None or (isinstance(spec, dict) and "multiply" in spec):
        return False
    if isinstance(current, (int, float)) and isinstance(target, (int, float)) and not isinstance(current, bool):
        return math.isclose(float(current), float(target), rel_tol=LADDER_TOL)
    return str(current).lower() == str(target).lower()


def _is_ladder_step(factor: float) -> bool:
    """True for a x3 or /3 change (0.33 counts), which lands on the ladder's next rung."""
    return factor > 0 and abs(abs(math.log10(factor)) - math.log10(3)) < 0.05


RUN_LENGTH = {"epoch": "epochs", "timestep": "total_timesteps"}  # else max_steps (SB3: learn(total_timesteps=...))


def _length_name(ctx: Context) -> str:
    """The hyperparameter that sets the run's length in the unit its log counts."""
    return RUN_LENGTH.get(_x_unit(ctx), "max_steps")


def _concrete_change(change: dict[str, Any], ctx: Context) -> dict[str, Any] | None:
    """Resolve `$refs` and, when the run's value is known, add the new value (`set`).

    A run length (`max_steps`, a stop point or "train longer") is written in the unit the run
    counts: `epochs` for epoch-level logs, `total_timesteps` for SB3 runs (`max_steps ×2` on a
    Keras history that counts epochs was a count in the wrong unit); a stop at the first
    evaluation makes the whole change None (no advice). A parameter whose value cannot be
    resolved is left out rather than shown empty."""
    out: dict[str, Any] = {}
    for name, spec in change.items():
        if name == "max_steps" and isinstance(spec, dict) and "set" in spec:
            target = ctx.param(spec["set"])
            stop = stop_point(ctx.curves, ctx.role, float(target) if isinstance(target, (int, float)) else None)
            if stop is None:
                return None
            out[_length_name(ctx) if stop[0] == "max_steps" else stop[0]] = {"set": stop[1]}
            continue
        if name == "max_steps":
            name = _length_name(ctx)
        if not isinstance(spec, dict):
            out[name] = ctx.param(spec)
            continue
        resolved = {k: ctx.param(v) for k, v in spec.items()}
        current = ctx.curves.hparams.get(name)
        factor = resolved.get("multiply")
        if isinstance(current, (int, float)) and not isinstance(current, bool) and isinstance(factor, (int, float)) and "set" not in resolved:
            new = current * factor
            if name == "lr":
                new = ladder_step(current, factor) if _is_ladder_step(factor) else float(f"{new:.3g}")
            elif name in ("batch_size", "max_steps", "epochs", "total_timesteps", "warmup_steps"):
                new = int(round(new))
            resolved["from"] = current
            resolved["set"] = new
        for k, v in list(resolved.items()):
            if isinstance(v, float) and math.isfinite(v):
                resolved[k] = _round(v)
        if any(v is None for v in resolved.values()):
            resolved = {k: v for k, v in resolved.items() if v is not None}
            if not resolved:
                continue
        out[name] = resolved
    return out


__all__ = ["RuleSet", "Rule", "RuleError", "load_rules", "select_rules", "evaluate_run", "RunVerdict", "snap_to_ladder", "ladder_step"]
