"""MLflow ingest: corpus stores, client-written fixtures (file store + SQLite), line formats.

Two manifest numbers count more than the MLflow run holds, and the tests say how:
- `mlflow/keras-autolog-swahili-ctc`: 2 series / 20 points = MLflow `metrics/loss` (10) plus
  the TensorBoard `epoch_loss` (10) in the run's artifacts. The artifacts are the TensorBoard
  module's run; the MLflow run has the other half.
- `mlflow/ultralytics-v8-adamtest`: 17 / 93, but the store holds 13 metric files with 69 lines
  (`find metrics -type f | wc -l`; `cat` them `| wc -l`). The 4 files under the folder
  `metrics/metrics/` (keys `metrics/mAP50B`, ...) with 6 lines each were counted twice: 13 + 4 =
  17 series and 69 + 24 = 93 points. The test counts the lines on disk.
"""
from __future__ import annotations

import math
import sqlite3

import numpy as np

from advisor.ingest import mlflow
from advisor.ingest.discover import discover, walk
from conftest import FIXTURES


def metric_files_on_disk(store):
    files = [p for p in store.glob("*/*/metrics/**/*") if p.is_file()]  # <exp>/<run>/metrics/...
    lines = sum(len([ln for ln in p.read_text().splitlines() if ln.strip()]) for p in files)
    return len(files), lines


def test_real_ultralytics_store_under_another_folder_name(real_logs):
    folder = real_logs / "mlflow/ultralytics-v8-adamtest"
    sources, problems = discover([folder])
    assert [s.format for s in sources] == ["mlflow"] and problems == []
    run = mlflow.read(sources[0])
    files, lines = metric_files_on_disk(folder / "runs/mlflow")
    assert (len(run.series), run.points) == (files, lines) == (13, 69)
    assert run.series["metrics/mAP50B"].step.tolist() == [0, 1, 2, 3, 4, 4]  # final re-validation
    assert run.meta["run_name"] == "adamtest" and run.meta["status"] == "FINISHED"
    assert run.hparams["epochs"] == 5 and run.hparams["optimizer"] == "Adam"
    steps = np.concatenate([s.step for s in run.series.values()])
    assert [steps.min(), steps.max()] == [0, 4]
    assert run.series["train/box_loss"].wall_time[0] == 1707675171.328


def test_real_keras_autolog_leaves_tensorboard_artifacts(real_logs):
    folder = real_logs / "mlflow/keras-autolog-swahili-ctc"
    tree = walk(folder)
    (source,) = mlflow.claim(tree)
    left = tree.unclaimed()
    assert left and all("artifacts" in p.parts and "tfevents" in p.name for p in left)
    run = mlflow.read(source)
    assert list(run.series) == ["loss"] and len(run.series["loss"]) == 10
    assert run.writer == "mlflow-autolog-tensorflow" and run.hparams["epochs"] == 10


def test_real_keras_autolog_with_tensorboard_module(real_logs):
    """The manifest's 2 series / 20 points: MLflow's loss plus the artifacts' TensorBoard run."""
    from advisor.ingest import read

    sources, _ = discover([real_logs / "mlflow/keras-autolog-swahili-ctc"])
    formats = sorted(s.format for s in sources)
    assert formats == ["mlflow", "tensorboard"]
    runs = [read(s) for s in sources]
    assert sum(len(r.series) for r in runs) == 2 and sum(r.points for r in runs) == 20


# ----------------------------------------------------------------------------- fixtures


def fixture_runs(where):
    tree = walk(FIXTURES / "mlflow" / where)
    sources = mlflow.claim(tree)
    assert tree.unclaimed() == []
    return {mlflow.read(s).meta["run_name"]: mlflow.read(s) for s in sources}


def check_nan_inf_run(run):
    loss = run.series["train/loss"]
    assert loss.step.tolist() == [0, 1, 2, 3, 4, 5]
    assert math.isnan(loss.value[2]) and loss.value[4] == math.inf
    assert sorted(run.series["val/loss"].value.tolist()) == [-math.inf, 1.3]  # two values at one step
    assert run.hparams == {"lr": 0.1, "batch_size": 32, "optimizer": "sgd"}
    assert run.meta["status"] == "FINISHED" and loss.wall_time[0] > 1e9


def test_file_store_fixture():
    runs = fixture_runs("store")
    assert set(runs) == {"nan-inf-run", "params-only"}  # the deleted run is skipped
    check_nan_inf_run(runs["nan-inf-run"])
    assert runs["params-only"].points == 0 and runs["params-only"].hparams == {"lr": 1.0}


def test_sqlite_fixture():
    tree = walk(FIXTURES / "mlflow" / "mlflow.db")
    sources = mlflow.claim(tree)
    assert sorted(s.name.split("#")[1] for s in sources) == ["nan-inf-run", "params-only"]
    runs = {s.name.split("#")[1]: mlflow.read(s) for s in sources}
    check_nan_inf_run(runs["nan-inf-run"])


def test_sqlite_is_opened_read_only(tmp_path):
    db = tmp_path / "mlflow.db"
    db.write_bytes((FIXTURES / "mlflow" / "mlflow.db").read_bytes())
    db.chmod(0o444)
    for source in mlflow.claim(walk(tmp_path)):
        mlflow.read(source)
    assert db.read_bytes() == (FIXTURES / "mlflow" / "mlflow.db").read_bytes()


def test_other_sqlite_files_are_not_claimed(tmp_path):
    with sqlite3.connect(tmp_path / "app.db") as con:
        con.execute("CREATE TABLE things (x)")
    assert mlflow.claim(walk(tmp_path)) == []


def test_metric_line_formats():
    points, bad = mlflow.parse_metric_lines(
        "1000 0.5\n2000 nan 1\n3000 -inf 2 ds digest\n4000 1.0 3 4\nbroken\n5000 inf 4\n")
    assert [(s, v) for s, v, _ in points][:1] == [(0, 0.5)]
    assert [s for s, _, _ in points] == [0, 1, 2, 4]
    assert math.isnan(points[1][1]) and points[2][1] == -math.inf and points[3][1] == math.inf
    assert bad == [4, 5] and points[0][2] == 1.0


def test_store_with_damaged_metric_file_keeps_the_rest(tmp_path):
    import shutil

    shutil.copytree(FIXTURES / "mlflow" / "store", tmp_path / "store")
    (lr_file,) = [p for p in (tmp_path / "store").rglob("lr") if p.parent.name == "metrics"]
    lr_file.write_text(lr_file.read_text() + "garbage here\n")
    runs = {}
    for s in mlflow.claim(walk(tmp_path)):
        run = mlflow.read(s)
        runs[run.meta["run_name"]] = run
    run = runs["nan-inf-run"]
    assert len(run.series["lr"]) == 6 and len(run.warnings) == 1 and "lr" in run.warnings[0]
