"""Oscillation calls on recorded trainings of the second generator (bench/make_corpus_gen2.py), session 13
(fa helper). Each test names the practitioner's evidence the call reads. Labels come from the full-batch
training loss the generator evaluates and never writes; the runs are copied under
tests/data/oos/g2fa13-s<gen2 seed>-<id>-... (the drawn config in the name is not the label).
"""
from __future__ import annotations

from advisor.signals.oscillation import NOISE_CLEAR, START_CALM

from recorded import core_patterns as _patterns
from recorded import diagnose_recorded as _diagnose
from recorded import first_action, measurement


def test_a_saturated_start_is_no_reference_for_the_minibatch_noise():
    """A camelCase CSV with the LR (0.01) and no optimizer, 600 per-step losses of a deep net on moons:
    the first 30 losses sit at 0.69 +- 0.005 (ln 2: the saturated net predicts 0.5 on every point, so every
    example's loss is the same and a batch of them scatters by nothing), then the net separates the classes
    and its per-step losses scatter 0.1-0.5 as a moons net's do. Read against that calm start, the bouncing
    was 37x the start's noise; a start under START_CALM (1%) is no reference, so nothing says the bouncing
    grew past the task's minibatch noise. Labelled healthy (the full-batch loss settles at 0.21): no call."""
    r = _diagnose("g2fa13-s20-0066-moons-deep_saturating")
    assert "oscillation" not in _patterns(r)
    m = measurement(r, "oscillation", "train_loss")
    assert m.detected is False
    assert m.values["noise_vs_start"] > 30  # the calm start, not the bouncing, makes the ratio
    assert m.values["val_bounce"] is None  # train-only: the start's noise was the only reference


def test_sgd_05_bouncing_far_past_a_noisy_start_still_oscillates():
    """Lightning, SGD 0.5 (2.5x plain SGD's top; batch not logged), train-only, classification: the
    per-step losses of its start scatter ~6% of their level (6x START_CALM), and the second half bounces
    52% of its level, 9x the start's noise, as much as the progress the run made. Labelled oscillation:
    the start is a reference, the noise grew past it, lower the LR."""
    r = _diagnose("g2fa13-s3-0202-classif-sgd_small_batch_high")
    assert "oscillation" in _patterns(r)
    assert first_action(r) == "lower_lr"
    m = measurement(r, "oscillation", "train_loss")
    assert m.detected is True
    assert m.values["noise_vs_start"] >= 3 * NOISE_CLEAR
    start_scatter = m.values["rel_amplitude"] / m.values["noise_vs_start"]
    assert start_scatter >= 4 * START_CALM
