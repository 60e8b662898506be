"""A blow-up between the last logged loss and the end of the run (DIV009), read from the HF Trainer's
final `train_loss`, the mean over every step: on a real Trainer run made for it, on the first-generator
run that showed the gap, and never on the real transformers logs, whose tails average what they logged."""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from advisor.pipeline import diagnose_paths
from advisor.roles import build_curves, unlogged_tail
from recorded import OOS

HERE = Path(__file__).parent
TRAINER_RUN = HERE / "data/formats/hf-blowup-after-last-log/run"


def only_run(path):
    d = diagnose_paths([str(path)])
    assert len(d.runs) == 1
    return d.runs[0]


def test_a_real_trainer_run_that_blew_up_after_its_last_log_line_diverged():
    """hf_fit.py: SGD 0.01 for ten steps, then LR 5 (a schedule bug); losses logged at steps 5 and 10
    (3.20, 2.13), the run's mean over 14 steps 162,751: steps 11-14 averaged ~570,000."""
    report = only_run(TRAINER_RUN)
    state = json.loads((TRAINER_RUN / "trainer_state.json").read_text())
    logged = [(r["step"], r["loss"]) for r in state["log_history"] if "loss" in r]
    summary = state["log_history"][-1]
    expected = (summary["train_loss"] * 14 - sum(5 * loss for _, loss in logged)) / 4
    assert report.status == "fail"
    first = report.findings[0]
    assert (first.rule, first.pattern, first.severity) == ("DIV009", "divergence", "error")
    assert first.recommendations[0].action == "lower_lr"
    assert first.evidence["divergence.tail_from_step"] == 10
    assert first.evidence["divergence.run_steps"] == 14
    assert first.evidence["divergence.tail_mean"] == pytest.approx(expected, rel=1e-5)
    assert "step 10" in first.summary and "14 steps" in first.summary
    # every other pattern is the blow-up's doing
    assert {f.pattern for f in report.findings} <= {"divergence", "loss_spike"}


def test_the_first_generator_run_whose_log_hid_its_blowup():
    """Wine at SGD 1.0 with momentum 0.9 (oos239 0149, labelled divergence): 1.09 and 13.2 logged, found
    nothing before; its mean of 2.86e9 over 14 steps puts steps 11-14 at 1.0e10."""
    report = only_run(OOS / "s21-oos239-0149-wine-sgd_lr_kill")
    assert [f.rule for f in report.findings][:1] == ["DIV009"]
    assert report.findings[0].evidence["divergence.tail_mean"] == pytest.approx(1.0000898732e10, rel=1e-6)


def test_real_transformers_tails_average_their_last_logged_loss(real_logs):
    """The real Trainer logs in real-logs whose summary comes after their last logged loss: the tail the
    arithmetic reads sits near that loss (a CPT seq2seq run: 490 steps at 0.94x), and no blow-up."""
    read = 0
    for state in sorted(real_logs.glob("hf-trainer/**/trainer_state.json")):
        report = only_run(state.parent)
        assert all(f.rule != "DIV009" for f in report.findings), state
        tail = build_curves(report.run)[0].unlogged_tail
        if tail is None:
            continue
        last = float(report.run.series["loss"].value[-1])
        assert 0.8 <= tail.mean / last <= 1.25, (state, tail, last)
        read += 1
    assert read >= 1


def test_the_tail_arithmetic():
    x, y = np.array([5.0, 10.0]), np.array([2.0, 1.0])
    tail = unlogged_tail(x, y, run_mean=1.5, final_step=14)
    assert tail.mean == pytest.approx((1.5 * 14 - 15.0) / 4)
    assert (tail.last_logged_step, tail.final_step) == (10.0, 14.0)
    assert math.isnan(unlogged_tail(x, y, float("nan"), 14).mean)  # a NaN mean: the tail went non-finite
    assert unlogged_tail(x, y, 1.5, 10) is None  # the summary at the last logged step: no tail
    assert unlogged_tail(x, np.array([2.0, float("nan")]), 1.5, 14) is None  # the log shows its own NaN
    assert unlogged_tail(np.array([5.0, 5.0]), y, 1.5, 14) is None  # no positive window
    # a run resumed from a checkpoint sums only its own steps into the mean: its tail reads low, no blow-up
    resumed = unlogged_tail(x, y, run_mean=0.5, final_step=14)
    assert resumed.mean < y[-1]
