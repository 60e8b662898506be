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


def test_a_classifier_that_started_at_chance_tells_its_class_count():
    """g42 0061, a W&B history, a 6-layer sigmoid net with BatchNorm on a 4-class task at Adam 1e-3, no
    class count logged: labelled healthy (the full-batch loss fell to 0.58 of its start). Its per-batch
    loss is flat at 0.93-1.08 over the last 57% of the run ("73% of its start"), while the val accuracy
    climbs 26% -> 71%. Its first evaluation sits at chance for 4 classes in both readings (25.6%, val loss
    1.39 = ln 4), so 70% is past the halfway mark from chance (62.5%) and the stall is a net that learnt;
    the coin-flip default put that mark at 75%, and the advice was "add BatchNorm" to a net that has it."""
    from advisor.signals.metrics import past_chance, start_classes

    r = _diagnose("g2stall24-g42-0061-classif-healthy_deep_bn")
    assert start_classes(r.curves) == 4
    assert past_chance(r.curves, 0.70, 0.5) and not past_chance(r.curves, 0.60, 0.5)
    assert measurement(r, "plateau", "train_loss").detected is False
    assert not _patterns(r)


def test_start_classes_needs_both_the_accuracy_and_the_loss_at_chance():
    from advisor.model import Curve, Curves
    from advisor.signals.metrics import start_classes

    def run(acc0: float, loss0: float) -> Curves:
        x = np.arange(10, dtype=float)
        acc = Curve(role="val_acc", tag="val_acc", x=x, y=acc0 + np.linspace(0, 0.3, 10))
        loss = Curve(role="val_loss", tag="val_loss", x=x, y=loss0 - np.linspace(0, 0.5, 10))
        return Curves(run="r", by_role={"val_acc": acc, "val_loss": loss})

    assert start_classes(run(0.10, 2.31)) == 10  # ln 10 = 2.30
    assert start_classes(run(0.26, 1.39)) == 4
    assert start_classes(run(0.26, 0.90)) is None  # learnt before the first evaluation: loss far under ln 4
    assert start_classes(run(0.62, 0.60)) is None  # above a coin flip: no chance level to read


def test_a_val_loss_falling_at_every_evaluation_through_a_flat_stretch_is_a_net_learning():
    """g44 0099, a Lightning CSV, a diabetes MLP at Adamax 2e-3 with dropout 0.3, 10 epochs: labelled
    healthy. Its epoch means 0.79, 0.77, 0.90, 0.77 over epochs 4-7 read as a saddle (PLT002, "a saddle
    point slowed training", 43% of the run) while its val loss fell at every evaluation there, 0.62 ->
    0.54 (12.9%), and over the whole run 0.75 -> 0.51. The stalls' val losses creep (<= 4.3% over the
    tuning corpora's plateau-labelled runs); one falling steadily by >= VAL_LEARNS_STEADY is learning."""
    from advisor.signals.plateau import VAL_LEARNS, VAL_LEARNS_STEADY

    assert VAL_LEARNS_STEADY < 0.129 < VAL_LEARNS
    r = _diagnose("g2stall24-g44-0099-diabetes-healthy_adamax")
    assert measurement(r, "plateau", "train_loss").detected is False
    assert not _patterns(r)


def test_a_first_log_blow_up_whose_losses_stay_far_above_guessing_diverged_though_the_net_classifies():
    """g44 0014, a Lightning CSV, cancer at RMSprop 0.1, 20 epochs: labelled divergence (the full-batch loss
    ended >= 1.5x its untrained start). Epoch 0's mean loss is 1.9e5, then 478, 44 ... 1.95 at the end
    (2.8x ln 2), the val loss 1,183 -> ~38 (55x ln 2), the val accuracy 96% from epoch 1 on. Both losses far
    above the loss of guessing is BOTH_ABOVE_GUESS's blown-up outputs, but an accuracy above a coin flip
    cleared it, as it must for a summed loss of a learning net (B x its mean). A summed loss does not drop
    4,000x between its first two log lines: with that first value, the accuracy no longer clears it."""
    from advisor.signals.divergence import _blown_at_first_log

    r = _diagnose("g2div24-g44-0014-cancer-rmsprop_high")
    m = measurement(r, "divergence", "train_loss")
    assert m.detected and m.values["kind"] == "above_chance"
    assert _patterns(r) == {"divergence"}
    assert first_action(r) == "lower_lr"
    ln2 = float(np.log(2))
    # a summed loss falls with the net from B x ln C: no first-log blow-up, nothing waived
    summed = np.array([32 * ln2 * 0.9 ** i for i in range(20)])
    assert not _blown_at_first_log(summed, ln2)
    # a blow-up the loss came back from to near guessing (Adagrad 1.0 on cancer, labelled plateau: 2.3x)
    assert not _blown_at_first_log(np.array([900.0, 1.2, 1.1, 1.0] + [1.6] * 16), ln2)
    assert _blown_at_first_log(np.array([1.9e5, 478, 44, 34] + [2.5] * 16), ln2)
