"""DVCLive folders (advisor/ingest/dvclive.py): one run per Live folder, its metrics tagged with their
split, its params.yaml as hyperparameters, and the same diagnosis as the training logged elsewhere.

tests/data/formats/dvclive/ holds three recorded runs of tests/data/oos written again by the real
`dvclive.Live` 3.49 (bench/format_invariance.py's `dvclive_live`; tests/data/formats/README.md): two
with its HF callback's names (`train/loss`, `eval/loss`, `train/learning_rate`, ...), one with its
Keras callback's (`loss`, `val_loss`, ...). Before this reader each metric file was a run of its
own and `eval/loss.tsv`'s `loss` column a training loss.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from advisor.ingest.discover import discover
from advisor.pipeline import diagnose_paths, read_runs
from advisor.roles import build_curves

DATA = Path(__file__).resolve().parent / "data"
DVCLIVE = DATA / "formats" / "dvclive"
RUNS = sorted(p.name for p in DVCLIVE.iterdir() if p.is_dir())


def _verdict(path: Path) -> tuple[set[str], str | None]:
    (run,) = diagnose_paths([str(path)]).runs
    first = run.findings[0].recommendations[0].action if run.findings and run.findings[0].recommendations else None
    return {f.pattern for f in run.findings}, first


@pytest.mark.parametrize("name", RUNS)
def test_a_live_folder_is_one_run_with_its_splits_and_params(name):
    runs, errors = read_runs([str(DVCLIVE / name)])
    assert not errors and len(runs) == 1
    run = runs[0]
    assert run.format == "dvclive" and run.writer == "dvclive" and not run.warnings
    curves, roles = build_curves(run)[:2]
    assert {"train_loss", "val_loss", "train_acc", "val_acc", "lr"} <= set(curves.by_role)
    assert curves.get("val_loss").tag in ("eval/loss", "val_loss")  # the split is in the tag, not lost
    params = (DVCLIVE / name / "dvclive" / "params.yaml").read_text()
    assert f"lr: {run.hparams['lr']}" in params and f"optimizer: {run.hparams['optimizer']}" in params
    # every row of every metric file is a point
    rows = sum(len(p.read_text().splitlines()) - 1 for p in (DVCLIVE / name).rglob("*.tsv"))
    assert run.points == rows


@pytest.mark.parametrize("name", RUNS)
def test_the_diagnosis_is_the_one_the_original_log_gets(name):
    """The same training, logged by DVCLive and by its original writer (tests/data/oos), gets the same
    patterns and the same first action (oscillation -> lower the LR, slow convergence -> raise it,
    overfitting -> regularise)."""
    truth = json.loads((DATA / "oos" / "truth.json").read_text())["runs"][name]
    assert _verdict(DVCLIVE / name) == _verdict(DATA / "oos" / truth["path"])
    assert set(truth["patterns"]) <= _verdict(DVCLIVE / name)[0]


def test_dvclive_2_timestamps_in_milliseconds_become_seconds(tmp_path):
    """dvclive < 3 wrote `timestamp` (ms since the epoch), `step` and the value (its Metric.dump)."""
    metrics = tmp_path / "logs" / "plots" / "metrics"
    (metrics / "train").mkdir(parents=True)
    (metrics / "train" / "loss.tsv").write_text(
        "timestamp\tstep\tloss\n" + "".join(f"{1700000000000 + 1000 * i}\t{i}\t{1.0 / (i + 1)}\n" for i in range(12)))
    (run,) = read_runs([str(tmp_path)])[0]
    s = run.series["train/loss"]
    assert s.wall_time[0] == pytest.approx(1.7e9) and np.all(np.diff(s.wall_time) == pytest.approx(1.0))
    assert list(s.step) == list(range(12))


def test_a_damaged_table_keeps_its_rows_and_names_the_file(tmp_path):
    metrics = tmp_path / "dvclive" / "plots" / "metrics"
    (metrics / "eval").mkdir(parents=True)
    (metrics / "eval" / "loss.tsv").write_text("step\tloss\n0\t1.0\n1\tgarbage\n2\t0.8\n3\t0.7\n")
    (metrics / "lr.tsv").write_bytes(b"")  # killed before its first row
    (run,) = read_runs([str(tmp_path)])[0]
    assert list(run.series["eval/loss"].step) == [0, 2, 3]
    assert any("eval/loss.tsv" in w and "non-numeric" in w for w in run.warnings)
    assert any("lr.tsv" in w and "empty" in w for w in run.warnings)


def test_one_table_given_is_a_run_of_that_metric(tmp_path):
    metrics = tmp_path / "dvclive" / "plots" / "metrics" / "eval"
    metrics.mkdir(parents=True)
    (metrics / "loss.tsv").write_text("step\tloss\n" + "".join(f"{i}\t{1.0 / (i + 1)}\n" for i in range(10)))
    (source,) = discover([str(metrics / "loss.tsv")])[0]
    assert source.format == "dvclive" and source.name.endswith("loss.tsv")
    (run,) = read_runs([str(metrics / "loss.tsv")])[0]
    assert list(run.series) == ["eval/loss"]


def test_fastais_metrics_through_dvclive_are_the_validation_sets():
    """A public fastai demo's dvclive/ folder (ankxyz/fastai-with-dvclive-demo, as committed): dvclive.fastai's
    callback logs `train/loss`, `eval/loss` and the learner's metrics under their bare names (`accuracy`,
    `error_rate`), which fastai computes on the validation set, and its params (`batch_per_epoch`, `frozen_idx`,
    ...). Before, `accuracy` was the train accuracy."""
    (run,), errors = read_runs([str(DATA / "formats" / "dvclive-fastai" / "dvclive")])
    assert not errors and run.writer == "fastai"
    roles = build_curves(run)[1]
    assert roles["val_acc"] == "accuracy" and "train_acc" not in roles
    assert roles["train_loss"] == "train/loss" and roles["val_loss"] == "eval/loss"
