"""Runs on an MLflow tracking server: `mlflow://HOST:PORT/EXPERIMENT` (`mlflow+https://…` for TLS).

Read through MLflow's REST API (https://mlflow.org/docs/latest/rest-api.html), page by page:
`experiments/get-by-name` (or `experiments/get` for a numeric id), `runs/search` (1,000 runs a
page), then `metrics/get-history` for every metric of every run (`HISTORY_PAGE` points a page).
Discovery makes the first two calls; the history of a run is fetched when the run is read, so
with `--jobs`/`--executor ray` the runs of an experiment are fetched in parallel.

Why not `mlflow.tracking.MlflowClient`: importing it takes ~5 s and pulls in the whole mlflow
package; these four JSON calls need only the standard library. Authentication follows MLflow's
client: `MLFLOW_TRACKING_TOKEN` (bearer) or `MLFLOW_TRACKING_USERNAME`/`MLFLOW_TRACKING_PASSWORD`
(basic); `MLFLOW_TRACKING_INSECURE_TLS=true` skips certificate checks.

A run becomes a `Run` of format "mlflow" like the file and SQLite stores' runs (params as
hparams, tags and status in meta), named `mlflow://HOST:PORT/EXPERIMENT#RUN_NAME`.
"""
from __future__ import annotations

import base64
import json
import math
import os
import ssl
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

from advisor.model import IngestError, Run, RunSource

SCHEMES = {"mlflow": "http", "mlflow+http": "http", "mlflow+https": "https"}
RUNS_PAGE = 1000
HISTORY_PAGE = 25_000
TIMEOUT_S = 60
RETRIES = 3


class ServerError(Exception):
    """The server cannot be reached or answered with an error: one line naming the URL.
    `status` is the HTTP status of an answer, None when there was none."""

    def __init__(self, message: str, status: int | None = None):
        super().__init__(message)
        self.status = status


def is_url(path: str | os.PathLike) -> bool:
    return str(path).split("://", 1)[0].lower() in SCHEMES and "://" in str(path)


def parse(url: str) -> tuple[str, str]:
    """`mlflow://host:5000/my/experiment` -> ("http://host:5000", "my/experiment")."""
    scheme, rest = url.split("://", 1)
    host, _, experiment = rest.partition("/")
    if not host or not experiment.strip("/"):
        raise ServerError(f"{url}: expected mlflow://HOST:PORT/EXPERIMENT (an experiment name or id)")
    return f"{SCHEMES[scheme.lower()]}://{host}", urllib.parse.unquote(experiment.strip("/"))


def _call(base: str, endpoint: str, url: str, *, params: dict | None = None, body: dict | None = None) -> dict:
    """One REST call with retries on 429/5xx and connection errors; JSON back."""
    target = f"{base}/api/2.0/mlflow/{endpoint}"
    if params:
        target += "?" + urllib.parse.urlencode(params)
    data = json.dumps(body).encode() if body is not None else None
    headers = {"Content-Type": "application/json", "User-Agent": "advisor"}
    if os.environ.get("MLFLOW_TRACKING_TOKEN"):
        headers["Authorization"] = f"Bearer {os.environ['MLFLOW_TRACKING_TOKEN']}"
    elif os.environ.get("MLFLOW_TRACKING_USERNAME"):
        pair = f"{os.environ['MLFLOW_TRACKING_USERNAME']}:{os.environ.get('MLFLOW_TRACKING_PASSWORD', '')}"
        headers["Authorization"] = "Basic " + base64.b64encode(pair.encode()).decode()
    context = None
    if os.environ.get("MLFLOW_TRACKING_INSECURE_TLS", "").lower() == "true":
        context = ssl._create_unverified_context()
    last = ""
    for attempt in range(RETRIES):
        request = urllib.request.Request(target, data=data, headers=headers, method="POST" if data else "GET")
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT_S, context=context) as response:
                return json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as exc:
            detail = _error_message(exc)
            if exc.code == 429 or exc.code >= 500:
                last = f"HTTP {exc.code}: {detail}"
            else:
                raise ServerError(f"{url}: {endpoint} answered HTTP {exc.code}: {detail}", exc.code) from None
        except (urllib.error.URLError, OSError, ValueError) as exc:
            last = str(getattr(exc, "reason", exc))
        time.sleep(0.5 * 2 ** attempt)
    raise ServerError(f"{url}: MLflow server at {base} not reachable ({last})")


def _error_message(exc: urllib.error.HTTPError) -> str:
    try:
        body = json.loads(exc.read() or b"{}")
        return str(body.get("message") or body.get("error_code") or exc.reason)[:200]
    except ValueError:
        return str(exc.reason)


def tracking_urls(uri: str, experiments: list[str] | tuple[str, ...] = ()) -> list[str]:
    """What `--mlflow-uri URI [EXPERIMENT ...]` means: one `mlflow://` URL per experiment (a name
    or an id) of the tracking server at `uri` (`http(s)://HOST[:PORT]`, what MLflow calls a
    tracking URI); no experiment named: every active experiment that holds an active run, in
    the server's order. ServerError (one line) for a URI that is not a server's or a server that
    does not answer."""
    parts = urllib.parse.urlsplit(uri)
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        raise ServerError(f"{uri}: --mlflow-uri takes a tracking server's http(s)://HOST:PORT "
                          "(a local mlruns folder or mlflow.db is read by giving its path)")
    if parts.path.strip("/") or parts.query or parts.fragment:
        raise ServerError(f"{uri}: --mlflow-uri takes the server's root, http(s)://HOST:PORT, without a path")
    root = f"{'mlflow' if parts.scheme.lower() == 'http' else 'mlflow+https'}://{parts.netloc}"
    if not experiments:
        base = f"{parts.scheme.lower()}://{parts.netloc}"
        experiments = [e for e in _experiment_names(base, uri) if _has_runs(base, e[1], uri)]
        experiments = [name for name, _ in experiments]
    # `parse` unquotes: escape what would cut the URL short, keep the name readable otherwise.
    return [f"{root}/{e.replace('%', '%25').replace('#', '%23').replace('?', '%3F')}" for e in experiments]


def _experiment_names(base: str, uri: str) -> list[tuple[str, str]]:
    """(name, id) of every active experiment, page by page."""
    found: list[tuple[str, str]] = []
    token = None
    while True:
        body: dict[str, Any] = {"max_results": RUNS_PAGE, "view_type": "ACTIVE_ONLY"}
        if token:
            body["page_token"] = token
        page = _call(base, "experiments/search", uri, body=body)
        found += [(e["name"], e["experiment_id"]) for e in page.get("experiments", [])]
        token = page.get("next_page_token")
        if not token:
            return found


def _has_runs(base: str, experiment_id: str, uri: str) -> bool:
    page = _call(base, "runs/search", uri, body={"experiment_ids": [experiment_id], "max_results": 1,
                                                  "run_view_type": "ACTIVE_ONLY"})
    return bool(page.get("runs"))


def _experiment_id(base: str, experiment: str, url: str) -> str:
    try:
        found = _call(base, "experiments/get-by-name", url, params={"experiment_name": experiment})
        return found["experiment"]["experiment_id"]
    except ServerError as exc:
        if exc.status not in (400, 404):  # unreachable, or refused: not a question of the name
            raise
        if not experiment.isdigit():
            raise ServerError(f"{url}: no experiment named {experiment!r} on the server") from None
    _call(base, "experiments/get", url, params={"experiment_id": experiment})
    return experiment


def list_runs(url: str) -> list[RunSource]:
    """One RunSource per active run of the experiment, in the order of their names."""
    base, experiment = parse(url)
    experiment_id = _experiment_id(base, experiment, url)
    runs: list[dict] = []
    token = None
    while True:
        body: dict[str, Any] = {"experiment_ids": [experiment_id], "max_results": RUNS_PAGE,
                                "run_view_type": "ACTIVE_ONLY"}
        if token:
            body["page_token"] = token
        page = _call(base, "runs/search", url, body=body)
        runs.extend(page.get("runs", []))
        token = page.get("next_page_token")
        if not token:
            break
    root = url.rstrip("/")
    named = sorted(runs, key=lambda r: (_run_name(r), r["info"]["run_id"]))
    counts: dict[str, int] = {}
    for r in named:
        counts[_run_name(r)] = counts.get(_run_name(r), 0) + 1
    sources = []
    for r in named:
        info = r["info"]
        name = _run_name(r)
        if counts[name] > 1:
            name = f"{name}-{info['run_id'][:8]}"
        data = r.get("data", {})
        sources.append(RunSource(
            name=f"{root}#{name}", path=Path(experiment), format="mlflow",
            options={"store": "rest", "base": base, "url": f"{root}#{name}", "info": info,
                     "metrics": sorted({m["key"] for m in data.get("metrics", [])}),
                     # each metric's last point: `advisor watch` fetches a run's history again
                     # only when this changes (advisor.live.tail.ServerRunTail)
                     "latest": sorted((m["key"], m.get("step"), m.get("timestamp")) for m in data.get("metrics", [])),
                     "params": {p["key"]: p.get("value", "") for p in data.get("params", [])},
                     "tags": {t["key"]: t.get("value", "") for t in data.get("tags", [])},
                     "experiment": experiment}))
    return sources


def _run_name(run: dict) -> str:
    return run["info"].get("run_name") or run["info"]["run_id"]


def history(base: str, run_id: str, key: str, url: str, page_size: int = HISTORY_PAGE) -> tuple[list[dict], int]:
    """Every logged point of one metric of one run, and the number of pages it took."""
    points: list[dict] = []
    token, pages = None, 0
    while True:
        params = {"run_id": run_id, "metric_key": key, "max_results": page_size}
        if token:
            params["page_token"] = token
        page = _call(base, "metrics/get-history", url, params=params)
        pages += 1
        points.extend(page.get("metrics", []))
        token = page.get("next_page_token")
        if not token:
            return points, pages


def _value(v: Any) -> float:
    try:
        return float(v)  # the JSON of a NaN/inf metric is "NaN" / "Infinity"
    except (TypeError, ValueError):
        return math.nan


def read_run(source: RunSource) -> Run:
    from advisor.ingest._text import SeriesBuilder, parse_scalar_text
    from advisor.ingest.mlflow import _name_and_writer

    o = source.options
    info = o["info"]
    run = Run(name=source.name, path=o["url"], format="mlflow", writer="mlflow")
    run.meta.update({"run_id": info["run_id"], "experiment_id": info.get("experiment_id"),
                     "experiment": o["experiment"], "status": info.get("status"), "tags": dict(o["tags"])})
    if info.get("run_name"):
        run.meta["run_name"] = info["run_name"]
    for key in ("start_time", "end_time"):
        if info.get(key) not in (None, ""):
            run.meta[key] = int(info[key]) / 1000.0
    run.hparams.update({k: parse_scalar_text(v or "") for k, v in o["params"].items()})
    builder, pages = SeriesBuilder(), 0
    try:
        for key in o["metrics"]:
            points, n = history(o["base"], info["run_id"], key, o["url"])
            pages += n
            for p in sorted(points, key=lambda p: (int(p.get("timestamp", 0)), int(p.get("step", 0)))):
                builder.add(key, int(p.get("step", 0)), _value(p.get("value")), int(p.get("timestamp", 0)) / 1000.0)
    except ServerError as exc:
        raise IngestError(str(exc)) from None
    run.series = builder.build()
    run.meta["history_pages"] = pages
    _name_and_writer(run)
    return run
