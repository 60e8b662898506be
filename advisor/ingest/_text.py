"""Helpers shared by the text-based ingesters (CSV, W&B, HF Trainer, MLflow).

They live in one place so every reader treats the same oddities the same way: YAML with Python
object tags, JSON with `NaN`/`Infinity` tokens, nested configs flattened to dotted keys, and
points collected per tag in log order before they become numpy-backed `Series`.
"""
from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any, Iterable

import numpy as np

from advisor.model import IngestError, Series

SNIFF_BYTES = 16384  # claim() never reads more than this much of a file


def read_head(path: Path, size: int = SNIFF_BYTES) -> bytes:
    """The first bytes of a file for sniffing; empty on any OS error (claim must never raise)."""
    try:
        with open(path, "rb") as fh:
            return fh.read(size)
    except OSError:
        return b""


def head_text(path: Path, size: int = SNIFF_BYTES) -> str:
    """`read_head` decoded leniently, BOM removed, for header sniffing."""
    return read_head(path, size).decode("utf-8", errors="replace").lstrip("\ufeff")


def read_text(path: Path) -> str:
    """A whole text file; IngestError (one line) when it cannot be opened at all."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise IngestError(f"{path}: cannot read ({exc.strerror or exc})") from None
    return data.decode("utf-8", errors="replace").lstrip("\ufeff")


# ----------------------------------------------------------------------------- numbers


def as_number(value: Any) -> float | None:
    """A logged value as float when it is a plain number (bools and strings are not metrics)."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):
        return float(value)
    return None


_FLOAT_WORDS = {"nan": math.nan, "inf": math.inf, "+inf": math.inf, "-inf": -math.inf,
                "infinity": math.inf, "+infinity": math.inf, "-infinity": -math.inf}


def parse_float(text: str) -> float | None:
    """A number written as text (also `nan`, `inf`, `Infinity`); None when it is not one."""
    text = text.strip()
    try:
        return float(text)
    except ValueError:
        return _FLOAT_WORDS.get(text.lower())


def integral_step(value: float) -> int | None:
    """A step value as int when it is a finite whole number, else None."""
    if value is None or not math.isfinite(value) or value != int(value):
        return None
    return int(value)


def parse_scalar_text(text: str) -> Any:
    """A parameter written as text (MLflow params) back to int/float/bool/None where it is one."""
    stripped = text.strip()
    lowered = stripped.lower()
    if lowered in {"true", "false"}:
        return lowered == "true"
    if lowered in {"none", "null"}:
        return None
    if re.fullmatch(r"[+-]?\d+", stripped):
        return int(stripped)
    number = parse_float(stripped)
    if number is not None and lowered not in _FLOAT_WORDS:
        return number
    return text


# ----------------------------------------------------------------------------- structured text


def loads_json(text: str) -> Any:
    """JSON that may hold Python's `NaN`/`Infinity` tokens (HF, W&B write them)."""
    return json.loads(text)  # the stdlib accepts NaN, Infinity, -Infinity by default


class _TolerantLoader:
    """Lazily built yaml SafeLoader subclass that turns unknown tags into plain data.

    Lightning's hparams.yaml holds `!!python/object:torch.nn...` entries: safe_load refuses them
    and the unsafe loader would import (and run) code. We keep the mapping/scalar underneath.
    """

    _cls = None

    @classmethod
    def get(cls):
        if cls._cls is None:
            import yaml

            class Loader(yaml.SafeLoader):
                pass

            def construct_any(loader, tag_suffix, node):
                if isinstance(node, yaml.MappingNode):
                    return loader.construct_mapping(node, deep=True)
                if isinstance(node, yaml.SequenceNode):
                    return loader.construct_sequence(node, deep=True)
                value = loader.construct_scalar(node)
                # `!!python/name:torch.optim.Adam ''` names a class: keep the name
                return value if value != "" else tag_suffix.split(":", 1)[-1]

            # the specific prefix first: yaml uses the first registered prefix that matches
            Loader.add_multi_constructor("tag:yaml.org,2002:python/", construct_any)
            Loader.add_multi_constructor("!", construct_any)
            Loader.add_multi_constructor("", construct_any)
            cls._cls = Loader
        return cls._cls


def load_yaml(text: str) -> Any:
    """YAML as plain data, tolerant of Python object tags; never executes anything."""
    import yaml

    return yaml.load(text, Loader=_TolerantLoader.get())  # noqa: S506 - SafeLoader subclass


def flatten(mapping: Any, prefix: str = "") -> dict[str, Any]:
    """Nested dicts as one level with dotted keys ("optimizer.lr"); lists kept as values."""
    flat: dict[str, Any] = {}
    if not isinstance(mapping, dict):
        return {prefix: mapping} if prefix else {}
    for key, value in mapping.items():
        name = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(value, dict) and value:
            flat.update(flatten(value, name))
        else:
            flat[name] = value
    return flat


def load_config_file(path: Path) -> tuple[dict[str, Any], str | None]:
    """A side config file (yaml/json) as a flat dict, plus a warning when it could not be parsed."""
    try:
        text = read_text(path)
        data = loads_json(text) if path.suffix.lower() == ".json" else load_yaml(text)
    except Exception as exc:  # any parse error: the metrics are still worth reading
        return {}, f"{path}: config not readable ({type(exc).__name__}: {_first_line(exc)})"
    if data is None:
        return {}, None
    if not isinstance(data, dict):
        return {}, f"{path}: config is not a mapping; ignored"
    return flatten(data), None


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [""])[0][:160]


# ----------------------------------------------------------------------------- series


class SeriesBuilder:
    """Collects points per tag in log order and turns them into `Series` at the end."""

    def __init__(self) -> None:
        self._points: dict[str, tuple[list[int], list[float], list[float]]] = {}

    def add(self, tag: str, step: int, value: float, wall_time: float = math.nan) -> None:
        steps, values, walls = self._points.setdefault(tag, ([], [], []))
        steps.append(step)
        values.append(value)
        walls.append(wall_time)

    def add_many(self, tag: str, steps: Iterable, values: Iterable, walls: Iterable | None = None) -> None:
        s, v, w = self._points.setdefault(tag, ([], [], []))
        steps, values = list(steps), list(values)
        s.extend(int(x) for x in steps)
        v.extend(float(x) for x in values)
        w.extend([math.nan] * len(steps) if walls is None else (float(x) for x in walls))

    def __len__(self) -> int:
        return sum(len(p[0]) for p in self._points.values())

    def build(self) -> dict[str, Series]:
        return {
            tag: Series(tag, np.asarray(s, np.int64), np.asarray(v, np.float64), np.asarray(w, np.float64))
            for tag, (s, v, w) in self._points.items()
        }


def line_list(numbers: list[int], limit: int = 8) -> str:
    """`3, 7, 12 (+4 more)`: line numbers for a warning without flooding it."""
    shown = ", ".join(str(n) for n in numbers[:limit])
    return shown + (f" (+{len(numbers) - limit} more)" if len(numbers) > limit else "")
