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
