"""Oscillation calls on recorded trainings of the second generator (bench/make_corpus_gen2.py),
session 11. Each run below was misread by main 97fc05f; each test names the practitioner's evidence
that now reads it right. Labels come from the full-batch training loss the generator evaluates and
never writes (bench.make_corpus_oos.judge); the runs are copied under
tests/data/oos/g2osc11-s<seed>-<id>-<task>-<drawn config> (the drawn config is not the label).
"""
from __future__ import annotations

import pytest

from advisor.priors import lr_over_usual, lr_over_usual_for_batch

from recorded import core_patterns as _patterns
from recorded import diagnose_recorded as _diagnose
from recorded import first_action, measurement


@pytest.mark.parametrize("momentum, ratio", [(0.99, 10.0), (0.95, 2.0), (0.9, 1.0), (0.5, 1.0), (None, 1.0)])
def test_sgd_momentum_above_the_usual_is_judged_by_its_effective_step(momentum, ratio):
    """SGD's effective step is lr / (1 - momentum): momentum 0.99 at LR 0.1 takes the steps of
    momentum 0.9 at LR 1.0. A momentum under 0.9 is left at the family's usual top (lowering the
    prior there cost three labelled oscillations at momentum 0.5 on gen2)."""
    hp = {"optimizer": "sgd", "lr": 0.1, "momentum": momentum, "batch_size": 64}
    if momentum is None:
        hp = {"optimizer": "sgd_momentum", "lr": 0.1, "batch_size": 64}
    assert lr_over_usual(hp) == pytest.approx(ratio)
    assert lr_over_usual_for_batch({**hp, "batch_size": 16}) == pytest.approx(2 * ratio)
    # Adam's momentum-like betas are not SGD momentum
    assert lr_over_usual({"optimizer": "adam", "lr": 1e-3, "momentum": 0.99}) == pytest.approx(1.0)


def test_nesterov_momentum_099_at_lr_01_is_far_too_high():
    """tensorboardX, SGD 0.1 with Nesterov momentum 0.99 at batch 128, 30 epochs: the train loss fell
    to 1.9% of its start and bounces against 5% of its start (rel. 25%, 3/4 of the floor needs 3.75%),
    the val loss moves as an oscillating loss does. At momentum 0.9 LR 0.1 is the usual top; at 0.99
    its effective step is 10x that (prior 10, the far-LR test asks 5): was overfitting only, early
    stopping first; labelled oscillation + overfitting, lower the LR first."""
    r = _diagnose("g2osc11-s9-0151-cancer-momentum_0.99_blowup")
    assert {"oscillation", "overfitting"} <= _patterns(r)
    assert first_action(r) == "lower_lr"
    v = measurement(r, "oscillation", "train_loss").values
    assert v["level_rel_start"] < 0.05 and v["val_moves"] is True
