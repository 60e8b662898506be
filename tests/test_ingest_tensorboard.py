"""TensorBoard ingester: grouping and point counts on the real logs, fidelity against TensorBoard's
own EventAccumulator (simple_value and TF2 tensors), the fixtures' layouts, and damaged files.
"""
from __future__ import annotations

import os
import random
import struct
import subprocess
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from advisor.ingest import discover as discover_mod
from advisor.ingest import read as read_source
from advisor.ingest import tensorboard, tfevents, tfrecord
from advisor.model import IngestError, RunSource

from conftest import FIXTURES, REAL_LOGS, real_manifest

TB_FIXTURES = FIXTURES / "tensorboard"
TB_ROWS = [row for row in real_manifest() if row["folder"].startswith("tensorboard/")]

# Folders whose runs are not "one run per manifest row" (MANIFEST notes).
EXPECTED_RUNS = {"tensorboard/sb3-ppo-dead-and-empty": 3, "tensorboard/pytorch-add-scalars-linreg": 2}
EXPECTED_WRITER = {
    "pt-tutorial": "torch", "tbx-": "tensorboardX", "tf1-": "tf1", "keras-": "keras-tf2",
    "lightning-": "lightning", "hf-trainer": "hf-transformers", "yolov5": "yolov5",
    "ultralytics": "ultralytics", "sb3-": "sb3", "pytorch-": "torch",
}


def tb_runs(path: Path):
    sources, problems = discover_mod.discover([path])
    sources = [s for s in sources if s.format == "tensorboard"]
    return sources, [read_source(s) for s in sources], problems


def single_file_source(path: Path) -> RunSource:
    """One event file read on its own: no grouping, no renaming, no restart rule."""
    member = {"dir": str(path.parent), "kind": "self"}
    return RunSource(name=path.name, path=path.parent, format="tensorboard", files=[path], options={"members": [member]})


def event_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file() and "tfevents" in p.name)


# ----------------------------------------------------------------------------- real logs


@pytest.mark.parametrize("row", TB_ROWS, ids=lambda r: r["folder"].split("/", 1)[1])
def test_real_log_folder_matches_manifest(real_logs, row):
    folder = row["folder"]
    sources, runs, problems = tb_runs(real_logs / folder)
    assert len(runs) == EXPECTED_RUNS.get(folder, 1)
    assert not [p for p in problems if "tfevents" in p.path]
    points = sum(r.points for r in runs)
    dropped = sum(e["dropped"] for r in runs for e in r.events if e["kind"] == "restart")
    assert points + dropped == row["points"]
    assert sum(len(r.series) for r in runs) == row["scalar_series"]
    steps = [s.step for r in runs for s in r.series.values() if len(s)]
    if steps:
        assert [int(min(s.min() for s in steps)), int(max(s.max() for s in steps))] == row["x_range"]
    if not dropped:
        assert max((len(s) for r in runs for s in r.series.values()), default=0) == row["max_points_per_series"]
    short = folder.split("/", 1)[1]
    writer = next(w for prefix, w in EXPECTED_WRITER.items() if short.startswith(prefix))
    assert {r.writer for r in runs} == {writer}


def test_real_keras_pair_is_one_run_with_split_prefixes(real_logs):
    _, runs, _ = tb_runs(real_logs / "tensorboard/keras-tf2-imdb-overfit")
    (run,) = runs
    assert run.name.endswith("imdb-model-1690485351")
    assert set(run.series) == {
        "train/epoch_loss", "train/epoch_accuracy", "validation/epoch_loss", "validation/epoch_accuracy",
        "validation/evaluation_loss_vs_iterations", "validation/evaluation_accuracy_vs_iterations",
    }
    assert run.meta["non_scalar_records"]["histograms"] == 120


def test_real_add_scalars_children_join_their_parent(real_logs):
    _, runs, _ = tb_runs(real_logs / "tensorboard/pytorch-add-scalars-linreg")
    by_name = {Path(r.name).name: r for r in runs}
    assert set(by_name["simple_lr"].series) == {"loss/training", "loss/validation"}
    assert len(by_name["simple_lr"].series["loss/training"]) == 1000
    assert set(by_name["test"].series) == {"loss/training", "loss/validation"}  # files without file_version
    _, runs, _ = tb_runs(real_logs / "tensorboard/tbx-2018-add-scalars-synthetic")
    (run,) = runs  # the parent folder has no event file of its own
    assert run.name.endswith("Aug29_15-47-56_DESKTOP-4D03LNH")
    assert set(run.series) == {f"data/scalar_group/{k}" for k in ("arctanx", "xcosx", "xsinx")}


def test_real_estimator_eval_folder_joins_model_dir(real_logs):
    _, runs, _ = tb_runs(real_logs / "tensorboard/tf1-estimator-mnist-cnn")
    (run,) = runs
    assert {"loss", "global_step/sec", "eval/loss", "eval/accuracy"} <= set(run.series)
    assert len(run.series["eval/loss"]) == 14 and set(run.series["eval/loss"].step.tolist()) == {20000}


def test_real_damaged_folder_warns_and_resolves_restart(real_logs):
    _, runs, _ = tb_runs(real_logs / "tensorboard/tbx-2020-mnist-classifier")
    (run,) = runs
    warnings = "\n".join(run.warnings)
    assert "events.out.tfevents.1600154935.yca-2662-2: truncated record at byte 40 (run still being written?)" in warnings
    assert warnings.count("empty file") == 7
    # a second launch logging into the same folder from step 0: the earlier one's points are left out, said once
    folder = str(real_logs / "tensorboard/tbx-2020-mnist-classifier/runs/classifier_mnist_0915")
    assert run.events == [
        {"kind": "restart", "step": 0, "file": "events.out.tfevents.1600155893.yca-2662-2", "folder": folder,
         "tags": ["batch_loss", "Average"], "dropped": 30, "new_training": True}
    ]
    assert "2 trainings logged into one folder" in warnings
    assert len(run.series["batch_loss"]) == 30 and len(run.series["Average"]) == 30


def test_real_header_only_runs_are_empty_not_errors(real_logs):
    _, runs, _ = tb_runs(real_logs / "tensorboard/lightning-tb-empty-header-only")
    (run,) = runs
    assert run.points == 0 and any("no scalar data" in w for w in run.warnings)
    _, runs, _ = tb_runs(real_logs / "tensorboard/sb3-ppo-dead-and-empty")
    assert sorted(r.points for r in runs) == [0, 0, 1572]


def test_real_nan_values_kept(real_logs):
    _, runs, _ = tb_runs(real_logs / "tensorboard/sb3-ppo-entropy-collapse-nan")
    assert int(np.isnan(runs[0].series["train/explained_variance"].value).sum()) == 1998


def test_real_lightning_hparams_yaml_with_python_objects(real_logs):
    _, runs, _ = tb_runs(real_logs / "tensorboard/lightning-tb-memorization-overfit")
    hp = runs[0].hparams
    assert hp["lr"] == 0.001 and hp["batch_size"] == 32
    assert hp["criterion.reduction"] == "mean"
    assert not any(k.startswith("criterion._") for k in hp)


def test_real_tb_file_inside_mlflow_artifacts_is_read(real_logs):
    folder = real_logs / "mlflow/keras-autolog-swahili-ctc"
    tree = discover_mod.walk(folder)
    sources = tensorboard.claim(tree)  # as if the MLflow module had left it unclaimed
    assert len(sources) == 1 and sources[0].path.name == "tensorboard_logs"
    run = tensorboard.read(sources[0])
    assert set(run.series) == {"train/epoch_loss"} and run.points == 10
    assert run.writer == "keras-tf2"
    all_sources, problems = discover_mod.discover([folder])  # whoever claims it, it is read once
    assert not [p for p in problems if "tfevents" in p.path]


# ----------------------------------------------------------------------------- fidelity vs TensorBoard


def _ea_scalar_of_tensor(proto, plugin: str | None):
    from tensorboard.util import tensor_util

    if plugin not in (None, "", "scalars"):
        return None
    if proto.dtype == 14:  # bfloat16: tensorboard's make_ndarray cannot decode it
        bits = np.frombuffer(proto.tensor_content[:2], "<u2").astype(np.uint32) << 16
        return float(bits.view(np.float32)[0])
    array = tensor_util.make_ndarray(proto)
    if array.dtype.kind not in "fiub" or array.size != 1 or (plugin != "scalars" and array.ndim):
        return None
    return float(array.reshape(-1)[0])


def ea_points(path: Path) -> dict[str, list[tuple[int, float, float]]]:
    """Every scalar EventAccumulator (keep-all) sees in one file: Scalars() plus scalar Tensors()."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(path), size_guidance={"scalars": 0, "tensors": 0})
    acc.Reload()
    out = {tag: [(e.step, e.wall_time, e.value) for e in acc.Scalars(tag)] for tag in acc.Tags()["scalars"]}
    for tag in acc.Tags()["tensors"]:
        meta = acc.summary_metadata.get(tag)
        plugin = meta.plugin_data.plugin_name if meta is not None else None
        rows = []
        for event in acc.Tensors(tag):
            value = _ea_scalar_of_tensor(event.tensor_proto, plugin)
            if value is None:
                rows = []
                break
            rows.append((event.step, event.wall_time, value))
        if rows:
            out[tag] = rows
    return out


def _bits(values) -> list[int]:
    return np.asarray(values, dtype=np.float64).view(np.uint64).tolist()


def assert_same_points(run, expected: dict) -> None:
    assert set(run.series) == set(expected)
    for tag, rows in expected.items():
        series = run.series[tag]
        assert series.step.tolist() == [r[0] for r in rows], tag
        assert _bits(series.wall_time) == _bits([r[1] for r in rows]), tag
        assert _bits(series.value) == _bits([r[2] for r in rows]), tag


REAL_EVENT_FILES = event_files(REAL_LOGS) if REAL_LOGS.exists() else []
FIXTURE_EVENT_FILES = event_files(TB_FIXTURES)


def _file_id(path: Path) -> str:
    for root in (REAL_LOGS, TB_FIXTURES):
        if root in path.parents:
            return path.relative_to(root).as_posix()[-90:]
    return path.name


@pytest.mark.parametrize("path", REAL_EVENT_FILES + FIXTURE_EVENT_FILES, ids=_file_id)
def test_every_point_equals_event_accumulator(path):
    expected = ea_points(path)
    try:
        run = tensorboard.read(single_file_source(path))
    except IngestError:
        assert not expected
        return
    assert_same_points(run, expected)


@pytest.mark.parametrize("folder", ["tensorboard/yolov5-tb-exp3-healthy", "tensorboard/lightning-tb-lstm-textgen", "tensorboard/hf-trainer-tb-agnews-learning"])
def test_same_points_as_tbparse(real_logs, folder):
    from tbparse import SummaryReader

    frame = SummaryReader(str(real_logs / folder), pivot=False, extra_columns={"wall_time"}).scalars
    _, runs, _ = tb_runs(real_logs / folder)
    (run,) = runs
    assert run.points == len(frame)
    for tag, rows in frame.groupby("tag", sort=False):
        series = run.series[tag]
        assert series.step.tolist() == rows["step"].tolist()
        assert _bits(series.value) == _bits(rows["value"].to_numpy(np.float64))
        assert _bits(series.wall_time) == _bits(rows["wall_time"].to_numpy(np.float64))


def _points_of(run) -> dict:
    return {t: list(zip(s.step.tolist(), s.wall_time.tolist(), s.value.tolist())) for t, s in run.series.items()}


def test_vectorised_paths_equal_the_field_walker(monkeypatch):
    """The numpy fast path, the learned templates and the protobuf field walker agree exactly."""
    files = FIXTURE_EVENT_FILES + [p for p in REAL_EVENT_FILES if any(k in str(p) for k in ("sb3-ppo-learning", "yolov5-tb-exp3", "keras-tf2", "lightning-tb-lstm"))]
    default = {p: tensorboard.read(single_file_source(p)) for p in files}
    monkeypatch.setattr(tfevents, "_MAX_FAST_LEN", 0)  # templates only
    templates_only = {p: tensorboard.read(single_file_source(p)) for p in files}
    monkeypatch.setattr(tfevents, "_USE_TEMPLATES", False)  # field walker only
    for path in files:
        walker = _points_of(tensorboard.read(single_file_source(path)))
        assert_same_points(default[path], walker)
        assert_same_points(templates_only[path], walker)


def test_small_chunks_give_the_same_points(monkeypatch):
    path = next(p for p in REAL_EVENT_FILES + FIXTURE_EVENT_FILES if "torch_basic" in str(p))
    whole = tensorboard.read(single_file_source(path))
    monkeypatch.setattr(tfevents, "CHUNK_RECORDS", 7)
    chunked = tensorboard.read(single_file_source(path))
    assert_same_points(chunked, _points_of(whole))


# ----------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def fixture_runs():
    sources, problems = discover_mod.discover([TB_FIXTURES])
    assert not problems
    return {Path(s.path).relative_to(TB_FIXTURES).as_posix(): read_source(s) for s in sources if s.format == "tensorboard"}


def test_fixture_grouping(fixture_runs):
    assert sorted(fixture_runs) == sorted([
        "keras_pair", "lightning_logs/version_0", "restart", "tbx_add_scalars", "tbx_basic", "tf2_dtypes",
        "torch_add_scalars", "torch_basic", "torch_hparams",
    ])
    assert set(fixture_runs["torch_add_scalars"].series) == {"lr", "loss/training", "loss/validation"}
    assert set(fixture_runs["tbx_add_scalars"].series) == {"data/scalar_group/xsinx", "data/scalar_group/xcosx"}
    assert {"train/epoch_loss", "validation/epoch_loss", "validation/evaluation_loss_vs_iterations"} <= set(fixture_runs["keras_pair"].series)


def test_fixture_torch_encodings(fixture_runs):
    run = fixture_runs["torch_basic"]
    assert set(run.series) == {"train/loss", "train/acc", "grad_norm", "lr", "lr_double"}
    assert np.isnan(run.series["train/loss"].value[17]) and np.isinf(run.series["grad_norm"].value[1])
    assert run.series["train/acc"].value[0] == float(np.float32(1 / 3))  # float32 widened exactly
    assert run.series["lr_double"].value[1] == 0.1 / 11 and run.series["lr"].value[1] == float(np.float32(0.1 / 11))
    assert {"histogram", "image", "text"} <= set(run.meta["non_scalar_records"])
    assert run.writer == "torch" and not run.warnings


def test_fixture_tf2_tensor_dtypes(fixture_runs):
    run = fixture_runs["tf2_dtypes"]
    x = 0.5 + 1 / 3
    got = {tag: s.value[1] for tag, s in run.series.items()}
    assert got["float_content"] == got["float_val"] == got["carried"] == float(np.float32(x)) == -got["bare_rank0"]
    assert got["double_content"] == got["double_val"] == x
    assert got["half_content"] == got["half_val"] == float(np.float16(x))
    assert got["bfloat16_content"] == float((np.float32(x).view(np.uint32) >> 16 << 16).view(np.float32))
    assert got["int32_val"] == 4 and got["int64_val"] == 2**40 + 1 and got["int64_content"] == -1
    assert "vector" not in run.series and "notes/text_summary" not in run.series


def test_fixture_hparams_and_lightning(fixture_runs):
    run = fixture_runs["lightning_logs/version_0"]
    assert run.writer == "lightning"
    assert run.hparams["batch_size"] == 32 and run.hparams["lr"] == 0.01
    assert run.hparams["optimizer"] == "torch.optim.adam.Adam" and run.hparams["criterion.reduction"] == "mean"
    assert run.series["lr-SGD"].step.tolist() == [8, 8]  # duplicates kept as logged
    # add_hparams' `trial/` folder is the run's hyperparameters, not a run of its own; its summary
    # metrics stay readable under `hparams/` and never compete for a role
    hp_run = fixture_runs["torch_hparams"]
    assert hp_run.hparams == {"lr": 0.1, "bsize": 8.0}
    assert set(hp_run.series) == {"loss", "hparams/hparam/accuracy", "hparams/hparam/loss"}


def test_fixture_restart_rule(fixture_runs):
    run = fixture_runs["restart"]
    loss = run.series["loss"]
    assert loss.step.tolist() == list(range(15))
    assert loss.wall_time[5] >= loss.wall_time[4] + 100  # steps 5.. come from the resumed file
    assert run.events == [{"kind": "restart", "step": 5, "file": run.events[0]["file"], "tags": ["loss"], "dropped": 5}]
    assert run.events[0]["file"].endswith(".b")


def test_fixture_duplicate_steps_kept(fixture_runs):
    assert fixture_runs["tbx_basic"].series["batch_loss"].step.tolist()[:6] == [0, 0, 0, 1, 1, 1]


# ----------------------------------------------------------------------------- damage


def _copy_run(tmp_path: Path, data: bytes, name: str = "events.out.tfevents.1.host") -> Path:
    folder = tmp_path / "run"
    folder.mkdir(exist_ok=True)
    path = folder / name
    path.write_bytes(data)
    return path


def _records(data: bytes) -> list[tuple[int, int]]:
    framing = tfrecord.frame(data, "x")
    return [(s, s + 16 + n) for s, n in zip(framing.starts.tolist(), framing.lengths.tolist())]


def _point_set(run) -> Counter:
    return Counter(
        (tag, int(st), float(w).hex(), float(v).hex() if v == v else "nan")
        for tag, s in run.series.items()
        for st, w, v in zip(s.step, s.wall_time, s.value)
    )


def _points_per_record(path: Path) -> list[Counter]:
    """The points each record of a good file holds (read record by record)."""
    data = path.read_bytes()
    out = []
    for start, end in _records(data):
        single = _copy_run(Path(os.environ["TB_TMP"]), data[start:end], "events.out.tfevents.2.one")
        try:
            out.append(_point_set(tensorboard.read(single_file_source(single))))
        finally:
            single.unlink()
    return out


@pytest.fixture()
def tbx_file(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("TB_TMP", str(tmp_path))
    return next(p for p in FIXTURE_EVENT_FILES if "tbx_basic" in str(p))


def test_truncated_at_every_offset_keeps_complete_records(tmp_path, tbx_file):
    data = tbx_file.read_bytes()
    records = _records(data)
    per_record = _points_per_record(tbx_file)
    for cut in range(len(data) + 1):
        path = _copy_run(tmp_path, data[:cut])
        run = tensorboard.read(single_file_source(path))  # never raises: a short tail is a live run
        expected = sum((pts for (s, e), pts in zip(records, per_record) if e <= cut), Counter())
        assert _point_set(run) == expected, cut
        boundary = cut in {e for _, e in records} or cut == 0
        assert any("truncated record at byte" in w and path.name in w for w in run.warnings) != boundary, cut


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(flips=st.lists(st.tuples(st.integers(0, 10**6), st.integers(1, 255)), min_size=1, max_size=4))
def test_random_byte_flips_keep_every_untouched_record(tmp_path, tbx_file, flips):
    data = bytearray(tbx_file.read_bytes())
    records = _records(bytes(data))
    per_record = _points_per_record(tbx_file)
    original = bytes(data)
    for pos, xor in flips:
        data[pos % len(data)] ^= xor
    touched = {k for k in range(len(data)) if data[k] != original[k]}
    path = _copy_run(tmp_path, bytes(data))
    try:
        run = tensorboard.read(single_file_source(path))
    except IngestError:
        assert all(any(s <= p < e for p in touched) for s, e in records)  # nothing valid was left
        return
    expected = sum((pts for (s, e), pts in zip(records, per_record) if not any(s <= p < e for p in touched)), Counter())
    assert _point_set(run) == expected
    changed = bytes(data) != tbx_file.read_bytes()
    assert bool(run.warnings) == changed
    assert all(path.name in w or "no scalar data" in w for w in run.warnings)


def test_payload_crc_mismatch_mid_file_skips_one_record(tmp_path, tbx_file):
    data = bytearray(tbx_file.read_bytes())
    start, end = _records(bytes(data))[5]
    data[end - 6] ^= 0x40  # inside the float value: the record still parses, only the CRC tells
    path = _copy_run(tmp_path, bytes(data))
    run = tensorboard.read(single_file_source(path))
    assert run.points == 39
    assert [w for w in run.warnings if "CRC mismatch in record payload" in w and str(start) in w and path.name in w]


def test_header_crc_mismatch_resyncs(tmp_path, tbx_file):
    data = bytearray(tbx_file.read_bytes())
    start, end = _records(bytes(data))[3]
    data[start] ^= 0x01  # the length field
    path = _copy_run(tmp_path, bytes(data))
    run = tensorboard.read(single_file_source(path))
    assert run.points == 39
    assert any(f"resynchronised at byte {end}" in w for w in run.warnings)


def test_garbage_alone_raises_but_beside_good_file_only_warns(tmp_path, tbx_file):
    rng = random.Random(7)
    garbage = bytes(rng.randrange(256) for _ in range(3000))
    path = _copy_run(tmp_path, garbage)
    with pytest.raises(IngestError, match=path.name):
        tensorboard.read(single_file_source(path))
    good = path.parent / "events.out.tfevents.9.host"
    good.write_bytes(tbx_file.read_bytes())
    (source,) = tensorboard.claim(discover_mod.walk(path.parent))
    run = tensorboard.read(source)
    assert run.points == 40 and any(path.name in w for w in run.warnings)


def test_zero_length_file_is_an_empty_run(tmp_path):
    path = _copy_run(tmp_path, b"")
    run = tensorboard.read(single_file_source(path))
    assert run.points == 0 and any("empty file" in w for w in run.warnings)


# ----------------------------------------------------------------------------- plumbing


def test_importing_the_ingester_loads_neither_tensorboard_nor_pandas():
    code = (
        "import sys, advisor.ingest.tensorboard, advisor.ingest.tfevents, advisor.ingest.tb_assemble;"
        "bad = [m for m in ('tensorboard', 'pandas', 'torch') if m in sys.modules]; print(bad); sys.exit(bool(bad))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=Path(__file__).parents[1])
    assert done.returncode == 0, done.stdout + done.stderr


def test_claim_peeks_only_at_file_heads(tmp_path, monkeypatch):
    """claim() may read the first 4 KiB of a file, never a whole event file."""
    sizes = []
    real_open = open

    def spy(path, mode="r", *args, **kwargs):
        handle = real_open(path, mode, *args, **kwargs)
        if "b" in mode and "tfevents" in str(path):
            original = handle.read
            handle.read = lambda n=-1: sizes.append(n) or original(n)
        return handle

    monkeypatch.setattr("builtins.open", spy)
    real_os_read = os.read  # advisor.limits.read_head reads through os.read (O_NONBLOCK: no FIFO hangs)
    monkeypatch.setattr(os, "read", lambda fd, n: sizes.append(n) or real_os_read(fd, n))
    tensorboard.claim(discover_mod.walk(TB_FIXTURES))
    assert sizes and all(0 < n <= tfevents.PEEK_BYTES for n in sizes)


def test_bench_smoke():
    sys.path.insert(0, str(Path(__file__).parents[1] / "bench"))
    import bench_ingest

    root = TB_FIXTURES / "torch_basic"
    compared, problems = bench_ingest.check_equal(bench_ingest.read_advisor(root), bench_ingest.read_event_accumulator(root))
    assert compared == 69 and not problems  # 63 simple_value points + 6 new_style tensor scalars


def test_header_struct_matches_format():
    assert tfrecord._HEADER.size == 12 and struct.calcsize("<Q") == 8


def test_single_event_file_given_directly():
    path = next(p for p in FIXTURE_EVENT_FILES if "tbx_basic" in str(p))
    sources, runs, problems = tb_runs(path)
    assert len(runs) == 1 and runs[0].points == 40 and not problems
    assert sources[0].files == [path]


def test_keras_split_given_alone_keeps_its_prefix():
    sources, runs, _ = tb_runs(TB_FIXTURES / "keras_pair" / "validation")
    (run,) = runs
    assert Path(sources[0].path).name == "validation"  # the parent is outside what was given
    assert set(run.series) == {"validation/epoch_loss", "validation/epoch_accuracy", "validation/evaluation_loss_vs_iterations"}


def test_relative_path_names_runs_from_its_parent(monkeypatch):
    monkeypatch.chdir(FIXTURES)
    sources, _ = discover_mod.discover(["tensorboard"])
    names = {s.name for s in sources if s.format == "tensorboard"}
    assert {"tensorboard/keras_pair", "tensorboard/torch_hparams", "tensorboard/lightning_logs/version_0"} <= names


def _naive_starts(data: bytes) -> list[int]:
    starts, off = [], 0
    while off + 12 <= len(data):
        length = struct.unpack_from("<Q", data, off)[0]
        if off + 16 + length > len(data):
            break
        starts.append(off)
        off += 16 + length
    return starts


@pytest.mark.parametrize("path", [p for p in REAL_EVENT_FILES + FIXTURE_EVENT_FILES if p.stat().st_size > 50_000] + FIXTURE_EVENT_FILES[:3], ids=_file_id)
def test_extrapolating_framer_equals_the_sequential_chain(path):
    data = path.read_bytes()
    assert tfrecord.frame(data, path.name).starts.tolist() == _naive_starts(data)


def _record(payload: bytes) -> bytes:
    header = struct.pack("<Q", len(payload))
    return header + struct.pack("<I", tfrecord.masked_crc(header)) + payload + struct.pack("<I", tfrecord.masked_crc(payload))


def test_malformed_event_with_valid_crc_is_skipped_with_a_warning(tmp_path, tbx_file):
    value = b"\x0a\x01x" + b"\x42\x02\x0a\xff"  # tag "x", tensor whose only field overruns it
    summary = b"\x0a" + bytes([len(value)]) + value
    event = b"\x09" + struct.pack("<d", 1.0) + b"\x2a" + bytes([len(summary)]) + summary
    path = _copy_run(tmp_path, tbx_file.read_bytes() + _record(event))
    run = tensorboard.read(single_file_source(path))
    assert run.points == 40
    assert any("malformed event" in w and path.name in w for w in run.warnings)


def test_tf_hparams_dashboard_study_keeps_each_trial_a_run():
    """TensorFlow's HParams layout (tests/data/formats/tf-hparams-study, written by TensorFlow): the study
    folder holds only `hp.hparams_config`'s experiment, each trial folder its `hp.hparams(...)` session and
    its curves. The trials were read as torch `add_hparams` children of the study folder: one run, whose
    trials overwrote each other as restarts (a public tutorial's 18 trials of 15,000 points read as 1)."""
    from advisor.pipeline import read_runs
    from advisor.roles import build_curves

    study = Path(__file__).parent / "data" / "formats" / "tf-hparams-study" / "hparam_tuning"
    runs, errors = read_runs([study])
    assert not errors and sorted(Path(r.name).name for r in runs) == ["run-0", "run-1", "run-2"]
    for run in runs:
        curves, roles = build_curves(run)
        assert roles == {"train_loss": "loss"} and len(curves.get("train_loss").y) == 60 and not run.events
        assert run.hparams["optimizer"] == "sgd" and run.hparams["learning_rate"] in (0.01, 0.3, 3.0)
    assert sorted(r.hparams["learning_rate"] for r in runs) == [0.01, 0.3, 3.0]


def test_a_standalone_evaluation_in_a_later_file_does_not_cut_the_evaluations(tmp_path):
    """HF's `trainer.evaluate()` from a fresh Trainer writes eval/* at global step 0 into the run's folder
    in a new event file. Read as a training resumed from step 0, it cut every earlier evaluation: a public
    notebook's three at steps 3,125-9,375 gave way to one point at step 0, and the run had no val curve.
    A later file of one point per tag at one step every earlier tag had passed is an evaluation: an event,
    not a restart. (Written with torch's SummaryWriter in HF's layout.)"""
    from torch.utils.tensorboard import SummaryWriter

    from advisor.pipeline import read_runs
    from advisor.roles import build_curves

    run = tmp_path / "logs"
    w = SummaryWriter(run, filename_suffix=".0")
    for step in range(10, 310, 10):
        w.add_scalar("train/loss", 2.3 / (1 + step / 50), step)
    for step in (100, 200, 300):
        w.add_scalar("eval/loss", 2.0 / (1 + step / 60), step)
        w.add_scalar("eval/runtime", 1.5, step)
    w.close()
    w = SummaryWriter(run, filename_suffix=".1")
    for tag, value in (("eval/loss", 0.5), ("eval/runtime", 1.4), ("eval/model_preparation_time", 0.01)):
        w.add_scalar(tag, value, 0)
    w.close()
    runs, errors = read_runs([run])
    assert not errors and len(runs) == 1
    curves, roles = build_curves(runs[0])
    assert roles["val_loss"] == "eval/loss" and curves.get("val_loss").x.tolist() == [100, 200, 300]
    assert [e["kind"] for e in runs[0].events] == ["standalone_eval"] and runs[0].events[0]["dropped"] == 3


def test_sibling_run_folders_are_not_checked_for_an_hparams_study(tmp_path, monkeypatch):
    """The TF HParams study check compared every run folder with every other (any(folder in d.parents for d
    in ...)): 5,000 sibling run folders took 244 s to discover instead of 1.7 s. Only a folder with event
    folders below it is a candidate study now; siblings are never checked."""
    from advisor.ingest import tensorboard
    from advisor.ingest.discover import discover

    data = next((FIXTURES / "tensorboard" / "torch_basic").glob("*tfevents*")).read_bytes()
    for i in range(300):
        (tmp_path / f"run{i:03d}").mkdir()
        (tmp_path / f"run{i:03d}" / f"events.out.tfevents.1700000000.h.{i}.0").write_bytes(data)
    calls = []
    real = tensorboard._tf_hparams_config
    monkeypatch.setattr(tensorboard, "_tf_hparams_config", lambda *a: calls.append(a) or real(*a))
    sources, _ = discover([tmp_path])
    assert len(sources) == 300 and calls == []


def _hf_training(folder: Path, suffix: str, steps: range, evals: tuple = (), start: float = 2.3):
    """One `trainer.train()` as HF's TensorBoardCallback logs it: a new event file in `logging_dir`."""
    from torch.utils.tensorboard import SummaryWriter

    w = SummaryWriter(folder, filename_suffix=suffix)
    for step in steps:
        w.add_scalar("train/loss", start / (1 + step / 50), step)
        w.add_scalar("train/learning_rate", 5e-5, step)
    for step in evals:
        w.add_scalar("eval/loss", start / (1 + step / 60), step)
    w.close()


def test_several_trainings_in_one_logging_dir_read_the_last_and_say_so(tmp_path):
    """A public HF notebook (RTiberiu/CM4107-...-CW, `logs/`) called trainer.train() three times with one
    logging_dir: 9,375 steps logged every 10, then 700 every 100, then 3,128 every 500, and a final evaluate().
    The restart rule kept each later file's points from its first step on, so train/loss read 10-90 from the
    first training, 100-400 from the second and 500-3,000 from the third, as one run, without a word. Now a
    file that starts over (its first step 0 or within one logging interval) drops every earlier point of its
    folder; one warning names the files and the count. (Written with torch's SummaryWriter in HF's layout.)"""
    from advisor.pipeline import read_runs
    from advisor.roles import build_curves

    logs = tmp_path / "logs"
    _hf_training(logs, ".0", range(10, 940, 10), evals=(310, 620, 930))
    _hf_training(logs, ".1", range(100, 800, 100), start=2.0)
    _hf_training(logs, ".2", range(50, 350, 50), evals=(100, 200, 300), start=1.5)
    runs, errors = read_runs([logs])
    assert not errors and len(runs) == 1
    run = runs[0]
    assert run.series["train/loss"].step.tolist() == [50, 100, 150, 200, 250, 300]
    curves, roles = build_curves(run)
    assert curves.get("val_loss").x.tolist() == [100, 200, 300]
    starts = [e for e in run.events if e.get("new_training")]
    assert [(e["step"], e["file"].rsplit(".", 1)[-1], e["dropped"]) for e in starts] == [(100, "1", 93 * 2 + 3), (50, "2", 7 * 2)]
    (warning,) = [w for w in run.warnings if "trainings" in w]
    assert warning.startswith(f"{logs}: 3 trainings logged into one folder") and starts[1]["file"] in warning


def test_a_resumed_training_keeps_its_earlier_steps(tmp_path):
    """resume_from_checkpoint: the new file starts past its first logging interval (checkpoint 150 + 10):
    the restart rule as before, the steps before it kept, no warning."""
    from advisor.pipeline import read_runs

    logs = tmp_path / "logs"
    _hf_training(logs, ".0", range(10, 210, 10), evals=(100, 200))
    _hf_training(logs, ".1", range(160, 310, 10), evals=(200, 300))
    (run,), _ = read_runs([logs])
    assert run.series["train/loss"].step.tolist() == list(range(10, 310, 10))
    assert run.series["eval/loss"].step.tolist() == [100, 200, 300]
    assert not any(e.get("new_training") for e in run.events) and not any("trainings" in w for w in run.warnings)


def test_a_yolov5_runs_side_configs_are_its_hparams_and_its_lr_is_the_weights_group():
    """A public YOLOv5 run (KyrieRui/YOLO5_River_Reading, runs/train/exp2; its event file trimmed to the scalar
    records by trim.py) logs one LR per parameter group: `x/lr0` is the biases' warmup (0.0802 falling to 0.006),
    `x/lr1`/`x/lr2` the weights' (0.0022 rising to 0.0064), and hyp.yaml/opt.yaml beside it say lr0 0.01, SGD,
    batch 16. Before, the TensorBoard reader read only hparams.yaml, and the LR was x/lr0's 0.0802 (8x the real
    one, which vetoed the 'still improving' reading); the CSV reader of the same run folder already read them."""
    from advisor.pipeline import diagnose_paths
    from advisor.roles import build_curves

    folder = Path(__file__).resolve().parent / "data" / "formats" / "yolov5-tb-side-configs" / "runs" / "train" / "exp2"
    _, (run,), _ = tb_runs(folder)
    assert run.writer == "yolov5" and run.hparams["hyp.lr0"] == 0.01 and run.hparams["optimizer"] == "SGD"
    curves, roles = build_curves(run)
    assert roles["lr"] == "x/lr1"
    assert {k: curves.hparams[k] for k in ("lr", "optimizer", "batch_size")} == {"lr": 0.01, "optimizer": "SGD",
                                                                                    "batch_size": 16}
    assert [f.rule for f in diagnose_paths([str(folder)]).runs[0].findings] == ["SLOW001"]


def test_ultralytics_auto_optimizer_lr_comes_from_the_logged_groups(tmp_path):
    """Ultralytics' `optimizer: auto` ignores `lr0` (AdamW at 0.002 * 5 / (4 + nc) for a short training): args.yaml's
    lr0 is not the LR that ran, the weights' `lr/pg1` is (its bias group pg0 warms up from warmup_bias_lr)."""
    from advisor.roles import build_curves, normalise_hparams

    assert normalise_hparams({"lr0": 0.001, "optimizer": "auto", "batch": 16}) == {"batch_size": 16}
    assert normalise_hparams({"lr0": 0.01, "optimizer": "SGD"}) == {"lr": 0.01, "optimizer": "SGD"}
    from advisor.ingest.csv_logs import read_csv_text
    rows = "".join(f"{e},{1 / e},{0.1 - 0.03 * min(e, 3)},{0.0007 * min(e, 3)},{0.0007 * min(e, 3)}\n" for e in range(1, 6))
    run = read_csv_text("epoch,train/box_loss,lr/pg0,lr/pg1,lr/pg2\n" + rows, "results.csv")
    curves, roles = build_curves(run)
    assert roles["lr"] == "lr/pg1" and curves.hparams["lr"] == pytest.approx(0.0021)
    # a modified YOLOv5 fork (real-logs yolov5-tb-exp-modified) logs x/lr0 as 0 and the bias warmup as x/lr1: the
    # weights' group is the one that starts lowest, x/lr2
    rows = "".join(f"{e},{1 / e},0,{0.067 / e},{0.0003 * e}\n" for e in range(1, 6))
    run = read_csv_text("epoch,train/box_loss,x/lr0,x/lr1,x/lr2\n" + rows, "results.csv")
    assert build_curves(run)[1]["lr"] == "x/lr2"
