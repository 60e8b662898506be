"""Incremental readers for the text formats: each poll reads the bytes a file gained, nothing else.

`GrowingFile` is the byte level every one of them shares. It keeps the offset it has read to and
a few bytes it can check again cheaply:

* the file's first bytes (a CSV header): a file rewritten with a new header (Lightning's
  CSVLogger rewrites its metrics.csv whole when a new metric appears) is read again from the
  start;
* the last 64 bytes it read: a file truncated and restarted by a new run that has already
  written past the old length is noticed too;
* the file's identity (device, inode) and size: a replaced or shrunk file starts over.

Only complete lines are parsed; a line being written waits for the next poll and is read as the
one-shot reader would read it (cut short) only when a Run is built. The format-specific part
then parses the new lines with the one-shot reader's own parsing functions and keeps what they
gave, so the Run a live reader builds is the Run `advisor diagnose` reads from the same bytes
(tests/test_live_text_tails.py checks both: equality, and that only the new bytes are read).
"""
from __future__ import annotations

import csv
import io
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from advisor import limits
from advisor.ingest import csv_logs
from advisor.ingest._text import SNIFF_BYTES
from advisor.model import IngestError, Run, RunSource

ANCHOR = 64  # bytes before the read offset checked again at each poll (a restarted file)
_LINE_END = re.compile(r"\r\n|\r|\n")


class GrowingFile:
    """The bytes of one file as it grows: `read()` returns what was appended since the last call."""

    def __init__(self, path: Path, text_log: bool = True) -> None:
        self.path = Path(path)
        self.text_log = text_log
        self.bytes_read = 0  # everything read from the file, checks included (tests count it)
        self.restart()

    def restart(self) -> None:
        self.identity = None
        self.offset = 0  # bytes handed out so far
        self.mark: tuple[int, int] | None = None  # (size, mtime_ns) at the last read
        self.anchor = b""  # the last ANCHOR bytes handed out
        self.head = b""  # leading bytes that must stay as they are (set by the caller)

    def read(self) -> tuple[bool, bytes]:
        """(restarted, new bytes). `restarted`: the file is not the one read so far (replaced,
        shrunk, rewritten); the bytes are then the whole new file. FileNotFoundError and other
        OSErrors propagate."""
        with limits.open_regular(self.path, text_log=self.text_log) as handle:
            stat = os.fstat(handle.fileno())
            identity, mark = (stat.st_dev, stat.st_ino), (stat.st_size, stat.st_mtime_ns)
            if mark == self.mark and identity == self.identity:
                return False, b""
            restarted = self.identity is not None and (
                identity != self.identity or stat.st_size < self.offset or not self._unchanged(handle))
            if restarted or self.identity is None:
                self.restart()
                self.identity = identity
            handle.seek(self.offset)
            data = self._take(handle, stat.st_size - self.offset)
            self.mark = mark
        self.offset += len(data)
        self.anchor = (self.anchor + data)[-ANCHOR:]
        return restarted, data

    def _unchanged(self, handle) -> bool:
        """The bytes already read that are checked again (head, anchor) are still there."""
        if self.head:
            handle.seek(0)
            if self._take(handle, len(self.head)) != self.head:
                return False
        if self.anchor:
            handle.seek(self.offset - len(self.anchor))
            if self._take(handle, len(self.anchor)) != self.anchor:
                return False
        return True

    def _take(self, handle, size: int) -> bytes:
        data = handle.read(size)
        self.bytes_read += len(data)
        return data


def count_lines(text: str) -> int:
    """Physical lines as the csv module and `io` count them (\\r\\n, \\r and \\n end a line)."""
    return len(_LINE_END.findall(text))


# ----------------------------------------------------------------------------- CSV


@dataclass
class _Rows:
    """What the committed part of a CSV gave, kept as the one-shot reader's Table pieces."""

    columns: dict[str, list[tuple[np.ndarray, np.ndarray, np.ndarray]]] = field(default_factory=dict)
    codes: dict[str, list[np.ndarray]] = field(default_factory=dict)
    labels: dict[str, dict[str, int]] = field(default_factory=dict)
    line_numbers: list[np.ndarray] = field(default_factory=list)
    segment: list[np.ndarray] = field(default_factory=list)
    segments: int = 0  # repeated headers so far
    bad_lines: list[int] = field(default_factory=list)
    bad_count: int = 0
    long_lines: int = 0
    header_repeats: list[int] = field(default_factory=list)

    def add(self, table: csv_logs.Table, line_base: int) -> None:
        """Append a table parsed from the header plus rows that start after line `line_base`."""
        for name, col in table.columns.items():
            self.columns.setdefault(name, []).append((col.values, col.present, col.junk))
        for name, codes in table.codes.items():
            known = self.labels.setdefault(name, {})
            remap = np.array([known.setdefault(label, len(known)) for label in table.labels[name]], np.int32)
            self.codes.setdefault(name, []).append(remap[codes] if len(codes) else codes)
        self.line_numbers.append(table.line_numbers + line_base)
        self.segment.append(table.segment + self.segments)
        self.segments += len(table.header_repeats)
        self.bad_lines = (self.bad_lines + [n + line_base for n in table.bad_lines])[:16]
        self.bad_count += table.bad_count
        self.long_lines += table.long_lines
        self.header_repeats += [n + line_base for n in table.header_repeats]

    def table(self, header: list[str], tail: csv_logs.Table | None, tail_base: int) -> csv_logs.Table:
        """Everything so far as one Table; `tail` (the uncommitted end, parsed as the end of the
        file) is added to a copy, never kept."""
        rows = self
        if tail is not None and tail.header:
            rows = _Rows({k: list(v) for k, v in self.columns.items()}, {k: list(v) for k, v in self.codes.items()},
                         {k: dict(v) for k, v in self.labels.items()}, list(self.line_numbers), list(self.segment),
                         self.segments, list(self.bad_lines), self.bad_count, self.long_lines,
                         list(self.header_repeats))
            rows.add(tail, tail_base)
        out = csv_logs.Table(header=list(header))
        for name in header:
            parts = rows.columns.get(name, [])
            out.columns[name] = csv_logs.Column(*(np.concatenate([p[i] for p in parts]) if parts else
                                                  np.zeros(0, bool if i else np.float64) for i in range(3)))
        for name, codes in rows.codes.items():
            out.codes[name] = np.concatenate(codes) if codes else np.zeros(0, np.int32)
            out.labels[name] = list(rows.labels[name])
        out.line_numbers = np.concatenate(rows.line_numbers) if rows.line_numbers else np.zeros(0, np.int64)
        out.segment = np.concatenate(rows.segment) if rows.segment else np.zeros(0, np.int32)
        out.bad_lines, out.bad_count, out.long_lines = list(rows.bad_lines), rows.bad_count, rows.long_lines
        out.header_repeats = list(rows.header_repeats)
        out.cut_line = tail.cut_line + tail_base if tail is not None and tail.cut_line else None
        return out


class CsvTail:
    """A CSV run read by appended rows.

    Until the file's first 8 non-blank lines (or first 16 KiB) are there, the delimiter the
    one-shot reader would pick can still change, so the little there is is parsed whole each
    time. From then on the header and delimiter are fixed: each poll parses the header plus the
    complete lines appended, with `csv_logs.parse_stream`, and keeps the columns it gave. The
    last record is held back when it holds a quote (a quoted cell may go on over the next lines);
    held-back bytes and a line being written are parsed, as the end of the file, only when the
    Run is built. A rewritten header, a truncated or replaced file: read again from the start.
    """

    def __init__(self, source: RunSource) -> None:
        self.source = source
        self.path = Path(source.path)
        self.file = GrowingFile(self.path)
        self._restart()

    def _restart(self) -> None:
        self.file.restart()
        self._forget()

    def _forget(self) -> None:
        """Drop what was parsed (the file starts over)."""
        self.buffer = b""  # bytes read but not committed (a partial line, held-back records)
        self.settled = False  # header and delimiter fixed
        self.head_text = ""  # the text through the header record (BOM removed)
        self.head_lines = 0
        self.header: list[str] = []
        self.delimiter: str | None = None
        self.lines = 0  # physical lines committed
        self.rows = _Rows()
        self.committed_bytes = 0

    def update_source(self, source: RunSource) -> None:
        self.source = source

    def poll(self) -> bool:
        restarted, data = self.file.read()
        if restarted:  # `data` is then the whole new file
            self._forget()
        if not data and not restarted:
            return False
        self.buffer += data
        if not self.settled:
            self._settle()
        if self.settled:
            self._commit()
        return True

    def _settle(self) -> None:
        """Fix header and delimiter once the lines that decide them are complete."""
        complete = self.buffer[: self.buffer.rfind(b"\n") + 1]
        text = complete.decode("utf-8", errors="replace").lstrip("\ufeff")
        nonblank = sum(1 for ln in text.splitlines() if ln.strip())
        if nonblank < 8 and len(text) < SNIFF_BYTES:
            return
        csv.field_size_limit(max(limits.current().csv_field_bytes, 1 << 17))
        self.delimiter = csv_logs.sample_delimiter(text[:SNIFF_BYTES], self.path.suffix.lower())
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=self.delimiter, skipinitialspace=True)
        try:
            for cells in reader:
                if cells and not (len(cells) == 1 and not cells[0].strip()):
                    break
        except csv.Error:  # a header the one-shot reader skips too: let it decide, every poll
            return
        self.head_lines = reader.line_num
        head = _line_offset(complete, self.head_lines)
        self.file.head, self.buffer = self.buffer[:head], self.buffer[head:]
        self.head_text = self.file.head.decode("utf-8", errors="replace").lstrip("\ufeff")
        self.header = self._parse("", ends_with_newline=True).header
        self.lines = self.head_lines
        self.committed_bytes = head
        self.settled = True

    def _commit(self) -> None:
        cut = self.buffer.rfind(b"\n") + 1
        if b'"' in self.buffer[:cut]:
            cut = _line_offset(self.buffer, _lines_before_open_record(self.buffer[:cut], self.delimiter))
        if not cut:
            return
        text = self.buffer[:cut].decode("utf-8", errors="replace")
        self.rows.add(self._parse(text, ends_with_newline=True), self.lines - self.head_lines)
        self.lines += count_lines(text)
        self.buffer = self.buffer[cut:]
        self.committed_bytes += cut

    def _parse(self, text: str, ends_with_newline: bool) -> csv_logs.Table:
        stream = io.StringIO(self.head_text + text, newline="")
        return csv_logs.parse_stream(stream, self.path.suffix.lower(), ends_with_newline, delimiter=self.delimiter)

    def run(self) -> Run:
        if not self.settled:  # a few lines so far: what the one-shot reader makes of them
            text = self.buffer.decode("utf-8", errors="replace").lstrip("\ufeff")
            table = csv_logs.parse_table(text, self.path.suffix.lower())
        else:
            tail = None
            if self.buffer:
                text = self.buffer.decode("utf-8", errors="replace")
                tail = self._parse(text, ends_with_newline=self.buffer.endswith((b"\n", b"\r")))
            table = self.rows.table(self.header, tail, self.lines - self.head_lines)
        return csv_logs.run_from_table(self.source, self.path, table)


_BYTE_LINE_END = re.compile(rb"\r\n|\r|\n")


def _line_offset(data: bytes, lines: int) -> int:
    """The byte offset where physical line `lines + 1` of `data` starts."""
    if lines <= 0:
        return 0
    for number, end in enumerate(_BYTE_LINE_END.finditer(data), start=1):
        if number == lines:
            return end.end()
    return len(data)


def _lines_before_open_record(data: bytes, delimiter: str) -> int:
    """How many lines of `data` (complete lines, starting at a record boundary) hold only records
    that are over: all of them, unless the last record holds a quote (a quoted cell may go on
    over lines still to come), which is then left out."""
    text = data.decode("utf-8", errors="replace")
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, skipinitialspace=True)
    last_start = 0
    while True:
        start = reader.line_num
        try:
            next(reader)
        except StopIteration:
            break
        except csv.Error:
            if reader.line_num == start:
                break
        last_start = start
    tail = data[_line_offset(data, last_start):]
    return last_start if b'"' in tail else count_lines(text)


# ----------------------------------------------------------------------------- line logs


class GrowingLog:
    """A log file read by what it gained: `poll` reads the new bytes into `buffer` and lets
    `_commit` parse what is final of them; a file that is not the one read so far starts over."""

    def __init__(self, path: Path) -> None:
        self.file = GrowingFile(path)
        self.error: str | None = None  # why the file could not be read at the last poll
        self._forget()

    def _forget(self) -> None:
        raise NotImplementedError

    def _commit(self) -> None:
        raise NotImplementedError

    def poll(self) -> bool:
        try:
            restarted, data = self.file.read()
        except OSError as exc:
            message = f"{self.file.path}: cannot read ({limits.describe_os_error(exc)})"
            changed, self.error = message != self.error, message
            return changed
        self.error = None
        if restarted:
            self._forget()
        if not data:
            return restarted
        self.buffer += data
        self._commit()
        return True


class AppendedLines(GrowingLog):
    """A log of one record per line (W&B history JSONL, an MLflow metric file) parsed by the
    lines appended. `parse(text, first_line) -> (items, bad line numbers)` is the one-shot
    reader's own line parser; the line being written is parsed only for a snapshot."""

    def __init__(self, path: Path, parse) -> None:
        self.parse = parse
        super().__init__(path)

    def _forget(self) -> None:
        self.buffer = b""
        self.items: list = []
        self.bad: list[int] = []
        self.lines = 0
        self.nonblank = False

    def _commit(self) -> None:
        cut = self.buffer.rfind(b"\n") + 1
        if cut:
            text = self._decode(self.buffer[:cut], self.lines == 0)
            items, bad = self.parse(text, self.lines + 1)
            self.items += items
            self.bad += bad
            self.lines += len(text.splitlines())
            self.nonblank |= bool(text.strip())
            self.buffer = self.buffer[cut:]

    @staticmethod
    def _decode(data: bytes, at_start: bool) -> str:
        text = data.decode("utf-8", errors="replace")
        return text.lstrip("\ufeff") if at_start else text  # as read_text: a BOM opens the file only

    def snapshot(self) -> tuple[list, list[int], bool]:
        """(items, bad line numbers, blank) of the file as it is now, its last line included."""
        if self.error:
            raise IngestError(self.error)
        if not self.buffer:
            return self.items, self.bad, not self.nonblank
        text = self._decode(self.buffer, self.lines == 0)
        items, bad = self.parse(text, self.lines + 1)
        return self.items + items, self.bad + bad, not (self.nonblank or text.strip())


def stat_marks(paths) -> tuple:
    """(path, size, mtime) of each file that exists: what tells a rewritten small file."""
    marks = []
    for path in paths:
        try:
            stat = os.stat(path)
        except OSError:
            continue
        marks.append((str(path), stat.st_size, stat.st_mtime_ns))
    return tuple(marks)


class LineFilesTail:
    """A run whose points are in line logs read by `AppendedLines`; its other (small, rewritten)
    files are looked at again when their size or mtime changes. Subclasses say which files are
    line logs and how the format's reader builds the Run from them."""

    def __init__(self, source: RunSource) -> None:
        self.source = source
        self.logs: dict[Path, AppendedLines] = {}
        self.side_marks: tuple | None = None

    def update_source(self, source: RunSource) -> None:
        self.source = source

    def line_logs(self) -> list[Path]:
        raise NotImplementedError

    parse = None  # parse(text, first_line) -> (items, bad)

    def make_log(self, path: Path):
        return AppendedLines(path, type(self).parse)

    def poll(self) -> bool:
        changed = False
        logs = self.line_logs()
        for path in logs:
            log = self.logs.get(path)
            if log is None:
                log = self.logs[path] = self.make_log(path)
                changed = True
            changed |= log.poll()
        marks = stat_marks(p for p in map(Path, self.source.files or [self.source.path]) if p not in logs)
        changed |= marks != self.side_marks
        self.side_marks = marks
        return changed


class WandbHistoryTail(LineFilesTail):
    """A W&B run folder logged as wandb-history.jsonl (wandb < 0.10, offline exports)."""

    parse = staticmethod(lambda text, first: wandb_reader().parse_history_lines(text, first))

    def line_logs(self) -> list[Path]:
        return [Path(f) for f in self.source.files if Path(f).name == "wandb-history.jsonl"]

    def run(self) -> Run:
        reader = wandb_reader()

        def rows_from_jsonl(path: Path, run: Run):
            rows, bad, blank = self.logs[Path(path)].snapshot()
            return reader.history_file_rows(path, run, rows, bad, blank)

        return reader._read_run_dir(self.source, rows_from_jsonl=rows_from_jsonl)


class MlflowFileStoreTail(LineFilesTail):
    """A run of an MLflow file store: each `metrics/<key>` file read by appended lines."""

    parse = staticmethod(lambda text, first: mlflow_reader().parse_metric_lines(text, first))

    def line_logs(self) -> list[Path]:
        root = Path(self.source.path)
        return [Path(f) for f in self.source.files
                if Path(f).is_relative_to(root) and Path(f).relative_to(root).parts[0] == "metrics"]

    def run(self) -> Run:
        def metric_lines(path: Path):
            points, bad, _ = self.logs[Path(path)].snapshot()
            return points, bad

        return mlflow_reader()._read_file_store_run(self.source, metric_lines=metric_lines)


class HfStatesTail:
    """A Hugging Face output folder: each trainer_state.json (the folder's own, one per
    checkpoint) is parsed again only when it changed (size, mtime, inode); Trainer rewrites the
    file whole at each save, so a changed one is parsed whole, but the checkpoints' files that did
    not change are not read again. The Run is built by the one-shot reader from those States."""

    def __init__(self, source: RunSource) -> None:
        self.source = source
        self.states: dict[Path, tuple[tuple, object]] = {}  # path -> (mark, State or IngestError)
        self.marks: tuple | None = None
        self.parsed = 0  # state files parsed so far (tests count them)

    def update_source(self, source: RunSource) -> None:
        self.source = source

    def poll(self) -> bool:
        marks = stat_marks(self.source.files or [self.source.path])
        changed, self.marks = marks != self.marks, marks
        return changed

    def _parse(self, path: Path):
        from advisor.ingest import hf_trainer

        try:
            stat = os.stat(path)
            mark = (stat.st_dev, stat.st_ino, stat.st_size, stat.st_mtime_ns)
        except OSError:
            mark = None
        known = self.states.get(path)
        if known is None or known[0] != mark or mark is None:
            try:
                result = hf_trainer.parse_state(path)
            except IngestError as exc:
                result = exc
            self.parsed += 1
            known = self.states[path] = (mark, result)
        if isinstance(known[1], IngestError):
            raise known[1]
        return known[1]

    def run(self) -> Run:
        from advisor.ingest import hf_trainer

        return hf_trainer.read(self.source, parse=self._parse)


def wandb_reader():
    from advisor.ingest import wandb

    return wandb


def mlflow_reader():
    from advisor.ingest import mlflow

    return mlflow


def text_tail_for(source: RunSource):
    """The incremental reader of a text-format run, or None (the caller re-reads it on change)."""
    if source.format == csv_logs.FORMAT:
        return CsvTail(source)
    if source.format == "wandb" and source.options.get("kind", "run-dir") == "run-dir":
        binary = any(Path(f).suffix == ".wandb" and Path(f).name.startswith("run-") for f in source.files)
        return WandbRunTail(source) if binary else WandbHistoryTail(source)
    if source.format == "mlflow" and source.options.get("store") not in ("sqlite", "rest"):
        return MlflowFileStoreTail(source)
    if source.format == "hf-trainer":
        return HfStatesTail(source)
    return None


# ----------------------------------------------------------------------------- W&B binary log


class WandbBinaryLog(GrowingLog):
    """A `run-<id>.wandb` transaction log read by the chunks appended.

    Each poll runs `split_records`' loop (advisor.ingest.wandb_log, its own functions: whole
    chunks with good CRCs, the resync at the next good chunk, zero runs) from where the last poll
    stopped, at the same file offsets, and commits up to the last point where no record is half
    read; the records are decoded into the WandbLog kept so far. What follows (a chunk being
    written, damage with nothing readable after it yet) stays uncommitted and is framed by
    `split_records` as the end of the file only when a snapshot is taken: at the commit point the
    one-shot reader is in the same state (no record pending), so the result is the same. A run
    of 7 or more zero bytes in that end (a preallocated tail) makes the snapshot read the file
    whole, since whether it counts as padding depends on its offset in the 32 KiB block.
    """

    def _forget(self) -> None:
        from advisor.ingest import wandb_log

        self.buffer = b""  # the uncommitted bytes, from file offset `committed`
        self.committed = 0
        self.header = b""
        self.break_at = 0  # where, in `buffer`, the chain of whole chunks stops
        self.whole_reads = 0  # snapshots that had to read the file whole (tests count them)
        self.log = wandb_log.WandbLog()  # the decoded committed records
        self.problems: list[str] = []  # framing problems met in the committed part
        self.undecodable = 0

    def _commit(self) -> None:
        from advisor.ingest import wandb_log as w

        buffer, base = self.buffer, self.committed
        pos = 0
        if base == 0:
            if len(buffer) < w.HEADER_LEN or not w.has_wandb_header(buffer):
                return  # no header yet (or not a W&B log): the snapshot says what it is
            pos = w.HEADER_LEN
            self.header = buffer[:pos]
        scratch, pending, boundary = w.Framing(), None, pos
        kept_records, kept_problems = [], []
        while pos < len(buffer):  # split_records' loop, at file offsets base + pos
            end = w._chunk_end(buffer, pos)
            if end is not None:
                pending = w._take_chunk(scratch, buffer[pos + 6], buffer[pos + w.CHUNK_HEADER:end], pending, base + pos)
                pos = end
            else:
                resume = w.next_chunk(buffer, pos + 1)
                if resume is None:
                    break  # a chunk being written (or damage with nothing after it yet): wait
                if w._all_zero(buffer, pos, resume):  # padding, or zeros the one-shot reader names
                    if resume - pos >= w.CHUNK_HEADER and (base + resume) % w.BLOCK:
                        scratch.problems.append(f"{resume - pos} zero bytes at byte {base + pos} (not block padding); skipped")
                else:
                    problem = w._damage_problem(buffer, pos, resume, pending is not None)
                    scratch.problems.append(_BYTE_AT.sub(lambda m: f"byte {int(m.group(1)) + base}", problem))
                    pending = None
                pos = resume
            if pending is None:  # no record half read: everything so far is final
                boundary = pos
                kept_records += scratch.records
                kept_problems += scratch.problems
                scratch = w.Framing()
        self.break_at = pos - boundary
        if boundary == 0:
            return
        self.problems += kept_problems
        self.undecodable += _apply_records(self.log, kept_records)
        self.log.records += len(kept_records)
        self.buffer = buffer[boundary:]
        self.committed = base + boundary

    def snapshot(self):
        """The WandbLog `read_wandb_bytes` gives of the file as it is now (None: empty file)."""
        from advisor.ingest import wandb_log as w
        from advisor.ingest._text import read_bytes

        if self.error:
            raise IngestError(self.error)
        if self.committed == 0:
            return w.read_wandb_bytes(self.buffer) if self.buffer else None
        if b"\0" * w.CHUNK_HEADER in self.buffer[self.break_at:]:
            self.whole_reads += 1
            return w.read_wandb_bytes(read_bytes(self.file.path))
        tail = w.split_records(self.header + self.buffer)
        shift = self.committed - w.HEADER_LEN
        log = w.WandbLog(rows=list(self.log.rows), run=dict(self.log.run), config=dict(self.log.config),
                         summary=dict(self.log.summary), version=self.log.version, exit_code=self.log.exit_code,
                         records=self.log.records + len(tail.records), truncated=tail.truncated,
                         problems=self.problems + [_BYTE_AT.sub(lambda m: f"byte {int(m.group(1)) + shift}", p)
                                                   for p in tail.problems])
        undecodable = self.undecodable + _apply_records(log, tail.records)
        if undecodable:
            log.problems.append(f"{undecodable} record(s) could not be decoded and were skipped")
        return log


_BYTE_AT = re.compile(r"\bbyte (\d+)")


def _apply_records(log, records: list[bytes]) -> int:
    """Decode records into `log` as `read_wandb_bytes` does; how many could not be decoded."""
    import struct

    from advisor.ingest import wandb_log as w

    undecodable = 0
    for record in records:
        try:
            w._apply_record(log, record)
        except (w.WireError, ValueError, UnicodeDecodeError, struct.error, IndexError, RecursionError, OverflowError):
            undecodable += 1
    return undecodable


class WandbRunTail(LineFilesTail):
    """A W&B run folder with a binary `run-<id>.wandb` log."""

    def line_logs(self) -> list[Path]:
        return [Path(f) for f in self.source.files if Path(f).suffix == ".wandb" and Path(f).name.startswith("run-")]

    def make_log(self, path: Path):
        return WandbBinaryLog(path)

    def run(self) -> Run:
        return wandb_reader()._read_run_dir(self.source, read_log=lambda path: self.logs[Path(path)].snapshot())
