"""Built-in reference experiments: the seed articles' claims, re-run as real fix trials.

Why: `advisor verify` must itself be checked against cases whose answer is known. Each experiment
is a baseline config of a built-in training (advisor.verify.builtins) that really shows one
problem, the finding a rule would raise on it (real rule id, pattern) and one recommendation;
`expect` is the verdict the seeds predict. Two are controls: a deliberately wrong fix (raising an
LR that is already too high) must come out `refuted`, and a healthy run blamed for a problem it
does not have must come out `not-reproduced`, so a verifier that confirms everything fails.

Configs were chosen by running them (3 seeds, CPU, threads=1): each takes a few seconds.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from advisor.model import Finding, Recommendation


@dataclass(frozen=True)
class Experiment:
    name: str
    title: str
    source: str
    config: dict[str, Any]
    steps: int
    rule: str
    pattern: str
    action: str
    change: dict[str, Any]
    expect: str
    metric: str = "train/loss"
    notes: tuple[str, ...] = field(default_factory=tuple)

    def finding(self) -> Finding:
        rec = Recommendation(action=self.action, change=dict(self.change), text=self.title, source=self.source)
        return Finding(rule=self.rule, pattern=self.pattern, severity="warning", metric=self.metric,
                       start_step=None, end_step=None, summary=self.title, recommendations=[rec])


_DIVERGES = {"task": "digits-mlp", "optimizer": "sgd", "init": "kaiming", "lr": 3.0, "explode_at": None}
# synth-mlp keeps an irreducible loss (~0.2), so the relative amplitude of its bounces is not
# inflated by a level near zero, as it is on digits once the training set is fitted
# tanh: with ReLU, LR 0.5 left the detector silent under ATEN_CPU_CAPABILITY=default (units die and
# the loss goes flat); tanh units cannot die, so the run stays high and bouncing on every kernel
# (level 1.5-1.7x and bounce 4.6-5.4x the detector's "stuck" thresholds, seeds 0-2, default/avx2/avx512)
_OSCILLATES = {"task": "synth-mlp", "lr": 0.5, "activation": "tanh"}
_SMALL_BATCH = {"task": "synth-mlp", "lr": 0.1, "batch_size": 16}
_LARGE_BATCH = {"task": "digits-mlp", "optimizer": "sgd", "lr": 0.01, "batch_size": 128}
_OVERFIT = {"task": "digits-mlp", "weight_decay": 0.0, "train_size": 100}

EXPERIMENTS: dict[str, Experiment] = {e.name: e for e in [
    Experiment("lr-diverges", "LR far too high: the loss explodes to NaN; one rung down the x3 ladder fixes it",
               "seed 000 (Ng's x3 ladder), seed 002 figure 12-5 (yellow)", _DIVERGES, 200,
               "DIV001", "divergence", "lower_lr", {"lr": {"multiply": 0.33}}, "confirmed"),
    Experiment("lr-oscillates", "LR too high: the loss bounces around its trend; one rung down fixes it",
               "seed 000 (在最优解附近来回抖动), seed 002 figure 12-5 (red)", _OSCILLATES, 300,
               "OSC001", "oscillation", "lower_lr", {"lr": {"multiply": 0.33}}, "confirmed"),
    Experiment("lr-too-low", "LR too low: still falling at the end; one rung up (x3) converges much further",
               "seed 000 (x3 ladder upwards), seed 002 figure 12-5 (blue)",
               {"task": "digits-mlp", "optimizer": "sgd", "lr": 0.01}, 300,
               "SLOW001", "slow_convergence", "raise_lr", {"lr": {"multiply": 3.0}}, "confirmed"),
    Experiment("batch-lr", "Batch 128 with the LR of batch 16 converges slowly; scale the LR linearly (x8)",
               "seed 002 (12.3.4: a larger batch needs a proportionally larger LR, linear then sqrt(m))",
               _LARGE_BATCH, 300, "SLOW002", "slow_convergence", "raise_lr", {"lr": {"multiply": 8.0}}, "confirmed"),
    Experiment("batch-raise", "Batch 16 bounces at an LR that suits batch 128; batch 128 at that LR settles",
               "seed 002 (12.3.4: the same LR is too large for a small batch)", _SMALL_BATCH, 300,
               "OSC004", "oscillation", "raise_batch_size", {"batch_size": {"set": 128}}, "confirmed"),
    Experiment("batchnorm", "Without BatchNorm LR 3 diverges; with BatchNorm the same LR trains",
               "seed 000 (BN lets us use a larger learning rate)", _DIVERGES, 200,
               "DIV002", "divergence", "add_batchnorm", {"batchnorm": {"set": True}}, "confirmed"),
    Experiment("overfit-wd", "100 training samples, no regularisation: val loss turns up; weight decay 1e-4",
               "seed 003 (overfitting: regularise)", _OVERFIT, 600,
               "OVF001", "overfitting", "regularize", {"weight_decay": {"set": 1e-4}}, "confirmed",
               metric="val/loss"),
    Experiment("overfit-dropout", "300 samples with 20% noisy labels: the net memorises the noise; dropout 0.5",
               "seed 003 (overfitting: dropout); Srivastava et al. 2014",
               {"task": "digits-mlp", "weight_decay": 0.0, "train_size": 300, "label_noise": 0.2}, 800,
               "OVF001", "overfitting", "regularize", {"dropout": {"set": 0.5}}, "confirmed", metric="val/loss",
               notes=("on clean labels (100 or 300 samples) dropout 0.2-0.5 made the rise worse at these budgets",)),
    Experiment("overfit-early-stop", "100 training samples: stop near the validation minimum",
               "seed 003 (early stopping)", _OVERFIT, 600,
               "OVF001", "overfitting", "early_stop", {"max_steps": {"set": 70}}, "confirmed",
               metric="val/loss"),
    Experiment("false-alarm", "Control: a healthy run blamed for oscillating; the baseline must not reproduce it",
               "control: a verifier must not confirm advice for a problem that is not there",
               {"task": "synth-mlp"}, 300, "OSC001", "oscillation", "lower_lr", {"lr": {"multiply": 0.33}},
               "not-reproduced"),
    Experiment("wrong-fix", "Deliberately wrong: raise an LR that is already too high (must be refuted)",
               "control: the opposite of seed 000's advice", _OSCILLATES, 300,
               "OSC001", "oscillation", "raise_lr", {"lr": {"multiply": 3.0}}, "refuted"),
]}


def list_text() -> str:
    width = max(len(n) for n in EXPERIMENTS)
    return "".join(f"{e.name:<{width}}  expect {e.expect:<9}  {e.title}\n" for e in EXPERIMENTS.values())
