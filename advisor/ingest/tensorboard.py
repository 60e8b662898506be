"""TensorBoard event files: which folders make a run, and every scalar point in them.

Grouping (`claim`) follows what the writers do on disk (FORMATS.md 1.4-1.7):

* every folder that directly holds `*tfevents*` files is a run, and all its files are ONE run
  (several files = restarts or helper writers of one training);
* a Keras `X/train/` + `X/validation/` pair is one run `X`, tags prefixed `train/`, `validation/`;
* a TF Estimator `model_dir/eval/` belongs to `model_dir`, tags prefixed `eval/`;
* an `add_hparams` folder belongs to its parent run: torch and tensorboardX write the hparams of
  `writer.add_hparams(hp, metrics)` into `<run>/<timestamp>/` (first tag `_hparams_/experiment`),
  so the run's lr, optimizer and batch size live one folder down; its summary metrics are kept
  as `hparams/<tag>` (one point each: never a curve);
* `add_scalars` children belong to their parent run even when the parent has no event file:
  torch writes `<run>/<main>_<key>/` (tag `<main>`), tensorboardX `<run>/<main>/<key>/`; both
  become tag `<main>/<key>`. Telling them from ordinary nested runs needs the child's first tag,
  so claim peeks at the first 4 KiB of one file per folder, never more.

Reading (`read`) decodes every record (advisor.ingest.tfevents), applies the restart rule across
the files of a folder, attaches hparams (hparams plugin, Lightning `hparams.yaml`) and guesses the
writer. Damage is reported as warnings; only a run with nothing readable at all raises.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Callable

from advisor.ingest.csv_logs import CONFIG_SIDE_FILES
from advisor.ingest.discover import FileTree
from advisor import limits
from advisor.model import IngestError, Run, RunSource

FORMAT = "tensorboard"
KERAS_SPLITS = ("train", "validation")
_DIGITS = re.compile(r"(\d+)")
_SB3_FOLDER = re.compile(r"(PPO|A2C|SAC|TD3|DQN|DDPG|HER|TRPO|ARS|QRDQN|TQC|CrossQ|RecurrentPPO|MaskablePPO)_\d+")
_TORCH_FILE = re.compile(r"tfevents\.\d+\..+\.\d+\.\d+(\.[A-Za-z0-9_-]+)?$")


def is_event_file(path: Path) -> bool:
    return "tfevents" in path.name


# ----------------------------------------------------------------------------- claim


def claim(tree: FileTree) -> list[RunSource]:
    """Group the tree's unclaimed event files into runs (see the module doc for the layouts)."""
    by_dir: dict[Path, list[Path]] = {}
    for f in tree.unclaimed():
        if is_event_file(f):
            by_dir.setdefault(f.parent, []).append(f)
    if not by_dir:
        return []
    inside = _inside(tree)
    members: dict[Path, list[dict[str, Any]]] = {}
    for folder in sorted(by_dir):
        root, member = _place(folder, by_dir, inside)
        members.setdefault(root, []).append(member)
    sources = []
    # folders with event folders below them (one pass: a sweep of 100,000 run folders must not compare each
    # with every other)
    above = {parent for d in by_dir for parent in d.parents}
    for root, parts in members.items():
        if len(parts) == 1 and parts[0]["kind"] == "self" and root in above and _tf_hparams_config(root, by_dir):
            tree.claim(*by_dir[root])  # the study's description: its trials below are the runs
            continue
        parts.sort(key=lambda m: (m["kind"] != "self", m["dir"]))
        files = [f for m in parts for f in sorted(by_dir[Path(m["dir"])], key=natural_key)]
        tree.claim(*files)
        name = tree.run_name(tree.given) if tree.given.is_file() else tree.run_name(root)
        sources.append(RunSource(name=name, path=root, format=FORMAT, files=files, options={"members": parts}))
    tree.claim(*_projector_files(tree, set(by_dir)))
    return sources


def _inside(tree: FileTree) -> Callable[[Path], bool]:
    """Is a folder within what the user gave? (a grouping never reaches above it)"""
    given = tree.given if tree.given.is_dir() else None

    def check(folder: Path) -> bool:
        return given is not None and (folder == given or given in folder.parents)

    return check


def _place(folder: Path, by_dir: dict[Path, list[Path]], inside: Callable[[Path], bool]) -> tuple[Path, dict]:
    """The run folder an event folder belongs to, and how its tags are renamed there."""
    parent = folder.parent
    if folder.name in KERAS_SPLITS and _looks_keras(folder, by_dir):
        # Given on its own (parent outside the given path) it stays a run, still prefixed, so
        # `validation/epoch_loss` keeps saying which split it is.
        root = parent if inside(parent) else folder
        return root, {"dir": str(folder), "kind": "keras", "prefix": folder.name + "/"}
    if (folder.name == "eval" or folder.name.startswith("eval_")) and parent in by_dir and inside(parent):
        return parent, {"dir": str(folder), "kind": "eval", "prefix": folder.name + "/"}
    if parent in by_dir and inside(parent) and _is_add_hparams_folder(by_dir[folder]):
        return parent, {"dir": str(folder), "kind": "hparams", "prefix": "hparams/"}
    if inside(parent):
        grouped = _add_scalars_parent(folder, by_dir[folder], inside)
        if grouped is not None:
            root, main_tag, key = grouped
            return root, {"dir": str(folder), "kind": "add_scalars", "main_tag": main_tag, "key": key}
    return folder, {"dir": str(folder), "kind": "self"}


def _looks_keras(folder: Path, by_dir: dict[Path, list[Path]]) -> bool:
    sibling = folder.parent / ("validation" if folder.name == "train" else "train")
    return sibling in by_dir or any(f.name.endswith(".v2") for f in by_dir[folder])


def _is_add_hparams_folder(files: list[Path]) -> bool:
    """Does this folder hold what `add_hparams` writes (its first summary is the hparams plugin's)?"""
    from advisor.ingest.tfevents import peek_first_tag

    for f in sorted(files, key=natural_key)[:4]:
        tag = peek_first_tag(f)
        if tag:
            return tag == HPARAMS_EXPERIMENT
    return False


# torch's and tensorboardX's `add_hparams` write the experiment first, in a child folder of the run; TF's
# HParams dashboard writes it alone in the parent (`hp.hparams_config`) and each trial's session
# (`_hparams_/session_start_info`, then its curves) in a folder of its own: those trials are runs
HPARAMS_EXPERIMENT = "_hparams_/experiment"


def _tf_hparams_config(folder: Path, by_dir: dict[Path, list[Path]]) -> bool:
    """Whether `folder`, a folder with trial folders below it, holds only TF's `hparams_config` experiment."""
    from advisor.ingest.tfevents import peek_first_tag

    return all(peek_first_tag(f) == HPARAMS_EXPERIMENT and f.stat().st_size < TF_HPARAMS_CONFIG_MAX
               for f in by_dir[folder])


TF_HPARAMS_CONFIG_MAX = 64 * 1024  # the study's description: a few hundred bytes (306 for 3 hparams and 1 metric)


def _add_scalars_parent(folder: Path, files: list[Path], inside: Callable[[Path], bool]) -> tuple[Path, str, str] | None:
    """(parent run folder, main tag, key) when `folder` is an add_scalars child writer's folder."""
    from advisor.ingest.tfevents import peek_first_tag

    main_tag = None
    for f in sorted(files, key=natural_key)[:4]:
        main_tag = peek_first_tag(f)
        if main_tag:
            break
    if not main_tag:
        return None
    torch_prefix = main_tag.replace("/", "_") + "_"
    if folder.name.startswith(torch_prefix) and len(folder.name) > len(torch_prefix):
        return folder.parent, main_tag, folder.name[len(torch_prefix) :]
    parts = tuple(p for p in main_tag.split("/") if p)
    if parts and len(folder.parts) > len(parts) + 1 and folder.parts[-(len(parts) + 1) : -1] == parts:
        root = folder.parents[len(parts)]
        if inside(root):
            return root, main_tag, folder.name
    return None


def _projector_files(tree: FileTree, run_folders: set[Path]) -> list[Path]:
    """torch add_embedding's projector files (`projector_config.pbtxt`, `<step>/<tag>/*.tsv`)."""
    unclaimed = tree.unclaimed()
    roots = {f.parent for f in unclaimed if f.name == "projector_config.pbtxt" and f.parent in run_folders}
    if not roots:
        return []
    found = []
    for f in unclaimed:
        if f.parent in roots and f.name == "projector_config.pbtxt":
            found.append(f)
            continue
        for root in roots:
            if root in f.parents:
                rel = f.relative_to(root)
                if len(rel.parts) >= 2 and rel.parts[0].isdigit():
                    found.append(f)
    return found


def natural_key(path: Path) -> list:
    """File order: by name with numbers compared as numbers (`.9` before `.10`)."""
    return [int(tok) if tok.isdigit() else tok for tok in _DIGITS.split(path.name)]


# ----------------------------------------------------------------------------- read


def read(source: RunSource) -> Run:
    """Every scalar of the run, restarts resolved, with hparams, writer guess and warnings."""
    from advisor.ingest import tfevents

    run = Run(name=source.name, path=str(source.path), format=FORMAT)
    names: list[str] = []
    index: dict[str, int] = {}
    decoded = []
    for folder, tags in member_tag_names(source, names, index):
        plugin_of_tag: dict[str, str] = {}  # TensorBoard carries metadata per run folder
        files = sorted((f for f in source.files if f.parent == folder), key=natural_key)
        for path in files:
            try:
                decoded.append(tfevents.read_file(path, tags, plugin_of_tag))
            except OSError as exc:
                run.warnings.append(f"{path}: cannot read ({limits.describe_os_error(exc)})")
    if not decoded and run.warnings:  # not one file could be opened: the run is unreadable
        raise IngestError(run.warnings[0] + (f" (+{len(run.warnings) - 1} more)" if len(run.warnings) > 1 else ""))
    return assemble(source, run, decoded, names)


def member_tag_names(source: RunSource, names: list[str], index: dict[str, int]):
    """(member folder, TagNames) per member of the run: the run-level tag ids every file shares."""
    from advisor.ingest import tfevents

    members = source.options.get("members") or [{"dir": str(source.path), "kind": "self"}]
    return [(Path(m["dir"]), tfevents.TagNames(names, index, _renamer(m, Path(m["dir"]), source.path)))
            for m in members]


def assemble(source: RunSource, run: Run, decoded: list, names: list[str]) -> Run:
    """The run from its decoded files (in file order): series, restarts, hparams, writer, meta.

    Shared by `read` and the live reader (advisor.live.tail), which decodes files as they grow.
    """
    from advisor.ingest import tb_assemble

    members = source.options.get("members") or [{"dir": str(source.path), "kind": "self"}]
    _raise_if_nothing_readable(source, decoded)
    for fd in decoded:
        run.warnings.extend(fd.warnings)
    run.series, run.events = tb_assemble.series_by_tag(decoded, names)
    _warn_several_trainings(source, run)
    # (the configs a trainer writes beside its event file, as the CSV reader reads them: Lightning's hparams.yaml,
    # YOLOv5's opt.yaml/hyp.yaml, Ultralytics' args.yaml)
    yaml_files = [p for m in members for p in (Path(m["dir"]) / name for name in CONFIG_SIDE_FILES) if p.is_file()]
    run.hparams = _hparams(decoded, yaml_files, run)
    run.writer = _guess_writer(decoded, names, members, [p for p in yaml_files if p.name == "hparams.yaml"])
    run.meta.update(_meta(decoded, members))
    placeholder = run.series.get(LIGHTNING_HP_METRIC)
    if placeholder is not None and bool((placeholder.value == -1.0).all()):
        # Lightning's TensorBoardLogger logs hp_metric = -1 when a fit starts, before any metric: kept as
        # logged, but no data (a version folder holding only that read "ok, 1 point" where a torch or SB3
        # folder with no scalar reads "empty")
        run.meta["placeholder_points"] = len(placeholder)
    if run.points == 0:
        run.warnings.append(f"{source.name}: no scalar data")
    return run


LIGHTNING_HP_METRIC = "hp_metric"


def _warn_several_trainings(source: RunSource, run: Run) -> None:
    """One warning when later files start the training over (tb_assemble: `new_training`): how many trainings
    one folder holds, where each later one starts, and that only the last is read.

    Why: a notebook that calls `trainer.train()` again with the same `logging_dir` (a public HF project's
    `logs/` held three trainings of 9,375, 700 and 3,128 steps) was read as one run whose curves began with
    the first training's steps and went on with the others' (train/loss 10-90 from the first, 100-400 from
    the second, 500-3,000 from the third), without a word."""
    starts = [e for e in run.events if e.get("new_training")]
    if not starts:
        return
    per_folder: dict[str, int] = {}
    for e in starts:
        per_folder[e["folder"]] = per_folder.get(e["folder"], 0) + 1
    trainings = 1 + max(per_folder.values())
    where = ", ".join(f"{e['file']} (step {e['step']:,})" for e in starts)
    dropped = sum(e["dropped"] for e in starts)
    run.warnings.append(
        f"{source.path}: {trainings} trainings logged into one folder: the step counter starts over in {where}; "
        f"only the last is diagnosed ({dropped:,} points of the earlier ones left out): give each training its "
        "own log folder to diagnose them apart")


def _renamer(member: dict, folder: Path, root: Path) -> Callable[[str], str]:
    kind = member.get("kind")
    if kind in ("keras", "eval", "hparams"):
        prefix = member["prefix"]
        return lambda tag: prefix + tag
    if kind == "add_scalars":
        main_tag, key = member["main_tag"], member["key"]
        other = folder.relative_to(root).as_posix() + "/"
        return lambda tag: f"{main_tag}/{key}" if tag == main_tag else other + tag
    return lambda tag: tag


def _raise_if_nothing_readable(source: RunSource, decoded: list) -> None:
    """IngestError when no file holds a single valid record yet some file holds bytes (garbage).

    Empty and header-only files are a fresh writer, not an error; a truncated record is a live
    run. Only files where not one record passes its CRCs mean "this is not readable data".
    """
    if any(fd.records for fd in decoded):
        return
    garbage = [fd for fd in decoded if fd.size > 0 and not fd.truncated]
    if garbage:
        first = garbage[0]
        reason = first.warnings[0].split(": ", 1)[-1] if first.warnings else "no valid record"
        raise IngestError(f"{first.path}: not a readable TensorBoard event file ({reason})")


def _hparams(decoded: list, yaml_files: list[Path], run: Run) -> dict[str, Any]:
    from advisor.ingest._text import load_config_file

    hparams: dict[str, Any] = {}
    from_yaml: dict[str, Any] = {}
    for yaml_path in yaml_files:
        values, warning = load_config_file(yaml_path)
        if warning:
            run.warnings.append(warning)
        from_yaml.update(_plain_hparams(values))
    # Lightning's hparams.yaml keeps the logged types (ints stay ints): it wins over the plugin.
    for fd in decoded:
        hparams.update(fd.hparams)
    hparams.update(from_yaml)
    return hparams


def _plain_hparams(values: dict[str, Any]) -> dict[str, Any]:
    """Drop the private internals of pickled objects (`criterion._buffers...`); keep readable ones."""
    plain = {}
    for key, value in values.items():
        if any(part.startswith("_") for part in key.split(".")):
            continue
        if isinstance(value, (list, tuple, set)):
            value = str(list(value))
        plain[key] = value
    return plain


def _meta(decoded: list, members: list[dict]) -> dict[str, Any]:
    skipped: dict[str, int] = {}
    for fd in decoded:
        for kind, count in fd.skipped.items():
            skipped[kind] = skipped.get(kind, 0) + count
    meta: dict[str, Any] = {
        "files": len(decoded),
        "records": sum(fd.records for fd in decoded),
        "non_scalar_records": skipped,
        "live": any(fd.truncated for fd in decoded),
    }
    if len(members) > 1 or members[0].get("kind") != "self":
        meta["folders"] = [{k: v for k, v in m.items()} for m in members]
    return meta


# ----------------------------------------------------------------------------- writer guess

_APP_TAG_SIGNS = (
    ("sb3", lambda tags: "time/fps" in tags or any(t.startswith("rollout/ep_") for t in tags)),
    ("yolov5", lambda tags: "x/lr0" in tags or any(t.startswith("metrics/mAP_0.5") for t in tags)),
    ("ultralytics", lambda tags: "lr/pg0" in tags or any(t.startswith("metrics/mAP50") for t in tags)),
    (
        "hf-transformers",
        lambda tags: "train/epoch" in tags
        and bool({"train/learning_rate", "train/total_flos", "train/train_runtime", "eval/runtime"} & tags),
    ),
)


def _guess_writer(decoded: list, names: list[str], members: list[dict], yaml_files: list[Path]) -> str | None:
    """The program that most likely wrote the run: application first, then the writer library."""
    tags = set(names)
    folders = [Path(m["dir"]) for m in members]
    if yaml_files or any(
        f.name.startswith("version_") and f.parent.name == "lightning_logs" for f in folders
    ):
        return "lightning"
    for writer, matches in _APP_TAG_SIGNS:
        if matches(tags):
            return writer
    if "hp_metric" in tags:
        return "lightning"
    if any(_SB3_FOLDER.fullmatch(f.name) for f in folders):
        return "sb3"
    sources = {fd.source_writer for fd in decoded if fd.source_writer}
    file_names = [fd.path.name for fd in decoded]
    keras_tags = any(t.rsplit("/", 1)[-1].startswith(("epoch_", "evaluation_")) for t in tags)
    if "tensorflow.core.util.events_writer" in sources or any(n.endswith(".v2") for n in file_names):
        return "keras-tf2" if keras_tags or any(m.get("kind") == "keras" for m in members) else "tf2"
    if any(fd.skipped.get("session_log") or fd.skipped.get("meta_graph_def") for fd in decoded):
        return "tf1"
    if "tensorboard.summary.writer.event_file_writer" in sources:
        return "torch"
    data_files = [n for fd, n in zip(decoded, file_names) if fd.records]
    if data_files and all(_TORCH_FILE.search(n) for n in data_files):
        return "torch"
    if data_files:
        return "tensorboardX"
    return None


__all__ = ["claim", "read", "is_event_file", "natural_key"]
