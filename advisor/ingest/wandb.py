"""Weights & Biases logs: local run folders, API history exports, and UI CSV exports.

Inputs (FORMATS.md §2):
- run folders `wandb/run-*/`, `offline-run-*/`: the binary `run-<id>.wandb` is the complete
  history (decoded by `advisor.ingest.wandb_log`); `files/config.yaml` and
  `files/wandb-summary.json` add config and final values when present;
- pre-0.10 folders with `wandb-history.jsonl` (in `files/` or directly in `wandb/`), and API
  history exports (`run.history()` / `scan_history()` saved as CSV or JSONL with `_step`);
- the UI panel "Export CSV" (`Step`, `"<run> - <key>"`, `__MIN`, `__MAX`): one run per display
  name, named `<file>#<run>`; the MIN/MAX bucket extremes are dropped;
- the runs-table CSV: one summary row per run. It holds no history, so it is read as such and
  said so, instead of being misread as a curve.

The x-axis of a history row is the integration's step key when the run logs one
(`trainer/global_step`, `train/global_step`, `global_step`, `epoch/epoch`, `batch/batch_step`),
else a step counter the run logs itself (`train/update_step`, `step`: `OWN_STEP_NAMES`), else `_step`:
W&B's own counter counts `log()` calls, not training steps (a loop under gradient accumulation that logs
`wandb.log(..., step=micro_batch)` counts micro-batches there). A row without the run's step key (an
evaluation logged on its own) sits at the step last logged before it.
"""
from __future__ import annotations

import csv
import math
import re
from pathlib import Path
from typing import Any, Iterable

from advisor import limits
from advisor.ingest import csv_logs
from advisor.ingest._text import (
    YAMLTooBig,
    read_bytes,
    SeriesBuilder,
    flatten,
    head_text,
    integral_step,
    line_list,
    load_yaml,
    loads_json,
    parse_float,
    read_head,
    read_text,
)
from advisor.ingest.wandb_log import WandbLog, finite_or_token, has_wandb_header, read_wandb_bytes
from advisor.model import IngestError, Run, RunSource

FORMAT = "wandb"
RUN_DIR = re.compile(r"^(?:offline-)?run-(\d{8}_\d{6})-([A-Za-z0-9]+)$")
STEP_KEYS = ["trainer/global_step", "train/global_step", "global_step"]
PREFIXED_STEP_KEYS = {"epoch/": "epoch/epoch", "batch/": "batch/batch_step"}
# the last name of a key a loop logs its own optimizer step under (`train/update_step`, DiffuSeq's `step`)
OWN_STEP_NAMES = {"step", "global_step", "update_step", "optimizer_step", "opt_step"}
RUNS_TABLE_COLUMNS = {"name", "state", "notes", "user", "tags", "created", "runtime", "sweep", "id",
                      "group", "job type", "hostname"}
PANEL_SUFFIXES = ("__MIN", "__MAX")


# ----------------------------------------------------------------------------- claim


def claim(tree) -> list[RunSource]:
    """Run folders first (they own their files), then exports recognised by their header."""
    sources = _claim_run_dirs(tree)
    for path in tree.unclaimed():
        kind = _export_kind(path)
        if kind == "panel":
            sources.extend(_panel_sources(tree, path))
        elif kind:
            tree.claim(path)
            sources.append(RunSource(name=tree.run_name(path), path=path, format=FORMAT, files=[path],
                                     options={"kind": kind}))
    return sources


def _run_root(path: Path) -> Path | None:
    """The run folder a file belongs to, for the files that mark a W&B run."""
    if path.suffix == ".wandb" and path.name.startswith("run-"):
        head = read_head(path, 8)
        # an empty binary still marks the folder (read() says what is wrong with it)
        return path.parent if has_wandb_header(head) or (head == b"" and _is_empty(path)) else None
    if path.name == "wandb-history.jsonl":
        return path.parent.parent if path.parent.name == "files" else path.parent
    if path.name == "wandb-summary.json" and path.parent.name == "files" and RUN_DIR.match(path.parent.parent.name):
        return path.parent.parent  # an online run whose .wandb was not kept: summary and config only
    return None


def _is_empty(path: Path) -> bool:
    try:
        return path.stat().st_size == 0
    except OSError:
        return False


def _claim_run_dirs(tree) -> list[RunSource]:
    roots: dict[Path, None] = {}
    for path in tree.unclaimed():
        root = _run_root(path)
        if root is not None:
            roots.setdefault(root, None)
    groups: dict[tuple[Path, str], list[Path]] = {}
    for root in roots:
        match = RUN_DIR.match(root.name)
        key = (root.parent, match.group(2)) if match else (root, "")
        groups.setdefault(key, []).append(root)
    sources = []
    unclaimed = tree.unclaimed()
    for (_, run_id), dirs in groups.items():
        dirs.sort(key=lambda d: d.name)  # a resumed run: same id, later timestamp
        files = [f for d in dirs for f in _files_of(d, unclaimed)]
        tree.claim(*files)
        sources.append(RunSource(name=tree.run_name(dirs[-1]), path=dirs[-1], format=FORMAT, files=files,
                                 options={"kind": "run-dir", "run_dirs": [str(d) for d in dirs],
                                          "run_id": run_id}))
    return sources


def _files_of(root: Path, unclaimed: list[Path]) -> list[Path]:
    """A run folder's files; a legacy `wandb/` folder owns only its direct wandb files."""
    if RUN_DIR.match(root.name) or (root / "files").is_dir():
        return [f for f in unclaimed if root in f.parents]
    return [f for f in unclaimed if f.parent == root and
            (f.name.startswith("wandb-") or f.name in {"config.yaml", "output.log", "diff.patch"})]


def _header_cells(path: Path) -> list[str] | None:
    text = head_text(path, 8192)
    first = text.splitlines()[0] if text.strip() else ""
    if not first:
        return None
    return [c.strip() for c in next(csv.reader([first]))]


def _export_kind(path: Path) -> str | None:
    """Which W&B export a CSV/JSONL file is, from its first line; None if it is none."""
    suffix = path.suffix.lower()
    if suffix == ".jsonl":
        first = head_text(path, 65536).splitlines()[:1]
        try:
            row = loads_json(first[0]) if first else None
        except ValueError:
            return None
        return "history-jsonl" if isinstance(row, dict) and "_step" in row else None
    if suffix != ".csv":
        return None
    header = _header_cells(path)
    if not header or len(header) < 2:
        return None
    if any(" - " in h for h in header[1:]) and any(h.endswith(PANEL_SUFFIXES) for h in header):
        return "panel"
    if "_step" in header and ("_runtime" in header or "_timestamp" in header):
        return "history-csv"
    if len({h.lower() for h in header} & RUNS_TABLE_COLUMNS) >= 3 and "name" in {h.lower() for h in header}:
        return "runs-table"
    return None


# ----------------------------------------------------------------------------- UI panel export


def split_panel_columns(header: list[str]) -> dict[str, list[tuple[str, str]]]:
    """`"<run> - <key>"` columns grouped by run: run -> [(column, key)]; MIN/MAX dropped.

    Run display names may contain " - " too, so the split is the one whose key is shared by the
    most columns (panels plot one key for many runs); ties take the last " - ".
    """
    value_cols = [h for h in header[1:] if h and not h.endswith(PANEL_SUFFIXES)]
    splits = {h: [(h[:i], h[i + 3:]) for i in _positions(h, " - ")] for h in value_cols}
    key_count: dict[str, int] = {}
    for options in splits.values():
        for key in {k for _, k in options}:
            key_count[key] = key_count.get(key, 0) + 1
    runs: dict[str, list[tuple[str, str]]] = {}
    for column, options in splits.items():
        if not options:
            continue
        run, key = max(reversed(options), key=lambda o: (key_count[o[1]], -len(o[1])))
        runs.setdefault(run, []).append((column, key))
    return runs


def _positions(text: str, sep: str) -> list[int]:
    return [m.start() for m in re.finditer(re.escape(sep), text)]


def _panel_sources(tree, path: Path) -> list[RunSource]:
    header = _header_cells(path) or []
    runs = split_panel_columns(header)
    tree.claim(path)
    base = tree.run_name(path)
    return [RunSource(name=f"{base}#{run}", path=path, format=FORMAT, files=[path],
                      options={"kind": "panel", "panel_run": run}) for run in runs]


def _read_panel(source: RunSource) -> Run:
    import pandas as pd

    path = Path(source.path)
    run_name = source.options["panel_run"]
    frame = _read_csv_frame(path)
    header = [str(c) for c in frame.columns]
    columns = split_panel_columns(header).get(run_name)
    if columns is None:
        raise IngestError(f"{path}: no columns for run {run_name!r} in this W&B panel export")
    run = Run(name=source.name, path=str(path), format=FORMAT, writer="wandb-ui-export")
    x_name = header[0]
    x = pd.to_numeric(frame[x_name], errors="coerce")
    steps, x_note = _panel_steps(frame, x, x_name, run_name)
    builder = SeriesBuilder()
    for column, key in columns:
        if key == "_step":
            continue
        values, present = _numbers_and_presence(frame[column])
        usable = steps.notna() & steps.abs().lt(2.0**63)  # -inf, 1e308: bad points, counted
        builder.bad += int((present & ~usable).sum())
        present &= usable
        walls = x[present] if x_name.lower() == "wall time" else None
        builder.add_many(key, steps[present].astype("int64"), values[present], walls)
    run.series = builder.build()
    if builder.bad:
        run.warnings.append(builder.bad_warning(path))
    run.meta.update({"x_axis": x_name, "sampled": True, "panel_run": run_name})
    if x_note:
        run.meta["x_note"] = x_note
    run.meta["provenance"] = "W&B panel export: the panel's sampled points, not the full history"
    return run


def _numbers_and_presence(cells):
    """A panel column as floats, and which cells hold a logged value (NaN/Infinity included)."""
    import pandas as pd

    values = pd.to_numeric(cells, errors="coerce")
    tokens = cells.astype(str).str.strip().str.lower().isin(["nan", "infinity", "-infinity", "inf", "-inf"])
    return values, cells.notna() & (values.notna() | tokens)


TIME_AXES = {"relative time (process)", "relative time (wall)", "wall time"}


def _panel_steps(frame, x, x_name: str, run_name: str):
    """Integer steps for a panel export: the x column, or the run's `_step` column for time axes."""
    import pandas as pd

    step_col = f"{run_name} - _step"
    is_time = x_name.strip().lower() in TIME_AXES
    if not is_time and x.notna().any() and (x.dropna() == x.dropna().round()).all():
        return x, None
    if step_col in frame.columns:
        return pd.to_numeric(frame[step_col], errors="coerce"), f"x is {x_name!r}; steps from {step_col!r}"
    return pd.Series(range(len(frame)), dtype="float64"), f"x is {x_name!r} (not a step); points indexed by row"


def _read_csv_frame(path: Path):
    import pandas as pd

    try:
        with limits.open_regular(path) as fh:
            return pd.read_csv(fh, dtype=str, keep_default_na=False, na_values=[""], on_bad_lines="skip")
    except OSError as exc:
        raise IngestError(f"{path}: cannot read ({limits.describe_os_error(exc)})") from None
    except (ValueError, MemoryError) as exc:  # pandas' ParserError is a ValueError
        raise IngestError(f"{path}: unreadable CSV ({str(exc).splitlines()[0][:120]})") from None


# ----------------------------------------------------------------------------- history rows -> series


def step_key_for(key: str, row: dict[str, Any]) -> str:
    """Which row key gives the x value of metric `key` (FORMATS §2.4 integration step keys)."""
    for prefix, step_key in PREFIXED_STEP_KEYS.items():
        if key.startswith(prefix) and step_key in row:
            return step_key
    for step_key in STEP_KEYS:
        if step_key in row:
            return step_key
    return "_step"


def _flat_values(row: dict[str, Any]) -> Iterable[tuple[str, Any]]:
    """Row items with nested dicts flattened ("a.b"); media dicts (`_type`) skipped."""
    for key, value in row.items():
        if isinstance(value, dict):
            if "_type" in value:
                continue
            yield from _flat_values({f"{key}.{k}": v for k, v in value.items()})
        else:
            yield key, value


def run_step_key(rows: list[tuple[dict[str, Any], int | None]]) -> str | None:
    """The step the run reports in its rows: an integration's key (STEP_KEYS), else the first key named as
    an optimizer step (OWN_STEP_NAMES) whose values are whole numbers that never go back and do move;
    None when it reports none (then `_step` is the x)."""
    keys: dict[str, None] = {}
    for row, _ in rows:
        keys.update(dict.fromkeys(row))
    for key in STEP_KEYS:
        if key in keys:
            return key
    for key in keys:
        if key.rsplit("/", 1)[-1].lower() in OWN_STEP_NAMES:
            values = [integral_step(finite_or_token(row[key])) for row, _ in rows if key in row]
            if None not in values and values[-1] > values[0] and all(b >= a for a, b in zip(values, values[1:])):
                return key
    return None


def rows_to_series(rows: Iterable[tuple[dict[str, Any], int | None]], run: Run) -> None:
    """History rows (dict + optional record step) into run.series; restarts noted as events."""
    rows = list(rows)
    builder = SeriesBuilder()
    last_step, x_keys = None, set()
    own = run_step_key(rows)
    # a row without the run's step key sits at the step last logged before it (before any: the first one)
    logged = (integral_step(finite_or_token(row[own])) for row, _ in rows if own in row)
    carried = next((s for s in logged if s is not None), None)
    for index, (row, record_step) in enumerate(rows):
        fallback = row.get("_step", record_step if record_step is not None else index)
        wall = finite_or_token(row.get("_timestamp"))
        wall = math.nan if wall is None else wall
        row_step = integral_step(finite_or_token(fallback) if fallback is not None else None)
        if row_step is not None and last_step is not None and row_step < last_step:
            run.events.append({"kind": "restart", "step": row_step, "reason": "_step went back (resumed run)"})
        last_step = row_step if row_step is not None else last_step
        if own in row:
            carried = integral_step(finite_or_token(row[own]))
        for key, value in _flat_values(row):
            number = finite_or_token(value)
            if number is None or key.startswith("_"):
                continue
            step_key = step_key_for(key, row)
            if step_key == "_step" and own:
                step, step_key = carried, own
            else:
                step = integral_step(finite_or_token(row.get(step_key))) if step_key != "_step" else row_step
            if step is None:
                step, step_key = row_step, "_step"
            if step is None:  # a _step of 2^63, -inf or NaN: a bad point, counted
                builder.bad += 1
                continue
            x_keys.add(step_key)
            builder.add(key, step, number, wall)
    run.series = builder.build()
    if builder.bad:
        run.warnings.append(builder.bad_warning(run.path))
    run.meta["x_axis"] = sorted(x_keys) if len(x_keys) > 1 else (next(iter(x_keys)) if x_keys else "_step")


# ----------------------------------------------------------------------------- run folders


def _read_run_dir(source: RunSource, rows_from_jsonl=None, read_log=None) -> Run:
    """A W&B run folder. `rows_from_jsonl(path, run)`: how a history file gives its rows;
    `read_log(path)`: how a `.wandb` file gives its WandbLog (None: empty). The live reader passes
    ones that read only what was appended (advisor.live.tail_text)."""
    rows_from_jsonl = rows_from_jsonl or _rows_from_jsonl
    run = Run(name=source.name, path=str(source.path), format=FORMAT)
    files = [Path(f) for f in source.files]
    binaries = [f for f in files if f.suffix == ".wandb" and f.name.startswith("run-")]
    histories = [f for f in files if f.name == "wandb-history.jsonl"]
    rows: list[tuple[dict, int | None]] = []
    readable = False
    for binary in binaries:
        got, ok = _rows_from_binary(binary, run, read_log)
        rows.extend(got)
        readable |= ok
    if not binaries:
        for history in histories:
            got, ok = rows_from_jsonl(history, run)
            rows.extend(got)
            readable |= ok
    readable |= _read_side_files(files, run)
    if not readable:
        reason = "; ".join(run.warnings) or "no history"
        raise IngestError(f"{source.path}: W&B run folder with nothing readable ({reason})")
    rows_to_series(rows, run)
    if not binaries and not histories:
        run.warnings.append(f"{source.path}: W&B run folder without run-<id>.wandb or wandb-history.jsonl: "
                            "only config and final summary values, no history")
    elif not rows:
        run.warnings.append(f"{source.path}: W&B run has no history rows (it ended before anything was logged)")
    run.writer = run.writer or "wandb"
    return run


def _whole_log(path: Path) -> WandbLog | None:
    """The decoded `.wandb` file; None when it is empty."""
    data = read_bytes(path)
    return read_wandb_bytes(data) if data else None


def _rows_from_binary(path: Path, run: Run, read_log=None) -> tuple[list, bool]:
    try:
        log = (read_log or _whole_log)(path)
    except IngestError as exc:
        run.warnings.append(str(exc))
        return [], False
    if log is None:
        run.warnings.append(f"{path}: empty file")
        return [], False
    if log.problems:
        run.warnings.append(f"{path}: " + "; ".join(log.problems[:3]) +
                            (f" (+{len(log.problems) - 3} more)" if len(log.problems) > 3 else "") +
                            f"; kept {len(log.rows)} history rows")
    if log.version:
        run.writer = f"wandb-{log.version}"
    if log.run.get("display_name"):
        run.meta["display_name"] = log.run["display_name"]
    for key in ("run_id", "project", "entity", "group", "job_type", "start_time"):
        if key in log.run:
            run.meta[key] = log.run[key]
    if log.exit_code is not None:
        run.meta["exit_code"] = log.exit_code
    if log.truncated:
        run.meta["truncated"] = True
    run.hparams.update(clean_config(log.config))
    if log.summary:
        run.meta["summary"] = _numbers_only(log.summary)
    return log.rows, log.records > 0


def _rows_from_jsonl(path: Path, run: Run) -> tuple[list, bool]:
    text = read_text(path)
    rows, bad = parse_history_lines(text)
    return history_file_rows(path, run, rows, bad, blank=not text.strip())


def parse_history_lines(text: str, first_line: int = 1) -> tuple[list[tuple[dict, None]], list[int]]:
    """The rows of wandb-history.jsonl text, and the numbers of its unreadable lines. `first_line`:
    the number of the text's first line (a live reader parses appended lines, advisor.live)."""
    rows, bad = [], []
    for lineno, line in enumerate(text.splitlines(), start=first_line):
        if not line.strip():
            continue
        try:
            row = loads_json(line)
        except ValueError:
            bad.append(lineno)
            continue
        if isinstance(row, dict):
            rows.append((row, None))
        else:
            bad.append(lineno)
    return rows, bad


def history_file_rows(path: Path, run: Run, rows: list, bad: list[int], blank: bool) -> tuple[list, bool]:
    """(rows, readable) of one history file, its problems said in `run.warnings`."""
    if blank:
        run.warnings.append(f"{path}: empty file")
        return [], False
    if bad:
        run.warnings.append(f"{path}: skipped {len(bad)} unreadable line(s) (lines {line_list(bad)})")
    return rows, bool(rows) or not bad


def clean_config(config: dict[str, Any]) -> dict[str, Any]:
    """W&B config as flat hparams: `{value: …}` wrappers stripped, `_wandb`/`wandb_version` dropped."""
    out = {}
    for key, value in config.items():
        if key in ("_wandb", "wandb_version") or key.startswith("_"):
            continue
        if isinstance(value, dict) and "value" in value and set(value) <= {"value", "desc"}:
            value = value["value"]
        out.update(flatten({key: value}))
        if len(out) >= limits.current().hparams:
            break
    return out


def _numbers_only(summary: dict[str, Any]) -> dict[str, float]:
    return {k: v for k, v in ((k, finite_or_token(v)) for k, v in summary.items())
            if v is not None and not k.startswith("_")}


def _read_side_files(files: list[Path], run: Run) -> bool:
    """config.yaml, wandb-summary.json, wandb-metadata.json: config, summary, writer version."""
    readable = False
    for path in files:
        if path.name == "config.yaml":
            readable |= _read_config_yaml(path, run)
        elif path.name == "wandb-summary.json":
            try:
                summary = loads_json(read_text(path))
                run.meta.setdefault("summary", {}).update(_numbers_only(summary if isinstance(summary, dict) else {}))
                readable = True
            except (ValueError, IngestError) as exc:
                run.warnings.append(f"{path}: summary not readable ({str(exc)[:100]})")
    return readable


def _read_config_yaml(path: Path, run: Run) -> bool:
    try:
        config = load_yaml(read_text(path))
    except IngestError as exc:
        run.warnings.append(f"config not read: {exc}")
        return False
    except YAMLTooBig as exc:
        run.warnings.append(f"{path}: config not read ({exc})")
        return False
    except Exception as exc:  # a yaml error must not lose the history
        run.warnings.append(f"{path}: config not readable ({type(exc).__name__})")
        return False
    if not isinstance(config, dict):
        return False
    wandb_meta = config.get("_wandb")
    inner = wandb_meta.get("value", wandb_meta) if isinstance(wandb_meta, dict) else {}
    if isinstance(inner, dict) and inner.get("cli_version") and not run.writer:
        run.writer = f"wandb-{inner['cli_version']}"
    run.hparams.update(clean_config(config))
    return True


# ----------------------------------------------------------------------------- exports


def _read_history_export(source: RunSource) -> Run:
    """An API `history()`/`scan_history()` export: rows with `_step`; blanks mean 'not logged'."""
    path = Path(source.path)
    run = Run(name=source.name, path=str(path), format=FORMAT, writer="wandb-api-export")
    if source.options.get("kind") == "history-jsonl":
        rows, ok = _rows_from_jsonl(path, run)
        if not ok:
            raise IngestError(f"{path}: no readable JSON line")
    else:
        rows = _rows_from_csv(path)
    rows_to_series(rows, run)
    return run


def _rows_from_csv(path: Path) -> list[tuple[dict, None]]:
    """The rows of `run.history().to_csv(...)`; pandas' own index column (`Unnamed: 0`, written unless
    index=False) is a row counter beside `_step`, no metric."""
    frame = _read_csv_frame(path)
    rows = []
    index = csv_logs.pandas_index([str(c) for c in frame.columns])
    for record in frame.to_dict("records"):
        row = {}
        for key, cell in record.items():
            if isinstance(cell, str) and key != index:
                number = parse_float(cell)
                row[str(key)] = number if number is not None else cell
        rows.append((row, None))
    return rows


def _read_runs_table(source: RunSource) -> Run:
    """A runs-table export: per-run summary values, kept in meta; no curves to diagnose."""
    path = Path(source.path)
    frame = _read_csv_frame(path)
    run = Run(name=source.name, path=str(path), format=FORMAT, writer="wandb-runs-table")
    run.meta["kind"] = "runs-table"
    run.meta["runs_table"] = frame.to_dict("records")
    run.warnings.append(f"{path}: W&B runs-table export ({len(frame)} runs, one summary row each): "
                        "final values only, no training history to diagnose")
    return run


# ----------------------------------------------------------------------------- read


def read(source: RunSource) -> Run:
    kind = source.options.get("kind", "run-dir")
    if kind == "run-dir":
        return _read_run_dir(source)
    if kind == "panel":
        return _read_panel(source)
    if kind == "runs-table":
        return _read_runs_table(source)
    return _read_history_export(source)


__all__ = ["claim", "read", "rows_to_series", "split_panel_columns", "clean_config"]
