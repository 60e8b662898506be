"""Reader for W&B's binary `run-<id>.wandb` transaction log, without the wandb package.

The file (FORMATS.md §2.2) is a 7-byte header (`:W&B`, uint16 LE 0xBEE1, uint8 version) followed
by LevelDB-log framing: 32 KiB blocks of chunks `crc32 (LE) | length (uint16 LE) | type | data`,
where type is FULL/FIRST/MIDDLE/LAST and the CRC is zlib's CRC-32 over the type byte and data.
Each reassembled record is a protobuf `wandb_internal.Record`; we hand-decode the protobuf wire
format for the few fields advisor needs (history items, step, run config, display name, the
writer version), because wandb is not a dependency and its on-disk reader is gone from 0.31.

Damage is expected (killed runs, a known SDK bug that corrupted files, a value rewritten with
more digits): a bad chunk costs its record, and reading resumes at the next chunk that passes its
CRC wherever it starts (bytes inserted or deleted inside a block shift every later chunk off the
32 KiB grid); a truncated tail stops reading. Problems are returned as text for the caller's one
warning line, with byte offsets.
"""
from __future__ import annotations

import json
import math
import struct
import zlib
from dataclasses import dataclass, field
from typing import Any, Iterator

import numpy as np

HEADER_MAGIC = b":W&B"
HEADER_LEN = 7
BLOCK = 32768
CHUNK_HEADER = 7
FULL, FIRST, MIDDLE, LAST = 1, 2, 3, 4

# wandb_internal.Record oneof fields we read (numbers from wandb/proto/wandb_internal.proto)
REC_HISTORY, REC_SUMMARY, REC_CONFIG, REC_RUN, REC_EXIT, REC_HEADER = 2, 3, 5, 17, 18, 21


# ----------------------------------------------------------------------------- framing


@dataclass
class Framing:
    """The records of one file plus one text line per problem met on the way."""

    records: list[bytes] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    truncated: bool = False


def has_wandb_header(head: bytes) -> bool:
    return len(head) >= HEADER_LEN and head[:4] == HEADER_MAGIC and head[4:6] == b"\xe1\xbe"


def _chunk_end(data: bytes, pos: int) -> int | None:
    """Where the chunk whose header is at `pos` ends, if it is whole and passes its CRC; else None."""
    if pos + CHUNK_HEADER > len(data):
        return None
    crc, length, kind = struct.unpack_from("<IHB", data, pos)
    end = pos + CHUNK_HEADER + length
    if kind not in (FULL, FIRST, MIDDLE, LAST) or end > len(data):
        return None
    if zlib.crc32(memoryview(data)[pos + 6:end]) & 0xFFFFFFFF != crc:
        return None
    return end


def split_records(data: bytes) -> Framing:
    """Reassemble the protobuf records of a `.wandb` file, skipping what fails its CRC.

    Chunks are followed by their lengths; where that chain breaks (a chunk that fails its CRC, a
    type that does not exist, zeros), the reader looks for the next offset that starts a chunk
    with a good CRC and goes on from there (`next_chunk`). Block boundaries are not trusted after
    damage: bytes inserted or deleted inside a block (a value rewritten with more or fewer digits)
    shift every later chunk off the 32 KiB grid, and the shifted chunks are still whole and still
    pass their CRCs, so following them loses only the damaged record. Zeros between chunks are the
    writer's block padding (or a preallocated tail) and are skipped silently when short or final;
    anything else skipped is one problem line with its byte offsets.
    """
    out = Framing()
    if not has_wandb_header(data):
        out.problems.append("not a W&B transaction log (no ':W&B' header)")
        return out
    pos, pending = HEADER_LEN, None  # pending: parts of a FIRST..LAST record being assembled
    size = len(data)
    while pos < size:
        end = _chunk_end(data, pos)
        if end is not None:
            pending = _take_chunk(out, data[pos + 6], data[pos + CHUNK_HEADER:end], pending, pos)
            pos = end
            continue
        resume = next_chunk(data, pos + 1)
        stop = size if resume is None else resume
        if _all_zero(data, pos, stop):
            if resume is not None and stop - pos >= CHUNK_HEADER and stop % BLOCK:
                out.problems.append(f"{stop - pos} zero bytes at byte {pos} (not block padding); skipped")
            pos = stop
            continue
        if resume is None:  # nothing readable after `pos`: a torn tail (run killed or still writing) or damage
            out.truncated = True
            out.problems.append(_tail_problem(data, pos))
            pending = None
            break
        out.problems.append(_damage_problem(data, pos, resume, pending is not None))
        pending = None
        pos = resume
    if pending is not None:
        out.truncated = True
        out.problems.append("last record incomplete (FIRST chunk without LAST)")
    return out


def _damage_problem(data: bytes, pos: int, resume: int, in_record: bool) -> str:
    lost = "its record" if not in_record else "the record it belonged to"
    _, length, kind = struct.unpack_from("<IHB", data, pos)
    if kind in (FULL, FIRST, MIDDLE, LAST) and pos + CHUNK_HEADER + length == resume:
        return f"bad CRC in chunk at byte {pos}; {lost} skipped"
    return f"damaged chunk at byte {pos}; {lost} and {resume - pos} bytes skipped, resynchronised at byte {resume}"


def _tail_problem(data: bytes, pos: int) -> str:
    left = len(data) - pos
    if left < CHUNK_HEADER:
        return f"truncated chunk header at byte {pos}"
    _, length, kind = struct.unpack_from("<IHB", data, pos)
    if kind in (FULL, FIRST, MIDDLE, LAST) and pos + CHUNK_HEADER + length > len(data):
        return f"truncated record at byte {pos} (needs {length} bytes, {left - CHUNK_HEADER} left)"
    return f"damaged chunk at byte {pos}; nothing readable in the {left} bytes after it"


def _all_zero(data: bytes, start: int, stop: int) -> bool:
    return not np.frombuffer(data, np.uint8, stop - start, start).any()


# Candidate offsets are screened this many bytes at a time (growing), so a resync that finds its
# chunk a few bytes on (the usual case) does not pay for screening the rest of the file.
_SCAN_FIRST, _SCAN_MAX = 1 << 12, 1 << 20


def next_chunk(data: bytes, begin: int) -> int | None:
    """The first offset >= `begin` where a whole chunk with a good CRC starts, or None.

    Offsets are screened with numpy before any CRC is computed: the type byte must be FULL, FIRST,
    MIDDLE or LAST and the length must fit in a block and in the file, which rules out ~99% of
    random offsets and every offset in a run of zeros (type 0). A random 32-bit CRC matches by
    chance once in 4 billion candidates, so a false resync is practically impossible.
    """
    size = len(data)
    last = size - CHUNK_HEADER  # the last offset a chunk (empty payload) can start at
    arr = np.frombuffer(data, np.uint8)
    pos, window = begin, _SCAN_FIRST
    while pos <= last:
        stop = min(last + 1, pos + window)
        typed = pos + np.flatnonzero(arr[pos + 6:stop + 6] - np.uint8(FULL) < np.uint8(LAST))  # kind 1..4
        lengths = arr[typed + 4].astype(np.int64) | (arr[typed + 5].astype(np.int64) << 8)
        plausible = typed[(lengths <= BLOCK - CHUNK_HEADER) & (typed + CHUNK_HEADER + lengths <= size)]
        for cand in plausible.tolist():
            if _chunk_end(data, cand) is not None:
                return cand
        pos, window = stop, min(window * 2, _SCAN_MAX)
    return None


def _take_chunk(out: Framing, kind: int, payload: bytes, pending: list[bytes] | None, pos: int):
    if kind == FULL:
        if pending is not None:
            out.problems.append(f"record cut short before byte {pos}; skipped")
        out.records.append(payload)
        return None
    if kind == FIRST:
        if pending is not None:
            out.problems.append(f"record cut short before byte {pos}; skipped")
        return [payload]
    if pending is None:  # MIDDLE/LAST without FIRST: its start was lost
        return None
    pending.append(payload)
    if kind == LAST:
        out.records.append(b"".join(pending))
        return None
    return pending


# ----------------------------------------------------------------------------- protobuf wire format


class WireError(ValueError):
    """A protobuf message that does not parse (corrupt bytes that passed the CRC, or a bug)."""


def _varint(buf: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(buf):
            raise WireError("varint runs past the end")
        byte = buf[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7
        if shift > 63:
            raise WireError("varint too long")


def fields(buf: bytes) -> Iterator[tuple[int, int, Any]]:
    """(field number, wire type, value) of one message: int for varint, bytes otherwise."""
    pos = 0
    while pos < len(buf):
        key, pos = _varint(buf, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _varint(buf, pos)
        elif wire == 1:
            value, pos = buf[pos:pos + 8], pos + 8
        elif wire == 2:
            length, pos = _varint(buf, pos)
            value, pos = buf[pos:pos + length], pos + length
        elif wire == 5:
            value, pos = buf[pos:pos + 4], pos + 4
        else:
            raise WireError(f"unsupported wire type {wire}")
        if pos > len(buf):
            raise WireError("field runs past the end")
        yield number, wire, value


def _text(value: bytes) -> str:
    return value.decode("utf-8", errors="replace")


def _zigzag(n: int) -> int:
    return (n >> 1) ^ -(n & 1)


def decode_item(buf: bytes) -> tuple[str, Any]:
    """A HistoryItem / ConfigItem / SummaryItem: (key, value) with value_json decoded.

    key = `key`, or the `nested_key` parts joined with "." (wandb 0.31 writes nested_key only).
    value = value_json (with NaN/Infinity tokens) or the newer typed oneof fields.
    """
    key, nested, value, have = "", [], None, False
    for number, wire, raw in fields(buf):
        if number == 1 and wire == 2:
            key = _text(raw)
        elif number == 2 and wire == 2:
            nested.append(_text(raw))
        elif number == 16 and wire == 2:
            value, have = _json_value(raw), True
        elif not have:
            value, have = _typed_value(number, wire, raw)
    return (key or ".".join(nested)), value


def _typed_value(number: int, wire: int, raw: Any) -> tuple[Any, bool]:
    if number == 4 and wire == 0:
        return bool(raw), True
    if number == 5 and wire == 0:
        return _zigzag(raw), True
    if number == 6 and wire == 1 and len(raw) == 8:
        return struct.unpack("<d", raw)[0], True
    if number == 7 and wire == 2:
        return _text(raw), True
    if number == 8 and wire == 2:
        return _json_value(raw), True
    return None, False


def _json_value(raw: bytes) -> Any:
    """One item's JSON value; a damaged or 100,000-deep one is None (that value lost, not the row)."""
    try:
        return json.loads(_text(raw))
    except (ValueError, RecursionError):
        return None


def decode_history(buf: bytes) -> tuple[dict[str, Any], int | None]:
    """A HistoryRecord: its items as a row dict, and `step.num` when set."""
    row: dict[str, Any] = {}
    step = None
    for number, wire, raw in fields(buf):
        if number == 1 and wire == 2:
            key, value = decode_item(raw)
            row[key] = value
        elif number == 2 and wire == 2:
            step = 0
            for n, w, v in fields(raw):
                if n == 1 and w == 0:
                    step = v
    return row, step


def decode_config(buf: bytes) -> dict[str, Any]:
    """A ConfigRecord (or SummaryRecord): its `update` items as a dict."""
    out = {}
    for number, wire, raw in fields(buf):
        if number == 1 and wire == 2:
            key, value = decode_item(raw)
            out[key] = value
    return out


def decode_run(buf: bytes) -> dict[str, Any]:
    """The RunRecord fields advisor shows: id, project, display name, start time, config."""
    info: dict[str, Any] = {"config": {}}
    names = {1: "run_id", 2: "entity", 3: "project", 6: "group", 7: "job_type", 8: "display_name"}
    for number, wire, raw in fields(buf):
        if number in names and wire == 2:
            info[names[number]] = _text(raw)
        elif number == 4 and wire == 2:
            info["config"] = decode_config(raw)
        elif number == 17 and wire == 2:
            info["start_time"] = _timestamp(raw)
    return info


def _timestamp(buf: bytes) -> float:
    seconds = nanos = 0
    for number, wire, raw in fields(buf):
        if number == 1 and wire == 0:
            seconds = raw
        elif number == 2 and wire == 0:
            nanos = raw
    return seconds + nanos / 1e9


def decode_header_version(buf: bytes) -> str | None:
    """HeaderRecord.version_info.producer, e.g. "0.22.2+9e9276d…" -> "0.22.2"."""
    for number, wire, raw in fields(buf):
        if number == 1 and wire == 2:
            for n, w, v in fields(raw):
                if n == 1 and w == 2:
                    return _text(v).split("+", 1)[0]
    return None


# ----------------------------------------------------------------------------- whole file


@dataclass
class WandbLog:
    """What one `.wandb` file holds, as plain Python data."""

    rows: list[tuple[dict[str, Any], int | None]] = field(default_factory=list)  # (history row, step)
    run: dict[str, Any] = field(default_factory=dict)
    config: dict[str, Any] = field(default_factory=dict)
    summary: dict[str, Any] = field(default_factory=dict)
    version: str | None = None
    exit_code: int | None = None
    records: int = 0
    problems: list[str] = field(default_factory=list)
    truncated: bool = False


def read_wandb_bytes(data: bytes) -> WandbLog:
    """Decode every readable record; undecodable ones are counted as one problem line."""
    framing = split_records(data)
    log = WandbLog(problems=list(framing.problems), truncated=framing.truncated, records=len(framing.records))
    undecodable = 0
    for record in framing.records:
        try:
            _apply_record(log, record)
        except (WireError, ValueError, UnicodeDecodeError, struct.error, IndexError, RecursionError, OverflowError):
            undecodable += 1
    if undecodable:
        log.problems.append(f"{undecodable} record(s) could not be decoded and were skipped")
    return log


def _apply_record(log: WandbLog, record: bytes) -> None:
    for number, wire, raw in fields(record):
        if wire != 2:
            continue
        if number == REC_HISTORY:
            log.rows.append(decode_history(raw))
        elif number == REC_RUN:
            info = decode_run(raw)
            log.config.update(info.pop("config"))
            log.run.update(info)
        elif number == REC_CONFIG:
            log.config.update(decode_config(raw))
        elif number == REC_SUMMARY:
            log.summary.update(decode_config(raw))
        elif number == REC_HEADER:
            log.version = decode_header_version(raw) or log.version
        elif number == REC_EXIT:
            log.exit_code = _exit_code(raw)


def _exit_code(buf: bytes) -> int | None:
    for number, wire, raw in fields(buf):
        if number == 1 and wire == 0:
            return raw - (1 << 64) if raw >= 1 << 63 else raw
    return 0


def finite_or_token(value: Any) -> float | None:
    """A history value as float (NaN/inf kept); None for strings, media dicts, lists, bools."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, float):
        return value
    if isinstance(value, int):
        return float(value) if -(2**1023) < value < 2**1023 else (math.inf if value > 0 else -math.inf)
    if isinstance(value, str) and value in ("NaN", "Infinity", "-Infinity"):
        return {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}[value]
    return None
