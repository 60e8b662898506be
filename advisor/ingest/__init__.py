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


def read(source: RunSource) -> Run:
    """Read one discovered run with its format's reader."""
    module = importlib.import_module(FORMATS[source.format])
    run = module.read(source)
    if not isinstance(run, Run):
        raise TypeError(f"{FORMATS[source.format]}.read returned {type(run).__name__}, not Run")
    return run


__all__ = ["FORMATS", "format_modules", "read", "IngestError"]
