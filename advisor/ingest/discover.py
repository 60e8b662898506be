"""Find the runs under the paths a user gives, without reading more than a file's first bytes.

Discovery walks every path once into a `FileTree`, then asks each format module, in the order of
`advisor.ingest.FORMATS`, to *claim* the files it owns and group them into `RunSource`s. A claimed
file is taken out of the tree, so a later format never sees it (an MLflow store's TensorBoard
artifacts, say, are claimed by the TensorBoard module only if the MLflow module leaves them).
Large files that are never logs (checkpoints, weights, media) are skipped by name and size
without being opened.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from advisor import limits
from advisor.model import RunSource

# Never logs, whatever their size: skipped without being opened.
SKIP_SUFFIXES = {
    ".pt", ".pth", ".ckpt", ".bin", ".safetensors", ".h5", ".hdf5", ".keras", ".pb", ".onnx",
    ".npz", ".npy", ".pkl", ".pickle", ".joblib", ".msgpack", ".tflite", ".index",
    ".png", ".jpg", ".jpeg", ".gif", ".bmp", ".svg", ".webp", ".mp4", ".avi", ".mov", ".wav", ".mp3",
    ".gz", ".zip", ".tar", ".bz2", ".xz", ".7z", ".whl", ".so", ".pyc", ".py", ".ipynb",
}
# ... except these names, which are a log's side files (HF Trainer's pickled TrainingArguments,
# read without unpickling by advisor.ingest.hf_args_bin)
KEEP_NAMES = {"training_args.bin"}
KEEP_IN = {("vis_data", "config.py")}  # (folder, file) kept despite the suffix: MMEngine's merged config
SKIP_DIRS = {".git", "__pycache__", ".ipynb_checkpoints", "node_modules", ".trash", ".venv", "venv"}
# Files worth a warning when they cannot even be opened (permission denied, …)
LOG_LIKE_SUFFIXES = {".csv", ".tsv", ".log", ".txt", ".json", ".jsonl", ".db", ".sqlite", ".sqlite3", ".wandb",
                     ".yaml", ".yml"}


@dataclass
class FileTree:
    """Every candidate file under one given path, with the base used to name runs."""

    given: Path  # the path as the user gave it
    base: Path  # run names are relative to this folder (see `run_name`)
    files: list[Path] = field(default_factory=list)  # sorted, not yet claimed
    claimed: set[Path] = field(default_factory=set)
    mirror: Any = None  # advisor.ingest.remote.Mirror when `given` is the local copy of a remote URL
    problems: list["Problem"] = field(default_factory=list)  # files never opened, folders not listed

    def unclaimed(self) -> list[Path]:
        return [f for f in self.files if f not in self.claimed]

    def claim(self, *paths: Path) -> None:
        self.claimed.update(paths)

    def run_name(self, path: Path) -> str:
        """Name of a run: relative to the given path's parent when the given path was relative;
        the remote URL for a mirrored remote path."""
        if self.mirror is not None:
            return self.mirror.display(path)
        if self.given.is_absolute():
            return str(path)
        try:
            rel = os.path.relpath(path, self.base)
        except ValueError:  # other drive on Windows
            return str(path)
        return rel


@dataclass
class Problem:
    """A file discovery or ingest could not use, as one line for the user."""

    path: str
    message: str


def walk(given: Path) -> FileTree:
    """Every candidate file under `given`, without opening any.

    Iterative (a folder tree 1,000 levels deep costs no recursion), symlinked folders not followed,
    and only regular files kept: a FIFO named like a log would block the first read forever, and a
    symlink to /dev/urandom never ends, so FIFOs, devices and sockets (and symlinks to them) become a
    Problem each and are never opened. Folders that cannot be listed are Problems too ("permission
    denied"), not silently empty.
    """
    base = given.parent if given.parent != Path("") else Path(".")
    tree = FileTree(given=given, base=base)
    if not given.is_dir():
        reason = limits.not_regular_reason(given)
        if reason:
            tree.problems.append(Problem(str(given), reason))
        else:
            tree.files = [given]
        return tree
    found: list[Path] = []
    stack = [given]
    while stack:
        folder = stack.pop()
        try:
            with os.scandir(folder) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError as exc:
            tree.problems.append(Problem(str(folder), f"folder not read ({limits.describe_os_error(exc)})"))
            continue
        subdirs = []
        for entry in entries:
            try:
                if entry.is_dir(follow_symlinks=False):
                    if entry.name not in SKIP_DIRS:
                        subdirs.append(Path(entry.path))
                    continue
                p = Path(entry.path)
                if (p.suffix.lower() in SKIP_SUFFIXES and "tfevents" not in entry.name and entry.name not in KEEP_NAMES
                        and (p.parent.name, entry.name) not in KEEP_IN):
                    continue
                if entry.is_file(follow_symlinks=True):
                    found.append(p)
                    continue
                if entry.is_symlink() and not os.path.exists(entry.path):
                    continue  # a dangling link: nothing to read, nothing to say
                if entry.is_symlink() and os.path.isdir(entry.path):
                    continue  # symlinked folders are not followed (loops)
            except OSError as exc:
                tree.problems.append(Problem(entry.path, f"not read ({limits.describe_os_error(exc)})"))
                continue
            reason = limits.not_regular_reason(entry.path)
            if reason:
                tree.problems.append(Problem(entry.path, reason))
        stack.extend(reversed(subdirs))  # depth first, in name order, like os.walk
    tree.files = found
    return tree


def discover(paths: list[str | Path]) -> tuple[list[RunSource], list[Problem]]:
    """All runs under `paths`, plus one Problem per path or file that could not be used."""
    from advisor.ingest import format_modules, mlflow_server, remote

    sources: list[RunSource] = []
    problems: list[Problem] = []
    for raw in paths:
        mirror = None
        if mlflow_server.is_url(raw):
            try:
                found = mlflow_server.list_runs(str(raw))
            except mlflow_server.ServerError as exc:
                problems.append(Problem(str(raw), str(exc).removeprefix(f"{raw}: ")))
                continue
            sources.extend(found)
            if not found:
                problems.append(Problem(str(raw), "the experiment has no active run"))
            continue
        if remote.is_remote(raw):
            try:
                mirror = remote.mirror(str(raw))
            except remote.RemoteError as exc:
                problems.append(Problem(str(raw), str(exc).removeprefix(f"{raw}: ")))
                continue
            given = mirror.local
        else:
            given = Path(remote.local_path(raw))
        if not given.exists() and mirror is None:
            problems.append(Problem(str(raw), "no such file or folder"))
            continue
        tree = walk(given) if given.exists() else FileTree(given=given, base=given)
        tree.mirror = mirror
        problems.extend(tree.problems)
        before = len(sources)
        for module in format_modules():
            sources.extend(module.claim(tree))
        if mirror is not None:
            for src in sources[before:]:
                src.options["remote"] = {"local": str(mirror.local), "url": mirror.url}
        for f in tree.unclaimed():
            reason = _why_unrecognised(f)
            if reason:
                problems.append(Problem(tree.run_name(f) if mirror else str(f), reason))
        if len(sources) == before and not any(p.path.startswith(str(raw) if mirror else str(given)) for p in problems):
            short = _too_short(tree, mirror)
            problems.extend(short or [Problem(str(raw), "no training log found (no TensorBoard event file, CSV, JSON, W&B, HF, MLflow or DVCLive log, no console output with epochs or steps)")])
    return _once(sources), problems


def _once(sources: list[RunSource]) -> list[RunSource]:
    """Each run once, the first time it was found: a folder given beside one of its subfolders
    (`advisor diagnose runs runs/exp3`) finds the subfolder's runs twice, and reported them twice."""
    seen: set = set()
    out = []
    for src in sources:
        key = (src.format, os.path.realpath(src.path), repr(sorted(src.options.items(), key=lambda kv: kv[0])))
        if key not in seen:
            seen.add(key)
            out.append(src)
    return out


def _too_short(tree: FileTree, mirror) -> list[Problem]:
    """One Problem per console-like file that holds training records, but too few to be read as a log: said
    of that file, where "no training log found" would be untrue (DETR's JSON-lines `log.txt` of 2 epochs)."""
    from advisor.ingest import console

    out = []
    for f in tree.unclaimed():
        found = console.too_few_records(f)
        if found:
            out.append(Problem(tree.run_name(f) if mirror else str(f),
                               f"only {found} training record{'s' if found > 1 else ''} (a step or epoch with a loss), "
                               f"too few to read as a training log (it takes {console.MIN_RECORDS})"))
    return out


# the log files a Git LFS pointer is worth naming for (a pointer for a tokenizer.json or a README.txt is no log)
LFS_LOG_SUFFIXES = {".csv", ".tsv", ".jsonl", ".ndjson", ".wandb"}
_LOG_NAME = re.compile(r"log|metric|history|progress|result|trainer_state|scalars")


def _why_unrecognised(path: Path) -> str | None:
    """A message for files that look like logs but no format claimed; None for files to ignore quietly."""
    name = path.name.lower()
    if "tfevents" in name or path.suffix.lower() in LOG_LIKE_SUFFIXES:
        why_not = limits.open_problem(path)
        if why_not:  # say what stopped us, not what the file failed to look like
            return f"not read ({why_not})"
        from advisor.ingest import LFS_ADVICE, is_lfs_pointer

        if is_lfs_pointer(path) and ("tfevents" in name or _LOG_NAME.search(name) or path.suffix.lower() in LFS_LOG_SUFFIXES):
            return f"a Git LFS pointer ({path.stat().st_size} bytes), {LFS_ADVICE}"
    if "tfevents" in name:
        return "looks like a TensorBoard event file but could not be read"
    if path.suffix.lower() in {".csv", ".tsv"}:
        return "CSV file with no recognisable step/epoch column and numeric metric columns"
    if name.endswith("trainer_state.json"):
        return "trainer_state.json without a log_history list"
    if name.endswith(".wandb"):
        return "W&B binary log that is not a :W&B transaction log"
    return None
