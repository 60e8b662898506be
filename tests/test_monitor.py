"""advisor.Monitor: the in-process diagnosis the callbacks and pruners are built on."""
from __future__ import annotations

import math

import numpy as np

import advisor
from advisor.engine import load_rules
from advisor.model import Run, Series
from advisor.pipeline import DiagnoseOptions, diagnose_run
from advisor.report.json_report import finding_dict


def _curve(n: int = 600, blow_up_at: int | None = None, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    steps = np.arange(n)
    loss = 2.0 * np.exp(-steps / 120) + 0.1 + 0.02 * rng.standard_normal(n)
    if blow_up_at is not None:
        loss[blow_up_at:] = 0.3 * np.exp((steps[blow_up_at:] - blow_up_at) / 15)
    return loss


def test_monitor_diagnosis_is_advisor_diagnose_of_the_same_points():
    """Not a second rule set: the Monitor's findings are diagnose_run's on the logged points."""
    loss = _curve(blow_up_at=400)
    monitor = advisor.Monitor("m", every_steps=10**9, every_seconds=1e9)
    for step, value in enumerate(loss):
        monitor.log(step, train_loss=value, lr=0.1)
    report = monitor.diagnose()
    run = Run(name="m", path="m", format="monitor", series={
        "train/loss": Series("train/loss", np.arange(len(loss)), loss, None),
        "lr": Series("lr", np.arange(len(loss)), np.full(len(loss), 0.1), None)})
    expected = diagnose_run(run, load_rules().rules, DiagnoseOptions())
    assert [finding_dict(f) for f in report.findings] == [finding_dict(f) for f in expected.findings]
    assert any(f.pattern == "divergence" and f.severity == "error" for f in report.findings)


def test_a_nan_loss_is_diagnosed_at_once():
    monitor = advisor.Monitor("m", every_steps=10**9, every_seconds=1e9)
    events = []
    for step, value in enumerate(_curve(200)):
        events += monitor.log(step, train_loss=value)
    assert monitor.evaluations == 0  # nothing due yet
    events = monitor.log(200, train_loss=math.nan)
    assert monitor.evaluations == 1
    assert [e["finding"]["pattern"] for e in events if e["event"] == "finding"] == ["divergence"]
    assert monitor.worst(events) == "error"


def test_evaluations_stay_within_the_overhead_budget():
    """However often it is asked, evaluation time stays under max_overhead of the elapsed time,
    the first evaluation included (it waits until the run has paid for it, from the warm-up's
    estimate): a fast loop is not slowed by diagnosing at every step."""
    import time

    monitor = advisor.Monitor("m", every_steps=1, every_seconds=0.0, max_overhead=0.2)
    curve = _curve(100_000)
    start = time.perf_counter()
    step = 0
    while time.perf_counter() - start < 2.0:
        monitor.log(step, train_loss=curve[step], val_loss=curve[step] + 0.05 if step % 50 == 0 else None)
        step += 1
        time.sleep(0.001)  # a training step
    elapsed = time.perf_counter() - monitor._started
    assert monitor.evaluations >= 1
    per_eval = monitor.eval_seconds / monitor.evaluations
    # An evaluation may outgrow the estimate the governor waited for, the more so on a loaded machine
    # (0.43 s against 0.42 s once): two evaluations of slack. Without the governor every step is
    # evaluated and the share is ~0.9 of the elapsed time, far above this bound.
    assert monitor.eval_seconds <= 0.2 * elapsed + 2 * per_eval
    assert monitor.log(step, train_loss=math.nan) and monitor.evaluations >= 2  # a NaN never waits


def test_healthy_curve_has_no_error_and_end_of_run_findings_wait_for_finish():
    monitor = advisor.Monitor("m", every_steps=100, every_seconds=1e9, max_overhead=1.0)
    steps = np.arange(400)
    slow = 2.0 - 0.003 * steps  # still falling steadily when it stops: slow convergence
    for step, value in zip(steps, slow):
        monitor.log(int(step), train_loss=float(value), lr=1e-4)
    assert not any(e["event"] == "finding" and e["finding"]["pattern"] == "slow_convergence" for e in monitor.events)
    final = monitor.finish()
    assert not [f for f in monitor.findings if f.severity == "error"]
    patterns = {e["finding"]["pattern"] for e in final if e["event"] == "finding"}
    assert patterns <= {"slow_convergence", "plateau"} and patterns
