"""Session 25's detector changes, on recorded trainings of the second generator (bench/make_corpus_gen2.py).
Labels come from the full-batch training loss the generator evaluates and never writes; the runs are
copied under tests/data/oos/<change>25-<seed>-<id>-... (the drawn config in the name is not the label).
"""
from __future__ import annotations

import numpy as np
import pytest

from advisor.model import Curve, Curves
from advisor.signals.metrics import measure_metric_stall
from recorded import core_patterns, first_action, measurement
from recorded import diagnose_recorded as _diagnose


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


@pytest.mark.parametrize("name, lr_text", [
    # HF trainer_state.json, circles at SGD 1.0 and batch 16: val accuracy 48-52% on two classes for all 31
    # evaluations, val loss 0.69-1.11 (ln 2 = 0.693), the per-step loss bouncing 0.67-1.23
    ("chance25-o247-0026-circles-sgd_lr_kill", "5x the top"),
    # W&B run folder, hastie at AdamW 0.09: val accuracy 43-55%, val loss 0.69-1.52, never below ln 2
    ("chance25-o249-0125-hastie-adamw_high", "90x the top"),
])
def test_a_loss_bouncing_around_chance_while_the_accuracy_never_leaves_it_is_a_stall(name, lr_text):
    """First generator, labelled plateau (the full-batch loss never fell 3% below where the untrained net
    started), expected 'lower the LR' (drawn LR far too high). Their training losses bounce 19% or more of
    their level, and OSC004/OSC001 called oscillation ("small-batch noise"). A net whose val accuracy never
    leaves chance while its loss never falls below the loss of guessing has learned nothing: the bouncing
    is the LR throwing it about, a stall (PLT005), which explains the oscillation."""
    r = _diagnose(name)
    assert measurement(r, "metric_stall", "val_acc").values["never_left_chance"] is True
    assert measurement(r, "oscillation", "train_loss").detected  # the bounce is still measured ...
    assert core_patterns(r) == {"plateau"}  # ... and read as a stall's
    f = r.findings[0]
    assert f.rule == "PLT005" and lr_text in f.summary
    assert first_action(r) == "lower_lr"


def _chance_run(acc: list[float], val_loss: list[float], classes: int | None = None):
    n = len(acc)
    x = np.arange(n, dtype=float)
    return Curves(run="r", num_classes=classes, by_role={
        "val_acc": Curve("val_acc", "acc", x, np.asarray(acc, float)),
        "val_loss": Curve("val_loss", "loss", x, np.asarray(val_loss, float))})


def never_left_chance(curves: Curves, role: str) -> bool | None:
    """The metric_stall reading of `role` (measured with the accuracy and loss it reads anyway)."""
    return measure_metric_stall(curves, role).values["never_left_chance"]


def test_never_left_chance_reads_the_class_count_and_the_loss_of_guessing():
    rng = np.random.default_rng(0)
    at_two = list(np.clip(0.5 + 0.02 * rng.standard_normal(20), 0, 1))
    at_two[0] = 0.5
    above_ln2 = list(0.75 + 0.05 * rng.standard_normal(20))
    above_ln2[0] = 0.70
    # k = 2 read off the first evaluation: 50% beside a loss of 0.70 (ln 2 = 0.693)
    assert never_left_chance(_chance_run(at_two, above_ln2), "val_acc") is True
    # the same accuracy beside a loss that fell well below ln 2 learned something the accuracy does not
    # show (a metric problem, ACC001's), it is not at chance
    assert never_left_chance(_chance_run(at_two, list(np.linspace(0.7, 0.3, 20))), "val_acc") is False
    # 50% on four logged classes is twice chance: it left
    assert never_left_chance(_chance_run(at_two, [1.5] * 20, classes=4), "val_acc") is False
    # an accuracy that climbs to 70% on two classes left chance
    climbs = list(np.linspace(0.5, 0.7, 20))
    assert never_left_chance(_chance_run(climbs, above_ln2), "val_acc") is False
    # a first evaluation at 36% with a loss of 1.2: three classes (1/3 within 20%), thrown off above ln 3
    assert never_left_chance(_chance_run([0.36] * 20, [1.2] * 20), "val_acc") is True
    # ... but the same numbers below the loss of guessing (0.9 < 0.95 ln 3) learned: no reading of chance
    assert never_left_chance(_chance_run([0.36] * 20, [0.9] * 20), "val_acc") is None
    # a first accuracy at 70% is no 1/k at all
    assert never_left_chance(_chance_run([0.70] * 20, [1.5] * 20), "val_acc") is None
    # a logged class count overrides the reading: ten classes, 40% is four times chance
    assert never_left_chance(_chance_run([0.40] * 20, [1.5] * 20, classes=10), "val_acc") is False
