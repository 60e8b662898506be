"""The verdict: did the fix arm remove the problem the baseline arm reproduced?

Why this shape: a fix trial only proves something when (1) the baseline, re-run on the short
budget, shows the problem again (else `not-reproduced`: the trial says nothing about the fix),
(2) the finding's *own* measurement moves the right way by a clear margin across seeds, and
(3) the fix does not buy that by breaking something else: a higher LR also "removes" an
oscillation by killing the network, so every judge carries a guard (the final loss level) and a
fix that makes the guard clearly worse, or diverges more often, is `refuted`.

Per seed: the judged number (e.g. `oscillation.rel_amplitude`, taken from advisor.signals when the
family is available, else from the small fallback here, which the measure label says), whether
the problem is present (the family's `detected`, else the fallback's test), the guard level and
whether the loss went non-finite. Across seeds: ratio of medians, Cliff's delta (share of seed
pairs where fix < baseline minus the reverse; negative = fix lower) and Cohen's d on log values
(on raw values when a value is <= 0). Lower is better for every judged number.

Decision, in order (`decide`):
1. no finished trial on a side -> inconclusive;
2. the problem present in fewer than half the baseline seeds -> not-reproduced;
3. the fix made the loss non-finite more often, or its final guard level >= 1.25x in most seed
   pairs -> refuted (it broke training, whatever the symptom did);
4. the detector fires on most baseline seeds and few fix seeds and the guard fell clearly
   (<= 0.9x, Cliff's delta <= -0.5) -> confirmed (a relative amplitude can stay put when the
   level it is relative to falls);
5. a divergence that persists in every fix seed -> refuted (the change delays the blow-up);
6. the judged number fell to <= 0.8x with Cliff's delta <= -0.5, and the problem is gone (or the
   judge does not require that: slow convergence, plateau, overfitting rise) -> confirmed;
7. no better (> 0.95x), the problem persisting, and the guard no better either -> refuted;
8. anything else (better loss but same symptom, small or mixed effects) -> inconclusive.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from advisor.model import Curves, Finding, Run, Verification

CONFIRM_RATIO = 0.8  # the fix's median must be at least 20% below the baseline's ...
CONFIRM_CLIFF = -0.5  # ... and most seed pairs must agree
REFUTE_RATIO = 0.95  # no better than this and the problem persists: the fix did not help
HARM_RATIO = 1.25  # the guard level 25% worse in most seed pairs: the fix broke something
TRADE_RATIO = 1.05  # the symptom is gone but the final loss is >= 5% worse in most seed pairs: a trade, not a fix
HARM_CLIFF = 0.5
GUARD_GAIN = 0.9  # a cleared detector confirms only with the final loss >= 10% lower in most seed pairs


@dataclass(frozen=True)
class Judge:
    """How one pattern is judged: the curve, the number, where it comes from, and the guard."""

    pattern: str
    role: str
    family: str | None  # signal family whose `detected` says the problem is present
    key: str | None  # value key of that family used as the per-seed number; None: `own`
    own: str  # fallback/own number: "end_start" | "final" | "amplitude" | "rise" | "spikes"
    label: str
    guard_role: str = "train_loss"
    must_clear: bool = True  # False: a clearly lower final loss confirms even if the signal still fires
    # also judged by progress: how far the loss fell from where it started (`progress_numbers`)
    progress: bool = False


JUDGES: dict[str, Judge] = {
    "divergence": Judge("divergence", "train_loss", "divergence", None, "end_start",
                        "final / initial loss (inf when it ends non-finite)"),
    "gradient_explosion": Judge("gradient_explosion", "train_loss", "divergence", None, "end_start",
                                "final / initial loss (inf when it ends non-finite)"),
    "oscillation": Judge("oscillation", "train_loss", "oscillation", "rel_amplitude", "amplitude",
                         "oscillation.rel_amplitude"),
    # A x3 LR step makes a slow run faster, not finished: it may still be falling at the end, so
    # for these the clearly lower final loss is the evidence and the signal only checks reproduction.
    # ... and a run that barely left its start is judged by how far it got: a digits MLP at SGD 3e-3 that
    # fell 2.30 -> 2.19 in 20 epochs ends at 1.78 one rung up (x0.81 of the final loss, under the 20% the
    # final level asks, in every seed) having fallen 4.7x as far (PROGRESS below)
    "slow_convergence": Judge("slow_convergence", "train_loss", "slow_convergence", None, "final", "final loss",
                              must_clear=False, progress=True),
    "plateau": Judge("plateau", "train_loss", "plateau", None, "final", "final loss", must_clear=False),
    "underfitting": Judge("underfitting", "train_loss", None, None, "final", "final loss", must_clear=False),
    "overfitting": Judge("overfitting", "val_loss", "overfitting", "rise_rel", "rise",
                         "overfitting.rise_rel (val loss rise after its minimum)", guard_role="val_loss",
                         must_clear=False),  # the family also fires on a lasting train/val gap
    "loss_spike": Judge("loss_spike", "train_loss", "spikes", "count", "spikes", "spikes.count"),
}


def judge_for(finding: Finding) -> Judge:
    """The finding's judge; a finding about a validation curve is judged on that curve."""
    j = JUDGES.get(finding.pattern) or Judge(finding.pattern, "train_loss", None, None, "final", "final loss",
                                             must_clear=False)
    if finding.metric and j.role == "train_loss" and j.pattern not in ("divergence", "gradient_explosion"):
        from advisor.roles import classify

        if classify(finding.metric).split == "val":
            j = replace(j, role="val_loss", guard_role="val_loss")
    return j


@dataclass
class SeedNumbers:
    value: float  # the judged number (NaN: not measurable on this trial)
    problem: bool | None  # the problem present on this trial; None: cannot tell
    guard: float  # final level of the guard curve (inf when it ends non-finite)
    nonfinite: bool
    source: str  # "signals" | "fallback"
    start: float = math.nan  # the judged curve's starting level (the median of its first 10%)


# ----------------------------------------------------------------------------- per trial


def measure_trial(judge: Judge, run: Run) -> SeedNumbers:
    """The judge's numbers on one trial, measured with advisor's own roles and signals."""
    from advisor.roles import build_curves

    curves, _ = build_curves(run)
    role = judge.role if curves.get(judge.role) is not None else "train_loss"
    curve = curves.get(role)
    tl = curves.get("train_loss")
    nonfinite = bool(tl is not None and (~np.isfinite(np.asarray(tl.y, float))).any())
    m = _family(curves, judge.family, role)
    source = "signals"
    value = math.nan
    if judge.key and m is not None and _is_num(m.values.get(judge.key)):
        value = float(m.values[judge.key])
    elif judge.key:
        source = "fallback"
    if math.isnan(value):
        value = _own(judge.own, curves, role)
    problem = bool(m.detected) if m is not None else None
    if problem is None and judge.family is not None:
        source = "fallback"
        problem = _own_problem(judge.own, curves, role, value)
    if judge.pattern in ("divergence", "gradient_explosion") and not problem:
        # belt and braces: a loss that ends non-finite or far above where it started diverged,
        # whatever a too-short or too-smooth curve lets the signal say
        problem = bool(_own_problem("end_start", curves, role, value))
    guard = final_level(curves.get(judge.guard_role) or curve)
    return SeedNumbers(value=value, problem=problem, guard=guard, nonfinite=nonfinite, source=source,
                       start=_start_level(curve))


def _start_level(curve) -> float:
    """Median of the first 10% of a curve's finite points (the level progress is counted from)."""
    if curve is None or len(curve) == 0:
        return math.nan
    from advisor.signals.robust import head_level

    y = np.asarray(curve.y, float)
    y = y[np.isfinite(y)]
    return float(head_level(y, 0.1)) if len(y) else math.nan


# Progress (judges with `progress`): per seed, the starting level over the fall from it to the final
# level, lower is better (inf when the loss did not fall). A fix that made the loss fall >= 1.25x as far
# (its median number <= CONFIRM_RATIO x the baseline's) in most seed pairs, and by at least PROGRESS_MIN
# of its start, confirms as a clearly lower final loss does: a run slowed by its LR that barely left its
# start (the finding's case) can fall several times as far one rung up and still end within 20% of
# where it ended.
PROGRESS_MIN = 0.03


def _falls(arm: "ArmNumbers") -> list[float]:
    """Per seed: how far the judged number fell from the curve's start (NaN when either is not finite)."""
    return [n.start - n.value for n in arm.numbers]


def progress_numbers(arm: "ArmNumbers") -> list[float]:
    """Per seed: start / (start - final), lower is better; inf for no fall, NaN when not measurable."""
    out = []
    for n, fall in zip(arm.numbers, _falls(arm)):
        if not (math.isfinite(n.start) and math.isfinite(n.value)) or n.start <= 0:
            out.append(math.nan)
        else:
            out.append(n.start / fall if fall > 0 else math.inf)
    return out


def _progress_improved(base: "ArmNumbers", fix: "ArmNumbers", eff: dict[str, float]) -> bool:
    """The fix made the loss fall clearly further from its start (`PROGRESS_MIN`, `progress_numbers`);
    records the ratio of the median falls (fix / baseline) as eff["progress_ratio"]."""
    qb, qf = progress_numbers(base), progress_numbers(fix)
    p = effect_sizes(qb, qf)
    if "ratio" not in p:
        return False
    falls_b = [f for f in _falls(base) if math.isfinite(f)]
    falls_f = [f for f in _falls(fix) if math.isfinite(f)]
    starts = [n.start for n in base.numbers + fix.numbers if math.isfinite(n.start) and n.start > 0]
    if not falls_b or not falls_f or not starts:
        return False
    fb, ff = float(np.median(falls_b)), float(np.median(falls_f))
    if fb > 0:
        eff["progress_ratio"] = ff / fb
    return bool(p["ratio"] <= CONFIRM_RATIO and p.get("cliffs_delta", 0.0) <= CONFIRM_CLIFF
                and ff >= PROGRESS_MIN * float(np.median(starts)))


def _family(curves: Curves, family: str | None, role: str):
    """The family's measurement on `role`, or None when the family is not available (yet) or failed."""
    if family is None:
        return None
    from advisor.signals import measure

    try:
        m = measure(curves, [family]).get(family, role)
    except ImportError:  # the family's module has not landed: the fallback judges
        return None
    if m is None or "error" in m.values:
        return None
    return m


def _is_num(v: Any) -> bool:
    return isinstance(v, (int, float, np.floating, np.integer)) and not isinstance(v, bool) and math.isfinite(float(v))


def final_level(curve) -> float:
    """Median of the last 10% (>= 3 points) of a curve; inf when its last point is non-finite."""
    if curve is None or len(curve) == 0:
        return math.nan
    y = np.asarray(curve.y, float)
    if not np.isfinite(y[-1]):
        return math.inf
    from advisor.signals.robust import tail_level

    return tail_level(y[np.isfinite(y)], 0.1)


def _own(kind: str, curves: Curves, role: str) -> float:
    """Fallback numbers, kept deliberately simple and scale-free."""
    from advisor.signals.robust import level_scale, mad_sigma, trend

    c = curves.get(role)
    if c is None or len(c) == 0:
        return math.nan
    y = np.asarray(c.y, float)
    fin = y[np.isfinite(y)]
    if kind == "end_start":
        if not np.isfinite(y[-1]):
            return math.inf
        head = _start_level(c)
        return final_level(c) / head if head > 0 else math.nan
    if kind == "final":
        return final_level(c)
    if kind == "amplitude":
        if not np.isfinite(y[-1]):
            return math.nan
        half = fin[len(fin) // 2:]
        if len(half) < 5:
            return math.nan
        t = trend(half)
        return mad_sigma(half - t) / level_scale(float(np.median(t)), float(np.ptp(fin)))
    if kind == "rise":
        if len(fin) < 3:
            return math.nan
        vmin = float(np.min(fin))
        end = float(np.median(fin[-2:]))
        return (end - vmin) / max(abs(vmin), 1e-12)
    if kind == "spikes":
        if len(fin) < 5:
            return math.nan
        r = fin - trend(fin)
        s = mad_sigma(r) or 1e-12
        return float(np.sum(r > 6 * s))
    return math.nan


def _own_problem(kind: str, curves: Curves, role: str, value: float) -> bool | None:
    """Fallback presence tests, used only while a signal family is not available."""
    from advisor.signals.robust import theil_sen

    c = curves.get(role)
    if c is None or len(c) == 0:
        return None
    y = np.asarray(c.y, float)
    if kind == "end_start":
        return bool((~np.isfinite(y)).any() or (math.isfinite(value) and value > 2.0) or math.isinf(value))
    if kind == "amplitude":
        return None if math.isnan(value) else bool(value > 0.25)
    if kind == "rise":
        return None if math.isnan(value) else bool(value > 0.1)
    if kind == "spikes":
        return None if math.isnan(value) else bool(value >= 2)
    if kind == "final":
        ok = np.isfinite(y)
        x, yy = np.asarray(c.x, float)[ok], y[ok]
        q = len(yy) * 3 // 4
        if len(yy) - q < 5:
            return None
        return bool(theil_sen(x[q:], yy[q:]).significant_down)
    return None


# ----------------------------------------------------------------------------- across seeds


def effect_sizes(base: list[float], fix: list[float]) -> dict[str, float]:
    """Ratio of medians, Cliff's delta (negative: fix lower) and Cohen's d (log scale when all > 0)."""
    b = np.array([v for v in base if not math.isnan(v)], float)
    f = np.array([v for v in fix if not math.isnan(v)], float)
    out: dict[str, float] = {}
    if len(b) == 0 or len(f) == 0:
        return out
    mb, mf = float(np.median(b)), float(np.median(f))
    if mb == mf:
        out["ratio"] = 1.0
    elif mb == 0 or math.isinf(mb) and math.isinf(mf):
        out["ratio"] = math.inf if mf > mb else 1.0
    else:
        out["ratio"] = mf / mb
    gt = sum(float(x > y) for x in f for y in b)
    lt = sum(float(x < y) for x in f for y in b)
    out["cliffs_delta"] = (gt - lt) / (len(b) * len(f))
    if np.isfinite(b).all() and np.isfinite(f).all() and len(b) + len(f) >= 3:
        use_log = (b > 0).all() and (f > 0).all()
        lb, lf = (np.log(b), np.log(f)) if use_log else (b, f)
        pooled = _pooled_sd(lb, lf)
        diff = float(lf.mean() - lb.mean())
        if pooled > 0:
            out["cohens_d"] = diff / pooled
        elif diff != 0:
            out["cohens_d"] = math.copysign(math.inf, diff)
        else:
            out["cohens_d"] = 0.0
    return out


def _pooled_sd(a: np.ndarray, b: np.ndarray) -> float:
    na, nb = len(a), len(b)
    va = float(a.var(ddof=1)) if na > 1 else 0.0
    vb = float(b.var(ddof=1)) if nb > 1 else 0.0
    dof = max(1, (na - 1) + (nb - 1))
    return math.sqrt(((na - 1) * va + (nb - 1) * vb) / dof) if (na > 1 or nb > 1) else 0.0


@dataclass
class ArmNumbers:
    seeds: list[int] = field(default_factory=list)
    numbers: list[SeedNumbers] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def values(self) -> list[float]:
        return [n.value for n in self.numbers]

    def problems(self) -> tuple[int, int]:
        flags = [n.problem for n in self.numbers if n.problem is not None]
        return sum(flags), len(flags)

    @property
    def nonfinite(self) -> int:
        return sum(n.nonfinite for n in self.numbers)


def decide(judge: Judge, base: ArmNumbers, fix: ArmNumbers) -> tuple[str, dict[str, float], str]:
    """(verdict, effect sizes, one-sentence reason) from the two arms' per-seed numbers."""
    if not base.numbers or not fix.numbers:
        side = "baseline" if not base.numbers else "fix"
        return "inconclusive", {}, f"no {side} trial finished"
    eff = effect_sizes(base.values, fix.values)
    pb, kb = base.problems()
    pf, kf = fix.problems()
    eff["problem_baseline"] = float(pb)
    eff["problem_fix"] = float(pf)
    g = effect_sizes([n.guard for n in base.numbers], [n.guard for n in fix.numbers])
    if "ratio" in g:
        eff["guard_ratio"] = g["ratio"]
    if kb and pb * 2 < kb:
        return "not-reproduced", eff, f"the baseline shows {judge.pattern} in only {pb}/{kb} seeds at this budget"
    harm_nan = fix.nonfinite > base.nonfinite
    harm_guard = g.get("ratio", 1.0) >= HARM_RATIO and g.get("cliffs_delta", 0.0) >= HARM_CLIFF
    if harm_nan:
        return "refuted", eff, f"the fix made the loss non-finite in {fix.nonfinite}/{len(fix.numbers)} seeds"
    if harm_guard:
        return "refuted", eff, (f"the fix made the final {judge.guard_role.replace('_', ' ')} worse "
                                f"(x{g['ratio']:.3g} median)")
    ratio = eff.get("ratio", math.nan)
    cliff = eff.get("cliffs_delta", 0.0)
    improved = ratio <= CONFIRM_RATIO and cliff <= CONFIRM_CLIFF
    persists = kf > 0 and pf * 2 >= kf
    cleared = kb > 0 and kf > 0 and pb * 2 >= kb and pf * 2 < kf
    # the detector flipping is only worth a confirmation when the loss clearly improved too
    guard_better = g.get("ratio", math.nan) <= GUARD_GAIN and g.get("cliffs_delta", 0.0) <= CONFIRM_CLIFF
    if cleared and guard_better and not improved:
        # the detector (which knows the noise floor) no longer fires and the loss got better: a
        # relative amplitude can stay put when the level it is relative to falls.
        return "confirmed", eff, (f"the {judge.pattern} detector fires in {pb}/{kb} baseline seeds and {pf}/{kf} fix "
                                  f"seeds, and the final {judge.guard_role.replace('_', ' ')} fell to x{g['ratio']:.3g}")
    if judge.pattern in ("divergence", "gradient_explosion") and kf and pf == kf:
        return "refuted", eff, (f"the loss still diverges in {pf}/{kf} fix seeds (x{ratio:.3g} of the baseline's "
                                f"{judge.label}): the change delays the blow-up at best")
    guard_worse = g.get("ratio", 1.0) >= TRADE_RATIO and g.get("cliffs_delta", 0.0) >= HARM_CLIFF
    if improved and guard_worse:
        # e.g. raising a too-high LR further: the loss stops bouncing because training died
        return "refuted", eff, (f"{judge.label} fell to x{ratio:.3g}, but the final "
                                f"{judge.guard_role.replace('_', ' ')} got worse (x{g['ratio']:.3g}) in most seeds: "
                                f"the change trades the {judge.pattern} for a worse run")
    if improved and not persists:
        return "confirmed", eff, f"{judge.label} fell to x{ratio:.3g} of the baseline and the {judge.pattern} is gone"
    if improved and not judge.must_clear:
        return "confirmed", eff, (f"{judge.label} fell to x{ratio:.3g} of the baseline"
                                  + (f" ({judge.pattern} still measured in {pf}/{kf} fix seeds)" if persists else ""))
    if judge.progress and not judge.must_clear and _progress_improved(base, fix, eff):
        how = f"{eff['progress_ratio']:.2g}x as far" if "progress_ratio" in eff else "clearly further"
        return "confirmed", eff, (f"the loss fell {how} from its start as the baseline's ({judge.label} x{ratio:.3g})"
                                  + (f"; {judge.pattern} still measured in {pf}/{kf} fix seeds" if persists else ""))
    guard_not_better = not (g.get("ratio", 1.0) <= REFUTE_RATIO)
    if not (ratio <= REFUTE_RATIO) and (persists or kf == 0) and guard_not_better:
        return "refuted", eff, f"{judge.label} did not improve (x{ratio:.3g} of the baseline), nor did the final loss"
    if not (ratio <= REFUTE_RATIO) and not guard_not_better:
        return "inconclusive", eff, (f"the final {judge.guard_role.replace('_', ' ')} improved (x{g['ratio']:.3g}) but "
                                     f"{judge.label} did not (x{ratio:.3g}); the {judge.pattern} is still measured "
                                     f"in {pf}/{kf} fix seeds")
    if improved:
        return "inconclusive", eff, f"{judge.label} improved (x{ratio:.3g}) but the {judge.pattern} persists in {pf}/{kf} fix seeds"
    return "inconclusive", eff, f"the effect is small or mixed across seeds (x{ratio:.3g}, Cliff's delta {cliff:+.2f})"


def build_verification(finding: Finding, arm_rule: str, action: str, change: dict[str, Any], judge: Judge,
                       base: ArmNumbers, fix: ArmNumbers, steps: int, seeds: int, device: str,
                       wall_s: float, notes: list[str]) -> Verification:
    verdict, effect, reason = decide(judge, base, fix)
    sources = {n.source for n in base.numbers + fix.numbers}
    measure = f"{judge.label} on {judge.role}"
    notes = [reason, *notes]
    if "fallback" in sources and judge.family:
        n_fb = sum(n.source == "fallback" for n in base.numbers + fix.numbers)
        notes.append(f"the '{judge.family}' signal was unavailable or gave no value on {n_fb} trial(s): "
                     "advisor.verify's fallback measured those")
    notes.append(f"final {judge.guard_role} per seed: baseline {_fmt_list(n.guard for n in base.numbers)}, "
                 f"fix {_fmt_list(n.guard for n in fix.numbers)}")
    for label, arm in (("baseline", base), ("fix", fix)):
        notes.extend(f"{label} trial failed: {e}" for e in arm.errors)
    return Verification(verdict=verdict, rule=arm_rule, action=action, change=change, measure=measure,
                        baseline=[float(v) for v in base.values], fix=[float(v) for v in fix.values],
                        effect=effect, steps=steps, seeds=seeds, device=device, wall_s=round(wall_s, 2),
                        notes=notes)


def _fmt_list(values) -> str:
    return "[" + ", ".join(f"{v:.3g}" for v in values) + "]"
