"""A training loss's flat stretch against a val loss that falls through it, on recorded trainings of the
second generator (bench/make_corpus_gen2.py), session 22; copied under tests/data/oos/g2stall22-...
"""
from __future__ import annotations

from recorded import core_patterns as _patterns
from recorded import diagnose_recorded as _diagnose
from recorded import measurement


def test_a_val_loss_falling_a_third_through_the_stretch_is_a_net_learning():
    """g40 0098, a W&B run history, Friedman regression at Adagrad 0.02: 12 per-step training losses
    sampled every 25 steps bounce flat (0.21 ... 0.24, minibatch noise), while the val loss falls at
    every evaluation, 0.276 -> 0.182, below where the training loss began. Labelled healthy; was PLT003
    "stalls at 114% of its starting level" with lower-the-LR advice."""
    r = _diagnose("g2stall22-g40-0098-friedman-healthy_adagrad")
    assert "plateau" not in _patterns(r)


def test_a_val_loss_recovering_from_an_early_blow_up_is_no_learning():
    """g36 0130, PyTorch TensorBoard, diabetes at Adagrad 1.0: the training loss jumps from 1.1 to 9.6 in
    its first steps, the val loss comes back down 5.6 -> 1.4 but never below where the run began.
    Labelled plateau (the full-batch loss sits at its start for half the run): the val loss's fall is
    a recovery, and the stall reading stands."""
    r = _diagnose("g2stall22-g36-0130-diabetes-adagrad_high")
    m = measurement(r, "plateau", "train_loss")
    assert m.detected


def test_a_loss_stuck_at_chance_that_bounces_is_one_plateau_not_an_oscillation_too():
    """g41 0105, moons at SGD 0.5, batch 4 (no hparams logged): the loss sits at ln 2 from start to end
    and bounces around it. Labelled plateau (the labellers never call a stall oscillating); PLT001 and
    OSC001 both fired. The stall explains the bouncing: one finding, lower the LR first, its text
    naming the bouncing."""
    r = _diagnose("g2stall22-g41-0105-moons-sgd_small_batch_high")
    assert _patterns(r) == {"plateau"}
    osc = measurement(r, "oscillation", "train_loss")
    assert osc.detected
    first = r.findings[0]
    assert first.rule == "PLT001" and first.recommendations[0].action == "lower_lr"
    assert "bounces around its stall" in first.recommendations[0].text


def test_a_first_epoch_a_little_above_chance_is_no_learning_to_relapse_from():
    """s29 0248, a fastai CSV (error_rate, read as the val accuracy it complements), 4 classes at SGD 0.5
    momentum 0.9: the first epoch's mean loss 1.27, then ln 4 (1.41) to the end; accuracy 43% at the first
    evaluation, then 21-27%. Labelled plateau (the full-batch loss never fell 3%; the accuracy never beat
    chance by 25 points): it was DIV006 'learned, then relapsed'. A stall at chance: lower the LR."""
    r = _diagnose("g2stall22-s29-0248-classif-sgd_kill")
    assert _patterns(r) == {"plateau"}
    assert r.findings[0].recommendations[0].action == "lower_lr"


def test_a_loss_a_little_above_ln_k_beside_an_accuracy_at_one_in_k_is_at_chance():
    """g36 0053, Keras TensorBoard, digits (10 classes) at Adam 0.1, no hparams: the first epoch's mean
    4.35, then 2.44-2.66 to the end (ln 10 = 2.30, up to 15% above: confident wrong outputs), the val
    accuracy 7-12%. Labelled plateau; nothing was found (the chance level had to lie within 5% of ln k on
    both sides). A net stuck at chance: lower the LR."""
    from advisor.signals.metrics import CHANCE_LOSS_ABOVE

    r = _diagnose("g2stall22-g36-0053-digits-adam_high")
    m = measurement(r, "plateau", "train_loss")
    assert m.values["at_chance"] and 1.05 < m.values["level"] / 2.302585 <= 1 + CHANCE_LOSS_ABOVE
    assert _patterns(r) == {"plateau"}
    assert r.findings[0].recommendations[0].action == "lower_lr"
