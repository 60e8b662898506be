"""From the decoded files of one TensorBoard run to one `Series` per tag, restarts resolved.

Restart rule (FORMATS.md 1.7, advisor's choice): files are taken in order; when a later file's
first step for a tag is <= the largest step already seen for that tag, the training was resumed
from a checkpoint, so the later file wins: earlier points of that tag with step >= the later
file's first step are dropped, and a `{"kind": "restart", ...}` event says where and how many.
Duplicate steps inside one file are kept as logged (a later stage resolves them).

A run read from one file keeps its points in a single tag-sorted block of arrays and each Series
is a view into it: no per-tag copies, so peak memory stays near the size of the final arrays.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from advisor.model import Series


def series_by_tag(decoded: list, names: list[str]) -> tuple[dict[str, Series], list[dict[str, Any]]]:
    with_data = [fd for fd in decoded if len(fd)]
    if not with_data:
        return {}, []
    if len(with_data) == 1:
        return _single_file(with_data[0], names), []
    return _several_files(with_data, names)


def _tag_groups(tag_id: np.ndarray, n_tags: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Stable order by tag, the [start, end) of each tag's block in it, and tags by first sight."""
    order = np.argsort(tag_id, kind="stable")
    counts = np.bincount(tag_id, minlength=n_tags)
    ends = np.cumsum(counts)
    starts = ends - counts
    present = np.flatnonzero(counts)
    first_seen = order[starts[present]]
    by_first_sight = present[np.argsort(first_seen, kind="stable")]
    return order, np.stack([starts, ends], axis=1), by_first_sight


def _single_file(fd, names: list[str]) -> dict[str, Series]:
    order, bounds, tags = _tag_groups(fd.tag_id, len(names))
    # Reorder one column at a time and drop the unsorted one at once: peak stays ~1 extra column.
    step = fd.step[order]
    fd.step = None
    wall = fd.wall_time[order]
    fd.wall_time = None
    value = fd.value[order]
    fd.value = None
    del order
    series = {}
    for tag in tags.tolist():
        lo, hi = bounds[tag]
        series[names[tag]] = Series(names[tag], step[lo:hi], value[lo:hi], wall[lo:hi])
    return series


def _several_files(with_data: list, names: list[str]) -> tuple[dict[str, Series], list[dict[str, Any]]]:
    segments: dict[int, list[tuple[np.ndarray, np.ndarray, np.ndarray]]] = {}
    first_sight: dict[int, tuple[int, int]] = {}
    events: list[dict[str, Any]] = []
    for file_no, fd in enumerate(with_data):
        order, bounds, tags = _tag_groups(fd.tag_id, len(names))
        restarts: dict[int, dict[str, Any]] = {}
        for rank, tag in enumerate(tags.tolist()):
            lo, hi = bounds[tag]
            idx = order[lo:hi]
            step, wall, value = fd.step[idx], fd.wall_time[idx], fd.value[idx]
            earlier = segments.setdefault(tag, [])
            first_sight.setdefault(tag, (file_no, rank))
            dropped = _cut_earlier(earlier, int(step[0]))
            if dropped is not None:
                event = restarts.setdefault(
                    int(step[0]), {"kind": "restart", "step": int(step[0]), "file": fd.path.name, "tags": [], "dropped": 0}
                )
                event["tags"].append(names[tag])
                event["dropped"] += dropped
            earlier.append((step, wall, value))
        events.extend(restarts[s] for s in sorted(restarts))
    series = {}
    for tag in sorted(segments, key=lambda t: first_sight[t]):
        parts = [p for p in segments[tag] if len(p[0])]
        if not parts:
            continue
        step = np.concatenate([p[0] for p in parts])
        wall = np.concatenate([p[1] for p in parts])
        value = np.concatenate([p[2] for p in parts])
        series[names[tag]] = Series(names[tag], step, value, wall)
    return series, events


def _cut_earlier(earlier: list, first_step: int) -> int | None:
    """Apply the restart rule to a tag's earlier segments in place; points dropped, or None if no restart."""
    seen = [p for p in earlier if len(p[0])]
    if not seen or first_step > max(int(p[0].max()) for p in seen):
        return None
    dropped = 0
    for k, (step, wall, value) in enumerate(earlier):
        keep = step < first_step
        dropped += int(len(step) - keep.sum())
        earlier[k] = (step[keep], wall[keep], value[keep])
    return dropped
