"""Hand-built report objects for the renderer tests: fixed, so the gold files are stable.

`sample_diagnosis()` covers every shape a renderer must show (a failing run with NaN/inf, a
warning, an info-only run, a healthy run, a run whose analysis crashed, a verification, input
errors); `hostile_diagnosis()` puts attacker-controlled text everywhere a log can reach.
No pipeline code runs here: the renderers are tested on their own.
"""
from __future__ import annotations

import numpy as np

from advisor.model import (
    Curve,
    Curves,
    Diagnosis,
    Finding,
    Recommendation,
    Run,
    RunReport,
    Series,
    Verification,
)

HOSTILE_TAG = "<script>alert(1)</script>"
HOSTILE_RUN = "runs/\"quoted\" 'run' <img src=x onerror=alert(1)>"


def _series(tag: str, x: np.ndarray, y: np.ndarray) -> Series:
    return Series(tag=tag, step=x.astype(np.int64), value=y, wall_time=None)


def _run(name: str, fmt: str, curves: dict[str, tuple[str, np.ndarray, np.ndarray]], **kw) -> tuple[Run, Curves]:
    run = Run(name=name, path=name, format=fmt,
              series={tag: _series(tag, x, y) for tag, x, y in curves.values()}, **kw)
    cv = Curves(run=name, by_role={role: Curve(role=role, tag=tag, x=x.astype(float), y=y)
                                   for role, (tag, x, y) in curves.items()})
    return run, cv


def _diverging() -> tuple[Run, Curves]:
    rng = np.random.default_rng(0)
    x = np.arange(0, 3000, 5)
    y = 2.3 * np.exp(-x / 600) + 0.3 + 0.03 * rng.standard_normal(len(x))
    y[x >= 1200] *= np.exp((x[x >= 1200] - 1200) / 150)
    y[x >= 2400] = np.inf
    y[x >= 2700] = np.nan
    xv = np.arange(0, 3000, 250)
    yv = 2.3 * np.exp(-xv / 600) + 0.35
    yv[xv >= 1250] = np.nan
    lr = np.full(len(x), 0.1)
    run, cv = _run("runs/lr-0.1", "tensorboard", {
        "train_loss": ("train/loss", x, y), "val_loss": ("val/loss", xv, yv), "lr": ("train/lr", x, lr)})
    run.hparams = {"lr": 0.1, "batch_size": 64}
    cv.hparams = {"lr": 0.1, "batch_size": 64}
    return run, cv


def _oscillating() -> tuple[Run, Curves]:
    x = np.arange(0, 2000, 10)
    y = 1.5 * np.exp(-x / 500) + 0.4 + 0.25 * np.sin(x / 13.0)
    run, cv = _run("runs/adam-3e-3", "csv", {"train_loss": ("loss", x, y)})
    return run, cv


def _healthy(name: str) -> tuple[Run, Curves]:
    x = np.arange(0, 1000, 10)
    y = 2.0 * np.exp(-x / 200) + 0.1
    return _run(name, "hf-trainer", {"train_loss": ("train/loss", x, y),
                                     "val_loss": ("eval/loss", x[::10], y[::10] + 0.05)})


def sample_diagnosis() -> Diagnosis:
    run1, cv1 = _diverging()
    div = Finding(
        rule="DIV001", pattern="divergence", severity="error", metric="train/loss",
        start_step=1200, end_step=2995,
        summary="The training loss rises from step 1200 and becomes inf at step 2400.",
        evidence={"explosion_ratio": 1234.5678, "first_nonfinite_step": 2400, "kind": "nan"},
        recommendations=[
            Recommendation(action="lower_lr", change={"lr": {"multiply": 0.33}},
                           text="Divide the learning rate by about 3.", source="seed 001"),
            Recommendation(action="gradient_clipping", change={"max_grad_norm": {"set": 1.0}},
                           text="Clip the gradient norm.", source="Pascanu et al. 2013"),
        ],
    )
    ovf = Finding(
        rule="OVF001", pattern="overfitting", severity="warning", metric="val/loss",
        start_step=1000, end_step=1250, summary="Validation loss passes its minimum at step 1000.",
        evidence={"val_min": 0.4123, "gap_ratio": 2.5},
        recommendations=[Recommendation(action="early_stop", change={}, text="Stop at the minimum.",
                                        source="Prechelt 1998")],
    )
    r1 = RunReport(run=run1, metrics={"train_loss": "train/loss", "val_loss": "val/loss", "lr": "train/lr"},
                   findings=[ovf, div], abstentions=[("OSC002", "no epoch boundaries in the log")],
                   curves=cv1,
                   verification=[Verification(
                       verdict="confirmed", rule="DIV001", action="lower_lr", change={"lr": {"multiply": 0.33}},
                       measure="divergence.explosion_ratio on train_loss", baseline=[812.0, 1530.5],
                       fix=[1.02, 1.1], effect={"ratio": 0.0011}, steps=300, seeds=2, device="cpu", wall_s=12.5)])
    run2, cv2 = _oscillating()
    r2 = RunReport(run=run2, metrics={"train_loss": "loss"}, curves=cv2, findings=[Finding(
        rule="OSC001", pattern="oscillation", severity="warning", metric="loss", start_step=1000,
        end_step=1990, summary="The loss bounces by 40% around its trend and does not settle.",
        evidence={"rel_amplitude": 0.4, "amplitude_trend": "persistent"},
        recommendations=[Recommendation(action="lower_lr", change={"lr": {"multiply": 0.33}},
                                        text="A smaller step stops the bouncing.", source="seed 003")])],
        abstentions=[("OVF001", "no validation loss")])
    run2.warnings.append("line 17: 3 fields, expected 4 (skipped)")
    run3, cv3 = _healthy("runs/baseline")
    r3 = RunReport(run=run3, metrics={"train_loss": "train/loss", "val_loss": "eval/loss"}, curves=cv3)
    run4, cv4 = _healthy("runs/short-budget")
    r4 = RunReport(run=run4, metrics={"train_loss": "train/loss", "val_loss": "eval/loss"}, curves=cv4,
                   findings=[Finding(rule="SLO001", pattern="slow_convergence", severity="info",
                                     metric="train/loss", start_step=None, end_step=None,
                                     summary="Still falling at the end.", evidence={"rel_drop_last_10pct": 0.08})])
    run5 = Run(name="runs/crashed", path="runs/crashed", format="mlflow")
    r5 = RunReport(run=run5, metrics={}, error="signal 'plateau' failed: ValueError: empty series")
    # a training that crashed before its first log, and a file nothing could be decoded from
    r6 = RunReport(run=Run(name="runs/oom-at-start", path="runs/oom-at-start", format="csv"), metrics={},
                   log_file="runs/oom-at-start/metrics.csv")
    r7 = RunReport(run=Run(name="runs/garbage", path="runs/garbage", format="tensorboard"), metrics={},
                   read_error="runs/garbage/events.out.tfevents.1.host: not a readable TensorBoard event file",
                   log_file="runs/garbage/events.out.tfevents.1.host")
    return Diagnosis(runs=[r3, r4, r2, r5, r1, r6, r7],
                     errors=[{"path": "runs/broken/events.out.tfevents.1", "message": "truncated record at byte 4096"}])


def hostile_diagnosis() -> Diagnosis:
    """Attacker-controlled strings wherever a log can put them: run names, tags, hparams,
    evidence keys, warnings, error messages; plus control characters and format metacharacters."""
    x = np.arange(0, 500, 5).astype(float)
    y = np.exp(-x / 100) + 0.1
    y[50] = np.nan
    nasty = ("%0A::error::forged\r\n::warning::x, title=y: <b>|`|</b> & ]]> \x1b]8;;http://evil\x07"
             "[click](http://evil) \x00")
    run = Run(name=HOSTILE_RUN, path=HOSTILE_RUN, format="csv",
              series={HOSTILE_TAG: Series(HOSTILE_TAG, x.astype(np.int64), y, None)},
              hparams={"lr": "<img src=x onerror=alert(2)>"}, warnings=[nasty])
    cv = Curves(run=HOSTILE_RUN, by_role={"train_loss": Curve("train_loss", HOSTILE_TAG, x, y)},
                hparams={"lr": 0.1})
    f = Finding(rule="DIV001", pattern="divergence", severity="error", metric=HOSTILE_TAG,
                start_step=100, end_step=200, summary="loss " + nasty,
                evidence={HOSTILE_TAG: 1.0, "note": nasty},
                recommendations=[Recommendation(action="lower_lr", change={HOSTILE_TAG: {"multiply": 0.5}},
                                                text=nasty, source=HOSTILE_TAG)])
    r = RunReport(run=run, metrics={"train_loss": HOSTILE_TAG}, findings=[f], curves=cv,
                  abstentions=[(HOSTILE_TAG, nasty)], error=None)
    r2 = RunReport(run=Run(name=HOSTILE_TAG + "\n::error::second", path="p", format="csv"), metrics={},
                   error=nasty)
    return Diagnosis(runs=[r, r2], errors=[{"path": HOSTILE_RUN, "message": nasty}])
