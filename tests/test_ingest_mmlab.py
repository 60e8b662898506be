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


def _truth(folder: Path, name: str = "truth.txt") -> tuple[list[tuple[int, float]], dict[str, list[tuple[int, float]]]]:
    """truth.txt: `train <iteration> <loss>` and `val <iteration> <metric> <value>` lines."""
    train, val = [], {}
    for line in (folder / name).read_text().splitlines():
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


VARIANTS = MMLAB / "variants"


def _runs(path: Path) -> list:
    runs, errors = read_runs([str(path)])
    assert not errors, errors
    return sorted(runs, key=lambda r: r.name)


def _points(series) -> list[tuple[int, float]]:
    return list(zip(series.step.tolist(), series.value.tolist()))


def _same(points: list[tuple[int, float]], truth: list[tuple[int, float]]) -> bool:
    """The same steps, and values equal to the digits the logs keep (MMCV rounds to 5)."""
    return [s for s, _ in points] == [s for s, _ in truth] and np.allclose([v for _, v in points],
                                                                         [v for _, v in truth], rtol=1e-4)


@pytest.mark.parametrize("case, loss_tag", [
    ("e-hier", "train/loss"),            # log_with_hierarchy: `train/loss`, `val/accuracy/top1`, `val/time`
    ("e-iter-epochmetric", "loss"),  # an iteration loop left at log_metric_by_epoch: validation at step 0
    ("e-valfirst-test", "loss"),     # runner.val() before train(): the first row a validation at step 0
    ("e-tb", "loss"),                # TensorboardVisBackend only: the text log, the event file its side
])
def test_mmengine_variants_a_review_found(case, loss_tag):
    """Real MMEngine 0.10.7 runs a review made to break the reader (variants/, engine_variants.py): each is
    one run with every point at the iteration its hook recorded. Before the mends: log_with_hierarchy's
    and a validate-first log's scalars.json went to the generic reader (its first key unknown) with the
    accuracy at steps 1..N, and `val/time` read as a metric; an iteration loop's validations all sat at
    step 0; a TensorBoard-only launch was a second run with the accuracy as a training metric."""
    (run,) = _runs(VARIANTS / case)
    train, val = _truth(VARIANTS / case)
    assert run.format == "mmlab" and np.allclose(run.series[loss_tag].value, [v for _, v in train], rtol=1e-4)
    assert run.series[loss_tag].step.tolist() == [s for s, _ in train]
    for metric, points in val.items():
        tag = metric if metric.startswith("val/") else "val/" + metric
        assert run.series[tag].step.tolist() == [s for s, _ in points], metric
    assert not [t for t in run.series if t.split("/")[-1] in ("time", "data_time")]
    _, roles = build_curves(run)
    assert roles["train_loss"] == loss_tag and roles["val_acc"].endswith("accuracy/top1")


def test_a_fresh_training_in_a_resumed_work_dir_is_a_run_of_its_own():
    """e-resume2: a training crashed and resumed twice (three launch folders), then an unrelated training
    from scratch in the same work dir, logging every 10 iterations instead of 5. The resumed launches
    join (restarts at 43 and 81); the fresh one, whose first row is one logging interval in, is its own
    run with its own config. Before, it joined as a resume and cut the first training at step 10."""
    chained, fresh = _runs(VARIANTS / "e-resume2")
    train, _ = _truth(VARIANTS / "e-resume2")
    train2, _ = _truth(VARIANTS / "e-resume2", "truth2.txt")
    assert _same(_points(chained.series["loss"]), train)
    assert [e["step"] for e in chained.events if e["kind"] == "restart"] == [43, 81]
    assert _same(_points(fresh.series["loss"]), train2)
    assert chained.hparams["max_epochs"] != fresh.hparams["max_epochs"]


def test_an_mmcv_log_under_the_scripts_own_logger_and_its_validation_losses(tmp_path):
    """c-workflow-val: MMCV 1.7.2 with workflow [('train', 1), ('val', 1)] (the runner's own val epochs log
    `val/loss` and `val/acc`), an EvalHook's accuracy, grad clipping (`grad_norm`), and the logger named
    `myproj`: the JSON and the text log alone both read every point at its iteration. Before, the text log
    was left to the console reader (a logger not named mm*) and read no validation."""
    folder = VARIANTS / "c-workflow-val"
    train, val = _truth(folder)
    (run,) = _runs(folder)
    assert _same(_points(run.series["loss"]), train) and "grad_norm" in run.series
    text_only = tmp_path / "text"
    text_only.mkdir()
    shutil.copy(next(folder.glob("*.log")), text_only)
    (text_run,) = _runs(text_only)
    for read in (run, text_run):
        for metric, points in val.items():
            assert _same(_points(read.series[f"val/{metric}"]), points), metric


def test_an_mmcv_text_log_alone_keeps_a_loss_printed_with_36_digits(tmp_path):
    """c-nan-textonly: SGD at 5.0 blows the loss up to 1e35 before NaN; `.4f` prints it with 36 digits
    before the point. Every point is read (before: the long ones were dropped without a word)."""
    folder = VARIANTS / "c-nan-textonly"
    train, _ = _truth(folder, "truth.src")
    (run,) = _runs(folder)
    loss = run.series["loss"]
    assert loss.step.tolist() == [s for s, _ in train]
    finite = [(s, v) for s, v in train if np.isfinite(v)]
    assert dict(_points(loss))[finite[-1][0]] == pytest.approx(finite[-1][1], rel=1e-3) and finite[-1][1] > 1e30


def test_an_mmcv_json_log_without_its_text_log_says_the_epoch_length_is_a_guess(tmp_path):
    """MMCV's JSON rows count iterations within the epoch and never state its length; its text log does
    (`Epoch [1][15/19]`). Alone, the largest iteration logged (15 of 19) is used, with a warning."""
    json_log = next((VARIANTS / "c-workflow-val").glob("*.log.json"))
    shutil.copy(json_log, tmp_path / json_log.name)
    (run,) = _runs(tmp_path)
    assert any("taken as the largest iteration logged, 15" in w for w in run.warnings)
    (run,) = _runs(json_log)  # given as a file: the text log beside it is used
    assert not run.warnings and run.series["val/accuracy_top-1"].step.tolist()[:2] == [19, 38]


def test_mmengines_config_py_gives_the_hyperparameters_without_the_text_log(tmp_path):
    """vis_data/config.py is read (it was skipped by discovery as source code), parsed as literals."""
    launch = MMLAB / "mmengine-epoch" / "20261206_175311"
    shutil.copytree(launch / "vis_data", tmp_path / "20261206_175311" / "vis_data")
    (run,) = _runs(tmp_path)
    assert run.hparams == {"lr": 0.05, "momentum": 0.9, "optimizer": "SGD", "batch_size": 32, "max_epochs": 12}
