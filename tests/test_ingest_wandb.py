"""W&B ingest: the corpus runs, the fixtures, the hand protobuf decoder and the block framing.

The `.wandb` framing tests build files with `frame_records` below, a LevelDB-log writer written
from FORMATS.md §2.2, so records that span 32 KiB blocks (FIRST/MIDDLE/LAST) are covered even
though the small real runs rarely have them. When the wandb package happens to be importable, the
hand decoder is also checked record by record against `wandb_internal_pb2`.
"""
from __future__ import annotations

import functools
import json
import math
import re
import struct
import zlib
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from advisor.ingest import wandb
from advisor.ingest.discover import discover, walk
from advisor.ingest.wandb_log import BLOCK, read_wandb_bytes, split_records
from advisor.model import Run
from conftest import FIXTURES, REAL_LOGS, assert_matches_manifest, real_manifest

WANDB_ENTRIES = [m for m in real_manifest() if m["folder"].startswith("wandb/")]


# ----------------------------------------------------------------------------- a tiny writer


def varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def field(number: int, payload: bytes | str | int) -> bytes:
    if isinstance(payload, int):
        return varint(number << 3) + varint(payload)
    data = payload.encode() if isinstance(payload, str) else payload
    return varint(number << 3 | 2) + varint(len(data)) + data


def history_record(step: int, items: dict, legacy_key: bool = False) -> bytes:
    body = b""
    for key, value in items.items():
        name = field(1, key) if legacy_key else b"".join(field(2, part) for part in key.split("."))
        body += field(1, name + field(16, json.dumps(value)))
    body += field(2, field(1, step)) if step else field(2, b"")
    return field(1, step + 1) + field(2, body)


def frame_records(records: list[bytes]) -> bytes:
    """A `.wandb` file: header + LevelDB-log chunks in 32 KiB blocks (as the SDK writes them)."""
    out = bytearray(b":W&B" + struct.pack("<H", 0xBEE1) + b"\x00")
    for data in records:
        begin, left = True, data
        while True:
            room = BLOCK - len(out) % BLOCK
            if room < 7:
                out += b"\x00" * room
                room = BLOCK
            piece, left = left[: room - 7], left[room - 7:]
            end = not left
            kind = 1 if begin and end else 2 if begin else 4 if end else 3
            out += struct.pack("<IHB", zlib.crc32(bytes([kind]) + piece), len(piece), kind) + piece
            begin = False
            if end:
                break
    return bytes(out)


# ----------------------------------------------------------------------------- framing + decoding


def test_records_spanning_blocks_are_reassembled():
    big = "x" * 70000  # spans three blocks: FIRST, MIDDLE, LAST
    records = [history_record(0, {"loss": 1.0}), field(4, field(1, big)), history_record(1, {"loss": 0.5})]
    framing = split_records(frame_records(records))
    assert framing.problems == [] and framing.records == records


def test_history_items_keys_values_and_tokens():
    data = frame_records([
        history_record(0, {"train/loss": float("nan"), "a.b": 1.5, "_step": 0}),
        history_record(1, {"loss": float("inf"), "text": "hello", "_step": 1}, legacy_key=True),
    ])
    log = read_wandb_bytes(data)
    (row0, step0), (row1, step1) = log.rows
    assert math.isnan(row0["train/loss"]) and row0["a.b"] == 1.5 and step0 == 0
    assert row1["loss"] == math.inf and row1["text"] == "hello" and step1 == 1


def test_bad_crc_costs_one_record_only():
    records = [history_record(i, {"loss": float(i), "_step": i}) for i in range(5)]
    data = bytearray(frame_records(records))
    second = 7 + 7 + len(records[0])  # start of the second chunk
    data[second + 9] ^= 0xFF  # a byte inside its payload
    log = read_wandb_bytes(bytes(data))
    assert [r["loss"] for r, _ in log.rows] == [0.0, 2.0, 3.0, 4.0]
    assert any("bad CRC" in p for p in log.problems)


def test_truncated_tail_keeps_the_prefix():
    records = [history_record(i, {"loss": float(i), "_step": i}) for i in range(5)]
    data = frame_records(records)
    log = read_wandb_bytes(data[:-3])
    assert [r["loss"] for r, _ in log.rows] == [0.0, 1.0, 2.0, 3.0] and log.truncated


def test_not_a_wandb_file():
    assert split_records(b"hello world").problems


@pytest.mark.skipif(not WANDB_ENTRIES, reason="no real logs")
def test_hand_decoder_agrees_with_wandb_protobuf(real_logs):
    pb2 = pytest.importorskip("wandb.proto.wandb_internal_pb2")
    files = sorted(real_logs.glob("wandb/*/wandb/run-*/run-*.wandb")) + sorted(FIXTURES.glob("wandb/**/*.wandb"))
    checked = 0
    for path in files:
        framing = split_records(path.read_bytes())
        for raw in framing.records:
            record = pb2.Record()
            record.ParseFromString(raw)
            if record.WhichOneof("record_type") != "history":
                continue
            expect = {(i.key or ".".join(i.nested_key)): json.loads(i.value_json) for i in record.history.item}
            got = read_wandb_bytes(b":W&B\xe1\xbe\x00" + _one_chunk(raw)).rows[0][0]
            assert json.dumps(got, sort_keys=True) == json.dumps(expect, sort_keys=True)
            checked += 1
    assert checked > 100


def _one_chunk(raw: bytes) -> bytes:
    return frame_records([raw])[7:]


# ----------------------------------------------------------------------------- real logs


@pytest.mark.parametrize("entry", WANDB_ENTRIES, ids=[m["folder"] for m in WANDB_ENTRIES])
def test_real_wandb_logs_match_manifest(real_logs, entry):
    sources, problems = discover([real_logs / entry["folder"]])
    assert sources and all(s.format == "wandb" for s in sources), sources
    assert problems == []
    runs = [wandb.read(s) for s in sources]
    assert_matches_manifest([s for run in runs for s in run.series.values()], entry)


def test_real_binary_run_metadata(real_logs):
    (source,) = discover([real_logs / "wandb/wandb-binary-cifar-interrupted"])[0]
    run = wandb.read(source)
    assert run.writer == "wandb-0.22.2"
    assert run.hparams["epochs"] == 100 and run.hparams["learning_rate"] == 0.0003
    assert "_wandb" not in run.hparams and not any(k.startswith("_wandb") for k in run.hparams)
    assert run.meta["exit_code"] == 255 and run.meta["summary"]["epoch"] == 6
    assert run.series["train_loss"].wall_time[0] > 1.7e9


def test_real_run_without_history_is_an_empty_run(real_logs):
    (source,) = discover([real_logs / "wandb/wandb-binary-cifar-crashed-nohistory"])[0]
    run = wandb.read(source)
    assert run.points == 0 and run.hparams["batch_size"] == 32768
    assert any("no history" in w for w in run.warnings)


def test_real_legacy_run_skips_media(real_logs):
    (source,) = discover([real_logs / "wandb/wandb-0.8-legacy-spaceinvaders-dqn"])[0]
    run = wandb.read(source)
    assert set(run.series) == {"episodic_reward", "cumulative_avg_reward"}
    assert run.writer == "wandb-0.8.27" and run.hparams["learning_rate"] == 0.003


def test_real_panel_export_is_one_run_per_display_name(real_logs):
    sources, _ = discover([real_logs / "wandb/wandb-export-csv-cyclegan-ssim"])
    assert sorted(s.name.split("#")[1] for s in sources) == ["cycle_val_0", "cycle_val_65", "cycle_val_975"]
    assert all(list(wandb.read(s).series) == ["test SSMI_B mean"] for s in sources)


# ----------------------------------------------------------------------------- fixtures


def fixture_sources():
    tree = walk(FIXTURES / "wandb")
    sources = wandb.claim(tree)
    assert tree.unclaimed() == []
    return {str(Path(s.name).relative_to(FIXTURES / "wandb")): s for s in sources}


def test_offline_run_written_by_the_sdk():
    (name,) = [n for n in fixture_sources() if n.startswith("offline-run")]
    run = wandb.read(fixture_sources()[name])
    assert run.writer == "wandb-0.31.0"
    assert run.meta["x_axis"] == "train/global_step"  # the integration key beats _step
    loss = run.series["train/loss"]
    assert loss.step.tolist() == [10, 20, 30, 40, 50, 60, 70, 80]
    assert math.isnan(loss.value[3]) and loss.value[5] == math.inf
    assert run.series["eval/loss"].value.tolist() == [-math.inf]
    assert run.series["nested.acc"].value[1] == pytest.approx(0.1)
    assert "lr_note" not in run.series  # strings are not metrics
    assert run.hparams == {"lr": 0.1, "batch_size": 32, "optimizer.name": "sgd", "optimizer.momentum": 0.9}


def test_legacy_jsonl_config_wrappers_and_restart():
    run = wandb.read(fixture_sources()["legacy/wandb"])
    assert run.hparams == {"learning_rate": 0.003, "batch_size": 32}
    assert run.series["loss"].step.tolist() == [0, 1, 2, 3, 4, 5]
    assert math.isnan(run.series["loss"].value[3])


def test_panel_names_with_dashes_and_min_max_dropped():
    sources = fixture_sources()
    assert {"exports/panel.csv#run a", "exports/panel.csv#x - y - z"} <= set(sources)
    run = wandb.read(sources["exports/panel.csv#x - y - z"])
    assert list(run.series) == ["train/loss"] and run.series["train/loss"].step.tolist() == [0, 10, 30, 40]
    assert run.meta["provenance"].startswith("W&B panel export")


def test_api_history_export_uses_the_integration_step():
    run = wandb.read(fixture_sources()["exports/history.csv"])
    assert run.series["train/loss"].step.tolist() == [100, 200, 300, 400, 500, 600]
    assert run.series["val/loss"].step.tolist() == [200, 400, 600]
    assert "_runtime" not in run.series


def test_runs_table_is_reported_as_a_summary():
    run = wandb.read(fixture_sources()["exports/runs_table.csv"])
    assert run.points == 0 and run.meta["kind"] == "runs-table" and len(run.meta["runs_table"]) == 2
    assert "runs-table" in run.warnings[0]


def test_split_panel_columns_prefers_the_shared_key():
    header = ["Step", "a - b - loss", "a - b - loss__MIN", "c - loss", "c - loss__MAX"]
    assert wandb.split_panel_columns(header) == {"a - b": [("a - b - loss", "loss")], "c": [("c - loss", "loss")]}


def test_keras_prefixed_step_keys():
    run = Run(name="r", path="r", format="wandb")
    rows = [({"epoch/epoch": 0, "epoch/loss": 1.0, "_step": 0}, None),
            ({"batch/batch_step": 7, "batch/loss": 0.9, "_step": 1}, None),
            ({"epoch/epoch": 1, "epoch/loss": 0.5, "_step": 2}, None)]
    wandb.rows_to_series(rows, run)
    assert run.series["epoch/loss"].step.tolist() == [0, 1]
    assert run.series["batch/loss"].step.tolist() == [7]


def test_resumed_run_dirs_with_one_id_are_one_run(tmp_path):
    for stamp, rows in (("20240101_000000", [(0, 1.0), (1, 0.9)]), ("20240102_000000", [(2, 0.8)])):
        folder = tmp_path / "wandb" / f"run-{stamp}-abc123"
        folder.mkdir(parents=True)
        data = frame_records([history_record(s, {"loss": v, "_step": s}) for s, v in rows])
        (folder / "run-abc123.wandb").write_bytes(data)
    (source,) = wandb.claim(walk(tmp_path))
    assert wandb.read(source).series["loss"].step.tolist() == [0, 1, 2]


def test_online_run_without_binary_reports_summary_only(tmp_path):
    files = tmp_path / "wandb" / "run-20240101_000000-abc" / "files"
    files.mkdir(parents=True)
    (files / "wandb-summary.json").write_text('{"loss": 0.5, "_step": 9}')
    (files / "config.yaml").write_text("lr:\n  value: 0.1\n_wandb:\n  value:\n    cli_version: 0.16.0\n")
    (source,) = wandb.claim(walk(tmp_path))
    run = wandb.read(source)
    assert run.points == 0 and run.meta["summary"] == {"loss": 0.5} and run.hparams == {"lr": 0.1}
    assert run.writer == "wandb-0.16.0" and "no history" in run.warnings[0]


def test_panel_with_a_time_axis_takes_steps_from_the_step_columns(tmp_path):
    (tmp_path / "p.csv").write_text(
        '"Wall Time","r - loss","r - loss__MIN","r - loss__MAX","r - _step","r - _step__MIN","r - _step__MAX"\n'
        '"1700000000000","1.0","1.0","1.0","0","0","0"\n'
        '"1700000060000","NaN","NaN","NaN","5","5","5"\n')
    (source,) = wandb.claim(walk(tmp_path))
    run = wandb.read(source)
    assert run.series["loss"].step.tolist() == [0, 5] and math.isnan(run.series["loss"].value[1])
    assert "_step" not in run.series


# ----------------------------------------------------------------------------- resync after length-changing damage
#
# A value rewritten with more or fewer digits, or bytes inserted or deleted inside a block, shifts
# every later chunk off the 32 KiB grid. The chunks after the damage are still whole and pass their
# CRCs, so the reader must lose only the records the damage touched (it used to lose the rest of the
# block, and with it the NaN that made a run fail: the fuzz campaign's exit-code flips 1 -> 0).

BINARY_FILES = sorted(REAL_LOGS.glob("wandb/wandb-binary-*/wandb/run-*/run-*.wandb")) + sorted(
    FIXTURES.glob("wandb/**/*.wandb"))
NUMBER_IN_JSON = re.compile(rb"-?\d+(?:\.\d+)?(?:e[+-]?\d+)?")


@functools.lru_cache(maxsize=None)
def record_spans(path: Path) -> list[tuple[int, int, list[str]]]:
    """(first byte, end, history rows as JSON) of every record of an undamaged file, by walking its chunks."""
    data = path.read_bytes()
    spans, pos, start = [], 7, None
    while pos + 7 <= len(data):
        if BLOCK - pos % BLOCK < 7:
            pos += BLOCK - pos % BLOCK
            continue
        _, length, kind = struct.unpack_from("<IHB", data, pos)
        start = pos if kind in (1, 2) else start
        pos += 7 + length
        if kind in (1, 4):
            rows = read_wandb_bytes(b":W&B\xe1\xbe\x00" + _one_chunk(split_records(data[:7] + data[start:pos]).records[0]))
            spans.append((start, pos, [json.dumps(r, sort_keys=True) for r, _ in rows.rows]))
    assert split_records(data).problems == [] and len(spans) == len(split_records(data).records)
    return spans


def rows_outside(path: Path, first: int, end: int, inserted: bool) -> list[str]:
    """The history rows of the records of the undamaged file that bytes [first, end) do not overlap
    and, when bytes were inserted at `first`, that it does not fall strictly inside."""
    return [row for start, stop, rows in record_spans(path)
            if not (first < end and start < end and stop > first) and not (inserted and start < first < stop) for row in rows]


@functools.lru_cache(maxsize=None)
def numbers_in(path: Path) -> list[tuple[int, int]]:
    return [m.span() for m in NUMBER_IN_JSON.finditer(path.read_bytes(), 7)]


def rows_of(data: bytes) -> tuple[list[str], list[str]]:
    log = read_wandb_bytes(data)
    return [json.dumps(r, sort_keys=True) for r, _ in log.rows], log.problems


@pytest.mark.skipif(not BINARY_FILES, reason="no .wandb files")
@pytest.mark.parametrize("path", BINARY_FILES, ids=lambda p: p.name)
@settings(max_examples=30, deadline=None)
@given(which=st.floats(0, 1, exclude_max=True), digits=st.sampled_from([b"9", b"12345", b"1e308", b"-0.0", b"9" * 400]))
def test_a_number_rewritten_with_another_length_costs_its_record_only(path, which, digits):
    data = path.read_bytes()
    numbers = numbers_in(path)
    first, end = numbers[int(which * len(numbers))]
    if len(digits) == end - first:
        digits += b"0"
    got, problems = rows_of(data[:first] + digits + data[end:])
    assert got == rows_outside(path, first, end, inserted=True)
    assert problems and all("byte " in p for p in problems)


@pytest.mark.skipif(not BINARY_FILES, reason="no .wandb files")
@pytest.mark.parametrize("path", BINARY_FILES, ids=lambda p: p.name)
@settings(max_examples=30, deadline=None)
@given(where=st.floats(0, 1), delete=st.integers(0, 300), insert=st.binary(min_size=0, max_size=40))
def test_bytes_inserted_or_deleted_cost_only_the_records_they_touch(path, where, delete, insert):
    data = path.read_bytes()
    first = 7 + int(where * (len(data) - 7))
    end = min(len(data), first + delete)
    damaged = data[:first] + insert + data[end:]
    got, problems = rows_of(damaged)
    assert got == rows_outside(path, first, end, inserted=bool(insert))
    starts = {start for start, _, _ in record_spans(path)} | {len(data)}
    if not insert and first in starts and end in starts:
        return  # whole records cut out cleanly: nothing left to notice
    if len(got) < len(rows_outside(path, len(data), len(data), inserted=False)):
        assert problems  # what was lost is said


def test_resync_past_a_long_stretch_of_garbage_and_zeros():
    records = [history_record(i, {"loss": float(i), "_step": i}) for i in range(2000)]
    data = frame_records(records)
    middle = len(data) // 2
    damaged = data[:middle] + bytes(range(256)) * 4000 + bytes(1 << 20) + data[middle:]
    log = read_wandb_bytes(damaged)
    losses = [r["loss"] for r, _ in log.rows]
    assert len(losses) == 1999 and losses == sorted(losses)
    assert len(log.problems) == 1 and "resynchronised at byte" in log.problems[0]


# ----------------------------------------------------------------------------- the step the run reports


UPDATE_STEP = Path(__file__).parent / "data" / "formats" / "wandb-update-step"


def test_real_run_under_gradient_accumulation_is_read_at_its_optimizer_step():
    """A public pretraining run (AuroraEchos/TinyLM, trimmed: tests/data/formats/wandb-update-step) logs with
    `wandb.log(..., step=micro_batch)` under 8 gradient-accumulation steps and reports `train/update_step`:
    `_step` ran to 107,124 over 13,390 optimizer updates, and its warmup_steps (2,000) count updates."""
    (source,) = discover([UPDATE_STEP])[0]
    run = wandb.read(source)
    assert run.meta["x_axis"] == "train/update_step"
    loss, update = run.series["train/loss"], run.series["train/update_step"]
    assert loss.step.tolist() == update.value.astype(int).tolist()
    assert loss.step[:4].tolist() == [0, 6, 12, 18] and loss.step[-1] == 13390
    # the evaluation at the end is logged in a row of its own, without the step key: at the last update
    assert run.series["val/loss"].step.tolist() == [13390]
    assert run.hparams["grad_accum_steps"] == 8 and run.hparams["warmup_steps"] == 2000


def test_a_loop_step_key_places_rows_without_it_at_the_step_before():
    """DiffuSeq's logger writes `step` with its training rows and evaluations in rows of their own."""
    run = Run(name="r", path="r", format="wandb")
    rows = [({"loss": 0.9, "step": 0, "_step": 0}, None), ({"eval_loss": 0.6, "_step": 1}, None),
            ({"loss": 0.5, "step": 20, "_step": 2}, None), ({"loss": 0.4, "step": 40, "_step": 3}, None),
            ({"eval_loss": 0.3, "_step": 4}, None)]
    wandb.rows_to_series(rows, run)
    assert run.series["loss"].step.tolist() == [0, 20, 40]
    assert run.series["eval_loss"].step.tolist() == [0, 40]
    assert run.meta["x_axis"] == "step"


def test_a_step_key_that_goes_back_is_no_x_axis():
    """A batch index that starts again every epoch is no step counter: `_step` stays the x."""
    run = Run(name="r", path="r", format="wandb")
    rows = [({"loss": 1.0 - i / 10, "step": i % 3, "_step": i}, None) for i in range(6)]
    wandb.rows_to_series(rows, run)
    assert run.series["loss"].step.tolist() == [0, 1, 2, 3, 4, 5] and run.meta["x_axis"] == "_step"


def test_integration_step_carried_to_a_row_without_it():
    """Lightning's WandbLogger: a first `wandb.log` without `trainer/global_step` (parameter counts) sits at
    the run's first step, not at `_step` 0 of another unit."""
    run = Run(name="r", path="r", format="wandb")
    rows = [({"params": 1e5, "_step": 0}, None), ({"loss": 1.0, "trainer/global_step": 49, "_step": 1}, None),
            ({"loss": 0.8, "trainer/global_step": 99, "_step": 2}, None), ({"test_acc": 0.9, "_step": 3}, None)]
    wandb.rows_to_series(rows, run)
    assert run.series["params"].step.tolist() == [49] and run.series["test_acc"].step.tolist() == [99]
    assert run.meta["x_axis"] == "trainer/global_step"
