"""Plain JSON metric dumps: Keras `History` dicts, TensorBoard UI JSON downloads and Sacred's metrics.json.

- Keras (FORMATS.md §6): `json.dump(history.history)` is a dict of equal-length lists, one per
  metric (`loss`, `val_loss`, `accuracy`, `lr`, ...), index = epoch (0-based). Variants people
  save: values cast to strings (numpy float32 does not serialise), and pandas'
  `DataFrame(history.history).to_json()`, a dict of `{"0": v, "1": v}` dicts.
  One file holding two models' histories, every key under its model's prefix (`reg_loss`, `reg_val_mae` 30 epochs
  long, `cls_loss`, `cls_val_accuracy` 19 long), is one run per prefix (`<file>#reg`, `<file>#cls`), its metrics
  named without the prefix: when every key has a prefix that is no split or cadence word (`train_`, `val_`,
  `epoch_`), each prefix has a `loss`, each prefix's lists are of one length, and the prefixes' lengths differ
  (`model_prefixes`).
- TensorBoard UI "download JSON" (§1.10): `[[wall_time, step, value], ...]` for one run and tag;
  the tag comes from the file name (`run-<run>-tag-<tag>.json`), as for the CSV download.

- Sacred's FileStorageObserver: `<basedir>/<run id>/metrics.json` maps each metric to `{"steps": [..],
  "timestamps": [iso times], "values": [..]}`, beside `config.json` (the hyperparameters), `run.json`
  (status COMPLETED / FAILED / INTERRUPTED, the experiment, a failure's trace) and `cout.txt` (the
  captured terminal, side output). A run that did not complete says so in a warning.

A JSON file is claimed only when it has this shape: configs (`config.json`) and result summaries
(`all_results.json`) map keys to scalars or mixed values and are left alone.
"""
from __future__ import annotations

import json
import math
import re
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from advisor.ingest._text import (
    SNIFF_BYTES,
    _first_line,
    SeriesBuilder,
    as_number,
    head_text,
    integral_step,
    load_config_file,
    loads_json,
    parse_float,
    read_text,
)
from advisor.model import IngestError, Run, RunSource

FORMAT = "json"
# words that make a key a metric (a dict of number lists named `layers` is a config, not a log)
METRIC_KEY = re.compile(r"loss|acc|lr\b|learning_rate|auc|precision|recall|f1|mse|mae|error|iou|dice|"
                        r"^val_|^train_|reward", re.IGNORECASE)
KERAS_HEAD = re.compile(r'^\s*\{\s*"([^"]+)"\s*:\s*(\[|\{\s*"\d+"\s*:)')
TB_UI_HEAD = re.compile(r"^\s*\[\s*\[\s*[-+\d.eE]+\s*,\s*-?\d+\s*,")
OBJECT_HEAD = re.compile(r'^\s*\{\s*"')
SACRED_HEAD = re.compile(r'^\s*\{\s*"[^"]{1,200}"\s*:\s*\{\s*"(?:steps|timestamps|values)"\s*:\s*\[')
SACRED_FIELDS = {"steps", "values", "timestamps"}
SACRED_SIDE = ("config.json", "run.json", "cout.txt", "info.json")  # FileStorageObserver's files beside metrics.json
SACRED_DONE = {"COMPLETED", "RUNNING", "QUEUED"}  # any other status is a run that stopped early


# ----------------------------------------------------------------------------- shapes


def _number(value: Any) -> float | None:
    """A list element as float: numbers, numeric strings, NaN/Infinity tokens; None otherwise."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):
        return as_number(value)  # a 400-digit integer is inf, not an OverflowError
    if isinstance(value, str) and len(value) < 64:
        return parse_float(value)
    return None


def _as_points(value: Any) -> list[tuple[int, float]] | None:
    """One metric's points (index, value) from a list or an index->value dict; None if not one.

    A metric is one when more than half its entries are numbers; the others (a `null`, a nested
    object, an index beyond int64) are bad points, left out and counted by `bad_points`, so one
    damaged value costs that value, not the run.
    """
    if isinstance(value, list):
        points = [(i, n) for i, n in enumerate(map(_number, value)) if n is not None]
        total = len(value)
    elif isinstance(value, dict) and value and all(isinstance(k, str) and re.fullmatch(r"-?\d{1,40}", k)
                                                  for k in value):
        points = sorted((step, n) for k, v in value.items()
                        for step, n in [(integral_step(int(k)), _number(v))] if step is not None and n is not None)
        total = len(value)
    else:
        return None
    return points if total == 0 or 2 * len(points) > total else None


def bad_points(data: Any, metrics: dict[str, list]) -> int:
    """Entries of the history's metrics that were not numbers (left out by `_as_points`)."""
    return sum(len(data[k]) - len(p) for k, p in metrics.items() if isinstance(data.get(k), (list, dict)))


MIN_EPOCHS_BESIDE_METADATA = 3  # a history saved with metadata keys: its lists are this long at least


def keras_history(data: Any) -> dict[str, list[tuple[int, float]]] | None:
    """The metrics of a Keras History dict, or None when `data` is not one. A history saved with metadata beside
    its lists (`json.dump({**history.history, "timestamp": ..., "backbone": ..., "classes": [...]})`) is one too:
    its metrics are the number lists of the longest length (MIN_EPOCHS_BESIDE_METADATA at least, two of them, one
    named as a metric), the other keys its metadata (`history_metadata`)."""
    if not isinstance(data, dict) or not data:
        return None
    metrics = {str(k): _as_points(v) for k, v in data.items()}
    if any(points is None for points in metrics.values()):
        lists = {k: p for k, p in metrics.items() if p is not None and isinstance(data[k], list)}
        longest = max((len(data[k]) for k in lists), default=0)
        metrics = {k: p for k, p in lists.items() if len(data[k]) == longest}
        if longest < MIN_EPOCHS_BESIDE_METADATA or len(metrics) < 2:
            return None
    if not any(METRIC_KEY.search(k) for k in metrics):
        return None
    return metrics  # type: ignore[return-value]


# words a Keras key starts with that name a split, a cadence or a quantity, not a model: `train_loss`/`val_loss`
# of different lengths are one training's curves
_NO_MODEL_PREFIX = {"train", "training", "val", "valid", "validation", "test", "eval", "evaluation", "dev", "epoch",
                    "batch", "lr", "learning", "loss", "acc", "accuracy", "mean", "avg", "total", "step"}


def model_prefixes(data: Any, metrics: dict[str, list]) -> list[str]:
    """The model prefixes of a history that holds several models' histories (`reg_*` 30 epochs and `cls_*` 19 in
    one training_history.json), in file order; empty when it is one model's. Several, only when every metric key
    is `<prefix>_<name>` with a prefix that names no split or cadence, each prefix has a `loss`, each prefix's
    lists are of one length and the prefixes' lengths are not all the same (two trainings that ran apart)."""
    groups: dict[str, dict[str, int]] = {}
    for key in metrics:
        prefix, sep, rest = key.partition("_")
        if not sep or not rest or prefix.lower() in _NO_MODEL_PREFIX:
            return []
        groups.setdefault(prefix, {})[rest] = len(data[key])
    if len(groups) < 2 or any("loss" not in names or len(set(names.values())) > 1 for names in groups.values()):
        return []
    lengths = {next(iter(names.values())) for names in groups.values()}
    return list(groups) if len(lengths) > 1 else []


def history_metadata(data: dict, metrics: dict[str, list]) -> dict[str, Any]:
    """The scalar values a history saved beside its metric lists (`backbone`, `img_size`, `timestamp`; a final
    `test_acc` is a result, no setting)."""
    return {str(k): v for k, v in data.items() if str(k) not in metrics and isinstance(v, (str, int, float, bool))
            and not (isinstance(v, str) and len(v) > 200) and not METRIC_KEY.search(str(k))}


def tb_ui_points(data: Any) -> list[tuple[float, int, float]] | None:
    """`[[wall_time, step, value], ...]` rows, or None."""
    if not isinstance(data, list) or not data:
        return None
    rows = []
    for row in data:
        if not isinstance(row, list) or len(row) != 3:
            return None
        wall, step, value = (_number(v) for v in row)
        step = integral_step(step)
        if wall is None or step is None or value is None:
            continue  # a bad point (a step beyond int64, NaN or fractional): counted by the reader
        rows.append((wall, step, value))
    return rows if 2 * len(rows) > len(data) else None


def sacred_metrics(data: Any) -> dict[str, list[tuple[int, float, float]]] | None:
    """Sacred's metrics: name -> [(step, value, unix time or NaN)], or None when `data` is not its shape
    (every entry a `{"steps", "values"[, "timestamps"]}` dict of lists)."""
    if not isinstance(data, dict) or not data:
        return None
    out: dict[str, list[tuple[int, float, float]]] = {}
    for name, entry in data.items():
        if (not isinstance(entry, dict) or not {"steps", "values"} <= set(entry) or not set(entry) <= SACRED_FIELDS
                or not isinstance(entry["steps"], list) or not isinstance(entry["values"], list)):
            return None
        times = entry.get("timestamps") if isinstance(entry.get("timestamps"), list) else []
        points = []
        for i, (step, value) in enumerate(zip(entry["steps"], entry["values"])):
            step, number = integral_step(_number(step)), _number(value)
            if step is not None and number is not None:
                points.append((step, number, _iso_seconds(times[i]) if i < len(times) else math.nan))
        out[str(name)] = points
    return out


def _iso_seconds(text: Any) -> float:
    """An ISO time as Sacred writes it (`datetime.utcnow().isoformat()`, UTC without a zone) in unix seconds."""
    if not isinstance(text, str) or len(text) > 64:
        return math.nan
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return math.nan
    return (moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)).timestamp()


# ----------------------------------------------------------------------------- claim


def _kind(path: Path) -> str | None:
    """"keras" or "tb-ui" from the file's content; small files are parsed whole to be sure."""
    head = head_text(path, SNIFF_BYTES)
    keras_match, tb_match, sacred = KERAS_HEAD.match(head), TB_UI_HEAD.match(head), SACRED_HEAD.match(head)
    if not keras_match and not tb_match and not sacred:
        if OBJECT_HEAD.match(head) and len(head.encode("utf-8", errors="replace")) < SNIFF_BYTES:
            try:  # a small history whose first key is metadata (`{"timestamp": "2026-04-18", ..., "loss": [...]}`)
                return "keras" if keras_history(loads_json(head)) else None
            except ValueError:
                return None
        return None
    if len(head.encode("utf-8", errors="replace")) < SNIFF_BYTES:  # the whole file: check its shape
        try:
            data = loads_json(head)
        except ValueError:  # also JSONTooDeep and integers over Python's digit limit
            return None
        if sacred:
            return "sacred" if sacred_metrics(data) is not None else None
        if keras_history(data):
            return "keras"
        return "tb-ui" if tb_ui_points(data) else None
    if sacred:
        return "sacred"
    if keras_match:
        return "keras" if METRIC_KEY.search(keras_match.group(1)) else None
    return "tb-ui"


def claim(tree) -> list[RunSource]:
    sources = []
    unclaimed = tree.unclaimed()
    present = set(unclaimed)
    for path in unclaimed:
        if path.suffix.lower() != ".json" or path in tree.claimed:
            continue
        kind = _kind(path)
        if not kind:
            continue
        files, named = [path], path
        if kind == "sacred":  # the run folder: its config, status and captured output come with it
            side = [path.parent / n for n in SACRED_SIDE]
            files += [p for p in side if p != path and p in present and p not in tree.claimed]
            named = path if tree.given.is_file() else path.parent
        tree.claim(*files)
        prefixes = _model_prefixes_of(path) if kind == "keras" else []
        for prefix in prefixes:  # several models' histories in one file: a run each
            sources.append(RunSource(name=f"{tree.run_name(named)}#{prefix}", path=path, format=FORMAT, files=files,
                                     options={"kind": kind, "prefix": prefix}))
        if not prefixes:
            sources.append(RunSource(name=tree.run_name(named), path=path, format=FORMAT, files=files,
                                     options={"kind": kind}))
    return sources


def _model_prefixes_of(path: Path) -> list[str]:
    """`model_prefixes` of a history small enough to be read whole at its head (a history of two models is a few
    KB); a larger one is one run."""
    head = head_text(path, SNIFF_BYTES)
    if len(head.encode("utf-8", errors="replace")) >= SNIFF_BYTES:
        return []
    try:
        data = loads_json(head)
    except ValueError:
        return []
    metrics = keras_history(data)
    return model_prefixes(data, metrics) if metrics else []


# ----------------------------------------------------------------------------- read


def read(source: RunSource) -> Run:
    path = Path(source.path)
    text = read_text(path)
    if not text.strip():
        raise IngestError(f"{path}: empty file")
    damaged = None
    try:
        data = loads_json(text)
    except ValueError as exc:
        where = getattr(exc, "pos", None)
        why = f"{exc.msg} at char {where}" if where is not None else _first_line(exc)
        data = complete_members(text) if source.options.get("kind") == "keras" else None
        if not data:
            raise IngestError(f"{path}: not valid JSON ({why})") from None
        damaged = f"{path}: JSON cut or damaged ({why}); kept the {len(data)} complete metric(s) before it"
    kind = source.options.get("kind")
    if kind == "sacred":
        run = _read_sacred(source, path, data)
    else:
        run = _read_tb_ui(source, path, data) if kind == "tb-ui" else _read_keras(source, path, data)
    if damaged:
        run.warnings.append(damaged)
    return run


def complete_members(text: str) -> dict[str, Any]:
    """The `"key": value` pairs of a top-level object that were written whole before a cut."""
    decoder, out = json.JSONDecoder(), {}
    pos = text.find("{") + 1
    while 0 < pos < len(text):
        try:
            key, pos = decoder.raw_decode(text, _skip_space(text, pos))
            pos = _skip_space(text, pos)
            if not isinstance(key, str) or text[pos:pos + 1] != ":":
                break
            value, pos = decoder.raw_decode(text, _skip_space(text, pos + 1))
        except (ValueError, IndexError, RecursionError):
            break
        out[key] = value
        pos = _skip_space(text, pos)
        if text[pos:pos + 1] != ",":
            break
        pos += 1
    return out


def _skip_space(text: str, pos: int) -> int:
    while pos < len(text) and text[pos].isspace():
        pos += 1
    return pos


def _read_keras(source: RunSource, path: Path, data: Any) -> Run:
    metrics = keras_history(data)
    if metrics is None:
        raise IngestError(f"{path}: not a Keras History dict (metric name -> list of numbers)")
    prefix = source.options.get("prefix")
    if prefix:  # one model's history of a file holding several: its keys, named without the prefix
        metrics = {k[len(prefix) + 1:]: p for k, p in metrics.items() if k.startswith(prefix + "_")}
        data = {k[len(prefix) + 1:]: v for k, v in data.items() if k.startswith(prefix + "_")}
    run = Run(name=source.name, path=str(path), format=FORMAT, writer="keras")
    run.hparams.update(history_metadata(data, metrics))
    builder = SeriesBuilder()
    for tag, points in metrics.items():
        for epoch, value in points:
            builder.add(tag, epoch, value)
    run.series = builder.build()
    run.meta["x_axis"] = "epoch (list index, 0-based)"
    bad = bad_points(data, metrics)
    if bad:
        run.warnings.append(f"{path}: left out {bad} bad point(s) (not a number, or an epoch beyond int64)")
    lengths = {len(p) for p in metrics.values()}
    if len(lengths) > 1:
        run.warnings.append(f"{path}: metric lists have different lengths {sorted(lengths)}; "
                            "each is indexed from epoch 0")
    return run


def _read_tb_ui(source: RunSource, path: Path, data: Any) -> Run:
    rows = tb_ui_points(data)
    if rows is None:
        raise IngestError(f"{path}: not a TensorBoard JSON download ([[wall_time, step, value], ...])")
    tag = path.stem.split("-tag-", 1)[1] if "-tag-" in path.stem else path.stem
    run = Run(name=source.name, path=str(path), format=FORMAT, writer="tensorboard-ui-json")
    builder = SeriesBuilder()
    for wall, step, value in rows:
        builder.add(tag, step, value, wall if math.isfinite(wall) else math.nan)
    run.series = builder.build()
    if len(rows) < len(data):
        run.warnings.append(f"{path}: left out {len(data) - len(rows)} bad point(s) (a step that is not a "
                            "whole number within int64, or a value that is not a number)")
    run.meta.update({"x_axis": "step", "provenance": "TensorBoard UI download: the server's sampled points"})
    return run


def _read_sacred(source: RunSource, path: Path, data: Any) -> Run:
    metrics = sacred_metrics(data)
    if metrics is None:
        raise IngestError(f"{path}: not Sacred's metrics.json (metric -> steps, values, timestamps)")
    run = Run(name=source.name, path=str(path), format=FORMAT, writer="sacred")
    builder = SeriesBuilder()
    for tag, points in metrics.items():
        for step, value, wall in points:
            builder.add(tag, step, value, wall)
    run.series = builder.build()
    run.meta["x_axis"] = "step"
    bad = sum(min(len(e["steps"]), len(e["values"])) for e in data.values()) - sum(map(len, metrics.values()))
    if bad:
        run.warnings.append(f"{path}: left out {bad} bad point(s) (a step that is not a whole number, or a value "
                            "that is not a number)")
    for side in source.files[1:]:
        if side.name == "config.json":
            config, warning = load_config_file(side)
            run.hparams.update(config)
            if warning:
                run.warnings.append(warning)
        elif side.name == "run.json":
            _sacred_status(run, side)
    return run


def _sacred_status(run: Run, path: Path) -> None:
    """The run's status and experiment from run.json; a run that did not complete is a warning."""
    try:
        info = loads_json(read_text(path))
    except (ValueError, IngestError) as exc:
        run.warnings.append(f"{path}: run status not readable ({_first_line(exc)})")
        return
    if not isinstance(info, dict):
        return
    status = info.get("status")
    if isinstance(status, str):
        run.meta["status"] = status
        if status.upper() not in SACRED_DONE:
            trace = info.get("fail_trace")
            last = trace[-1].strip() if isinstance(trace, list) and trace and isinstance(trace[-1], str) else ""
            run.warnings.append(f"{path}: Sacred says the run {status}" + (f" ({last[:160]})" if last else "")
                                + "; its curves end where it stopped")
    experiment = info.get("experiment")
    if isinstance(experiment, dict) and isinstance(experiment.get("name"), str):
        run.meta["experiment"] = experiment["name"]


__all__ = ["claim", "read", "keras_history", "tb_ui_points", "sacred_metrics"]
