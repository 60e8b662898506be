"""Remote logdirs: `advisor diagnose s3://…` against a real S3-protocol server (moto's standalone
server on 127.0.0.1, as s3fs's own tests do), with the LIST and GET requests counted by the
server's request recorder.

The bucket holds 100 runs (an event-free CSV log each, plus a Hugging Face output folder and a
TensorBoard run) beside 10,000 checkpoint objects: discovery must not list the checkpoint trees,
and a second run with nothing changed must fetch no log bytes.
"""
from __future__ import annotations

import json
import math
import socket
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest
from click.testing import CliRunner

from advisor.cli import main
from advisor.ingest import remote
from advisor.ingest.discover import discover
from advisor.pipeline import Execution, diagnose_paths
from conftest import FIXTURES
from sweep import write_sweep

moto_server = pytest.importorskip("moto.server", reason="moto[server] is part of [test]")
boto3 = pytest.importorskip("boto3")
pytest.importorskip("s3fs")

BUCKET = "sweeps"
RUNS = 100
CHECKPOINTS_PER_RUN = 100  # 10,000 checkpoint objects in all


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def s3(tmp_path_factory):
    """A moto S3 server with the sweep uploaded; yields (endpoint, boto3 client)."""
    port = _free_port()
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    mp = pytest.MonkeyPatch()
    for key, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                       "AWS_DEFAULT_REGION": "us-east-1", "AWS_ENDPOINT_URL": endpoint,
                       "FSSPEC_S3_ENDPOINT_URL": endpoint}.items():
        mp.setenv(key, value)
    mp.setenv("ADVISOR_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))
    client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
    client.create_bucket(Bucket=BUCKET)
    local = write_sweep(tmp_path_factory.mktemp("sweep"), RUNS)
    uploads = []
    # The 10,000 checkpoint objects go straight into the server's store (10,000 PUTs over HTTP
    # take a minute); the logs go through the S3 API like any writer's.
    from moto.s3.models import s3_backends

    store = s3_backends["123456789012"]["global"]
    for run in sorted(local.iterdir()):
        uploads.append((f"runs/{run.name}/metrics.csv", (run / "metrics.csv").read_bytes()))
        for k in range(CHECKPOINTS_PER_RUN // 2):
            store.put_object(BUCKET, f"runs/{run.name}/checkpoints/epoch={k}.ckpt", b"w")
            store.put_object(BUCKET, f"runs/{run.name}/ckpt/step_{k}/model.safetensors", b"w")
    hf = FIXTURES / "runs"
    for folder in ("healthy-cnn",):  # a TensorBoard run
        for f in (hf / folder).rglob("*"):
            if f.is_file():
                uploads.append((f"runs/{folder}/{f.relative_to(hf / folder).as_posix()}", f.read_bytes()))
    with ThreadPoolExecutor(16) as pool:
        list(pool.map(lambda kv: client.put_object(Bucket=BUCKET, Key=kv[0], Body=kv[1]), uploads))
    yield endpoint, client
    mp.undo()
    server.stop()


class Recorder:
    """moto's request recorder over its HTTP API: what the server was asked, by kind."""

    def __init__(self, endpoint: str, tmp: Path):
        import requests

        self.endpoint, self.http = endpoint, requests.Session()

    def start(self) -> None:
        self.http.post(f"{self.endpoint}/moto-api/recorder/reset-recording")
        self.http.post(f"{self.endpoint}/moto-api/recorder/start-recording")

    def stop(self) -> dict[str, list[str]]:
        self.http.post(f"{self.endpoint}/moto-api/recorder/stop-recording")
        text = self.http.get(f"{self.endpoint}/moto-api/recorder/download-recording").text
        kinds: dict[str, list[str]] = {"LIST": [], "GET": [], "HEAD": [], "OTHER": [], "RANGE": []}
        for line in filter(None, text.splitlines()):
            entry = json.loads(line)
            url = urlparse(entry["url"])
            query = parse_qs(url.query)
            if entry["method"] == "GET" and ("list-type" in query or "delimiter" in query or "prefix" in query):
                kinds["LIST"].append(f"{url.path}?prefix={query.get('prefix', [''])[0]}")
            elif entry["method"] == "GET":
                kinds["GET"].append(url.path)
                headers = {k.lower(): v for k, v in entry.get("headers", {}).items()}
                kinds["RANGE"].append(headers.get("range", "whole"))  # one per GET, in order
            elif entry["method"] == "HEAD":
                kinds["HEAD"].append(url.path)
            else:
                kinds["OTHER"].append(f"{entry['method']} {url.path}")
        return kinds


@pytest.fixture
def recorder(s3, tmp_path, monkeypatch):
    monkeypatch.setenv("MOTO_RECORDER_FILEPATH", str(tmp_path / "recording"))
    from moto.moto_api import recorder as moto_recorder

    monkeypatch.setattr(moto_recorder, "_location", str(tmp_path / "recording"))
    return Recorder(s3[0], tmp_path)


def client_keys(client) -> list[str]:
    pages = client.get_paginator("list_objects_v2").paginate(Bucket=BUCKET)
    return [o["Key"] for page in pages for o in page.get("Contents", [])]


def test_discovery_lists_no_checkpoint_tree_and_a_rerun_fetches_nothing(s3, recorder):
    recorder.start()
    first = diagnose_paths([f"s3://{BUCKET}/runs"], keep="summary", execution=Execution(jobs=2))
    calls = recorder.stop()
    listed = client_keys(s3[1])
    assert sum(1 for k in listed if "/checkpoints/" in k or "/ckpt/" in k) == RUNS * CHECKPOINTS_PER_RUN
    assert len(first.runs) == RUNS + 1 and not first.errors
    assert all(r.run.name.startswith(f"s3://{BUCKET}/runs/run_") for r in first.runs if "healthy-cnn" not in r.run.name)
    # one listing per run folder plus the top; none inside checkpoints/ or ckpt/
    assert not [c for c in calls["LIST"] if "checkpoints" in c or "/ckpt" in c]
    run_folders = RUNS + 1
    assert len(calls["LIST"]) <= run_folders + 5, calls["LIST"][:10]
    # every log file fetched once, no checkpoint fetched
    assert len(calls["GET"]) == RUNS + len(list((FIXTURES / "runs" / "healthy-cnn").rglob("*.*")))
    assert not [g for g in calls["GET"] if g.endswith((".ckpt", ".safetensors"))]

    recorder.start()
    sources, problems = discover([f"s3://{BUCKET}/runs"])
    calls = recorder.stop()
    assert calls["GET"] == []  # nothing changed: no log byte fetched
    assert len(calls["LIST"]) <= run_folders + 5
    assert sorted(s.name for s in sources) == sorted(r.run.name for r in first.runs) and not problems


def test_a_changed_log_is_fetched_again_and_a_deleted_one_disappears(s3, recorder):
    endpoint, client = s3
    url = f"s3://{BUCKET}/runs"
    discover([url])
    key = "runs/run_00001_diverging/metrics.csv"
    healthy = client.get_object(Bucket=BUCKET, Key="runs/run_00000_healthy/metrics.csv")["Body"].read()
    client.put_object(Bucket=BUCKET, Key=key, Body=healthy)  # the diverging run now reads as healthy
    client.delete_object(Bucket=BUCKET, Key="runs/run_00002_oscillating/metrics.csv")
    try:
        recorder.start()
        sources, problems = discover([url])
        calls = recorder.stop()
        assert calls["GET"] == [f"/{BUCKET}/{key}"]  # only the changed file
        names = {s.name for s in sources}
        assert len(names) == RUNS and f"{url}/run_00002_oscillating" not in names and not problems
        recorder.start()
        run = diagnose_paths([f"{url}/run_00001_diverging"])  # a URL inside the first: same cache
        assert recorder.stop()["GET"] == []
        assert [r.run.name for r in run.runs] == [f"{url}/run_00001_diverging"] and not run.runs[0].findings
    finally:
        client.put_object(Bucket=BUCKET, Key="runs/run_00002_oscillating/metrics.csv", Body=healthy)


def test_cli_names_runs_and_errors_by_url(s3):
    endpoint, client = s3
    client.put_object(Bucket=BUCKET, Key="broken/run/trainer_state.json", Body=b"{not json")
    client.put_object(Bucket=BUCKET, Key="broken/ok/metrics.csv",
                      Body=(FIXTURES / "runs" / "batch128-lr0.5" / "metrics.csv").read_bytes())
    result = CliRunner().invoke(main, ["diagnose", f"s3://{BUCKET}/broken", "--format", "json"])
    doc = json.loads(result.stdout)
    assert [r["run"] for r in doc["runs"]] == [f"s3://{BUCKET}/broken/ok"]
    assert doc["errors"] and all(e["path"].startswith(f"s3://{BUCKET}/broken/run") for e in doc["errors"])
    assert remote.cache_root().as_posix() not in result.output


def test_missing_bucket_and_unknown_protocol_are_one_line_errors(s3):
    result = CliRunner().invoke(main, ["diagnose", "s3://no-such-bucket/x"])
    assert result.exit_code == 2
    assert "s3://no-such-bucket/x" in result.output and "Traceback" not in result.output
    result = CliRunner().invoke(main, ["diagnose", "nosuchfs://a/b"])
    assert result.exit_code == 2 and "nosuchfs://" in result.output and "Traceback" not in result.output


def test_hf_output_folder_without_its_own_state_reads_the_latest_checkpoint_only(s3, recorder):
    endpoint, client = s3
    src = FIXTURES / "hf" / "tiny-run"
    for step in (8, 12):
        client.put_object(Bucket=BUCKET, Key=f"hf/out/checkpoint-{step}/trainer_state.json",
                          Body=(src / f"checkpoint-{step}" / "trainer_state.json").read_bytes())
        client.put_object(Bucket=BUCKET, Key=f"hf/out/checkpoint-{step}/model.safetensors", Body=b"w" * 1000)
        client.put_object(Bucket=BUCKET, Key=f"hf/out/checkpoint-{step}/tokenizer.json", Body=b"{}")
    recorder.start()
    sources, problems = discover([f"s3://{BUCKET}/hf"])
    calls = recorder.stop()
    assert [(s.name, s.format) for s in sources] == [(f"s3://{BUCKET}/hf/out", "hf-trainer")] and not problems
    assert calls["GET"] == [f"/{BUCKET}/hf/out/checkpoint-12/trainer_state.json"]
    assert not [c for c in calls["LIST"] if "checkpoint-8" in c]


def _diverging_csv(rows: int) -> bytes:
    """A CSV run that learns, then blows up from step 90 and logs NaN at step 120."""
    lines = ["step,train_loss,val_loss"]
    for s in range(min(rows, 120)):
        loss = 2.0 / (1 + s / 10) + 0.05
        if s >= 90:
            loss *= 10 ** ((s - 89) / 3)
        lines.append(f"{s},{loss:.6g},{loss * 1.1:.6g}")
    if rows > 120:
        lines.append("120,nan,nan")
    return ("\n".join(lines) + "\n").encode()


def test_watch_follows_a_run_on_s3_and_ends_as_diagnose(s3, recorder):
    """Issue 10: `advisor watch s3://…` as `diagnose` reads it: the run is named by its URL, a
    pass fetches only the objects that changed (none when nothing did), the divergence appears
    when the writer uploads it, and the final diagnosis equals `advisor diagnose` of the URL."""
    from advisor.live.session import LiveRuns
    from advisor.report.json_report import to_dict

    endpoint, client = s3
    url = f"s3://{BUCKET}/live"
    key = "live/job-1/metrics.csv"
    live = LiveRuns([url])
    assert live.poll() == []  # an empty prefix: the job has not written yet, a wait
    client.put_object(Bucket=BUCKET, Key=key, Body=_diverging_csv(60))
    events = live.poll()
    assert [(e["event"], e["run"], e["status"]) for e in events] == [("status", f"{url}/job-1", "ok")]
    recorder.start()
    assert live.poll() == []
    assert recorder.stop()["GET"] == []  # nothing changed: nothing fetched
    client.put_object(Bucket=BUCKET, Key=key, Body=_diverging_csv(121))
    recorder.start()
    events = live.poll()
    assert recorder.stop()["GET"] == [f"/{BUCKET}/{key}"]
    found = [e["finding"] for e in events if e["event"] == "finding"]
    assert [(f["pattern"], f["severity"]) for f in found] == [("divergence", "error")]
    assert remote.cache_root().as_posix() not in json.dumps(events)
    live.finish()
    assert to_dict(live.diagnosis()) == to_dict(diagnose_paths([url]))
    result = CliRunner().invoke(main, ["watch", "--once", "--format", "json", "--exit-on", "error", url])
    assert result.exit_code == 1, result.output  # the divergence, as a sidecar exits on it
    doc = json.loads(result.stdout.splitlines()[-1])["diagnosis"]
    assert [(r["run"], r["status"]) for r in doc["runs"]] == [(f"{url}/job-1", "fail")]
    missing = CliRunner().invoke(main, ["watch", "--once", "s3://no-such-bucket/x"])
    assert missing.exit_code == 2 and "s3://no-such-bucket/x" in missing.output and "Traceback" not in missing.output


def _csv(epochs: int, decay: float) -> bytes:
    rows = [f"{e},{2 * math.exp(-e / decay) + 0.1:.6f},{2 * math.exp(-e / decay) + 0.15:.6f}" for e in range(1, epochs + 1)]
    return ("epoch,train_loss,val_loss\n" + "\n".join(rows) + "\n").encode()


def test_a_grown_log_is_fetched_from_where_the_cached_copy_ends(s3, recorder, tmp_path):
    """A training still running appends to its log: the nightly re-run reads the new tail only
    (one ranged GET starting OVERLAP bytes before the cached end, checked against the cache);
    a log rewritten rather than appended to is fetched whole."""
    endpoint, client = s3
    key, url = "grow/run/metrics.csv", f"s3://{BUCKET}/grow"
    first, grown = _csv(1500, 300), _csv(2000, 300)
    assert grown.startswith(first) and len(first) > 4 * remote.OVERLAP
    client.put_object(Bucket=BUCKET, Key=key, Body=first)
    discover([url])
    client.put_object(Bucket=BUCKET, Key=key, Body=grown)
    recorder.start()
    sources, problems = discover([url])
    calls = recorder.stop()
    assert calls["GET"] == [f"/{BUCKET}/{key}"] and not problems
    assert calls["RANGE"] == [f"bytes={len(first) - remote.OVERLAP}-{len(grown) - 1}"]
    cached = sources[0].files[0]
    assert cached.read_bytes() == grown
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "metrics.csv").write_bytes(grown)
    by_url = diagnose_paths([url], keep="summary").runs[0]
    local = diagnose_paths([tmp_path / "run"], keep="summary").runs[0]
    assert by_url.run.points == local.run.points == 4000 and by_url.findings == local.findings

    rewritten = _csv(2500, 200)  # longer, but not the same first 2,000 epochs
    client.put_object(Bucket=BUCKET, Key=key, Body=rewritten)
    recorder.start()
    sources, _ = discover([url])
    calls = recorder.stop()
    assert calls["RANGE"][0].startswith(f"bytes={len(grown) - remote.OVERLAP}-")  # tried, did not match
    assert calls["RANGE"][1:] in (["whole"], ["bytes=0-"], [f"bytes=0-{len(rewritten) - 1}"])
    assert sources[0].files[0].read_bytes() == rewritten
