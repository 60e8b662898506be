"""`advisor diagnose mlflow://HOST:PORT/EXPERIMENT` against a real `mlflow server` process (SQLite
backend) started here: the runs read through the REST API, page by page, carry exactly the points
the SQLite store holds (read by the store reader from the same file), and diagnose the same."""
from __future__ import annotations

import json
import math
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from advisor.cli import main
from advisor.ingest import mlflow_server
from advisor.pipeline import Execution, diagnose_paths, read_runs
from advisor.roles import normalise_hparams

pytest.importorskip("mlflow", reason="mlflow (for its server) is part of [test]")
pytestmark = pytest.mark.slow  # the server takes 10-60 s to start and migrate its database

POINTS = 3000
EXPERIMENT = "sweep/lr"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _post(base: str, endpoint: str, body: dict) -> dict:
    req = urllib.request.Request(f"{base}/api/2.0/mlflow/{endpoint}", data=json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"}, method="POST")
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            return json.loads(r.read() or b"{}")
    except urllib.error.HTTPError as exc:
        raise AssertionError(f"{endpoint}: HTTP {exc.code}: {exc.read()[:300]!r}") from None


def _log_run(base: str, experiment_id: str, name: str, lr: float, kind: str) -> None:
    run_id = _post(base, "runs/create", {"experiment_id": experiment_id, "run_name": name,
                                         "start_time": 1_700_000_000_000})["run"]["info"]["run_id"]
    rng = np.random.default_rng(len(name))
    steps = np.arange(POINTS)
    train = 2.0 * np.exp(-steps / 600) + 0.05 + rng.normal(0, 0.01, POINTS)
    if kind == "diverging":
        train = train + np.where(steps > 2000, (steps - 2000) * 0.01, 0)
    val = train[::30] + 0.05
    metrics = [{"key": "train_loss", "value": float(v), "timestamp": 1_700_000_000_000 + int(s) * 100, "step": int(s)}
               for s, v in zip(steps, train)]
    metrics += [{"key": "val_loss", "value": float(v), "timestamp": 1_700_000_000_000 + int(s) * 100, "step": int(s)}
                for s, v in zip(steps[::30], val)]
    if kind == "diverging":  # a NaN at the end, as a diverged run logs it
        metrics.append({"key": "train_loss", "value": "NaN", "timestamp": 1_700_000_400_000, "step": POINTS})
    for i in range(0, len(metrics), 900):  # at most 1,000 metrics and params per batch
        _post(base, "runs/log-batch", {"run_id": run_id, "metrics": metrics[i:i + 900],
                                       "params": [{"key": "lr", "value": str(lr)},
                                                  # camelCase, as a Java/JavaScript client names them
                                                  {"key": "optimizerName", "value": "SGD"},
                                                  {"key": "batchSize", "value": "32"}] if i == 0 else []})
    _post(base, "runs/update", {"run_id": run_id, "status": "FINISHED", "end_time": 1_700_000_500_000})


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """`mlflow server` on a free port with a SQLite store, three runs logged; killed at the end."""
    mlflow_bin = shutil.which("mlflow", path=os.path.dirname(sys.executable)) or shutil.which("mlflow")
    assert mlflow_bin, "mlflow command not found"
    tmp = tmp_path_factory.mktemp("mlflow")
    db = tmp / "mlflow.db"
    port = _free_port()
    proc = subprocess.Popen(
        [mlflow_bin, "server", "--backend-store-uri", f"sqlite:///{db}", "--default-artifact-root", str(tmp / "art"),
         "--host", "127.0.0.1", "--port", str(port), "--workers", "1"],
        stdout=subprocess.DEVNULL, stderr=open(tmp / "server.log", "wb"), start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 120
        while True:
            try:
                urllib.request.urlopen(f"{base}/health", timeout=2).read()
                break
            except OSError:
                if proc.poll() is not None or time.time() > deadline:
                    raise RuntimeError("mlflow server did not start: " + (tmp / "server.log").read_text()[-2000:])
                time.sleep(0.5)
        experiment_id = _post(base, "experiments/create", {"name": EXPERIMENT})["experiment_id"]
        for name, lr, kind in [("lr-0.01", 0.01, "healthy"), ("lr-0.3", 0.3, "diverging"), ("lr-0.03", 0.03, "healthy")]:
            _log_run(base, experiment_id, name, lr, kind)
        yield {"url": f"mlflow://127.0.0.1:{port}/{EXPERIMENT}", "db": db, "port": port, "id": experiment_id}
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def test_rest_runs_carry_every_point_of_the_store_with_paging(server, monkeypatch):
    monkeypatch.setattr(mlflow_server, "HISTORY_PAGE", 500)  # 3,001 points: 7 pages
    monkeypatch.setattr(mlflow_server.history, "__defaults__", (500,))
    rest, errors = read_runs([server["url"]])
    assert not errors
    assert [r.name for r in rest] == [f"{server['url']}#{n}" for n in ("lr-0.01", "lr-0.03", "lr-0.3")]
    store, _ = read_runs([server["db"]])
    by_name = {r.meta["run_name"]: r for r in store}
    for run in rest:
        twin = by_name[run.meta["run_name"]]
        assert set(run.series) == set(twin.series) == {"train_loss", "val_loss"}
        for tag, s in run.series.items():
            t = twin.series[tag]
            assert np.array_equal(s.step, t.step) and np.array_equal(s.value, t.value, equal_nan=True)
            assert np.allclose(s.wall_time, t.wall_time)
        assert run.hparams == twin.hparams and run.meta["status"] == "FINISHED"
        assert {k: v for k, v in normalise_hparams(run.hparams).items() if k != "lr"} == {"optimizer": "SGD", "batch_size": 32}
        assert run.meta["history_pages"] >= math.ceil(POINTS / 500) + 1  # paged, not one big answer
    assert math.isnan(rest[2].series["train_loss"].value[-1])


def test_diagnose_by_url_on_two_workers_matches_the_store(server):
    result = CliRunner().invoke(main, ["diagnose", server["url"], "--format", "json", "-q", "--jobs", "2"])
    doc = json.loads(result.stdout)
    assert [r["run"] for r in doc["runs"]][0] == f"{server['url']}#lr-0.3"  # worst first: the diverged run
    assert doc["runs"][0]["status"] == "fail" and not doc["errors"]
    store = diagnose_paths([server["db"]], execution=Execution(jobs=1))
    findings = {r.run.meta["run_name"]: [f.rule for f in r.findings] for r in store.runs}
    assert {r["run"].split("#")[1]: [f["rule"] for f in r["findings"]] for r in doc["runs"]} == findings


def test_experiment_by_id_and_unknown_names_or_servers(server):
    by_id = read_runs([f"mlflow://127.0.0.1:{server['port']}/{server['id']}"])[0]
    assert len(by_id) == 3
    result = CliRunner().invoke(main, ["diagnose", f"mlflow://127.0.0.1:{server['port']}/no-such"])
    assert result.exit_code == 2 and "no experiment named 'no-such'" in result.output
    assert "Traceback" not in result.output
    dead = _free_port()
    result = CliRunner().invoke(main, ["diagnose", f"mlflow://127.0.0.1:{dead}/x"])
    assert result.exit_code == 2 and "not reachable" in result.output


def _log_points(base: str, run_id: str, steps: range) -> None:
    """train/val loss that learn, blow up from step 90 and end in NaN at step 120."""
    metrics = []
    for s in steps:
        loss = 2.0 / (1 + s / 10) + 0.05
        if s >= 90:
            loss *= 10 ** ((s - 89) / 3)
        value = "NaN" if s >= 120 else float(loss)
        for key, v in (("train_loss", value), ("val_loss", value if s >= 120 else float(loss) * 1.1)):
            metrics.append({"key": key, "value": v, "timestamp": 1_700_000_000_000 + s * 1000, "step": s})
    _post(base, "runs/log-batch", {"run_id": run_id, "metrics": metrics})


def test_watch_follows_a_run_on_the_tracking_server(server, monkeypatch):
    """Issue 10: `advisor watch mlflow://…` as `diagnose` reads it: a run's history is fetched
    again only when the server's run search says its last points changed, the divergence
    appears once the training logs it, and the final diagnosis equals `advisor diagnose`."""
    from advisor.live.session import LiveRuns
    from advisor.report.json_report import to_dict

    base = f"http://127.0.0.1:{server['port']}"
    experiment_id = _post(base, "experiments/create", {"name": "live/job"})["experiment_id"]
    url = f"mlflow://127.0.0.1:{server['port']}/live/job"
    fetched = []
    history = mlflow_server.history
    monkeypatch.setattr(mlflow_server, "history", lambda *a, **k: fetched.append(a[2]) or history(*a, **k))
    live = LiveRuns([url])
    assert live.poll() == []  # no run yet: the job has not started, a wait
    run_id = _post(base, "runs/create", {"experiment_id": experiment_id, "run_name": "job-1",
                                         "start_time": 1_700_000_000_000})["run"]["info"]["run_id"]
    _log_points(base, run_id, range(0, 60))
    events = live.poll()
    assert [(e["event"], e["run"], e["status"]) for e in events] == [("status", f"{url}#job-1", "ok")]
    assert sorted(fetched) == ["train_loss", "val_loss"]
    fetched.clear()
    assert live.poll() == [] and fetched == []  # nothing logged since: no history fetched
    _log_points(base, run_id, range(60, 121))
    found = [e["finding"] for e in live.poll() if e["event"] == "finding"]
    assert [(f["pattern"], f["severity"]) for f in found] == [("divergence", "error")]
    _post(base, "runs/update", {"run_id": run_id, "status": "FAILED", "end_time": 1_700_000_200_000})
    live.finish()
    assert to_dict(live.diagnosis()) == to_dict(diagnose_paths([url]))
    result = CliRunner().invoke(main, ["watch", "--once", "--format", "json", "--exit-on", "error", url])
    assert result.exit_code == 1, result.output
    doc = json.loads(result.stdout.splitlines()[-1])["diagnosis"]
    assert [(r["run"], r["status"]) for r in doc["runs"]] == [(f"{url}#job-1", "fail")]
    dead = CliRunner().invoke(main, ["watch", "--once", f"mlflow://127.0.0.1:{_free_port()}/x"])
    assert dead.exit_code == 2 and "not reachable" in dead.output and "Traceback" not in dead.output


def test_mlflow_uri_names_experiments_or_takes_them_all(server):
    """`--mlflow-uri http://HOST:PORT EXPERIMENT` is the mlflow:// URL; without an experiment, every
    experiment holding a run (the server's empty Default experiment is skipped, not an error)."""
    base = f"http://127.0.0.1:{server['port']}"
    by_url = CliRunner().invoke(main, ["diagnose", server["url"], "--format", "json", "-q"])
    by_uri = CliRunner().invoke(main, ["diagnose", "--mlflow-uri", base, EXPERIMENT, "--format", "json", "-q"])
    assert by_uri.exit_code == by_url.exit_code == 1  # the diverged run fails the gate
    assert by_uri.stdout == by_url.stdout
    second = _post(base, "experiments/create", {"name": "second #2"})["experiment_id"]
    _log_run(base, second, "only", 0.01, "healthy")
    result = CliRunner().invoke(main, ["diagnose", "--mlflow-uri", base, "--format", "json", "-q", "--jobs", "2"])
    doc = json.loads(result.stdout)
    assert not doc["errors"]
    runs = {r["run"] for r in doc["runs"]}
    assert runs >= {f"{server['url']}#{n}" for n in ("lr-0.01", "lr-0.03", "lr-0.3")} | {
        f"mlflow://127.0.0.1:{server['port']}/second %232#only"}
    holding = {e["name"] for e in _post(base, "experiments/search", {"max_results": 1000})["experiments"]
               if _post(base, "runs/search", {"experiment_ids": [e["experiment_id"]], "max_results": 1}).get("runs")}
    assert "Default" not in holding  # other tests of this module may add experiments with runs
    assert {r.split("#")[0] for r in runs} == {f"mlflow://127.0.0.1:{server['port']}/{n.replace('#', '%23')}"
                                               for n in holding}
    listed = CliRunner().invoke(main, ["runs", "--mlflow-uri", base, "second #2", "--format", "json"])
    assert [r["run"] for r in json.loads(listed.stdout)["runs"]] == [f"mlflow://127.0.0.1:{server['port']}/second %232#only"]


def test_mlflow_uri_that_is_not_a_server_is_a_usage_error(server, tmp_path):
    for uri, said in [(str(tmp_path), "takes a tracking server's http(s)://HOST:PORT"),
                      (f"http://127.0.0.1:{server['port']}/prefix", "without a path"),
                      (f"http://127.0.0.1:{_free_port()}", "not reachable")]:
        result = CliRunner().invoke(main, ["diagnose", "--mlflow-uri", uri])
        assert result.exit_code == 2 and said in result.output and "Traceback" not in result.output
    result = CliRunner().invoke(main, ["diagnose"])
    assert result.exit_code == 2 and "Missing argument 'PATHS...'" in result.output
