"""From the decoded files of one TensorBoard run to one `Series` per tag, restarts resolved.

Restart rule (FORMATS.md 1.7, advisor's choice): files are taken in order; when a later file's
first step for a tag is <= the largest step already seen for that tag, the training was resumed
from a checkpoint, so the later file wins: earlier points of that tag with step >= the later
file's first step are dropped, and a `{"kind": "restart", ...}` event says where and how many.
Duplicate steps inside one file are kept as logged (a later stage resolves them).

A later file that starts a training over from its beginning (its first step 0, or no further than one
logging interval, where the earlier files of its folder had gone past it) is another training logged into
the same folder (HF's `logging_dir` reused by a notebook's second `trainer.train()`, a second Keras `fit()`
into one log dir): every earlier point of that folder is dropped, not only those from its first step on
(which would splice the earlier training's first steps and untouched tags onto the new one), and the restart
event says `new_training`. The last training is the one read; the reader warns (advisor.ingest.tensorboard).
"""
from __future__ import annotations

from typing import Any

import numpy as np

from advisor.model import Series


def series_by_tag(decoded: list, names: list[str]) -> tuple[dict[str, Series], list[dict[str, Any]]]:
    """Series per tag name, ordered by first sight in the log, plus the restart events."""
    with_data = [fd for fd in decoded if len(fd)]
    if len(with_data) == 1:  # the common case: arrays are handed over as they are
        fd = with_data[0]
        tags = sorted(fd.tags, key=lambda t: fd.tags[t].first_record)
        series = {}
        for tag in tags:
            points = fd.tags.pop(tag)
            series[names[tag]] = Series(names[tag], points.step, points.value, points.wall_time)
        return series, []
    return _several_files(with_data, names)


def _several_files(with_data: list, names: list[str]) -> tuple[dict[str, Series], list[dict[str, Any]]]:
    # tag -> its segments, one per file: (step, wall_time, value, the file's folder)
    segments: dict[int, list[tuple[np.ndarray, np.ndarray, np.ndarray, Any]]] = {}
    first_sight: dict[int, tuple[int, int]] = {}
    events: list[dict[str, Any]] = []
    for file_no, fd in enumerate(with_data):
        restarts: dict[int, dict[str, Any]] = {}
        if _lone_evaluation(fd, segments):
            steps = sorted({int(fd.tags[t].step[0]) for t in fd.tags})
            events.append({"kind": "standalone_eval", "step": steps[0], "file": fd.path.name,
                           "tags": [names[t] for t in fd.tags], "dropped": len(fd.tags),
                           "reason": "one evaluation at a step the training had passed (trainer.evaluate() on a "
                                     "new Trainer logs at step 0): not placed on the curves"})
            continue
        folder = fd.path.parent
        start = _starts_over(fd, segments, folder)
        if start is not None:
            events.append({"kind": "restart", "step": start, "file": fd.path.name, "folder": str(folder),
                           "tags": [names[t] for t in sorted(fd.tags, key=lambda t: fd.tags[t].first_record)],
                           "dropped": _drop_folder(segments, folder), "new_training": True})
        for tag in sorted(fd.tags, key=lambda t: fd.tags[t].first_record):
            points = fd.tags[tag]
            earlier = segments.setdefault(tag, [])
            first_sight.setdefault(tag, (file_no, points.first_record))
            first_step = int(points.step[0])
            dropped = _cut_earlier(earlier, first_step)
            if dropped is not None:
                event = restarts.setdefault(
                    first_step, {"kind": "restart", "step": first_step, "file": fd.path.name, "tags": [], "dropped": 0}
                )
                event["tags"].append(names[tag])
                event["dropped"] += dropped
            earlier.append((points.step, points.wall_time, points.value, folder))
        events.extend(restarts[s] for s in sorted(restarts))
    series = {}
    for tag in sorted(segments, key=lambda t: first_sight[t]):
        parts = [p for p in segments.pop(tag) if len(p[0])]
        if not parts:
            continue
        step, wall, value = (np.concatenate([p[k] for p in parts]) for k in range(3))
        series[names[tag]] = Series(names[tag], step, value, wall)
    return series, events


def _starts_over(fd, segments: dict, folder) -> int | None:
    """The first step of a file that starts a training over from its beginning, else None: a tag of two
    points or more that the folder's earlier files logged past it, starting at step 0 or within its own
    logging interval (the median gap of its steps), at the file's earliest step, and no curve of the file
    going on past the folder's earlier points. A training resumed from a checkpoint starts where the
    checkpoint was, past its first interval (HF: checkpoint step + logging_steps); a one-point tag
    (Lightning's hp_metric placeholder at step 0, a final evaluation) says nothing."""
    starts = {}
    for tag, points in fd.tags.items():
        last = _last_step([p for p in segments.get(tag, []) if p[3] == folder])
        if len(points.step) < 2 or last is None:
            continue
        if int(points.step[0]) > last:
            return None  # a curve that goes on where the earlier files left it (Keras' iteration-axis tags after a
            # second fit() on the same model, whose epoch tags start at 0 again): the same training continued
        starts[tag] = int(points.step[0])
    if not starts:
        return None
    first = min(starts.values())
    earliest = min(int(fd.tags[t].step[0]) for t in fd.tags if len(fd.tags[t].step) >= 2)
    if first > earliest:
        return None  # a curve of the file began before the restarting tags did: not from its beginning
    for tag, step in starts.items():
        gaps = np.diff(np.unique(fd.tags[tag].step))
        if step == first and (first == 0 or (len(gaps) and first <= float(np.median(gaps)))):
            return first
    return None


def _drop_folder(segments: dict, folder) -> int:
    """Empty every segment the files of `folder` left so far; how many points that drops."""
    dropped = 0
    for earlier in segments.values():
        for k, (step, wall, value, where) in enumerate(earlier):
            if where == folder and len(step):
                dropped += len(step)
                earlier[k] = (step[:0], wall[:0], value[:0], where)
    return dropped


def _lone_evaluation(fd, segments: dict) -> bool:
    """Whether a later file holds one point per tag, all at one step that every tag earlier files logged
    had passed: a standalone evaluation (HF's `trainer.evaluate()` from a fresh Trainer writes `eval/loss` at
    global step 0 into the run's folder), not a training resumed from there. Read as a restart, it cut
    every earlier evaluation (a public notebook's three evaluations at steps 3,125-9,375 gave way to one
    point at step 0)."""
    if not fd.tags or any(len(fd.tags[t].step) != 1 for t in fd.tags):
        return False
    steps = {int(fd.tags[t].step[0]) for t in fd.tags}
    if len(steps) != 1:
        return False
    step = steps.pop()
    # (a tag new in this file, as transformers' eval/model_preparation_time, says nothing either way)
    logged = [last for last in (_last_step(segments.get(t, [])) for t in fd.tags) if last is not None]
    return bool(logged) and all(step < last for last in logged)


def _last_step(earlier: list) -> int | None:
    """The highest step a tag's earlier segments hold; None when they hold no point."""
    seen = [p for p in earlier if len(p[0])]
    return max(int(p[0].max()) for p in seen) if seen else None


def _cut_earlier(earlier: list, first_step: int) -> int | None:
    """Apply the restart rule to a tag's earlier segments in place; points dropped, or None if no restart."""
    last = _last_step(earlier)
    if last is None or first_step > last:
        return None
    dropped = 0
    for k, (step, wall, value, folder) in enumerate(earlier):
        keep = step < first_step
        dropped += int(len(step) - keep.sum())
        earlier[k] = (step[keep], wall[keep], value[keep], folder)
    return dropped
