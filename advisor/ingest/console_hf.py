"""The dicts that transformers' Trainer prints, read from a console log (advisor.ingest.console's
"hf" grammar).

At each logging step and evaluation the Trainer prints its logs dict (`{'loss': 0.52, 'grad_norm':
1.1, 'learning_rate': 4.9e-05, 'epoch': 0.12}`; since transformers 5 every value is a string,
`'0.52'`) and at the end a summary (`{'train_runtime': ..., 'train_steps_per_second': ...,
'train_loss': <the run's mean>, 'epoch': 4.0}`). A run that saves no checkpoint leaves no
trainer_state.json: its printout is its only log. A dict may follow a bar on the same line (stdout
block-buffered into stderr's bar) or a prefix (`[default0]:` under torchrun, a logging timestamp).

A Trainer dict names no step, only a fractional epoch rounded for print, so the first pass (`axis`)
finds what places the dicts, in this order:
- a counter in the dicts (`step`, `global_step`, `iteration`, `iter`: a loop printing its own dicts);
- the training bar (the bar most often redrawn right after a dict, not a datasets `Map:` bar drawn
  first), when most of its counts right after a dict agree on the steps per epoch: each dict is then
  at that count (the Trainer's bar counts the run's steps; a loop's bar restarting each epoch does
  not, and is no clock);
- the summary's steps (runtime x steps per second, rounded for print) over the epochs of its session
  (after a resume, the summary counts only the resumed steps): the steps per epoch, refined by the
  training dicts' own spacing, which is the logging interval; a training dict (one with the training
  `loss`) sits on a multiple of that interval, as the Trainer logs when global_step % logging_steps
  == 0 (counted on from the dict before where a 4-digit epoch is too coarse), and an evaluation
  printed at the same epoch sits at its step; a crash's trace (`Traceback`, `Killed`) starts a new
  session, whose summary counts only its own steps;
- else whole epochs when every dict sits at one, else the training dict's rank (`x_axis` "row").
Not told apart: a resume that leaves no trace in a bar-less log (a job killed without a word,
restarted from the checkpoint of its last logged step) reads every step at the resumed session's
scale, and two trainings appended to one log read as one run with a restart.

fairseq's `--log-format json` lines are such dicts with a counter (`num_updates`; a validation's
`valid_num_updates`), its epoch means (`| train | {...}`) no points. A loop's own dicts are read the
same way, printed as Python reprs or as JSON objects (`print(json.dumps({"step": s, "loss": l}))`).
Values are parsed as literals or numbers, never evaluated as code: a dict whose text holds a nested dict
or a string with quotes in it goes through `ast.literal_eval` (literals only) or the JSON parser, others
through a bounded pattern. Keys that are no metric (timings, token counts, the summary) are left out.
"""
from __future__ import annotations

import ast
import math
import re
from array import array
from collections import Counter
from dataclasses import dataclass
from typing import Iterable, Iterator

import numpy as np

from advisor.ingest._text import loads_json, parse_float
from advisor.ingest.csv_logs import METRIC_NAME
from advisor.roles import classify

# a number as printed: every repetition bounded (console.py's patterns use it too). A loss that blows up
# printed with `{:.6f}` (pytorch/examples' format) is a run of up to 309 digits before it overflows to inf:
# with at most 30 digits, every point past 1e30 was dropped and the explosion read as a few points
NUMBER = r"[-+]?(?:\d{1,320}(?:\.\d{0,30})?|\.\d{1,30})(?:[eE][-+]?\d{1,4})?|[-+]?(?:nan|inf(?:inity)?)"
# a Python dict's repr (`{'loss': ...`) or a JSON object (`{"loss": ...`, a loop's json.dumps)
DICT_START = re.compile(r"""\{(['"])[\w./ -]{1,80}\1: """)
_PAIR = re.compile(r"""(['"])([\w./ -]{1,80})\1:\s{0,4}['"]?(""" + NUMBER + r""")['"]?\s{0,4}(?=[,}])""", re.IGNORECASE)
TQDM = re.compile(r"\|\s{0,4}(\d{1,12})/(\d{1,12})\s{0,4}\[")  # a TQDM state: `| 40/336 [` (console.py's too)
# num_updates: fairseq's; it: MAE / DeiT-style loops' json.dumps({"train_loss": ..., "it": 5000})
COUNTERS = ("step", "global_step", "iteration", "iter", "it", "num_updates")
# fairseq's `--log-format json`: `... | INFO | train_inner | {"epoch": 1, "loss": "9.86", ..., "num_updates": "100"}`,
# `... | valid | {"epoch": 1, "valid_loss": "7.9", ..., "valid_num_updates": "800", "valid_best_loss": "7.9"}` and the
# epoch's means as `... | train | {"epoch": 1, "train_loss": ...}` (a summary of the train_inner dicts, no point)
FAIRSEQ_PHASE = re.compile(r"\|\s{0,4}([\w-]{1,60})\s{0,4}\|\s{0,4}\{")  # train_inner, train, or a subset
NOT_METRIC = re.compile(r"^epoch$|_runtime$|_per_second$|_time$|^total_flos$|tokens")
SUMMARY = "train_runtime"  # the closing dict: timings and the whole run's mean loss
EVAL_PREFIX = "eval_"
TRAINING_LOSS = "loss"  # the key of the Trainer's every-interval training dict
SESSION_END = re.compile(r"^\s{0,8}(?:Traceback \(most recent call last\)|Killed\b)")  # a crash in the log
BAR_TOL = 0.02  # a bar's count and epoch x steps per epoch agree within 2% of an epoch (or 1 step)
MIN_DICTS = 3  # dicts with a loss, when no summary shows a Trainer: fewer are a printed config
MAX_DICT = 65536  # a longer dict is read by the pattern only
MAX_EPOCH = 1e9  # an epoch beyond this (or below 0, or not finite) places nothing: a corrupt dict
MAX_COUNTER = 2.0**62  # a step counter beyond this would not fit the int64 steps


def _as_float(value: int | float) -> float | None:
    """A literal's number as a float; None for an int beyond the float range (a 400-digit id)."""
    try:
        return float(value)
    except OverflowError:
        return None


def parse(line: str) -> dict[str, float] | None:
    """The numbers of the logs dict in `line`, or None when the line holds none."""
    start = DICT_START.search(line)
    if start is None:
        return None
    text = line[start.start():line.rfind("}") + 1]
    if ('"' in text or text.count("{") > 1) and len(text) <= MAX_DICT:
        try:
            value = loads_json(text) if start.group(1) == '"' else ast.literal_eval(text)
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            value = None
        if isinstance(value, dict):
            out = {}
            for k, v in value.items():
                if isinstance(k, str) and isinstance(v, (int, float, str)) and not isinstance(v, bool):
                    number = parse_float(v) if isinstance(v, str) else _as_float(v)
                    if number is not None:
                        out[k] = number
            return out
    return {k: v for _, k, raw in _PAIR.findall(line, start.start()) for v in [parse_float(raw)] if v is not None}


def items(lines: Iterable[str]) -> Iterator[tuple[str, dict[str, float]]]:
    """("bar", {"n": count, "total": total}) for each TQDM state, ("dict", its numbers) for each logs
    dict and ("end", {}) for a crash's trace (a resumed run's next session follows), in the order
    they appear (a bar before a dict on one line comes first)."""
    for line in lines:
        if SESSION_END.match(line):
            yield "end", {}
            continue
        bar = TQDM.search(line)
        if bar is not None:
            yield "bar", {"n": int(bar.group(1)), "total": int(bar.group(2))}
        found = parse(line) if "{'" in line or '{"' in line else None
        if found:
            phase = FAIRSEQ_PHASE.search(line)
            subset = phase.group(1) if phase else None
            if subset == "train":
                continue  # the epoch's means: the train_inner dicts hold the points
            if subset and f"{subset}_num_updates" in found:
                found = _fairseq_subset(subset, found)
            yield "dict", found


def _fairseq_subset(subset: str, found: dict[str, float]) -> dict[str, float]:
    """A fairseq validation subset's dict (`valid_loss`, `valid2_loss`, ...): its counter as
    `num_updates`, its metrics as val ones (`valid2_loss` would name no split: `val_valid2_loss`), a
    best-so-far value no curve."""
    prefix = subset + "_"
    out = {}
    for key, value in found.items():
        if key.startswith(prefix + "best_"):
            continue
        if key == prefix + "num_updates":
            key = "num_updates"
        elif subset != "valid" and key.startswith(prefix):
            key = "val_" + key
        out[key] = value
    return out


def metrics(found: dict[str, float]) -> dict[str, float]:
    """The metrics of one dict: metric-like names (csv_logs.METRIC_NAME) that are no timing or count."""
    return {k: v for k, v in found.items()
            if METRIC_NAME.search(k) and not NOT_METRIC.search(k) and k not in COUNTERS}


def _position(found: dict[str, float]) -> str | None:
    """The key that places a dict: a counter of its own, else its epoch."""
    return next((k for k in COUNTERS if k in found), "epoch" if "epoch" in found else None)


def _placeable(key: str, position: float) -> bool:
    """Whether a dict's epoch (or step counter) can place it: finite, not negative, not absurd."""
    return math.isfinite(position) and 0 <= position <= (MAX_EPOCH if key == "epoch" else MAX_COUNTER)


def _is_eval(pairs: dict[str, float]) -> bool:
    return any(k.startswith(EVAL_PREFIX) for k in pairs)


def _is_training(pairs: dict[str, float]) -> bool:
    """A dict the Trainer prints once each logging interval: its training `loss` (an extra
    `trainer.log({...})` of a callback, an evaluation's dict are not)."""
    return TRAINING_LOSS in pairs


def looks_like(lines: list[str]) -> int:
    """How many logs dicts with a loss `lines` hold when they read as a Trainer's printout (or a loop's
    dicts with their own counter): MIN_DICTS of them, or one beside the Trainer's summary; else 0 (a
    dict printed once at start-up, `Resumed from checkpoint: {'epoch': 5, ...}`, is no printout, bars
    or not)."""
    dicts, summary = count_dicts(lines)
    return dicts if dicts >= MIN_DICTS or (dicts and summary) else 0


def count_dicts(lines: list[str]) -> tuple[int, bool]:
    """The dicts with a position and a loss `lines` hold, and whether the Trainer's summary is among them."""
    dicts = 0
    summary = False
    for kind, found in items(lines):
        if kind == "bar":
            continue
        if SUMMARY in found:
            summary = True
        elif _position(found) and any(classify(k).kind == "loss" for k in metrics(found)):
            dicts += 1
    return dicts, summary


@dataclass
class Axis:
    """What places the dicts of one log (the first pass, `axis`)."""

    mode: str = "rank"  # "counter" | "bar" | "scale" | "epoch" | "rank"
    per_epoch: float | None = None  # steps per epoch ("bar", "scale")
    total: int | None = None  # the training bar's total ("bar")
    interval: int = 0  # the logging interval training dicts sit on multiples of ("scale"; 0: unknown)
    skipped: int = 0  # dicts at a position that places nothing (nan, negative, beyond MAX_EPOCH)


def axis(lines: Iterable[str]) -> Axis:
    """The hf grammar's first pass: how this log's dicts are placed (the module docstring's order)."""
    after: Counter = Counter()  # the total of the first bar after each training dict
    pairs_after: list[tuple[float, int, int]] = []  # (epoch, count, total) of those bars
    pending = summary = None
    counter = False
    whole = True
    skipped = 0
    session = array("d")  # the epochs of the training dicts since the last restart
    for kind, found in items(lines):
        if kind == "end":
            session, pending = array("d"), None  # a crash: the next session's summary counts only its steps
            continue
        if kind == "bar":
            if pending is not None:
                after[found["total"]] += 1
                pairs_after.append((pending, found["n"], found["total"]))
            pending = None
            continue
        if SUMMARY in found:
            summary = found
            continue
        pairs = metrics(found)
        where = _position(found)
        if not pairs or where is None:
            continue
        if where != "epoch":
            counter = True
            continue
        epoch = found["epoch"]
        if not _placeable("epoch", epoch):
            skipped += 1
            continue
        whole = whole and epoch.is_integer()
        if _is_training(pairs):
            if session and epoch < session[-1]:
                session = array("d")  # a resumed run starts its epochs again
            session.append(epoch)
            pending = epoch if epoch > 0 else None
    if counter:
        return Axis("counter", skipped=skipped)
    if after:
        total = after.most_common(1)[0][0]
        ratios = np.array([n / e for e, n, t in pairs_after if t == total and n > 0])
        if ratios.size:
            per_epoch = float(np.median(ratios))
            if np.mean(np.abs(ratios - per_epoch) <= BAR_TOL * per_epoch) >= 0.5:
                return Axis("bar", per_epoch, total, skipped=skipped)
    scale = _summary_scale(summary, session)
    if scale is not None:
        scale.skipped = skipped
        return scale
    return Axis("epoch" if whole else "rank", skipped=skipped)


def _summary_scale(summary: dict[str, float] | None, session: array) -> Axis | None:
    """Steps per epoch from the summary's steps over its session's epochs, refined by the training
    dicts' spacing (the logging interval), or None when the summary does not give them."""
    if not summary or not summary.get("train_steps_per_second", 0) > 0 or not summary.get("epoch", 0) > 0:
        return None
    steps = summary[SUMMARY] * summary["train_steps_per_second"]
    epochs = np.frombuffer(session, dtype=np.float64) if len(session) else np.zeros(0)
    # (the mean spacing: an epoch printed to 4 digits repeats over the intervals of a long epoch)
    spacing = float(epochs[-1] - epochs[0]) / (epochs.size - 1) if epochs.size >= 2 else 0.0
    # the session began one logging interval before its first dict (a resumed run starts at a
    # checkpoint, saved on a logging step), or at epoch 0
    start = max(float(epochs[0]) - spacing, 0.0) if epochs.size >= 2 and epochs[0] > 1.5 * spacing else 0.0
    span = summary["epoch"] - start
    if not math.isfinite(steps) or span <= 0:
        return None
    per_epoch = steps / span
    interval = int(round(spacing * per_epoch)) if spacing > 0 else 0
    if interval >= 1:
        per_epoch = _fit_per_epoch(epochs, per_epoch, interval)
    return Axis("scale", per_epoch, None, interval)


class _Multiples:
    """Each training dict's step / the logging interval, one dict at a time. Where the printed epoch is
    precise to half an interval: the epoch's estimate (`absolute`, once the steps per epoch are
    fitted), or the dict before's plus the intervals the epochs' difference spans (while fitting:
    robust to a rough steps per epoch). Where it is not (an epoch printed to 4 digits repeats over the
    intervals of a long epoch): one more than the dict before's, as a Trainer logs once an interval,
    unless the estimate is further from that than the print's rounding allows (a dict missing from
    the log). An epoch that goes back (a resumed run) starts from its estimate again."""

    def __init__(self, per_epoch: float, interval: int, absolute: bool = True):
        self.scale = per_epoch / interval
        self.absolute = absolute
        self.last: int | None = None
        self.epoch = 0.0

    def __call__(self, epoch: float) -> int:
        guess = int(round(epoch * self.scale))
        if self.last is None or epoch < self.epoch:
            self.last = guess
        else:
            # the epoch is printed to 4 significant digits (transformers 5) or 2 decimals (4)
            rounding = max(0.5 * 10.0 ** (math.floor(math.log10(epoch)) - 3) if epoch > 0 else 0.0, 0.005)
            tolerance = rounding * self.scale  # in intervals
            if tolerance < 0.5 and self.absolute:
                self.last = guess
            elif tolerance < 0.5:
                self.last += max(1, int(round((epoch - self.epoch) * self.scale)))
            else:
                # (half an interval more: the estimate is itself rounded to a whole interval)
                counted = self.last + 1
                self.last = counted if abs(guess - counted) <= tolerance + 0.5 else guess
        self.epoch = epoch
        return self.last


def _fit_per_epoch(epochs: np.ndarray, rough: float, interval: int) -> float:
    """Steps per epoch fitted to the training dicts, each at a multiple of the logging interval
    (`_Multiples`): epoch = multiple x interval / steps per epoch, by least squares through 0. A first
    dict at step 1 (logging_first_step) is multiple 0 and weighs nothing."""
    count = _Multiples(rough, interval, absolute=False)
    multiples = np.array([count(e) for e in epochs.tolist()], dtype=np.float64)
    weight = float(np.dot(multiples, epochs))
    return interval * float(np.dot(multiples, multiples)) / weight if weight > 0 else rough


def records(lines: Iterable[str], where: Axis) -> Iterator[tuple[int, dict[str, float]]]:
    """(step, metrics) of every dict, placed by `where` (from `axis`); the summary and a dict at a
    non-finite position are left out."""
    held: tuple[float, dict[str, float]] | None = None
    rank = 0

    def session_count() -> _Multiples:  # counted afresh from each session's first training dict
        return _Multiples(where.per_epoch or 1.0, where.interval or 1)

    counting = session_count()
    last_training = (math.nan, 0)  # (epoch, step) of the last training dict placed by "scale"

    def place(epoch: float, pairs: dict[str, float], n: int | None) -> int:
        if where.mode == "bar":
            guess = epoch * where.per_epoch
            return n if n is not None and abs(n - guess) <= max(1.0, BAR_TOL * where.per_epoch) else int(round(guess))
        if where.mode == "scale":
            nonlocal last_training
            if where.interval and _is_training(pairs):
                multiple = counting(epoch)
                # (multiple 0: a first dict at step 1, logging_first_step)
                x = multiple * where.interval if multiple else int(round(epoch * where.per_epoch))
                last_training = (epoch, x)
                return x
            if _is_eval(pairs) and epoch == last_training[0]:
                return last_training[1]  # an evaluation at the logging step just printed
            return int(round(epoch * where.per_epoch))
        return int(round(epoch)) if where.mode == "epoch" else rank

    for kind, found in items(lines):
        if kind == "bar":
            if held is not None and found["total"] == where.total:
                yield place(held[0], held[1], found["n"]), held[1]
                held = None
            continue
        if held is not None:
            yield place(held[0], held[1], None), held[1]
            held = None
        if kind == "end":
            counting = session_count()
            continue
        pairs = metrics(found)
        key = _position(found)
        if SUMMARY in found or not pairs or key is None:
            continue
        position = found[key]
        if not _placeable(key, position):
            continue
        if where.mode == "counter":
            if key != "epoch":
                yield int(position), pairs
            continue
        rank += _is_training(pairs)
        if where.mode == "bar":
            held = (position, pairs)
        else:
            yield place(position, pairs, None), pairs
    if held is not None:
        yield place(held[0], held[1], None), held[1]


__all__ = ["Axis", "axis", "records", "looks_like", "parse", "items", "metrics"]
