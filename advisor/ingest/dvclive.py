"""DVCLive folders: one run per `Live(dir=...)` folder, however many metric files it holds.

DVCLive (`from dvclive import Live`; its Keras, Lightning, HF, fastai and XGBoost callbacks) writes
one table per metric under `<dir>/plots/metrics/` (`<dir>` is `dvclive/` unless the script names
another), nested by the metric's name: `live.log_metric("train/loss", v)` appends a row to
`plots/metrics/train/loss.tsv`, `"eval/loss"` to `plots/metrics/eval/loss.tsv`, `"lr"` to
`plots/metrics/lr.tsv`. Each table is tab-separated with a `step` column and one value column named
after the metric's last part (dvclive 3: `step\tloss`; before 3.0 also a `timestamp` in
milliseconds, turned into seconds as every CSV's).
Beside them: `params.yaml` (`live.log_params`), `metrics.json` (the last values: a
summary, not a curve) and, in older versions, `dvc.yaml` and `report.html`.

Read as CSVs, one file at a time, each metric became a run of its own, and `eval/loss.tsv`'s lone
`loss` column a training loss. Here the folder is one run, each series is tagged with its metric's
full name (`train/loss`, `eval/loss`, `lr`), so the roles see the split, and `params.yaml` gives the
hyperparameters. Each table goes through the CSV reader (advisor.ingest.csv_logs): bad lines, junk
cells and step resets get the same warnings as anywhere else.
"""
from __future__ import annotations

from pathlib import Path

from advisor.ingest import csv_logs
from advisor.ingest._text import load_config_file
from advisor.model import IngestError, Run, RunSource

FORMAT = "dvclive"
METRIC_SUFFIXES = {".tsv", ".csv"}
SIDE_FILES = ["params.yaml", "metrics.json", "dvc.yaml"]
PARAMS = "params.yaml"
# what dvclive.fastai's DVCLiveCallback logs as params before fit (beside model, batch_size, frozen, transforms);
# fastai computes its metrics on the validation set and dvclive logs them under their bare names (`accuracy`)
FASTAI_PARAMS = {"batch_per_epoch", "frozen_idx"}


def _live_dir(path: Path) -> Path | None:
    """The Live folder when `path` is a metric table inside its plots/metrics/."""
    parts = path.parts
    for i in range(len(parts) - 3, -1, -1):
        if parts[i] == "plots" and parts[i + 1] == "metrics":
            return Path(*parts[:i]) if i else Path(".")
    return None


def claim(tree) -> list[RunSource]:
    """Claim every Live folder's metric tables and side files as one run per folder."""
    groups: dict[Path, list[Path]] = {}
    unclaimed = set(tree.unclaimed())
    for path in unclaimed:
        if path.suffix.lower() in METRIC_SUFFIXES:
            root = _live_dir(path)
            if root is not None:
                groups.setdefault(root, []).append(path)
    sources = []
    for root, tables in sorted(groups.items()):
        side = [root / n for n in SIDE_FILES if (root / n) in unclaimed]
        tables.sort()
        tree.claim(*tables, *side)
        named = tables[0] if tree.given.is_file() else root  # one table given: the run is named after it
        sources.append(RunSource(name=tree.run_name(named), path=root, format=FORMAT, files=[*tables, *side]))
    return sources


def read(source: RunSource) -> Run:
    """Every metric table of one Live folder as one run; a table that cannot be read is a warning."""
    root = Path(source.path)
    metrics = root / "plots" / "metrics"
    run = Run(name=source.name, path=str(root), format=FORMAT, writer="dvclive")
    axes: set = set()  # each table's x column (dvclive writes `step`; a hand-made table may count epochs)
    for path in (Path(p) for p in source.files):
        if path.suffix.lower() not in METRIC_SUFFIXES:
            continue
        try:
            part = csv_logs.read(RunSource(name=source.name, path=path, format=csv_logs.FORMAT, files=[path]))
        except IngestError as exc:
            run.warnings.append(str(exc))
            continue
        run.warnings.extend(part.warnings)
        folder = path.parent.relative_to(metrics).as_posix() if path.parent != metrics else ""
        for tag, series in part.series.items():
            series.tag = f"{folder}/{tag}" if folder else tag
            run.series[series.tag] = series
        run.events.extend(part.events)
        if "x_note" in part.meta:
            run.meta.setdefault("x_notes", []).append(f"{path.name}: {part.meta['x_note']}")
        axes.add(part.meta.get("x_axis"))
    params = root / PARAMS
    if params in map(Path, source.files):
        config, warning = load_config_file(params)
        run.hparams.update(config)
        if warning:
            run.warnings.append(warning)
        run.meta["config_files"] = [str(params)]
        if FASTAI_PARAMS <= set(config):
            run.writer = "fastai"  # its metrics (accuracy, error_rate) are the validation set's (advisor.roles)
    if not run.series and not run.warnings:
        raise IngestError(f"{root}: DVCLive folder with no metric rows")
    run.meta["x_axis"] = axes.pop() if len(axes) == 1 and None not in axes else "step"
    return run


__all__ = ["claim", "read"]
