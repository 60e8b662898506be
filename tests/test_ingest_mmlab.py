"""OpenMMLab's logs (advisor/ingest/mmlab.py), on seven real trainings written by MMEngine 0.10.7's and MMCV
1.7.2's own runners, hooks and loggers (tests/data/formats/mmlab, mm_fit.py there). Beside each run, truth.txt
holds what a hook recorded while it trained: the global iteration of every logged loss and validation.
Damaged and hostile inputs are in test_ingest_mmlab_hostile.py."""
from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from advisor.pipeline import diagnose_paths, read_runs
from advisor.roles import build_curves

MMLAB = Path(__file__).resolve().parent / "data" / "formats" / "mmlab"
RUNS = ["mmengine-epoch", "mmengine-epoch-val3", "mmengine-iter", "mmengine-epoch-resume", "mmcv-epoch",
        "mmcv-iter", "mmcv-epoch-highlr"]


def _truth(folder: Path) -> tuple[list[tuple[int, float]], dict[str, list[tuple[int, float]]]]:
    train, val = [], {}
    for line in (folder / "truth.txt").read_text().splitlines():
        parts = line.split()
        if parts[0] == "train":
            train.append((int(parts[1]), float(parts[2])))
        else:
            val.setdefault(parts[2], []).append((int(parts[1]), float(parts[3])))
    return train, val


def _one(path: Path):
    runs, errors = read_runs([str(path)])
    assert not errors and len(runs) == 1, (errors, [r.name for r in runs])
    return runs[0]


def _assert_at_truth(run, folder: Path, rtol: float) -> None:
    train, val = _truth(folder)
    loss = run.series["loss"]
    assert loss.step.tolist() == [s for s, _ in train]
    assert np.allclose(loss.value, [v for _, v in train], rtol=rtol, atol=1e-4)
    for metric, points in val.items():
        series = run.series[f"val/{metric}"]
        assert series.step.tolist() == [s for s, _ in points], metric
        assert np.allclose(series.value, [v for _, v in points], rtol=rtol), metric


@pytest.mark.parametrize("name", RUNS)
def test_every_point_sits_at_the_iteration_it_was_logged_at(name):
    """Training rows at their global iteration (MMCV counts within the epoch: (e-1) x 19 + i), and each
    validation at the iteration it ran after: MMEngine's `step` = epoch becomes the epoch's end (19, 38,
    ...; every 3rd epoch: 57, 114, ...), MMCV's `iter` (the validation loader's 7 batches) is no step.
    Before, MMEngine's accuracy sat at steps 1..12 beside a loss at 5..224, named as a training metric,
    and MMCV's .log.json was not read at all."""
    folder = MMLAB / name
    run = _one(folder)
    assert run.format == "mmlab" and run.writer == ("mmcv" if name.startswith("mmcv") else "mmengine")
    _assert_at_truth(run, folder, rtol=1e-4)
    _, roles = build_curves(run)
    assert roles["train_loss"] == "loss"
    assert roles["val_acc"] == ("val/accuracy_top-1" if name.startswith("mmcv") else "val/accuracy/top1")
    assert not run.warnings


@pytest.mark.parametrize("name", RUNS)
def test_the_text_log_alone_reads_as_the_json_log(tmp_path, name):
    """When only the terminal's log is kept (`<ts>.log`: `Epoch(train)  [1][15/19]  lr: ..  loss: ..`,
    `Epoch [1][15/19]\\tlr: .., loss: ..`, `Iter(val) [7/7]  accuracy/top1: ..`), it reads to the same
    points, to the digits it prints (MMEngine's resume: each launch's text log is its own run)."""
    logs = sorted((MMLAB / name).rglob("*.log"))
    train, val = _truth(MMLAB / name)
    steps: list[int] = []
    for log in logs:
        shutil.copy(log, tmp_path / log.name)
        run = _one(tmp_path / log.name)
        assert run.writer == ("mmcv" if name.startswith("mmcv") else "mmengine")
        steps += run.series["loss"].step.tolist()
        for metric, points in val.items():
            assert set(run.series[f"val/{metric}"].step.tolist()) <= {s for s, _ in points}
    assert steps == [s for s, _ in train]
    if len(logs) == 1:
        _assert_at_truth(run, MMLAB / name, rtol=2e-3)


def test_an_mmengine_work_dir_is_one_run_per_training_and_a_resume_joins_it(tmp_path):
    """A launch folder's scalars.json, its byte-identical `<ts>.json`, config.py and text log are one run;
    a launch resumed from a checkpoint (epoch 5, iteration 81) continues the one before it, with a
    restart event; a second training started from scratch in the same work dir is a run of its own."""
    runs, _ = read_runs([str(MMLAB / "mmengine-epoch-resume")])
    assert len(runs) == 1
    run = runs[0]
    assert [e["step"] for e in run.events if e["kind"] == "restart"] == [81]
    assert run.hparams["max_epochs"] == 8
    shutil.copytree(MMLAB / "mmengine-epoch-resume", tmp_path / "work")
    shutil.copytree(MMLAB / "mmengine-epoch" / "20261206_175311", tmp_path / "work" / "20261206_180000")
    runs, _ = read_runs([str(tmp_path / "work")])
    assert sorted(len(r.series["loss"]) for r in runs) == [24, 36]


def test_a_launchs_tensorboard_file_beside_its_scalars_is_no_second_run(tmp_path):
    """MMEngine's TensorboardVisBackend writes the same scalars (validation at step = epoch) into
    vis_data/ beside LocalVisBackend's scalars.json: the JSON is read, the event file is its side file."""
    launch = tmp_path / "20261206_175311"
    shutil.copytree(MMLAB / "mmengine-epoch" / "20261206_175311", launch)
    event = next((Path(__file__).resolve().parents[1] / "fixtures").rglob("events.out.tfevents.*"))
    shutil.copy(event, launch / "vis_data" / event.name)
    run = _one(tmp_path)
    assert run.format == "mmlab" and len(run.series["loss"]) == 36


def test_the_config_gives_the_runs_hyperparameters():
    """vis_data/config.py (MMEngine), else the config the text log prints, and the MMCV log's first line:
    the optimizer, LR, momentum, batch size and schedule length the rules use, read without running it."""
    assert _one(MMLAB / "mmengine-iter").hparams == {"lr": 0.05, "momentum": 0.9, "optimizer": "SGD", "batch_size": 32,
                                                     "max_steps": 240}
    assert _one(MMLAB / "mmcv-epoch-highlr").hparams == {"lr": 0.5, "momentum": 0.9, "optimizer": "SGD"}
    text_only = _one(next((MMLAB / "mmengine-epoch-val3").rglob("*.log")))
    assert text_only.hparams == {"lr": 0.15, "momentum": 0.9, "optimizer": "SGD", "batch_size": 32, "max_epochs": 15}


def test_the_diagnosis_of_real_mmlab_runs():
    """SGD at 0.15-0.5 on this net blows the loss up (x70, x1e24): divergence, lower the LR first; the
    trainings at 0.05 and the resumed one (read whole, no plateau of its second launch alone) have no
    finding. (mmcv-iter is left out: its loss falls in its first 20 iterations, inside the first
    logging intervals, then sits at the noise floor; a stall there is a reading, not a fact.)"""
    def verdict(name):
        diagnosis = diagnose_paths([str(MMLAB / name)])
        findings = [f for r in diagnosis.runs for f in r.findings]
        return {f.pattern for f in findings}, (findings[0].recommendations[0].action if findings else None)

    for name in ("mmengine-epoch-val3", "mmcv-epoch-highlr"):
        patterns, first = verdict(name)
        assert "divergence" in patterns and first == "lower_lr", name
    for name in ("mmengine-epoch", "mmengine-iter", "mmengine-epoch-resume", "mmcv-epoch"):
        assert verdict(name) == (set(), None), name
