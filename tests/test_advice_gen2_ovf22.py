"""A training loss that recovers from a mid-run blow-up beside a val loss that stays up: overfitting after a
bad stretch, not divergence. Recorded trainings of the second generator (bench/make_corpus_gen2.py),
session 22, copied under tests/data/oos/g2ovf22-<seed>-<id>-...; labels come from the full-batch training
loss the generator evaluates and never writes.
"""
from __future__ import annotations

import pytest

from advisor.signals.divergence import VAL_STAYS_BLOWN
from recorded import core_patterns as _patterns
from recorded import diagnose_recorded as _diagnose
from recorded import first_action, measurement


@pytest.mark.parametrize("name", ["g2ovf22-s31-0117-cancer-warmup_to_high_peak",
                                  "g2ovf22-g38-0111-cancer-warmup_to_high_peak"])
def test_a_val_loss_that_stays_up_after_the_training_loss_recovered_is_overfitting(name):
    """s31 0117, a Keras CSV, cancer under a warmup to NAdam 0.2: training 0.22 -> 57 -> 0.12, val 0.21 ->
    63 -> 4.2 (20x its start); g38 0111, a W&B history, the same warmup: training back to ~0 after 8.0,
    val 0.09 -> 9.8 -> 2.5 (29x). Labelled overfitting (the full-batch loss came back: no divergence);
    both were DIV003 "never gets clearly below its starting level", lower the LR. The training loss ends
    far below its start, the val loss far above its own: early-stop / regularise."""
    r = _diagnose(name)
    assert "divergence" not in _patterns(r)
    assert "overfitting" in _patterns(r)
    assert first_action(r) in ("early_stop", "regularize")
    assert measurement(r, "divergence", "train_loss").values["kind"] is None


def test_the_bar_sits_far_above_an_overfit_val_loss_and_far_below_a_wrecked_one():
    """The overfit runs' val losses end 2-29x their start, the wrecked net's the docstring of `_recovered`
    names 1e11x (cancer at SGD 2.0: 546 -> 6.3e13)."""
    assert 29 < VAL_STAYS_BLOWN < 1e11
