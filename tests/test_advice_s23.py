"""Session 23's detector changes, on recorded trainings of both generators (bench/make_corpus_gen2.py,
bench/make_corpus_oos.py). Labels come from the full-batch training loss the generators evaluate and
never write; the runs are copied under tests/data/oos/<change>23-<seed>-<id>-... (the drawn config in
the name is not the label).
"""
from __future__ import annotations

import numpy as np

from advisor.signals.divergence import _blown_up_value
from advisor.signals.generalization import PLAIN_CLIMB, PLAIN_TRAIN
from recorded import core_patterns as _patterns
from recorded import diagnose_recorded as _diagnose
from recorded import first_action, measurement


def test_a_memorised_net_logging_exact_zeros_did_not_stop_blown_up():
    """g42 0252, a HF TensorBoard callback log, cancer at Adagrad 1.0: healthy (its full-batch loss at
    1.2e-5 of its start). Most of its per-step losses are exactly 0, two of its first three too, so the
    start and the median were ~0 and a last loss of 1.4e-5 read as 100x both: DIV002 "rose to
    1.45e+295x its level". A run that stopped blown up ends far above where it started."""
    r = _diagnose("g2div23-g42-0252-cancer-adagrad_high")
    assert measurement(r, "divergence", "train_loss").detected is False
    assert "divergence" not in _patterns(r)
    y = np.array([2.1, 3.7e-8, 0.0] + [0.0] * 30 + [1.4e-5])
    assert not _blown_up_value(1.4e-5, y)
    assert _blown_up_value(5e3, np.array([2.1, 1.5, 1.2] + [0.5] * 30))


def test_a_bouncing_val_loss_that_climbs_a_third_while_training_falls_is_overfitting_too():
    """First generator, seed 248, 0104: a W&B run folder, quantiles at Adam 0.01, 41 epochs, labelled
    oscillation and overfitting. The val loss bounces 10-45% between epochs (0.38 at epoch 13, then
    0.44, 0.64, 0.43, 0.55 ... 0.47, 0.62), so its climb stood 1.0 noise units above its minimum and the
    trend's 95% interval held zero: only the oscillation was called. Its last three evaluations average
    32% above the lowest 3-point mean (>= 25%) while the training loss fell to 0.65x its level there: the
    labellers' own reading (`PLAIN_CLIMB`): early stopping joins the lower LR."""
    r = _diagnose("ovf23-oos248-0104-quantiles-adam_lr0.01")
    m = measurement(r, "overfitting", "val_loss")
    assert m.values["rise_noise"] < 3.5 and m.values["trend_rise"] is None
    assert m.values["train_kept_after_min"] <= PLAIN_TRAIN
    assert _patterns(r) == {"oscillation", "overfitting"}
    assert first_action(r) == "lower_lr"


def test_a_held_accuracy_does_not_veto_a_plain_climb():
    """First generator, seed 248, labelled overfitting:
    - 0220, blobs at RMSprop 0.1, 30 epochs: the val loss is lowest at its first evaluation (0.25), bounces
      0.3-12.9, and ends at 0.95 (61% above its 3-point low, 1.7 noise units) while the training loss falls
      to 0.04x its level there; the val accuracy holds 98%: no finding at all;
    - 0183, wine at RMSprop 0.05, 84 epochs: the val loss climbs from 7.6e-4 to ~9.6e-4 with the val
      accuracy at 100% throughout, so the held metric vetoed a climb under 20% of the last tenth's mean;
      the last three evaluations average 40% above the low while training fell to 0.15x.
    A practitioner's reading of the same shape (bench/people_labels.json: "val loss min 0.8 at epoch 5,
    rises to 2.5 while train falls, val acc flat 0.77") is overfitting as well."""
    for name in ("ovf23-oos248-0220-blobs-rmsprop_lr0.1", "ovf23-oos248-0183-wine-rmsprop_lr0.05"):
        r = _diagnose(name)
        m = measurement(r, "overfitting", "val_loss")
        assert m.values["metric_held"] is True, name
        assert "overfitting" in _patterns(r), name
        assert first_action(r) in {"early_stop", "regularize"}, name
    assert PLAIN_CLIMB >= 0.25  # at least the labellers' 25%
