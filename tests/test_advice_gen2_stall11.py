"""Plateau advice on recorded trainings of the second generator (bench/make_corpus_gen2.py, seeds 3
and 15), copied under tests/data/oos/g2stall11-s<seed>-<id>-<task>-<drawn config> (the drawn config
is not the label). Labels come from the full-batch training loss the generator evaluates and never
writes (bench.make_corpus_oos.judge); each test states them. Each test names the evidence in the
log that now reads it right (session 11, issue 9).
"""
from __future__ import annotations

import math

import pytest

from recorded import core_patterns as _patterns
from recorded import diagnose_recorded as _diagnose
from recorded import first_action, measurement


@pytest.mark.parametrize("name, classes", [
    # Ray Tune result.json, SGD at LR 1 on a 4-class task, no class count logged: the first epoch's
    # average (1.61) is inflated by a blow-up, the loss then sits at 1.42-1.43 (ln 4 = 1.386, 88% of
    # that first point) with val accuracy 0.21-0.27 (label: plateau, lower the LR)
    ("g2stall11-s3-0125-classif-sgd_small_batch_high", 4),
    # TensorBoard (HF-style tags), SGD at LR 1 on digits, no class count logged: the first epoch
    # reads 3.90 (val 23.6), then 2.31-2.33 (ln 10 = 2.303) for 79 epochs with val accuracy
    # 0.07-0.12 (label: plateau, lower the LR); no finding at all before
    ("g2stall11-s15-0197-digits-sgd_kill", 10),
])
def test_a_stall_at_ln_k_beside_an_accuracy_at_1_over_k_is_at_chance(name, classes):
    """With no class count logged, a stall whose loss sits at ln k while the accuracy sits at 1/k is a
    net at chance on a k-class task, wherever its first (blown-up) point was: the stall reads at
    chance (it was "not at chance", 59-88% of an inflated start) and the call is a plateau, LR first."""
    r = _diagnose(name)
    plateau = measurement(r, "plateau", "train_loss")
    assert plateau.detected
    assert plateau.values["at_chance"] is True
    assert abs(plateau.values["level"] - math.log(classes)) <= 0.05 * math.log(classes)
    assert plateau.values["level_rel_start"] < 0.9  # below its first point: only the chance level reads it
    assert "plateau" in _patterns(r)
    assert first_action(r) == "lower_lr"


@pytest.mark.parametrize("name, lr", [
    # CSV (camelCase), only the LR logged (0.1; the generator ran RMSprop): moons, the loss falls
    # 63% and keeps sliding while it bounces (label: oscillation, lower the LR)
    ("g2stall11-s11-0180-moons-rmsprop_high", 0.1),
    # TensorBoard, first generator (pool seed 29), only the LR logged (0.09; AdamW): circles, the
    # loss above its start and then falling steeply to the end (label: plateau, lower the LR)
    ("g2stall11-pool29-0237-circles-adamw_high", 0.09),
])
def test_a_fall_at_an_lr_no_optimizer_runs_that_high_for_want_of_lr_is_not_slow(name, lr):
    """With no optimizer logged, an LR >= 0.05 is at least a quarter of the top of every family's
    usual range (plain SGD's 0.2; 50x Adam's): a loss still falling there is not slow for want of
    LR, and raise_lr (the call it had) would push an LR already 50-100x too high further up. Every
    slow-labelled run of the twelve tuning corpora trains at <= 5e-3."""
    r = _diagnose(name)
    assert r.curves.hparams["lr"] == pytest.approx(lr)
    assert "optimizer" not in r.curves.hparams
    assert not measurement(r, "slow_convergence", "train_loss").detected
    assert "slow_convergence" not in _patterns(r)
    assert first_action(r) != "raise_lr"
