"""Oscillation calls on recorded trainings of the second generator (bench/make_corpus_gen2.py),
session 11. Each run below was misread by main 97fc05f; each test names the practitioner's evidence
that now reads it right. Labels come from the full-batch training loss the generator evaluates and
never writes (bench.make_corpus_oos.judge); the runs are copied under
tests/data/oos/g2osc11-s<seed>-<id>-<task>-<drawn config> (the drawn config is not the label).
"""
from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from advisor.pipeline import diagnose_paths
from advisor.priors import lr_over_usual, lr_over_usual_for_batch
from advisor.signals.oscillation import floor_points

from recorded import OOS
from recorded import core_patterns as _patterns
from recorded import diagnose_recorded as _diagnose
from recorded import first_action, measurement


@pytest.mark.parametrize("momentum, ratio", [(0.99, 10.0), (0.95, 2.0), (0.9, 1.0), (0.5, 1.0), (None, 1.0)])
def test_sgd_momentum_above_the_usual_is_judged_by_its_effective_step(momentum, ratio):
    """SGD's effective step is lr / (1 - momentum): momentum 0.99 at LR 0.1 takes the steps of
    momentum 0.9 at LR 1.0. A momentum under 0.9 is left at the family's usual top (lowering the
    prior there cost three labelled oscillations at momentum 0.5 on gen2)."""
    hp = {"optimizer": "sgd", "lr": 0.1, "momentum": momentum, "batch_size": 64}
    if momentum is None:
        hp = {"optimizer": "sgd_momentum", "lr": 0.1, "batch_size": 64}
    assert lr_over_usual(hp) == pytest.approx(ratio)
    assert lr_over_usual_for_batch({**hp, "batch_size": 16}) == pytest.approx(2 * ratio)
    # Adam's momentum-like betas are not SGD momentum
    assert lr_over_usual({"optimizer": "adam", "lr": 1e-3, "momentum": 0.99}) == pytest.approx(1.0)


def test_nesterov_momentum_099_at_lr_01_is_far_too_high():
    """tensorboardX, SGD 0.1 with Nesterov momentum 0.99 at batch 128, 30 epochs: the train loss fell
    to 1.9% of its start and bounces against 5% of its start (rel. 25%, 3/4 of the floor needs 3.75%),
    the val loss moves as an oscillating loss does. At momentum 0.9 LR 0.1 is the usual top; at 0.99
    its effective step is 10x that (prior 10, the far-LR test asks 5): was overfitting only, early
    stopping first; labelled oscillation + overfitting, lower the LR first."""
    r = _diagnose("g2osc11-s9-0151-cancer-momentum_0.99_blowup")
    assert {"oscillation", "overfitting"} <= _patterns(r)
    assert first_action(r) == "lower_lr"
    v = measurement(r, "oscillation", "train_loss").values
    assert v["level_rel_start"] < 0.05 and v["val_moves"] is True


def test_late_oscillation_starts_after_the_fast_drop_not_at_the_first_epoch():
    """Keras training.log, NAdam 0.02 (10x) on a Friedman regression, 40 epochs: the loss falls
    fast, then bounces (OSC002). The finding said "dropped fast, then stayed flat and noisy from epoch
    0": the rolling amplitude of the drop itself reads high against the falling level. The bouncing
    now starts no earlier than where the trend has made 70% of its drop (epoch 8)."""
    r = _diagnose("g2osc11-s4-0072-friedman-nadam_high")
    f = next(f for f in r.findings if f.rule == "OSC002")
    assert f.start_step >= 5
    assert "from epoch 0 " not in f.summary
    v = measurement(r, "oscillation", "train_loss").values
    assert v["late_only"] is True


def test_a_log_whose_cadence_changes_mid_run_keeps_the_dense_logs_noise_floor(tmp_path):
    """A per-step CSV (gen2 s15 0234, a healthy NAdam run, 300 iterations) rewritten as a loop that
    logs every step for the first fifth and every third step after: the points are the same
    single-minibatch losses, fewer of them. The noise floor was read at the point count (140: 13.7%
    instead of 18%) and the run was called oscillating; it is now read at the count the curve's
    denser spacing gives (`floor_points`), the same as the dense log's."""
    src = OOS / "g2osc11-s15-0234-classif-healthy_nadam" / "log.csv"
    lines = src.read_text().splitlines()
    head, rows = lines[0], lines[1:]
    kept = [row for i, row in enumerate(rows) if i < 60 or (i - 60) % 3 == 0]
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "log.csv").write_text("\n".join([head, *kept]) + "\n")
    dense = measurement(_diagnose("g2osc11-s15-0234-classif-healthy_nadam"), "oscillation", "train_loss").values
    d = diagnose_paths([str(tmp_path / "run")])
    thinned = measurement(d.runs[0], "oscillation", "train_loss").values
    assert len(kept) < 150
    assert thinned["noise_floor"] == pytest.approx(dense["noise_floor"], rel=0.01)  # (299 points: 17.96%)
    assert floor_points(np.arange(1, 61).tolist() + list(range(63, 301, 3))) == 300
    assert floor_points(np.arange(0, 300, 3)) == 100  # a uniform cadence keeps its count


def test_a_loss_logged_as_the_mean_since_the_epoch_began_is_read_as_its_per_step_losses(tmp_path):
    """A JSONL loop (gen2 s4 0079: SGD 0.5 at batch 8 on moons, 500 steps, labelled oscillation) whose
    per-step loss is logged instead as the mean since the epoch began, as Keras' batch logs do (here
    epochs of 50 steps). The saw-tooth hid the bouncing (the mean moves less and less through each
    epoch): no finding. Its moves early in each epoch are >= 3x those late in it, so the curve is read
    as the per-step losses that make it (`epoch_cumulative`: k*y_k - (k-1)*y_(k-1)), which are the
    dense log's exactly: the same residual amplitude (4.5x the noise floor) and the same call."""
    name = "g2osc11-s4-0079-moons-sgd_small_batch_high"
    dense = _diagnose(name)
    assert "oscillation" in _patterns(dense)
    rows = [json.loads(line) for line in (OOS / name / "metrics.jsonl").read_text().splitlines() if line.strip()]
    total, count = {}, {}
    for row in rows:
        if "loss" in row:
            epoch = (row["step"] - 1) // 50
            total[epoch] = total.get(epoch, 0.0) + row["loss"]
            count[epoch] = count.get(epoch, 0) + 1
            row["loss"] = total[epoch] / count[epoch]
    run = tmp_path / "run"
    run.mkdir()
    shutil.copy(OOS / name / "config.json", run / "config.json")
    (run / "metrics.jsonl").write_text("".join(json.dumps(row) + "\n" for row in rows))
    r = diagnose_paths([str(run)]).runs[0]
    assert "oscillation" in _patterns(r)
    assert first_action(r) == first_action(dense) == "lower_lr"
    v = measurement(r, "oscillation", "train_loss").values
    assert v["epoch_cumulative"] is True
    assert v["rel_amplitude"] == pytest.approx(measurement(dense, "oscillation", "train_loss").values["rel_amplitude"], rel=1e-3)
