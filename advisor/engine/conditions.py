"""Declarative conditions, evaluated without `eval`, in three-valued logic.

A leaf is `{signal, op, value[, role]}`; groups are `all`, `any` and `not`. A leaf whose signal
was not measured (the log lacks the curve, or the curve is too short) is *unknown* rather than
false: `all` with an unknown part is unknown unless another part is false, `any` is true as soon
as one part is true. A rule whose condition ends unknown abstains and says which signal was
missing, instead of guessing.

References a leaf can make:
  "<family>.<key>"   a measurement value on the rule's metric role (or `role = "..."`)
  "hparam.<name>"    a normalised hyperparameter (lr, batch_size, optimizer, ...)
  "curve.<role>"     whether the run has that curve (use with exists / missing)
  "run.<fact>"       a fact about the whole run (advisor.priors): lr_over_usual (and its bounds
                     lr_over_usual_most / _least when only the LR is logged), optimizer_family,
                     saturating_net, may_saturate, grad_clip, warmup_steps, ...
  "$<param>"         (as a value) a rule parameter, overridable from config
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from advisor import priors
from advisor.model import Curves
from advisor.signals import Measurements


@dataclass
class Context:
    measurements: Measurements
    curves: Curves
    role: str  # the rule's metric role for this run
    params: dict[str, Any]
    unknown: list[str] = field(default_factory=list)  # signals that were needed but missing

    def resolve(self, ref: str, role: str | None = None) -> Any:
        if ref.startswith("hparam."):
            return self.curves.hparams.get(ref.split(".", 1)[1])
        if ref.startswith("curve."):
            return self.curves.get(ref.split(".", 1)[1]) is not None
        if ref == "run.steps_per_epoch":
            return self.curves.steps_per_epoch
        if ref == "run.num_classes":
            return self.curves.num_classes
        if ref == "run.comparable_losses":
            return self.curves.comparable_losses
        if ref.startswith("run."):
            return self._run_fact(ref[4:], role or self.role)
        return self.measurements.value(ref, role or self.role)

    def _run_fact(self, name: str, role: str) -> Any:
        hp = self.curves.hparams
        if name == "lr_over_usual":
            return priors.lr_over_usual(hp)
        if name == "lr_over_usual_for_batch":
            return priors.lr_over_usual_for_batch(hp)
        if name in ("lr_over_usual_most", "lr_over_usual_least"):
            return priors.lr_over_usual_bound(hp, most=name.endswith("most"))
        if name in ("optimizer_most", "optimizer_least"):  # whose usual range the bound above is taken over
            if priors.optimizer_family(hp):
                return hp.get("optimizer")
            return ("an Adam-like optimizer (the lowest usual LR of any; the optimizer is not logged)" if name.endswith("most")
                    else "plain SGD (the highest usual LR of any; the optimizer is not logged)")
        if name == "lr_far_below_usual":
            return _lr_far_below_usual(hp)
        if name == "optimizer_family":
            return priors.optimizer_family(hp)
        if name == "saturating_net":
            return priors.saturating_net(hp)
        if name == "may_saturate":  # not known to be a net without saturating units (unknown counts as may)
            return priors.saturating_net(hp) is not False
        onset = self.measurements.value("divergence.onset_step", role)
        if name == "grad_clip":
            return priors.grad_clip(self.curves, onset)
        if name == "warmup_steps":
            return priors.warmup_steps(self.curves, role, onset)
        if name == "total_steps":
            return priors.total_steps(self.curves, role)
        return None

    def param(self, value: Any) -> Any:
        if isinstance(value, str) and value.startswith("$"):
            name = value[1:]
            if name in self.params:
                return self.params[name]
            return self.resolve(name)
        return value


# An LR far enough below its optimizer's usual range to explain a stall by itself: 10x below the top
# for an adaptive optimizer (Adam-like, Adagrad: Adam at 1e-4, Adagrad at 1e-3), whose per-parameter
# normalisation keeps a vanishing gradient from shrinking its steps, so a stall there is the step
# size's doing; 30x below for SGD (PLT007's bound), whose step is LR x gradient, so that a deep
# net of saturating units stalls under it at ordinary LRs (deep sigmoid stacks at SGD 0.01, 1/20
# of the top, are BatchNorm's case); 10x below the lowest top of any family (Adam's 1e-3) when the
# optimizer is not logged (none of those deep stacks runs below 1e-2)
FAR_BELOW = {"adaptive": 0.1, "adagrad": 0.1, "adadelta": 0.1, "sgd": 1 / 30, "sgd_momentum": 1 / 30}
FAR_BELOW_UNKNOWN = 0.1


def _lr_far_below_usual(hp: dict[str, Any]) -> bool | None:
    """True when the logged LR alone is far below its optimizer's usual range (FAR_BELOW); None
    when no LR is logged."""
    ratio = priors.lr_over_usual_bound(hp, most=True)
    if ratio is None:
        return None
    fam = priors.optimizer_family(hp)
    return bool(ratio <= (FAR_BELOW[fam] if fam else FAR_BELOW_UNKNOWN))


def evaluate(cond: dict[str, Any], ctx: Context) -> bool | None:
    if "all" in cond:
        results = [evaluate(c, ctx) for c in cond["all"]]
        if any(r is False for r in results):
            return False
        return None if any(r is None for r in results) else True
    if "any" in cond:
        results = [evaluate(c, ctx) for c in cond["any"]]
        if any(r is True for r in results):
            return True
        return None if any(r is None for r in results) else False
    if "not" in cond:
        r = evaluate(cond["not"], ctx)
        return None if r is None else not r
    return _leaf(cond, ctx)


def _leaf(cond: dict[str, Any], ctx: Context) -> bool | None:
    op = cond["op"]
    actual = ctx.resolve(cond["signal"], cond.get("role"))
    if op == "exists":
        return actual is not None and actual is not False
    if op == "missing":
        return actual is None or actual is False
    if actual is None or (isinstance(actual, float) and math.isnan(actual)):
        label = cond["signal"] + (f" on {cond['role']}" if cond.get("role") else "")
        ctx.unknown.append(label)
        return None
    expected = ctx.param(cond["value"])
    if isinstance(expected, list):
        expected = [ctx.param(v) for v in expected]
    if expected is None:
        ctx.unknown.append(str(cond["value"]))
        return None
    try:
        return _compare(actual, op, expected)
    except TypeError:
        return False


def _compare(actual: Any, op: str, expected: Any) -> bool:
    if op == "==":
        return actual == expected
    if op == "!=":
        return actual != expected
    if op == "in":
        return actual in expected
    if op == "not_in":
        return actual not in expected
    if isinstance(actual, bool) or isinstance(expected, bool):
        raise TypeError("ordering comparison on a boolean")
    if op == "<":
        return actual < expected
    if op == "<=":
        return actual <= expected
    if op == ">":
        return actual > expected
    if op == ">=":
        return actual >= expected
    raise ValueError(op)


def referenced_signals(cond: dict[str, Any]) -> list[str]:
    """Every signal reference in a condition tree (for the registry meta-test)."""
    out: list[str] = []
    for key in ("all", "any"):
        for c in cond.get(key, []):
            out.extend(referenced_signals(c))
    if "not" in cond:
        out.extend(referenced_signals(cond["not"]))
    if "signal" in cond:
        out.append(cond["signal"])
    for v in ([cond.get("value")] if not isinstance(cond.get("value"), list) else cond["value"]):
        if isinstance(v, str) and v.startswith("$") and "." in v:
            out.append(v[1:])
    return out
