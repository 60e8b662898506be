"""Verdicts on real public logs that a practitioner audit (session 21) found wrong, other than divergence
(tests/test_divergence_real_probes.py)."""
from __future__ import annotations

from pathlib import Path

from advisor.pipeline import diagnose_paths

FORMATS = Path(__file__).parent / "data" / "formats"


def test_a_val_loss_that_ends_at_its_lowest_is_not_overfitting():
    """Keras TensorBoard, 5 epochs: val loss 12.6, 2.25, 0.41, 2.68, 0.0265 beside a training loss falling
    0.150 -> 0.027, val accuracy 0.50 -> 0.99. Its last evaluation is its best, yet the mean of the last two
    (1.35) read as 'at the end the validation loss is 50.5x the training loss: the model memorises the
    training set' (OVF002), with 'keep the checkpoint at the validation minimum' pointing at the last epoch."""
    (report,) = diagnose_paths([str(FORMATS / "keras-val-ends-at-best" / "logs")]).runs
    assert report.metrics["val_loss"] == "validation/epoch_loss"
    m = report.measurements.get("overfitting", "val_loss")
    assert m.values["rise_rel"] <= 0
    assert not [f for f in report.findings if f.pattern == "overfitting"]


def test_a_linear_warmup_from_zero_is_no_lr_range_test_and_prints_no_numpy_warning():
    """MAE pretraining, torch SummaryWriter: its LR rises linearly from exactly 0 to 1.5e-5 (0, 1.0e-7,
    2.0e-7 ...) over all 151 logged points: a warmup, not a sweep. 150x from its first positive value, it
    read as 'an LR range test, suggested LR 1.22e-5' (LRT001), and numpy printed ten RuntimeWarnings
    (division by the zero LR, slopes over repeated steps) above the report."""
    import warnings

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        (report,) = diagnose_paths([str(FORMATS / "mae-warmup-from-zero")]).runs
    assert not [w for w in caught if issubclass(w.category, RuntimeWarning)]
    m = report.measurements.get("lr_range_test", "train_loss")
    assert m is not None and m.values["is_range_test"] is False
    assert not [f for f in report.findings if f.rule == "LRT001"]


def test_a_self_play_win_loss_reward_with_no_trend_is_no_policy_collapse(tmp_path):
    """A PPO self-play log's reward is each game's outcome, -1, 0 or +1 (5,436 games), its means by tenth of
    the run -0.05 to +0.07 in no order. Running medians of three outcomes flip between them on noise: it read
    'episode_reward rose from -1 to a trend peak of 1 at step 394, then fell back to -1: the policy
    collapsed' (RL002). Read by its means (the win rate) against their standard errors, it is no collapse."""
    import json

    doc = json.loads((FORMATS / "selfplay-outcomes" / "episode_reward.json").read_text())
    value = {"-": -1, "0": 0, "+": 1}
    step = doc["first_step"]
    lines = ["step,episode_reward"]
    for i, outcome in enumerate(doc["outcomes"]):
        if i:
            step += ord(doc["step_gaps"][i - 1]) - 48
        lines.append(f"{step},{value[outcome]}")
    log = tmp_path / "progress.csv"
    log.write_text("\n".join(lines) + "\n")
    (report,) = diagnose_paths([str(log)]).runs
    assert report.metrics.get("reward") == "episode_reward"
    m = report.measurements.get("rl", "reward")
    assert m is not None and m.values["collapsed"] is False
    assert not [f for f in report.findings if f.rule == "RL002"]


def test_a_flat_val_accuracy_beside_a_training_accuracy_that_learned_asks_for_the_data_first():
    """Keras TensorBoard, 5 epochs on two classes: training accuracy 0.95 -> 0.97, val accuracy 0.41-0.49,
    the val loss falling 191 -> 1.02. ACC001 (the loss falls, the accuracy does not) put 'raise the LR' first:
    the net learns its training set, the validation data do not follow; check the data first."""
    (report,) = diagnose_paths([str(FORMATS / "keras-train-learns-val-flat" / "logs")]).runs
    acc = [f for f in report.findings if f.rule == "ACC001"]
    assert acc and acc[0].metric == "validation/epoch_accuracy"
    assert acc[0].recommendations[0].action == "check_data"
    assert report.measurements.get("metric_stall", "val_acc").values["train_learned"] is True
