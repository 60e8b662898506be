"""Oscillation read off the val loss on recorded trainings of the second generator (bench/make_corpus_gen2.py),
session 22. Labels come from the full-batch training loss the generator evaluates and never writes; the runs
are copied under tests/data/oos/g2osc22-g<gen2 seed>-<id>-... (the drawn config in the name is not the label).
"""
from __future__ import annotations

import pytest

from advisor.signals.oscillation import TRAIN_HIGH, val_moves
from recorded import core_patterns as _patterns
from recorded import diagnose_recorded as _diagnose
from recorded import first_action, measurement


@pytest.mark.parametrize("name", ["g2osc22-g40-0061-moons-sgd_small_batch_high",
                                  "g2osc22-g36-0039-friedman-adamax_high",
                                  "g2osc22-g38-0028-friedman-rmsprop_high"])
def test_a_val_loss_that_moves_beside_a_train_loss_still_high_is_an_oscillation(name):
    """Labelled oscillation (the full-batch loss moves 17-53% of its level per evaluation):
    - g40 0061: PyTorch TensorBoard, moons at SGD 0.5, batch 8, 10 epochs, no hparams logged: the
      epoch means fall smoothly, the 10-point val loss's second half moves 17% per evaluation; the
      12-evaluation `val_moves` did not read it;
    - g36 0039: Keras TensorBoard, Friedman regression at Adamax 0.02, 15 epochs: val moves 21%;
    - g38 0028: a per-step log at RMSprop 0.01 (10x the usual top) whose bouncing settled in its last
      quarter, so the per-step case dropped it, while its val loss moves 43% per evaluation.
    In each the training loss's second half stays >= 18% of its start (TRAIN_HIGH): lower the LR."""
    r = _diagnose(name)
    m = measurement(r, "oscillation", "train_loss")
    assert m.values["level_rel_start"] >= TRAIN_HIGH
    assert "oscillation" in _patterns(r)
    assert first_action(r) == "lower_lr"


def test_a_memorised_net_whose_val_loss_wanders_is_not_an_oscillation():
    """g38 0169, a generic CSV, digits at Adam 0.01, 500 steps: healthy (its full-batch loss moves 3%).
    The val loss moves as an oscillating one would (20% of its level per evaluation, 42% of the changes
    up) but the training loss sits at 0.2% of its start: a memorised net's val loss wanders with tiny
    weight changes that the full-batch loss, read against 5% of its start, does not show."""
    r = _diagnose("g2osc22-g38-0169-digits-adam_high")
    m = measurement(r, "oscillation", "train_loss")
    assert m.values["val_moves"] is True and m.values["level_rel_start"] < TRAIN_HIGH
    assert "oscillation" not in _patterns(r)


def test_val_moves_reads_ten_evaluations_on_the_labellers_half():
    """Under 12 evaluations the half is the labellers' (their loss holds the untrained net's point too):
    the last six of ten, five changes; a val loss that only falls does not move."""
    bouncing = [2.0, 1.5, 1.2, 1.0, 0.9, 1.1, 0.85, 1.05, 0.8, 1.0]
    assert val_moves(bouncing) is None  # the default needs 12
    assert val_moves(bouncing, min_n=10) is True
    assert val_moves([2.0, 1.6, 1.3, 1.1, 1.0, 0.95, 0.9, 0.87, 0.85, 0.84], min_n=10) is False
    # one climb of the half's five changes is enough on ten (VAL_MOVE_UP_FEW), none is not
    assert val_moves([2.0, 1.5, 1.2, 1.0, 0.9, 1.1, 0.95, 0.9, 0.85, 0.8], min_n=10) is True
    assert val_moves([2.0, 1.5, 1.2, 1.0, 1.4, 1.2, 1.0, 0.85, 0.7, 0.6], min_n=10) is False


def test_sparse_train_only_samples_at_a_far_too_high_lr_need_not_grow_past_the_start():
    """g37 0026, PyTorch TensorBoard, train-only, moons at Adam 0.1 (100x the usual top), 30 losses
    sampled every 10 steps: they bounce 12.5% (0.24 -> 0.35 -> 0.28 -> 0.31 -> 0.37 -> 0.46 ...), and
    the start's samples were as noisy (1.4x), so the noise-growth test of an unknown LR refused it.
    Labelled oscillation (its full-batch loss moves 11% per evaluation): at such an LR, as on dense
    logs, the bouncing is the LR's."""
    r = _diagnose("g2osc22-g37-0026-moons-adam_high")
    m = measurement(r, "oscillation", "train_loss")
    assert m.values["val_bounce"] is None and m.values["noise_vs_start"] < 1.5
    assert "oscillation" in _patterns(r)
    assert first_action(r) == "lower_lr"


def test_ten_evaluations_one_climb_of_five_is_the_labellers_reading():
    """g39 0010, Keras TensorBoard, moons at Adam 0.01, 10 epochs, no hparams: the val loss's last six
    evaluations 0.226 -> 0.304 -> 0.268 -> 0.262 -> 0.224 -> 0.222 move 13% of their level per evaluation
    with one climb of five (the labellers' 30% is two of their six changes). Labelled oscillation; it
    was read as slow convergence with raise-the-LR advice."""
    r = _diagnose("g2osc22-g39-0010-moons-adam_high")
    assert "oscillation" in _patterns(r) and "slow_convergence" not in _patterns(r)
    assert first_action(r) == "lower_lr"


def test_ten_evaluations_whose_second_half_only_falls_do_not_move():
    """s29 0125, a generic CSV, digits at NAdam 0.02, 10 epochs: the val loss bounces early (0.30, 0.23,
    0.33, 0.20, 0.40) and then falls at every evaluation (0.33, 0.19, 0.17, 0.16, 0.13). Labelled healthy;
    its robust bounce over the last two thirds (8% needed on fewer than 12 evaluations) called OSC004."""
    r = _diagnose("g2osc22-s29-0125-digits-nadam_high")
    m = measurement(r, "oscillation", "train_loss")
    assert m.values["val_moves"] is False
    assert "oscillation" not in _patterns(r)
