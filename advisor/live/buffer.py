"""Columns that grow by appending, without copying the whole history at every append.

A live run gains a few points per poll for hours; rebuilding its arrays with `np.concatenate` at
every poll would cost the square of its length. A column doubles its capacity when full (like a
Python list) and hands out views of the filled part, so `Series` are built without a copy.
"""
from __future__ import annotations

import numpy as np


class Column:
    """An append-only numpy array; `view()` is the filled part (valid until the next append)."""

    __slots__ = ("data", "size")

    def __init__(self, dtype, capacity: int = 64) -> None:
        self.data = np.empty(capacity, dtype=dtype)
        self.size = 0

    def extend(self, values) -> None:
        values = np.asarray(values, dtype=self.data.dtype)
        need = self.size + len(values)
        if need > len(self.data):
            grown = np.empty(max(need, 2 * len(self.data)), dtype=self.data.dtype)
            grown[: self.size] = self.data[: self.size]
            self.data = grown
        self.data[self.size : need] = values
        self.size = need

    def append(self, value) -> None:
        if self.size == len(self.data):
            self.extend((value,))
            return
        self.data[self.size] = value
        self.size += 1

    def view(self) -> np.ndarray:
        return self.data[: self.size]

    def __len__(self) -> int:
        return self.size


class Points:
    """One tag's (step, wall_time, value) columns, plus when the tag was first seen."""

    __slots__ = ("step", "wall_time", "value", "first_record")

    def __init__(self, first_record: int = 0) -> None:
        self.step = Column(np.int64)
        self.wall_time = Column(np.float64)
        self.value = Column(np.float64)
        self.first_record = first_record

    def extend(self, step, wall_time, value) -> None:
        self.step.extend(step)
        self.wall_time.extend(wall_time)
        self.value.extend(value)

    def append(self, step: int, wall_time: float, value: float) -> None:
        self.step.append(step)
        self.wall_time.append(wall_time)
        self.value.append(value)

    def __len__(self) -> int:
        return self.step.size
