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
