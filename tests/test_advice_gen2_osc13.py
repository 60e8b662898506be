"""Oscillation calls on recorded trainings of the second generator (bench/make_corpus_gen2.py), session 13.
Each test names the practitioner's evidence the call reads. Labels come from the full-batch training
loss the generator evaluates and never writes; the runs are copied under
tests/data/oos/g2osc13-s<gen2 seed>-<id>-... (the drawn config in the name is not the label).
"""
from __future__ import annotations

import numpy as np

from advisor.signals.oscillation import climbs_back

from recorded import core_patterns as _patterns
from recorded import diagnose_recorded as _diagnose
from recorded import first_action, measurement


def test_climbs_back_reads_a_rise_in_the_second_half_only():
    falling = np.array([1.0, 0.6, 0.45, 0.4, 0.36, 0.33, 0.31, 0.29, 0.28, 0.27])
    assert climbs_back(falling) is False
    early_rise = falling.copy()
    early_rise[2] = 0.7  # a climb in the first half is the start's, not the second half's
    assert climbs_back(early_rise) is False
    late_rise = falling.copy()
    late_rise[8] = 0.31  # the 9th epoch's mean climbs back 11% of the half's level
    assert climbs_back(late_rise) is True
    tiny = falling.copy()
    tiny[8] = 0.2901  # +0.03% of the level: not a climb
    assert climbs_back(tiny) is False


def test_an_epoch_log_at_sgd_05_batch_8_whose_epoch_means_climb_back_oscillates():
    """tensorboardX, SGD 0.5 at batch 8 (10x the usual top for the batch), 10 epochs on digits: the
    epoch means fall 1.13 -> 0.31, climb to 0.37 and 0.40, fall to 0.13 and climb again to 0.14 (9% of
    the second half's level); the val loss bounces 17% between evaluations (0.55 -> 0.61 -> 0.43,
    0.23 -> 0.27). The 3-point smoothed epoch means never turn (`sign_change_density` 0), so the
    bouncing tests did not call it; labelled oscillation (the full-batch loss moves 40% of its level per
    evaluation): lower the LR."""
    r = _diagnose("g2osc13-s17-0081-digits-sgd_small_batch_high")
    assert "oscillation" in _patterns(r)
    assert first_action(r) == "lower_lr"
    m = measurement(r, "oscillation", "train_loss")
    assert m.detected is True and m.values["sign_change_density"] == 0.0
    assert m.values["val_bounce"] >= 0.12


def test_an_epoch_log_at_sgd_05_batch_16_whose_epoch_means_never_climb_is_not_oscillating():
    """The healthy twin (torch SummaryWriter), SGD 0.5 at batch 16, 10 epochs on digits: the val loss
    bounces 15% between evaluations (0.10 -> 0.15 -> 0.16 -> 0.11) while the net memorises, but the
    epoch means fall every epoch of the second half (0.041 -> 0.0037). Labelled healthy (the full-batch
    loss moves 9% of its level, never up): nothing to call."""
    r = _diagnose("g2osc13-s4-0238-digits-sgd_small_batch_high")
    assert "oscillation" not in _patterns(r)
    m = measurement(r, "oscillation", "train_loss")
    assert m.detected is False
    assert m.values["val_bounce"] >= 0.12  # the val loss bounces: the train loss's epoch means decide
