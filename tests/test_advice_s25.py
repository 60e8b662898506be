"""Session 25's detector changes, on recorded trainings of the second generator (bench/make_corpus_gen2.py).
Labels come from the full-batch training loss the generator evaluates and never writes; the runs are
copied under tests/data/oos/<change>25-<seed>-<id>-... (the drawn config in the name is not the label).
"""
from __future__ import annotations

import numpy as np

from advisor.model import Curve, Curves
from advisor.signals.metrics import measure_metric_stall
from recorded import diagnose_recorded as _diagnose
from recorded import measurement


def _rule_ids(report) -> set[str]:
    return {f.rule for f in report.findings}


def test_an_accuracy_learnt_by_the_first_evaluation_that_holds_is_no_metric_stall():
    """g47 0067, a Keras-style CSV, moons at Adam 3e-3 for 10 epochs: labelled healthy (the full-batch loss
    ended at the reference's level). Its test accuracy reads 85.9% at the first epoch and 85.6-87.2% to the
    end (moons' noisy labels cap it there) while the test loss falls 0.383 -> 0.342: the net learnt before
    its first evaluation and sharpens its confidence. ACC001 warned "the fall is not the net learning to
    classify (or the metric is computed wrongly)" and advised raising the LR. It still measures the
    accuracy as flat; the rule leaves an accuracy held past halfway from chance to perfect alone."""
    r = _diagnose("accheld25-g47-0067-moons-healthy_adam")
    m = measurement(r, "metric_stall", "val_acc")
    assert m.detected and m.values["metric_flat"] is True  # the reading is unchanged ...
    assert m.values["held_learnt"] is True  # ... and it tells a net that learnt early
    assert "ACC001" not in _rule_ids(r)
    assert r.findings == []


def test_a_held_accuracy_beside_a_per_batch_loss_is_no_metric_stall_either():
    """g40 0206, a W&B run folder as Lightning's WandbLogger fills it, moons at SGD 5e-3 with batch 4:
    labelled healthy. Val accuracy 87.2% at the first evaluation, 85.6% at the last; the val loss
    0.383 -> 0.350. ACC001 advised raising the LR to a healthy run."""
    r = _diagnose("accheld25-g40-0206-moons-healthy_small_batch")
    assert measurement(r, "metric_stall", "val_acc").values["held_learnt"] is True
    assert "ACC001" not in _rule_ids(r)


def _stall(acc: list[float], classes: int | None = None):
    n = len(acc)
    x = np.arange(n, dtype=float)
    loss = Curve("train_loss", "loss", x, np.linspace(0.7, 0.35, n))
    a = Curve("train_acc", "acc", x, np.asarray(acc, float))
    curves = Curves(run="r", by_role={"train_loss": loss, "train_acc": a}, num_classes=classes)
    return measure_metric_stall(curves, "train_acc")


def test_held_learnt_needs_the_accuracy_past_halfway_from_chance_and_steady():
    # two classes (chance 50%, halfway 75%): 86% held is a net that learnt
    assert _stall([0.86] * 20).values["held_learnt"] is True
    # 60% held is short of halfway: a stall the seed's advice is for
    m = _stall([0.60] * 20)
    assert m.detected and m.values["held_learnt"] is False
    # 40% held on ten classes (chance 10%, halfway 55%) has not learnt enough either
    assert _stall([0.40] * 20, classes=10).values["held_learnt"] is False
    # ... and 60% on ten classes has
    assert _stall([0.60] * 20, classes=10).values["held_learnt"] is True
    # an accuracy that falls 14 points from a learnt start is not held: ACC001 still reads it
    m = _stall(list(np.linspace(0.95, 0.81, 20)))
    assert m.detected and m.values["held_learnt"] is False

