"""Decode the scalars of one TensorBoard event file, fast, without sampling.

Where the time goes in a naive reader is the Python object built per event, not the protobuf
decoding. So events are decoded in three ways:

* the fast path: the event shape torch, tensorboardX, TF1 and most wrappers write for
  `add_scalar` (`wall_time` fixed64, optional `step` varint, `summary{value{tag, simple_value}}`,
  nothing else) is recognised, checked (payload CRC included) and decoded with numpy, a batch of
  records at a time, no Python object per event;
* templates: any other fixed-layout scalar event (TF2/Keras tensor scalars, torch `new_style`)
  is decoded once by the general path below; that record becomes a template, and later records
  whose constant bytes equal it are checked and decoded with numpy the same way;
* the general path: everything else (file version, hparams, images, histograms, graphs,
  multi-value summaries, the first record of each layout) goes through a small protobuf field
  walker that skips the bulky kinds (images, histograms, audio, graphs) by length without
  decoding them, and hands only small tensors to the real protobuf parser.

All three produce the same values: `simple_value` float32 widened exactly to float64, `step`
int64, `wall_time` float64, as TensorBoard's EventAccumulator reports them.
"""
from __future__ import annotations

import mmap
import os
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import google_crc32c
import numpy as np

from advisor import limits

from advisor.ingest import tfrecord

CHUNK_RECORDS = 1 << 15
_MAX_FAST_LEN = 150  # every 1-byte length prefix in the fast shape stays < 128 below this
_MIN_FAST_LEN = 20  # wall_time(9) + summary(2) + value(2) + tag(2) + simple_value(5)
_WORD_MASKS = np.array([(1 << (8 * k)) - 1 for k in range(8)] + [(1 << 64) - 1], dtype=np.uint64)
_HASH_MUL = np.uint64(0x100000001B3)
_F32 = struct.Struct("<f")
_F64 = struct.Struct("<d")

SKIPPED_VALUE_KINDS = {4: "image", 5: "histogram", 6: "audio"}
SKIPPED_EVENT_KINDS = {4: "graph_def", 6: "log_message", 8: "tagged_run_metadata", 9: "meta_graph_def"}


@dataclass
class TagNames:
    """Maps raw tag bytes of one run member to run-level tag ids, renaming as the member requires.

    The same run-level ids are shared by every file of a run, so a Keras `validation/` file and its
    `train/` sibling end up in one id space with their prefixes already applied.
    """

    names: list[str]
    index: dict[str, int]
    rename: Callable[[str], str]
    cache: dict[bytes, int] = field(default_factory=dict)

    def id_of(self, raw: bytes) -> int:
        found = self.cache.get(raw)
        if found is None:
            name = self.rename(raw.decode("utf-8", "replace"))
            found = self.index.get(name)
            if found is None:
                found = len(self.names)
                self.names.append(name)
                self.index[name] = found
            self.cache[raw] = found
        return found


@dataclass
class TagPoints:
    """One tag's points from one file, in log order; `first_record` orders tags by first sight."""

    step: np.ndarray  # int64
    wall_time: np.ndarray  # float64
    value: np.ndarray  # float64
    first_record: int

    def __len__(self) -> int:
        return len(self.step)


@dataclass
class FileScalars:
    """The scalar points of one file, per run-level tag id, plus what the file says about itself."""

    path: Path
    tags: dict[int, TagPoints] = field(default_factory=dict)
    records: int = 0
    file_version: str | None = None
    source_writer: str | None = None
    skipped: dict[str, int] = field(default_factory=dict)  # non-scalar kinds seen, with counts
    hparams: dict[str, Any] = field(default_factory=dict)
    session_status: str | None = None
    session_starts: list[int] = field(default_factory=list)  # steps of SessionLog.START events
    warnings: list[str] = field(default_factory=list)
    truncated: bool = False
    truncated_at: int | None = None  # byte offset of the incomplete last record (a live run's next read starts there)
    size: int = 0  # bytes in the file when it was read

    def __len__(self) -> int:
        return sum(len(points) for points in self.tags.values())


def read_file(path: Path, tags: TagNames, plugin_of_tag: dict[str, str]) -> FileScalars:
    """Every scalar point of one event file. Damage becomes warnings; this never raises on content.

    `plugin_of_tag` carries each tag's plugin name across events and files: TF1 writes a tag's
    metadata only on its first occurrence.
    """
    label = path.name
    with limits.open_regular(path, text_log=False) as handle:  # never a FIFO or device; budgeted
        size = os.fstat(handle.fileno()).st_size
        empty = _empty_result(path)
        empty.size = size
        if size == 0:
            empty.warnings.append(f"{label}: empty file (zero bytes)")
            return empty
        buf = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
    try:
        return decode(buf, path, tags, plugin_of_tag)
    finally:
        try:
            buf.close()
        except BufferError:  # a numpy view outlived an exception; the mapping goes with it
            pass


def _empty_result(path: Path) -> FileScalars:
    return FileScalars(path)


class DecodeState:
    """What decoding learns about a file (its tags, CRC references, record templates), kept from
    one `decode` call to the next when a file is read in pieces as it grows (advisor.live.tail),
    so each piece costs its own records and not the learning again."""

    def __init__(self, tags: TagNames) -> None:
        self.fast = _FastBatches(np.zeros(0, np.uint8), b"", tags)
        self.templates = _Templates(self.fast)


def decode(buf, path: Path, tags: TagNames, plugin_of_tag: dict[str, str],
           state: DecodeState | None = None) -> FileScalars:
    """The scalars of the records in `buf` (bytes or mmap starting at a record boundary)."""
    label = path.name
    framing = tfrecord.frame(buf, label)
    out = _empty_result(path)
    out.size = len(buf)
    out.warnings.extend(framing.warnings)
    out.truncated = framing.truncated_at is not None
    out.truncated_at = framing.truncated_at
    out.records = len(framing)
    if out.records == 0:
        if not framing.warnings:
            out.warnings.append(f"{label}: no records")
        return out
    data = np.frombuffer(buf, dtype=np.uint8)
    state = state or DecodeState(tags)
    fast, templates = state.fast, state.templates
    fast.bind(data, buf)
    collected = _PerTag()
    for first, starts, lengths in framing.chunks(CHUNK_RECORDS):
        done, rest = fast.decode(starts, lengths)
        batches = [] if done is None else [done]
        slow = _SlowPoints()
        pending = rest
        templates.learned_since_match = bool(templates.templates)  # known layouts first, every chunk
        while len(pending):
            if templates.learned_since_match:
                matched, pending = templates.match(starts, lengths, pending)
                batches.extend(matched)
            take, pending = pending[:_GENERAL_BATCH], pending[_GENERAL_BATCH:]
            for rec, start, length in zip(take.tolist(), starts[take].tolist(), lengths[take].tolist()):
                payload = _general_record(buf, rec, start, length, tags, plugin_of_tag, slow, out)
                if payload is not None and _USE_TEMPLATES:
                    templates.learn(payload, slow)
        collected.add_batch(first, *_in_record_order(batches, slow))
    fast.bind(np.zeros(0, np.uint8), b"")  # no view of `buf` may outlive this call (mmap close)
    del fast, data, framing, templates
    out.tags = collected.finish()
    return out


def _in_record_order(batches: list, slow: "_SlowPoints"):
    """One chunk's points from every path (fast, templates, general) as one batch in log order."""
    if slow.rec:
        batches = batches + [
            (
                np.array(slow.rec, dtype=np.int64),
                np.array(slow.tag_id, dtype=np.int32),
                np.array(slow.step, dtype=np.int64),
                np.array(slow.wall, dtype=np.float64),
                np.array(slow.value, dtype=np.float64),
            )
        ]
    if not batches:
        return (np.zeros(0, np.int64),) + _EMPTY_COLUMNS
    if len(batches) == 1:
        return batches[0]
    columns = [np.concatenate(parts) for parts in zip(*batches)]
    order = np.argsort(columns[0], kind="stable")
    return tuple(column[order] for column in columns)


def _general_record(buf, rec: int, start: int, length: int, tags: TagNames, plugin_of_tag, slow, out: FileScalars) -> bytes | None:
    """Decode one record with the field walker; its payload when it decoded cleanly (for templates)."""
    label = out.path.name
    if not tfrecord.payload_ok(buf, start, length):
        out.warnings.append(f"{label}: CRC mismatch in record payload at byte {start}; record skipped")
        return None
    payload = bytes(buf[start + tfrecord.HEADER_BYTES : start + tfrecord.HEADER_BYTES + length])
    slow.trace = _Trace()
    try:
        _walk_event(payload, rec, tags, plugin_of_tag, slow, out)
    except (ValueError, IndexError, struct.error) as exc:
        out.warnings.append(f"{label}: malformed event at byte {start} ({exc}); record skipped")
        return None
    return payload


# ----------------------------------------------------------------------------- fast path


class _FastBatches:
    """Vectorised decoding of the fixed-shape `simple_value` scalar event, one chunk at a time."""

    def __init__(self, data: np.ndarray, buf, tags: TagNames):
        self.tags = tags
        self.bind(data, buf)
        self.crc_flat = tfrecord.crc_tables(_MAX_FAST_LEN).ravel()
        self.known_hash = np.zeros(0, np.uint64)  # tags seen so far, sorted by hash
        self.known_len = np.zeros(0, np.int64)
        self.known_tag = np.zeros(0, np.int64)
        self.known_words = np.zeros((0, 16), np.uint64)
        self.base_known = np.zeros(0, bool)  # per (tag id, payload length): reference CRC found?
        self.base_crc = np.zeros(0, np.uint32)

    def bind(self, data: np.ndarray, buf) -> None:
        """Decode from this buffer; what was learned (tags, CRC references) stays (DecodeState)."""
        self.data = data
        self.buf = buf
        self.size = len(data)
        # Unaligned little-endian views at every byte offset: one gather reads a whole field.
        self.u64 = np.ndarray((max(self.size - 7, 0),), dtype="<u8", buffer=data, strides=(1,))
        self.u32 = np.ndarray((max(self.size - 3, 0),), dtype="<u4", buffer=data, strides=(1,))

    def decode(self, starts: np.ndarray, lengths: np.ndarray):
        """(record index, tag id, step, wall, value) of the fast-shaped records, and the rest's indices."""
        cand = np.flatnonzero((lengths >= _MIN_FAST_LEN) & (lengths < _MAX_FAST_LEN))
        if len(cand) == 0 or self.size < 8:
            return None, np.arange(len(starts))
        p = starts[cand] + tfrecord.HEADER_BYTES
        n = lengths[cand]
        shape = self._shape(p, n)
        if shape is None:
            return None, np.arange(len(starts))
        ok, q, t, step, crc_delta = shape
        keep = np.flatnonzero(ok)
        p, n, q, t, step, crc_delta = p[keep], n[keep], q[keep], t[keep], step[keep], crc_delta[keep]
        rec = cand[keep]
        tag_id, tag_ok = self._tag_ids(q, t)
        crc_ok = self._crc_ok(p, n, tag_id, crc_delta)
        good = tag_ok & crc_ok
        wall = self.u64[p + 1].view(np.float64)[good]
        value = self.u32[q + 7 + t].view(np.float32)[good].astype(np.float64)
        done_mask = np.zeros(len(starts), dtype=bool)
        done_mask[rec[good]] = True
        done = (rec[good], tag_id[good].astype(np.int32), step[good].view(np.int64), wall, value)
        return done, np.flatnonzero(~done_mask)

    def _shape(self, p: np.ndarray, n: np.ndarray):
        """Check the fixed layout byte by byte; return (ok, summary pos, tag len, step, CRC part)."""
        data, last = self.data, self.size - 1
        ok = data[p] == 0x09
        has_step = data[p + 9] == 0x10
        step = np.zeros(len(p), dtype=np.uint64)
        nbytes = np.zeros(len(p), dtype=np.int64)
        crc = np.zeros(len(p), dtype=np.uint32)
        flat = self.crc_flat
        active = has_step.copy()
        for k in range(10):
            if not active.any():
                break
            pos = p + 10 + k
            byte = data[np.minimum(pos, last)]
            sel = np.flatnonzero(active)
            b = byte[sel].astype(np.uint64)
            step[sel] |= (b & np.uint64(0x7F)) << np.uint64(7 * k)
            crc[sel] ^= flat[(n[sel] - 1 - (10 + k)) * 256 + b.astype(np.int64)]
            nbytes[sel] += 1
            active &= byte >= 0x80
        ok &= ~active  # a varint longer than 10 bytes is not a step
        q = p + 9 + np.where(has_step, 1 + nbytes, 0)
        end = p + n
        qq = np.minimum(q, last - 6)
        s1 = data[qq + 1].astype(np.int64)
        s2 = data[qq + 3].astype(np.int64)
        t = data[qq + 5].astype(np.int64)
        ok &= (data[qq] == 0x2A) & (s1 < 128) & (s1 == end - (q + 2))
        ok &= (data[qq + 2] == 0x0A) & (s2 == s1 - 2)
        ok &= (data[qq + 4] == 0x0A) & (t == s2 - 7)
        ok &= data[np.minimum(qq + 6 + t, last)] == 0x15
        if not ok.any():
            return None
        # CRC contributions of the bytes that differ between same-shaped records: wall, value.
        wall_bits = self.u64[np.minimum(p + 1, last - 7)]
        for k in range(8):
            byte = ((wall_bits >> np.uint64(8 * k)) & np.uint64(0xFF)).astype(np.int64)
            crc ^= flat[(n - 1 - (1 + k)) * 256 + byte]
        value_bits = self.u32[np.minimum(end - 4, last - 3)].astype(np.int64)
        for k in range(4):
            byte = (value_bits >> (8 * k)) & 0xFF
            crc ^= flat[(3 - k) * 256 + byte]
        return ok, q, t, step, crc

    def _tag_ids(self, q: np.ndarray, t: np.ndarray):
        """Run-level tag id of each record: hash the tag bytes, then check every byte exactly.

        Known tags are kept sorted by hash across batches, so a batch costs one binary search;
        only tags never seen before go through `_learn`.
        """
        u64, limit = self.u64, len(self.u64) - 1
        start = q + 6
        n_words = int((t.max() + 7) // 8) if len(t) else 0
        words = np.empty((len(q), n_words), dtype=np.uint64)
        h = t.astype(np.uint64) * _HASH_MUL
        for w in range(n_words):
            left = np.clip(t - 8 * w, 0, 8)
            words[:, w] = u64[np.minimum(start + 8 * w, limit)] & _WORD_MASKS[left]
            h = (h ^ words[:, w]) * _HASH_MUL
        pos = self._lookup(h)
        unknown = np.flatnonzero(pos < 0)
        if len(unknown):
            self._learn(h[unknown], start[unknown], t[unknown], words[unknown])
            pos = self._lookup(h)
        exact = self.known_len[pos] == t
        for w in range(n_words):
            exact &= words[:, w] == self.known_words[pos, w]
        return self.known_tag[pos], exact

    def _lookup(self, h: np.ndarray) -> np.ndarray:
        """Index of each hash in the known-tag table, -1 where unknown."""
        if len(self.known_hash) == 0:
            return np.full(len(h), -1, dtype=np.int64)
        pos = np.minimum(np.searchsorted(self.known_hash, h), len(self.known_hash) - 1)
        return np.where(self.known_hash[pos] == h, pos, -1)

    def _learn(self, h: np.ndarray, start: np.ndarray, t: np.ndarray, words: np.ndarray) -> None:
        _, first = np.unique(h, return_index=True)
        padded = np.zeros((len(first), 16), dtype=np.uint64)
        padded[:, : words.shape[1]] = words[first]
        tag_ids = [self.tags.id_of(bytes(self.buf[int(start[i]) : int(start[i]) + int(t[i])])) for i in first.tolist()]
        all_hash = np.concatenate([self.known_hash, h[first]])
        order = np.argsort(all_hash, kind="stable")
        self.known_hash = all_hash[order]
        self.known_len = np.concatenate([self.known_len, t[first]])[order]
        self.known_tag = np.concatenate([self.known_tag, np.array(tag_ids, dtype=np.int64)])[order]
        self.known_words = np.concatenate([self.known_words, padded])[order]

    def _crc_ok(self, p: np.ndarray, n: np.ndarray, tag_id: np.ndarray, delta: np.ndarray) -> np.ndarray:
        """Payload CRC of every record, from one reference CRC per (tag, length) group (linearity).

        The reference of a group is a record whose own CRC was checked with google_crc32c; it
        stays valid for the whole file, since same tag + same length = same constant bytes.
        """
        key = tag_id * _MAX_FAST_LEN + n
        if len(key) and int(key.max()) >= len(self.base_known):
            grown = max(int(key.max()) + 1, 2 * len(self.base_known))
            self.base_known = np.concatenate([self.base_known, np.zeros(grown - len(self.base_known), bool)])
            self.base_crc = np.concatenate([self.base_crc, np.zeros(grown - len(self.base_crc), np.uint32)])
        stored = self.u32[p + n]
        missing = np.flatnonzero(~self.base_known[key])
        if len(missing):
            self._learn_crc_bases(key, missing, p, n, delta, stored)
        crc = self.base_crc[key] ^ delta
        return self.base_known[key] & (tfrecord.mask_crc_array(crc) == stored)

    def _learn_crc_bases(self, key, missing, p, n, delta, stored) -> None:
        for group in np.unique(key[missing]).tolist():
            members = missing[key[missing] == group]
            for rep in members[:4].tolist():  # a damaged first record must not poison the group
                s, length = int(p[rep]), int(n[rep])
                crc = google_crc32c.value(bytes(self.buf[s : s + length]))
                if tfrecord.mask_crc(crc) == int(stored[rep]):
                    self.base_crc[group] = crc ^ int(delta[rep])
                    self.base_known[group] = True
                    break


# ----------------------------------------------------------------------------- templates

_USE_TEMPLATES = True
_GENERAL_BATCH = 64  # records walked one by one between two template passes
_MAX_TEMPLATES = 256


@dataclass
class _Trace:
    """What the field walker saw in one record, to decide whether it can serve as a template."""

    values: int = 0  # summary values in the event
    other: bool = False  # any event field besides wall_time, step, summary
    value_at: tuple[int, int] | None = None  # (offset, 4 or 8) of a self-described float scalar


def _float_location(payload: bytes, span: tuple[int, int]) -> tuple[int, int] | None:
    """Where a DT_FLOAT / DT_DOUBLE scalar's raw little-endian bytes sit in the payload, if simply stored."""
    dtype = None
    found = None
    for number, wire, val in _fields(payload, *span):
        if number == 1 and wire == 0:
            dtype = val
        elif number == 4 and wire == 2:  # tensor_content
            found = (val[0], val[1] - val[0])
        elif number in (5, 6) and wire == 2:  # packed float_val / double_val
            found = (val[0], val[1] - val[0])
        elif number == 5 and wire == 5:  # unpacked float_val
            found = (val, 4)
        elif number == 6 and wire == 1:  # unpacked double_val
            found = (val, 8)
    if found is None or (dtype, found[1]) not in ((1, 4), (2, 8)):
        return None
    return found


class _Layout:
    """Record templates sharing length, step-varint length and value position.

    A template is a record decoded once by the field walker: same layout + same constant bytes
    => same decoding. Only wall time (bytes 1-8), the step varint and the value bytes may
    differ; every other byte is compared (as masked 8-byte words). Templates of one layout share
    their masks, so a batch is matched against all of them at once: hash the masked words, look
    the hash up, then compare every word exactly.
    """

    def __init__(self, length: int, step_bytes: int, value_at: int, value_size: int):
        self.length, self.step_bytes, self.value_at, self.value_size = length, step_bytes, value_at, value_size
        self.variable = np.array(
            list(range(1, 9)) + list(range(10, 10 + step_bytes)) + list(range(value_at, value_at + value_size)), np.int64
        )
        mask = bytearray(b"\xff" * length)
        for pos in self.variable.tolist():
            mask[pos] = 0
        self.word_at = list(range(0, length - 7, 8)) + ([length - 8] if length % 8 else [])
        self.masks = np.array([int.from_bytes(mask[o : o + 8], "little") for o in self.word_at], np.uint64)
        self.words = np.zeros((0, len(self.word_at)), np.uint64)  # one row per template
        self.crc_base = np.zeros(0, np.uint32)  # crc(template) ^ contributions of its variable bytes
        self.tag_id = np.zeros(0, np.int32)
        self.sorted_hash = np.zeros(0, np.uint64)
        self.by_hash = np.zeros(0, np.int64)  # template row of each sorted hash

    def add(self, payload: bytes, crc_base: int, tag_id: int) -> bool:
        row = np.array([int.from_bytes(payload[o : o + 8], "little") for o in self.word_at], np.uint64) & self.masks
        if (self.words == row).all(axis=1).any():
            return False
        self.words = np.vstack([self.words, row])
        self.crc_base = np.append(self.crc_base, np.uint32(crc_base))
        self.tag_id = np.append(self.tag_id, np.int32(tag_id))
        hashes = self._hash(self.words.T)
        self.by_hash = np.argsort(hashes, kind="stable")
        self.sorted_hash = hashes[self.by_hash]
        return True

    @staticmethod
    def _hash(columns) -> np.ndarray:
        h = np.zeros(len(columns[0]), np.uint64)
        for column in columns:
            h = (h ^ column) * _HASH_MUL
        return h


class _Templates:
    """Vectorised decoding of any fixed-layout scalar event (TF2 tensors, torch new_style, ...).

    The field walker decodes the first record of each layout and tag; it becomes a template,
    and later records that fit one (constant bytes, varint shape, payload CRC through the same
    linearity trick as the fast path) are decoded with numpy.
    """

    def __init__(self, fast: "_FastBatches"):
        self.fast = fast
        self.layouts: dict[tuple[int, int, int, int], _Layout] = {}
        self.count = 0
        self.learned_since_match = False

    @property
    def templates(self) -> bool:
        return self.count > 0

    def learn(self, payload: bytes, slow: "_SlowPoints") -> None:
        trace = slow.trace
        n = len(payload)
        if trace.values != 1 or trace.other or trace.value_at is None or not 16 <= n <= 4096:
            return
        if payload[0] != 0x09 or self.count >= _MAX_TEMPLATES:
            return
        step_bytes = 0
        if payload[9] == 0x10:
            while step_bytes < 10 and payload[10 + step_bytes] >= 0x80:
                step_bytes += 1
            step_bytes += 1
            if step_bytes > 10:
                return
        value_at, value_size = trace.value_at
        if value_at < 10 + step_bytes or value_at + value_size > n:
            return
        key = (n, step_bytes, value_at, value_size)
        layout = self.layouts.get(key) or _Layout(*key)
        flat = self.fast.crc_flat
        delta = 0
        for pos in layout.variable.tolist():
            delta ^= int(flat[(n - 1 - pos) * 256 + payload[pos]])
        if layout.add(payload, google_crc32c.value(payload) ^ delta, slow.tag_id[-1]):
            self.layouts[key] = layout
            self.count += 1
            self.learned_since_match = True

    def match(self, starts: np.ndarray, lengths: np.ndarray, pending: np.ndarray):
        """Decode the pending records that fit a template; (batches, records still pending)."""
        self.learned_since_match = False
        batches = []
        left = np.ones(len(pending), dtype=bool)
        pending_lengths = lengths[pending]
        for layout in self.layouts.values():
            which = np.flatnonzero(left & (pending_lengths == layout.length))
            if len(which) == 0:
                continue
            p = starts[pending[which]] + tfrecord.HEADER_BYTES
            row, ok = self._fits(layout, p)
            which, p, row = which[ok], p[ok], row[ok]
            if len(which) == 0:
                continue
            left[which] = False
            batches.append(self._decode(layout, pending[which], p, row))
        return batches, pending[left]

    def _fits(self, layout: _Layout, p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(template row of each record, does the record fit it exactly, CRC included)."""
        fast = self.fast
        columns = [fast.u64[p + at] & mask for at, mask in zip(layout.word_at, layout.masks)]
        h = _Layout._hash(columns)
        pos = np.minimum(np.searchsorted(layout.sorted_hash, h), len(layout.sorted_hash) - 1)
        ok = layout.sorted_hash[pos] == h
        row = layout.by_hash[pos]
        for k, column in enumerate(columns):
            ok &= column == layout.words[row, k]
        for k in range(layout.step_bytes):
            byte = fast.data[p + 10 + k]
            ok &= (byte >= 0x80) if k < layout.step_bytes - 1 else (byte < 0x80)
        if not ok.any():
            return row, ok
        n = layout.length
        crc = layout.crc_base[row]
        for pos in layout.variable.tolist():
            crc = crc ^ fast.crc_flat[(n - 1 - pos) * 256 + fast.data[p + pos].astype(np.int64)]
        return row, ok & (tfrecord.mask_crc_array(crc) == fast.u32[p + n])

    def _decode(self, layout: _Layout, rec: np.ndarray, p: np.ndarray, row: np.ndarray):
        fast = self.fast
        step = np.zeros(len(p), dtype=np.uint64)
        for k in range(layout.step_bytes):
            step |= (fast.data[p + 10 + k].astype(np.uint64) & np.uint64(0x7F)) << np.uint64(7 * k)
        wall = fast.u64[p + 1].view(np.float64)
        if layout.value_size == 4:
            value = fast.u32[p + layout.value_at].view(np.float32).astype(np.float64)
        else:
            value = fast.u64[p + layout.value_at].view(np.float64).copy()
        return rec.astype(np.int64), layout.tag_id[row], step.view(np.int64), wall, value


# ----------------------------------------------------------------------------- general path


class _SlowPoints:
    """Scalar points found by the field walker, with the record each came from (to keep log order)."""

    def __init__(self) -> None:
        self.rec: list[int] = []
        self.tag_id: list[int] = []
        self.step: list[int] = []
        self.wall: list[float] = []
        self.value: list[float] = []
        self.trace = _Trace()

    def add(self, rec: int, tag_id: int, step: int, wall: float, value: float) -> None:
        self.rec.append(rec)
        self.tag_id.append(tag_id)
        self.step.append(step)
        self.wall.append(wall)
        self.value.append(value)


def _varint(buf: bytes, pos: int) -> tuple[int, int]:
    result = 0
    shift = 0
    while True:
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if b < 0x80:
            return result, pos
        shift += 7
        if shift > 63:
            raise ValueError("varint too long")


def _fields(buf: bytes, pos: int, end: int):
    """(field number, wire type, value or (start, end)) for each field of one message."""
    while pos < end:
        key, pos = _varint(buf, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _varint(buf, pos)
            yield number, wire, value
        elif wire == 1:
            if pos + 8 > end:
                raise ValueError("fixed64 past end of message")
            yield number, wire, pos
            pos += 8
        elif wire == 2:
            length, pos = _varint(buf, pos)
            if pos + length > end:
                raise ValueError("length-delimited field past end of message")
            yield number, wire, (pos, pos + length)
            pos += length
        elif wire == 5:
            if pos + 4 > end:
                raise ValueError("fixed32 past end of message")
            yield number, wire, pos
            pos += 4
        else:
            raise ValueError(f"unsupported wire type {wire}")


def _signed64(value: int) -> int:
    return value - (1 << 64) if value >= 1 << 63 else value


def _walk_event(payload: bytes, rec: int, tags: TagNames, plugin_of_tag: dict[str, str], slow: _SlowPoints, out: FileScalars) -> None:
    wall = 0.0
    step = 0
    summary = None
    for number, wire, val in _fields(payload, 0, len(payload)):
        if number == 1 and wire == 1:
            wall = _F64.unpack_from(payload, val)[0]
        elif number == 2 and wire == 0:
            step = _signed64(val)
        elif number == 3 and wire == 2:
            out.file_version = payload[val[0] : val[1]].decode("utf-8", "replace")
        elif number == 5 and wire == 2:
            summary = val
        elif number == 7 and wire == 2:
            _session_log(payload, val, out)
            if out.session_status == "START":
                out.session_starts.append(step)
        elif number == 10 and wire == 2:
            for n2, w2, v2 in _fields(payload, *val):
                if n2 == 1 and w2 == 2:
                    out.source_writer = payload[v2[0] : v2[1]].decode("utf-8", "replace")
        elif number in SKIPPED_EVENT_KINDS:
            kind = SKIPPED_EVENT_KINDS[number]
            out.skipped[kind] = out.skipped.get(kind, 0) + 1
        if number not in (1, 2, 5):
            slow.trace.other = True
    if summary is not None:
        for number, wire, val in _fields(payload, *summary):
            if number == 1 and wire == 2:
                _walk_value(payload, val, rec, step, wall, tags, plugin_of_tag, slow, out)


def _session_log(payload: bytes, span: tuple[int, int], out: FileScalars) -> None:
    names = {1: "START", 2: "STOP", 3: "CHECKPOINT"}
    status = 0
    for number, wire, val in _fields(payload, *span):
        if number == 1 and wire == 0:
            status = val
    out.session_status = names.get(status, out.session_status)
    out.skipped["session_log"] = out.skipped.get("session_log", 0) + 1


def _walk_value(payload, span, rec, step, wall, tags: TagNames, plugin_of_tag, slow: _SlowPoints, out: FileScalars) -> None:
    raw_tag = b""
    simple = None
    tensor = None
    metadata = None
    skipped_kind = None
    for number, wire, val in _fields(payload, *span):
        if number == 1 and wire == 2:
            raw_tag = payload[val[0] : val[1]]
        elif number == 2 and wire == 5:
            simple = _F32.unpack_from(payload, val)[0]
            simple_at = val
        elif number == 8 and wire == 2:
            tensor = val
        elif number == 9 and wire == 2:
            metadata = val
        elif number in SKIPPED_VALUE_KINDS:
            skipped_kind = SKIPPED_VALUE_KINDS[number]
    tag = raw_tag.decode("utf-8", "replace")
    plugin = None
    content = b""
    if metadata is not None:
        plugin, content = _plugin_data(payload, metadata)
        if plugin:
            plugin_of_tag[tag] = plugin
    if plugin is None:
        plugin = plugin_of_tag.get(tag)
    slow.trace.values += 1
    if simple is not None:
        slow.add(rec, tags.id_of(raw_tag), step, wall, simple)
        slow.trace.value_at = (simple_at, 4)
        return
    if skipped_kind:
        out.skipped[skipped_kind] = out.skipped.get(skipped_kind, 0) + 1
        return
    if plugin == "hparams":
        _hparams(tag, content, out)
        return
    if tensor is not None and plugin in ("scalars", None, ""):
        value = _tensor_scalar(payload[tensor[0] : tensor[1]], strict_rank=plugin != "scalars")
        if value is not None:
            slow.add(rec, tags.id_of(raw_tag), step, wall, value)
            if metadata is not None:  # self-described: the same bytes always mean a scalar
                slow.trace.value_at = _float_location(payload, tensor)
            return
    kind = plugin or ("tensor" if tensor is not None else "empty value")
    out.skipped[kind] = out.skipped.get(kind, 0) + 1


def _plugin_data(payload: bytes, span: tuple[int, int]) -> tuple[str | None, bytes]:
    for number, wire, val in _fields(payload, *span):
        if number == 1 and wire == 2:
            name = None
            content = b""
            for n2, w2, v2 in _fields(payload, *val):
                if n2 == 1 and w2 == 2:
                    name = payload[v2[0] : v2[1]].decode("utf-8", "replace")
                elif n2 == 2 and w2 == 2:
                    content = payload[v2[0] : v2[1]]
            return name, content
    return None, b""


def _tensor_scalar(raw: bytes, strict_rank: bool) -> float | None:
    """The value of a one-element numeric TensorProto, or None when it is not a numeric scalar.

    Without a `scalars` plugin tag the tensor must be rank-0 (FORMATS.md 1.3); with it, any
    one-element shape is accepted.
    """
    if len(raw) > 256:  # a one-element numeric tensor is a few bytes; big ones are never scalars
        return None
    from google.protobuf.message import DecodeError
    from tensorboard.compat.proto import tensor_pb2

    try:
        tensor = tensor_pb2.TensorProto.FromString(raw)
    except DecodeError as exc:
        raise ValueError(f"bad tensor: {exc}") from None
    dims = [d.size for d in tensor.tensor_shape.dim]
    if dims and (strict_rank or int(np.prod(dims)) != 1):
        return None
    return _tensor_value(tensor)


_CONTENT_DTYPES = {1: "<f4", 2: "<f8", 3: "<i4", 4: "u1", 5: "<i2", 6: "i1", 9: "<i8", 10: "?", 17: "<u2", 19: "<f2", 22: "<u4", 23: "<u8"}


def _tensor_value(tensor) -> float | None:
    dtype = tensor.dtype
    content = tensor.tensor_content
    if dtype == 14:  # bfloat16: the high half of a float32
        if content:
            bits = np.frombuffer(content[:2], "<u2")[0]
        elif tensor.half_val:
            bits = tensor.half_val[0]
        else:
            return None
        return float(np.array([int(bits) << 16], dtype=np.uint32).view(np.float32)[0])
    if content:
        np_dtype = _CONTENT_DTYPES.get(dtype)
        if np_dtype is None or len(content) < np.dtype(np_dtype).itemsize:
            return None
        return float(np.frombuffer(content, np_dtype, count=1)[0])
    if dtype == 1 and tensor.float_val:
        return float(tensor.float_val[0])
    if dtype == 2 and tensor.double_val:
        return float(tensor.double_val[0])
    if dtype in (3, 4, 5, 6, 10, 17) and tensor.int_val:
        return float(tensor.int_val[0])
    if dtype in (9, 23) and tensor.int64_val:
        return float(tensor.int64_val[0])
    if dtype == 19 and tensor.half_val:
        return float(np.array([tensor.half_val[0]], dtype=np.uint16).view(np.float16)[0])
    if dtype in (1, 2, 3, 9, 19) and not content:
        return 0.0 if _all_values_empty(tensor) else None
    return None


def _all_values_empty(tensor) -> bool:
    """A proto3 scalar equal to zero may be written with no value field at all."""
    return not (tensor.float_val or tensor.double_val or tensor.int_val or tensor.int64_val or tensor.half_val)


def _hparams(tag: str, content: bytes, out: FileScalars) -> None:
    if not tag.endswith("session_start_info") and not tag.endswith("session_end_info"):
        return
    from google.protobuf.message import DecodeError
    from tensorboard.plugins.hparams import plugin_data_pb2

    try:
        data = plugin_data_pb2.HParamsPluginData.FromString(content)
    except DecodeError as exc:
        raise ValueError(f"bad hparams block: {exc}") from None
    if data.HasField("session_start_info"):
        for name, value in data.session_start_info.hparams.items():
            kind = value.WhichOneof("kind")
            if kind == "number_value":
                out.hparams[name] = value.number_value
            elif kind == "string_value":
                out.hparams[name] = value.string_value
            elif kind == "bool_value":
                out.hparams[name] = value.bool_value
    if data.HasField("session_end_info"):
        out.skipped["hparams_end"] = out.skipped.get("hparams_end", 0) + 1


# ----------------------------------------------------------------------------- merge


_EMPTY_COLUMNS = (np.zeros(0, np.int32), np.zeros(0, np.int64), np.zeros(0, np.float64), np.zeros(0, np.float64))


class _PerTag:
    """Collects points per tag as they are decoded, so no file-sized unsorted table ever exists.

    Batches arrive in record order and each is split by tag at once (a small stable sort), so
    every tag's pieces are already in log order; at the end each tag's pieces are joined and
    dropped one tag at a time: peak memory is the final arrays plus one tag's worth.
    """

    def __init__(self) -> None:
        self.pieces: dict[int, list[tuple[np.ndarray, np.ndarray, np.ndarray]]] = {}
        self.first_record: dict[int, int] = {}

    def add_batch(self, first: int, rec, tag_id, step, wall, value) -> None:
        if len(rec) == 0:
            return
        small = tag_id.astype(np.uint16) if len(rec) and int(tag_id.max()) < 65536 else tag_id
        order = np.argsort(small, kind="stable")  # 16-bit keys get numpy's radix sort
        tag_sorted = tag_id[order]
        cuts = np.flatnonzero(tag_sorted[1:] != tag_sorted[:-1]) + 1
        lows = np.concatenate(([0], cuts)).tolist()
        highs = np.concatenate((cuts, [len(order)])).tolist()
        for lo, hi in zip(lows, highs):
            idx = order[lo:hi]
            tag = int(tag_sorted[lo])
            if tag not in self.pieces:
                self.pieces[tag] = []
                self.first_record[tag] = first + int(rec[idx[0]])
            self.pieces[tag].append((step[idx], wall[idx], value[idx]))

    def finish(self) -> dict[int, TagPoints]:
        result = {}
        for tag in list(self.pieces):
            pieces = self.pieces.pop(tag)
            if len(pieces) == 1:
                columns = pieces[0]
            else:
                columns = tuple(np.concatenate([p[k] for p in pieces]) for k in range(3))
            del pieces
            result[tag] = TagPoints(columns[0], columns[1], columns[2], self.first_record[tag])
        return result


# ----------------------------------------------------------------------------- claim support

PEEK_BYTES = 4096


def peek_first_tag(path: Path) -> str | None:
    """The tag of the first summary value in the first 4 KiB of a file (None if there is none).

    Used by discovery to recognise `add_scalars` child folders without reading whole files; a
    damaged or foreign prefix simply yields None.
    """
    head = limits.read_head(path, PEEK_BYTES)
    for body, length in tfrecord.scan_prefix(head):
        try:
            tag = _first_value_tag(head, body, body + length)
        except (ValueError, IndexError, struct.error):
            return None
        if tag is not None:
            return tag
    return None


def _first_value_tag(buf: bytes, begin: int, end: int) -> str | None:
    for number, wire, val in _fields(buf, begin, end):
        if number == 5 and wire == 2:
            for n2, w2, v2 in _fields(buf, *val):
                if n2 == 1 and w2 == 2:
                    for n3, w3, v3 in _fields(buf, *v2):
                        if n3 == 1 and w3 == 2:
                            return buf[v3[0] : v3[1]].decode("utf-8", "replace")
    return None
