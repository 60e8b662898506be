"""Console output saved to a file: what `model.fit`, Megatron-style trainers and hand-written loops print.

Many runs leave no log file but the terminal's output (`python train.py | tee train.log`, a job's
`slurm-1234.out`, a notebook cell pasted into a chat); FORMATS.md section 7 calls it the real-world
fallback. A `.log`, `.txt` or `.out` file that no other format claims is read as one when at least
MIN_RECORDS lines (or epochs) parse under one of these grammars, tried in this order:

- keras: `Epoch k/N` lines, each followed by the progress bar's output (verbose=1: carriage returns,
  ANSI colours and backspaces around every update; verbose=2: one line). An epoch's record is its
  last update, the one Keras prints when the epoch ends (`- accuracy: 0.58 - loss: 0.71 -
  val_accuracy: 0.62 - val_loss: 0.66`); earlier updates are running means over part of the epoch.
  Its x is k - 1: Keras counts epochs from 0 in its CSVLogger and History.
- pipes: Megatron-LM, NeMo and GPT-NeoX print `iteration  120/ 3000 | lm loss: 2.312E+00 | learning
  rate: 3.000E-04 | grad norm: 1.234 |`: the iteration is the step, every `name: value` field a metric.
- lines: one record per line that names its position (`epoch 3`, `Epoch [3/20]`, `step 100`,
  `iter 40`) and metric-like `name: value` or `name=value` pairs (`Epoch 3 | train loss: 0.52 | val
  loss: 0.61`, `step 100: loss=0.52 lr=1e-3`, Lightning's TQDM bar `Epoch 3: 100%|...| train_loss=0.52,
  val_loss=0.61`); the step (or iteration) is the x where a line names one, else the epoch, and a bar
  redrawn at one position is one record (its last state). A metric name must look like one (loss, acc, lr, ...: csv_logs.METRIC_NAME), so a
  line of timings or a config dump is no record.

HF Trainer's console dicts (`{'loss': '0.57', 'epoch': '0.4167'}`) carry a fractional epoch and no
step, so they are not read here: its `trainer_state.json` is (advisor.ingest.hf_trainer). Values
are parsed as numbers only (no eval); a line that matches a grammar but holds no number is skipped.
"""
from __future__ import annotations

import re
from pathlib import Path

from advisor.ingest._text import SeriesBuilder, head_text, parse_float, read_text
from advisor.ingest.csv_logs import METRIC_NAME
from advisor.model import IngestError, Run, RunSource

FORMAT = "console"
SUFFIXES = {".log", ".txt", ".out"}
MIN_RECORDS = 3  # fewer records are a stray line in a README, not a training's output
SNIFF_CHARS = 1 << 16

_ANSI = re.compile(r"\x1b\[[0-9;?]{0,32}[A-Za-z]")
# Every repetition is bounded and every name starts at a token boundary: a 64 KiB line of letters or
# digits (a hostile or binary file) costs linear time, not the quadratic backtracking of `\w*`
_NUMBER = r"[-+]?(?:\d{1,30}(?:\.\d{0,30})?|\.\d{1,30})(?:[eE][-+]?\d{1,4})?|[-+]?(?:nan|inf(?:inity)?)"
_NAME = r"(?<![\w./@-])[A-Za-z][\w./@-]{0,39}"
_KERAS_EPOCH = re.compile(r"^\s{0,8}Epoch\s{1,4}(\d{1,9})/(\d{1,9})\s{0,8}$")
_KERAS_PAIR = re.compile(r"\s-\s(" + _NAME + r"):\s(" + _NUMBER + r")(?=\s|$)", re.IGNORECASE)
_PIPE_ITER = re.compile(r"\biteration\s{1,16}(\d{1,12})\s{0,16}/\s{0,16}\d{1,12}\s{0,16}\|", re.IGNORECASE)
_PIPE_PAIR = re.compile(r"\|\s{0,8}(" + _NAME + r"(?: [A-Za-z(][\w./()-]{0,39}){0,5})\s{0,4}:\s{0,8}(" + _NUMBER
                        + r")\s{0,8}(?=\||$)", re.IGNORECASE)
_POSITION = re.compile(r"\b(epoch|step|iteration|iter|it)\b\s{0,4}[:=#]?\s{0,4}\[?\s{0,4}(\d{1,12})"
                       r"(?:\s{0,4}/\s{0,4}\d{1,12})?\s{0,4}\]?", re.IGNORECASE)
_LINE_PAIR = re.compile(r"(" + _NAME + r"(?:[ _][A-Za-z][\w./@-]{0,39}){0,2})\s{0,4}[:=]\s{0,4}(" + _NUMBER
                        + r")(?![\w.])", re.IGNORECASE)
_POSITION_NAMES = {"epoch", "step", "iteration", "iter", "it"}


def _screen_lines(text: str) -> list[str]:
    """What a terminal would show, line by line: ANSI codes and backspaces gone, and of a line
    rewritten by carriage returns every state kept (the last is the final one)."""
    text = _ANSI.sub("", text).replace("\b", "")
    return [part for line in text.split("\n") for part in line.split("\r")]


def _keras(lines: list[str]) -> list[tuple[int, dict[str, float]]]:
    """Keras `fit`: (epoch - 1, the epoch's last progress update) per `Epoch k/N` block."""
    records: list[tuple[int, dict[str, float]]] = []
    epoch, last = None, None
    for line in lines:
        m = _KERAS_EPOCH.match(line)
        if m:
            if epoch is not None and last:
                records.append((epoch, last))
            epoch, last = int(m.group(1)) - 1, None
            continue
        if epoch is None:
            continue
        pairs = {k: v for k, raw in _KERAS_PAIR.findall(line) for v in [parse_float(raw)] if v is not None}
        if pairs and any(METRIC_NAME.search(k) for k in pairs):
            last = pairs
    if epoch is not None and last:
        records.append((epoch, last))
    return records


def _pipes(lines: list[str]) -> list[tuple[int, dict[str, float]]]:
    """Megatron-style iteration lines: (iteration, every `name: value` field after it)."""
    records = []
    for line in lines:
        m = _PIPE_ITER.search(line)
        if not m:
            continue
        pairs = {k.strip(): v for k, raw in _PIPE_PAIR.findall(line[m.end() - 1:]) for v in [parse_float(raw)]
                 if v is not None}
        if any(METRIC_NAME.search(k) for k in pairs):
            records.append((int(m.group(1)), pairs))
    return records


def _lines(lines: list[str]) -> list[tuple[int, dict[str, float]]]:
    """Lines naming their position and metric-like pairs: (step, else epoch, the pairs). A progress
    bar redrawn with carriage returns (Lightning's `Epoch 3: 100%|...| train_loss=0.52`) repeats one
    position: consecutive records at the same position are one, its last values winning."""
    records: list[tuple[int, dict[str, float]]] = []
    for line in lines:
        positions = {m.group(1).lower(): int(m.group(2)) for m in _POSITION.finditer(line)}
        if not positions:
            continue
        pairs = {}
        for name, raw in _LINE_PAIR.findall(line):
            name = name.strip()
            if name.lower() in _POSITION_NAMES or not METRIC_NAME.search(name):
                continue
            value = parse_float(raw)
            if value is not None:
                pairs[name] = value
        if pairs:
            x = next((positions[k] for k in ("step", "iteration", "iter", "it") if k in positions), positions.get("epoch"))
            if records and records[-1][0] == x:
                records[-1][1].update(pairs)
            else:
                records.append((x, pairs))
    return records


GRAMMARS = (("keras", _keras), ("pipes", _pipes), ("lines", _lines))


def parse(text: str) -> tuple[str, list[tuple[int, dict[str, float]]]] | None:
    """(the grammar, its records) of the first grammar that reads >= MIN_RECORDS records, else None."""
    lines = _screen_lines(text)
    for name, grammar in GRAMMARS:
        records = grammar(lines)
        if len(records) >= MIN_RECORDS:
            return name, records
    return None


def claim(tree) -> list[RunSource]:
    """Claim the console logs among the files no other format took (one run per file). A console log
    in a folder where another format claimed a log is that training's side output (`train.log` beside
    its event file, a W&B run's `output.log`), not a second run: left alone."""
    sources = []
    logged_dirs = {p.parent for p in tree.claimed}
    for path in tree.unclaimed():
        if path.suffix.lower() not in SUFFIXES or path.parent in logged_dirs:
            continue
        found = parse(head_text(path, SNIFF_CHARS))  # empty on any OS error: never raises
        if found is None:
            continue
        tree.claim(path)
        sources.append(RunSource(name=tree.run_name(path), path=path, format=FORMAT, files=[path],
                                 options={"grammar": found[0]}))
    return sources


def read(source: RunSource) -> Run:
    """Every record of one console log; the grammar is chosen again on the whole file."""
    path = Path(source.path)
    text = read_text(path)  # IngestError (one line) when it cannot be read
    found = parse(text)
    if found is None:
        raise IngestError(f"{path}: no training records (fewer than {MIN_RECORDS} lines with a step or epoch "
                          "and metric values)")
    grammar, records = found
    run = Run(name=source.name, path=str(path), format=FORMAT, writer=grammar)
    builder = SeriesBuilder()
    for x, pairs in records:
        for name, value in pairs.items():
            builder.add(name, x, value)
    run.series = builder.build()
    epochs = grammar == "keras" or (grammar == "lines" and _epoch_only(text))
    run.meta["x_axis"] = "epoch" if epochs else "step"
    return run


def _epoch_only(text: str) -> bool:
    """Whether the position of every record line is an epoch (no step or iteration named)."""
    kinds = {m.group(1).lower() for line in _screen_lines(text) for m in _POSITION.finditer(line)}
    return bool(kinds) and kinds <= {"epoch"}


__all__ = ["claim", "read", "parse"]
