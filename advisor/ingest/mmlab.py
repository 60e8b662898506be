"""OpenMMLab's logs: MMEngine's `vis_data/scalars.json`, MMCV 1.x's `<timestamp>.log.json`, their text `.log`.

Both are JSON lines, and neither reads right as a generic table (advisor.ingest.jsonl_logs):
- MMEngine (mmdet 3, mmpretrain, mmpose 1, mmseg 1, ...): LoggerHook writes each training row at
  the global iteration (`{"lr": .., "loss": .., "epoch": 3, "iter": 138, "step": 138}`) and each
  validation row as `{"accuracy/top1": 70.9, "data_time": .., "time": .., "step": 2}`, whose `step`
  is the *epoch* in a by-epoch loop (its default `log_metric_by_epoch`) and the iteration in an
  iteration-based one; the validation metrics carry no split word. As a table, the accuracy read
  as a training metric at steps 1..N beside a loss at 69..69N. A work dir holds one timestamp
  folder per launch: `<ts>/<ts>.log` (the terminal's text), `<ts>/vis_data/scalars.json`, the same
  rows again in `<ts>/vis_data/<ts>.json`, and the merged config in `<ts>/vis_data/config.py`.
- MMCV 1.x (mmdet 2, mmcls 0, mmseg 0, mmdet3d ...): TextLoggerHook writes
  `{"mode": "train", "epoch": 3, "iter": 50, "lr": .., "loss": ..}`, `iter` counted within the
  epoch (EpochBasedRunner) or over the run (IterBasedRunner), and `{"mode": "val", "epoch": 3,
  "iter": 313, "bbox_mAP": ..}`, whose `iter` is the validation loader's length, not a training
  step. The first line is the environment and the merged config (`{"env_info": .., "config": ..}`),
  which a generic sniff never took for metrics, so these logs were not read at all.

Here every point is placed at the training iteration it belongs to: a validation at the end of its
epoch (the epoch's length read off the text log's `[e][i/N]`, else the smallest one the training
rows allow; MMCV's JSON alone never states it: the largest iteration logged, with a warning), an
iteration-based one at its iteration, or after the training row before it when its step is none (an
iteration loop left at `log_metric_by_epoch` logs step 0). The logs of one work dir are grouped into
trainings: a launch whose first training row is in a later epoch, or further in than one logging
interval (a resume from a checkpoint: epoch 5, iteration 81), continues the one before, the earlier
points from its first step on dropped as a TensorBoard restart's are; one that starts from scratch is
a training of its own. A TensorBoard file in vis_data (TensorboardVisBackend) holds the same scalars
and is a side file. When only the text log was kept, its `Epoch(train) [e][i/n]  lr: ..  loss: ..` /
`Epoch [e][i/n]<tab>lr: .., loss: ..` and `Epoch(val)` / `Iter(val)` lines are read the same way
(under an mm* logger, or a script's own when such a line shows within the first MiB; each launch's
text log a run of its own). Validation metrics are named `val/<key>` (as logged when the key already
names a split: log_with_hierarchy's `train/`, `val/`); timings, memory and the LR repeated in
validation rows are no metrics. The config (vis_data/config.py, else the one the text log prints, or
MMCV's first line) gives the optimizer, LR, momentum, weight decay, batch size, schedule length,
warmup and clipping; it is parsed as literals (`dict(...)` calls, numbers, strings, lists), never run.
Not done: an MMCV launch whose environment line is over a MiB is not joined to the one it resumes.
"""
from __future__ import annotations

import ast
import math
import re
from pathlib import Path
from typing import Any

import numpy as np

from advisor.ingest._text import SeriesBuilder, as_number, head_text, integral_step, loads_json, read_text
from advisor.ingest.csv_logs import claim_logs
from advisor.ingest.jsonl_logs import json_objects
from advisor.model import IngestError, Run, RunSource, Series
from advisor.roles import SPLIT_WORDS, tokens

FORMAT = "mmlab"
TIMESTAMP = re.compile(r"^\d{8}_\d{6}$")  # a launch's folder and file stem: 20230605_200941
# keys of a row that place it or time it, not metrics (after a `train/` or `val/` prefix:
# log_with_hierarchy writes `train/loss`, `val/time`)
PLACING = {"mode", "epoch", "iter", "step"}
NOT_METRIC = {"time", "data_time", "memory", "eta"}
SPLIT_PREFIX = re.compile(r"^(?:train|val|test)/")
CONFIG_BYTES = 1 << 20  # a merged config is tens of KiB; more is not a config
CONFIG_DEPTH = 24
TEXT_HEAD = 1 << 20  # where the text log states an epoch's length (`Epoch [1][50/7330]`, `Epoch(train) [1][15/19]`)
EPOCH_LENGTH = re.compile(r"Epoch(?:\(train\))?\s{0,8}\[\s{0,12}\d{1,9}\]\[\s{0,12}\d{1,12}/(\d{1,12})\]")
# a line of OpenMMLab's logger: `2023/06/05 20:10:13 - mmengine - INFO - ` (MMEngine),
# `2023-01-01 12:00:00,000 - mmdet - INFO - ` (MMCV 1.x: the package's own logger)
# `2023-01-01 12:00:00,000 - mmdet - INFO - ` (MMCV 1.x: the package's own logger, or the script's)
LOGGER_LINE = re.compile(r"^\d{4}[/-]\d\d[/-]\d\d \d\d:\d\d:\d\d(?:,\d{1,6})? - ([\w.-]{1,40}) - [A-Z]{3,8} - ")
# a value as `.4f` prints it: a loss blown up to 1e35 prints 36 digits before the point
NUMBER = r"[-+]?(?:\d{1,320}(?:\.\d{0,30})?|\.\d{1,30})(?:[eE][-+]?\d{1,4})?|[-+]?(?:nan|inf)"
# what a text line says of its place: MMEngine `Epoch(train) [3][ 40/69]`, `Iter(train) [ 50/20000]`,
# `Epoch(val) [3][6/6]`; MMCV `Epoch [3][50/7330]`, `Iter [50/20000]`, `Epoch(val) [3][313]`, `Iter(val) [500]`
TEXT_PLACE = re.compile(r"(Epoch|Iter)(?:\((train|val|test)\))?\s{0,8}(?:\[\s{0,12}(\d{1,9})\])?"
                        r"\[\s{0,12}(\d{1,12})(?:/(\d{1,12}))?\]")
TEXT_FIELDS = re.compile(r"\t|,\s|\s{2,}")  # MMEngine parts by two spaces, MMCV by a comma or a tab
TEXT_PAIR = re.compile(r"^\s{0,4}([^:\s][^:]{0,79}?):\s{1,8}(" + NUMBER + r")\s{0,4}$", re.IGNORECASE)
TEXT_SNIFF_LINES = 2  # logger lines in the head that make a file OpenMMLab's text log
# a training line under a logger not named mm*: `Epoch [1][5/19]<tab>lr:`, `Epoch(train) [`, `Iter(train) [`
TEXT_SIGNATURE = re.compile(r"\b(?:Epoch|Iter) \[\s{0,12}\d{1,12}\](?:\[\s{0,12}\d{1,12}/\d{1,12}\])?\t|"
                            r"\b(?:Epoch|Iter)\((?:train|val)\)\s{0,8}\[")


# ----------------------------------------------------------------------------- claim


def _first_row(path: Path) -> dict | None:
    """The log's first line as a JSON object, when the head holds it whole."""
    head = head_text(path, 65536)
    line = head.split("\n", 1)[0].strip()
    if not line.startswith("{"):
        return None
    try:
        row = loads_json(line)
    except ValueError:
        return None
    return row if isinstance(row, dict) else None


def _is_mmcv(path: Path) -> bool:
    """MMCV 1.x: a `.log.json` opening with its environment line (too long for a sniff, at times:
    the config is in it) or with a `mode` row."""
    head = head_text(path, 4096).lstrip()
    if path.name.endswith(".log.json") and head.startswith(('{"env_info"', '{"mode"')):
        return True
    row = _first_row(path)
    return bool(row) and row.get("mode") in ("train", "val") and ("epoch" in row or "iter" in row)


def _is_mmengine(path: Path) -> bool:
    """MMEngine: `scalars.json` (or its `<ts>.json` twin) in a `vis_data` folder, rows with a `step`."""
    if path.parent.name != "vis_data" or not (path.name == "scalars.json" or TIMESTAMP.match(path.stem)):
        return False
    row = _first_row(path)
    return bool(row) and "step" in row


def _resumed(path: Path, flavour: str) -> bool:
    """Whether a log's training starts from a checkpoint rather than from scratch: its first training
    row is in an epoch after the first, or (counted in iterations) further in than the spacing of its
    first two rows (a fresh run logs its first row one logging interval in: 5, 10; a resumed one at
    the checkpoint's iteration plus that: 81, 86). MMCV's rows follow the environment line, which
    holds the config: read up to a MiB for them."""
    found: list[tuple[int | None, int]] = []
    for line in head_text(path, TEXT_HEAD if flavour == "mmcv" else 65536).splitlines()[:200]:
        if not line.startswith("{"):
            continue
        try:
            row = loads_json(line)
        except ValueError:
            continue
        if isinstance(row, dict) and "iter" in row and row.get("mode", "train") == "train":
            it = _integer(row.get("step", row["iter"]) if flavour == "mmengine" else row["iter"])
            if it is not None:
                found.append((_integer(row.get("epoch")), it))
        if len(found) == 2:
            break
    if not found:
        return False
    (epoch, first), second = found[0], (found[1][1] if len(found) > 1 else None)
    if epoch is not None and epoch > 1:
        return True
    inner = flavour == "mmcv" and epoch is not None  # MMCV's by-epoch rows count within the epoch
    return not inner and second is not None and first > second - first


def _sessions(logs: list[Path], flavour: str) -> list[list[Path]]:
    """The logs of one work dir, in launch order (their timestamps), grouped into trainings: a log
    whose training starts from a checkpoint (`_resumed`) continues the one before; one that starts
    from scratch is a training of its own."""
    groups: list[list[Path]] = []
    for path in logs:
        if groups and _resumed(path, flavour):
            groups[-1].append(path)
        else:
            groups.append([path])
    return groups


def claim(tree) -> list[RunSource]:
    """One run per training in a work dir: MMEngine's launch folders (each scalars.json with its twin,
    config and text log as side files) and MMCV's `.log.json` files (each with its same-named `.log`),
    a resumed launch joined to the one it continues; then the text logs of runs that left no JSON."""
    unclaimed = set(tree.unclaimed())
    in_folder: dict[Path, list[Path]] = {}  # the unclaimed files of each folder, in name order
    for path in sorted(unclaimed):
        in_folder.setdefault(path.parent, []).append(path)
    engine: dict[Path, list[Path]] = {}
    mmcv: dict[Path, list[Path]] = {}
    for path in sorted(unclaimed):
        if path.suffix.lower() != ".json":
            continue
        if _is_mmengine(path):
            engine.setdefault(path.parent, []).append(path)
        elif _is_mmcv(path):
            mmcv.setdefault(path.parent, []).append(path)
    launches: dict[Path, list[tuple[Path, list[Path]]]] = {}  # work dir -> (main log, side files) per launch
    for vis, logs in engine.items():
        main = next((p for p in logs if p.name == "scalars.json"), logs[0])
        launch = vis.parent
        side = [p for p in logs if p != main]
        side += [p for p in (vis / "config.py",) if p in unclaimed]
        side += [p for p in in_folder[vis] if "tfevents" in p.name]  # TensorboardVisBackend's
        side += [p for p in in_folder.get(launch, []) if p.suffix == ".log" and TIMESTAMP.match(p.stem)]
        launches.setdefault(launch.parent, []).append((main, side))
    for folder, logs in mmcv.items():
        for path in logs:
            text = path.with_name(path.name[: -len(".json")])  # X.log.json -> X.log
            launches.setdefault(folder, []).append((path, [text] if text != path and text in unclaimed else []))
    sources: list[RunSource] = []
    for work_dir, found in launches.items():
        flavour = "mmengine" if found[0][0].parent.name == "vis_data" else "mmcv"
        side_of = dict(found)
        groups = _sessions([main for main, _ in found], flavour)
        for group in groups:
            files = [f for main in group for f in (main, *side_of[main])]
            tree.claim(*files)
            first = group[0]
            if tree.given.is_file():
                named = first
            elif len(groups) == 1:
                named = work_dir if flavour == "mmcv" or len(group) > 1 else first.parent.parent
            else:
                named = first.parent.parent if flavour == "mmengine" else first
            sources.append(RunSource(name=tree.run_name(named), path=first, format=FORMAT, files=files,
                                     options={"flavour": flavour, "sessions": [str(p) for p in group]}))
    texts = [p for p in tree.unclaimed() if p.suffix.lower() in (".log", ".txt") and _is_text_log(p)]
    found = claim_logs(tree, [(p, {"flavour": "text"}) for p in texts], FORMAT, [])
    for src in found:  # a launch that kept only its text log and TensorboardVisBackend's file (the same scalars)
        events = [p for p in in_folder.get(src.path.parent / "vis_data", [])
                  if "tfevents" in p.name and p not in tree.claimed]
        tree.claim(*events)
        src.files.extend(events)
    return sources + found


def _is_text_log(path: Path) -> bool:
    """The head holds OpenMMLab's logger lines: under an mm* logger (mmengine, mmdet, ...), or under
    a script's own logger when a training line of OpenMMLab's shows within the first MiB (the
    environment and config come first: the first training line may be 100 KiB in). Another
    program's `logging` output is left to the console reader."""
    lines = head_text(path).splitlines()
    names = [m.group(1) for m in map(LOGGER_LINE.match, lines) if m]
    if len(names) < TEXT_SNIFF_LINES:
        return False
    if any(n.startswith("mm") for n in names):
        return True
    return any(LOGGER_LINE.match(ln) and TEXT_SIGNATURE.search(ln) for ln in head_text(path, TEXT_HEAD).splitlines())


# ----------------------------------------------------------------------------- rows


def _rows(path: Path, run: Run) -> list[dict[str, Any]]:
    """Every JSON object of the log, in order; other lines skipped with one warning."""
    rows, warnings, cut = json_objects(path)
    run.warnings.extend(warnings)
    if cut:
        run.meta["truncated"] = True
    return rows


def _integer(value: Any) -> int | None:
    """A row's step, epoch or iteration: a whole number within 2^53 (a JSON float's exact integers)."""
    step = integral_step(as_number(value))
    return step if step is not None and abs(step) <= 2**53 else None


def _val_name(key: str) -> str:
    """A validation metric's tag: `val/<key>`, or the key itself when it names a split."""
    return key if set(tokens(key)) & (SPLIT_WORDS - {"epoch", "step", "batch"}) else f"val/{key}"


def _add(points: SeriesBuilder, tag: str, step: int, value: Any) -> None:
    """A row's value as a point of `tag` when it is a number (a string or a bool is none)."""
    number = as_number(value)
    if number is not None:
        points.add(tag, step, number)


def _epoch_length(train: list[tuple[int, int]]) -> int | None:
    """Iterations per epoch from (epoch, global iteration) pairs of the training rows: the
    smallest length L with (e-1)L < it <= eL for every row (exact when an epoch's last iteration
    is logged, as MMEngine does when the loader is no longer than the interval); None when no
    length fits (a resumed or re-counted log)."""
    pairs = [(e, it) for e, it in train if e >= 1 and it >= 1]
    if not pairs:
        return None
    low = max(-(-it // e) for e, it in pairs)
    high = min(((-(-it // (e - 1))) - 1 for e, it in pairs if e > 1), default=None)
    return low if high is None or low <= high else None


# ----------------------------------------------------------------------------- MMEngine


def _metric_keys(row: dict, leave: set[str]) -> list[str]:
    """The keys of a row that are metrics: not placing or timing it, also under a split prefix."""
    return [k for k in row if SPLIT_PREFIX.sub("", k) not in leave and SPLIT_PREFIX.sub("", k) not in NOT_METRIC]


def _is_training_row(row: dict) -> bool:
    return "iter" in row or "epoch" in row or any(k == "lr" or k.endswith("/lr") for k in row)


def _read_mmengine(run: Run, path: Path, text_log: Path | None) -> None:
    """Rows in log order: training rows at their step; a validation at its epoch's end (by-epoch
    loops log it at step = epoch), else at its step when that is an iteration at or after the
    training row before it, else (an iteration-based loop left at `log_metric_by_epoch`: step 0)
    after that training row."""
    rows = [(row, _integer(row.get("step", row.get("iter")))) for row in _rows(path, run)]
    rows = [(row, step) for row, step in rows if step is not None]
    if not rows:
        raise IngestError(f"{path}: no row with a step")
    train = [(_integer(row.get("epoch")), step) for row, step in rows if _is_training_row(row)]
    evals = [step for row, step in rows if not _is_training_row(row)]
    epochs = [e for e, _ in train if e is not None]
    by_epoch = bool(epochs) and bool(evals) and max(evals) <= max(epochs) and max(evals) > 0
    length = (_logged_epoch_length(text_log) or _epoch_length([(e, s) for e, s in train if e is not None])
              if by_epoch else None)
    points = SeriesBuilder()
    last = 0
    for row, step in rows:
        if _is_training_row(row):
            last = step
            for key in _metric_keys(row, PLACING - {"epoch"}):
                _add(points, key, step, row[key])
            continue
        if by_epoch:
            at = step * length if length else max((s for e, s in train if e is not None and e <= step), default=0)
        else:
            at = step if step >= last else last
        for key in _metric_keys(row, PLACING):
            _add(points, _val_name(key), at, row[key])
    run.series = points.build()
    run.writer = "mmengine"
    run.meta["x_axis"] = "iter"
    if by_epoch:
        run.meta["val_placed"] = (f"validation logged at step = epoch, placed at the epoch's last iteration "
                                  f"({length} per epoch)" if length else
                                  "validation logged at step = epoch, placed at that epoch's last logged iteration")


# ----------------------------------------------------------------------------- MMCV 1.x


def _logged_epoch_length(text_log: Path | None) -> int | None:
    """The epoch length the text log states (`Epoch [1][50/7330]`), when there is one."""
    if text_log is None:
        return None
    found = EPOCH_LENGTH.search(head_text(text_log, TEXT_HEAD))
    return int(found.group(1)) if found and int(found.group(1)) > 0 else None


def _read_mmcv(run: Run, path: Path, text_log: Path | None) -> None:
    rows = _rows(path, run)
    config = next((r.get("config") for r in rows[:1] if "env_info" in r or "config" in r), None)
    if isinstance(config, str):
        run.hparams.update(config_hparams(config, run.warnings, path))
    marked = [(r, _integer(r.get("epoch")), _integer(r.get("iter"))) for r in rows if r.get("mode") in ("train", "val")]
    train = [(e, it) for r, e, it in marked if r["mode"] == "train" and e is not None and it is not None]
    if not marked:
        raise IngestError(f"{path}: no training or validation row (`mode`)")
    # within the epoch when the count starts again as the epoch moves on; else over the run
    inner = any(e2 > e1 and it2 < it1 for (e1, it1), (e2, it2) in zip(train, train[1:]))
    length = _logged_epoch_length(text_log) if inner else None
    if inner and not length:
        length = max(it for _, it in train)
        run.warnings.append(f"{path}: the epoch's length is not in this log (its text log `{path.name[:-5]}` states "
                            f"it); taken as the largest iteration logged, {length}: steps may fall short by up to "
                            "one logging interval an epoch")
    points = SeriesBuilder()
    last = 0
    for row, epoch, it in marked:
        if row["mode"] == "train":
            if epoch is None or it is None:
                continue
            last = (epoch - 1) * length + it if inner else it
            # an iteration-based runner's `epoch` counts its loader's passes, late: no curve
            for key in _metric_keys(row, PLACING - {"epoch"} if inner else PLACING):
                _add(points, key, last, row[key])
        else:
            at = epoch * length if inner and epoch is not None else last
            for key in _metric_keys(row, PLACING | {"lr"}):
                _add(points, _val_name(key), at, row[key])
    run.series = points.build()
    run.writer = "mmcv"
    run.meta["x_axis"] = "iter"
    if inner:
        run.meta["val_placed"] = f"iterations counted within each epoch of {length}; a validation at its epoch's end"


# ----------------------------------------------------------------------------- text logs


def _text_pairs(rest: str) -> dict[str, float]:
    """`lr: 4.0000e-08  eta: 4:59:11  loss: 0.4219` -> the metrics (timings and memory left out)."""
    pairs = {}
    for part in TEXT_FIELDS.split(rest):
        found = TEXT_PAIR.match(part)
        if found and SPLIT_PREFIX.sub("", found.group(1).strip()) not in NOT_METRIC:
            pairs[found.group(1).strip()] = float(found.group(2))
    return pairs


def _read_text(run: Run, path: Path) -> None:
    """The training and validation lines of a text log, placed as the JSON rows are: a training
    line `[e][i/n]` at (e-1)n + i, a validation at its epoch's end or after the training line
    before it; a test after training is no curve."""
    points = SeriesBuilder()
    epoch_length = last = 0
    writer = None
    for line in read_text(path).splitlines():
        prefix = LOGGER_LINE.match(line)
        if not prefix:
            continue
        place = TEXT_PLACE.search(line, prefix.end())
        if not place or place.start() > prefix.end() + 8:
            continue
        writer = writer or ("mmengine" if prefix.group(1) == "mmengine" else "mmcv")
        unit, mode, epoch, count, total = place.groups()
        mode = mode or "train"
        pairs = _text_pairs(line[place.end():])
        if mode == "test" or not pairs:
            continue
        if mode == "train":
            if unit == "Epoch" and epoch is not None and total:
                epoch_length = int(total)
                last = (int(epoch) - 1) * epoch_length + int(count)
            elif unit == "Iter":
                last = int(count)
            else:
                continue
            for key, value in pairs.items():
                _add(points, key, last, value)
            if unit == "Epoch" and epoch is not None:
                _add(points, "epoch", last, int(epoch))
        else:
            # MMCV names the epoch in the first bracket, MMEngine too; a bracket alone is MMCV's
            # `Iter(val) [500]` (a count of validation batches)
            ended = int(epoch) if unit == "Epoch" and epoch is not None else None
            at = ended * epoch_length if ended is not None and epoch_length else last
            for key, value in pairs.items():
                if key != "lr":
                    _add(points, _val_name(key), at, value)
    run.series = points.build()
    run.writer = writer
    run.meta["x_axis"] = "iter"
    if printed := _printed_config(path):
        run.hparams.update(config_hparams(printed, run.warnings, path))


# ----------------------------------------------------------------------------- config


class _NotLiteral(Exception):
    pass


def _literal(node: ast.AST, depth: int = 0) -> Any:
    """A config expression's value when it is a literal: numbers, strings, lists, tuples, dicts and
    `dict(key=...)` calls; anything else (a name, an arithmetic, another call) raises _NotLiteral."""
    if depth > CONFIG_DEPTH:
        raise _NotLiteral
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        value = _literal(node.operand, depth + 1)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return -value if isinstance(node.op, ast.USub) else value
        raise _NotLiteral
    if isinstance(node, (ast.List, ast.Tuple)):
        return [_literal_or_none(e, depth + 1) for e in node.elts]
    if isinstance(node, ast.Dict):
        return {k.value: _literal_or_none(v, depth + 1) for k, v in zip(node.keys, node.values)
                if isinstance(k, ast.Constant) and isinstance(k.value, str)}
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "dict" and not node.args:
        return {kw.arg: _literal_or_none(kw.value, depth + 1) for kw in node.keywords if kw.arg}
    raise _NotLiteral


def _literal_or_none(node: ast.AST, depth: int) -> Any:
    try:
        return _literal(node, depth)
    except _NotLiteral:
        return None


def parse_config(text: str) -> dict[str, Any]:
    """The top-level assignments of an OpenMMLab Python config whose values are literals. Never
    executed; a file that does not parse gives ValueError."""
    if len(text) > CONFIG_BYTES:
        raise ValueError(f"longer than {CONFIG_BYTES:,} characters")
    try:
        tree = ast.parse(text)
    except (SyntaxError, RecursionError, MemoryError) as exc:
        raise ValueError(f"not Python ({type(exc).__name__})") from None
    out: dict[str, Any] = {}
    for stmt in tree.body:
        if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name):
            value = _literal_or_none(stmt.value, 0)
            if value is not None:
                out[stmt.targets[0].id] = value
    return out


def _get(config: dict, *path: str) -> Any:
    node: Any = config
    for key in path:
        if not isinstance(node, dict):
            return None
        node = node.get(key)
    return node


def _number(value: Any) -> float | int | None:
    return value if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) else None


def _warmup_steps(config: dict) -> int | None:
    """Warmup iterations: MMCV's `lr_config.warmup_iters`; MMEngine's first scheduler when it is a
    LinearLR/ConstantLR counted in iterations (`by_epoch=False`) that ends before the run does."""
    lr_config = config.get("lr_config")
    if isinstance(lr_config, dict) and lr_config.get("warmup"):
        return _number(lr_config.get("warmup_iters"))
    schedulers = config.get("param_scheduler")
    first = schedulers[0] if isinstance(schedulers, list) and schedulers else schedulers
    if isinstance(first, dict) and first.get("type") in ("LinearLR", "ConstantLR") and first.get("by_epoch") is False:
        end = _number(first.get("end"))
        return int(end) if end else None
    return None


def config_hparams(text: str, warnings: list[str], path: Path) -> dict[str, Any]:
    """What rules use of an MMEngine or MMCV config: optimizer, LR, momentum, weight decay, batch
    size (per GPU, as configured), schedule length, warmup and gradient clipping."""
    try:
        config = parse_config(text)
    except ValueError as exc:
        warnings.append(f"{path}: config not read ({exc})")
        return {}
    optimizer = _get(config, "optim_wrapper", "optimizer") or config.get("optimizer")
    found: dict[str, Any] = {}
    if isinstance(optimizer, dict):
        for key in ("lr", "momentum", "weight_decay"):
            if _number(optimizer.get(key)) is not None:
                found[key] = optimizer[key]
        if isinstance(optimizer.get("type"), str):
            found["optimizer"] = optimizer["type"]
    batch = _get(config, "train_dataloader", "batch_size") or _get(config, "data", "samples_per_gpu")
    if _number(batch):
        found["batch_size"] = batch
    epochs = (_get(config, "train_cfg", "max_epochs") or _get(config, "runner", "max_epochs")
              or config.get("total_epochs"))
    iters = _get(config, "train_cfg", "max_iters") or _get(config, "runner", "max_iters")
    if _number(epochs):
        found["max_epochs"] = epochs
    if _number(iters):
        found["max_steps"] = iters
    warmup = _warmup_steps(config)
    if warmup:
        found["warmup_steps"] = warmup
    clip = (_get(config, "optim_wrapper", "clip_grad", "max_norm")
            or _get(config, "optimizer_config", "grad_clip", "max_norm"))
    if _number(clip):
        found["grad_clip"] = clip
    return found


# ----------------------------------------------------------------------------- read


def _printed_config(text_log: Path) -> str | None:
    """The config OpenMMLab's text log prints at its start (`... - INFO - Config:` and the lines up
    to the logger's next line), from the log's first MiB."""
    lines = head_text(text_log, TEXT_HEAD).splitlines()
    start = next((i for i, ln in enumerate(lines)
                  if LOGGER_LINE.match(ln) and ln.rstrip().endswith(" - Config:")), None)
    if start is None:
        return None
    end = next((i for i in range(start + 1, len(lines)) if LOGGER_LINE.match(lines[i])), None)
    return "\n".join(lines[start + 1:end]) if end else None  # a config cut by the MiB is no config


def _read_session(run: Run, path: Path, flavour: str, files: list[Path]) -> None:
    """One log of the run (one launch) into `run`: its series, hparams (a later launch's config wins)
    and notes."""
    if flavour == "mmengine":
        launch = path.parent.parent
        text_log = next((f for f in files if f.suffix == ".log" and f.parent == launch), None)
        config = path.parent / "config.py"
        try:
            if config in files:
                run.hparams.update(config_hparams(read_text(config), run.warnings, config))
            elif text_log is not None and (printed := _printed_config(text_log)):
                run.hparams.update(config_hparams(printed, run.warnings, text_log))
        except IngestError as exc:
            run.warnings.append(str(exc))
        _read_mmengine(run, path, text_log)
    elif flavour == "text":
        _read_text(run, path)
    else:
        text_log = path.with_name(path.name[: -len(".json")])  # X.log.json -> X.log, also when the JSON is given alone
        _read_mmcv(run, path, text_log if text_log in files or (text_log != path and text_log.is_file()) else None)


def _join(run: Run, later: Run, path: Path) -> None:
    """A resumed launch's series after the earlier ones': the earlier points at or after its first
    step are dropped (the resumed training logged those steps again), as TensorBoard restarts are."""
    first = min((int(s.step[0]) for s in later.series.values() if len(s)), default=None)
    if first is None:
        return
    dropped = 0
    for tag, series in list(run.series.items()):
        keep = series.step < first
        dropped += int((~keep).sum())
        run.series[tag] = Series(tag, series.step[keep], series.value[keep], series.wall_time[keep])
    for tag, series in later.series.items():
        if tag in run.series:
            old = run.series[tag]
            series = Series(tag, np.concatenate([old.step, series.step]), np.concatenate([old.value, series.value]),
                            np.concatenate([old.wall_time, series.wall_time]))
        run.series[tag] = series
    run.events.append({"kind": "restart", "step": first, "file": str(path), "dropped": dropped,
                       "reason": "resumed from a checkpoint (a later launch in the work dir)"})


def read(source: RunSource) -> Run:
    path = Path(source.path)
    run = Run(name=source.name, path=str(path), format=FORMAT)
    flavour = source.options.get("flavour") or ("mmcv" if _is_mmcv(path) else "mmengine")
    sessions = [Path(p) for p in source.options.get("sessions") or [path]]
    _read_session(run, sessions[0], flavour, source.files or [path])
    for later_path in sessions[1:]:
        later = Run(name=source.name, path=str(later_path), format=FORMAT)
        _read_session(later, later_path, flavour, source.files)
        _join(run, later, later_path)
        run.hparams.update(later.hparams)
        run.warnings.extend(later.warnings)
        run.meta.update(later.meta)
    if not run.series:
        raise IngestError(f"{path}: no metric in any row")
    return run


__all__ = ["claim", "read", "parse_config", "config_hparams"]
