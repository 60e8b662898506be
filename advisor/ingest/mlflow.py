"""MLflow tracking stores: the file store (`mlruns/` layout) and the SQLite store (`mlflow.db`).

File store (FORMATS.md §5.1): a run is a folder holding `meta.yaml` and `metrics/`, `params/`,
`tags/`; metric files hold one `<ms timestamp> <value> [<step> [<dataset> <digest>]]` line per
point, and keys with `/` are nested folders. The store is recognised by this layout, not by the
name `mlruns` (ultralytics writes it under `runs/mlflow/`). Files under `artifacts/` are left
unclaimed on purpose: a TensorBoard log saved as an artifact is read by the TensorBoard module as
a run of its own.

SQLite store (§5.2, MLflow 3's default): tables `runs`, `metrics` (`is_nan`=1 means NaN, the
double max means inf), `params`, `tags`, `experiments`; one RunSource per run, named
`<db>#<run name>`.
"""
from __future__ import annotations

import math
import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Any

from advisor import limits
from advisor.ingest._text import (
    SeriesBuilder,
    _first_line,
    as_number,
    integral_step,
    head_text,
    line_list,
    load_yaml,
    parse_float,
    parse_scalar_text,
    read_head,
    read_text,
)
from advisor.model import IngestError, Run, RunSource

FORMAT = "mlflow"
RUN_PARTS = ("metrics", "params", "tags")
STATUS = {1: "RUNNING", 2: "SCHEDULED", 3: "FINISHED", 4: "FAILED", 5: "KILLED"}
SQLITE_MAGIC = b"SQLite format 3\x00"
DOUBLE_MAX = 1.7976931348623157e308


# ----------------------------------------------------------------------------- claim


def _is_run_meta(path: Path) -> bool:
    """A run's meta.yaml: names a run id (experiment meta.yaml files name only experiment ids)."""
    if path.name != "meta.yaml":
        return False
    head = head_text(path, 4096)
    return "run_id:" in head or "run_uuid:" in head


def _is_deleted(meta_path: Path) -> bool:
    """A run deleted in the UI/API stays on disk with `lifecycle_stage: deleted` until gc."""
    return "lifecycle_stage: deleted" in head_text(meta_path, 4096)


def _part_of_run(path: Path, run_dir: Path) -> bool:
    try:
        rel = path.relative_to(run_dir)
    except ValueError:
        return False
    return len(rel.parts) >= 2 and rel.parts[0] in RUN_PARTS


def claim(tree) -> list[RunSource]:
    return _claim_file_store(tree) + _claim_sqlite(tree)


def _claim_file_store(tree) -> list[RunSource]:
    unclaimed = tree.unclaimed()
    run_dirs = sorted({p.parent for p in unclaimed if _is_run_meta(p)})
    sources = []
    for run_dir in run_dirs:
        parts = [p for p in unclaimed if _part_of_run(p, run_dir)]
        if _is_deleted(run_dir / "meta.yaml"):
            tree.claim(run_dir / "meta.yaml", *parts)  # deleted: owned by the store, not a run to show
            continue
        files = [run_dir / "meta.yaml", *parts]
        experiment_meta = run_dir.parent / "meta.yaml"
        if experiment_meta.exists() and experiment_meta not in tree.claimed and not _is_run_meta(experiment_meta):
            files.append(experiment_meta)
        tree.claim(*files)
        sources.append(RunSource(name=tree.run_name(run_dir), path=run_dir, format=FORMAT, files=files,
                                 options={"store": "file"}))
    _claim_empty_experiments(tree, {d.parent for d in run_dirs})
    return sources


def _claim_empty_experiments(tree, store_experiments: set[Path]) -> None:
    """Experiment meta.yaml files beside the ones with runs (`mlruns/0/`) belong to the store."""
    stores = {e.parent for e in store_experiments}
    for path in tree.unclaimed():
        if path.name == "meta.yaml" and path.parent.parent in stores and "experiment_id:" in head_text(path, 4096):
            tree.claim(path)


def _claim_sqlite(tree) -> list[RunSource]:
    sources = []
    for path in tree.unclaimed():
        if path.suffix.lower() not in {".db", ".sqlite", ".sqlite3"} or read_head(path, 16) != SQLITE_MAGIC:
            continue
        try:
            runs = _sqlite_runs(path)
        except BrokenStore as exc:
            # A damaged database is a run we could not read, not a file to pass over in silence.
            tree.claim(path)
            sources.append(RunSource(name=tree.run_name(path), path=path, format=FORMAT, files=[path],
                                     options={"store": "sqlite", "broken": str(exc)}))
            continue
        if runs is None:
            continue
        tree.claim(path)
        base = tree.run_name(path)
        names = [r["name"] or r["run_uuid"][:8] for r in runs]
        for run, name in zip(runs, names):
            if names.count(name) > 1:
                name = f"{name}-{run['run_uuid'][:8]}"
            sources.append(RunSource(name=f"{base}#{name}", path=path, format=FORMAT, files=[path],
                                     options={"store": "sqlite", "run_uuid": run["run_uuid"]}))
    return sources


class BrokenStore(Exception):
    """An SQLite file that looks like an MLflow store but cannot be read; one line saying why."""


def _text(raw: Any) -> str:
    """TEXT and BLOB cells as str: a byte that is not UTF-8 (0xB4 in a schema) is replaced, not raised."""
    if isinstance(raw, (bytes, bytearray, memoryview)):
        return bytes(raw).decode("utf-8", errors="replace")
    return "" if raw is None else str(raw)


def _connect(path: Path) -> sqlite3.Connection:
    """Read-only: advisor never writes to a user's tracking store.

    A WAL-mode database in a read-only folder cannot be opened with `mode=ro` (SQLite wants to
    create the -shm file); `immutable=1` reads it as a plain file then. Text comes back leniently
    decoded (`_text`): the database is as untrusted as any log.
    """
    problem = limits.open_problem(path) or limits.not_regular_reason(path)
    if problem:
        raise sqlite3.OperationalError(problem)
    limits.charge(path, path.stat().st_size)
    uri = path.resolve().as_uri()
    try:
        con = sqlite3.connect(f"{uri}?mode=ro", uri=True)
        con.text_factory = _text
        con.execute("SELECT 1 FROM sqlite_master LIMIT 1")
        return con
    except sqlite3.OperationalError:
        con = sqlite3.connect(f"{uri}?immutable=1", uri=True)
        con.text_factory = _text
        return con


def _sqlite_runs(path: Path) -> list[dict[str, Any]] | None:
    """The active runs of an MLflow database, None when the file is not one (other tables), and
    BrokenStore when it cannot be read (damaged, permission denied)."""
    try:
        with closing(_connect(path)) as db:
            tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
            if not {"runs", "metrics", "experiments"} <= tables:
                return None
            rows = db.execute("SELECT run_uuid, name FROM runs WHERE lifecycle_stage IS NULL "
                              "OR lifecycle_stage != 'deleted' ORDER BY start_time, run_uuid").fetchall()
    except (sqlite3.Error, ValueError, MemoryError) as exc:
        raise BrokenStore(f"{path}: SQLite database not readable ({_first_line(exc) or type(exc).__name__})") from None
    return [{"run_uuid": _text(u), "name": _text(n) if n is not None else None} for u, n in rows]


# ----------------------------------------------------------------------------- file store


def parse_metric_lines(text: str, first_line: int = 1) -> tuple[list[tuple[int, float, float]], list[int]]:
    """(step, value, wall seconds) per line of a metric file, and the numbers of bad lines.

    2 fields = old format without a step (step 0); 3 = `ts value step`; 5 adds the dataset.
    `first_line`: the number of the text's first line (a live reader parses appended lines).
    """
    points, bad = [], []
    for lineno, line in enumerate(text.splitlines(), start=first_line):
        fields = line.split()
        if not fields:
            continue
        if len(fields) not in (2, 3, 5):
            bad.append(lineno)
            continue
        ts, value = parse_float(fields[0]), parse_float(fields[1])
        step = _step_of(fields[2]) if len(fields) >= 3 else 0
        if ts is None or value is None or step is None:  # a step of 2^63 or NaN is a bad line
            bad.append(lineno)
            continue
        points.append((step, value, ts / 1000.0))
    return points, bad


def in_time_order(points: list[tuple[int, float, float]]) -> list[tuple[int, float, float]]:
    """A metric file's points by (timestamp, step), as the SQLite store is read. mlflow's async
    logging (`log_metrics(..., synchronous=False)`, what its Keras/Lightning autolog callbacks
    use) appends batches out of call order: file order then runs backwards (steps 0, 3, 4, 1, 2)
    and the curve fell back to log order, a shuffled loss. The stamp is taken at the call."""
    if any(p[2] != p[2] for p in points):  # NaN stamp: nothing to order by, keep the file's order
        return points
    return sorted(points, key=lambda p: (p[2], p[0]))


def _metric_file_lines(path: Path) -> tuple[list[tuple[int, float, float]], list[int]]:
    return parse_metric_lines(read_text(path))


def _read_file_store_run(source: RunSource, metric_lines=_metric_file_lines) -> Run:
    """A run folder of a file store. `metric_lines(path)`: the points and bad line numbers of one
    metric file (the live reader passes one that parses only appended lines, advisor.live)."""
    run_dir = Path(source.path)
    run = Run(name=source.name, path=str(run_dir), format=FORMAT, writer="mlflow")
    files = [Path(f) for f in source.files]
    _read_meta(run_dir / "meta.yaml", run)
    builder, damaged, readable = SeriesBuilder(), [], False
    for path in sorted(f for f in files if _part_of_run(f, run_dir)):
        part, key = path.relative_to(run_dir).parts[0], "/".join(path.relative_to(run_dir).parts[1:])
        try:
            if part == "metrics":
                points, bad = metric_lines(path)
            else:
                text = read_text(path)
        except IngestError as exc:
            damaged.append(str(exc))
            continue
        readable = True
        if part == "metrics":
            for step, value, wall in in_time_order(points):
                builder.add(key, step, value, wall)
            if bad:
                damaged.append(f"{path}: skipped {len(bad)} unreadable line(s) (lines {line_list(bad)})")
        elif part == "params":
            run.hparams[key] = _param(text)
        else:
            run.meta.setdefault("tags", {})[key] = text
    run.series = builder.build()
    run.warnings.extend(damaged)
    if not readable and not run.meta.get("run_id"):
        raise IngestError(f"{run_dir}: MLflow run folder with nothing readable")
    _name_and_writer(run)
    return run


def _read_meta(path: Path, run: Run) -> None:
    try:
        meta = load_yaml(read_text(path)) or {}
    except Exception as exc:  # a damaged meta.yaml must not lose the metrics
        run.warnings.append(f"{path}: run metadata not readable ({type(exc).__name__})")
        return
    if not isinstance(meta, dict):
        return
    run.meta["run_id"] = meta.get("run_id") or meta.get("run_uuid")
    run.meta["experiment_id"] = meta.get("experiment_id")
    if meta.get("run_name"):
        run.meta["run_name"] = meta["run_name"]
    status = meta.get("status")
    run.meta["status"] = STATUS.get(status, status) if isinstance(status, int) else status
    for key in ("start_time", "end_time"):
        if isinstance(meta.get(key), (int, float)):
            run.meta[key] = meta[key] / 1000.0


def _name_and_writer(run: Run) -> None:
    """Run name from the `mlflow.runName` tag (or meta); writer from autolog tags when present."""
    tags = run.meta.get("tags", {})
    if tags.get("mlflow.runName"):
        run.meta["run_name"] = tags["mlflow.runName"].strip()
    flavor = tags.get("mlflow.autologging")
    run.writer = f"mlflow-autolog-{flavor.strip()}" if flavor else "mlflow"


# ----------------------------------------------------------------------------- sqlite store


def _read_sqlite_run(source: RunSource) -> Run:
    path = Path(source.path)
    if source.options.get("broken"):
        raise IngestError(source.options["broken"])
    run_uuid = source.options["run_uuid"]
    run = Run(name=source.name, path=str(path), format=FORMAT, writer="mlflow")
    try:
        with closing(_connect(path)) as db:
            _sqlite_meta(db, run_uuid, run)
            builder = _sqlite_metrics(db, run_uuid)
            run.series = builder.build()
            if builder.bad:
                run.warnings.append(f"{path}: left out {builder.bad} bad metric row(s) (a step that is not a whole "
                                    "number within int64, or a value or timestamp that is not a number)")
            run.hparams.update({_text(k): _param(_text(v)) for k, v in
                                db.execute("SELECT key, value FROM params WHERE run_uuid=?", (run_uuid,))})
            tags = {_text(k): _text(v) for k, v in
                    db.execute("SELECT key, value FROM tags WHERE run_uuid=?", (run_uuid,)).fetchall()}
    except (sqlite3.Error, ValueError, MemoryError) as exc:
        if run.series:
            run.warnings.append(f"{path}: database partly unreadable ({exc})")
            return run
        raise IngestError(f"{path}: MLflow database not readable ({exc})") from None
    run.meta["tags"] = tags
    _name_and_writer(run)
    return run


def _sqlite_meta(db: sqlite3.Connection, run_uuid: str, run: Run) -> None:
    row = db.execute("SELECT r.name, r.status, r.start_time, r.end_time, r.experiment_id, e.name "
                     "FROM runs r LEFT JOIN experiments e ON e.experiment_id = r.experiment_id "
                     "WHERE r.run_uuid=?", (run_uuid,)).fetchone()
    if row is None:
        raise sqlite3.DatabaseError(f"run {run_uuid} not found")
    name, status, start, end, experiment_id, experiment = row
    run.meta.update({"run_id": run_uuid, "run_name": name, "status": status, "experiment_id": experiment_id,
                     "experiment": experiment})
    if start:
        run.meta["start_time"] = start / 1000.0
    if end:
        run.meta["end_time"] = end / 1000.0


def _sqlite_metrics(db: sqlite3.Connection, run_uuid: str) -> SeriesBuilder:
    """Every metric row; `is_nan` back to NaN and the stored double max back to inf."""
    builder = SeriesBuilder()
    query = ("SELECT key, value, timestamp, step, is_nan FROM metrics WHERE run_uuid=? "
             "ORDER BY key, timestamp, step")
    for key, value, timestamp, step, is_nan in db.execute(query, (run_uuid,)):
        number = _sqlite_value(value, is_nan)
        wall = as_number(timestamp) if timestamp is not None else math.nan
        if number is None or wall is None:  # text or a BLOB where a number belongs
            builder.bad += 1
            continue
        builder.add(_text(key), 0 if step is None else step, number, wall / 1000.0)
    return builder


def _sqlite_value(value: Any, is_nan: Any) -> float | None:
    """A metric value back to float (NaN/inf restored); None for text or BLOB values."""
    if is_nan in (1, True, "1") or value is None:
        return math.nan
    value = as_number(value)
    if value is None:
        return None
    if value >= DOUBLE_MAX:
        return math.inf
    if value <= -DOUBLE_MAX:
        return -math.inf
    return value


def _step_of(text: str) -> int | None:
    """A file-store step: digits (any length: 2^63 is checked, not overflowed) or a float text."""
    if len(text) > 40:
        return None
    try:
        return integral_step(int(text))
    except ValueError:
        return integral_step(parse_float(text))


def _param(text: str) -> Any:
    """A param as int/float/bool where it is one; a number too long for Python's int conversion stays text."""
    try:
        return parse_scalar_text(text)
    except ValueError:
        return text


# ----------------------------------------------------------------------------- read


def read(source: RunSource) -> Run:
    if source.options.get("store") == "rest":  # a run on a tracking server: mlflow://HOST:PORT/EXPERIMENT
        from advisor.ingest.mlflow_server import read_run

        return read_run(source)
    if source.options.get("store") == "sqlite":
        return _read_sqlite_run(source)
    return _read_file_store_run(source)


__all__ = ["claim", "read", "parse_metric_lines"]
