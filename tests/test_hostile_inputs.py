"""Hostile and huge inputs (issue 14): the minimal reproducers of the fuzz campaign, one test each.

Each of these failed on the main of the day the issue was filed: a YAML bomb grew memory without
end, a FIFO named like a log hung discovery, one bad value dropped a whole run (and so flipped the
exit code from 1 to 0), unreadable files were skipped in silence or described wrongly. Commands that
could hang or eat memory on a regression run in a subprocess with a timeout and a memory cap
(`resource.setrlimit`), so a regression fails the test instead of the machine.
"""
from __future__ import annotations

import json
import os
import resource
import shutil
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from advisor.pipeline import read_runs

from conftest import FIXTURES, REPO

MEMORY_CAP = 1 << 30  # 1 GiB of address space for one advisor call


def _cap_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_CAP + (512 << 20), MEMORY_CAP + (512 << 20)))


def advisor(*args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    """The real CLI in a subprocess under a memory cap and a timeout (a hang fails, not blocks)."""
    env = {**os.environ, "PYTHONPATH": str(REPO), "NO_COLOR": "1"}
    try:
        return subprocess.run([sys.executable, "-m", "advisor.cli", *args], capture_output=True, text=True,
                              env=env, cwd=REPO, timeout=timeout, preexec_fn=_cap_memory)
    except subprocess.TimeoutExpired:
        pytest.fail(f"advisor {' '.join(args)} still running after {timeout} s")


def diagnose_json(path: Path, *extra: str) -> tuple[int, dict, str]:
    proc = advisor("diagnose", str(path), "--format", "json", *extra)
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc.returncode, json.loads(proc.stdout or "{}"), proc.stderr


def csv_run(folder: Path, rows: int = 80) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    y = 0.1 + 2.2 * np.exp(-np.arange(rows) / 20)
    (folder / "metrics.csv").write_text("step,loss\n" + "".join(f"{i},{v:.5f}\n" for i, v in enumerate(y)))
    return folder


# ----------------------------------------------------------------------------- 1. memory bomb

# 746 bytes that expand to 9^9 keys when every alias is followed.
BILLION_LAUGHS = "a: &a {" + ", ".join(f"k{i}: lol" for i in range(9)) + "}\n" + "".join(
    f"{b}: &{b} {{" + ", ".join(f"k{i}: *{a}" for i in range(9)) + "}\n" for a, b in zip("abcdefgh", "bcdefghi"))


@pytest.mark.parametrize("where", ["lightning-tb", "csv-side", "wandb-config"])
def test_yaml_billion_laughs_is_refused_with_a_warning(tmp_path, where):
    if where == "lightning-tb":
        run = tmp_path / "version_0"
        shutil.copytree(FIXTURES / "tensorboard" / "lightning_logs" / "version_0", run)
        (run / "hparams.yaml").write_text(BILLION_LAUGHS)
    elif where == "csv-side":
        run = csv_run(tmp_path / "run")
        (run / "hparams.yaml").write_text(BILLION_LAUGHS)
    else:
        run = tmp_path / "wandb"
        shutil.copytree(FIXTURES / "runs" / "plateau-saddle" / "wandb", run)
        (next(run.glob("run-*")) / "files" / "config.yaml").write_text(BILLION_LAUGHS)
    proc = advisor("runs", str(run), "--format", "json")
    assert proc.returncode == 0, proc.stderr
    (row,) = json.loads(proc.stdout)["runs"]
    assert row["points"] > 0
    assert any("expands to more than" in w for w in row["warnings"]), row["warnings"]


def test_yaml_alias_bound_can_be_raised(tmp_path):
    run = csv_run(tmp_path / "run")
    (run / "hparams.yaml").write_text("a: &a {x: 1, y: 2}\nb: {p: *a, q: *a, r: *a}\n")  # 14 nodes expanded
    proc = advisor("runs", str(run), "--format", "json", "--limit", "yaml_nodes=10")
    assert any("more than 10 nodes" in w for w in json.loads(proc.stdout)["runs"][0]["warnings"])
    proc = advisor("runs", str(run), "--format", "json", "--limit", "yaml_nodes=100")
    assert json.loads(proc.stdout)["runs"][0]["hparams"]["b.q.y"] == 2


# ----------------------------------------------------------------------------- 2. hangs


@pytest.mark.parametrize("name", ["events.out.tfevents.1.host", "metrics.csv", "trainer_state.json",
                                  "run-abc.wandb", "mlflow.db", "wandb-history.jsonl"])
def test_fifo_named_like_a_log_is_skipped_not_waited_on(tmp_path, name):
    good = csv_run(tmp_path / "good")
    trap = tmp_path / "trap"
    trap.mkdir()
    os.mkfifo(trap / name)
    code, report, err = diagnose_json(tmp_path)
    assert [r["run"] for r in report["runs"]] == [str(good)]
    assert any(e["path"].endswith(name) and "FIFO" in e["message"] for e in report["errors"]), report["errors"]


def test_zero_filled_event_file_is_skipped_without_a_per_byte_scan(tmp_path, monkeypatch):
    from advisor.ingest import tfrecord

    calls = []
    real = tfrecord._header_ok
    monkeypatch.setattr(tfrecord, "_header_ok", lambda buf, off: calls.append(off) or real(buf, off))
    with open(tmp_path / "events.out.tfevents.1.host", "wb") as fh:
        fh.truncate(2 << 20)  # 2 MiB of zeros (sparse)
    runs, errors = read_runs([tmp_path])
    assert not runs and "not a readable TensorBoard event file" in errors[0]["message"]
    assert len(calls) < 100  # was one Python CRC check per byte: 2 million


def test_zero_run_inside_an_event_file_is_skipped_and_the_records_after_it_kept(tmp_path):
    src = next((FIXTURES / "runs" / "healthy-cnn").glob("events.*")).read_bytes()
    reference, _ = read_runs([FIXTURES / "runs" / "healthy-cnn"])
    # Zeros replace the middle of the file: records after the hole must be found again.
    cut = len(src) // 2
    (tmp_path / "events.out.tfevents.1.host").write_bytes(src[:cut] + bytes(8 << 20) + src[cut:])
    runs, _ = read_runs([tmp_path])
    assert 0.9 * reference[0].points < runs[0].points < reference[0].points
    assert any("resynchronised" in w for w in runs[0].warnings)


# ----------------------------------------------------------------------------- 3. unbounded reads


def test_csv_symlinked_to_dev_urandom_is_not_read(tmp_path):
    good = csv_run(tmp_path / "good")
    trap = tmp_path / "trap"
    trap.mkdir()
    (trap / "metrics.csv").symlink_to("/dev/urandom")
    code, report, _ = diagnose_json(tmp_path)
    assert [r["run"] for r in report["runs"]] == [str(good)]
    (error,) = report["errors"]
    assert "character device (through a symlink)" in error["message"]


def test_csv_memory_follows_the_cells_not_the_text(tmp_path):
    """Reading a CSV held ~30x its size (the text, then a list of lists of str); now the text is
    converted a chunk at a time into float64 columns."""
    import tracemalloc

    from advisor.ingest import csv_logs
    from advisor.ingest.discover import walk

    rows = 400_000
    path = tmp_path / "metrics.csv"
    with open(path, "w") as fh:
        fh.write("step,loss,lr\n")
        for i in range(rows):
            fh.write(f"{i},{2.3 / (1 + i / 1000):.6f},0.001\n")
    (source,) = csv_logs.claim(walk(tmp_path))
    csv_logs.read_csv_text("step,loss\n0,1\n")  # modules imported before measuring (pandas alone is ~20 MB)
    tracemalloc.start()
    run = csv_logs.read(source)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert run.points == 2 * rows
    assert peak < 5 * path.stat().st_size, f"peak {peak / 1e6:.0f} MB for a {path.stat().st_size / 1e6:.0f} MB file"


# ----------------------------------------------------------------------------- 4. whole-CLI tracebacks


def test_non_utf8_byte_in_sqlite_schema_is_one_error_not_a_traceback(tmp_path):
    data = bytearray((FIXTURES / "mlflow" / "mlflow.db").read_bytes())
    marker = b"CONSTRAINT run_pk PRIMARY KEY ("
    data[data.index(marker) + len(marker)] = 0xB4  # SQLite's error message quotes it: not UTF-8
    (tmp_path / "mlflow.db").write_bytes(bytes(data))
    code, report, _ = diagnose_json(tmp_path)
    assert code in (0, 1, 2)
    assert report["runs"] or any("mlflow.db" in e["path"] for e in report["errors"])


def test_400_digit_integer_in_keras_history_costs_one_value(tmp_path):
    src = json.loads((FIXTURES / "runs" / "slow-keras-json" / "history.json").read_text())
    n = len(src["loss"])
    src["loss"][5] = int("9" * 400)
    (tmp_path / "history.json").write_text(json.dumps(src))
    code, report, _ = diagnose_json(tmp_path)
    (run,) = report["runs"]
    assert run["points"] >= sum(len(v) for v in src.values()) - 1 and n > 5


def test_folder_tree_1000_levels_deep_is_walked(tmp_path):
    deep = tmp_path
    for _ in range(1000):  # one level at a time: pathlib's mkdir(parents=True) itself recurses
        deep = deep / "d"
        os.mkdir(deep)
    csv_run(deep)
    try:
        runs, errors = read_runs([tmp_path])
        assert len(runs) == 1 and not errors
    finally:  # bottom up, one level at a time: shutil.rmtree (pytest's cleanup) recurses too
        (deep / "metrics.csv").unlink()
        while deep != tmp_path:
            deep.rmdir()
            deep = deep.parent


def test_junit_with_fail_on_never_renders(tmp_path):
    csv_run(tmp_path / "run")
    proc = advisor("diagnose", str(tmp_path), "--format", "junit", "--fail-on", "never")
    assert proc.returncode == 0 and "<testsuites" in proc.stdout, proc.stderr


# ----------------------------------------------------------------------------- 5. one value, one run


def _count_points(path: Path) -> int:
    runs, errors = read_runs([path])
    assert len(runs) == 1, errors
    return runs[0].points


def test_100k_deep_json_line_costs_that_line(tmp_path):
    run = tmp_path / "wandb"
    shutil.copytree(FIXTURES / "runs" / "plateau-saddle" / "wandb", run)
    history = next(run.glob("run-*/files/wandb-history.jsonl"))
    before = _count_points(run)
    lines = history.read_text().splitlines()
    lines.insert(3, '{"_step": 3, "x": ' + "[" * 100_000 + "]" * 100_000 + "}")
    history.write_text("\n".join(lines) + "\n")
    runs, _ = read_runs([run])
    assert runs[0].points == before
    assert any("skipped 1 unreadable line" in w for w in runs[0].warnings)


def test_100k_deep_json_in_trainer_state_keeps_the_entries_before_it(tmp_path):
    shutil.copytree(FIXTURES / "runs" / "lr-too-low", tmp_path / "run")
    state = tmp_path / "run" / "trainer_state.json"
    data = json.loads(state.read_text())
    data["log_history"][10]["deep"] = "PLACEHOLDER"
    state.write_text(json.dumps(data, indent=2).replace('"PLACEHOLDER"', "[" * 100_000 + "]" * 100_000))
    runs, errors = read_runs([tmp_path / "run"])
    assert len(runs) == 1 and runs[0].points > 0, errors


@pytest.mark.parametrize("case", ["mlflow-step", "wandb-_step", "jsonl-_step", "csv-step-1e308"])
def test_step_beyond_int64_is_a_bad_point_not_a_lost_run(tmp_path, case):
    if case == "mlflow-step":
        shutil.copytree(FIXTURES / "mlflow" / "store", tmp_path / "store")
        run = tmp_path / "store" / "641212124660785328" / "3d7447baca3c4f8a84d29d486a309584"
        metric = run / "metrics" / "lr"
        with open(metric, "a") as fh:
            fh.write(f"1795438900999 0.01 {2**63}\n")
        target, label = run, "unreadable line"
    elif case in ("wandb-_step", "jsonl-_step"):
        target = tmp_path / "wandb"
        shutil.copytree(FIXTURES / "runs" / "plateau-saddle" / "wandb", target)
        history = next(target.glob("run-*/files/wandb-history.jsonl"))
        lines = history.read_text().splitlines()
        row = json.loads(lines[4])
        row["_step"] = 2**63 if case == "wandb-_step" else 2**64 + 7
        lines[4] = json.dumps(row)
        history.write_text("\n".join(lines) + "\n")
        label = "bad point"
    else:
        shutil.copytree(FIXTURES / "runs" / "lr-too-high-rises-early", tmp_path / "run")
        target = tmp_path / "run"
        metrics = target / "metrics.csv"
        lines = metrics.read_text().splitlines()
        lines[5] = "1e308," + lines[5].split(",", 1)[1]
        metrics.write_text("\n".join(lines) + "\n")
        label = "without a readable 'step' value"
    runs, errors = read_runs([target])
    assert len(runs) == 1 and runs[0].points > 0, errors
    assert any(label in w for w in runs[0].warnings), runs[0].warnings


def test_400_digit_value_in_wandb_history_costs_that_value(tmp_path):
    target = tmp_path / "wandb"
    shutil.copytree(FIXTURES / "runs" / "plateau-saddle" / "wandb", target)
    before = _count_points(target)
    history = next(target.glob("run-*/files/wandb-history.jsonl"))
    text = history.read_text().replace('"lr": 0.1', '"lr": ' + "9" * 400, 1)
    history.write_text(text)
    assert _count_points(target) == before


def test_csv_field_over_128_kib_skips_that_row_only(tmp_path):
    shutil.copytree(FIXTURES / "runs" / "lr-too-high-rises-early", tmp_path / "run")
    metrics = tmp_path / "run" / "metrics.csv"
    before = _count_points(tmp_path / "run")
    lines = metrics.read_text().splitlines()
    lines[7] = lines[7] + ',"' + "x" * 200_000 + '"'
    metrics.write_text("\n".join(lines) + "\n")
    runs, _ = read_runs([tmp_path / "run"])
    assert before - 7 <= runs[0].points < before  # that row only (7 values at most)
    assert any("skipped 1 unreadable line" in w for w in runs[0].warnings)


def _mutate_db(tmp_path: Path, sql: str) -> Path:
    db = tmp_path / "mlflow.db"
    shutil.copy(FIXTURES / "mlflow" / "mlflow.db", db)
    with sqlite3.connect(db) as con:
        con.execute(sql)
    return db


@pytest.mark.parametrize("sql", [
    "UPDATE metrics SET value = 'not a number' WHERE rowid = (SELECT min(rowid) FROM metrics)",
    "UPDATE metrics SET key = CAST('train/loss' AS BLOB) WHERE rowid = (SELECT min(rowid) FROM metrics)",
    "UPDATE metrics SET step = 'x' WHERE rowid = (SELECT min(rowid) FROM metrics)",
])
def test_one_bad_sqlite_cell_costs_one_point(tmp_path, sql):
    before = {r.name.split("#")[-1]: r.points for r in read_runs([FIXTURES / "mlflow" / "mlflow.db"])[0]}
    _mutate_db(tmp_path, sql)
    runs, errors = read_runs([tmp_path])
    after = {r.name.split("#")[-1]: r.points for r in runs}
    assert set(after) == set(before), errors
    assert sum(before.values()) - 1 <= sum(after.values()) <= sum(before.values())


def test_minus_inf_step_in_wandb_export_is_a_bad_point(tmp_path):
    src = (FIXTURES / "wandb" / "exports" / "panel.csv").read_text().splitlines()
    src[2] = '"-inf"' + src[2][src[2].index(","):]  # the panel's "Step" column
    (tmp_path / "panel.csv").write_text("\n".join(src) + "\n")
    runs, errors = read_runs([tmp_path])
    assert len(runs) == 2 and all(r.points > 0 for r in runs), errors  # was: both runs lost (IntCastingNaNError)
    assert all(any("bad point" in w for w in r.warnings) for r in runs)


def test_hparam_of_1e308_does_not_fail_the_diagnosis(tmp_path):
    run = csv_run(tmp_path / "run")
    (run / "hparams.yaml").write_text("lr: 1.0e+308\nbatch_size: 1.0e+308\nnum_classes: 1.0e+308\nepochs: 1e308\n"
                                      "max_steps: 1.0e+308\nwarmup_steps: " + "9" * 400 + "\n")  # int() but no float()
    code, report, _ = diagnose_json(run)
    (r,) = report["runs"]
    assert r["status"] != "error", r


def test_lr_cell_of_1e308_keeps_the_exit_code(tmp_path):
    """The `lr-too-high-rises-early` fixture fails the gate; one corrupted LR cell must not pass it."""
    shutil.copytree(FIXTURES / "runs" / "lr-too-high-rises-early", tmp_path / "run")
    assert diagnose_json(tmp_path / "run")[0] == 1
    metrics = tmp_path / "run" / "metrics.csv"
    lines = metrics.read_text().splitlines()
    cells = lines[10].split(",")
    cells[lines[0].split(",").index("learning_rate")] = "1e308"
    lines[10] = ",".join(cells)
    metrics.write_text("\n".join(lines) + "\n")
    assert diagnose_json(tmp_path / "run")[0] == 1


def test_mlflow_step_2_63_keeps_the_exit_code(tmp_path):
    shutil.copytree(FIXTURES / "mlflow" / "store", tmp_path / "store")
    assert diagnose_json(tmp_path / "store")[0] == 1
    loss = tmp_path / "store" / "641212124660785328" / "3d7447baca3c4f8a84d29d486a309584" / "metrics" / "train" / "loss"
    lines = loss.read_text().splitlines()
    ts, value, _ = lines[3].split()
    lines[3] = f"{ts} {value} {2**63}"
    loss.write_text("\n".join(lines) + "\n")
    assert diagnose_json(tmp_path / "store")[0] == 1


# ----------------------------------------------------------------------------- 6. silent or misleading


def test_corrupted_mlflow_db_is_an_error_not_silence(tmp_path):
    data = bytearray((FIXTURES / "mlflow" / "mlflow.db").read_bytes())
    data[4096:8192] = os.urandom(4096)  # page 2 garbage: the header still says SQLite
    (tmp_path / "mlflow.db").write_bytes(bytes(data))
    runs, errors = read_runs([tmp_path])
    assert runs or any(e["path"].endswith("mlflow.db") for e in errors), "a damaged database vanished in silence"


def test_csv_header_with_a_quoted_newline_reads_its_points(tmp_path):
    rows = "".join(f"{i},{1 / (i + 1):.4f},{0.5 / (i + 1):.4f}\n" for i in range(30))
    (tmp_path / "metrics.csv").write_text('"step","train\nloss","val_loss"\n' + rows)
    runs, errors = read_runs([tmp_path])
    assert len(runs) == 1 and runs[0].points == 60, (runs and runs[0].warnings, errors)  # was 0, shown as ok


UNREADABLE_PROBE = textwrap.dedent("""
    import json, os, sys
    from advisor.pipeline import read_runs
    # Every module a read may import, imported while still root (the interpreter lives under /root):
    # read the fixtures (all formats) once, then drop to nobody.
    read_runs([sys.argv[2]])
    os.setegid(65534); os.seteuid(65534)
    runs, errors = read_runs([sys.argv[1]])
    print(json.dumps({"runs": [r.name for r in runs], "errors": errors}))
""")


@pytest.mark.parametrize("name", ["training.log", "mlflow.db", "trainer_state.json", "run-abc.wandb",
                                  "events.out.tfevents.1.host", "folder"])
def test_unreadable_input_is_said_to_be_permission_denied(name):
    import tempfile

    root = Path(tempfile.mkdtemp(prefix="advisor-perm-", dir="/tmp"))
    try:
        os.chmod(root, 0o755)
        target = root / "logs" / name
        target.parent.mkdir()
        os.chmod(target.parent, 0o755)
        if name == "folder":
            csv_run(target)
        elif name == "mlflow.db":
            shutil.copy(FIXTURES / "mlflow" / "mlflow.db", target)
        elif name.startswith("events"):
            shutil.copy(next((FIXTURES / "runs" / "healthy-cnn").glob("events.*")), target)
        elif name.endswith(".wandb"):
            target.write_bytes(b":W&B\xe1\xbe\x00" + bytes(100))
        elif name == "trainer_state.json":
            shutil.copy(FIXTURES / "runs" / "lr-too-low" / "trainer_state.json", target)
        else:
            shutil.copy(FIXTURES / "runs" / "overfitting-keras-csv" / "training.log", target)
        os.chmod(target, 0)
        if os.geteuid() == 0:
            env = {**os.environ, "PYTHONPATH": str(REPO)}
            out = subprocess.run([sys.executable, "-c", UNREADABLE_PROBE, str(root / "logs"), str(FIXTURES / "runs")],
                                 capture_output=True,
                                 text=True, env=env, cwd="/", timeout=120)
            assert out.returncode == 0, out.stderr
            result = json.loads(out.stdout)
        else:
            runs, errors = read_runs([root / "logs"])
            result = {"runs": [r.name for r in runs], "errors": errors}
        assert result["runs"] == []
        assert any("permission denied" in e["message"].lower() for e in result["errors"]), result["errors"]
    finally:
        for dirpath, dirnames, _ in os.walk(root):
            for d in dirnames:
                os.chmod(os.path.join(dirpath, d), 0o755)
        shutil.rmtree(root, ignore_errors=True)


def test_a_run_whose_analysis_crashed_fails_the_gate(tmp_path, monkeypatch):
    """'diagnosis failed' (status error) proved nothing about the run: it must not pass the gate."""
    from click.testing import CliRunner

    import advisor.signals
    from advisor.cli import main

    csv_run(tmp_path / "run")
    monkeypatch.setattr(advisor.signals, "measure", lambda curves: 1 / 0)
    result = CliRunner().invoke(main, ["diagnose", str(tmp_path), "--jobs", "1", "--format", "json"])
    (run,) = json.loads(result.stdout)["runs"]
    assert run["status"] == "error" and result.exit_code == 1


def test_a_stray_quote_costs_its_line_not_the_rest_of_the_csv(tmp_path):
    """The fuzz campaign's `number->quote` on a Keras training.log: a value replaced by `"` opened a
    quoted cell that ran to the end of the file, so every later epoch was lost and the run's
    divergence with them; the record is read line by line instead."""
    shutil.copytree(FIXTURES / "runs" / "overfitting-keras-csv", tmp_path / "run")
    log = tmp_path / "run" / "training.log"
    before = _count_points(tmp_path / "run")
    lines = log.read_text().splitlines()
    cells = lines[3].split(",")
    cells[1] = '"'
    lines[3] = ",".join(cells)
    log.write_text("\n".join(lines) + "\n")
    runs, _ = read_runs([tmp_path / "run"])
    width = len(lines[0].split(","))
    assert before - width <= runs[0].points < before  # that line only
    assert any("skipped 1 unreadable line" in w for w in runs[0].warnings)


def test_a_multi_line_cell_of_prose_stays_one_cell(tmp_path):
    (tmp_path / "metrics.csv").write_text('step,loss,note\n1,0.5,"restarted\nfrom checkpoint\nafter OOM"\n2,0.4,x\n')
    runs, _ = read_runs([tmp_path])
    assert runs[0].series["loss"].value.tolist() == [0.5, 0.4] and not runs[0].warnings


def test_a_wandb_value_rewritten_with_more_digits_keeps_the_exit_code(tmp_path):
    """The fuzz campaign's 1 -> 0 flips on `.wandb` files: one digit more in an early loss value
    shifted the rest of the block, the reader dropped it and with it the NaN that fails the run.
    Only the damaged record may go, with one warning naming the file and the byte offset."""
    shutil.copytree(FIXTURES / "wandb" / "offline-run", tmp_path / "run")
    assert diagnose_json(tmp_path / "run")[0] == 1
    (log,) = (tmp_path / "run").glob("wandb/*/run-*.wandb")
    data = log.read_bytes()
    at = data.rindex(b"train/loss\x82\x01\x031.9") + len(b"train/loss\x82\x01\x03")  # history row of step 1
    log.write_bytes(data[:at] + b"1.95" + data[at + 3:])  # the protobuf still says 3 bytes
    code, report, stderr = diagnose_json(tmp_path / "run")
    assert code == 1
    (run,) = report["runs"]
    assert run["points"] == 26 - 3  # the history row of step 1 (loss, accuracy, global step) and nothing else
    (warning,) = [w for w in run["warnings"] if ".wandb" in w]
    assert warning.startswith(f"{log}: ") and "chunk at byte 1034" in warning and "kept 8 history rows" in warning


@pytest.mark.parametrize("jobs", ["1", "3"])
def test_the_byte_budget_holds_for_the_call_whatever_the_jobs(tmp_path, jobs):
    """`call_bytes` is one budget for the call: with `--jobs 3` each worker used to spend it on its own
    (6 runs read where 3 fit) and which runs were read depended on the number of jobs."""
    for i in range(6):
        csv_run(tmp_path / f"run{i}")
    size = (tmp_path / "run0" / "metrics.csv").stat().st_size
    code, report, _ = diagnose_json(tmp_path, "--jobs", jobs, "--limit", f"call_bytes={3 * size + size // 2}")
    read = sorted(Path(r["run"]).name for r in report["runs"] if r["status"] != "unreadable")
    refused = [r for r in report["runs"] if r["status"] == "unreadable"]
    assert read == ["run0", "run1", "run2"] and len(refused) == 3
    assert all("per-call byte budget of" in r["error"] and "--limit call_bytes" in r["error"] for r in refused)
    assert code == 1  # a run left unread fails the gate


def test_the_per_file_limit_holds_in_workers(tmp_path):
    for i in range(4):
        csv_run(tmp_path / f"run{i}", rows=80 + 40 * (i % 2))
    small = (tmp_path / "run0" / "metrics.csv").stat().st_size
    _, report, _ = diagnose_json(tmp_path, "--jobs", "2", "--limit", f"file_bytes={small}")
    assert sorted(Path(r["run"]).name for r in report["runs"] if r["status"] != "unreadable") == ["run0", "run2"]


LFS_STUB = ("version https://git-lfs.github.com/spec/v1\n"
            "oid sha256:4d7a214614ab2935c943f9e0ff69d22eadbb8f32b1258daaa5e2ca24d17e2393\nsize 12345\n")


@pytest.mark.parametrize("rel", ["runs/events.out.tfevents.1700000000.host.1.0", "lightning_logs/version_0/metrics.csv",
                                 "checkpoint-1000/trainer_state.json", "wandb/run-x/files/wandb-history.jsonl"])
def test_git_lfs_pointer_is_named_for_what_it_is(tmp_path, rel):
    """A repository cloned without `git lfs pull` holds 130-byte pointer stubs under the logs' names (public
    fine-tuning repos ship trainer_state.json that way): the one-line error said "trainer_state.json without a
    log_history list" or a CRC mismatch, now it names the stub and the command that fetches the file."""
    stub = tmp_path / rel
    stub.parent.mkdir(parents=True)
    stub.write_text(LFS_STUB)
    result = subprocess.run([sys.executable, "-m", "advisor", "diagnose", str(tmp_path)], capture_output=True, text=True)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert f"{stub}: a Git LFS pointer (130 bytes), not the log itself: fetch the content with `git lfs pull`" in result.stderr


def test_git_lfs_pointer_beside_a_readable_event_file_is_a_warning(tmp_path):
    run = tmp_path / "run"
    shutil.copytree(FIXTURES / "tensorboard" / "torch_basic", run)
    (run / "events.out.tfevents.1700000099.host.2.0").write_text(LFS_STUB)
    runs, errors = read_runs([run])
    assert not errors and len(runs) == 1 and runs[0].series
    assert any("a Git LFS pointer (130 bytes)" in w for w in runs[0].warnings)


def test_pointer_of_a_file_that_is_no_log_is_left_quiet(tmp_path):
    shutil.copytree(FIXTURES / "tensorboard" / "torch_basic", tmp_path / "run")
    (tmp_path / "tokenizer.json").write_text(LFS_STUB)
    result = subprocess.run([sys.executable, "-m", "advisor", "diagnose", str(tmp_path)], capture_output=True, text=True)
    assert "LFS" not in result.stderr + result.stdout
