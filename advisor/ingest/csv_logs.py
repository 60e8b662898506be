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
import io
import os
import re
from array import array
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from advisor.ingest._text import (
    SeriesBuilder,
    head_text,
    line_list,
    load_config_file,
    parse_float,
    SNIFF_BYTES,
)
from advisor import limits
from advisor.model import IngestError, Run, RunSource
from advisor.roles import snake_name

FORMAT = "csv"
LOG_SUFFIXES = {".csv", ".tsv", ".log", ".txt"}
# x columns that count optimizer steps (or env steps), preferred over `epoch` when both exist
STEP_COLUMNS = ["step", "global_step", "_step", "trainer/global_step", "train/global_step",
                "time/total_timesteps", "iteration", "iter", "it", "batch", "steps",
                "current_steps",  # LLaMA-Factory's trainer_log.jsonl
                "total/steps"]  # OpenAI baselines' progress.csv (DDPG, HER)
EPOCH_COLUMNS = ["epoch", "epochs", "total/epochs"]
# absolute unix-time columns: become Series.wall_time, not a metric
WALL_COLUMNS = ["wall_time", "wall time", "_timestamp", "timestamp"]
# a wall time in seconds, milli-, micro- or nanoseconds since 1970 (dvclive < 3 and JavaScript/Java
# loggers write ms, Go and pandas' int64 ns) reads as a date between 2000 and 2100 in exactly one unit
WALL_UNITS = (1.0, 1e3, 1e6, 1e9)
PLAUSIBLE_UNIX = (946_684_800.0, 4_102_444_800.0)  # 2000-01-01 and 2100-01-01 in unix seconds
LONG_TAG_COLUMNS = ["tag", "metric", "key", "name"]
INDEX_COLUMNS = {"", "unnamed: 0", "unnamed", "index"}
MISSING_TOKENS = {"", "na", "n/a", "null", "none", "-", "nat"}
NAN_TOKENS = {"nan", "-nan", "+nan", "inf", "+inf", "-inf", "infinity", "+infinity", "-infinity"}
# words that make a column name a metric when a table has no step/epoch column
METRIC_NAME = re.compile(r"loss|acc|lr\b|learning_rate|reward|f1|precision|recall|map|auc|err|perplex|ppl|"
                         r"bleu|rouge|wer|iou|dice|score|^val|^train|^eval|^test|grad|gnorm", re.IGNORECASE)
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


def _alias_index(header: list[str], aliases: list[str]) -> int | None:
    """The index of the first alias (in the aliases' order) that a header name spells, as written or as
    `snake_name` reads it."""
    lowered = _lower(header)
    # (a Java/JavaScript logger's `globalStep`, a spreadsheet's `Global Step`: without this the x column goes
    # unfound and every step the advice names is a row number)
    keys = [snake_name(h) for h in header]
    for alias in aliases:
        for names in (lowered, keys):
            if alias in names:
                return names.index(alias)
    return None


def pandas_index(header: list[str]) -> str | None:
    """pandas' to_csv index, written as the first column with an empty (or `Unnamed: 0`) name: a row counter."""
    return header[0] if header and header[0].strip().lower() in INDEX_COLUMNS else None


def find_x_column(header: list[str]) -> str | None:
    """The step-like column (preferred) or the epoch column, by the aliases of FORMATS §3.5."""
    i = _alias_index(header, STEP_COLUMNS + EPOCH_COLUMNS)
    # else pandas' to_csv index (a Keras History DataFrame): the epoch number
    return header[i] if i is not None else pandas_index(header)


def find_long_columns(header: list[str]) -> dict[str, str] | None:
    """Column names of a long/tidy table (`tag, step, value[, wall_time]`), or None."""
    lowered = _lower(header)
    tag = next((header[lowered.index(a)] for a in LONG_TAG_COLUMNS if a in lowered), None)
    if tag is None or "value" not in lowered:
        return None
    i = _alias_index(header, STEP_COLUMNS + EPOCH_COLUMNS)
    if i is None:
        return None
    step = header[i]
    cols = {"tag": tag, "step": step, "value": header[lowered.index("value")]}
    i = _alias_index(header, WALL_COLUMNS)
    wall = header[i] if i is not None else None
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
    candidates = [p for p in tree.unclaimed() if p.suffix.lower() in LOG_SUFFIXES]
    found = [(p, s) for p in candidates for s in [sniff(p) or _empty_table(p)] if s]
    return claim_logs(tree, [(p, {"layout": s.layout}) for p, s in found], FORMAT, CONFIG_SIDE_FILES)


def claim_logs(tree, logs: list[tuple[Path, dict]], fmt: str, side_names: list[str]) -> list[RunSource]:
    """One run per log file (path, its RunSource options). A log alone in its folder is named after
    the folder and takes the config files named `side_names` beside it; several logs in one folder
    are runs of their own, named by file, and no config is theirs to claim."""
    paths = [p for p, _ in logs]
    per_dir: dict[Path, int] = {}
    for path in paths:
        per_dir[path.parent] = per_dir.get(path.parent, 0) + 1
    unclaimed_set = set(tree.unclaimed()) - set(paths)
    sources = []
    for path, options in logs:
        alone = per_dir[path.parent] == 1
        side = [path.parent / n for n in side_names if alone and (path.parent / n) in unclaimed_set]
        named = path if tree.given.is_file() or not alone else path.parent
        tree.claim(path, *side)
        sources.append(RunSource(name=tree.run_name(named), path=path, format=fmt, files=[path, *side],
                                 options=options))
    return sources


# ----------------------------------------------------------------------------- parsing

CHUNK_ROWS = 1 << 15  # rows held as text at once; everything before is already float64 columns


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


@dataclass
class Table:
    """A CSV read into numeric columns (the text is not kept), with what was wrong with its lines.

    Text columns that a long table needs as labels (`tag`, `run`) are kept as integer codes into
    `labels`; every other column is float64 plus two masks, so memory is ~10 bytes per cell
    whatever the length of the text.
    """

    header: list[str]
    columns: dict[str, Column] = field(default_factory=dict)
    codes: dict[str, np.ndarray] = field(default_factory=dict)  # label column -> int32 codes
    labels: dict[str, list[str]] = field(default_factory=dict)  # label column -> names by code
    line_numbers: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))  # 1-based line per row
    segment: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int32))  # +1 after each repeated header
    bad_lines: list[int] = field(default_factory=list)  # the first few, for the warning
    bad_count: int = 0
    long_lines: int = 0  # lines or cells over limits.csv_field_bytes, skipped
    header_repeats: list[int] = field(default_factory=list)
    cut_line: int | None = None  # a last line without its newline and its last fields (live/killed)

    @property
    def n_rows(self) -> int:
        return len(self.line_numbers)


def _unique(names: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for name in names:
        name = name or "unnamed"
        seen[name] = seen.get(name, 0) + 1
        out.append(name if seen[name] == 1 else f"{name}#{seen[name]}")
    return out


def _bounded_lines(stream, max_line: int, table: Table):
    """The stream's physical lines; a line longer than `max_line` is drained and counted, and an
    empty line stands in for it so line numbers stay true. Memory per line is bounded."""
    while True:
        line = stream.readline(max_line)
        if not line:
            return
        if len(line) >= max_line and not line.endswith(("\n", "\r")):
            while True:
                more = stream.readline(max_line)
                if not more or more.endswith(("\n", "\r")):
                    break
            table.long_lines += 1
            yield "\n"
            continue
        yield line


class _Columns:
    """Row chunks converted to float64 columns as they fill (the text of a chunk is then dropped)."""

    def __init__(self, header: list[str], label_columns: set[str]):
        self.header = header
        self.label_columns = label_columns
        self.parts: dict[str, list[tuple[np.ndarray, np.ndarray, np.ndarray]]] = {h: [] for h in header}
        self.code_parts: dict[str, list[np.ndarray]] = {h: [] for h in label_columns}
        self.names: dict[str, dict[str, int]] = {h: {} for h in label_columns}
        self.rows: list[list[str]] = []

    def add(self, cells: list[str]) -> None:
        self.rows.append(cells)
        if len(self.rows) >= CHUNK_ROWS:
            self.flush()

    def flush(self) -> None:
        if not self.rows:
            return
        import pandas as pd

        for j, name in enumerate(self.header):
            cells = [r[j] for r in self.rows]
            if name in self.label_columns:
                index = self.names[name]
                self.code_parts[name].append(np.fromiter((index.setdefault(c, len(index)) for c in cells),
                                                         np.int32, len(cells)))
            obj = np.asarray(cells, dtype=object)
            values = pd.to_numeric(obj, errors="coerce").astype(np.float64, copy=False)
            present = ~np.isnan(values)
            junk = np.zeros(len(values), dtype=bool)
            unsure = np.flatnonzero(~present)  # blank, NA, a logged `nan`, or junk: look at the text
            if unsure.size:
                lowered = pd.Series(obj[unsure], dtype=object).astype(str).str.strip().str.lower()
                logged_nan = lowered.isin(NAN_TOKENS).to_numpy()
                present[unsure[logged_nan]] = True
                junk[unsure[~logged_nan & ~lowered.isin(MISSING_TOKENS).to_numpy()]] = True
            self.parts[name].append((values, present, junk))
        self.rows = []

    def finish(self, table: Table) -> None:
        self.flush()
        for name in list(self.parts):
            parts = self.parts.pop(name)  # freed column by column: at most one column held twice
            if parts:
                table.columns[name] = Column(*(parts[0][i] if len(parts) == 1 else np.concatenate([p[i] for p in parts])
                                               for i in range(3)))
            else:
                table.columns[name] = Column(np.zeros(0), np.zeros(0, bool), np.zeros(0, bool))
            del parts
        for name in self.label_columns:
            table.codes[name] = (np.concatenate(self.code_parts[name]) if self.code_parts[name]
                                 else np.zeros(0, np.int32))
            table.labels[name] = list(self.names[name])


def sample_delimiter(head: str, suffix: str) -> str | None:
    """The delimiter `parse_stream` uses, from the first SNIFF_BYTES characters of the text (None
    when they hold no line). Its first 7 non-blank lines decide: a live reader that has them
    (advisor.live.tail_text) fixes the delimiter once and passes it to `parse_stream`."""
    sample = [ln for ln in head.splitlines() if ln.strip()][:7]
    if len(head) >= SNIFF_BYTES and len(sample) > 1:
        sample = sample[:-1]  # the last line of a cut head is partial
    return _pick_delimiter(sample[:6], suffix) if sample else None


def parse_stream(stream, suffix: str, ends_with_newline: bool, delimiter: str | None = None) -> Table:
    """Read a CSV text stream (opened with newline="") into a Table; never raises on bad lines.

    The csv module sees the whole stream, so a quoted newline inside a header or a cell is part of
    that cell, not a broken line. A line that does not fit the header is skipped and counted; so is
    a line or cell over `limits.csv_field_bytes`. `delimiter`: the one a first look at the whole
    file picked (`sample_delimiter`), for a stream that is only a header and appended rows.
    """
    policy = limits.current()
    csv.field_size_limit(max(policy.csv_field_bytes, 1 << 17))
    delim = sample_delimiter(stream.read(SNIFF_BYTES), suffix) if delimiter is None else delimiter
    stream.seek(0)
    if delim is None:
        return Table(header=[])
    table = Table(header=[])
    lines = _Recorded(_bounded_lines(stream, policy.csv_field_bytes, table))
    reader = csv.reader(lines, delimiter=delim, skipinitialspace=True)
    header_raw: list[str] | None = None
    width = segment = 0
    columns: _Columns | None = None
    line_numbers, segments = array("q"), array("i")
    pending: tuple[list[str], int] | None = None

    def take(cells: list[str], lineno: int, last: bool) -> None:
        nonlocal segment
        if last and not ends_with_newline and 1 < len(cells) < width:
            cells = cells[:-1] + [""] * (width - len(cells) + 1)  # its last cell may be partial too
            table.cut_line = lineno
        if cells[0].strip() == header_raw[0] and [c.strip() for c in cells] == header_raw:
            table.header_repeats.append(lineno)
            segment += 1
            return
        if len(cells) == width + 1 and not cells[-1].strip():
            cells = cells[:-1]  # trailing delimiter
        if len(cells) != width:
            _bad(table, lineno)
            return
        columns.add(cells)
        line_numbers.append(lineno)
        segments.append(segment)

    def rows():
        """(cells, line number) per record; a record that a stray quote stretched over lines which
        are rows of their own is split back into those lines (see `_swallowed_rows`)."""
        while True:
            lines.taken = []
            try:
                cells = next(reader)
            except StopIteration:
                return
            except csv.Error:  # a cell over the field limit, an unterminated quote at the end
                _bad(table, reader.line_num)
                continue
            if header_raw is not None and len(lines.taken) > 1:
                split = _swallowed_rows(lines.taken, delim, width)
                if split is not None:
                    first = reader.line_num - len(lines.taken) + 1
                    yield from ((row, first + k) for k, row in enumerate(split))
                    continue
            yield cells, reader.line_num

    for cells, lineno in rows():
        if not cells or (len(cells) == 1 and not cells[0].strip()):
            continue
        if header_raw is None:
            header_raw = [h.strip() for h in cells]
            table.header = _unique(header_raw)
            width = len(header_raw)
            long_cols = find_long_columns(table.header) or {}
            columns = _Columns(table.header, {long_cols[k] for k in ("tag", "run") if k in long_cols})
            continue
        if pending is not None:
            take(*pending, last=False)
        pending = (cells, lineno)
    if pending is not None:
        take(*pending, last=True)
    if columns is not None:
        columns.finish(table)
    table.line_numbers = np.frombuffer(line_numbers, np.int64) if line_numbers else np.zeros(0, np.int64)
    table.segment = np.frombuffer(segments, np.int32) if segments else np.zeros(0, np.int32)
    return table


class _Recorded:
    """An iterator over lines that remembers the ones taken since `taken` was last reset."""

    def __init__(self, lines):
        self.lines = lines
        self.taken: list[str] = []

    def __iter__(self):
        return self

    def __next__(self) -> str:
        line = next(self.lines)
        self.taken.append(line)
        return line


def _swallowed_rows(taken: list[str], delim: str, width: int) -> list[list[str]] | None:
    """The lines of a multi-line record read one by one, when the record is damage, else None.

    A quote that a corrupted value left open makes the csv module read on to the next quote,
    maybe the end of the file: every row in between would be lost to one bad value. A legitimate
    multi-line cell holds prose; here the continuation lines parse, alone, into full rows of the
    table, so the record is read line by line instead (the line with the stray quote then fails
    the field count and is counted as a bad line, the others are kept).
    """
    parsed = [next(csv.reader([ln.rstrip("\r\n")], delimiter=delim, skipinitialspace=True), []) for ln in taken]
    rows_alone = sum(1 for cells in parsed[1:] if len(cells) in (width, width + 1))
    if rows_alone < max(1, (len(taken) - 1) // 2):
        return None
    return parsed


def _bad(table: Table, lineno: int) -> None:
    table.bad_count += 1
    if len(table.bad_lines) < 16:
        table.bad_lines.append(lineno)


def parse_table(text: str, suffix: str) -> Table:
    """`parse_stream` over text already in memory (tests, stdin)."""
    return parse_stream(io.StringIO(text.lstrip("\ufeff"), newline=""), suffix, text.endswith(("\n", "\r")))


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
    """Every point of one CSV run; bad lines skipped with a warning, side configs as hparams.

    The file is streamed (advisor.limits.open_regular: regular files only, within the byte
    budgets) and converted to float64 columns a chunk at a time, so memory follows the number of
    cells, not the length of the text.
    """
    path = Path(source.path)
    try:
        with limits.open_regular(path) as raw:
            size = os.fstat(raw.fileno()).st_size
            ends_with_newline = True
            if size:
                raw.seek(size - 1)
                ends_with_newline = raw.read(1) in (b"\n", b"\r")
                raw.seek(0)
            stream = io.TextIOWrapper(raw, encoding="utf-8-sig", errors="replace", newline="")
            table = parse_stream(stream, path.suffix.lower(), ends_with_newline)
    except OSError as exc:
        raise IngestError(f"{path}: cannot read ({limits.describe_os_error(exc)})") from None
    except MemoryError:
        raise IngestError(f"{path}: cannot read (out of memory)") from None
    return run_from_table(source, path, table)


def run_from_table(source: RunSource, path: Path, table: Table) -> Run:
    """The Run of a parsed table (shared by `read` and the live reader, advisor.live.tail_text)."""
    if not table.header:
        raise IngestError(f"{path}: empty file")
    if len(table.header) < 2:
        raise IngestError(f"{path}: no table header (need at least two columns)")
    run = Run(name=source.name, path=str(path), format=FORMAT, writer=guess_writer(path, table.header))
    _fill_run(run, path, table)
    _attach_side_configs(run, source)
    return run


def _fill_run(run: Run, path: Path, table: Table) -> None:
    _warn_table_problems(run, path, table)
    long_cols = find_long_columns(table.header)
    if not table.n_rows:
        run.warnings.append(f"{path}: header only, no rows")
    elif long_cols:
        _read_long(run, table, long_cols)
    else:
        _read_wide(run, path, table)


def _warn_table_problems(run: Run, path: Path, table: Table) -> None:
    if table.bad_count:
        run.warnings.append(f"{path}: skipped {table.bad_count} unreadable line(s) "
                            f"(lines {line_list(table.bad_lines) if table.bad_count <= len(table.bad_lines) else line_list(table.bad_lines, 8) + ', …'}): "
                            "field count differs from the header, or a quote is never closed")
    if table.long_lines:
        run.warnings.append(f"{path}: skipped {table.long_lines} line(s) longer than "
                            f"{limits.human(limits.current().csv_field_bytes)} (raise with --limit csv_field_bytes=…)")
    if table.cut_line:
        run.warnings.append(f"{path}: last line {table.cut_line} is cut short (file still being written or "
                            "the run was killed); its complete cells were kept")
        run.meta["truncated"] = True
    for lineno in table.header_repeats:
        run.events.append({"kind": "restart", "line": lineno, "reason": "header repeated (resumed run)"})


def unix_seconds(walls: np.ndarray | None) -> np.ndarray | None:
    """A wall-time column in seconds: milli-, micro- or nanoseconds since 1970 are scaled down, so a
    run's duration and an x axis of wall time read in seconds. The unit is the one in which the
    column's first and last values both read as dates of this century (PLAUSIBLE_UNIX); a column that
    reads as none (an elapsed-time counter, a `yyyymmddHHMMSS` number) is left as it is."""
    if walls is None:
        return None
    finite = walls[np.isfinite(walls)]
    if finite.size == 0:
        return walls
    lo, hi = PLAUSIBLE_UNIX
    ends = np.array([finite[0], finite[-1]], dtype=np.float64)
    scale = next((unit for unit in WALL_UNITS if np.all((ends / unit >= lo) & (ends / unit <= hi))), 1.0)
    return walls / scale if scale != 1.0 else walls


def _read_wide(run: Run, path: Path, table: Table) -> None:
    columns = table.columns
    x_name = find_x_column(table.header)
    i = _alias_index(table.header, WALL_COLUMNS)
    wall_name = table.header[i] if i is not None else None
    keep = np.ones(table.n_rows, dtype=bool)
    steps, x_is_tag = _x_steps(run, path, table, columns, x_name, keep)
    _warn_junk(run, path, table, columns, x_name, keep)
    walls = unix_seconds(columns[wall_name].values) if wall_name and columns[wall_name].numeric else None
    segment = table.segment
    builder = SeriesBuilder()
    # pandas' to_csv index (an empty first header cell) is a row counter, never a metric: the x column
    # when the table has no step or epoch column, else left out
    index = pandas_index(table.header)
    metric_names = [h for h in table.header if h != wall_name and (h != x_name or x_is_tag) and h != index]
    for name in metric_names:
        col = columns[name]
        if not col.numeric:
            continue  # a text column (fastai `time` mm:ss, run names): not a metric
        mask = col.present & keep
        tag = _tag_for(name, table.header, path)
        if mask.all() and run.writer != "lightning":  # every row logged it: share the arrays, no copies
            builder.add_many(tag, steps, col.values, walls)
            continue
        idx = np.flatnonzero(mask)
        if run.writer == "lightning":
            idx = _first_per_step(idx, steps, segment)
        if idx.size == 0:
            continue  # never logged (a Keras `val_*` column without validation): no series
        builder.add_many(tag, steps[idx], col.values[idx], None if walls is None else walls[idx])
    run.series = builder.build()
    run.meta["x_axis"] = x_name if (x_name and not x_is_tag) else "row"
    _note_step_resets(run, steps[keep], segment[keep])


def _x_steps(run, path, table, columns, x_name, keep) -> tuple[np.ndarray, bool]:
    """Integer steps per row from the x column; row index when there is none or it is fractional.

    A row whose x is missing, NaN, inf or beyond int64 (1e308) is a bad row: skipped and counted.
    """
    n = table.n_rows
    if x_name is None:
        return np.arange(n, dtype=np.int64), False
    x = columns[x_name]
    with np.errstate(invalid="ignore"):
        unusable = ~x.present | ~(np.abs(np.where(x.present, x.values, 0.0)) < 2.0**63)
    if unusable.any():
        bad = table.line_numbers[np.flatnonzero(unusable)].tolist()
        run.warnings.append(f"{path}: skipped {len(bad)} row(s) without a readable {x_name!r} value "
                            f"(missing, not a number, or beyond int64; lines {line_list(bad)})")
        keep &= ~unusable
    vals = np.where(keep, x.values, 0.0)
    kept = vals[keep]
    if kept.size >= 3 and np.all(kept == kept[0]) and _repeats_a_metric(table, columns, x_name, keep):
        # every row at one x while a metric is logged on several rows: a Keras CSVLogger(append=True) over
        # repeated fit(epochs=1) calls writes epoch 0 on every line; the rows are the epochs, in order
        run.warnings.append(f"{path}: every row has {x_name} = {kept[0]:g}; the rows are read in order as "
                            f"successive {x_name}s (a log appended by repeated one-{x_name} runs)")
        run.meta["x_note"] = f"{x_name!r} is the same on every row; points are indexed by row"
        return np.arange(n, dtype=np.int64), False
    if np.all(kept == np.round(kept)):
        return vals.astype(np.int64), False
    run.meta["x_note"] = f"{x_name!r} is fractional; points are indexed by row and {x_name!r} kept as a series"
    return np.arange(n, dtype=np.int64), True


def _repeats_a_metric(table, columns, x_name, keep) -> bool:
    """Whether some numeric column other than the x holds values on >= 3 of the kept rows."""
    return any(name != x_name and col.numeric and int((col.present & keep).sum()) >= 3 for name, col in columns.items())


def _warn_junk(run, path, table, columns, x_name, keep) -> None:
    """One warning for non-numeric cells inside numeric columns (a garbled row, a stray word)."""
    junk_rows = np.zeros(table.n_rows, dtype=bool)
    for name, col in columns.items():
        if name != x_name and col.numeric:
            junk_rows |= col.junk & keep
    if junk_rows.any():
        lines = table.line_numbers[np.flatnonzero(junk_rows)].tolist()
        run.warnings.append(f"{path}: ignored non-numeric cells in numeric columns on {len(lines)} line(s) "
                            f"(lines {line_list(lines)})")


def _first_per_step(idx: np.ndarray, steps: np.ndarray, segment: np.ndarray) -> np.ndarray:
    """Lightning's sparse rows: the first logged value per (segment, step) of one column."""
    if idx.size == 0:
        return idx
    keys = np.stack([segment[idx].astype(np.int64), steps[idx]], axis=1)
    _, first = np.unique(keys, axis=0, return_index=True)
    return idx[np.sort(first)]


def _tag_for(name: str, header: list[str], path: Path) -> str:
    """The tag of a column; a TensorBoard UI download's lone `Value` is named after its tag."""
    if name == "Value" and header == ["Wall time", "Step", "Value"]:
        stem = path.stem
        return stem.split("-tag-", 1)[1] if "-tag-" in stem else stem
    return name


def _note_step_resets(run: Run, steps: np.ndarray, segment: np.ndarray) -> None:
    """An x value that goes back within a segment is a restart too (appended log, no new header)."""
    if len(steps) < 2:
        return
    back = np.flatnonzero((np.diff(steps) < 0) & (np.diff(segment) == 0))
    for i in back[:20]:
        run.events.append({"kind": "restart", "step": int(steps[i + 1]), "reason": "x value went back"})


def _read_long(run: Run, table: Table, cols: dict[str, str]) -> None:
    """`tag, step, value[, wall_time][, run]` rows; several runs in one file get `run/` prefixes."""
    step, value = table.columns[cols["step"]], table.columns[cols["value"]]
    with np.errstate(invalid="ignore"):
        ok = step.present & (np.abs(np.where(step.present, step.values, np.inf)) < 2.0**63) & value.present
    value_missing = ~value.present & ~value.junk
    bad = table.line_numbers[np.flatnonzero(~ok & ~value_missing)].tolist()
    wall = table.columns[cols["wall"]] if "wall" in cols else None
    wall_values = None if wall is None else unix_seconds(np.where(wall.present, wall.values, np.nan))
    tags, names = table.codes[cols["tag"]], table.labels[cols["tag"]]
    runs = table.codes.get(cols.get("run", ""), None)
    run_names = table.labels.get(cols.get("run", ""), [])
    multi = runs is not None and len(np.unique(runs[ok])) > 1 if ok.any() and runs is not None else False
    key = tags.astype(np.int64) if not multi else runs.astype(np.int64) * (len(names) + 1) + tags
    idx = np.flatnonzero(ok)
    order = idx[np.argsort(key[idx], kind="stable")]
    builder = SeriesBuilder()
    if order.size:
        bounds = np.flatnonzero(np.diff(key[order])) + 1
        for group in np.split(order, bounds):
            first = group[0]
            tag = names[tags[first]] if not multi else f"{run_names[runs[first]]}/{names[tags[first]]}"
            walls = None if wall_values is None else wall_values[group]  # (NaN where the row has none)
            builder.add_many(tag, np.trunc(step.values[group]).astype(np.int64), value.values[group], walls)
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


__all__ = ["claim", "read", "sniff", "parse_table", "read_csv_text", "run_from_table", "sample_delimiter"]
