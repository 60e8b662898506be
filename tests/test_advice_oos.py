"""Pattern calls on real trainings from the out-of-sample corpus (bench/make_corpus_oos.py, seed 7):
each run below was misread by the detectors before issue 9's item 2/3 work, and each test names
the statistic that now reads it right. The runs are copied under tests/data/oos with their labels
(truth.json: labels come from the full-batch training loss, which is never written to the log).
"""
from __future__ import annotations

import json

import pytest

from advisor.pipeline import diagnose_paths
from recorded import CORE, OOS
from recorded import first_action as _first_action

TRUTH = json.loads((OOS / "truth.json").read_text())["runs"]


@pytest.fixture(scope="module")
def diagnosed():
    out = {}
    for rid, entry in TRUTH.items():
        d = diagnose_paths([str(OOS / entry["path"])])
        assert len(d.runs) == 1, rid
        out[rid] = d.runs[0]
    return out


def _patterns(report) -> set[str]:
    return {f.pattern for f in report.findings}


def test_every_copied_run_gets_its_label(diagnosed):
    for rid, entry in TRUTH.items():  # the labels name the core patterns (an info loss_spike may come with them)
        assert _patterns(diagnosed[rid]) & CORE == set(entry["patterns"]), rid


def test_a_net_killed_by_its_lr_at_chance_is_divergence_not_oscillation(diagnosed):
    """SGD 0.6 (momentum 0.9): the val accuracy reaches 65% on 3 classes, then falls back to ~40%
    while the per-step loss returns to ln 3. Its minibatch losses bounce ~10% at chance, which
    the old 'stuck and bouncing' branch called oscillation (OSC004) although the val loss
    bounced only 6%; the accuracy's collapse makes it divergence after learning."""
    r = diagnosed["0024-quantiles-sgd_lr_kill"]
    assert _patterns(r) == {"divergence"}
    assert r.findings[0].rule == "DIV006"
    assert _first_action(r) == "lower_lr"


def test_an_epoch_level_momentum_blowup_is_divergence_not_overfitting(diagnosed):
    """W&B epoch history, SGD momentum 0.99: 94% val accuracy after one epoch, then 48-52% (one
    class) to the end; was read as oscillation + overfitting."""
    r = diagnosed["0157-circles-momentum_0.99_blowup"]
    assert _patterns(r) == {"divergence"}
    assert _first_action(r) == "lower_lr"


def test_a_two_epoch_log_that_rose_100x_is_divergence(diagnosed):
    """Keras CSVLogger, SGD momentum 0.99: epoch 0 at 8.5, epoch 1 at 1.5e6, then the run died.
    Two points were below the 3 the divergence family asked for, so no finding at all; a second
    value >= 100x the first (the family's LAST_BLOWUP) needs no trend."""
    r = diagnosed["oos2-0001-blobs-momentum_0.99_blowup"]
    assert len(r.curves.get("train_loss")) == 2
    assert _patterns(r) == {"divergence"}
    assert _first_action(r) == "lower_lr"


def test_a_brief_low_before_the_first_blowup_makes_a_relapse(diagnosed):
    """SGD momentum 0.99, per-step losses (tensorboardX): within the first 3% of the run the loss
    reaches 17% of its start, then the first blow-up throws it back to its start for good. The
    tenth-of-the-run trend averaged the low away (its minimum is 74% of the start), and the
    bouncing wreck was called oscillation. A 2% running median at <= half the start counts as
    having learnt; the verify built-in lr-oscillates' baseline dips to 66-69% and stays
    oscillation (tests/test_verify_verdict.py)."""
    r = diagnosed["oos2-0233-blobs-momentum_0.99_blowup"]
    assert r.measurements.get("divergence", "train_loss").values["kind"] == "relapse"
    assert _patterns(r) == {"divergence"}
    assert _first_action(r) == "lower_lr"


def test_a_keras_csv_whose_first_epoch_average_holds_a_blowup_oscillates(diagnosed):
    """Keras CSVLogger, RMSprop 0.1: epoch 0's average loss is 10.6 (the first steps blew up), then
    the loss sits at 0.07-0.2 and the val loss bounces 80% between epochs (0.07 -> 1.89 -> 0.07).
    Measured from that first average, the run looked converged (level 1.8% of its start) and its
    bouncing tiny against a 10.6 span: no finding. The start is the median of the first 3 points."""
    r = diagnosed["0188-circles-rmsprop_lr0.1"]
    m = r.measurements.get("oscillation", "train_loss")
    assert r.curves.get("train_loss").y[0] > 10 and m.values["level_rel_start"] >= 0.05
    assert _patterns(r) == {"oscillation"}
    assert _first_action(r) in TRUTH["0188-circles-rmsprop_lr0.1"]["expected_actions"]


def test_train_only_step_log_at_10x_the_usual_adam_lr_oscillates(diagnosed):
    """Adam at 1e-2, no val loss: its residuals (33% of the level) are the optimiser's, which the
    LR prior (10x Adam's usual top) says; the curve alone could not (no finding before)."""
    r = diagnosed["0145-quantiles-adam_lr0.01"]
    assert _patterns(r) == {"oscillation"}
    assert _first_action(r) in ("lower_lr", "lr_schedule")


@pytest.mark.parametrize("rid", ["oos3-0194-quantiles-adamw_high", "oos4-0206-quantiles-sgd_small_batch_high"])
def test_step_log_at_an_lr_far_above_the_usual_range_oscillates_on_a_val_bounce_under_18(diagnosed, rid):
    """AdamW at 0.03 (30x Adam's usual top) and SGD 0.3 at batch 4 (12x the top for that batch,
    seed 002): the per-step loss bounces 39-49% of its level and the val loss 11-16% between
    evaluations, under the 18% asked of a run whose LR is unknown; no finding at all before. At an
    LR >= 5x the usual range the val loss needs the epoch-level 8% only."""
    r = diagnosed[rid]
    m = r.measurements.get("oscillation", "train_loss")
    assert 0.08 <= m.values["val_bounce"] < 0.18
    assert _patterns(r) == {"oscillation"}
    assert _first_action(r) in TRUTH[rid]["expected_actions"]  # lower_lr, or an LR schedule


def test_step_bouncing_twice_the_noise_floor_needs_only_an_8_percent_val_bounce(diagnosed):
    """tensorboardX log of SGD 1.0 at batch 16 whose hparams carry the LR but not the optimizer
    (so no LR prior): the per-step loss bounces 47% of its level (2.6x the density's noise
    floor) and the val loss 17% between evaluations, under the 18% an unconfirmed per-step bounce
    needs; no finding before. Twice the floor is not minibatch noise; the val loss confirms."""
    r = diagnosed["oos2-0185-quantiles-sgd_small_batch_high"]
    assert r.curves.hparams.get("optimizer") is None
    m = r.measurements.get("oscillation", "train_loss")
    assert m.values["rel_amplitude"] >= 2 * m.values["noise_floor"] and 0.08 <= m.values["val_bounce"] < 0.18
    assert _patterns(r) == {"oscillation"}
    assert _first_action(r) in TRUTH["oos2-0185-quantiles-sgd_small_batch_high"]["expected_actions"]


def test_train_only_healthy_lstm_with_minibatch_noise_is_not_oscillation(diagnosed):
    """A healthy LSTM at Adam 3e-3 bounces as much per step (25%) as the run above; at 3x the
    usual LR the prior does not call it, and no false alarm is raised (was OSC002)."""
    assert diagnosed["0028-seq-healthy_lstm"].findings == []


def test_adamw_stuck_at_chance_is_a_plateau_not_oscillation(diagnosed):
    """AdamW at 3e-2 stuck at chance: the per-step loss bounces 9% around ln 3, the val loss 2%
    (was PLT001 + OSC001). The tensorboardX log holds no optimizer name, so no LR prior here."""
    r = diagnosed["0191-quantiles-adamw_high"]
    assert _patterns(r) == {"plateau"}


def test_slow_lstm_is_slow_convergence_not_a_plateau(diagnosed):
    """LSTM at Adam 1e-4: flat for the first quarter, then falling steadily to the end (12% of the
    start lost, still 19% of the drop per 10% of the run): slow, raise the LR (was PLT001)."""
    r = diagnosed["0014-seq-lstm_adam_slow"]
    assert _patterns(r) == {"slow_convergence"}
    assert _first_action(r) == "raise_lr"


def test_a_short_log_at_an_lr_far_below_the_usual_range_still_falling_is_slow(diagnosed):
    """HF trainer_state.json, logistic regression with SGD 3e-4 (1/700 of SGD's usual top), 40
    logged losses: still falling 14% of its drop per 10% of the run at the end, but on 10 points
    the Theil-Sen fall of the last quarter is not significant, so no finding at all. At an LR 30x
    or more below the usual range the prior supplies the evidence; the fall must still be material."""
    r = diagnosed["0050-blobs-logreg_sgd_slow"]
    m = r.measurements.get("slow_convergence", "train_loss")
    assert m.values["end_slope_rel"] >= 0.05
    assert _patterns(r) == {"slow_convergence"}
    assert _first_action(r) == "raise_lr"


@pytest.mark.parametrize("rid", ["s21-oos239-0037-blobs-logreg_sgd_slow", "s21-oos241-0114-blobs-logreg_sgd_slow"])
def test_a_noisy_step_log_at_an_lr_far_below_the_usual_range_is_far_from_done(diagnosed, rid):
    """Logistic regression at SGD 3e-4, batch 32, train-only per-step losses (TensorBoard): 1.97 -> 1.70
    under +-0.1 of minibatch noise while the full-batch loss falls steadily, 87-90% of the way back to the
    start from where LR 0.03 ends. The asymptote read off the noisy trend put it within 10% of its drop of
    done (remaining_rel < 0.15): no finding (0037), or a stall at an LR far too low (0114, PLT007). At an
    LR 30x or more below the usual range the run is far from done whatever that estimate says."""
    r = diagnosed[rid]
    m = r.measurements.get("slow_convergence", "train_loss")
    assert m.values["remaining_rel"] < 0.15 and m.values["end_slope_rel"] >= 0.05
    assert _patterns(r) == {"slow_convergence"}
    assert _first_action(r) == "raise_lr"


def test_still_improving_at_6x_the_usual_adam_lr_is_not_slow(diagnosed):
    """Adam at 6e-3 still improving at the end is not short of LR (was SLOW001 'raise the LR')."""
    assert diagnosed["0023-quantiles-healthy_adam"].findings == []


def test_a_bouncing_epoch_level_val_loss_is_not_overfitting(diagnosed):
    """Keras CSV, AdamW at 3e-2: the val loss bounces 16% of its level per epoch, so the mean of
    its last epochs sits 31% above its rolling minimum, a trough, but only 1.9 noise units above
    it (climbs of overfitting nets: >= 4.7). Was OVF001 + OSC002."""
    r = diagnosed["0200-quantiles-adamw_high"]
    assert _patterns(r) == {"oscillation"}


def test_a_val_loss_creeping_within_its_noise_is_not_overfitting(diagnosed):
    """A small-data net whose val loss ends 9% above its minimum, 2.7 noise units: healthy by the
    labeller's full-batch criteria (was OVF003, a false alarm)."""
    assert diagnosed["0149-wine-overfit_small_data"].findings == []


def test_no_progress_does_not_explain_away_a_slow_run_still_falling(diagnosed):
    """LSTM at Adam 1e-4 (oos2, seed 11): flat for 60% of the run, then still falling at the end,
    4.8% below its start. PLT004 ("ends where it started": within 5%) fired and explained the
    slow convergence away with plateau advice; a run that is still falling and has already lost
    >= 3% of its start (the labeller's line: a stall never falls 3%) is slow, raise the LR."""
    r = diagnosed["oos2-0168-seq-lstm_adam_slow"]
    assert r.measurements.get("stats", "train_loss").values["rel_drop"] >= 0.03
    assert _patterns(r) == {"slow_convergence"}
    assert _first_action(r) == "raise_lr"


def test_a_noisy_stall_at_chance_is_a_plateau(diagnosed):
    """SGD at LR 1.0, batch 8: stuck at ln 3 for the whole run, its per-step loss bouncing 10%, so
    no flat stretch reaches the end; the last quarter sits at the stall's level, which makes it
    a stall (no finding before, or OSC004 before 5b547d3)."""
    r = diagnosed["0114-quantiles-sgd_small_batch_high"]
    assert _patterns(r) == {"plateau"}
    assert _first_action(r) == "lower_lr"


def test_per_batch_accuracy_of_a_probe_that_never_learnt_is_no_collapse(real_logs):
    """Real Lightning probing log: per-batch accuracy (0.375 on the first batch of 32, then
    0.03-0.28) and a loss rising from 2.35 to ~3. The accuracy 'fell' 27 points from its first
    value, but the loss never fell below 90% of its start: not divergence after learning."""
    d = diagnose_paths([str(real_logs / "csv" / "lightning-csv-probing-v0")])
    (run,) = d.runs
    assert "divergence" not in _patterns(run)
    assert _patterns(run) == {"oscillation"}


@pytest.mark.parametrize("log", ["csv/yolov5-results-exp-modified", "tensorboard/yolov5-tb-exp-modified-valloss-rises"])
def test_a_val_loss_lowest_at_its_first_evaluation_while_map_improves_is_no_overfitting(real_logs, log):
    """YOLOv5 fork whose results.csv header lost a column (`metrics/F2` was written before the val
    losses): the column read as `val/box_loss` climbs 0.0126 (epoch 0) -> 0.83 while mAP@0.5 climbs
    0.002 -> 0.87. It was OVF001 "risen 3879% above its lowest level" with "its logged minimum
    0.0126 at epoch 0" in the same sentence (3879% was relative to the 3-point mean 0.0206, not to
    0.0126) and the best checkpoint at epoch 0. A val loss that never fell has no minimum to
    overfit past; with the metric improving throughout, the loss and the metric disagree."""
    d = diagnose_paths([str(real_logs / log)])
    (run,) = d.runs
    assert "overfitting" not in _patterns(run)
    inc = next(f for f in run.findings if f.rule == "INC001")
    assert inc.metric == "val/box_loss" and inc.recommendations[0].action == "check_metric"
    m = run.measurements.get("overfitting", "val_loss")
    val = run.curves.get("val_loss")
    assert m.values["never_fell"] and m.values["loss_metric_disagree"]
    # the climb in the log's own numbers: the last evaluations' mean over the logged minimum
    k = max(2, len(val.y) // 10)
    assert m.values["val_end"] == pytest.approx(float(val.y[-k:].mean()))
    assert m.values["rise_logged"] == pytest.approx(m.values["val_end"] / float(val.y.min()) - 1)


def test_a_val_accuracy_near_its_ceiling_gaining_one_sample_does_not_excuse_overfitting(diagnosed):
    """RMSprop 0.05 on 178 samples: the val loss is lowest at its first evaluation (0.38) and climbs
    to 1.05 while the training loss reaches 1e-5; the val accuracy goes 0.955 -> 0.977, one sample
    of 44, which is half the way to perfect. Only a gain of >= 25 points of the scale (YOLO's mAP
    0.002 -> 0.87) makes a never-falling loss a disagreement with the metric; this is overfitting."""
    r = diagnosed["oos3-0199-wine-rmsprop_lr0.05"]
    m = r.measurements.get("overfitting", "val_loss")
    assert m.values["never_fell"] and not m.values["loss_metric_disagree"]
    assert "overfitting" in _patterns(r)


def test_an_overfitting_summary_states_the_climb_from_the_minimum_it_names(real_logs):
    """The summary names the logged minimum (0.785 at epoch 20) and must state the climb from that
    number, in the log's values: the last evaluations average 1.53, 95% above it (it said "90%",
    measured from a 3-point mean of 0.807 at epoch 14 it did not name)."""
    d = diagnose_paths([str(real_logs / "wandb" / "wandb-binary-cifar-overfit")])
    (run,) = d.runs
    f = next(f for f in run.findings if f.rule == "OVF001")
    val = run.curves.get("val_loss")
    lo = float(val.y.min())
    end = float(val.y[-max(2, len(val.y) // 10):].mean())
    assert f"{lo:.3g} at epoch {int(val.x[val.y.argmin()])}" in f.summary
    assert f"average {end:.3g}, {end / lo - 1:.0%} above it" in f.summary


def test_four_epochs_of_a_reshuffled_run_are_too_few_to_call_epoch_jumps(diagnosed):
    """A healthy RMSprop run logged by the HF Trainer (400 steps, 94 an epoch, reshuffled every
    epoch) had OSC003 "data not shuffled?": the largest step of the folded profile (bin 7 of 19,
    mid-epoch, ratio 4.3) went the same way in all 4 epochs. The bin is the argmax of 19, so
    4 agreeing signs are what chance gives one time in eight per candidate: the jump must now show
    in at least 5 epochs."""
    report = diagnosed["blind101-0144-blobs-healthy_rmsprop"]
    assert "OSC003" not in {f.rule for f in report.findings}
    assert _patterns(report) & CORE == set()
