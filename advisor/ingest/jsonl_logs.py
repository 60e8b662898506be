"""Generic JSON-lines metric logs: one JSON object per line, written by a training loop.

detectron2's `metrics.json` (`iteration`, `total_loss`, `lr`), mmengine's `scalars.json` (`step`,
`loss`, `lr`), Ray Tune's `result.json` (`training_iteration`, the metrics, the trial's `config`)
and hand-written `metrics.jsonl` loops (`json.dumps({"step": s, "loss": l})`) all share this shape. So does
a loop's whole history dumped at once, `json.dump(history, f)` of a list of per-epoch dicts (`[{"epoch": 1,
"train_loss": 0.9, "val_loss": 1.0}, ...]`, also pandas' `to_json(orient="records")`): a `.json` file that is
one array of such objects, read object by object, so an array cut short by a killed run keeps its rows.

Each line is one row of a sparse wide table: its keys are the columns (nested objects flattened as
`a.b`), a key a line leaves out is not logged there. The table is then read exactly as a CSV log
is (advisor.ingest.csv_logs): the x column by the aliases of FORMATS §3.5 (step, iteration,
epoch ...), unix-time columns as wall time, config files beside the log as hparams. A row's
`config` object (Ray Tune) is the run's hyperparameters, not a metric.

Other modules own the JSON-lines files they know: a W&B history export (rows with `_step`) is
advisor.ingest.wandb's and is claimed before this module looks.
"""
from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path
from typing import Any

from advisor.ingest import csv_logs
from advisor.ingest._text import as_number, flatten, head_text, line_list, loads_json, read_text
from advisor.model import IngestError, Run, RunSource
from advisor.roles import classify, snake_name

FORMAT = "jsonl"
SUFFIXES = {".jsonl", ".ndjson", ".json"}
SIDE_FILES = [*csv_logs.CONFIG_SIDE_FILES, "params.json"]  # Ray Tune writes the trial's config there
CONFIG_KEY = "config"  # Ray Tune repeats the trial's config in every result row
SNIFF_LINES = 3
ARRAY_HEAD = re.compile(r"^\s*\[\s*\{")  # a JSON array of objects: a history dumped at once


def _metric_row(line: str) -> dict[str, Any] | None:
    """One line as a row when it is a JSON object with at least one number under a metric-like key."""
    try:
        row = loads_json(line)
    except ValueError:
        return None
    if not isinstance(row, dict):
        return None
    flat = flatten({k: v for k, v in row.items() if k != CONFIG_KEY})
    if any(csv_logs.METRIC_NAME.search(k) and as_number(v) is not None for k, v in flat.items()):
        return row
    return None


def _array_objects(text: str) -> tuple[list[Any], bool]:
    """The values of a JSON array, one by one, and whether the array is cut short (a run killed while
    `json.dump` wrote it: the values before the cut are kept)."""
    decoder = json.JSONDecoder()
    pos, end, values = text.index("[") + 1, len(text), []
    while True:
        while pos < end and text[pos] in " \t\r\n,":
            pos += 1
        if pos >= end:
            return values, True
        if text[pos] == "]":  # the end, or a second array appended (json.dump called again in append mode)
            after = pos + 1
            while after < end and text[after] in " \t\r\n":
                after += 1
            if after >= end or text[after] != "[":
                return values, False
            pos = after + 1
            continue
        try:
            value, pos = decoder.raw_decode(text, pos)
        except (ValueError, RecursionError):
            return values, True
        values.append(value)


X_KEYS = {a.lower() for a in csv_logs.STEP_COLUMNS + csv_logs.EPOCH_COLUMNS}


def _is_history(row: Any) -> bool:
    """An epoch's (or step's) record in a dumped history: its position (an epoch, step or iteration key) and a
    loss or an accuracy among its numbers. Without the position a list of records is as likely per-sample
    losses, a sweep's results or a model comparison (`[{"id": "img_0001.jpg", "loss": 0.1}, ...]`)."""
    if not isinstance(row, dict):
        return False
    flat = flatten(row)
    return (any((str(k).lower() in X_KEYS or snake_name(str(k)) in X_KEYS) and as_number(v) is not None for k, v in flat.items())
            and any(classify(str(k)).kind in ("loss", "acc") and as_number(v) is not None for k, v in flat.items()))


def sniff(path: Path) -> bool:
    """True when the file's first lines are metric rows: two at least, or one that ends the file; or,
    for a `.json` file, when it is an array whose first objects are history records (`_is_history`).

    A pretty-printed JSON document (a config, trainer_state.json) opens with a line that is not a
    whole object; a one-line JSON object with numbers is a summary (`all_results.json`) unless the
    file is named as a JSON-lines log. An array of configs or of per-sample results is no history."""
    head = head_text(path, 65536)
    if path.suffix.lower() == ".json" and ARRAY_HEAD.match(head):
        values, _ = _array_objects(head)
        return len(values) >= 2 and all(_is_history(v) for v in values[:SNIFF_LINES])
    lines = [ln for ln in head.splitlines() if ln.strip()][:SNIFF_LINES]
    rows = [r for r in (_metric_row(ln) for ln in lines[:2]) if r is not None]
    if len(rows) >= 2:
        return True
    return len(rows) == 1 and len(lines) == 1 and path.suffix.lower() in (".jsonl", ".ndjson")


def claim(tree) -> list[RunSource]:
    """One run per JSON-lines log, with the config files beside it when it is alone in its folder."""
    found = [p for p in tree.unclaimed() if p.suffix.lower() in SUFFIXES and sniff(p)]
    return csv_logs.claim_logs(tree, [(p, {}) for p in found], FORMAT, SIDE_FILES)


def _cell(value: Any) -> str:
    number = as_number(value)
    return "" if number is None else repr(float(number))


def json_objects(path: Path) -> tuple[list[dict[str, Any]], list[str], bool]:
    """Every JSON object line of a file, in order, with one warning for the lines that are not one
    (a last line cut short says so apart), and whether the file ends mid-line (still being written, or
    the run was killed). Shared with advisor.ingest.mmlab."""
    text = read_text(path)
    if ARRAY_HEAD.match(text):
        values, cut = _array_objects(text)
        rows = [v for v in values if isinstance(v, dict)]
        warnings = [f"{path}: the JSON array is cut short (file still being written or the run was killed); "
                    f"the {len(rows)} object(s) before the cut were kept"] if cut else []
        if len(rows) < len(values):
            warnings.append(f"{path}: skipped {len(values) - len(rows)} array element(s) that are not JSON objects")
        return rows, warnings, cut
    lines = text.splitlines()
    rows: list[dict[str, Any]] = []
    bad: list[int] = []
    for lineno, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = loads_json(line)
        except ValueError:
            row = None
        if isinstance(row, dict):
            rows.append(row)
        else:
            bad.append(lineno)
    warnings, cut = [], bool(bad) and bad[-1] == len(lines) and not text.endswith(("\n", "\r"))
    if cut:
        bad.pop()
        warnings.append(f"{path}: last line {len(lines)} is cut short (file still being written or the run "
                        "was killed); the rows before it were kept")
    if bad:
        warnings.append(f"{path}: skipped {len(bad)} line(s) that are not JSON objects (lines {line_list(bad)})")
    return rows, warnings, cut


def read(source: RunSource) -> Run:
    """Every row of the log; lines that are not JSON objects skipped with one warning."""
    path = Path(source.path)
    objects, warnings, cut = json_objects(path)
    rows: list[dict[str, Any]] = []
    config: dict[str, Any] = {}
    for row in objects:
        if isinstance(row.get(CONFIG_KEY), dict):
            config = row.pop(CONFIG_KEY)
        rows.append(flatten(row))  # bounded and iterative: a nested object is no metric
    if not rows:
        raise IngestError(f"{path}: no line is a JSON object of metrics")
    header = list(dict.fromkeys(k for row in rows for k in row))
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    for row in rows:
        writer.writerow([_cell(row[k]) if k in row else "" for k in header])
    table = csv_logs.parse_table(buffer.getvalue(), ".csv")
    run = csv_logs.run_from_table(source, path, table)
    run.format, run.writer = FORMAT, "jsonl"
    if config:
        run.hparams = {**flatten(config, warnings=run.warnings), **run.hparams}
    run.warnings.extend(warnings)
    if cut:
        run.meta["truncated"] = True
    return run


__all__ = ["claim", "read", "sniff", "json_objects"]
