"""JSON metric dumps: Keras History dicts (and their string / pandas variants), TB UI downloads,
and the JSON files that must not be taken for logs (configs, result summaries)."""
from __future__ import annotations

import json
import math

import pytest

from advisor.ingest import json_logs
from advisor.ingest.discover import walk
from advisor.model import IngestError
from conftest import FIXTURES


def read_only_source(tmp_path, name, data):
    (tmp_path / name).write_text(data if isinstance(data, str) else json.dumps(data))
    sources = json_logs.claim(walk(tmp_path))
    return [json_logs.read(s) for s in sources]


def test_keras_history_dict(tmp_path):
    (run,) = read_only_source(tmp_path, "history.json", '{"loss": [1.0, 0.5, NaN], "val_loss": [1.2, 0.8, 0.9]}')
    assert run.writer == "keras" and run.series["loss"].step.tolist() == [0, 1, 2]
    assert math.isnan(run.series["loss"].value[2]) and run.warnings == []


def test_history_with_string_values_and_pandas_layout(tmp_path):
    (run,) = read_only_source(tmp_path, "h.json", {"loss": ["0.9", "0.7"], "accuracy": ["0.5", "0.6"]})
    assert run.series["loss"].value.tolist() == [0.9, 0.7]
    (tmp_path / "h.json").unlink()
    (run,) = read_only_source(tmp_path, "df.json", {"loss": {"0": 1.0, "1": 0.5}, "val_loss": {"0": 1.1, "1": 0.6}})
    assert run.series["val_loss"].step.tolist() == [0, 1]


def test_tensorboard_ui_json_download(tmp_path):
    (run,) = read_only_source(tmp_path, "run-train-tag-epoch_loss.json", [[1700000000.5, 0, 2.0], [1700000001.5, 1, 1.0]])
    assert list(run.series) == ["epoch_loss"] and run.series["epoch_loss"].wall_time[0] == 1700000000.5


@pytest.mark.parametrize("data", [
    {"layers": [64, 32], "dropout": 0.1},  # a config with a number list
    {"eval_loss": 0.4, "epoch": 3.0},  # HF all_results.json: scalars
    {"loss": [1.0, "n/a"]},  # not numbers
    [1, 2, 3],
])
def test_other_json_is_not_claimed(tmp_path, data):
    assert read_only_source(tmp_path, "x.json", data) == []


def test_fixture_run_written_by_the_log_writers():
    (source,) = [s for s in json_logs.claim(walk(FIXTURES / "runs" / "slow-keras-json"))]
    run = json_logs.read(source)
    assert {"loss", "val_loss"} <= set(run.series) and len(run.series["loss"]) > 10


def test_cut_history_keeps_the_complete_metrics(tmp_path):
    text = '{"loss": [1.0, 0.5, 0.4], "val_loss": [1.2, 0.8, 0.9]}'
    (tmp_path / "history.json").write_text(text)
    (source,) = json_logs.claim(walk(tmp_path))
    (tmp_path / "history.json").write_text(text[:40])
    run = json_logs.read(source)
    assert list(run.series) == ["loss"] and "cut" in run.warnings[0]
    (tmp_path / "history.json").write_text(text[:12])
    with pytest.raises(IngestError, match="history.json"):
        json_logs.read(source)


SACRED = FIXTURES.parent / "tests" / "data" / "formats" / "sacred" / "runs"


def test_sacreds_file_storage_runs_read_with_their_config_and_status():
    """Three real Sacred experiments (tests/data/formats/sacred/sacred_fit.py: sacred 0.8.7's
    FileStorageObserver wrote every file): each run folder is one run, metrics.json's points at their
    steps with their ISO times as wall time, config.json the hyperparameters, run.json's status; the
    captured terminal (cout.txt) is no second run. Before, a Sacred run folder read as nothing."""
    from advisor.pipeline import diagnose_paths, read_runs

    runs, errors = read_runs([str(SACRED)])
    assert not errors and [r.name.split("/")[-1] for r in sorted(runs, key=lambda r: r.name)] == ["1", "2", "3"]
    by = {r.name.split("/")[-1]: r for r in runs}
    for name, steps in (("1", 200), ("2", 200), ("3", 120)):
        run = by[name]
        data = json.loads((SACRED / name / "metrics.json").read_text())
        assert run.writer == "sacred" and set(run.series) == set(data)
        for tag, entry in data.items():
            assert run.series[tag].step.tolist() == entry["steps"] and run.series[tag].value.tolist() == entry["values"]
        loss = run.series["training.loss"]
        assert len(loss) == steps and all(math.isfinite(w) for w in loss.wall_time)
        assert (loss.wall_time[1:] >= loss.wall_time[:-1]).all() and loss.wall_time[0] > 1.7e9
    assert by["1"].hparams["lr"] == 0.5 and by["2"].hparams["lr"] == 60.0 and by["1"].meta["status"] == "COMPLETED"
    assert by["1"].warnings == [] and by["3"].meta["status"] == "FAILED"
    assert any("FAILED (RuntimeError: simulated crash)" in w for w in by["3"].warnings)
    verdicts = {r.run.name.split("/")[-1]: {f.pattern for f in r.findings} for r in diagnose_paths([str(SACRED)]).runs}
    assert verdicts == {"1": set(), "2": {"divergence"}, "3": set()}


@pytest.mark.parametrize("data", [
    {"training.loss": {"steps": [0, 1], "values": [1.0, 0.5], "extra": 1}},  # a field Sacred never writes
    {"training.loss": {"steps": [0, 1]}},  # no values
    {"training.loss": {"steps": 3, "values": [1.0]}},
])
def test_json_that_only_looks_like_sacreds_is_not_claimed(tmp_path, data):
    assert read_only_source(tmp_path, "metrics.json", data) == []


def test_a_sacred_metrics_json_with_bad_points_keeps_the_good_ones(tmp_path):
    data = {"loss": {"steps": [0, 1.5, 2, 3], "values": [1.0, 0.9, "x", 0.5],
                     "timestamps": ["2024-01-01T00:00:00", "bad", None, "2024-01-01T00:00:03.5"]}}
    (run,) = read_only_source(tmp_path, "metrics.json", data)
    assert run.series["loss"].step.tolist() == [0, 3] and run.series["loss"].value.tolist() == [1.0, 0.5]
    assert run.series["loss"].wall_time.tolist() == [1704067200.0, 1704067203.5]
    assert any("2 bad point(s)" in w for w in run.warnings)


def test_a_history_saved_with_metadata_keys_is_read():
    """A public FER-2013 fine-tune (DrunkMacintosh/EFFICIENTNET_B0-for-emotion-recognition-of-FER-2013-dataset,
    training_history.json, as committed) saved `timestamp`, `backbone`, `img_size`, `classes`, `phase_starts`,
    `phase_labels` and a final `test_acc` beside its four 90-long lists. Before: 'no training log found'. The
    lists of the longest length are the metrics (the 3-long `phase_starts` is no curve), the scalars metadata."""
    from pathlib import Path

    from advisor.pipeline import read_runs
    from advisor.roles import build_curves

    path = Path(__file__).resolve().parent / "data" / "formats" / "json-history-metadata" / "training_history.json"
    (run,), errors = read_runs([str(path)])
    assert not errors and run.format == "json" and not run.warnings
    assert sorted(run.series) == ["train_acc", "train_loss", "val_acc", "val_loss"]
    assert {len(s) for s in run.series.values()} == {90}
    assert run.hparams == {"timestamp": "2026-04-18T17:21:59", "backbone": "EfficientNet-B0", "img_size": 112}
    assert set(build_curves(run)[1]) == {"train_loss", "val_loss", "train_acc", "val_acc"}


def test_two_models_histories_in_one_file_are_two_runs():
    """A public stock predictor (AmanMalhi/hdfc-lstm-predictor, training_history.json, as committed) saved a
    regressor's `reg_*` lists (30 epochs) and a classifier's `cls_*` lists (19 epochs) in one file. Before: one run,
    train_loss `reg_mae` (although `reg_loss` exists) and the classifier's accuracy judging the regressor's loss
    'at chance'. Now a run per prefix, its metrics named without it."""
    from pathlib import Path

    from advisor.pipeline import read_runs
    from advisor.roles import build_curves

    path = Path(__file__).resolve().parent / "data" / "formats" / "json-history-two-models" / "training_history.json"
    runs, errors = read_runs([str(path)])
    assert not errors
    by_name = {r.name.rsplit("#", 1)[-1]: r for r in runs}
    assert sorted(by_name) == ["cls", "reg"]
    reg, cls = by_name["reg"], by_name["cls"]
    assert sorted(reg.series) == ["learning_rate", "loss", "mae", "val_loss", "val_mae"]
    assert {len(s) for s in reg.series.values()} == {30} and {len(s) for s in cls.series.values()} == {19}
    assert not reg.warnings and not cls.warnings  # each model's lists are of one length
    assert build_curves(reg)[1] == {"train_loss": "loss", "val_loss": "val_loss", "lr": "learning_rate"}
    assert build_curves(cls)[1] == {"train_loss": "loss", "val_loss": "val_loss", "train_acc": "accuracy",
                                    "val_acc": "val_accuracy", "lr": "learning_rate"}


@pytest.mark.parametrize("data", [
    {"train_loss": [1.0, 0.9, 0.8], "train_acc": [0.5, 0.6, 0.7], "val_loss": [1.1, 1.0], "val_acc": [0.5, 0.6]},
    {"a_loss": [1.0, 0.9, 0.8], "a_acc": [0.5, 0.6, 0.7], "b_loss": [1.0, 0.9, 0.8], "b_acc": [0.5, 0.6, 0.7]},
    {"loss": [1.0, 0.9, 0.8], "out1_loss": [0.5, 0.4, 0.3], "out2_loss": [0.5, 0.5, 0.5]},
    {"a_loss": [1.0, 0.9, 0.8], "b_acc": [0.5, 0.6]},
])
def test_one_models_history_is_not_split(data):
    """Split words as prefixes, equal lengths (one training), a multi-output model's bare `loss`, a prefix
    without a loss: one history."""
    assert json_logs.model_prefixes(data, json_logs.keras_history(data)) == []


@pytest.mark.parametrize("data", [
    {"lr": 0.01, "loss": "mse", "layers": [64, 64, 64], "dropouts": [0.1, 0.1, 0.1]},  # a config: no metric list
    {"model": "x", "loss_weights": [1.0, 0.5]},  # two numbers: no history
    {"model": "x", "loss": [1.0, 0.5, 0.4]},  # one list beside metadata: too little to call it a history
])
def test_a_config_with_number_lists_is_no_history(data):
    assert json_logs.keras_history(data) is None
