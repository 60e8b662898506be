"""HF Trainer's `training_args.bin`: the run's TrainingArguments, read without running a pickle.

`Trainer` saves `torch.save(self.args, "training_args.bin")` beside every `trainer_state.json`
(output folder and each `checkpoint-N/`); `trainer_state.json` itself carries the batch size but
not the optimizer, its settings or the LR the user asked for. The file is a torch zip archive
whose `*/data.pkl` pickles a `transformers.TrainingArguments` dataclass. A pickle from a log is
untrusted input, so it is never loaded with `pickle`/`torch.load` as is: the unpickler below
resolves every global the pickle names to an inert stand-in (the "restricting globals" recipe
of the `pickle` docs), so nothing is imported and no constructor of the writer's classes runs.
What comes out is the dataclass' field dict, of which the plain values are kept (enum fields
such as `optim=OptimizerNames("sgd")` become their value, "sgd").
"""
from __future__ import annotations

import io
import pickle
import zipfile
from pathlib import Path
from typing import Any

MAX_ARCHIVE_BYTES = 4 << 20  # a real one is ~5 KB; anything this big is not TrainingArguments
MAX_PICKLE_BYTES = 1 << 20


class _Inert:
    """Whatever class or function the pickle names: keeps its arguments and state, runs nothing."""

    args: tuple = ()
    state: Any = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.args = args

    def __setstate__(self, state: Any) -> None:
        self.state = state


class _InertUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> type:
        return type(str(name)[:100], (_Inert,), {})

    def persistent_load(self, pid: Any) -> None:  # tensor storages: there are none worth reading
        return None


def _plain(value: Any) -> Any:
    """A primitive, an enum member's value, or None for anything else."""
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, _Inert) and len(value.args) == 1 and isinstance(value.args[0], (str, int, float, bool)):
        return value.args[0]
    return None


def read_training_args_bin(path: Path) -> tuple[dict[str, Any], str | None]:
    """(TrainingArguments' plain fields, None) or ({}, one-line warning naming the file)."""
    try:
        if path.stat().st_size > MAX_ARCHIVE_BYTES:
            return {}, f"{path}: {path.stat().st_size} bytes, too big for TrainingArguments; skipped"
        with zipfile.ZipFile(path) as archive:
            names = [i for i in archive.infolist() if i.filename.endswith("data.pkl")]
            if not names:
                return {}, f"{path}: no data.pkl inside; not a torch.save archive"
            if names[0].file_size > MAX_PICKLE_BYTES:
                return {}, f"{path}: data.pkl of {names[0].file_size} bytes; skipped"
            blob = archive.read(names[0])
        obj = _InertUnpickler(io.BytesIO(blob)).load()
    except zipfile.BadZipFile:
        return {}, f"{path}: not a zip archive (legacy torch.save format is not read)"
    except (OSError, pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, IndexError,
            KeyError, RecursionError, MemoryError, UnicodeDecodeError) as exc:
        return {}, f"{path}: unreadable TrainingArguments ({type(exc).__name__})"
    state = obj.state if isinstance(obj, _Inert) else None
    if isinstance(state, tuple) and state and isinstance(state[0], dict):  # (dict, slots) form
        state = state[0]
    if not isinstance(state, dict):
        return {}, f"{path}: no TrainingArguments fields inside"
    out = {}
    for key, value in state.items():
        if isinstance(key, str) and not key.startswith("_"):
            plain = _plain(value)
            if plain is not None:
                out[key] = plain
    return out, None


__all__ = ["read_training_args_bin"]
