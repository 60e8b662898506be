"""The live readers of the text formats (advisor.live.tail_text) read only what a file gained and
build the Run the one-shot reader builds from the same bytes.

Real logs are copied and grown in random cuts (most cuts fall inside a line); after every poll
the live Run is compared with `advisor.ingest.read` of the same bytes, point for point, warnings
and events included. The one-shot readers are made to fail while the live reader works, and the
bytes it reads are counted: the file once, plus the few bytes it checks again at each poll.
"""
from __future__ import annotations

import os
import random
import shutil
from pathlib import Path

import numpy as np
import pytest

from advisor import ingest
from advisor.ingest import csv_logs, mlflow, wandb
from advisor.ingest.discover import discover
from advisor.live import tail_text
from advisor.live.tail import tail_for
from advisor.live.tail_text import ANCHOR, CsvTail, MlflowFileStoreTail, WandbHistoryTail

REAL = Path(os.environ.get("ADVISOR_SHARED", "/work/shared")) / "real-logs"


def assert_same_run(live, full) -> None:
    assert (live.name, live.path, live.format, live.writer) == (full.name, full.path, full.format, full.writer)
    assert live.warnings == full.warnings
    assert live.events == full.events
    assert live.meta == full.meta
    assert live.hparams == full.hparams
    assert list(live.series) == list(full.series)
    for tag, series in full.series.items():
        got = live.series[tag]
        np.testing.assert_array_equal(got.step, series.step, err_msg=tag)
        np.testing.assert_array_equal(got.value, series.value, err_msg=tag)
        np.testing.assert_array_equal(got.wall_time, series.wall_time, err_msg=tag)


def full_read(source):
    """The one-shot reader's Run, or its error message."""
    try:
        return ingest.read(source)
    except ingest.IngestError as exc:
        return str(exc)


def live_read(reader):
    try:
        return reader.run()
    except ingest.IngestError as exc:
        return str(exc)


def compare(reader, source) -> None:
    live, full = live_read(reader), full_read(source)
    if isinstance(full, str):
        assert live == full
    else:
        assert not isinstance(live, str), live
        assert_same_run(live, full)


def _append(path: Path, data: bytes, tick: int) -> None:
    with open(path, "ab") as handle:
        handle.write(data)
    os.utime(path, ns=(tick, tick))  # an mtime that changes even within the clock's resolution


def grow_and_compare(logs: dict[Path, bytes], root: Path, kind, seed: int, steps: int = 25):
    """Write `logs` (target path -> final bytes) in `steps` random cuts each, polling a live
    reader of type `kind` after each; compare it with the one-shot reader after every poll."""
    rng = random.Random(seed)
    cuts = {p: sorted(rng.sample(range(1, len(d)), min(steps - 1, len(d) - 1))) + [len(d)] for p, d in logs.items()}
    done = {p: 0 for p in logs}
    for p in logs:
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(b"")
    reader = None
    for k in range(steps):
        for p, data in logs.items():
            end = cuts[p][min(k, len(cuts[p]) - 1)]
            _append(p, data[done[p]:end], 10**9 * (k + 1))
            done[p] = end
        sources, _ = discover([str(root)])
        if not sources and k < steps - 1:
            continue  # a table is claimed once its first lines look like one (sniffing a cut head)
        assert len(sources) == 1, sources
        if reader is None:
            reader = tail_for(sources[0])
            assert isinstance(reader, kind)
        reader.update_source(sources[0])
        reader.poll()
        compare(reader, sources[0])
    return reader, steps


def _bytes_read(reader) -> int:
    files = [reader.file] if isinstance(reader, CsvTail) else [log.file for log in reader.logs.values()]
    return sum(f.bytes_read for f in files)


def _max_check(reader) -> int:
    """The bytes a poll may read again to check the file is the one read so far."""
    if isinstance(reader, CsvTail):
        return ANCHOR + len(reader.file.head)
    return ANCHOR


def _csv_logs():
    if not REAL.exists():
        pytest.skip("real logs not available")
    sources, _ = discover([str(REAL / "csv")])
    return [s for s in sources if s.format == "csv"]


@pytest.fixture
def one_shot_readers_fail(monkeypatch):
    """The live readers must not fall back on reading a file whole."""
    def refuse(*args, **kwargs):
        raise AssertionError("a whole file was read")

    monkeypatch.setattr(csv_logs, "read", refuse)
    monkeypatch.setattr(wandb, "_rows_from_jsonl", refuse)
    monkeypatch.setattr(mlflow, "_metric_file_lines", refuse)
    monkeypatch.setattr(tail_text.csv_logs, "read", refuse)


def test_every_real_csv_log_grown_in_random_cuts_reads_as_the_one_shot_reader(tmp_path, monkeypatch):
    sources = _csv_logs()
    assert len(sources) >= 10
    for i, source in enumerate(sources):
        path = Path(source.path)
        root = tmp_path / f"run{i}"
        for side in source.files[1:]:
            (root / Path(side).name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(side, root / Path(side).name)
        data = path.read_bytes()
        with monkeypatch.context() as m:
            reader, polls = grow_and_compare({root / path.name: data}, root, CsvTail, seed=i)
            m.setattr(csv_logs, "read", lambda *a: pytest.fail("whole-file read"))
            reader.poll()
            compare_with = csv_logs.run_from_table  # the live reader's only way to a Run
            assert compare_with is tail_text.csv_logs.run_from_table
        # every byte once, plus the header and anchor checked again at each poll
        assert len(data) <= _bytes_read(reader) <= len(data) + polls * _max_check(reader), source.path


def _lines_csv(rows: int, start: int = 0, columns: tuple[str, ...] = ("loss", "acc"), header: bool = True) -> str:
    values = {"loss": lambda s: f"{1.0 / (s + 1):.6f}", "acc": lambda s: f"{s / (s + 7):.4f}"}
    body = "".join(",".join([str(s)] + [values[c](s) for c in columns]) + "\n" for s in range(start, start + rows))
    return (",".join(("step",) + columns) + "\n" if header else "") + body


def test_appended_rows_are_read_once_and_the_whole_reader_never_runs(tmp_path, one_shot_readers_fail):
    path = tmp_path / "run" / "metrics.csv"
    path.parent.mkdir()
    path.write_text(_lines_csv(10))
    source = discover([str(path.parent)])[0][0]
    reader = CsvTail(source)
    reader.poll()
    polls = 1
    for chunk in range(200):
        text = _lines_csv(50, start=10 + 50 * chunk, header=False)
        _append(path, text.encode(), 10**9 * (chunk + 2))
        assert reader.poll()
        polls += 1
    assert not reader.poll()  # nothing new: nothing read, nothing to diagnose again
    run = reader.run()
    assert len(run.series["loss"]) == 10 + 200 * 50
    size = path.stat().st_size
    assert size <= reader.file.bytes_read <= size + polls * (ANCHOR + len(reader.file.head))
    monkeypatch_free = csv_logs.parse_table(path.read_text(), ".csv")
    assert monkeypatch_free.n_rows == 10 + 200 * 50


CASES = {
    # Lightning's CSVLogger rewrites metrics.csv whole, with a wider header, when a metric appears
    "rewritten_header": [_lines_csv(30, columns=("loss",)), _lines_csv(30) + _lines_csv(30, 30, header=False)],
    # a new run truncates the file and has already written past the old length at the next poll
    "restarted_longer": [_lines_csv(20), _lines_csv(40).replace(",0.", ",9.")],
    "restarted_shorter": [_lines_csv(40), _lines_csv(5)],
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_rewritten_or_restarted_csv_is_read_again_from_its_start(tmp_path, case):
    path = tmp_path / "run" / "metrics.csv"
    path.parent.mkdir()
    reader = None
    for n, version in enumerate(CASES[case]):
        with open(path, "r+b" if path.exists() else "wb") as handle:  # in place: same inode
            handle.seek(0)
            handle.truncate()
            handle.write(version.encode())
        os.utime(path, ns=(10**9 * (n + 1),) * 2)
        source = discover([str(path.parent)])[0][0]
        reader = reader or CsvTail(source)
        reader.poll()
        compare(reader, source)
        loss = reader.run().series["loss"]
        assert list(loss.value) == [float(line.split(",")[1]) for line in version.splitlines()[1:]]


def test_awkward_csv_grown_byte_by_byte_equals_the_one_shot_reader(tmp_path):
    """Quoted cells over several lines, CRLF, a BOM, a resumed run's repeated header, blank and
    garbled lines, a long (tag, step, value) table: cut at every few bytes."""
    wide = ("\ufeffepoch,loss,note\r\n" + "".join(f'{e},{1 / (e + 1):.4f},"line one\r\nline {e}"\r\n' for e in range(6))
            + "\r\n7,oops\r\n" + "".join(f"{e},{0.5 / (e + 1):.4f},plain\r\n" for e in range(8, 14))
            + "epoch,loss,note\r\n" + "".join(f'{e},{0.3:.4f},"x"\r\n' for e in range(4)) + "5,0.2")
    long = "tag,step,value\n" + "".join(f"{t},{s},{s * 0.1}\n" for s in range(12) for t in ("loss", "val_loss", "lr"))
    for name, text in (("wide.csv", wide), ("long.csv", long)):
        data = text.encode("utf-8")
        for seed in range(3):
            root = tmp_path / f"{name}-{seed}"
            grow_and_compare({root / name: data}, root, CsvTail, seed=seed, steps=min(60, len(data)))


def _copy_tree(src: Path, dst: Path, is_log) -> dict[Path, bytes]:
    """Copy everything but the line logs, which are returned (target -> bytes) to be grown."""
    logs = {}
    for f in sorted(src.rglob("*")):
        if f.is_file() and "artifacts" not in f.relative_to(src).parts:  # (a TensorBoard run of its own)
            target = dst / f.relative_to(src)
            target.parent.mkdir(parents=True, exist_ok=True)
            if is_log(f):
                logs[target] = f.read_bytes()
            else:
                shutil.copy(f, target)
    return logs


def test_wandb_history_jsonl_grown_reads_as_the_one_shot_reader(tmp_path, monkeypatch):
    src = REAL / "wandb" / "wandb-0.8-legacy-spaceinvaders-dqn"
    if not src.exists():
        pytest.skip("real logs not available")
    for seed in range(2):
        root = tmp_path / f"w{seed}"
        logs = _copy_tree(src, root, lambda f: f.name == "wandb-history.jsonl")
        reader, polls = grow_and_compare(logs, root, WandbHistoryTail, seed=seed)
        size = sum(map(len, logs.values()))
        assert size <= _bytes_read(reader) <= size + polls * ANCHOR
        full = ingest.read(discover([str(root)])[0][0])
        with monkeypatch.context() as m:
            m.setattr(wandb, "_rows_from_jsonl", lambda *a: pytest.fail("whole-file read"))
            reader.poll()
            assert_same_run(reader.run(), full)
        assert len(full.series) == 2 and len(full.series["episodic_reward"]) > 50


def test_mlflow_metric_files_grown_read_as_the_one_shot_reader(tmp_path, monkeypatch):
    src = REAL / "mlflow" / "keras-autolog-swahili-ctc"
    if not src.exists():
        pytest.skip("real logs not available")
    sources, _ = discover([str(src)])
    run_dir = Path(next(s for s in sources if s.format == "mlflow").path)
    root = tmp_path / "m"
    logs = _copy_tree(run_dir, root / "mlruns" / "1" / run_dir.name, lambda f: f.parent.name == "metrics")
    (root / "mlruns" / "1" / "meta.yaml").write_text("experiment_id: '1'\nname: live\nlifecycle_stage: active\n")
    # a corrupted line and a line being written must read as the one-shot reader reads them
    first = next(iter(logs))
    logs[first] = logs[first] + b"garbage here now\n1628697999000 0.5"
    reader, polls = grow_and_compare(logs, root, MlflowFileStoreTail, seed=3)
    size = sum(map(len, logs.values()))
    assert size <= _bytes_read(reader) <= size + polls * ANCHOR * len(logs)
    run = reader.run()
    assert any("unreadable line" in w for w in run.warnings)
    monkeypatch.setattr(mlflow, "_metric_file_lines", lambda *a: pytest.fail("whole-file read"))
    reader.poll()
    assert_same_run(reader.run(), run)


def test_hf_output_folder_parses_only_the_state_files_that_changed(tmp_path):
    """Trainer rewrites trainer_state.json whole at each save: a changed file is parsed whole,
    the checkpoints' files that did not change are not parsed again."""
    from advisor.live.tail_text import HfStatesTail

    fixture = Path(__file__).resolve().parents[1] / "fixtures" / "hf" / "tiny-run"
    root = tmp_path / "out"
    root.mkdir()
    shutil.copy(fixture / "training_args.json", root)
    shutil.copytree(fixture / "checkpoint-4", root / "checkpoint-4")

    def look():
        source = discover([str(root)])[0][0]
        reader.update_source(source)
        changed = reader.poll()
        compare(reader, source)
        return changed

    reader = HfStatesTail(discover([str(root)])[0][0])
    assert look() and reader.parsed == 1
    assert not look() and reader.parsed == 1  # nothing changed: nothing parsed
    shutil.copytree(fixture / "checkpoint-8", root / "checkpoint-8")
    assert look() and reader.parsed == 2  # only the new checkpoint's file
    shutil.copytree(fixture / "checkpoint-12", root / "checkpoint-12")
    shutil.copy(fixture / "trainer_state.json", root)
    assert look() and reader.parsed == 4
    state = root / "trainer_state.json"
    state.write_text(state.read_text()[:-40])  # caught mid-rewrite: recovered as the one-shot reader does
    assert look() and reader.parsed == 5
    assert [w.split(": ", 1)[1].split(" (")[0] for w in reader.run().warnings] == ["JSON cut or damaged"]


def _wandb_binary_runs():
    runs = sorted((REAL / "wandb").glob("wandb-binary-*/wandb/run-*"))
    if not runs:
        pytest.skip("real logs not available")
    return runs


def test_wandb_binary_logs_grown_in_random_cuts_read_as_the_one_shot_reader(tmp_path, monkeypatch):
    """Each real `.wandb` is written in 25 random cuts (most inside a chunk, some inside a
    chunk header); only the chunks appended are framed and decoded."""
    from advisor.live.tail_text import WandbRunTail

    for i, run_dir in enumerate(_wandb_binary_runs()):
        root = tmp_path / f"w{i}" / run_dir.name
        logs = _copy_tree(run_dir, root, lambda f: f.suffix == ".wandb")
        reader, polls = grow_and_compare(logs, root, WandbRunTail, seed=i)
        size = sum(map(len, logs.values()))
        assert size <= _bytes_read(reader) <= size + polls * ANCHOR
        assert all(log.whole_reads == 0 for log in reader.logs.values())
        full = ingest.read(discover([str(root)])[0][0])
        with monkeypatch.context() as m:
            m.setattr(wandb, "_whole_log", lambda *a: pytest.fail("whole-file read"))
            reader.poll()
            assert_same_run(reader.run(), full)


def test_damaged_wandb_binary_log_grown_reads_as_the_one_shot_reader(tmp_path):
    """Bytes inserted into a chunk, a chunk's bytes overwritten, a run of zeros: the live reader
    ends where the one-shot reader's resync does, whatever the cuts."""
    from advisor.live.tail_text import WandbRunTail

    run_dir = _wandb_binary_runs()[1]
    data = next(run_dir.glob("run-*.wandb")).read_bytes()
    damaged = {
        "inserted": data[:40_000] + b"12345" + data[40_000:],
        "overwritten": data[:70_000] + bytes(b ^ 0x5A for b in data[70_000:70_300]) + data[70_300:],
        "zeros": data[:50_000] + b"\0" * 40 + data[50_040:],
    }
    for name, broken in damaged.items():
        root = tmp_path / name / run_dir.name
        logs = _copy_tree(run_dir, root, lambda f: f.suffix == ".wandb")
        logs = {path: broken for path in logs}
        reader, _ = grow_and_compare(logs, root, WandbRunTail, seed=7, steps=30)
        assert any("chunk at byte" in w for w in reader.run().warnings), name
        assert all(log.whole_reads == 0 for log in reader.logs.values())
