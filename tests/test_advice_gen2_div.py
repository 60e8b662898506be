"""Divergence calls on recorded trainings of the second generator (bench/make_corpus_gen2.py, seeds
1 and 3), each misread by main b3afd4d. Labels come from the full-batch training loss the generator
evaluates and never writes (bench.make_corpus_oos.label: non-finite, or the last quarter >= 1.5x the
start, or learnt then back at the start / chance = divergence); the runs are copied under
tests/data/oos/gen2div-s<seed>-<id>-<task>-<drawn config> (the drawn config is not the label).
Each test names what the log holds that reads the run right.
"""
from __future__ import annotations

import numpy as np
import pytest

from recorded import core_patterns, diagnose_recorded, first_action, measurement


@pytest.mark.parametrize("name, low, high", [
    # W&B history, 15 epochs of SGD 2.0 at batch 16 on 10 classes: train loss 176-197, val accuracy 7-11%
    ("gen2div-s1-0017-digits-sgd_small_batch_high", 50, 100),
    # HF trainer_state.json, 10 epochs of SGD 1.0 at batch 8: loss 58-64, val accuracy 7-12%
    ("gen2div-s1-0113-digits-sgd_small_batch_high", 15, 30),
    # MLflow, train-only, SGD 2.0 at batch 16 on 2 classes: loss 0.85-44, train accuracy 48-53%
    ("gen2div-s1-0160-moons-sgd_small_batch_high", 10, 30),
    # torch add_scalars, SGD 1.0 momentum 0.5 at batch 4: loss 151, 305, then ~60, accuracy at chance
    ("gen2div-s3-0071-digits-sgd_small_batch_high", 15, 30),
])
def test_a_classifier_loss_far_above_guessing_is_a_blow_up(name, low, high):
    """A cross-entropy starts near ln(C) and a stuck net stays there; these end at 10-75x the loss
    of guessing implied by the accuracy's low, with the accuracy at chance: the outputs blew up
    before the first log line. Were read as a plateau or oscillation (plateau advice first)."""
    r = diagnose_recorded(name)
    assert core_patterns(r) == {"divergence"}
    assert r.findings[0].rule == "DIV007" and first_action(r) == "lower_lr"
    m = measurement(r, "divergence", "train_loss")
    assert m.values["kind"] == "above_chance" and low <= m.values["chance_ratio"] <= high


def test_repeated_loss_blow_ups_between_values_at_chance_are_a_divergence():
    """HF trainer_state, train-only, SGD 1.0 at batch 4 on digits: the per-step loss sits at ln 10
    but jumps to 3.7e6 and 1.2e9 (>= 1,000x its level at 5 logged steps). Was PLT005 plateau."""
    r = diagnose_recorded("gen2div-s1-0084-digits-sgd_small_batch_high")
    assert core_patterns(r) == {"divergence"} and first_action(r) == "lower_lr"
    v = measurement(r, "divergence", "train_loss").values
    assert v["kind"] == "explosion" and v["explosion_ratio"] > 1e9


def test_a_run_that_stopped_on_a_huge_loss_is_a_blow_up_even_when_its_loss_touched_zero():
    """Lightning/W&B log, SGD 0.3 at batch 4 on cancer: per-step losses reach exactly 0 between
    spikes (so the trend is not positive), and the last logged value is 3.7e6, 6e7x the level.
    Was read as overfitting (early_stop first)."""
    r = diagnose_recorded("gen2div-s3-0180-cancer-sgd_small_batch_high")
    assert "divergence" in core_patterns(r) and "overfitting" not in core_patterns(r)
    assert first_action(r) == "lower_lr"
    assert measurement(r, "divergence", "train_loss").values["kind"] == "explosion"


def test_a_train_loss_relapse_is_contradicted_by_a_val_accuracy_that_held():
    """Healthy moons MLP, SGD 0.3 at batch 4, its 12 training losses the last batch's: 0.27 ->
    0.05 -> 0.32 reads as a relapse, but the val accuracy held 84-88% (relapses lose 22-81 points).
    Was DIV006."""
    r = diagnose_recorded("gen2div-s3-0104-moons-sgd_small_batch_high")
    assert "divergence" not in core_patterns(r)


def test_an_early_rise_the_loss_came_back_from_below_its_start_is_not_a_divergence():
    """Healthy Friedman MLP, NAdam warmed up to 0.06, train-only: the loss goes 0.58 -> 1.75 in the
    warmup, then falls to 0.21 and ends there (< 70% of its start). Was DIV003."""
    r = diagnose_recorded("gen2div-s3-0098-friedman-warmup_to_high_peak")
    assert "divergence" not in core_patterns(r)
    assert measurement(r, "divergence", "train_loss").values["kind"] is None


def test_an_accuracy_collapse_needs_a_loss_that_fell_below_its_first_value():
    """Keras/MLflow, SGD 0.5 momentum on digits, killed from the start: loss 2.25, 5.56, 2.69,
    then ln 10 to the end; the val accuracy's 30% at the first epoch falls to chance. The blow-up
    in the first three points made the 3-point start 2.69, so ln 10 read as 'learnt': a plateau
    (never below 70% of its start), not a relapse. Was DIV006."""
    r = diagnose_recorded("gen2div-s1-0204-digits-sgd_kill")
    assert "divergence" not in core_patterns(r)


def test_a_classifier_loss_far_above_ln_2_that_never_falls_is_a_blow_up_at_any_accuracy():
    """Keras/MLflow, SGD 1.0 momentum 0.5 at batch 8 on moons: 12-16 per epoch from the first on,
    while the accuracy is 75-85%. C is unknown, but ln 2 bounds guessing for every C: a loss >= 10x
    that which does not fall is exploded logits (seed 2). Was no finding at all."""
    r = diagnose_recorded("gen2div-s2-0150-moons-sgd_small_batch_high")
    assert core_patterns(r) == {"divergence"} and first_action(r) == "lower_lr"
    v = measurement(r, "divergence", "train_loss").values
    assert v["kind"] == "above_chance" and v["chance_ratio"] > 15


def test_an_early_rise_is_not_recovered_while_the_val_loss_stays_blown_up():
    """Keras/MLflow, SGD 2.0 on cancer: the training loss goes 1.5e3 -> 7e14 and back to 0.017 in
    the last epochs, but the val loss stays at 6.3e13 to the end: still a divergence (seed 2;
    a first version of the recovered-rise rule read it as overfitting)."""
    r = diagnose_recorded("gen2div-s2-0080-cancer-sgd_small_batch_high")
    assert "divergence" in core_patterns(r) and "overfitting" not in core_patterns(r)
    assert first_action(r) == "lower_lr"


def test_a_val_accuracy_that_rose_25_points_and_fell_flat_to_chance_is_a_collapse():
    """PyTorch-tutorial TensorBoard, SGD 0.5 momentum 0.9 on digits: the epoch-mean loss never
    shows the fall (2.1, 2.94, then ln 10), but the val accuracy went 33%, 44%, then sits at
    7-11% to the end: learnt, then wrecked (seed 2). Was PLT005 plateau."""
    r = diagnose_recorded("gen2div-s2-0083-digits-sgd_kill")
    assert core_patterns(r) == {"divergence"} and first_action(r) == "lower_lr"
    assert measurement(r, "divergence", "train_loss").values["kind"] == "relapse"


def test_a_loss_that_fell_then_ended_above_its_start_with_the_val_loss_is_a_divergence():
    """CSV (camelCase), SGD momentum 0.99 on 4 classes, only the LR logged: the training loss
    (every 10 steps) goes 1.13 -> 0.69 -> 1.5-1.65 while the val loss climbs 1.01 -> 2.72. Both
    losses worse than where they began: thrown off the minimum, not overfitting (the training
    loss rose too) and not the held val accuracy's noise. Was OSC002 with lr_schedule first."""
    r = diagnose_recorded("gen2div-s1-0088-classif-momentum_0.99_blowup")
    assert core_patterns(r) == {"divergence"}
    assert r.findings[0].rule == "DIV006" and first_action(r) == "lower_lr"


# Session 7: plateau-labelled runs that blew up in their first steps and came back only to where an
# untrained net sits (the labeller: the full-batch loss never got below its untrained start).
@pytest.mark.parametrize("name, low, high", [
    # W&B history, only the LR (1.0) logged, 4 classes: loss 5.2 -> 1.39 (ln 4), train accuracy 31-38%
    ("g2div7-s1-0099-count-adagrad_high", 4, 5),
    # torch SummaryWriter, Adagrad 1.0 at batch 16, 4 classes: loss 5.2 -> ~1.4, val accuracy 24-39%
    ("g2div7-s3-0049-count-adagrad_high", 3.5, 5),
    # add_scalars layout, Adagrad 1.0, 4 classes: loss 1,503 -> 1.30, val accuracy 29-35%
    ("g2div7-s4-0148-classif-adagrad_high", 1000, 1500),
    # Keras CSV, nothing but the LR (0.3) logged, 10 classes: loss 3.5, 22.9, then 3.4 -> 2.49; accuracy 7-12%
    ("g2div7-s1-0067-digits-momentum_0.99_blowup", 7, 11),
    # generic camelCase CSV, SGD 2.0 step-decayed: loss 25, 191, then ln 10 -> 2.23; train accuracy 7-22%
    ("g2div7-s1-0224-digits-sgd_small_batch_high", 60, 100),
    # torch SummaryWriter, SGD 0.5 at batch 4: loss 7,002 then ln 10 to the end, val accuracy 7-12%
    ("g2div7-s1-0013-digits-sgd_small_batch_high", 2000, 3000),
])
def test_a_classifier_stuck_at_chance_after_a_blow_up_in_its_first_steps_is_a_plateau_to_lower_the_lr(name, low, high):
    """The first logged losses sit 4-2,700x above ln(1 / the accuracy's low), the loss comes back
    only to that loss of guessing (a fall of 70-99.9% that reads as progress), and the accuracy
    never rises 15 points from its low: the first steps blew the weights up and the net only found
    its way back to where an untrained one starts. Were no finding, ACC001 (raise_lr first), or a
    plateau with lr_schedule first (0013); the labels expect lower_lr / warmup."""
    r = diagnose_recorded(name)
    assert core_patterns(r) == {"plateau"}
    assert r.findings[0].rule == "PLT008" and first_action(r) == "lower_lr"
    v = measurement(r, "divergence", "train_loss").values
    assert v["kind"] is None and low <= v["settled_after_blowup"] <= high


def test_a_net_that_learns_after_a_blow_up_in_its_first_steps_is_not_stuck():
    """MLflow (Keras autolog), Adagrad 1.0 on digits, healthy-labelled: the loss starts at 456 and
    comes back to ~0.8, near ln(1 / the accuracy's low 41%), but the val accuracy climbs to 67%
    (26 points): it learns. The closest healthy run to PLT008 on the tuning seeds."""
    r = diagnose_recorded("g2div7-s4-0133-digits-adagrad_high")
    assert not core_patterns(r)
    assert measurement(r, "divergence", "train_loss").values["settled_after_blowup"] is None


def test_plt008_calls_a_blow_up_from_the_ratio_the_signal_documents():
    from advisor.engine import load_rules
    from advisor.signals.divergence import BLOWN_START

    assert load_rules().by_id("PLT008").params["min_ratio"] == BLOWN_START


def test_a_run_that_logged_one_astronomical_loss_and_died_is_a_divergence():
    """torch add_scalars, SGD 2.0 with Nesterov momentum 0.9 on cancer: the run logged one epoch
    (loss 3.8e10, accuracy 57.5%) and stopped. One point is no curve, but a classifier's loss of
    3.8e10 is a blow-up at any class count (DIV005). advisor/roles dropped every one-point series,
    so the run had no loss at all and no finding."""
    r = diagnose_recorded("g2div7-s3-0165-cancer-sgd_kill")
    assert r.metrics == {"train_loss": "loss/train", "train_acc": "accuracy/train"}
    assert core_patterns(r) == {"divergence"}
    assert r.findings[0].rule == "DIV005" and first_action(r) == "lower_lr"


def test_one_point_series_beside_real_curves_take_no_role(real_logs):
    """The one-point fallback reads a log that has nothing else; a one-off value beside real curves
    never takes a role. Real logs: a Lightning run whose `train_loss` was logged once, beside a
    logged `val_loss` curve (the training loss stays unassigned, as before); HF's end-of-run
    `train_loss` summary beside the logged `loss` curve; and the add_scalars log whose `test` run
    holds one training and one validation loss and nothing else (now read; too short for any
    finding, as before)."""
    from advisor.pipeline import diagnose_paths

    def metrics(rel):
        (run,) = diagnose_paths([str(real_logs / rel)]).runs
        return run

    lightning = metrics("tensorboard/lightning-tb-stuck-at-chance/lightning_logs/version_58")
    assert "train_loss" not in lightning.metrics and lightning.metrics["val_loss"] == "val_loss"
    assert metrics("hf-trainer/whisper-tiny-nb-100k").metrics["train_loss"] == "loss"
    test = metrics("tensorboard/pytorch-add-scalars-linreg/runs/test")
    assert test.metrics == {"train_loss": "loss/training", "val_loss": "loss/validation"}
    assert not test.findings


@pytest.mark.parametrize("name, low, high", [
    # Lightning CSV, Adagrad 0.3 on diabetes (MSE, no accuracy): 19,968 at step 25, then 10.7, 6.7,
    # 5.3 ... 1.17 at the end; the val loss 8.5 -> 2.08
    ("g2div7-s1-0127-diabetes-adagrad_high", 2500, 3500),
    # MLflow, Adagrad 0.3 on Friedman #1: 22,823 at step 25, then 31.7, 18.5 ... 1.6; val 12.9 -> 1.46
    ("g2div7-s3-0193-friedman-adagrad_high", 1000, 1500),
])
def test_a_regression_that_blew_up_at_its_first_log_line_at_30x_the_usual_lr_is_a_plateau_to_lower_the_lr(name, low, high):
    """No accuracy, so no loss of guessing: the first logged value 1,230-2,990x the next three
    (every other run of gen2 s1-s4 and the first-generator pool without an accuracy <= 176, and
    <= 15 at >= 10x the usual LR) and Adagrad at 30x its usual top are what the log holds. The
    99.9% fall that follows is the blow-up wearing off: the full-batch loss never got below the
    untrained net's (label: plateau, lower_lr / warmup). Were no finding at all."""
    r = diagnose_recorded(name)
    assert core_patterns(r) == {"plateau"}
    assert r.findings[0].rule == "PLT009" and first_action(r) == "lower_lr"
    assert low <= measurement(r, "divergence", "train_loss").values["first_log_blowup"] <= high


def test_a_rise_above_a_lucky_low_that_never_passes_the_first_value_is_not_a_divergence():
    """CSV, SGD 1.0 at batch 16 on cancer, the training loss logged as the last batch's every 10
    steps: 0.327, 0.0034, 0.0002, then 0.003-0.25 to the end. Its trend is 3.4x the 3-point start
    (0.0034) but never above the first value; the val accuracy holds 93-99%. The label is
    oscillation and overfitting (the val loss doubles from its minimum 0.067). Was DIV003."""
    r = diagnose_recorded("g2div7-s4-0225-cancer-sgd_small_batch_high")
    assert core_patterns(r) == {"oscillation", "overfitting"} and first_action(r) == "lower_lr"
    assert measurement(r, "divergence", "train_loss").values["kind"] is None


def test_a_loss_that_ends_far_above_its_first_value_is_a_divergence_whatever_its_3_point_start():
    """HF trainer_state.json (whitespace compacted), Adagrad 0.3 on diabetes, logged every step:
    0.89 at step 1, then 1,199, 9.6e6, 2.9e7 ..., and ~15 over the last quarter (17x the first
    value). The 3-point start already holds the blow-up, so against it the loss never rose; the
    label is divergence (the full-batch loss ended >= 1.5x the untrained net's). Runs not called a
    divergence end at <= 1.46x their first value (gen2 s1-s4, s10 and the first-generator pool).
    Was no finding (gen2 seed 10)."""
    r = diagnose_recorded("g2div7-s10-0045-diabetes-adagrad_high")
    assert core_patterns(r) == {"divergence"}
    assert r.findings[0].rule == "DIV003" and first_action(r) == "lower_lr"
    v = measurement(r, "divergence", "train_loss").values
    assert v["kind"] == "early_rise" and v["early_rise_ratio"] > 100


def test_a_classifier_loss_at_1_8x_the_loss_of_guessing_with_the_accuracy_at_chance_is_a_blow_up():
    """torch SummaryWriter (epoch means), NAdam at 0.2 on 4 classes: the training loss sits at
    2.8-3.45 from the first epoch, 1.8x ln(1 / the accuracy's low 21%), while the val accuracy
    stays at 21-27% (chance). The cut was 2x; the labeller's own line is 1.5x the untrained start
    (about ln C), and over gen2's six tuning seeds, the first-generator pool and seed 229 the
    plateau and slow runs with a flat accuracy read <= 1.44x. Was OSC001 (gen2 seed 10)."""
    r = diagnose_recorded("g2div8-s10-0137-classif-nadam_high")
    assert core_patterns(r) == {"divergence"}
    assert r.findings[0].rule == "DIV007" and first_action(r) == "lower_lr"
    v = measurement(r, "divergence", "train_loss").values
    assert v["kind"] == "above_chance" and 1.7 <= v["chance_ratio"] <= 1.9


# Session 8: overfitting calls on healthy-labelled runs (the labeller: the full-batch val loss's last
# three evaluations < 1.10x its rolling-3 minimum), the largest source of healthy false alarms.
@pytest.mark.parametrize("name, rise_high", [
    # torch SummaryWriter, Adam 0.003 on 80 diabetes samples: val 0.763 at its first evaluation,
    # then 0.92-1.0 to the end (labeller 1.045; was OVF001 at 10.1%)
    ("g2div8-s10-0022-diabetes-overfit_small_data", 0.06),
    # CSV, Adamax 0.003 on 60 samples: val 0.706, 0.839, then 0.88-0.90 flat (labeller 1.098; was
    # OVF001 at 14.9%)
    ("g2div8-s2-0028-diabetes-overfit_small_data", 0.099),
])
def test_a_val_loss_lowest_at_its_first_evaluation_is_measured_from_whole_windows(name, rise_high):
    """A val loss that jumps between its first and second evaluations and then sits flat: its
    minimum was the first point's 2-point mean, a noisier estimate than every other 3-point mean,
    which the lowest of them is drawn to. Measured from the mean of the first three evaluations the
    climb is under OVF001's 10%; the minimum's place (the early-stopping point) stays the first
    evaluation. The never-fell runs labelled overfitting keep >= 27% measured that way."""
    r = diagnose_recorded(name)
    v = measurement(r, "overfitting", "val_loss").values
    assert v["never_fell"] and v["rise_rel"] < rise_high
    assert v["val_min_step"] == r.curves.get("val_loss").x[0]
    assert "overfitting" not in core_patterns(r)


def test_a_val_creep_while_the_val_accuracy_holds_is_not_overfitting():
    """HF trainer_state.json, Adamax 0.006 on cancer: the val loss creeps 6% above its minimum
    (0.060 -> 0.064) while the val accuracy sits at 98.2% (the same 2 of 113 samples wrong) for the
    14 evaluations after it: the logits grow more confident, the model is no worse at the task
    (healthy-labelled; was OVF003 with early_stop first)."""
    r = diagnose_recorded("g2div8-s2-0147-cancer-healthy_adamax")
    v = measurement(r, "overfitting", "val_loss").values
    assert 0.05 <= v["rise_rel"] < 0.1 and v["metric_held"] is True and v["metric_veto"] is True
    assert not core_patterns(r)


def test_reuters_creep_has_a_val_accuracy_that_fell(real_logs):
    """The real Keras Reuters log (the textbook overfitting example) creeps 7.5% while its val
    accuracy falls from 83.1% at the minimum (epoch 8) to a median 81.3% over the last quarter:
    the metric got worse, so the creep keeps OVF003."""
    from advisor.pipeline import diagnose_paths

    (r,) = diagnose_paths([str(real_logs / "tensorboard" / "keras-tf2-reuters-mod1")]).runs
    v = measurement(r, "overfitting", "val_loss").values
    assert v["metric_held"] is False and v["metric_veto"] is False
    assert [f.rule for f in r.findings if f.pattern == "overfitting"] == ["OVF003"]


def test_a_train_loss_relapse_is_contradicted_by_a_training_accuracy_that_climbed():
    """W&B history, train-only, SGD 1.0 at batch 16 on moons, healthy-labelled: the loss logged as
    the last batch's every 25 steps bounces 0.07-0.50 and ends 0.44, 0.34 (a 'relapse' to its
    3-point start 0.22), while the training accuracy evaluated every 41 steps climbs 83% -> 92%.
    A net back at its start is back at chance; the relapses with only a training accuracy logged
    lose 27-69 points of it. The held-accuracy check read the val accuracy only. Was DIV006."""
    r = diagnose_recorded("g2div8-s9-0057-moons-sgd_small_batch_high")
    assert r.curves.get("val_acc") is None and r.curves.get("train_acc") is not None
    assert "divergence" not in core_patterns(r)
    assert measurement(r, "divergence", "train_loss").values["kind"] is None


def test_a_val_loss_bouncing_beside_a_memorised_training_set_is_not_a_climb():
    """Keras TensorBoard (first generator, pool seed 5), a 5-layer tanh net on blobs that learnt:
    the val loss bounces 0.11-0.16 around a flat level over its last 20 epochs while the training
    loss sits 1.4 orders below. The mean of its last evaluations is 14% above its rolling minimum,
    1.0 noise units: OVF002 called the bounce a climb. A climb under 20% must now stand 3.5 noise
    units out (the overfitting signal's own bar); the OVF002 calls labelled overfitting read >= 29%
    or >= 1.7 noise units, the two healthy ones 10-14% at 0.7-1.0 units."""
    r = diagnose_recorded("g2div8-pool5-0076-blobs-deep_saturating")
    v = measurement(r, "overfitting", "val_loss").values
    assert v["orders_apart"] >= 1 and 0.1 <= v["rise_rel"] < 0.2 and v["rise_noise"] < 1.5
    assert "overfitting" not in core_patterns(r)


@pytest.mark.parametrize("name, low", [
    # Keras TensorBoard, SGD 2.0 momentum 0.9 on digits: epoch means 1.9e6 and 3.5e7, then ln 10
    ("g2div9-s11-0074-digits-sgd_kill", 1e7),
    # Keras CSV, SGD 2.0 momentum 0.9 on digits: the first epoch's mean 8.4e19, then ln 10
    ("g2div9-s11-0226-digits-sgd_kill", 1e19),
    # HF trainer_state, SGD 2.0 at batch 16 on cancer: 16.7, 1.2e12 at step 10, then 0.5-1.0
    ("g2div9-s12-0080-cancer-sgd_small_batch_high", 1e12),
])
def test_one_loss_a_million_times_its_level_is_a_blow_up_however_fast_it_came_back(name, low):
    """SGD at LR 2.0 threw the weights astronomically far in the first steps; the loss then came
    back to the loss of guessing and sat there beside an accuracy at chance. The labeller calls any
    minibatch loss above 1e6 a divergence; the log shows the value itself. Over gen2 seeds 1-4 and
    9-12, the first-generator pool and seeds 229/231, no run labelled otherwise logs a value over
    1.2e5x its level. Were PLT005 plateau (lower_lr first, but read as a stall)."""
    r = diagnose_recorded(name)
    assert core_patterns(r) == {"divergence"} and first_action(r) == "lower_lr"
    v = measurement(r, "divergence", "train_loss").values
    assert v["kind"] == "explosion" and v["explosion_ratio"] >= low


@pytest.mark.parametrize("name, low, high", [
    # Keras CSV, SGD 2.0 at batch 16, tanh units, 4 classes: accuracy 53% -> 70%, epoch loss 3.2 -> 2.3
    ("g2div9-s12-0225-classif-sgd_small_batch_high", 3.3, 3.6),
    # Keras TensorBoard, SGD 1.0 at batch 8 on cancer: train accuracy 85-89%, epoch loss 3.2-5
    ("g2div9-s10-0007-cancer-sgd_small_batch_high", 5.2, 5.7),
])
def test_a_training_loss_above_ln_8_beside_an_accuracy_never_down_to_50_percent_is_a_blow_up(name, low, high):
    """A net classifying at > 50% all run whose training loss stays >= 3 x ln 2 (worse than guessing
    among 8 classes) has confident, wrong outputs: the labeller's full-batch loss ended >= 1.5x its
    untrained start. Runs labelled otherwise read <= 1.97 over the 17 tuning corpora. Were PLT005
    plateau (0225) and oscillation (0007): the ln 2 reading asked 10x."""
    r = diagnose_recorded(name)
    assert core_patterns(r) == {"divergence"} and first_action(r) == "lower_lr"
    assert r.findings[0].rule == "DIV007"
    v = measurement(r, "divergence", "train_loss").values
    assert v["kind"] == "above_chance" and low <= v["chance_ratio"] <= high


@pytest.mark.parametrize("name, fall", [
    # Keras CSV, Adagrad 1.0 on Friedman: 1.5e4 at epoch 0, then 77, 39 ... 2.4, val 110 -> 4.7
    ("g2div9-s9-0090-friedman-adagrad_high", 1.4),
    # Keras CSV, Adagrad 1.0 on diabetes: 9.4e4, then 800, 432 ... 53, val 870 -> 80
    ("g2div9-s11-0054-diabetes-adagrad_high", 1.5),
    # torch TensorBoard, Adagrad 1.0 on Friedman, per step: 5.8e8 at step 10 ... 2.2e5, val 2e8 -> 2.6e5
    ("g2div9-s12-0213-friedman-adagrad_high", 1.45),
])
def test_a_regression_still_wearing_off_a_blow_up_at_its_first_log_line_is_a_divergence(name, fall):
    """The first logged loss is 115-940x the next three, and the loss (and the val loss) is still
    coming down steeply at the end: the net has not got back to where an untrained one starts
    (the labeller: the full-batch loss ends >= 1.5x its start). Runs without an accuracy that blew up
    at their first log line and were labelled plateau or oscillation fall 0.95-1.27x from their third
    quarter to their last (s3 0193, below, stays PLT009); these 1.41-1.57x. Were no finding."""
    r = diagnose_recorded(name)
    assert core_patterns(r) == {"divergence"} and first_action(r) == "lower_lr"
    v = measurement(r, "divergence", "train_loss").values
    assert v["kind"] == "explosion" and v["explosion_ratio"] >= 100
    from advisor.signals.divergence import _fall_over_last_half
    assert _fall_over_last_half(r.curves.get("train_loss").y) >= fall


@pytest.mark.parametrize("name", [
    # W&B history (first generator, pool seed 2), SGD at a killing LR on 2 classes: the per-epoch
    # training loss rises 15x its 3-point start once, the val loss sits at 0.92-0.94x ln 2
    "g2div9-pool2-0086-hastie-sgd_lr_kill",
    # Keras TensorBoard (pool seed 5), SGD momentum 0.99 on 4 classes: the val loss at 0.94-0.99x
    # ln(1 / the accuracy's low), the accuracy 22 points above its floor at best
    "g2div9-pool5-0152-quantiles-momentum_0.99_blowup",
])
def test_an_early_rise_beside_a_val_loss_at_the_loss_of_guessing_is_a_stall_at_chance(name):
    """The training loss rose from its start, but the val loss never got clearly below the loss of
    guessing (>= 0.85x ln(1 / the accuracy's low)) and ends under 1.5x it (the labeller's line for a
    loss that rose past its untrained start), while the accuracy never rose 30 points above its
    floor: the net was thrown off at once and sits at chance. Plateau-labelled early rises end at
    0.88-1.15x; the divergences that never got below 0.85x end at >= 2.08x or gained >= 41 points.
    Were DIV003 divergence; now a plateau with the LR lowered first."""
    r = diagnose_recorded(name)
    assert core_patterns(r) == {"plateau"} and first_action(r) == "lower_lr"
    assert measurement(r, "divergence", "train_loss").values["kind"] is None


def test_an_early_rise_beside_an_accuracy_that_collapsed_stays_a_divergence():
    """Lightning CSV, SGD momentum 0.99 on 4 classes: the val loss ends at 1.22x ln(1 / the
    accuracy's low) and never got below it, but the val accuracy rose 41 points above its floor
    before falling back to it: the net learnt and was wrecked (the labeller's collapse)."""
    r = diagnose_recorded("g2div9-s3-0075-classif-momentum_0.99_blowup")
    assert core_patterns(r) == {"divergence"} and first_action(r) == "lower_lr"
    assert measurement(r, "divergence", "train_loss").values["kind"] == "early_rise"


def test_an_early_rise_beside_a_val_loss_at_its_best_is_not_a_divergence():
    """Lightning CSV, NAdam 0.2 on Friedman, plateau-labelled: the per-step loss blows up to 1e4 in
    the first steps, then bounces 0.8-1.1 (its trend above the 3-point start 0.86, 1.5e2, 25: an
    early rise), while the val loss sits at 1.067 (the targets' variance: a net predicting their
    mean) for 29 evaluations. A regression's val loss ending within 1.25x its minimum, beside a
    training loss ending under 2.5x its first value, says the net is not worse than it was: the
    plateau-labelled early rises end at 1.00-1.03x, the divergences at >= 1.81x (or at 1.08x with a
    training loss 17x its first value). Was DIV003 divergence."""
    r = diagnose_recorded("g2div9-s12-0192-friedman-nadam_high")
    assert "divergence" not in core_patterns(r) and "plateau" in core_patterns(r)
    assert first_action(r) == "lower_lr"
    assert measurement(r, "divergence", "train_loss").values["kind"] is None


def test_an_early_rise_beside_a_val_loss_that_climbed_off_its_best_stays_a_divergence():
    """CSV, a warmup to a high peak on Friedman, divergence-labelled: the val loss ends 1.8x its
    minimum while the training trend sits above its start."""
    r = diagnose_recorded("g2div9-s2-0158-friedman-warmup_to_high_peak")
    assert core_patterns(r) == {"divergence"} and first_action(r) == "lower_lr"
    assert measurement(r, "divergence", "train_loss").values["kind"] == "early_rise"


def test_an_infinite_perplexity_followed_by_finite_ones_is_an_overflow_not_a_non_finite_loss():
    """torch SummaryWriter of perplexities (no tag named loss), SGD 2.0 momentum 0.5 at batch 4 on
    digits, plateau-labelled: the first logged training perplexity is inf (exp of a per-step loss
    above 88.7 overflows float32), then 6.4 and ~10 to the end, beside a val accuracy at chance. A net
    whose loss went non-finite logs NaN from then on; this one's loss was finite, and a cross-entropy
    log of the same training reads a blow-up settled at chance. Was DIV001 divergence; now the
    plateau after a blow-up (PLT008), the LR lowered first."""
    from advisor.roles import PERPLEXITY_OVERFLOW

    r = diagnose_recorded("g2div10-s1-0063-digits-sgd_small_batch_high")
    y = r.curves.get("train_loss").y
    assert y[0] == PERPLEXITY_OVERFLOW and 2.0 < float(np.median(y[2:])) < 2.6 and np.isfinite(y).all()
    assert core_patterns(r) == {"plateau"} and first_action(r) == "lower_lr"
    assert measurement(r, "divergence", "train_loss").values["kind"] is None


def test_a_val_accuracy_flipping_between_class_shares_is_no_collapse():
    """CSV, a deep saturating net on cancer, plateau-labelled: its val accuracy flips between 68.1%
    and 31.9% (the net predicts one class, then the other) and ends on the minority share. Read
    from the tail's median, the 68% looked like 36 points learnt and lost; read from the best of
    the tail, as a net at chance scores each class's share and the best is the chance level, it
    gained nothing. Was DIV006 divergence."""
    r = diagnose_recorded("g2div10-s3-0159-cancer-deep_saturating")
    assert "divergence" not in core_patterns(r) and "plateau" in core_patterns(r)
    assert measurement(r, "divergence", "train_loss").values["kind"] is None


def test_a_val_accuracy_that_rose_48_points_over_chance_and_fell_back_is_a_collapse():
    """torch tutorial loop, per epoch, SGD at a killing LR on digits, divergence-labelled: the val
    accuracy climbs to 60% and falls back to 7-12% for the rest of the 120 epochs while the epoch
    loss sits near ln 10 (its dip hidden by the epoch averages): 48 points above the best of its
    last quarter, the labeller's collapse (25 points over chance, then back within 5)."""
    r = diagnose_recorded("g2div10-s2-0083-digits-sgd_kill")
    assert core_patterns(r) == {"divergence"} and first_action(r) == "lower_lr"
    assert measurement(r, "divergence", "train_loss").values["kind"] == "relapse"


def test_a_classifier_still_wearing_off_a_blow_up_at_its_first_log_line_is_a_divergence():
    """Keras CSV, RMSprop 0.1 on cancer, divergence-labelled: the first epoch's mean loss is 2.1e4
    (519x the next three), and both losses are still coming down steeply at the end (training 3.1x,
    validation 1.9x from the third quarter to the last) while the val accuracy sits at 93-99%: the
    net has not got back to where an untrained one starts (the labeller: the full-batch loss ends
    >= 1.5x its start). The classifiers labelled otherwise fall <= 2.2x beside a val loss <= 1.07x.
    Was SPK001 loss_spike (gradient_clipping first)."""
    r = diagnose_recorded("g2div10-s2-0025-cancer-rmsprop_high")
    assert core_patterns(r) == {"divergence"} and first_action(r) == "lower_lr"
    v = measurement(r, "divergence", "train_loss").values
    assert v["kind"] == "explosion" and v["explosion_ratio"] >= 300


def test_a_val_loss_climbing_30_percent_is_overfitting_while_the_accuracy_creeps_up():
    """tensorboardX, SGD 0.5 at batch 16 on 4 classes, labelled oscillation and overfitting: the
    val loss climbs 30% above its minimum while training keeps falling, and the val accuracy creeps
    from 80% to 83%. On small validation sets the accuracy often keeps creeping while the loss
    climbs (48 of gen2 s1-s4/s9's 152 overfitting runs); the metric's veto is for climbs under 20%.
    OVF001 asked 50% beside an improving metric (unless orders apart: 0.4 here). Was INC001."""
    r = diagnose_recorded("g2div10-s9-0155-classif-sgd_small_batch_high")
    v = measurement(r, "overfitting", "val_loss").values
    assert v["inconsistent_metric"] and 0.25 < v["rise_rel"] < 0.4 and v["orders_apart"] < 1
    assert "overfitting" in core_patterns(r)
    assert next(f for f in r.findings if f.pattern == "overfitting").recommendations[0].action == "early_stop"


def test_a_classifier_loss_trend_far_below_the_loss_of_guessing_did_not_blow_up():
    """CSV, SGD 2.0 at batch 16 on cancer, labelled oscillation and overfitting: the last-batch
    training losses span 5e-6 to 0.5 (a net that memorised its training set), its first logged
    value 3e-3, so a trend of 0.03 read as 37x its start; the val accuracy holds 93-99%. The trend
    peaks at 0.045x the loss of guessing (ln 2); the divergences read from a trend's climb peak at
    >= 0.68x. Was DIV002 divergence, which hid both labelled patterns."""
    r = diagnose_recorded("g2div10-s9-0246-cancer-sgd_small_batch_high")
    assert "divergence" not in core_patterns(r) and "overfitting" in core_patterns(r)
    assert measurement(r, "divergence", "train_loss").values["kind"] is None


def test_a_val_loss_creeping_8_percent_with_no_metric_beside_a_memorised_training_set_is_healthy():
    """torch SummaryWriter, Adamax 1e-3 on a small Friedman set, healthy: the training loss falls to
    4e-4 (2.9 orders below the val loss) while the val loss creeps 0.409 -> 0.443 (8.3%) over its
    last 55 epochs; no val metric is logged. The labeller calls a climb under 10% healthy; the loss
    alone creeps that much on nets that memorised their training set, so a creep under 10% is
    called only beside a val metric that got worse (the Keras Reuters log keeps OVF003). Was OVF003."""
    r = diagnose_recorded("g2div10-s10-0167-friedman-overfit_small_data")
    v = measurement(r, "overfitting", "val_loss").values
    assert v["metric_held"] is None and v["orders_apart"] > 2 and 0.06 < v["rise_rel"] < 0.09
    assert "overfitting" not in core_patterns(r)
