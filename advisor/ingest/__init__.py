"""Ingest: from files on disk to `Run`s, one module per log format.

Every format module exposes the same two functions:

    claim(tree: FileTree) -> list[RunSource]
        Look at the tree's unclaimed files (name first, then at most the first few KiB of
        content), group the ones this format owns into runs, mark them claimed with
        `tree.claim(...)`, and return one RunSource per run. Never read a whole file here.

    read(source: RunSource) -> Run
        Read every point. Damaged input yields the readable data plus one warning line per
        problem in `run.warnings`; a file with nothing readable raises IngestError with a
        one-line message naming the file.

`FORMATS` is the claim order: stores that contain other formats claim first.
"""
from __future__ import annotations

import importlib
from pathlib import Path
from types import ModuleType

from advisor.model import IngestError, Run, RunSource

FORMATS: dict[str, str] = {
    # format id -> module
    "mlflow": "advisor.ingest.mlflow",
    "wandb": "advisor.ingest.wandb",
    "hf-trainer": "advisor.ingest.hf_trainer",
    # OpenMMLab's scalars.json / .log.json: before the generic JSON lines, and before TensorBoard, whose
    # event files a launch's vis_data/ may hold too (the same scalars again)
    "mmlab": "advisor.ingest.mmlab",
    "tensorboard": "advisor.ingest.tensorboard",
    "dvclive": "advisor.ingest.dvclive",  # a Live folder's plots/metrics/**.tsv: one run, before csv splits it
    "csv": "advisor.ingest.csv_logs",
    "json": "advisor.ingest.json_logs",  # Keras History dicts, TensorBoard UI JSON downloads
    "jsonl": "advisor.ingest.jsonl_logs",  # one JSON object of metrics per line (detectron2, Ray Tune, loops)
    "console": "advisor.ingest.console",  # a terminal's output saved to a file (Keras fit, Megatron, loops): last
}


def format_modules() -> list[ModuleType]:
    mods = []
    for name in FORMATS.values():
        try:
            mods.append(importlib.import_module(name))
        except ModuleNotFoundError as exc:  # a format module not written yet must not break the rest
            if exc.name != name:
                raise
    return mods


# what a file checked out without `git lfs pull` holds instead of its content (a ~130-byte text stub)
LFS_POINTER = b"version https://git-lfs.github.com/spec/"
LFS_POINTER_MAX = 1024


def read(source: RunSource) -> Run:
    """Read one discovered run with its format's reader.

    A log committed to Git LFS and cloned without `git lfs pull` is a pointer stub under the log's own
    name (public repositories holding trainer_state.json, event files and metrics.csv often ship them):
    its reader can only call it damaged, so the stub is named for what it is, and how to get the file."""
    module = importlib.import_module(FORMATS[source.format])
    try:
        run = module.read(source)
    except IngestError as exc:
        stubs = lfs_pointers(source)
        if stubs:
            raise IngestError(lfs_message(stubs)) from exc
        raise
    if not isinstance(run, Run):
        raise TypeError(f"{FORMATS[source.format]}.read returned {type(run).__name__}, not Run")
    if run.warnings:  # a damaged file among readable ones: a stub is the likely cause (checked only then)
        stubs = lfs_pointers(source)
        if stubs:
            run.warnings.append(lfs_message(stubs))
    return run


def lfs_pointers(source: RunSource) -> list[Path]:
    """The files of `source` that are Git LFS pointer stubs."""
    files = source.files or ([source.path] if source.path.is_file() else [])
    return [f for f in files if is_lfs_pointer(f)]


def is_lfs_pointer(path: Path) -> bool:
    """Whether `path` is a Git LFS pointer stub (only a file under LFS_POINTER_MAX bytes is opened)."""
    try:
        if path.stat().st_size > LFS_POINTER_MAX:
            return False
        with open(path, "rb") as fh:
            return fh.read(len(LFS_POINTER)) == LFS_POINTER
    except OSError:
        return False


LFS_ADVICE = "not the log itself: fetch the content with `git lfs pull`"


def lfs_message(stubs: list[Path]) -> str:
    more = f" (and {len(stubs) - 1} more file(s) like it)" if len(stubs) > 1 else ""
    return f"{stubs[0]}: a Git LFS pointer ({stubs[0].stat().st_size} bytes){more}, {LFS_ADVICE}"


__all__ = ["FORMATS", "format_modules", "read", "IngestError"]
