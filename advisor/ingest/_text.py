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

from advisor import limits
from advisor.model import IngestError, Series

SNIFF_BYTES = 16384  # claim() never reads more than this much of a file


def read_head(path: Path, size: int = SNIFF_BYTES) -> bytes:
    """The first bytes of a regular file for sniffing; empty on any OS error and for FIFOs or
    devices (claim must never raise, nor block)."""
    return limits.read_head(path, size)


def head_text(path: Path, size: int = SNIFF_BYTES) -> str:
    """`read_head` decoded leniently, BOM removed, for header sniffing."""
    return read_head(path, size).decode("utf-8", errors="replace").lstrip("\ufeff")


def read_bytes(path: Path) -> bytes:
    """A whole log file through the limits policy; IngestError (one line naming the file and the
    reason: permission denied, not a regular file, over the size limit) when it cannot be read."""
    try:
        return limits.read_file(path)
    except OSError as exc:
        raise IngestError(f"{path}: cannot read ({limits.describe_os_error(exc)})") from None
    except MemoryError:
        raise IngestError(f"{path}: cannot read (out of memory; lower --limit file_bytes)") from None


def read_text(path: Path) -> str:
    """A whole text file; IngestError (one line) when it cannot be read at all."""
    return read_bytes(path).decode("utf-8", errors="replace").lstrip("\ufeff")


# ----------------------------------------------------------------------------- numbers


def as_number(value: Any) -> float | None:
    """A logged value as float when it is a plain number (bools and strings are not metrics).

    An integer too large for a float (a 400-digit JSON number) is +/-inf, as a float overflow
    would be, rather than an OverflowError that loses the whole file.
    """
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, float):
        return value
    if isinstance(value, int):
        try:
            return float(value)
        except OverflowError:
            return math.inf if value > 0 else -math.inf
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


INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1


def integral_step(value: Any) -> int | None:
    """A step as int when it is a whole number that fits int64 (Series.step), else None: NaN, inf,
    2^63 and 1e308 are bad points for the caller to count, never an exception that drops the run."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return value if INT64_MIN <= value <= INT64_MAX else None
    try:
        if not math.isfinite(value) or value != int(value):
            return None
    except (TypeError, ValueError, OverflowError):
        return None
    step = int(value)
    return step if INT64_MIN <= step <= INT64_MAX else None


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


class JSONTooDeep(ValueError):
    """JSON nested deeper than Python's recursion limit allows the decoder to go."""


def loads_json(text: str | bytes) -> Any:
    """JSON that may hold Python's `NaN`/`Infinity` tokens (HF, W&B write them).

    Always a ValueError subclass on bad input, so callers catch one type: a 100,000-deep nesting is
    JSONTooDeep (not RecursionError), an integer over Python's 4,300-digit conversion limit a
    ValueError (the stdlib raises it too).
    """
    try:
        return json.loads(text)  # the stdlib accepts NaN, Infinity, -Infinity by default
    except RecursionError:
        raise JSONTooDeep("JSON nested too deep") from None


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
                composed = 0

                def compose_node(self, parent, index):
                    # Counted while composing: a 2M-element flow list is refused after yaml_nodes
                    # nodes, not parsed for minutes first (PyYAML's composer is pure Python).
                    self.composed += 1
                    bound = limits.current().yaml_nodes
                    if self.composed > bound:
                        raise YAMLTooBig(f"YAML has more than {bound:,} nodes (raise it with --limit yaml_nodes=…)")
                    return super().compose_node(parent, index)

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


class YAMLTooBig(ValueError):
    """A YAML document whose alias-expanded size is over `limits.yaml_nodes` (or that refers to itself)."""


def load_yaml(text: str) -> Any:
    """YAML as plain data, tolerant of Python object tags; never executes anything.

    The document is composed first and its size *after alias expansion* counted on the node graph
    (each node once, memoised), so a "billion laughs" is refused in microseconds instead of being
    expanded later by whoever walks the data; YAMLTooBig says so.
    """
    policy = limits.current()
    if len(text) > policy.config_bytes:
        raise YAMLTooBig(f"YAML of {limits.human(len(text))} is over the config_bytes limit of "
                         f"{limits.human(policy.config_bytes)} (raise it with --limit config_bytes=…)")
    loader = _TolerantLoader.get()(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        bound = limits.current().yaml_nodes
        size = _expanded_size(node, bound)
        if size > bound:
            raise YAMLTooBig(f"YAML expands to more than {bound:,} nodes through its aliases "
                             f"(raise it with --limit yaml_nodes=…)")
        return loader.construct_document(node)
    except RecursionError:
        raise YAMLTooBig("YAML nested too deep") from None
    finally:
        loader.dispose()


def _expanded_size(root, bound: int) -> int:
    """Nodes in the document once every alias is expanded, counted without expanding (stops above
    `bound`; a node that contains itself counts as unbounded)."""
    import yaml

    sizes: dict[int, int] = {}
    on_path: set[int] = set()
    over = bound + 1

    def size(node) -> int:
        key = id(node)
        if key in sizes:
            return sizes[key]
        if key in on_path:
            return over  # a recursive alias: infinite when expanded
        on_path.add(key)
        total = 1
        if isinstance(node, yaml.SequenceNode):
            for child in node.value:
                total += size(child)
                if total > bound:
                    break
        elif isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                total += size(k) + size(v)
                if total > bound:
                    break
        on_path.discard(key)
        sizes[key] = min(total, over)
        return sizes[key]

    return size(root)


def flatten(mapping: Any, prefix: str = "", warnings: list[str] | None = None) -> dict[str, Any]:
    """Nested dicts as one level with dotted keys ("optimizer.lr"); lists kept as values.

    Bounded by `limits.hparams` keys and `limits.hparams_depth` levels (an adversarial config, or
    one whose aliases share a subtree many times, cannot grow it without end); when a bound cuts it,
    one line goes to `warnings`. Iterative: depth costs no Python recursion.
    """
    policy = limits.current()
    flat: dict[str, Any] = {}
    if not isinstance(mapping, dict):
        return {prefix: mapping} if prefix else {}
    cut: list[str] = []
    stack = [(prefix, iter(mapping.items()), 1)]
    while stack:
        base, items, depth = stack[-1]
        item = next(items, None)
        if item is None:
            stack.pop()
            continue
        key, value = item
        name = f"{base}.{key}" if base else str(key)
        if isinstance(value, dict) and value and depth < policy.hparams_depth:
            stack.append((name, iter(value.items()), depth + 1))
            continue
        if isinstance(value, dict) and value:
            cut.append(f"nested deeper than {policy.hparams_depth} levels")
            value = "{…}"
        if len(flat) >= policy.hparams:
            cut.append(f"more than {policy.hparams:,} keys")
            break
        flat[name] = value
    if cut and warnings is not None:
        warnings.append(f"hparams cut short ({cut[-1]}; raise with --limit hparams=… / hparams_depth=…)")
    return flat


def load_config_file(path: Path) -> tuple[dict[str, Any], str | None]:
    """A side config file (yaml/json) as a flat dict, plus a warning when it could not be parsed."""
    try:
        text = read_text(path)
        data = loads_json(text) if path.suffix.lower() == ".json" else load_yaml(text)
    except IngestError as exc:
        return {}, f"config not read: {exc}"
    except (YAMLTooBig, JSONTooDeep) as exc:
        return {}, f"{path}: config not read ({exc})"
    except Exception as exc:  # any parse error: the metrics are still worth reading
        return {}, f"{path}: config not readable ({type(exc).__name__}: {_first_line(exc)})"
    if data is None:
        return {}, None
    if not isinstance(data, dict):
        return {}, f"{path}: config is not a mapping; ignored"
    cut: list[str] = []
    flat = flatten(data, warnings=cut)
    return flat, (f"{path}: {cut[0]}" if cut else None)


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [""])[0][:160]


# ----------------------------------------------------------------------------- series


class SeriesBuilder:
    """Collects points per tag in log order and turns them into `Series` at the end.

    A point whose step is not a whole number within int64 (NaN, inf, 2^63, 1e308, text) is a bad
    point: left out and counted in `bad`, never an OverflowError in `build()` that loses the run.
    Readers report the count with `bad_warning()`.
    """

    def __init__(self) -> None:
        # per tag, pieces in log order: [steps, values, walls] python lists (from add) or numpy
        # arrays (from add_many, kept as arrays: a 10M-row CSV must not become 10M Python ints)
        self._pieces: dict[str, list[list]] = {}
        self.bad = 0

    def add(self, tag: str, step: Any, value: float, wall_time: float = math.nan) -> None:
        if type(step) is not int or not INT64_MIN <= step <= INT64_MAX:
            step = integral_step(step)
            if step is None:
                self.bad += 1
                return
        pieces = self._pieces.setdefault(tag, [])
        if not pieces or not isinstance(pieces[-1][0], list):
            pieces.append([[], [], []])
        steps, values, walls = pieces[-1]
        steps.append(step)
        values.append(value)
        walls.append(wall_time)

    def add_many(self, tag: str, steps: Any, values: Any, walls: Any | None = None) -> None:
        steps = np.asarray(steps, dtype=np.int64)
        values = np.asarray(values, dtype=np.float64)
        # no wall times: one read-only NaN broadcast, not an 8-byte-per-point array of NaN
        walls = np.broadcast_to(np.nan, len(steps)) if walls is None else np.asarray(walls, dtype=np.float64)
        self._pieces.setdefault(tag, []).append([steps, values, walls])

    def __len__(self) -> int:
        return sum(len(p[0]) for pieces in self._pieces.values() for p in pieces)

    def build(self) -> dict[str, Series]:
        out = {}
        for tag, pieces in self._pieces.items():
            parts = [[np.asarray(p[i], dtype=np.int64 if i == 0 else np.float64) for p in pieces] for i in range(3)]
            out[tag] = Series(tag, *(a[0] if len(a) == 1 else np.concatenate(a) for a in parts))
        return out

    def bad_warning(self, path: Any) -> str | None:
        """One line for `run.warnings` when points were left out, else None."""
        if not self.bad:
            return None
        return (f"{path}: left out {self.bad} bad point(s) whose step is not a whole number within int64 "
                "(NaN, inf, 2^63 or more, text)")


def line_list(numbers: list[int], limit: int = 8) -> str:
    """`3, 7, 12 (+4 more)`: line numbers for a warning without flooding it."""
    shown = ", ".join(str(n) for n in numbers[:limit])
    return shown + (f" (+{len(numbers) - limit} more)" if len(numbers) > limit else "")
