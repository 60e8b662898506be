"""Session 24's detector changes, on recorded trainings of the second generator (bench/make_corpus_gen2.py).
Labels come from the full-batch training loss the generator evaluates and never writes; the runs are
copied under tests/data/oos/<change>24-<seed>-<id>-... (the drawn config in the name is not the label).
"""
from __future__ import annotations

import numpy as np

from advisor.signals.divergence import _astronomical_spike
from recorded import core_patterns as _patterns
from recorded import diagnose_recorded as _diagnose
from recorded import first_action, measurement


def test_a_peak_a_million_times_the_first_value_is_a_blow_up_whatever_its_neighbours():
    """g38 0171, an MLflow file store, diabetes at Adagrad 0.3, 800 steps: the per-step loss reads 0.88,
    2.4e3, 1.4e6, 1.5e5, 42, 13 ... and ~0.7 to the end beside a val loss falling 0.85 -> 0.74. The
    generator's trainer counts a batch loss over 1e6 as a blow-up: labelled divergence. The astronomical
    reading measured the peak against its lower neighbour (590x) and the repeated blow-ups against a
    3-point start of 2.4e3: nothing was called. Measured from the first value it climbed from, 1.6e6x."""
    r = _diagnose("g2div24-g38-0171-diabetes-adagrad_high")
    m = measurement(r, "divergence", "train_loss")
    assert m.detected and m.values["kind"] == "explosion"
    assert m.values["explosion_ratio"] > 1e6
    assert _patterns(r) == {"divergence"}
    assert first_action(r) == "lower_lr"


def test_an_astronomical_peak_climbed_to_from_the_first_value_is_measured_from_it():
    x = np.arange(44, dtype=float)
    rest = [0.7] * 40
    # 1.4e6 is 590x its lower neighbour but 1.6e6x the first value the loss climbed from
    assert _astronomical_spike(x, np.array([0.88, 2.4e3, 1.4e6, 1.5e5] + rest)) is not None
    # ... and a climb to 1.8e5x the first value stays under ASTRONOMICAL (a stall after the blow-up)
    assert _astronomical_spike(x, np.array([1.25, 1.4e4, 2.2e5, 1.8e4] + rest)) is None
    # a first value the loss fell from for good is still read against its neighbour, not as a peak
    assert _astronomical_spike(x, np.array([2.55, 4e-6, 1e-7, 2e-7] + [1e-7] * 40)) is None


def test_a_val_loss_at_its_best_far_below_guessing_clears_a_batch_noise_rise():
    """g40 0183, a W&B history, moons at SGD 1.0 with batch 4, 800 steps: labelled healthy (the full-batch
    loss fell 0.63 -> 0.24, the reference's level). Its first logged batch loss is 6.9e-7 and the next two
    0.54 and 0.17, so its trend wandering 0.2-0.47 read as an explosion "3.8x its running minimum", then,
    cleared as that, as "never below its start, 1e6x it", while the val loss fell 0.51 -> 0.23 (a third of
    ln 2) and the val accuracy rose 86% -> 91%. The batch loss still bounces 58% of its level at an LR 5x
    plain SGD's usual top: the finding left is the oscillation, a warning, not a divergence."""
    r = _diagnose("g2div24-g40-0183-moons-sgd_small_batch_high")
    assert measurement(r, "divergence", "train_loss").detected is False
    assert "divergence" not in _patterns(r)
    assert first_action(r) == "lower_lr"

