"""Oscillation calls on recorded trainings of both generators (bench/make_corpus_gen2.py,
bench/make_corpus_oos.py), session 12. Each run below was misread by main 6e77540; each test names the
practitioner's evidence that now reads it right. Labels come from the full-batch training loss the
generators evaluate and never write; the runs are copied under tests/data/oos/g2osc12-s<gen2 seed>-<id>-...
or g2osc12-o<first-generator seed>-<id>-... (the drawn config in the name is not the label).
"""
from __future__ import annotations

import numpy as np
import pytest

from advisor.signals.oscillation import lr_within_usual

from recorded import core_patterns as _patterns
from recorded import diagnose_recorded as _diagnose
from recorded import first_action, measurement


@pytest.mark.parametrize("hparams, within", [
    ({"optimizer": "sgd", "lr": 0.05, "batch_size": 64}, True),  # plain SGD's top is 0.2
    ({"optimizer": "sgd", "lr": 0.3, "batch_size": 16}, False),  # 1.5x, and 3x for batch 16
    ({"optimizer": "adam", "lr": 1e-3}, True),  # the top itself is within the range
    ({"lr": 0.0010000000474974513}, True),  # only the LR, as float32 logs it: within for every family
    ({"lr": 2e-3}, False),  # only the LR, above Adam's top: not known to be within
    ({"optimizer": "adam"}, False),  # no LR: unknown
])
def test_an_lr_is_within_the_usual_range_only_when_known_to_be(hparams, within):
    assert lr_within_usual(hparams) is within


def test_per_step_bouncing_after_a_fast_drop_at_a_usual_sgd_lr_with_a_val_loss_that_does_not_move():
    """TensorBoard, SGD at LR 0.05 (the momentum, 0.99, is not logged: 0.25x plain SGD's usual top) on
    moons, 100 per-step points: the loss drops fast and then bounces 29% of its level (2.5x the floor),
    and the val loss bounces 10.4% between its 32 evaluations without moving as an oscillating loss does
    (`val_moves` false). It was OSC002 (decay the LR); labelled healthy (the full-batch loss moves 3.5%
    per evaluation). Every labelled oscillation of the 14 tuning corpora whose optimizer is logged
    trains at >= 2.5x the usual top; at an LR within the range, only the purple curve with a moving val
    loss is an LR story."""
    r = _diagnose("g2osc12-s15-0033-moons-momentum_0.99_blowup")
    assert "oscillation" not in _patterns(r)
    m = measurement(r, "oscillation", "train_loss")
    assert m.detected is False and "within" in m.note
    assert m.values["rel_amplitude"] >= 2 * m.values["noise_floor"]  # the bouncing is still read
    assert m.values["val_moves"] is False


def test_a_batchnorm_net_bouncing_from_its_start_at_lr_1e3_is_not_oscillating():
    """tensorboardX (first generator, seed 235), a deep BatchNorm net (Adam) on wine at LR 1e-3 with no
    optimizer logged (1e-3 is the lowest top of any family: within the usual range whatever it is),
    400 per-step points bouncing 35% of the level from the start, with five isolated spikes. It was
    OSC001 (lower the LR); labelled healthy. The spikes are still reported (SPK001)."""
    r = _diagnose("g2osc12-o235-0180-wine-healthy_deep_bn")
    assert "oscillation" not in _patterns(r)
    assert any(f.rule == "SPK001" for f in r.findings)
    m = measurement(r, "oscillation", "train_loss")
    assert m.detected is False and m.values["late_only"] is False


def test_a_val_loss_whose_second_half_begins_at_a_peak_still_moves():
    """15 evaluations bouncing 30-60% of their level, with a blow-up to 7x at the mid-point: the second
    half begins with the fall from the peak, and 2 of its 7 changes are up (0.29, under the labellers'
    30%). Over the last two thirds (the robust bounce's window) 4 of 9 are: it moves."""
    from advisor.signals.oscillation import val_moves

    vy = np.array([2.0, 1.0, 1.3, 1.0, 1.3, 1.0, 1.3, 7.0, 1.0, 1.02, 1.6, 1.0, 0.98, 1.4, 0.95])
    assert val_moves(vy) is True
    assert val_moves(np.linspace(2.0, 1.0, 24)) is False  # falling: no change up
    assert val_moves(1.0 + 0.01 * np.sin(np.arange(24))) is False  # up and down, but by 1%
    assert val_moves(np.ones(11)) is None


def test_an_epoch_log_whose_val_loss_climbs_again_and_again_with_few_changes_up_oscillates():
    """TensorBoard (torch SummaryWriter, tutorial tags), SGD 0.5 with momentum 0.9 (5x the usual top) on
    moons, 40 epochs: the train loss bounces 11% of its level around a trend that never gets below its
    early level, and the val loss climbs 35-98% of its level in one epoch and comes down over several
    (mean move 29% of its level per epoch). Four of its 19 second-half changes are up (0.21, under the
    labellers' 30%), 0.35 over its last two thirds. It was not called; labelled oscillation: lower the
    LR."""
    r = _diagnose("g2osc12-s3-0234-moons-sgd_kill")
    assert "oscillation" in _patterns(r)
    assert first_action(r) == "lower_lr"
    assert measurement(r, "oscillation", "train_loss").values["val_moves"] is True


def test_an_epoch_log_whose_second_half_begins_at_a_val_peak_oscillates():
    """Keras TensorBoard callback (train/ and validation/ event files), Adagrad at LR 0.3 (no optimizer
    or LR in the hparams; the LR curve only), 15 epochs on diabetes: the val loss jumps to 7x its level
    at epoch 7, the mid-point, and again to 2x and 1.5x later. The second half starts at the peak: 2 of
    its 7 changes up (0.29), 4 of 9 over the last two thirds. It was not called; labelled oscillation:
    lower the LR."""
    r = _diagnose("g2osc12-s15-0058-diabetes-adagrad_high")
    assert "oscillation" in _patterns(r)
    assert first_action(r) == "lower_lr"
    assert measurement(r, "oscillation", "train_loss").values["val_moves"] is True
