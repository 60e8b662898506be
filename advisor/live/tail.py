"""Incremental readers: each remembers where it stopped and reads only what was added since.

* TensorBoard event files (`EventFileTail`) are read by byte offset. Each poll decodes the bytes
  appended since the last complete record with the one-shot decoder (advisor.ingest.tfevents), so
  only whole records whose CRCs check out are taken; a half-written last record is left where it
  is (no warning, no value) and read whole at the next poll. A file that shrank or was replaced
  is read again from its start.
* CSV tables, W&B history JSONL and MLflow metric files are read by the lines appended
  (advisor.live.tail_text), surviving a rewritten header or a file truncated and restarted.
* Every other format (`RereadOnChange`) is read again with its own reader when one of its files
  changes size or modification time: trainer_state.json is rewritten whole at each checkpoint,
  an MLflow SQLite store is a database, a W&B export is written once.
* A run on an MLflow tracking server (`ServerRunTail`) is fetched again when the server's run
  search says its last points, status, params or tags changed. A run under an s3:// (or other
  fsspec) URL is read from its local mirror (advisor.ingest.remote), which discovery refreshes
  at every pass, fetching only the objects that changed; the readers above read the mirror.

Both produce the same `Run` the one-shot reader does (advisor.ingest.read), so a run diagnosed
live ends with exactly the diagnosis `advisor diagnose` gives of the finished files.
"""
from __future__ import annotations

import os
import re
from pathlib import Path

from advisor import limits
from advisor.ingest import tensorboard, tfevents
from advisor.live.buffer import Points
from advisor.model import Run, RunSource

_BYTE = re.compile(r"\bbyte (\d+)")


class EventFileTail:
    """One event file read as it grows: every complete record once, in order."""

    def __init__(self, path: Path, tags: tfevents.TagNames, plugin_of_tag: dict[str, str]) -> None:
        self.path = path
        self.tags = tags
        self.plugin_of_tag = plugin_of_tag
        self._reset(None)

    def _reset(self, identity) -> None:
        self.identity = identity
        self.offset = 0  # bytes consumed: the start of the first record not read yet
        self.pending = False  # a partial record waits after `offset`
        self.tail_warnings: list[str] = []  # about the state of the end of the file (partial record, empty)
        self.by_tag: dict[int, Points] = {}
        self.info = tfevents.FileScalars(self.path)  # what the file says about itself, accumulated
        self.state = tfevents.DecodeState(self.tags)  # what decoding learned: not learned again per poll

    def poll(self) -> bool:
        """Read what was appended; True when the file gave new records (or was replaced)."""
        try:
            handle = limits.open_regular(self.path, text_log=False)  # never a FIFO or a device
        except FileNotFoundError:
            return False
        with handle:
            return self._read_from(handle)

    def _read_from(self, handle) -> bool:
        stat = os.fstat(handle.fileno())
        identity = (stat.st_dev, stat.st_ino)
        replaced = self.identity is not None and (identity != self.identity or stat.st_size < self.offset)
        if replaced or self.identity is None:
            self._reset(identity)
        if stat.st_size == 0:  # a fresh writer: the one-shot reader's own words for it
            self.tail_warnings = tfevents.read_file(self.path, self.tags, self.plugin_of_tag).warnings
            return replaced
        if stat.st_size == self.offset:
            return replaced
        handle.seek(self.offset)
        chunk = handle.read(stat.st_size - self.offset)
        decoded = tfevents.decode(chunk, self.path, self.tags, self.plugin_of_tag, self.state)
        consumed = len(chunk) if decoded.truncated_at is None else decoded.truncated_at
        self.tail_warnings = []
        self._merge(decoded, self.offset)
        self.offset += consumed
        self.pending = decoded.truncated_at is not None
        return bool(decoded.records) or replaced

    def _merge(self, decoded: tfevents.FileScalars, base: int) -> None:
        info = self.info
        first = info.records
        for tag_id, points in decoded.tags.items():
            column = self.by_tag.get(tag_id)
            if column is None:
                column = self.by_tag[tag_id] = Points(first + points.first_record)
            column.extend(points.step, points.wall_time, points.value)
        info.records += decoded.records
        info.file_version = info.file_version or decoded.file_version
        info.source_writer = info.source_writer or decoded.source_writer
        for kind, count in decoded.skipped.items():
            info.skipped[kind] = info.skipped.get(kind, 0) + count
        info.hparams.update(decoded.hparams)
        info.session_status = decoded.session_status or info.session_status
        info.session_starts.extend(decoded.session_starts)
        for warning in decoded.warnings:
            # offsets in the chunk -> offsets in the file
            warning = _BYTE.sub(lambda m: f"byte {int(m.group(1)) + base}", warning)
            if decoded.truncated_at is not None and f"truncated record at byte {decoded.truncated_at + base}" in warning:
                # the record being written now: read whole at the next poll, and until then only
                # mentioned in the run's warnings as the one-shot reader would (never an event)
                self.tail_warnings.append(warning)
                continue
            info.warnings.append(warning)

    def snapshot(self) -> tfevents.FileScalars:
        """What the file holds so far, as the one-shot decoder returns it (arrays are views)."""
        info = self.info
        tags = {
            tag_id: tfevents.TagPoints(p.step.view(), p.wall_time.view(), p.value.view(), p.first_record)
            for tag_id, p in self.by_tag.items()
        }
        return tfevents.FileScalars(
            self.path, tags, info.records, info.file_version, info.source_writer, dict(info.skipped),
            dict(info.hparams), info.session_status, list(info.session_starts), info.warnings + self.tail_warnings,
            truncated=self.pending, size=self.offset,
        )


class TensorBoardTail:
    """A TensorBoard run (one or more folders of event files) read incrementally."""

    def __init__(self, source: RunSource) -> None:
        self.source = source
        self._start()

    def _start(self) -> None:
        self.names: list[str] = []
        index: dict[str, int] = {}
        self.members = tensorboard.member_tag_names(self.source, self.names, index)
        self.plugins: dict[Path, dict[str, str]] = {folder: {} for folder, _ in self.members}
        self.files: dict[Path, EventFileTail] = {}
        self.layout = self._layout(self.source)

    @staticmethod
    def _layout(source: RunSource):
        return repr(source.options.get("members"))

    def update_source(self, source: RunSource) -> None:
        """Discovery saw the run again: new files join; a changed folder layout starts over."""
        relayout = self._layout(source) != self.layout
        self.source = source
        if relayout:
            self._start()

    def poll(self) -> bool:
        changed = False
        for folder, tags in self.members:
            for path in self._files_in(folder):
                tail = self.files.get(path)
                if tail is None:
                    tail = self.files[path] = EventFileTail(path, tags, self.plugins[folder])
                    changed = True
                changed |= tail.poll()
        return changed

    def _files_in(self, folder: Path) -> list[Path]:
        return sorted((f for f in self.source.files if f.parent == folder), key=tensorboard.natural_key)

    def run(self) -> Run:
        run = Run(name=self.source.name, path=str(self.source.path), format=tensorboard.FORMAT)
        decoded = [self.files[p].snapshot() for folder, _ in self.members for p in self._files_in(folder)
                   if p in self.files]
        return tensorboard.assemble(self.source, run, decoded, self.names)


class RereadOnChange:
    """Any other format: read again, with its own reader, when a file changes size or mtime."""

    def __init__(self, source: RunSource) -> None:
        self.source = source
        self.seen: tuple | None = None
        self._run: Run | None = None

    def update_source(self, source: RunSource) -> None:
        self.source = source

    def _signature(self) -> tuple:
        from advisor.live.tail_text import stat_marks

        return stat_marks(self.source.files or [self.source.path])

    def poll(self) -> bool:
        signature = self._signature()
        if signature == self.seen:
            return False
        from advisor import ingest

        self._run = ingest.read(self.source)  # IngestError propagates: the caller reports it
        self.seen = signature
        return True

    def run(self) -> Run:
        assert self._run is not None
        return self._run


class ServerRunTail(RereadOnChange):
    """A run on an MLflow tracking server (mlflow://): discovery's `runs/search` at every pass
    gives each metric's last point, the run's status, params and tags; the history is fetched
    again only when one of them changed."""

    def _signature(self) -> tuple:
        options = self.source.options
        return tuple(repr(options.get(k)) for k in ("latest", "metrics", "info", "params", "tags"))


def tail_for(source: RunSource):
    """The incremental reader for a discovered run."""
    from advisor.live.tail_text import text_tail_for

    if source.format == tensorboard.FORMAT:
        return TensorBoardTail(source)
    if source.options.get("store") == "rest":
        return ServerRunTail(source)
    return text_tail_for(source) or RereadOnChange(source)
