"""CSV-family logs: Lightning, Keras, fastai, YOLO, SB3, hand-written wide and long tables.

One CSV file is one run. The layout is recognised from the header and a few rows, not from the
file name, because users rename files freely (a Keras log is often `training.log`). Damaged files
are read line by line: a repeated header (a resumed run appending to the same file) marks a
restart, a line that does not fit the header is skipped with a warning naming its number, and
the rest of the file is kept.

See FORMATS.md section 3 for the layouts and the pitfalls handled here.
"""
from __future__ import annotations

import csv
import math
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from advisor.ingest._text import (
    SeriesBuilder,
    head_text,
    line_list,
    load_config_file,
    parse_float,
    read_text,
    SNIFF_BYTES,
)
from advisor.model import IngestError, Run, RunSource

FORMAT = "csv"
LOG_SUFFIXES = {".csv", ".tsv", ".log", ".txt"}
# x columns that count optimizer steps (or env steps), preferred over `epoch` when both exist
STEP_COLUMNS = ["step", "global_step", "_step", "trainer/global_step", "train/global_step",
                "time/total_timesteps", "iteration", "iter", "it", "batch", "steps"]
EPOCH_COLUMNS = ["epoch", "epochs"]
# absolute unix-time columns: become Series.wall_time, not a metric
WALL_COLUMNS = ["wall_time", "wall time", "_timestamp", "timestamp"]
LONG_TAG_COLUMNS = ["tag", "metric", "key", "name"]
INDEX_COLUMNS = {"", "unnamed: 0", "unnamed", "index"}
MISSING_TOKENS = {"", "na", "n/a", "null", "none", "-", "nat"}
NAN_TOKENS = {"nan", "-nan", "+nan", "inf", "+inf", "-inf", "infinity", "+infinity", "-infinity"}
# words that make a column name a metric when a table has no step/epoch column
METRIC_NAME = re.compile(r"loss|acc|lr\b|learning_rate|reward|f1|precision|recall|map|auc|err|perplex|ppl|"
                         r"bleu|rouge|wer|iou|dice|score|^val|^train|^eval|^test|grad", re.IGNORECASE)
# config files that describe the run whose log sits in the same folder
CONFIG_SIDE_FILES = ["hparams.yaml", "args.yaml", "opt.yaml", "hyp.yaml", "config.yaml", "config.json",
                     "params.yaml", "args.json"]


# ----------------------------------------------------------------------------- sniffing


@dataclass
class Sniff:
    """What the first KiB of a file say about it."""

    layout: str  # "wide" | "long"
    delimiter: str
    header: list[str]
    x_column: str | None


def _lower(names: list[str]) -> list[str]:
    return [n.strip().lower() for n in names]


def find_x_column(header: list[str]) -> str | None:
    """The step-like column (preferred) or the epoch column, by the aliases of FORMATS §3.5."""
    lowered = _lower(header)
    for alias in STEP_COLUMNS + EPOCH_COLUMNS:
        if alias in lowered:
            return header[lowered.index(alias)]
    if lowered and lowered[0] in INDEX_COLUMNS:
        return header[0]  # pandas' to_csv index (a Keras History DataFrame): the epoch number
    return None


def find_long_columns(header: list[str]) -> dict[str, str] | None:
    """Column names of a long/tidy table (`tag, step, value[, wall_time]`), or None."""
    lowered = _lower(header)
    tag = next((header[lowered.index(a)] for a in LONG_TAG_COLUMNS if a in lowered), None)
    if tag is None or "value" not in lowered:
        return None
    step = next((header[lowered.index(a)] for a in STEP_COLUMNS + EPOCH_COLUMNS if a in lowered), None)
    if step is None:
        return None
    cols = {"tag": tag, "step": step, "value": header[lowered.index("value")]}
    wall = next((header[lowered.index(a)] for a in WALL_COLUMNS if a in lowered), None)
    if wall:
        cols["wall"] = wall
    if "run" in lowered:
        cols["run"] = header[lowered.index("run")]
    return cols


def _pick_delimiter(lines: list[str], suffix: str) -> str:
    """The delimiter that splits the header into the most fields consistently with the data."""
    if suffix == ".tsv":
        return "\t"
    best, best_fields = ",", 1
    for delim in (",", "\t", ";"):
        counts = [len(next(csv.reader([ln], delimiter=delim))) for ln in lines[:6]]
        if counts and counts[0] > best_fields and all(c == counts[0] for c in counts[1:]):
            best, best_fields = delim, counts[0]
    return best


def _sample_lines(path: Path) -> list[str]:
    text = head_text(path)
    lines = [ln for ln in text.splitlines() if ln.strip()]
    if len(text.encode("utf-8", errors="replace")) >= SNIFF_BYTES and lines:
        lines = lines[:-1]  # the last line of a cut head is partial
    return lines[:60]


def _numeric_fraction(cells: list[str]) -> float:
    present = [c for c in cells if c.strip().lower() not in MISSING_TOKENS]
    if not present:
        return 0.0
    return sum(parse_float(c) is not None for c in present) / len(present)


def sniff(path: Path) -> Sniff | None:
    """A Sniff when the file looks like a metrics table, else None. Reads at most 16 KiB."""
    suffix = path.suffix.lower()
    lines = _sample_lines(path)
    if not lines:
        return None
    delim = _pick_delimiter(lines, suffix)
    rows = list(csv.reader(lines, delimiter=delim))
    header = [h.strip() for h in rows[0]]
    if len(lines) == 1:  # a fresh log: header written, no row yet
        x = find_x_column(header) if suffix in {".csv", ".tsv"} and header and header[0] else None
        return Sniff("wide", delim, header, x) if x and len(header) >= 2 else None
    data = [r for r in rows[1:] if len(r) in (len(header), len(header) + 1)]
    if len(header) < 2 or not data or any(parse_float(h) is not None for h in header if h):
        return None
    if find_long_columns(header):
        return Sniff("long", delim, header, None)
    x = find_x_column(header)
    columns = list(zip(*[r[: len(header)] for r in data]))
    numeric = [h for h, col in zip(header, columns) if h != x and _numeric_fraction(list(col)) >= 0.5]
    if not numeric:
        return None
    if x is None:
        # no x column: only a .csv whose numeric columns have metric names (a dataset table such
        # as `id,label,feature_1` is not a training log)
        if suffix not in {".csv", ".tsv"} or not any(METRIC_NAME.search(h) for h in numeric):
            return None
    elif _numeric_fraction([r[header.index(x)] for r in data]) < 0.5:
        return None
    return Sniff("wide", delim, header, x)


def _empty_table(path: Path) -> Sniff | None:
    """A zero-byte .csv is a log that has not been written yet: claim it so read() says "empty"."""
    try:
        empty = path.suffix.lower() in {".csv", ".tsv"} and path.stat().st_size == 0
    except OSError:
        return None
    return Sniff("wide", ",", [], None) if empty else None


def claim(tree) -> list[RunSource]:
    """Claim every metrics table in the tree; one run per file, side configs attached."""
    unclaimed = tree.unclaimed()
    candidates = [p for p in unclaimed if p.suffix.lower() in LOG_SUFFIXES]
    found = [(p, s) for p in candidates for s in [sniff(p) or _empty_table(p)] if s]
    per_dir: dict[Path, int] = {}
    for path, _ in found:
        per_dir[path.parent] = per_dir.get(path.parent, 0) + 1
    unclaimed_set = set(unclaimed)
    sources = []
    for path, sn in found:
        alone = per_dir[path.parent] == 1
        side = [path.parent / n for n in CONFIG_SIDE_FILES if alone and (path.parent / n) in unclaimed_set]
        named = path if tree.given.is_file() or not alone else path.parent
        tree.claim(path, *side)
        sources.append(RunSource(name=tree.run_name(named), path=path, format=FORMAT, files=[path, *side],
                                 options={"layout": sn.layout}))
    return sources


# ----------------------------------------------------------------------------- parsing


@dataclass
class Table:
    """The rows of a CSV that fit its header, with what was wrong with the others."""

    header: list[str]
    rows: list[list[str]] = field(default_factory=list)
    line_numbers: list[int] = field(default_factory=list)  # 1-based line of each row
    segment: list[int] = field(default_factory=list)  # 0, then +1 after each repeated header
    bad_lines: list[int] = field(default_factory=list)
    header_repeats: list[int] = field(default_factory=list)
    cut_line: int | None = None  # a last line without its newline and its last fields (live/killed)


def _unique(names: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for name in names:
        name = name or "unnamed"
        seen[name] = seen.get(name, 0) + 1
        out.append(name if seen[name] == 1 else f"{name}#{seen[name]}")
    return out


def parse_table(text: str, suffix: str) -> Table:
    """Split a CSV text into rows that match its header; never raises on bad lines."""
    lines = text.splitlines()
    first = next((i for i, ln in enumerate(lines) if ln.strip()), None)
    if first is None:
        return Table(header=[])
    delim = _pick_delimiter([ln for ln in lines[first:first + 6] if ln.strip()], suffix)
    header_raw = [h.strip() for h in next(csv.reader([lines[first]], delimiter=delim))]
    table = Table(header=_unique(header_raw))
    width, segment = len(header_raw), 0
    last_lineno = len(lines) if not text.endswith(("\n", "\r")) else -1
    # skipinitialspace: YOLO pads cells on the left; cells are not stripped one by one (speed)
    for offset, cells in enumerate(csv.reader(lines[first + 1:], delimiter=delim, skipinitialspace=True)):
        lineno = first + 2 + offset
        if not cells or (len(cells) == 1 and not cells[0].strip()):
            continue
        if lineno == last_lineno and 1 < len(cells) < width:
            cells = cells[:-1] + [""] * (width - len(cells) + 1)  # its last cell may be partial too
            table.cut_line = lineno
        if cells[0].strip() == header_raw[0] and [c.strip() for c in cells] == header_raw:
            table.header_repeats.append(lineno)
            segment += 1
            continue
        if len(cells) == width + 1 and not cells[-1].strip():
            cells = cells[:-1]  # trailing delimiter
        if len(cells) != width:
            table.bad_lines.append(lineno)
            continue
        table.rows.append(cells)
        table.line_numbers.append(lineno)
        table.segment.append(segment)
    return table


@dataclass
class Column:
    """One column as numbers: `present` marks logged points (NaN/inf included), not blanks."""

    values: np.ndarray
    present: np.ndarray
    junk: np.ndarray  # non-empty cells that are not numbers

    @property
    def numeric(self) -> bool:
        filled = int(self.present.sum() + self.junk.sum())
        return filled > 0 and self.present.sum() >= 0.5 * filled


def to_columns(table: Table) -> dict[str, Column]:
    """Every column converted to floats with pandas, keeping blanks apart from logged NaN."""
    import pandas as pd

    frame = pd.DataFrame(table.rows, columns=table.header, dtype=object)
    columns = {}
    for name in table.header:
        values = pd.to_numeric(frame[name], errors="coerce").to_numpy(dtype=np.float64)
        present = ~np.isnan(values)
        junk = np.zeros(len(values), dtype=bool)
        unsure = np.flatnonzero(~present)  # blank, NA, a logged `nan`, or junk: look at the text
        if unsure.size:
            lowered = pd.Series(frame[name].to_numpy()[unsure], dtype=object).astype(str).str.strip().str.lower()
            logged_nan = lowered.isin(NAN_TOKENS).to_numpy()
            present[unsure[logged_nan]] = True
            junk[unsure[~logged_nan & ~lowered.isin(MISSING_TOKENS).to_numpy()]] = True
        columns[name] = Column(values=values, present=present, junk=junk)
    return columns


# ----------------------------------------------------------------------------- writers


def guess_writer(path: Path, header: list[str]) -> str:
    """Which program wrote the table, from its header shape (and, for Lightning, the file name)."""
    lowered = _lower(header)
    if header == ["Wall time", "Step", "Value"]:
        return "tensorboard-ui-csv"
    if "time/total_timesteps" in lowered:
        return "sb3"
    if any(h.startswith("lr/pg") for h in lowered):
        return "ultralytics"
    if any(h.startswith("x/lr") for h in lowered):
        return "yolov5"
    if "step" in lowered and path.name == "metrics.csv" and _lightning_signs(path, lowered):
        return "lightning"
    if lowered[:1] == ["epoch"] and "train_loss" in lowered and "valid_loss" in lowered and lowered[-1] == "time":
        return "fastai"
    if lowered[:1] == ["epoch"] and "loss" in lowered and lowered[1:] == sorted(lowered[1:]):
        return "keras"
    return "csv"


def _lightning_signs(path: Path, lowered: list[str]) -> bool:
    """CSVLogger writes `epoch` beside `step`, into `version_N/` next to an hparams.yaml."""
    return ("epoch" in lowered or re.fullmatch(r"version_\d+", path.parent.name) is not None
            or (path.parent / "hparams.yaml").exists())


# ----------------------------------------------------------------------------- reading


def read(source: RunSource) -> Run:
    """Every point of one CSV run; bad lines skipped with a warning, side configs as hparams."""
    path = Path(source.path)
    text = read_text(path)
    if not text.strip():
        raise IngestError(f"{path}: empty file")
    table = parse_table(text, path.suffix.lower())
    if len(table.header) < 2:
        raise IngestError(f"{path}: no table header (need at least two columns)")
    run = Run(name=source.name, path=str(path), format=FORMAT, writer=guess_writer(path, table.header))
    _fill_run(run, path, table)
    _attach_side_configs(run, source)
    return run


def _fill_run(run: Run, path: Path, table: Table) -> None:
    _warn_table_problems(run, path, table)
    long_cols = find_long_columns(table.header)
    if not table.rows:
        run.warnings.append(f"{path}: header only, no rows")
    elif long_cols:
        _read_long(run, table, long_cols)
    else:
        _read_wide(run, path, table)


def _warn_table_problems(run: Run, path: Path, table: Table) -> None:
    if table.bad_lines:
        run.warnings.append(f"{path}: skipped {len(table.bad_lines)} unreadable line(s) "
                            f"(lines {line_list(table.bad_lines)}): field count differs from the header")
    if table.cut_line:
        run.warnings.append(f"{path}: last line {table.cut_line} is cut short (file still being written or "
                            "the run was killed); its complete cells were kept")
        run.meta["truncated"] = True
    for lineno in table.header_repeats:
        run.events.append({"kind": "restart", "line": lineno, "reason": "header repeated (resumed run)"})


def _read_wide(run: Run, path: Path, table: Table) -> None:
    columns = to_columns(table)
    x_name = find_x_column(table.header)
    wall_name = next((h for h in table.header if h.strip().lower() in WALL_COLUMNS), None)
    keep = np.ones(len(table.rows), dtype=bool)
    steps, x_is_tag = _x_steps(run, path, table, columns, x_name, keep)
    _warn_junk(run, path, table, columns, x_name, keep)
    walls = columns[wall_name].values if wall_name and columns[wall_name].numeric else None
    segment = np.asarray(table.segment)
    builder = SeriesBuilder()
    metric_names = [h for h in table.header if h != wall_name and (h != x_name or x_is_tag)]
    for name in metric_names:
        col = columns[name]
        if not col.numeric:
            continue  # a text column (fastai `time` mm:ss, run names): not a metric
        mask = col.present & keep
        idx = np.flatnonzero(mask)
        if run.writer == "lightning":
            idx = _first_per_step(idx, steps, segment)
        if idx.size == 0:
            continue  # never logged (a Keras `val_*` column without validation): no series
        tag = _tag_for(name, table.header, path)
        builder.add_many(tag, steps[idx], col.values[idx], None if walls is None else walls[idx])
    run.series = builder.build()
    run.meta["x_axis"] = x_name if (x_name and not x_is_tag) else "row"
    _note_step_resets(run, steps[keep], segment[keep], table)


def _x_steps(run, path, table, columns, x_name, keep) -> tuple[np.ndarray, bool]:
    """Integer steps per row from the x column; row index when there is none or it is fractional."""
    n = len(table.rows)
    if x_name is None:
        return np.arange(n, dtype=np.int64), False
    x = columns[x_name]
    unusable = ~x.present | ~np.isfinite(np.where(x.present, x.values, 0.0))
    if unusable.any():
        bad = [table.line_numbers[i] for i in np.flatnonzero(unusable)]
        run.warnings.append(f"{path}: skipped {len(bad)} row(s) without a readable {x_name!r} value "
                            f"(lines {line_list(bad)})")
        keep &= ~unusable
    vals = np.where(keep, x.values, 0.0)
    if np.all(vals[keep] == np.round(vals[keep])):
        return vals.astype(np.int64), False
    run.meta["x_note"] = f"{x_name!r} is fractional; points are indexed by row and {x_name!r} kept as a series"
    return np.arange(n, dtype=np.int64), True


def _warn_junk(run, path, table, columns, x_name, keep) -> None:
    """One warning for non-numeric cells inside numeric columns (a garbled row, a stray word)."""
    junk_rows = np.zeros(len(table.rows), dtype=bool)
    for name, col in columns.items():
        if name != x_name and col.numeric:
            junk_rows |= col.junk & keep
    if junk_rows.any():
        lines = [table.line_numbers[i] for i in np.flatnonzero(junk_rows)]
        run.warnings.append(f"{path}: ignored non-numeric cells in numeric columns on {len(lines)} line(s) "
                            f"(lines {line_list(lines)})")


def _first_per_step(idx: np.ndarray, steps: np.ndarray, segment: np.ndarray) -> np.ndarray:
    """Lightning's sparse rows: the first logged value per (segment, step) of one column."""
    if idx.size == 0:
        return idx
    keys = np.stack([segment[idx], steps[idx]], axis=1)
    _, first = np.unique(keys, axis=0, return_index=True)
    return idx[np.sort(first)]


def _tag_for(name: str, header: list[str], path: Path) -> str:
    """The tag of a column; a TensorBoard UI download's lone `Value` is named after its tag."""
    if name == "Value" and header == ["Wall time", "Step", "Value"]:
        stem = path.stem
        return stem.split("-tag-", 1)[1] if "-tag-" in stem else stem
    return name


def _note_step_resets(run: Run, steps: np.ndarray, segment: np.ndarray, table: Table) -> None:
    """An x value that goes back within a segment is a restart too (appended log, no new header)."""
    if len(steps) < 2:
        return
    back = np.flatnonzero((np.diff(steps) < 0) & (np.diff(segment) == 0))
    for i in back[:20]:
        run.events.append({"kind": "restart", "step": int(steps[i + 1]), "reason": "x value went back"})


def _read_long(run: Run, table: Table, cols: dict[str, str]) -> None:
    """`tag, step, value[, wall_time][, run]` rows; several runs in one file get `run/` prefixes."""
    h = {name: table.header.index(col) for name, col in cols.items()}
    runs = {r[h["run"]] for r in table.rows} if "run" in h else set()
    builder, bad = SeriesBuilder(), []
    for cells, lineno in zip(table.rows, table.line_numbers):
        step, value = parse_float(cells[h["step"]]), parse_float(cells[h["value"]])
        if step is None or not math.isfinite(step) or value is None:
            if cells[h["value"]].strip().lower() not in MISSING_TOKENS:
                bad.append(lineno)
            continue
        wall = parse_float(cells[h["wall"]]) if "wall" in h else None
        tag = cells[h["tag"]]
        if len(runs) > 1:
            tag = f"{cells[h['run']]}/{tag}"
        builder.add(tag, int(step), value, math.nan if wall is None else wall)
    if bad:
        run.warnings.append(f"{run.path}: skipped {len(bad)} long-format row(s) with a non-numeric step "
                            f"or value (lines {line_list(bad)})")
    run.series = builder.build()
    run.meta["x_axis"] = cols["step"]


def _attach_side_configs(run: Run, source: RunSource) -> None:
    for side in source.files[1:]:
        config, warning = load_config_file(Path(side))
        run.hparams.update(config)
        if warning:
            run.warnings.append(warning)
        run.meta.setdefault("config_files", []).append(str(side))


def read_csv_text(text: str, name: str = "<text>") -> Run:
    """Read CSV text directly (tests, stdin); same rules as a file."""
    fake = Path(name)
    table = parse_table(text, fake.suffix.lower())
    run = Run(name=name, path=name, format=FORMAT, writer=guess_writer(fake, table.header))
    _fill_run(run, fake, table)
    return run


__all__ = ["claim", "read", "sniff", "parse_table", "read_csv_text"]
