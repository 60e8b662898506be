"""TFRecord framing of TensorBoard event files: locate every record, check its CRCs, survive damage.

A record is `uint64 length | uint32 masked_crc32c(length) | payload | uint32 masked_crc32c(payload)`.
Framing is inherently sequential (each length says where the next record starts), so this module
keeps the per-record Python work to one `struct` call and one dict lookup, and leaves the payload
CRCs to the caller, which checks whole batches of same-shaped records at once with `crc_deltas`
(see advisor.ingest.tfevents). Damage never raises: a short tail is reported as a live/truncated
record, a bad header CRC makes the framer scan forward to the next offset whose header checks out.
"""
from __future__ import annotations

import struct
from array import array
from dataclasses import dataclass, field

import google_crc32c
import numpy as np

MASK_DELTA = 0xA282EAD8
HEADER_BYTES = 12  # uint64 length + uint32 masked crc of the length
FOOTER_BYTES = 4  # uint32 masked crc of the payload
_HEADER = struct.Struct("<QI")
_U32 = struct.Struct("<I")
# Scan at most this many bytes at once when resynchronising after a corrupt header.
_RESYNC_WINDOW = 1 << 22


def mask_crc(crc: int) -> int:
    """TFRecord's CRC masking (rotate right by 15, add a constant), as TensorFlow writes it."""
    return ((((crc >> 15) | (crc << 17)) & 0xFFFFFFFF) + MASK_DELTA) & 0xFFFFFFFF


def masked_crc(data) -> int:
    return mask_crc(google_crc32c.value(bytes(data)))


def payload_ok(buf, start: int, length: int) -> bool:
    """Does the payload of the record at `start` match its trailing CRC? (one record, C speed)"""
    body = start + HEADER_BYTES
    stored = _U32.unpack_from(buf, body + length)[0]
    return masked_crc(memoryview(buf)[body : body + length]) == stored


@dataclass
class Framing:
    """Where the records of one file are, plus what was wrong with the framing itself.

    Records are kept as the pieces the framer found them in (no file-sized concatenation);
    `chunks` walks them in order, `starts`/`lengths` join them for callers that want one array.
    """

    parts: list[np.ndarray]  # header offsets (int64), in order
    lengths_at: np.ndarray | None  # uint64 view of the data at every byte offset: length = lengths_at[start]
    warnings: list[str] = field(default_factory=list)
    truncated_at: int | None = None  # byte offset of an incomplete last record (live run)

    def __len__(self) -> int:
        return sum(len(p) for p in self.parts)

    @property
    def starts(self) -> np.ndarray:
        return np.concatenate(self.parts) if self.parts else np.zeros(0, np.int64)

    @property
    def lengths(self) -> np.ndarray:
        return self.lengths_at[self.starts].astype(np.int64)

    def chunks(self, size: int):
        """(index of the first record, header offsets, payload lengths) for batches of `size` records."""
        first = 0
        pending: list[np.ndarray] = []
        count = 0
        for starts in self.parts:
            lo = 0
            while lo < len(starts):
                take = min(size - count, len(starts) - lo)
                pending.append(starts[lo : lo + take])
                count += take
                lo += take
                if count == size:
                    yield first, *self._with_lengths(pending)
                    first += count
                    pending, count = [], 0
        if count:
            yield first, *self._with_lengths(pending)

    def _with_lengths(self, pieces: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        starts = pieces[0] if len(pieces) == 1 else np.concatenate(pieces)
        return starts, self.lengths_at[starts].astype(np.int64)


def frame(buf, label: str) -> Framing:
    """Every record of `buf` (bytes or mmap) whose header CRC passes and whose bytes are all present.

    `label` names the file in warnings. Payload CRCs are not checked here (see module doc).
    """
    size = len(buf)
    framer = _Framer(buf)
    warnings: list[str] = []
    off = 0
    truncated_at = None
    while True:
        off = framer.run_from(off)
        if off >= size:
            break
        if off + HEADER_BYTES > size or _header_ok(buf, off):
            truncated_at = off
            warnings.append(f"{label}: truncated record at byte {off} (run still being written?)")
            break
        resume = _resync(buf, off + 1)
        if resume is None:
            warnings.append(
                f"{label}: CRC mismatch in record header at byte {off}; no valid record after it, "
                f"{size - off} bytes skipped"
            )
            break
        warnings.append(
            f"{label}: CRC mismatch in record header at byte {off}; resynchronised at byte {resume} "
            f"({resume - off} bytes skipped)"
        )
        off = resume
    return Framing(framer.parts, framer.u64, warnings, truncated_at)


class _Framer:
    """Follows the record chain; where record lengths repeat with a short period, jumps ahead.

    A logger writes the same tags in the same order again and again, so record lengths repeat
    (20 tags -> a period of 20 records). After a short sequential stretch the framer guesses
    that the period continues, computes where the next few thousand records would start, and
    checks at once with numpy that each guessed header holds exactly the guessed length and its
    CRC. The guesses are accepted up to the first mismatch: every accepted record's position
    follows from the verified lengths before it, so the result is the sequential chain, exactly.
    """

    SEQUENTIAL = 64  # records read one by one before each attempt to extrapolate
    MAX_PERIOD = 32
    MAX_GUESS = 1 << 16  # records guessed per numpy round, at most

    def __init__(self, buf):
        self.buf = buf
        self.size = len(buf)
        self.parts: list[np.ndarray] = []  # record header offsets, in order
        self.u64 = None
        self.header_crc_of_length: dict[int, int] = {}  # each length's masked CRC, computed once
        if self.size >= HEADER_BYTES:
            data = np.frombuffer(buf, dtype=np.uint8)
            self.u64 = np.ndarray((self.size - 7,), dtype="<u8", buffer=data, strides=(1,))
            self.u32 = np.ndarray((self.size - 3,), dtype="<u4", buffer=data, strides=(1,))

    def run_from(self, off: int) -> int:
        """Frame from `off` until the end of the data or a record that does not check out."""
        budget = self.SEQUENTIAL
        while True:
            off, recent, stopped = self._sequential(off, budget)
            if stopped:
                return off
            period = _period(recent, self.MAX_PERIOD)
            accepted = 0
            if period:
                accepted, off = self._extrapolate(off, recent[-period:])
            # Irregular files (tags at different rates) stop extrapolating cheaply: read longer runs.
            budget = self.SEQUENTIAL if accepted else min(budget * 2, 1 << 13)

    def _sequential(self, off: int, budget: int) -> tuple[int, list[int], bool]:
        buf, size = self.buf, self.size
        starts = array("q")
        lengths = array("q")
        known = self.header_crc_of_length
        unpack_header = _HEADER.unpack_from
        stopped = True
        for _ in range(budget):
            if off + HEADER_BYTES > size:
                break
            length, stored = unpack_header(buf, off)
            if known.get(length) != stored:
                if masked_crc(buf[off : off + 8]) != stored:
                    break
                known[length] = stored
            end = off + HEADER_BYTES + length + FOOTER_BYTES
            if end > size:
                break
            starts.append(off)
            lengths.append(length)
            off = end
        else:
            stopped = False
        if starts:
            self.parts.append(np.frombuffer(starts, np.int64))
        return off, lengths.tolist(), stopped

    def _extrapolate(self, off: int, pattern: list[int]) -> tuple[int, int]:
        period = len(pattern)
        lengths = np.array(pattern, dtype=np.int64)
        crcs = np.array([self._header_crc(n) for n in pattern], dtype=np.uint32)
        spans = lengths + HEADER_BYTES + FOOTER_BYTES
        within = np.concatenate(([0], np.cumsum(spans)[:-1]))
        block = int(spans.sum())
        blocks = max(1, 256 // period)
        accepted = 0
        while True:
            count = min(blocks, (self.size - off) // block)  # whole blocks that fit in the file
            if count <= 0:
                return accepted, off
            guess = (off + block * np.arange(count, dtype=np.int64)[:, None] + within[None, :]).ravel()
            want = np.tile(lengths, count)
            ok = (self.u64[guess] == want.astype(np.uint64)) & (self.u32[guess + 8] == np.tile(crcs, count))
            bad = np.flatnonzero(~ok)
            good = int(bad[0]) if len(bad) else len(guess)
            if good:
                self.parts.append(guess[:good].copy() if good < len(guess) // 2 else guess[:good])
                accepted += good
            if good < len(guess):
                return accepted, int(guess[good])
            off += count * block
            blocks = min(blocks * 2, self.MAX_GUESS // period + 1)

    def _header_crc(self, length: int) -> int:
        crc = self.header_crc_of_length.get(length)
        if crc is None:
            crc = self.header_crc_of_length[length] = masked_crc(struct.pack("<Q", length))
        return crc


def _period(lengths: list[int], max_period: int) -> int:
    """The shortest period with which the latest records' lengths repeat, or 0 if they do not.

    The last three repetitions (at least 16 records) must agree, not just the last two: a tail
    like `18, 14, 18, 18` would otherwise suggest period 1 and waste a guess, while a stretch
    that started irregularly (the file-version record) must not hide a clean periodic tail.
    """
    for period in range(1, min(max_period, len(lengths) // 2) + 1):
        window = lengths[-max(3 * period, 16) :]
        if window[period:] == window[:-period]:
            return period
    return 0


def scan_prefix(head: bytes, max_records: int = 64) -> list[tuple[int, int]]:
    """(payload start, payload length) of the complete records at the start of `head`.

    For peeking at a file's first KiB during discovery: header CRCs are checked, payloads are
    not (a peek only guides grouping), and it stops at the first record that does not fit.
    """
    found = []
    off = 0
    while len(found) < max_records and off + HEADER_BYTES <= len(head):
        length, stored = _HEADER.unpack_from(head, off)
        end = off + HEADER_BYTES + length + FOOTER_BYTES
        if end > len(head) or masked_crc(head[off : off + 8]) != stored:
            break
        found.append((off + HEADER_BYTES, length))
        off = end
    return found


def _header_ok(buf, off: int) -> bool:
    length, stored = _HEADER.unpack_from(buf, off)
    return masked_crc(buf[off : off + 8]) == stored


def _resync(buf, begin: int) -> int | None:
    """The first offset >= begin that starts a complete record with both CRCs valid, or None.

    Random data passes a 32-bit header CRC about once in 4 billion offsets; requiring the payload
    CRC too makes a false resync practically impossible. Candidates are ruled out with numpy, a
    window at a time, before any offset pays for a CRC in Python: the length must fit in the file,
    the 12 header bytes must not all be zero (a zero length's masked CRC is not zero, so a run of
    zeros, e.g. a preallocated or sparse file, holds no record start), and the stored header CRC
    must equal the masked CRC of the length (computed once per distinct length). So a 1 GiB
    zero-filled file costs O(n) numpy work, not a Python call per byte.
    """
    size = len(buf)
    data = np.frombuffer(buf, dtype=np.uint8)
    last = size - HEADER_BYTES - FOOTER_BYTES  # the last offset a record (empty payload) can start at
    pos = begin
    while pos <= last:
        window = data[pos : pos + _RESYNC_WINDOW] != 0
        first_nonzero = int(np.argmax(window))
        if not window[first_nonzero]:  # a window of zeros: no header can start in it (see above)
            pos += _RESYNC_WINDOW
            continue
        pos = max(pos, pos + first_nonzero - (HEADER_BYTES - 1))
        if pos > last:
            break
        stop = min(last + 1, pos + _RESYNC_WINDOW)
        count = stop - pos
        lengths = np.ndarray((count,), dtype="<u8", buffer=data, offset=pos, strides=(1,))
        stored = np.ndarray((count,), dtype="<u4", buffer=data, offset=pos + 8, strides=(1,))
        room = (last - pos) - np.arange(count, dtype=np.int64)
        plausible = np.flatnonzero((lengths <= room.astype(np.uint64)) & ((lengths != 0) | (stored != 0)))
        if len(plausible) > 64:
            cand = lengths[plausible]
            distinct, which = np.unique(cand, return_inverse=True)
            want = np.fromiter((masked_crc(struct.pack("<Q", int(n))) for n in distinct), np.uint32, len(distinct))
            plausible = plausible[want[which] == stored[plausible]]
        for rel in plausible.tolist():
            cand_off = pos + rel
            if _header_ok(buf, cand_off) and payload_ok(buf, cand_off, int(lengths[rel])):
                return cand_off
        pos = stop
    return None


# ----------------------------------------------------------------------------- batch CRC support


def _crc_byte_tables(max_len: int) -> np.ndarray:
    """T[k, b]: CRC-32C register contribution of byte value b followed by k zero bytes (no init/xor).

    CRC is linear over GF(2): for two payloads of equal length, crc(a) ^ crc(b) = R(a ^ b) where R
    is the raw register map. So a record's CRC can be derived from a same-shaped reference record
    by XOR-ing the contributions of only the bytes that differ (wall time, step, value), which
    numpy does for a whole batch with a handful of table gathers.
    """
    poly = 0x82F63B78
    base = np.arange(256, dtype=np.uint32)
    for _ in range(8):
        base = np.where(base & 1, (base >> 1) ^ poly, base >> 1).astype(np.uint32)
    tables = np.empty((max_len, 256), dtype=np.uint32)
    current = base.copy()
    tables[0] = current
    for k in range(1, max_len):
        current = base[current & 0xFF] ^ (current >> 8)
        tables[k] = current
    return tables


_TABLES: np.ndarray | None = None


def crc_tables(min_len: int) -> np.ndarray:
    """The (lazily grown) table of `_crc_byte_tables`, with at least `min_len` rows."""
    global _TABLES
    if _TABLES is None or len(_TABLES) < min_len:
        _TABLES = _crc_byte_tables(max(256, 1 << (int(min_len) - 1).bit_length()))
    return _TABLES


def mask_crc_array(crc: np.ndarray) -> np.ndarray:
    crc = crc.astype(np.uint32, copy=False)
    return ((crc >> np.uint32(15)) | (crc << np.uint32(17))) + np.uint32(MASK_DELTA)
