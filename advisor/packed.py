"""A sweep's run reports kept packed (one compressed pickle each) until a renderer reads them.

Why: once a run is diagnosed, a report for the text formats (text, JSON, Markdown, JUnit,
GitHub, SARIF) is its findings and metadata, ~2.5 KB pickled, but ~13 KB as live Python objects
(dataclasses, dicts, strings, floats). At 100,000 runs that is the difference between ~0.1 GB
and ~1.3 GB in the parent process. The reports are packed in the worker that diagnosed them
(what the executor pickles to send back anyway, so packing costs the worker nothing extra and
the parent never builds the objects), and unpacked one at a time as a renderer walks them.

`PackedReports` is a read-only sequence of RunReport: `len`, indexing, slicing and iteration
work as on the list a small diagnosis holds, so every renderer and the gate read it unchanged.
Each access unpacks a fresh copy: changing a report read from it changes nothing (a diagnosis
that needs its reports mutated, like the baseline comparison, keeps them unpacked).
"""
from __future__ import annotations

import pickle
import zlib
from collections.abc import Sequence
from typing import Any, Callable, Iterable, Iterator

from advisor.model import RunReport

# zlib level 1: ~2.5x smaller than the pickle for ~10 µs a report (level 6 saves ~10% more
# for ~3x the time).
LEVEL = 1


def pack(report: RunReport) -> bytes:
    return zlib.compress(pickle.dumps(report, protocol=pickle.HIGHEST_PROTOCOL), LEVEL)


def unpack(blob: bytes) -> RunReport:
    return pickle.loads(zlib.decompress(blob))


class PackedReports(Sequence):
    """Run reports as packed blobs, in order; see the module docstring."""

    __slots__ = ("_blobs",)

    def __init__(self, blobs: Iterable[bytes] = ()):
        self._blobs = list(blobs)

    def __len__(self) -> int:
        return len(self._blobs)

    def __getitem__(self, index):
        if isinstance(index, slice):
            return PackedReports(self._blobs[index])
        return unpack(self._blobs[index])

    def __iter__(self) -> Iterator[RunReport]:
        return map(unpack, self._blobs)

    def __repr__(self) -> str:
        return f"PackedReports({len(self._blobs)} reports, {self.nbytes:,} bytes)"

    @property
    def nbytes(self) -> int:
        """The packed size of all reports (what they cost here, besides the list)."""
        return sum(len(b) for b in self._blobs)

    def sorted_by(self, key: Callable[[RunReport], Any]) -> "PackedReports":
        """A stable sort, like `sorted(self, key=key)`, that holds the keys, not the reports."""
        keys = [key(r) for r in self]
        order = sorted(range(len(keys)), key=keys.__getitem__)
        return PackedReports(self._blobs[i] for i in order)
