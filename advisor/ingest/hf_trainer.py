"""Hugging Face Trainer logs: `trainer_state.json` and its `log_history` (FORMATS.md §4).

An output folder holds one training run even when it holds many copies of the state (one per
`checkpoint-N/`, plus the root file written by `save_state()`): each copy carries the history so
far, so the newest one is the run. "Newest" is the highest global step (N compared as a number,
not as text); the root file wins a tie when it has at least as many entries (it adds the final
summary row). Several runs are never made of one folder.

`log_history` rows are of three kinds: training (`loss`, `grad_norm`, `learning_rate`), eval
(`eval_*`), and the final summary (`train_runtime`, `train_loss`, `total_flos`, one point each).
`predict_*` rows carry no `step`: they are stamped with the step of the row before them. The
`epoch` of each row is kept as its own series (useful to map steps to epochs).
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from advisor.ingest._text import (
    SeriesBuilder,
    as_number,
    flatten,
    head_text,
    integral_step,
    _first_line,
    load_config_file,
    loads_json,
    read_text,
)
from advisor.model import IngestError, Run, RunSource

FORMAT = "hf-trainer"
STATE_FILE = "trainer_state.json"
CHECKPOINT_DIR = re.compile(r"^(?:checkpoint-(\d+)|last-checkpoint|best-checkpoint|checkpoint-best|checkpoint-last)$")
# training_args.bin before training_args.json: where a script saved both, the JSON wins
SIDE_FILES = ["training_args.bin", "training_args.json", "config.json", "all_results.json", "train_results.json", "eval_results.json",
              "adapter_config.json"]
# the same log history again, written beside trainer_state.json by LLaMA-Factory (its `current_steps` rows):
# the state file is read, this one is side output
SIDE_LOGS = ["trainer_log.jsonl"]
# top-level keys that are settings of the run; the others (epoch, global_step, best_metric, ...)
# describe where it got to and go to run.meta["state"]
STATE_HPARAMS = {"train_batch_size", "num_train_epochs", "max_steps", "logging_steps", "eval_steps",
                 "save_steps", "trial_params"}
NOT_META = {"log_history", "stateful_callbacks"}


# ----------------------------------------------------------------------------- claim


def output_dir(state_file: Path) -> Path:
    """The run folder of a trainer_state.json: the parent of its checkpoint folder, if any."""
    parent = state_file.parent
    return parent.parent if CHECKPOINT_DIR.match(parent.name) else parent


def looks_like_state(path: Path) -> bool:
    """A JSON object whose first 64 KiB mention `log_history` (keys are sorted: it comes early)."""
    head = head_text(path, 65536).lstrip()
    return head.startswith("{") and '"log_history"' in head


def claim(tree) -> list[RunSource]:
    """One run per output folder, whatever the number of checkpoint copies inside it."""
    runs: dict[Path, list[Path]] = {}
    named = [p for p in tree.unclaimed() if p.name == STATE_FILE]
    for path in named:
        if looks_like_state(path):
            runs.setdefault(output_dir(path), []).append(path)
    for path in named:  # a damaged copy beside good ones: read() says what is wrong with it
        if output_dir(path) in runs and path not in runs[output_dir(path)]:
            runs[output_dir(path)].append(path)
    unclaimed = set(tree.unclaimed())
    sources = []
    for root, states in runs.items():
        folders = {root} | {s.parent for s in states}
        side = [f / n for f in sorted(folders) for n in SIDE_FILES + SIDE_LOGS if (f / n) in unclaimed]
        tree.claim(*states, *side)
        sources.append(RunSource(name=tree.run_name(root), path=root, format=FORMAT, files=[*states, *side],
                                 options={"states": [str(s) for s in states]}))
    return sources


# ----------------------------------------------------------------------------- parsing


@dataclass
class State:
    """One trainer_state.json as parsed; `damaged` says what was wrong when it was recovered."""

    path: Path
    data: dict[str, Any]
    damaged: str | None = None

    @property
    def history(self) -> list[dict[str, Any]]:
        rows = self.data.get("log_history")
        return [r for r in rows if isinstance(r, dict)] if isinstance(rows, list) else []

    @property
    def global_step(self) -> int:
        step = self.data.get("global_step")
        if isinstance(step, int):
            return step
        return max((r["step"] for r in self.history if isinstance(r.get("step"), int)), default=-1)


def parse_state(path: Path) -> State:
    """Parse a state file; a half-written one keeps its complete log_history entries."""
    text = read_text(path)
    if not text.strip():
        raise IngestError(f"{path}: empty file")
    try:
        data = loads_json(text)
    except ValueError as exc:  # also JSONTooDeep, and integers over Python's digit limit
        data, kept = recover_log_history(text)
        why = f"{exc.msg} at char {exc.pos}" if hasattr(exc, "pos") else _first_line(exc)
        if data is None:
            raise IngestError(f"{path}: not valid JSON and no log_history entry recoverable ({why})") from None
        return State(path, data, damaged=f"JSON cut or damaged ({why}); recovered {kept} complete log_history entries")
    if not isinstance(data, dict) or not isinstance(data.get("log_history"), list):
        raise IngestError(f"{path}: no log_history list")
    return State(path, data)


def recover_log_history(text: str) -> tuple[dict[str, Any] | None, int]:
    """The top-level keys and complete `log_history` entries before a cut, by scanning JSON values.

    json.JSONDecoder.raw_decode reads one value at a time, so every entry that was fully written
    is kept and the first broken one ends the scan.
    """
    decoder = json.JSONDecoder()
    start = text.find('"log_history"')
    if start < 0:
        return None, 0
    bracket = text.find("[", start)
    if bracket < 0:
        return None, 0
    entries, pos = [], bracket + 1
    while True:
        pos = _skip(text, pos, ",")
        if pos >= len(text) or text[pos] == "]":
            break
        try:
            value, pos = decoder.raw_decode(text, pos)
        except (ValueError, RecursionError):
            break
        if isinstance(value, dict):
            entries.append(value)
    data = _recover_top_level(text[:start], decoder)
    data["log_history"] = entries
    return data, len(entries)


def _skip(text: str, pos: int, chars: str) -> int:
    while pos < len(text) and (text[pos].isspace() or text[pos] in chars):
        pos += 1
    return pos


def _recover_top_level(prefix: str, decoder: json.JSONDecoder) -> dict[str, Any]:
    """Scalar top-level keys written before `log_history` (sorted keys put most of them there)."""
    out: dict[str, Any] = {}
    for match in re.finditer(r'^\s{1,4}"([A-Za-z_]+)":\s*', prefix, flags=re.M):
        try:
            value, _ = decoder.raw_decode(prefix, match.end())
        except (ValueError, RecursionError):
            continue
        out[match.group(1)] = value
    return out


def pick_newest(states: list[State]) -> State:
    """The state with the highest global step; on a tie the longer history, then the root file."""
    def rank(state: State) -> tuple[int, int, int, int]:
        in_checkpoint = CHECKPOINT_DIR.match(state.path.parent.name)
        return (state.global_step, len(state.history), 0 if in_checkpoint else 1, 0 if state.damaged else 1)
    return max(states, key=rank)


# ----------------------------------------------------------------------------- reading


def history_to_series(history: list[dict[str, Any]], run: Run) -> None:
    """log_history rows into series: every numeric key but `step`; `epoch` kept as a series."""
    builder = SeriesBuilder()
    last_step = 0
    no_step = bad = 0
    for row in history:
        step = integral_step(row.get("step"))
        if step is None and row.get("step") is not None:  # NaN, 2^63, 1e308, a string: a bad row
            bad += sum(1 for k, v in row.items() if k != "step" and as_number(v) is not None)
            continue
        if step is None:
            step, no_step = last_step, no_step + 1
        last_step = step
        for key, value in row.items():
            number = as_number(value)
            if key == "step" or number is None:
                continue
            builder.add(key, step, number)
    run.series = builder.build()
    _run_mean_loss(history, run)
    if bad:
        run.warnings.append(f"left out {bad} bad point(s): log_history entries whose step is not a whole "
                            "number within int64")
    if no_step:
        run.meta["x_note"] = f"{no_step} log_history entries without a step were placed at the step before them"


def _run_mean_loss(history: list[dict[str, Any]], run: Run) -> None:
    """The final summary row's `train_loss` is the mean training loss over every optimizer step of the
    run (Trainer: the summed loss / global_step), while each logged `loss` is the mean since the log
    before it: together they give the mean of the steps after the last logged loss
    (`advisor.roles.unlogged_tail`), where a blow-up in the last steps shows, whatever logging_steps
    hid. Kept in meta as {"tag", "mean", "step"}; the summary stays a series of its own."""
    for row in reversed(history):
        if "train_runtime" in row and "train_loss" in row:
            mean, step = as_number(row["train_loss"]), integral_step(row.get("step"))
            if mean is not None and step is not None:
                run.meta["run_mean_loss"] = {"tag": "loss", "mean": mean, "step": step}
            return


def _writer(hparams: dict[str, Any]) -> str:
    version = hparams.get("model.transformers_version") or hparams.get("transformers_version")
    return f"hf-transformers-{version}" if version else "hf-transformers"


def read(source: RunSource, parse=None) -> Run:
    """The run of one output folder from its newest readable trainer_state.json. `parse(path)`:
    how a state file becomes a State (the live reader passes one that parses only files that
    changed since its last look, advisor.live.tail_text)."""
    parse = parse or parse_state
    run = Run(name=source.name, path=str(source.path), format=FORMAT)
    states, errors = [], []
    for name in source.options.get("states") or [f for f in source.files if Path(f).name == STATE_FILE]:
        try:
            states.append(parse(Path(name)))
        except IngestError as exc:
            errors.append(str(exc))
    if not states:
        reason = errors[0] if len(errors) == 1 else f"{source.path}: no readable {STATE_FILE} ({'; '.join(errors)})"
        raise IngestError(reason)
    chosen = pick_newest(states)
    run.warnings.extend(f"skipped {e}" for e in errors)
    if chosen.damaged:
        run.warnings.append(f"{chosen.path}: {chosen.damaged}")
    history_to_series(chosen.history, run)
    run.hparams.update(_state_hparams(chosen.data))
    run.meta["state"] = {k: v for k, v in chosen.data.items() if k not in STATE_HPARAMS | NOT_META}
    _read_side_files(source, run)
    run.writer = _writer(run.hparams)
    run.meta.update({"state_file": str(chosen.path), "x_axis": "step",
                     "state_files": [str(s.path) for s in states]})
    return run


def _state_hparams(data: dict[str, Any]) -> dict[str, Any]:
    settings = {k: v for k, v in data.items() if k in STATE_HPARAMS and v is not None}
    return flatten(settings)


def _read_side_files(source: RunSource, run: Run) -> None:
    """training_args.bin/.json as hparams; config.json (the model's) under `model.`; results in meta."""
    from advisor.ingest.hf_args_bin import read_training_args_bin

    state_keys = {k for k in STATE_HPARAMS if k in run.hparams}  # read from the state file just before
    for side in map(Path, source.files):
        if side.name == STATE_FILE or side.name not in SIDE_FILES:
            continue
        if side.name == "training_args.bin":  # what Trainer itself saves: TrainingArguments, pickled
            config, warning = read_training_args_bin(side)
        else:
            config, warning = load_config_file(side)
        if warning:
            run.warnings.append(warning)
        if side.name in ("training_args.json", "training_args.bin"):
            # what the run did (the state: max_steps 400) beats what was asked (the args: -1,
            # "train by epochs"); between the two args files the later (JSON) wins
            run.hparams.update({k: v for k, v in config.items() if k not in state_keys})
        elif side.name in ("config.json", "adapter_config.json"):
            prefix = "model." if side.name == "config.json" else "adapter."
            run.hparams.update({f"{prefix}{k}": v for k, v in config.items()})
        else:
            run.meta.setdefault("results", {}).update(config)


__all__ = ["claim", "read", "parse_state", "recover_log_history", "pick_newest", "history_to_series"]
