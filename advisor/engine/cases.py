"""Pass/fail cases of rule files: small curves described as data, run through the real pipeline.

Every rule carries `[[cases]]` (expect = "fire" or "silent"). A case names curves by role; each
curve is either explicit (`y = [...]`, TOML allows nan and inf) or composed from a decaying base
plus modifiers, so a case reads like the situation it tests:

    [cases.curves.train_loss]
    n = 300, start = 2.3, end = 0.2, tau = 0.25, noise = 0.02, seed = 1
    nan_from = 0.6          # NaN from 60% of the run on
    explode_from = 0.5      # multiplies by 10 every 10% of the run from here
    early_rise = 0.5        # rises 50% above the start over the first 20%, then never recovers
    osc = 0.3, osc_from = 0 # +-30% bounces around the trend from this fraction on
    plateau = [0.1, 0.6]    # flat between these fractions, then the decay resumes
    rise_from = 0.5, rise = 0.4   # rises linearly by 40% from here to the end
    epoch_len = 50, jump = 0.3    # a jump at every epoch start, decaying within the epoch
    x_scale = 10            # x = index * x_scale
and, beside the curves, `run_mean_loss = { mean = 2.9e9, step = 14 }`: the run's summary of its mean
training loss (the HF Trainer's final train_loss), read as in advisor.roles.unlogged_tail.

The case is then measured with advisor.signals and evaluated with the engine: the test is the
rule as the user will run it, not a mock of its inputs.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from advisor.model import Curve, Curves


def case_curve(role: str, spec: dict[str, Any]) -> Curve:
    if "y" in spec:
        y = np.asarray(spec["y"], dtype=np.float64)
        x = np.asarray(spec.get("x", np.arange(len(y)) * spec.get("x_scale", 1)), dtype=np.float64)
        return Curve(role=role, tag=spec.get("tag", role), x=x, y=y)
    n = int(spec.get("n", 200))
    t = np.linspace(0.0, 1.0, n)
    start, end = float(spec.get("start", 2.3)), float(spec.get("end", 0.2))
    tau = float(spec.get("tau", 0.25))
    if spec.get("shape", "exp") == "linear":
        base = start + (end - start) * t
    elif spec.get("shape") == "const":
        base = np.full(n, start)
    else:
        base = end + (start - end) * np.exp(-t / tau)
    if "plateau" in spec:
        a, b = spec["plateau"]
        level = end + (start - end) * np.exp(-a / tau)
        shifted = end + (start - end) * np.exp(-np.clip(t - (b - a), 0, None) / tau)
        base = np.where(t < a, base, np.where(t < b, level, np.minimum(level, shifted)))
    if "early_rise" in spec:
        r = float(spec["early_rise"])
        peak = start * (1 + r)
        base = np.where(t < 0.2, start + (peak - start) * t / 0.2, peak * (1 + 0.05 * np.sin(t * 40)))
    if "rise_from" in spec:
        f, r = float(spec["rise_from"]), float(spec.get("rise", 0.4))
        level = np.interp(f, t, base)
        base = np.where(t < f, base, level * (1 + r * (t - f) / max(1 - f, 1e-9)))
    if "explode_from" in spec:
        f = float(spec["explode_from"])
        base = np.where(t < f, base, np.interp(f, t, base) * 10 ** ((t - f) / 0.1))
    rng = np.random.default_rng(int(spec.get("seed", 0)))
    y = base * (1 + float(spec.get("noise", 0.02)) * rng.standard_normal(n))
    if "osc" in spec:
        f = float(spec.get("osc_from", 0.0))
        amp = float(spec["osc"])
        bounce = amp * np.sign(rng.standard_normal(n)) * (0.5 + 0.5 * rng.random(n))
        y = np.where(t >= f, y * (1 + bounce), y)
    if "epoch_len" in spec:
        L = int(spec["epoch_len"])
        within = np.arange(n) % L
        y = y * (1 + float(spec.get("jump", 0.3)) * np.exp(-within / max(L / 6, 1)))
    if "nan_from" in spec:
        y = np.where(t >= float(spec["nan_from"]), np.nan, y)
    x = np.arange(n, dtype=np.float64) * float(spec.get("x_scale", 1))
    return Curve(role=role, tag=spec.get("tag", role), x=x, y=y)


def case_curves(case: dict[str, Any]) -> Curves:
    curves = Curves(run=case.get("name", "case"), hparams=dict(case.get("hparams", {})))
    for role, spec in case.get("curves", {}).items():
        curves.by_role[role] = case_curve(role, spec)
    if "steps_per_epoch" in case:
        curves.steps_per_epoch = float(case["steps_per_epoch"])
    curves.rl = bool(case.get("rl", False))
    if "num_classes" in case:
        curves.num_classes = int(case["num_classes"])
    if "run_mean_loss" in case and curves.get("train_loss") is not None:
        # the run's summary of its mean training loss (HF's final train_loss): {mean, step}
        from advisor.roles import unlogged_tail

        train = curves.get("train_loss")
        summary = case["run_mean_loss"]
        curves.unlogged_tail = unlogged_tail(train.x, train.y, float(summary["mean"]), int(summary["step"]))
    return curves
