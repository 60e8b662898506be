"""Damaged inputs for the non-TensorBoard readers: cut files, garbage lines, flipped bytes, empties.

The contract (advisor.ingest): a reader never raises on damaged input except IngestError when
nothing at all is readable, and what it returns is the readable part of the log, i.e. a prefix
(cut files) or a subsequence (flipped bytes) of what the intact file gives. Each property is
checked by mutating real files with hypothesis.
"""
from __future__ import annotations

import json
import math
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from advisor.ingest import csv_logs, hf_trainer, read
from advisor.ingest.discover import discover
from advisor.ingest.wandb_log import read_wandb_bytes
from advisor.model import IngestError, RunSource
from conftest import FIXTURES, REAL_LOGS

FAST = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])

CSV_FILES = [REAL_LOGS / "csv/lightning-csv-opal-v0/lightning_logs/version_0/metrics.csv",
             REAL_LOGS / "csv/sb3-progress-ppo/logs/progress.csv",
             REAL_LOGS / "csv/yolov5-results-exp3-healthy/runs/train/exp3/results.csv",
             FIXTURES / "csv/keras/training.log"]
WANDB_FILES = sorted(FIXTURES.glob("wandb/offline-run/wandb/*/run-*.wandb")) + sorted(
    REAL_LOGS.glob("wandb/wandb-binary-cifar-interrupted/wandb/*/run-*.wandb"))
STATE_FILES = [FIXTURES / "hf/tiny-run/trainer_state.json",
               REAL_LOGS / "hf-trainer/cpt-seq2seq-summarization-predict-entries/trainer_state.json"]


def existing(paths):
    return [p for p in paths if p.exists()]


def same(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or a == b


def assert_prefix(part, full, allow_last_to_differ: bool = False):
    """Every series of `part` is a prefix of the same series in `full` (NaN equal to NaN)."""
    for tag, series in part.series.items():
        whole = full.series[tag]
        n = max(0, len(series) - (1 if allow_last_to_differ else 0))
        assert len(series) <= len(whole), tag
        assert series.step[:n].tolist() == whole.step[:n].tolist(), tag
        assert all(same(a, b) for a, b in zip(series.value[:n], whole.value[:n])), tag


# ----------------------------------------------------------------------------- CSV


@pytest.mark.parametrize("path", existing(CSV_FILES), ids=lambda p: p.name)
@FAST
@given(fraction=st.floats(0, 1))
def test_cut_csv_keeps_its_prefix(path, fraction):
    text = path.read_text()
    full = csv_logs.read_csv_text(text, path.name)
    cut = csv_logs.read_csv_text(text[: int(len(text) * fraction)], path.name)
    # the last kept row may hold a number cut inside its digits (undetectable without a newline)
    assert_prefix(cut, full, allow_last_to_differ=True)


@FAST
@given(garbage=st.lists(st.tuples(st.integers(1, 20), st.text("xyz#!?:; ,\t", min_size=1, max_size=40)),
                        max_size=5))
def test_garbage_lines_never_lose_good_rows(garbage):
    path = REAL_LOGS / "csv/keras-csvlogger-brats-unet/training.log"
    if not path.exists():
        pytest.skip("real logs not found")
    lines = path.read_text().splitlines()
    for position, junk in garbage:
        lines.insert(min(position, len(lines)), junk)
    full = csv_logs.read_csv_text(path.read_text(), "training.log")
    damaged = csv_logs.read_csv_text("\n".join(lines) + "\n", "training.log")
    assert {t: s.value.tolist() for t, s in damaged.series.items()} == \
           {t: s.value.tolist() for t, s in full.series.items()}


# ----------------------------------------------------------------------------- HF


def parse_text(text: str):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "trainer_state.json"
        path.write_text(text)
        return hf_trainer.parse_state(path)


@pytest.mark.parametrize("path", existing(STATE_FILES), ids=lambda p: p.parent.name)
@FAST
@given(fraction=st.floats(0, 1))
def test_cut_trainer_state_keeps_complete_entries(path, fraction):
    text = path.read_text()
    full = json.loads(text)["log_history"]
    try:
        state = parse_text(text[: int(len(text) * fraction)])
    except IngestError:
        return
    got = state.history
    assert json.dumps(got) == json.dumps(full[: len(got)])
    assert state.damaged or len(got) == len(full)


# ----------------------------------------------------------------------------- W&B binary


def history_rows(data: bytes):
    return [json.dumps(row, sort_keys=True) for row, _ in read_wandb_bytes(data).rows]


def is_subsequence(part, whole) -> bool:
    items = iter(whole)
    return all(any(p == w for w in items) for p in part)


@pytest.mark.parametrize("path", WANDB_FILES, ids=lambda p: p.parent.parent.parent.name)
@FAST
@given(fraction=st.floats(0, 1))
def test_cut_wandb_keeps_its_prefix(path, fraction):
    data = path.read_bytes()
    full = history_rows(data)
    cut = history_rows(data[: int(len(data) * fraction)])
    assert cut == full[: len(cut)]


@pytest.mark.parametrize("path", WANDB_FILES, ids=lambda p: p.parent.parent.parent.name)
@FAST
@given(flips=st.lists(st.tuples(st.floats(0, 1), st.integers(1, 255)), min_size=1, max_size=4))
def test_flipped_wandb_bytes_keep_intact_records(path, flips):
    data = bytearray(path.read_bytes())
    full = history_rows(bytes(data))
    for where, mask in flips:
        data[min(int(where * len(data)), len(data) - 1)] ^= mask
    log = read_wandb_bytes(bytes(data))
    got = [json.dumps(row, sort_keys=True) for row, _ in log.rows]
    assert is_subsequence(got, full)
    if len(got) < len(full):
        assert log.problems  # lost rows are always reported


# ----------------------------------------------------------------------------- any reader, any file


EMPTY_LAYOUTS = {
    "csv": ["lightning_logs/version_0/metrics.csv", "training.log"],
    "hf": ["out/trainer_state.json", "out/checkpoint-5/trainer_state.json"],
    "json": ["keras/history.json"],
    "wandb": ["wandb/run-20240101_000000-abc/run-abc.wandb",
              "wandb/offline-run-20240101_000000-def/files/wandb-history.jsonl"],
    "mlflow": ["mlruns/1/0123456789abcdef0123456789abcdef/meta.yaml",
               "mlruns/1/0123456789abcdef0123456789abcdef/metrics/loss", "mlflow.db"],
}


def discover_and_read(root: Path):
    """Discover and read everything under root; only IngestError may come out of a reader."""
    sources, problems = discover([root])
    runs, errors = [], []
    for source in sources:
        try:
            runs.append(read(source))
        except IngestError as exc:
            assert "\n" not in str(exc)
            errors.append(str(exc))
    return runs, errors, problems


@pytest.mark.parametrize("kind", sorted(EMPTY_LAYOUTS))
def test_zero_length_files(tmp_path, kind):
    for rel in EMPTY_LAYOUTS[kind]:
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_bytes(b"")
    runs, errors, problems = discover_and_read(tmp_path)
    assert all(run.points == 0 for run in runs)
    assert errors or problems or runs


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(blob=st.binary(max_size=3000))
def test_random_bytes_under_log_names(tmp_path, blob):
    for rel in ["a/metrics.csv", "b/trainer_state.json", "c/wandb/run-20240101_000000-x1/run-x1.wandb",
                "d/mlflow.db", "e/wandb/wandb-history.jsonl", "f/history.json"]:
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_bytes(blob)
    discover_and_read(tmp_path)


def test_wandb_binary_with_valid_header_but_garbage(tmp_path):
    folder = tmp_path / "wandb" / "run-20240101_000000-zz"
    folder.mkdir(parents=True)
    (folder / "run-zz.wandb").write_bytes(b":W&B\xe1\xbe\x00" + bytes(range(256)) * 10)
    runs, errors, _ = discover_and_read(tmp_path)
    assert errors and "nothing readable" in errors[0] or runs and runs[0].warnings


@FAST
@given(fraction=st.floats(0, 1))
def test_cut_keras_history_keeps_whole_metrics(fraction):
    from advisor.ingest import json_logs

    text = json.dumps({"loss": [1.0, 0.5, float("nan")], "val_loss": [1.2, 0.8, 0.9], "lr": [0.1, 0.1, 0.01]})
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "history.json"
        path.write_text(text[: int(len(text) * fraction)])
        source = RunSource(name="h", path=path, format="json", files=[path], options={"kind": "keras"})
        try:
            run = json_logs.read(source)
        except IngestError:
            return
    full = json.loads(text)
    assert list(run.series) == list(full)[: len(run.series)]
    for tag, series in run.series.items():
        assert json.dumps(series.value.tolist()) == json.dumps(full[tag])
