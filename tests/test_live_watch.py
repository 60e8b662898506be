"""`advisor watch` and the incremental readers under it (advisor.live)."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from advisor.ingest import read
from advisor.ingest.discover import discover
from advisor.live.events import FindingTracker
from advisor.live.session import LiveRuns
from advisor.live.tail import TensorBoardTail
from advisor.model import Finding, Run, RunReport
from advisor.pipeline import diagnose_paths
from advisor.report.json_report import to_dict

REPO = Path(__file__).resolve().parents[1]
TRAINER = REPO / "tests" / "live" / "trainer.py"


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), env.get("PYTHONPATH", "")])
    env.pop("FORCE_COLOR", None)
    return env


def _advisor(*args: str, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "advisor", *args], capture_output=True, text=True, env=_env(),
                          timeout=300, **kw)


@pytest.fixture(scope="module")
def event_file(tmp_path_factory) -> Path:
    """A real SummaryWriter event file: 3 tags x 400 steps, one of them logged every 10 steps."""
    from torch.utils.tensorboard import SummaryWriter

    folder = tmp_path_factory.mktemp("tb") / "run"
    writer = SummaryWriter(str(folder), flush_secs=3600)
    rng = np.random.default_rng(0)
    for step in range(400):
        writer.add_scalar("train/loss", float(np.exp(-step / 80) + 0.01 * rng.standard_normal()), step)
        writer.add_scalar("lr", 0.1 * 0.99 ** step, step)
        if step % 10 == 0:
            writer.add_scalar("val/loss", float(np.exp(-step / 90) + 0.05), step)
    writer.close()
    return next(folder.glob("*tfevents*"))


def _grow(event_file: Path, target_dir: Path, cuts: list[int]):
    """Copy `event_file` into `target_dir` piece by piece; after each piece yield the live reader."""
    data = event_file.read_bytes()
    target_dir.mkdir(parents=True, exist_ok=True)
    target = target_dir / event_file.name
    target.write_bytes(b"")
    (source,), _ = discover([str(target_dir)])
    tail = TensorBoardTail(source)
    with open(target, "ab") as out:
        for lo, hi in zip([0, *cuts], [*cuts, len(data)]):
            out.write(data[lo:hi])
            out.flush()
            tail.poll()
            yield hi, tail


def test_torn_records_give_no_warning_and_no_wrong_value(event_file, tmp_path):
    """Every append ends inside a record: each poll shows exactly the whole records so far."""
    whole = read(discover([str(event_file.parent)])[0][0])
    data_len = event_file.stat().st_size
    rng = np.random.default_rng(1)
    cuts = sorted(rng.choice(np.arange(1, data_len), size=150, replace=False).tolist())
    for upto, tail in _grow(event_file, tmp_path / "run", cuts):
        run = tail.run()
        events_warnings = [w for w in run.warnings if "truncated record" not in w]
        assert events_warnings == []
        for tag, series in run.series.items():
            full = whole.series[tag]
            n = len(series)
            # a prefix of the finished file's points, bit for bit
            assert np.array_equal(series.step, full.step[:n])
            assert np.array_equal(series.value, full.value[:n])
            assert np.array_equal(series.wall_time, full.wall_time[:n])
    assert run.points == whole.points and run.warnings == whole.warnings == []


def test_file_replaced_by_a_shorter_one_is_read_again(event_file, tmp_path):
    """Truncate-and-restart: the new content replaces the old, nothing of the old file stays."""
    folder = tmp_path / "run"
    data = event_file.read_bytes()
    for _, tail in _grow(event_file, folder, [len(data) // 2]):
        pass
    assert tail.run().points == read(discover([str(event_file.parent)])[0][0]).points
    target = folder / event_file.name
    target.write_bytes(data[: len(data) // 3])  # shrunk: a restarted writer
    assert tail.poll()
    shrunk = tail.run()
    (src,), _ = discover([str(folder)])
    assert to_dict_run(shrunk) == to_dict_run(read(src))


def to_dict_run(run: Run) -> dict:
    return {tag: (s.step.tolist(), s.value.tolist()) for tag, s in run.series.items()}


def _finding(pattern: str, severity: str, rule: str = "X001") -> Finding:
    return Finding(rule=rule, pattern=pattern, severity=severity, metric="train/loss", start_step=10,
                   end_step=20, summary=f"{pattern} seen")


def _report(*findings: Finding) -> RunReport:
    from advisor.model import Series

    run = Run(name="r", path="r", format="monitor",
              series={"train/loss": Series("train/loss", [0, 1], [1.0, 0.5], None)})
    return RunReport(run=run, metrics={}, findings=list(findings))


def _kinds(events):
    return [(e["event"], e.get("finding", {}).get("rule") or e.get("rule")) for e in events if e["event"] != "status"]


def test_tracker_reports_once_confirms_warnings_and_reports_clearing():
    tracker = FindingTracker("r")
    plateau = _finding("plateau", "warning", "PLT001")
    assert _kinds(tracker.update(_report(plateau))) == []  # one sighting of a warning: not yet
    assert _kinds(tracker.update(_report(plateau))) == [("finding", "PLT001")]
    assert _kinds(tracker.update(_report(plateau))) == []  # never twice
    assert _kinds(tracker.update(_report())) == []  # one absence: not yet cleared
    assert _kinds(tracker.update(_report())) == [("cleared", "PLT001")]
    diverged = _finding("divergence", "error", "DIV001")
    assert _kinds(tracker.update(_report(diverged))) == [("finding", "DIV001")]  # errors at once
    worse = _finding("oscillation", "warning", "OSC001")
    tracker.update(_report(diverged, worse))
    tracker.update(_report(diverged, worse))
    escalated = _finding("oscillation", "error", "OSC009")
    assert _kinds(tracker.update(_report(diverged, escalated))) == [("escalated", "OSC009")]


def test_slow_convergence_is_held_until_the_run_ends():
    tracker = FindingTracker("r")
    slow = _finding("slow_convergence", "warning", "SLOW001")
    for _ in range(3):
        assert _kinds(tracker.update(_report(slow))) == []
    assert _kinds(tracker.update(_report(slow), final=True)) == [("finding", "SLOW001")]


def test_watch_once_equals_diagnose_on_every_real_log(real_logs):
    """The live readers end where the one-shot readers do, on every format of the real corpus."""
    live = LiveRuns([str(real_logs)])
    live.finish()
    assert to_dict(live.diagnosis()) == to_dict(diagnose_paths([str(real_logs)]))


def test_watch_cli_once_text_and_exit_codes(real_logs, tmp_path):
    run = real_logs / "tensorboard" / "lightning-tb-deep-linear-exploding-loss"
    done = _advisor("watch", "--once", str(run))
    assert done.returncode == 0, done.stderr
    assert "new error DIV" in done.stdout and ": fail at step" in done.stdout
    assert _advisor("watch", "--once", "--exit-on", "error", str(run)).returncode == 1
    missing = _advisor("watch", "--once", str(tmp_path / "nope"))
    assert missing.returncode == 2 and "no such file" in missing.stderr and "Traceback" not in missing.stderr


def _garbage_and_good(root: Path) -> Path:
    (root / "garbage").mkdir(parents=True)
    (root / "garbage" / "events.out.tfevents.123.host").write_bytes(bytes(range(256)) * 12)
    (root / "good").mkdir()
    (root / "good" / "metrics.csv").write_text("step,loss\n" + "".join(f"{s},{1 / (s + 1):.4f}\n" for s in range(40)))
    return root


def test_unreadable_run_is_reported_as_diagnose_reports_it(tmp_path):
    """Issue 10 item: an unreadable run is a run with status `unreadable` and the reader's words,
    in the events and in the final diagnosis, exactly as `advisor diagnose`; not an error event."""
    root = _garbage_and_good(tmp_path / "logs")
    diagnosed = json.loads(_advisor("diagnose", "--format", "json", str(root)).stdout)
    watched = _advisor("watch", "--once", "--format", "json", str(root))
    events = [json.loads(line) for line in watched.stdout.splitlines()]
    assert not [e for e in events if e["event"] == "error"]
    status = [e for e in events if e["event"] == "status" and e["run"] == str(root / "garbage")]
    unreadable = next(r for r in diagnosed["runs"] if r["status"] == "unreadable")
    assert [(e["status"], e["error"]) for e in status] == [("unreadable", unreadable["error"])]
    assert status[0]["problem"] == f"could not be read: {unreadable['error']}"
    final = events[-1]["diagnosis"]
    assert [(r["run"], r["status"], r.get("error")) for r in final["runs"]] == \
        [(r["run"], r["status"], r.get("error")) for r in diagnosed["runs"]]
    assert final["errors"] == diagnosed["errors"]
    # the gate of diagnose: an unreadable run fails --exit-on, alone it is "nothing readable"
    assert watched.returncode == 0
    assert _advisor("watch", "--once", "--exit-on", "error", str(root)).returncode == 1
    text = _advisor("watch", "--once", str(root)).stdout
    assert f"{root / 'garbage'}: unreadable: could not be read: {unreadable['error']}" in text
    assert _advisor("watch", "--once", str(root / "garbage")).returncode == 2


def test_a_run_that_turns_unreadable_is_given_a_few_passes_then_reported(tmp_path):
    root = _garbage_and_good(tmp_path / "logs")
    shutil.rmtree(root / "garbage")
    good = root / "good" / "metrics.csv"
    live = LiveRuns([str(root)])
    assert [e["status"] for e in live.poll() if e["event"] == "status"] == ["ok"]
    good.write_bytes(b"")  # caught mid-rewrite: empty for a moment
    os.utime(good, ns=(1, 1))
    assert live.poll() == [] and live.poll() == []
    events = live.poll()
    assert [(e["status"], e["error"]) for e in events] == [("unreadable", "empty file")]
    assert diagnose_paths([str(root)]).runs[0].read_error == "empty file"


@pytest.mark.slow
@pytest.mark.trains
def test_watch_follows_a_training_in_another_process(tmp_path):
    """Acceptance: a torch training writes (torn) records while `advisor watch` reads them."""
    logdir = tmp_path / "logs"
    logdir.mkdir()
    log_every, onset = 4, 80
    watch = subprocess.Popen(
        [sys.executable, "-m", "advisor", "watch", "--format", "json", "--interval", "0.2", "--idle-exit", "4",
         str(logdir)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env())
    try:
        trainer = subprocess.run(
            [sys.executable, str(TRAINER), str(logdir / "run"), "--steps", "120", "--blow-up-at", str(onset),
             "--log-every", str(log_every), "--sleep", "0.05"], capture_output=True, text=True, env=_env(),
            timeout=240)
        assert trainer.returncode == 0, trainer.stderr
        out, err = watch.communicate(timeout=120)
    finally:
        if watch.poll() is None:
            watch.kill()
    events = [json.loads(line) for line in out.splitlines()]
    assert all(e["schema"] == "advisor.event/1" for e in events)
    assert not [e for e in events if e["event"] == "error"], err
    findings = [e for e in events if e["event"] in ("finding", "escalated")]
    keys = [(e["run"], e["finding"]["pattern"]) for e in findings if e["event"] == "finding"]
    assert len(keys) == len(set(keys)), "a finding was reported twice"
    divergence = [e for e in findings if e["finding"]["pattern"] == "divergence"]
    assert divergence and divergence[0]["finding"]["severity"] == "error"
    seen_at = divergence[0]["step"]
    assert onset <= divergence[0]["onset_step"] <= seen_at
    assert seen_at - onset <= 5 * log_every, f"divergence seen at step {seen_at}, onset {onset}"
    # points only ever grow: no record counted before it was whole
    points = [e["points"] for e in events if e["event"] == "status"]
    assert points == sorted(points)
    final = events[-1]
    assert final["event"] == "diagnosis"
    assert not any(r.get("warnings") for r in final["diagnosis"]["runs"])
    expected = json.loads(_advisor("diagnose", "--format", "json", "-q", str(logdir)).stdout)
    assert final["diagnosis"] == expected
