"""Trial planning: the baseline config, one fix arm per recommendation, the budget and the seeds.

Why a module of its own: the same plan drives three executors (a command template run as a
subprocess, an in-process `module:function` entry point, the built-in trainings), and the parts
that decide *what* is compared must not differ between them. A fix arm is the baseline config
with exactly one recommendation's `change` applied, so the comparison isolates that change.

Nothing here imports torch or runs anything.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any, Iterable

from advisor.model import Curves, Finding, Run

DEFAULT_SEEDS = 3
MIN_STEPS = 30  # below this no curve measurement is meaningful
ONSET_MARGIN = 1.5  # the budget passes the finding's onset by half again, to see it settle or not


class PlanError(Exception):
    """A plan that cannot be made (bad --set, a change the baseline cannot take): one line."""


@dataclass
class Arm:
    """One side of the comparison: a config, a step budget, and (for a fix) what changed and why."""

    name: str  # "baseline" or "fix:<action>"
    config: dict[str, Any]
    steps: int
    rule: str = ""
    action: str = ""
    change: dict[str, Any] = field(default_factory=dict)  # concrete: {"lr": {"multiply": 0.33, "from": 0.1, "set": 0.03}}
    finding: Finding | None = None
    skip: str | None = None  # why this arm cannot run; the verification says so instead of guessing
    notes: list[str] = field(default_factory=list)


@dataclass
class TrialResult:
    """What one (arm, seed) trial left behind. `run` is None when nothing readable came back."""

    arm: str
    seed: int
    run: Run | None
    error: str | None = None  # crash, timeout, unreadable logs: reported, never fatal
    wall_s: float = 0.0
    logdir: str | None = None
    device: str = "cpu"
    trained_steps: int | None = None  # the trial log's length before it was cut to the budget


# ----------------------------------------------------------------------------- config values


_INT_RE = re.compile(r"^[+-]?\d+$")


def parse_value(text: str) -> Any:
    """A `--set` value as the user meant it: int, float, bool, none, else the string itself.

    Never evaluated as code: `$(touch x)` stays the literal string `$(touch x)`.
    """
    t = text.strip()
    low = t.lower()
    if low in ("true", "yes", "on"):
        return True
    if low in ("false", "no", "off"):
        return False
    if low in ("none", "null"):
        return None
    if _INT_RE.match(t):
        return int(t)
    try:
        value = float(t)
    except ValueError:
        return text
    return value if math.isfinite(value) else text


def parse_sets(items: Iterable[str]) -> dict[str, Any]:
    """`key=value` pairs (repeatable `--set`) into a dict; a malformed item is a PlanError."""
    out: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or not re.match(r"^[A-Za-z_][A-Za-z0-9_.\-]*$", key):
            raise PlanError(f"--set {item!r}: expected key=value with a name like lr or optimizer.lr")
        out[key] = parse_value(value)
    return out


def baseline_config(run: Run | None, sets: dict[str, Any],
                    logged: dict[str, Any] | None = None) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """The config the baseline arm trains with, and which raw keys carry each normalised name.

    The run's own hparams come first (raw names, so a command template can use `{learning_rate}`),
    the normalised names of advisor.roles (`lr`, `batch_size`, ...) are added beside them, then
    what the pipeline read from the log's curves (`logged`, the Curves' hparams: a run that logs
    its LR only as a scalar curve still has an `{lr}`, the value its advice was computed from),
    and `--set` wins over all. `aliases["lr"] == ["learning_rate"]` lets a change to `lr` reach the
    raw key too, so the two never disagree inside one trial.
    """
    from advisor.roles import HPARAM_ALIASES, normalise_hparams

    raw = {str(k): _plain(v) for k, v in (run.hparams if run else {}).items()}
    config: dict[str, Any] = dict(raw)
    norm = normalise_hparams(raw)
    for name, value in norm.items():
        config.setdefault(name, value)
    for name, value in (logged or {}).items():
        config.setdefault(name, _plain(value))
    aliases: dict[str, list[str]] = {}
    leaves = {k: re.split(r"[./]", k.lower())[-1] for k in raw}
    for name, names in HPARAM_ALIASES.items():
        keys = [k for k, leaf in leaves.items() if (leaf in names or k.lower() in names) and k != name]
        if keys and name in norm:
            aliases[name] = keys
    for key, value in sets.items():
        config[key] = value
        for name, keys in aliases.items():
            if key == name:
                for k in keys:
                    config[k] = value
    return config, aliases


def logged_config(curves: Curves | None) -> dict[str, Any]:
    """What the pipeline read from the log beyond its hparams, for `baseline_config(logged=...)`:
    the Curves' hparams (with an LR read off a logged LR curve) and, when the log counts epochs
    and records no epoch count, how many it trained (`logged_epochs`), so that `--epochs
    {epochs}`, the ordinary way a script takes its length, works on a Lightning or Keras CSV."""
    if curves is None:
        return {}
    out = dict(curves.hparams)
    if "epochs" not in out:
        epochs = logged_epochs(curves)
        if epochs is not None:
            out["epochs"] = epochs
    return out


def logged_epochs(curves: Curves) -> int | None:
    """How many epochs the run trained, read from its log; None when the log does not say.

    An `epoch` column of whole numbers (Lightning's and Keras' 0-based `epoch`, a script's 1-based
    one) counts its distinct epochs; HF's fractional epoch ends on the count when the run finished
    its epochs; a curve whose x axis is the epoch (Keras CSV, Keras TensorBoard `epoch_loss`)
    counts its x values. A fractional end (a run stopped by max_steps mid-epoch) says nothing."""
    import numpy as np

    epoch = curves.get("epoch")
    if epoch is not None and len(epoch):
        values = np.asarray(epoch.y, float)
    else:
        loss = curves.get("train_loss") or curves.get("val_loss")
        if loss is None or loss.x_kind != "epoch" or not len(loss):
            return None
        values = np.asarray(loss.x, float)
    values = values[np.isfinite(values)]
    if not len(values) or values.min() < 0:
        return None
    first, last = float(values.min()), float(values.max())
    if np.allclose(values, np.round(values)):
        return int(round(last - first)) + 1 if round(first) in (0, 1) else None
    return int(round(last)) if abs(last - round(last)) < 1e-6 and round(last) >= 1 else None


def _plain(value: Any) -> Any:
    """Numbers logged as strings ("0.1") become numbers and integral numbers ints (32.0 -> 32);
    anything else (including "none", a legitimate value of a config like lr_schedule) is kept."""
    from advisor.verify.template import is_integral

    if isinstance(value, str):
        parsed = parse_value(value)
        value = parsed if isinstance(parsed, (int, float)) and not isinstance(parsed, bool) else value
    if hasattr(value, "item") and not isinstance(value, (list, dict, str, bool)):
        try:
            value = value.item()
        except (TypeError, ValueError):
            return value
    if is_integral(value):  # the hparams plugin stores every number as a double: 32.0 was 32
        return int(value)
    return value


# ----------------------------------------------------------------------------- changes


INT_KEYS = {"batch_size", "max_steps", "epochs", "warmup_steps", "hidden", "depth", "train_size"}


def apply_change(config: dict[str, Any], change: dict[str, Any],
                 aliases: dict[str, list[str]] | None = None) -> tuple[dict[str, Any], dict[str, Any]]:
    """The fix arm's config: `config` with one recommendation's `change` applied.

    Spec forms (DESIGN.md): `{"set": v}`, `{"multiply": f}` (with `from`/`set` filled in by the
    engine from the run's own value), `{"add": d}`, or a bare value (= set). When the baseline
    value is the run's value the engine saw (`from`), its `set` is used as is (it is already
    snapped to the x3 ladder); when the user overrode the baseline with `--set`, the factor is
    applied to the new baseline instead. Returns the new config and the concrete change.
    """
    aliases = aliases or {}
    new = dict(config)
    concrete: dict[str, Any] = {}
    for key, spec in change.items():
        current = config.get(key)
        if not isinstance(spec, dict):
            value, done = spec, {"set": spec}
        elif "multiply" in spec or "add" in spec:
            if not _number(current):
                raise PlanError(f"the baseline has no numeric {key}: pass --set {key}=VALUE")
            if "multiply" in spec:
                value = current * float(spec["multiply"])
                if spec.get("from") is not None and "set" in spec and _close(spec["from"], current):
                    value = spec["set"]
                elif key == "lr" and _ladder_step(float(spec["multiply"])):
                    value = _rung(current, float(spec["multiply"]), value)  # as the engine does: 0.1 -> 0.03
            else:
                value = current + float(spec["add"])
            done = {k: v for k, v in spec.items() if k in ("multiply", "add")}
            done.update({"from": current, "set": value})
        elif "set" in spec:
            value = spec["set"]
            done = {"set": value}
            if current is not None:
                done["from"] = current
        else:
            raise PlanError(f"change of {key} has no value ({spec}): nothing to try")
        if key in INT_KEYS and _number(value):
            value = int(round(value))
            done["set"] = value
        elif isinstance(value, float):
            value = float(f"{value:.6g}")
            done["set"] = value
        new[key] = value
        for alias in aliases.get(key, []):
            new[alias] = value
        concrete[key] = done
    return new, concrete


def _ladder_step(factor: float) -> bool:
    # 0.33 and 3 are ladder steps; sqrt(1/8) = 0.354 (a batch-scaling factor) is not
    return factor > 0 and abs(abs(math.log10(factor)) - math.log10(3)) < 0.02


def _rung(current: float, factor: float, value: float) -> float:
    """One rung of the x3 ladder from `current`, by the engine's own rule (so `verify --set lr=...`
    moves exactly as a recommendation computed from the log would)."""
    import advisor.engine as engine

    if hasattr(engine, "ladder_step"):
        return engine.ladder_step(current, factor)
    return engine.snap_to_ladder(value)


def _number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _close(a: Any, b: Any) -> bool:
    try:
        return abs(float(a) - float(b)) <= 1e-9 * max(abs(float(a)), abs(float(b)), 1e-300)
    except (TypeError, ValueError):
        return False


# ----------------------------------------------------------------------------- budget


def original_length(run: Run | None) -> int | None:
    """The original run's length in its own x units (its largest logged step), None if unknown."""
    if run is None or not run.series:
        return None
    ends = [int(s.step.max()) for s in run.series.values() if len(s)]
    return max(ends) if ends else None


def log_cadence(run: Run | None, tag: str | None) -> int:
    """Steps between logged points of the run's training loss (median spacing; 1 when unknown).

    Detectors judge noise against what a healthy run shows *at that point density*, so trials
    must be measured at the original's cadence (Lightning logs every 10 steps by default)."""
    if run is None or not tag or tag not in run.series:
        return 1
    import numpy as np

    steps = np.unique(run.series[tag].step)
    if len(steps) < 3:
        return 1
    return max(1, int(np.median(np.diff(steps))))


def default_steps(finding: Finding | None, original: int | None, fallback: int = 300) -> int:
    """Enough steps to pass the finding's onset with a margin (onset x 1.5), never longer than
    the original run: the trial must show the problem (or its absence), nothing more.

    Without an onset the original length is used; without either, `fallback`.
    """
    onset = None
    if finding is not None:
        onset = finding.start_step
        if onset is None and finding.evidence:
            onset = next((v for k, v in finding.evidence.items() if k.endswith(("onset_step", "val_min_step"))
                          and _number(v)), None)
    if onset is not None and _number(onset) and onset > 0:
        steps = int(math.ceil(float(onset) * ONSET_MARGIN))
        if finding is not None and finding.pattern == "overfitting" and original:
            # the rise after the minimum must be visible: at least half again past it
            steps = max(steps, int(math.ceil(float(onset) * 2)))
    else:
        steps = original or fallback
    if original:
        steps = min(steps, original)
    return max(MIN_STEPS, steps)


# ----------------------------------------------------------------------------- arms


def plan_arms(findings: list[Finding], config: dict[str, Any], aliases: dict[str, list[str]], steps: int,
              rules: Iterable[str] = (), first_only: bool = False) -> list[Arm]:
    """One fix arm per recommendation that carries a `change` (or those of `rules`)."""
    wanted = {r.upper() for r in rules}
    arms: list[Arm] = []
    for f in findings:
        if wanted and f.rule.upper() not in wanted:
            continue
        for rec in f.recommendations:
            if not rec.change:
                continue
            arm = Arm(name=f"fix:{rec.action}", config=config, steps=steps, rule=f.rule, action=rec.action,
                      change=dict(rec.change), finding=f)
            try:
                arm.config, arm.change = apply_change(config, rec.change, aliases)
            except PlanError as exc:
                arm.skip = str(exc)
            budget = arm.change.get("max_steps", {}).get("set") if isinstance(arm.change.get("max_steps"), dict) else None
            if _number(budget) and budget > 0:
                # a budget is the trial's step count, not a config key the training must know
                arm.steps = int(budget)
                arm.config = {k: v for k, v in arm.config.items() if k != "max_steps"}
                if "max_steps" in config:
                    arm.config["max_steps"] = int(budget)
                arm.notes.append(f"the fix stops at step {int(budget)} (its own budget)")
            arms.append(arm)
            if first_only:
                return arms
    return arms


def arm_label(arm: Arm) -> str:
    """`lr 0.1 -> 0.03` style summary of what an arm changes."""
    parts = []
    for key, spec in arm.change.items():
        if isinstance(spec, dict) and "set" in spec:
            src = spec.get("from")
            parts.append(f"{key} {_short(src)} -> {_short(spec['set'])}" if src is not None else f"{key} = {_short(spec['set'])}")
        else:
            parts.append(f"{key} = {spec}")
    return ", ".join(parts) or arm.name


def _short(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.3g}"
    return str(v)
