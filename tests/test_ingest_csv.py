"""CSV-family ingest: every real CSV log of the corpus, the fixtures, and the sniffing rules.

Counting follows MANIFEST.md: "numeric columns except epoch/step/Step". The reader keeps the
x column out of the series, but a Lightning log's `epoch` column (x is `step`) is kept as a tag
because it maps steps to epochs; the tests drop `epoch` before comparing counts.
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from advisor.ingest import csv_logs
from advisor.ingest.discover import discover, walk
from advisor.roles import curve_of
from conftest import FIXTURES, assert_matches_manifest, real_manifest

CSV_ENTRIES = [m for m in real_manifest() if m["folder"].startswith("csv/")]
NOT_COUNTED = {"epoch", "step", "Step"}


def counted(run):
    return {tag: s for tag, s in run.series.items() if tag not in NOT_COUNTED}


def read_one(folder: Path):
    sources, problems = discover([folder])
    csv_sources = [s for s in sources if s.format == "csv"]
    assert len(csv_sources) == 1, (sources, problems)
    assert len(sources) == 1, f"another format also claimed files: {sources}"
    return csv_logs.read(csv_sources[0])


@pytest.mark.parametrize("entry", CSV_ENTRIES, ids=[m["folder"] for m in CSV_ENTRIES])
def test_real_csv_logs_match_manifest(real_logs, entry):
    run = read_one(real_logs / entry["folder"])
    assert_matches_manifest(counted(run), entry)
    assert run.warnings == []


def test_real_writers_are_recognised(real_logs):
    expect = {"csv/lightning-csv-opal-v0": "lightning", "csv/keras-csvlogger-brats-unet": "keras",
              "csv/yolov5-results-exp3-healthy": "yolov5", "csv/ultralytics-v8-results-adamtest": "ultralytics",
              "csv/sb3-progress-ppo": "sb3", "csv/custom-epoch-csv-alexnet": "csv"}
    for folder, writer in expect.items():
        assert read_one(real_logs / folder).writer == writer, folder


def test_real_side_configs_become_hparams(real_logs):
    yolo = read_one(real_logs / "csv/yolov5-results-exp-modified")
    assert "hyp.lr0" in yolo.hparams and "lr0" in yolo.hparams  # opt.yaml nested + hyp.yaml
    custom = read_one(real_logs / "csv/custom-epoch-csv-alexnet")
    assert custom.hparams["batch_size"] == 512 and custom.hparams["optimizer.lr"] == 0.01
    probing = read_one(real_logs / "csv/lightning-csv-probing-v0")
    assert probing.hparams == {}  # hparams.yaml is `{}`


def test_sb3_x_is_total_timesteps_and_nan_kept(real_logs):
    run = read_one(real_logs / "csv/sb3-progress-ppo")
    assert run.meta["x_axis"] == "time/total_timesteps"
    ev = run.series["train/explained_variance"]
    assert int(np.isnan(ev.value).sum()) == 83 and len(ev) == 102


def test_yolo_headers_are_stripped(real_logs):
    run = read_one(real_logs / "csv/yolov5-results-exp3-healthy")
    assert "train/box_loss" in run.series and "metrics/mAP_0.5:0.95" in run.series


# ----------------------------------------------------------------------------- fixtures


def fixture_run(rel: str):
    tree = walk(FIXTURES / "csv")
    sources = {str(Path(s.name).relative_to(FIXTURES)): s for s in csv_logs.claim(tree)}
    assert tree.unclaimed() == [], tree.unclaimed()
    return csv_logs.read(sources[rel])


def test_lightning_sparse_rows_collapse_by_step():
    run = fixture_run("csv/lightning/version_0")
    assert run.writer == "lightning"
    assert run.series["train_loss_step"].step.tolist() == [2, 5, 8, 11, 14]
    assert run.series["train_loss_epoch"].step.tolist() == [7, 15]
    assert run.series["val_loss"].step.tolist() == [7, 15]
    assert run.series["lr-SGD"].value.tolist() == [0.1, 0.05]
    assert np.isnan(run.series["val_loss"].wall_time).all()
    # hparams.yaml with a !!python/object entry loads without running anything
    assert run.hparams["lr"] == 0.1 and run.hparams["criterion.reduction"] == "mean"


def test_keras_na_is_missing_but_nan_is_a_point():
    run = fixture_run("csv/keras")
    assert run.writer == "keras"
    assert run.series["val_loss"].step.tolist() == [1, 2, 3]
    assert math.isnan(run.series["loss"].value[-1]) and len(run.series["loss"]) == 4


def test_fastai_time_column_and_repeated_header():
    run = fixture_run("csv/fastai")
    assert run.writer == "fastai"
    assert "time" not in run.series
    assert run.series["train_loss"].step.tolist() == [0, 0, 1, 2]
    assert [e["kind"] for e in run.events] == ["restart"] and run.events[0]["line"] == 3
    assert run.warnings == []


def test_long_layout_with_wall_time():
    run = fixture_run("csv/long.csv")
    loss = run.series["train/loss"]
    assert loss.step.tolist() == [0, 10, 20] and math.isinf(loss.value[-1])
    assert loss.wall_time.tolist() == [1700000000.0, 1700000010.0, 1700000020.0]
    assert run.series["val/loss"].step.tolist() == [0, 20]


@pytest.mark.parametrize("unit", [1, 1_000, 1_000_000, 1_000_000_000])
def test_wall_time_in_any_unit_since_1970_reads_in_seconds(tmp_path, unit):
    """A `timestamp` in ms (a JavaScript or Java logger, dvclive < 3), us or ns (pandas' int64 view
    of a datetime) is unix seconds once read, wide or long; a metric logged without a step (MLflow's
    `log_metric(key, value)` records step 0 and the time in ms) gets its x axis in seconds, not a run
    1000x longer."""
    start = 1_764_000_000
    wide = tmp_path / "wide" / "log.csv"
    wide.parent.mkdir()
    wide.write_text("timestamp,loss\n" + "".join(f"{(start + 30 * i) * unit},{2.0 / (i + 1)}\n" for i in range(20)))
    long = tmp_path / "long" / "log.csv"
    long.parent.mkdir()
    long.write_text("tag,step,value,wall_time\n" + "".join(f"loss,0,{2.0 / (i + 1)},{(start + 30 * i) * unit}\n"
                                                        for i in range(20)))
    for folder, tag in ((wide.parent, "loss"), (long.parent, "loss")):
        series = read_one(folder).series[tag]
        assert series.wall_time[0] == pytest.approx(start) and series.wall_time[-1] == pytest.approx(start + 570)
    curve = curve_of(read_one(long.parent).series["loss"], "train_loss")
    assert curve.x_kind == "wall_time" and curve.x[-1] == pytest.approx(570)


@pytest.mark.parametrize("values", [[i * 60_000_000_000 for i in range(20)],           # elapsed ns since the start
                                    [20240101120000 + 100 * i for i in range(20)]])      # yyyymmddHHMMSS
def test_a_timestamp_column_that_is_no_date_is_left_as_it_is(tmp_path, values):
    (tmp_path / "log.csv").write_text("step,timestamp,loss\n" + "".join(f"{i},{v},{1 / (i + 1)}\n" for i, v in enumerate(values)))
    assert read_one(tmp_path).series["loss"].wall_time.tolist() == [float(v) for v in values]


def test_garbage_lines_skipped_with_line_numbers():
    run = fixture_run("csv/garbage.csv")
    assert run.series["loss"].value.tolist() == [2.0, 1.8, 1.7]
    assert run.series["acc"].step.tolist() == [0, 1, 2, 3]
    text = " | ".join(run.warnings)
    assert "lines 4)" in text and "last line 7" in text and "lines 6)" in text
    assert all("garbage.csv" in w for w in run.warnings)


def test_tensorboard_ui_download_names_its_tag():
    run = fixture_run("csv/tb-ui")
    assert run.writer == "tensorboard-ui-csv"
    assert list(run.series) == ["loss"]
    assert run.series["loss"].wall_time[0] == 1700000000.5


def test_table_without_x_column_is_indexed_by_row():
    run = fixture_run("csv/no-x.csv")
    assert run.meta["x_axis"] == "row"
    assert run.series["val_loss"].step.tolist() == [0, 1, 2]


# ----------------------------------------------------------------------------- sniffing


@pytest.mark.parametrize("name, text", [
    ("people.csv", "name,city\nann,paris\nbob,rome\n"),
    ("output.log", "Epoch 1/10\n100/100 [====] - loss: 0.3\nEpoch 2/10\n"),
    ("notes.txt", "just, some, prose\nwith, commas, here\n"),
    ("numbers.csv", "1,2,3\n4,5,6\n"),  # no header
    ("train.csv", "id,label,feature_1\n0,1,0.5\n1,0,0.25\n"),  # a dataset, not a log
])
def test_non_logs_are_not_claimed(tmp_path, name, text):
    (tmp_path / name).write_text(text)
    assert csv_logs.claim(walk(tmp_path)) == []


def test_keras_log_with_log_suffix_is_claimed_by_content(tmp_path):
    (tmp_path / "anything.log").write_text("epoch,loss\n0,1.0\n1,0.5\n")
    (source,) = csv_logs.claim(walk(tmp_path))
    assert csv_logs.read(source).series["loss"].value.tolist() == [1.0, 0.5]


def test_fractional_x_falls_back_to_rows(tmp_path):
    (tmp_path / "m.csv").write_text("epoch,loss\n0.5,1.0\n1.0,0.5\n1.5,0.25\n")
    (source,) = csv_logs.claim(walk(tmp_path))
    run = csv_logs.read(source)
    assert run.series["loss"].step.tolist() == [0, 1, 2]
    assert run.series["epoch"].value.tolist() == [0.5, 1.0, 1.5]


def test_long_layout_with_several_runs_prefixes_tags(tmp_path):
    (tmp_path / "tidy.csv").write_text("run,metric,step,value\na,loss,0,1\nb,loss,0,2\na,loss,1,0.5\n")
    (source,) = csv_logs.claim(walk(tmp_path))
    run = csv_logs.read(source)
    assert run.series["a/loss"].value.tolist() == [1.0, 0.5] and run.series["b/loss"].value.tolist() == [2.0]


def test_semicolon_and_tab_delimiters(tmp_path):
    (tmp_path / "a.csv").write_text("step;loss\n0;1.0\n1;0.5\n")
    (tmp_path / "b.tsv").write_text("step\tloss\n0\t1.0\n1\t0.5\n")
    runs = [csv_logs.read(s) for s in csv_logs.claim(walk(tmp_path))]
    assert [r.series["loss"].value.tolist() for r in runs] == [[1.0, 0.5], [1.0, 0.5]]


def test_pandas_is_not_imported_by_claim(tmp_path):
    import subprocess
    import sys

    (tmp_path / "m.csv").write_text("step,loss\n0,1\n")
    code = ("import sys; from pathlib import Path; from advisor.ingest import csv_logs;"
            "from advisor.ingest.discover import walk;"
            f"csv_logs.claim(walk(Path({str(tmp_path)!r})));"
            "assert 'pandas' not in sys.modules, 'pandas imported'")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).parents[1])


def test_pandas_index_column_is_the_x(tmp_path):
    (tmp_path / "history.csv").write_text(",loss,val_loss\n0,1.0,1.1\n1,0.5,0.7\n")
    (source,) = csv_logs.claim(walk(tmp_path))
    run = csv_logs.read(source)
    assert set(run.series) == {"loss", "val_loss"} and run.series["loss"].step.tolist() == [0, 1]


def test_header_only_log_is_an_empty_run(tmp_path):
    (tmp_path / "metrics.csv").write_text("epoch,step,train_loss\n")
    (source,) = csv_logs.claim(walk(tmp_path))
    run = csv_logs.read(source)
    assert run.points == 0 and "header only" in run.warnings[0]


def test_wide_metrics_csv_is_not_taken_for_lightning(tmp_path):
    (tmp_path / "metrics.csv").write_text("step,train_loss,valid_loss\n0,2.0,\n0,1.9,2.1\n1,1.5,\n")
    (source,) = csv_logs.claim(walk(tmp_path))
    run = csv_logs.read(source)
    assert run.writer == "csv" and run.series["train_loss"].value.tolist() == [2.0, 1.9, 1.5]  # no collapse


HISTORY = Path(__file__).parent / "data" / "formats" / "json-history"


def test_pandas_index_column_is_no_metric(tmp_path):
    """`DataFrame(history).to_csv(path)` keeps pandas' index as an unnamed first column (json-history/pandas-csv:
    one real training's history written so): a row counter, not a metric. With an `epoch` column beside it, the
    run is the four metrics at their epochs, as its JSON dump reads; before, a fifth series `unnamed` (0..59)
    sat among them. A W&B `run.history()` DataFrame saved the same way (`_step`, `_runtime`, `_timestamp`) loses
    its `Unnamed: 0` too."""
    import json

    import pandas as pd

    from advisor.pipeline import read_runs

    (csv_run,), _ = read_runs([str(HISTORY / "pandas-csv" / "history.csv")])
    (json_run,), _ = read_runs([str(HISTORY / "loop")])
    assert set(csv_run.series) == set(json_run.series) == {"train_loss", "val_loss", "val_acc", "lr"}
    for tag in csv_run.series:
        assert csv_run.series[tag].step.tolist() == json_run.series[tag].step.tolist() == list(range(1, 61))
        assert np.array_equal(csv_run.series[tag].value, json_run.series[tag].value)
    rows = json.loads((HISTORY / "truth.json").read_text())["rows"]
    frame = pd.DataFrame([{"_step": i, "_runtime": 0.5 * i, "_timestamp": 1.7e9 + i, "train/loss": r["train_loss"],
                           "val/loss": r["val_loss"]} for i, r in enumerate(rows)])
    frame.to_csv(tmp_path / "history.csv")
    (wb,), _ = read_runs([str(tmp_path / "history.csv")])
    assert wb.format == "wandb" and set(wb.series) == {"train/loss", "val/loss"}


@pytest.mark.parametrize("x_name", ["globalStep", "Global Step", "global-step", "GLOBAL_STEP", "Epoch", "numUpdates"])
def test_x_column_spelled_in_camel_case_or_with_spaces(tmp_path, x_name):
    """The step and epoch aliases match whatever case and separators a logger spells them with (a name
    that is no alias, `numUpdates`, stays a column and the rows are numbered)."""
    (tmp_path / "history.csv").write_text(
        f"{x_name},trainLoss,wallTime\n" + "".join(f"{10 * (i + 1)},{1 / (i + 1)},{1.7e9 + i}\n" for i in range(10)))
    run = read_one(tmp_path)
    loss = run.series["trainLoss"]
    if x_name == "numUpdates":
        assert run.meta["x_axis"] == "row" and loss.step.tolist() == list(range(10))
        return
    assert run.meta["x_axis"] == x_name and x_name not in run.series
    assert loss.step.tolist() == list(range(10, 110, 10))
    assert "wallTime" not in run.series and loss.wall_time[0] == 1.7e9


def test_lightning_validation_logged_on_step_is_read_at_its_epoch_means():
    """A real Lightning fit (tests/data/formats/lightning-val-step/lightning_fit.py) logging val_loss with
    on_step=True and on_epoch=True: `val_loss_step` sits at the validation batch counter (0-47, no epoch),
    `val_loss_epoch` at the training step each validation ran. The longer `_step` series took the role, so
    the val curve lay before the training it evaluated."""
    from advisor.roles import build_curves

    run = read_one(Path(__file__).parent / "data" / "formats" / "lightning-val-step")
    curves, roles = build_curves(run)
    assert roles["val_loss"] == "val_loss_epoch" and roles["train_loss"] == "train_loss_step"
    assert run.series["val_loss_step"].step.tolist() == list(range(48))  # the layout this guards against
    assert curves.get("val_loss").x.tolist() == [11, 23, 35, 47, 59, 71]


def test_keras_log_appended_by_one_epoch_fits_reads_its_rows_as_epochs():
    """A real Keras 3 CSVLogger(append=True) over eight fit(epochs=1) calls (tests/data/formats/keras-append):
    every line says epoch 0, so all eight epochs sat at x = 0 (a public notebook's digit recognizer read that
    way). The rows are the epochs, in order, with a warning that says so."""
    from advisor.roles import build_curves

    run = read_one(Path(__file__).parent / "data" / "formats" / "keras-append")
    assert run.series["loss"].step.tolist() == list(range(8)) and "epoch" not in run.series
    assert any("every row has epoch = 0" in w for w in run.warnings)
    curves, _ = build_curves(run)
    assert curves.get("val_loss").x_kind == "epoch" and curves.get("val_loss").x.tolist() == list(range(8))


def test_two_rows_at_one_step_are_not_read_as_successive_rows(tmp_path):
    """One train row and one val row at step 0 (a run that stopped after its first step): no metric is
    repeated, so the shared x stands."""
    (tmp_path / "metrics.csv").write_text("step,train_loss,val_loss\n0,2.3,\n0,,2.2\n0,2.1,\n")
    run = read_one(tmp_path)
    assert run.series["val_loss"].step.tolist() == [0] and not run.warnings


def test_openai_baselines_progress_csv_counts_total_steps(tmp_path):
    """OpenAI baselines' DDPG/HER progress.csv names its position `total/steps` (and `total/epochs`): a
    public run's 527 rows were numbered 0-526 and `total/steps` (2,000-1,054,000) read as a metric."""
    rows = [f"{1.5 * i},{i + 1},{2000 * (i + 1)},{-100 + i}" for i in range(20)]
    (tmp_path / "progress.csv").write_text("train/loss_critic,total/epochs,total/steps,rollout/return\n" + "\n".join(rows) + "\n")
    run = read_one(tmp_path)
    assert run.meta["x_axis"] == "total/steps" and "total/steps" not in run.series
    assert run.series["rollout/return"].step.tolist() == [2000 * (i + 1) for i in range(20)]


def test_a_loss_exactly_zero_every_epoch_is_not_the_training_loss():
    """A public Ultralytics run (07Yatin/anemia2, runs/detect/train/results.csv, as committed) whose labels reached
    training with no box logged `train/box_loss` and `train/dfl_loss` as exactly 0 for all 50 epochs while
    `train/cls_loss` fell 113 -> 0.3. Before, the zero column was the training loss ('flat at its starting level:
    not learning', with BatchNorm and init advice); a column that never moves from 0 measures nothing."""
    from advisor.pipeline import read_runs
    from advisor.roles import assign_roles

    path = Path(__file__).resolve().parent / "data" / "formats" / "yolo-zero-box-loss" / "results.csv"
    (run,), errors = read_runs([str(path)])
    assert not errors and run.series["train/box_loss"].value.tolist() == [0.0] * 50
    roles = assign_roles(run)
    assert roles["train_loss"] == "train/cls_loss" and roles["val_loss"] == "val/cls_loss"
    run.series["train/cls_loss"].value[:] = 0.0  # every training loss at 0: the role stays as named
    assert assign_roles(run)["train_loss"] == "train/box_loss"
