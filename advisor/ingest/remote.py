"""Logs in object storage and other remote file systems (`s3://`, `gs://`, `az://`, `hf://`, …).

A remote path is mirrored into a local cache, log files only, and discovery and the readers then
work on the mirror exactly as on a local folder (same claims, same readers, same results); run
names and messages show the remote URL, not the cache. fsspec does the talking (s3fs, gcsfs,
adlfs, huggingface_hub's HfFileSystem): it is what pandas, Dask and Hugging Face use for remote
paths, and its `ls` lists one "folder" per request with S3's delimiter, which is what lets the
walk below skip checkpoint trees without listing them.

What is listed: one folder at a time (`ls` with a delimiter: one LIST request per 1,000
entries), never recursively. Folders that hold checkpoints (`checkpoints/`, `ckpt*/`, `weights/`,
`global_stepN/`) are never listed; of a Hugging Face output folder's `checkpoint-N/` folders only
the latest is listed, and only when the folder has no trainer_state.json of its own, and inside
it only log files are fetched. Files that are never logs (weights, media, archives: the
`discover.SKIP_SUFFIXES`) are never fetched.

What is fetched: each log file whose ETag (S3, GCS, Azure), blob id (HF) or size and
modification time differ from those recorded for the cached copy; a nightly re-run where nothing
changed lists the folders and fetches nothing. Files deleted remotely are deleted from the mirror.
A log that writers only append to (event files, CSV, JSON lines, W&B's .wandb) and that grew is
fetched from where the cached copy ends, in one ranged read that starts `OVERLAP` bytes earlier:
those bytes must equal the cached copy's tail, else the file was rewritten, not appended to, and
is fetched whole. (An object store cannot say "appended"; a rewrite that keeps the same bytes at
the same place for the last 4 KiB of the old length is not a thing writers do, and event files
carry a CRC on every record besides.)

Where: `$ADVISOR_CACHE_DIR`, else `$XDG_CACHE_HOME/advisor`, else `~/.cache/advisor`, under
`remote/<protocol>/<bucket and key>`. Credentials and endpoints come from the usual places of
each file system (for S3: AWS_* variables, ~/.aws, `AWS_ENDPOINT_URL` or
`FSSPEC_S3_ENDPOINT_URL` for S3-compatible servers).
"""
from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from advisor import limits
from advisor.ingest.discover import KEEP_NAMES, SKIP_DIRS, SKIP_SUFFIXES

URL = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.-]*)://")
# Folders of model checkpoints: never listed.
CHECKPOINT_TREES = re.compile(r"^(?:checkpoints?|ckpts?|ckpt[-_.=].*|weights|global_step\d+)$", re.IGNORECASE)
# Hugging Face Trainer checkpoints: hold a copy of trainer_state.json (hf_trainer.CHECKPOINT_DIR).
HF_CHECKPOINT = re.compile(r"^checkpoint-(\d+)$|^(?:last|best)-checkpoint$|^checkpoint-(?:best|last)$")
# Inside a checkpoint folder only these are logs.
LOGS_IN_CHECKPOINT = re.compile(r"^trainer_state\.json$|tfevents")
# Logs written by appending only (tfevents, CSV loggers, JSON lines, .wandb): a grown one is
# fetched from where the cached copy ends.
APPENDED = re.compile(r"tfevents|\.(?:csv|tsv|jsonl|log|wandb)$", re.IGNORECASE)
# Bytes before the cached end fetched again and compared with the cached tail.
OVERLAP = 4096
# Protocol names fsspec knows that need an extra package: the install hint for each.
PACKAGES = {"s3": "s3fs", "s3a": "s3fs", "gs": "gcsfs", "gcs": "gcsfs", "az": "adlfs", "abfs": "adlfs",
            "abfss": "adlfs", "hf": "huggingface_hub"}


class RemoteError(Exception):
    """A remote path that cannot be listed or fetched: one line naming the URL."""


def is_remote(path: str | os.PathLike) -> bool:
    """A URL other than file:// (which is a local path)."""
    m = URL.match(str(path))
    return bool(m) and m.group(1).lower() not in ("file", "local")


def local_path(path: str | os.PathLike) -> str:
    """`file:///a/b` -> `/a/b`; anything else unchanged."""
    s = str(path)
    return s[len("file://"):] if s.lower().startswith("file://") else s


def cache_root() -> Path:
    if os.environ.get("ADVISOR_CACHE_DIR"):
        return Path(os.environ["ADVISOR_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "advisor"


@dataclass
class Mirror:
    """A remote folder (or file) mirrored into the cache: discovery walks `local`, names use `url`."""

    url: str
    local: Path
    listed: int = 0  # folder listings made (each one or more LIST requests)
    skipped_trees: int = 0  # checkpoint folders never listed
    fetched: int = 0  # files downloaded this time (whole or their new tail)
    fetched_bytes: int = 0  # bytes transferred
    appended: int = 0  # of the fetched files, those read from where the cached copy ended
    cached: int = 0  # files whose cached copy was current

    def display(self, path: Path | str) -> str:
        """The URL of a file or folder of the mirror (for run names and messages)."""
        rel = os.path.relpath(path, self.local)
        return self.url if rel == "." else f"{self.url.rstrip('/')}/{PurePosixPath(*Path(rel).parts)}"


def filesystem(url: str):
    """(fsspec file system, path inside it) for `url`, or RemoteError with an install hint."""
    try:
        import fsspec
    except ImportError:
        raise RemoteError(f"{url}: reading remote paths needs fsspec: pip install 'advisor[cloud]'") from None
    protocol = URL.match(url).group(1).lower()
    try:
        return fsspec.core.url_to_fs(url)
    except (ImportError, ValueError) as exc:
        package = PACKAGES.get(protocol)
        hint = f": pip install {package}" if package else ""
        raise RemoteError(f"{url}: no file system for {protocol}:// ({exc}){hint}") from None


def _version(entry: dict) -> str:
    """What identifies one version of a remote file: its ETag or blob id, else size and mtime."""
    for key in ("ETag", "etag", "md5Hash", "blob_id", "content_md5"):
        if entry.get(key):
            return f"{key}:{entry[key]}"
    mtime = next((entry[k] for k in ("LastModified", "last_modified", "mtime", "updated", "created") if entry.get(k)), "")
    return f"size:{entry.get('size')}:mtime:{mtime}"


def _wanted(name: str, size: int | None, in_checkpoint: bool) -> bool:
    if in_checkpoint:
        return bool(LOGS_IN_CHECKPOINT.search(name))
    if (PurePosixPath(name).suffix.lower() in SKIP_SUFFIXES and "tfevents" not in name
            and PurePosixPath(name).name not in KEEP_NAMES):
        return False
    return "tfevents" in name or size is None or size <= limits.current().file_bytes  # the per-file limit


def list_logs(fs, root: str, mirror: Mirror) -> dict[str, dict]:
    """Every log file under `root` (path inside `fs`) -> its listing entry, one folder at a time."""
    try:
        info = fs.info(root)
    except FileNotFoundError:
        raise RemoteError(f"{mirror.url}: no such file or folder") from None
    except Exception as exc:  # permissions, network, bad credentials: one line
        raise RemoteError(f"{mirror.url}: cannot be read ({type(exc).__name__}: {exc})") from None
    if info.get("type") != "directory":
        return {root: info} if _wanted(PurePosixPath(root).name, info.get("size"), False) else {}
    found: dict[str, dict] = {}
    stack: list[tuple[str, bool]] = [(root, False)]
    while stack:
        folder, in_checkpoint = stack.pop()
        try:
            entries = fs.ls(folder, detail=True, refresh=True)
        except Exception as exc:
            raise RemoteError(f"{mirror.url}: {folder} cannot be listed ({type(exc).__name__}: {exc})") from None
        mirror.listed += 1
        files = [e for e in entries if e.get("type") != "directory"]
        names = {PurePosixPath(e["name"]).name for e in files}
        hf_checkpoints = []
        for e in entries:
            name = PurePosixPath(e["name"].rstrip("/")).name
            if e.get("type") == "directory":
                if in_checkpoint or name in SKIP_DIRS or CHECKPOINT_TREES.match(name):
                    mirror.skipped_trees += 1
                elif HF_CHECKPOINT.match(name):
                    hf_checkpoints.append((e["name"].rstrip("/"), name))
                else:
                    stack.append((e["name"].rstrip("/"), False))
            elif _wanted(name, e.get("size"), in_checkpoint):
                found[e["name"]] = e
        if hf_checkpoints:  # the latest copy of trainer_state.json, when the folder has none of its own
            mirror.skipped_trees += len(hf_checkpoints)
            if "trainer_state.json" not in names:
                latest = max(hf_checkpoints, key=lambda c: _checkpoint_order(c[1]))
                stack.append((latest[0], True))
                mirror.skipped_trees -= 1
    return found


def _checkpoint_order(name: str) -> tuple[int, int]:
    m = re.match(r"^checkpoint-(\d+)$", name)
    return (1, 0) if "last" in name else (0, int(m.group(1))) if m else (-1, 0)


def mirror(url: str, cache: Path | None = None) -> Mirror:
    """List the log files under `url`, fetch the ones whose cached copy is missing or stale,
    drop cached files deleted remotely; return where the mirror is."""
    fs, root = filesystem(url)
    cache = cache or cache_root()
    protocol = URL.match(url).group(1).lower()
    root = root.rstrip("/")
    local = cache / "remote" / protocol / Path(*PurePosixPath(root).parts)
    result = Mirror(url=url.rstrip("/"), local=local)
    files = list_logs(fs, root, result)
    # One index per bucket (first path component), so overlapping URLs share their cached copies.
    bucket = PurePosixPath(root).parts[0] if PurePosixPath(root).parts else ""
    index_path = cache / "index" / (hashlib.sha256(f"{protocol}://{bucket}".encode()).hexdigest()[:32] + ".json")
    index = _load_index(index_path)
    is_file = len(files) == 1 and next(iter(files)) == root
    if is_file:
        targets = {root: local}
    else:
        targets = {rpath: local / Path(*PurePosixPath(os.path.relpath(rpath, root)).parts) for rpath in files}
    stale = [r for r in files if index.get(r) != _version(files[r]) or not targets[r].is_file()]
    result.cached = len(files) - len(stale)
    grown = [r for r in stale if r in index and _grew(targets[r], files[r]) and APPENDED.search(PurePosixPath(r).name)]
    whole = [r for r in stale if r not in _fetch_tails(fs, grown, targets, files, result)]
    if whole:
        _fetch(fs, whole, targets, result)
        for r in whole:
            result.fetched_bytes += targets[r].stat().st_size
    under = root + "/"
    new_index = {r: v for r, v in index.items() if r != root and not r.startswith(under)}
    new_index.update({r: _version(files[r]) for r in files})
    _prune(local, set(targets.values()), is_file)
    index_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = index_path.with_suffix(".partial")
    tmp.write_text(json.dumps(new_index, sort_keys=True))
    tmp.replace(index_path)
    return result


def _load_index(path: Path) -> dict[str, str]:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _grew(target: Path, entry: dict) -> bool:
    try:
        return 0 < target.stat().st_size < int(entry.get("size") or 0)
    except (OSError, TypeError, ValueError):
        return False


def _fetch_tails(fs, rpaths: list[str], targets: dict[str, Path], files: dict[str, dict], result: Mirror) -> set[str]:
    """Append to each cached copy what its remote file gained (one ranged read each, all at
    once where the file system can); the remote paths done this way. A file whose overlap does
    not match, or whose read fails, is left for a whole fetch."""
    if not rpaths:
        return set()
    old = {r: targets[r].stat().st_size for r in rpaths}
    starts = [max(0, old[r] - OVERLAP) for r in rpaths]
    ends = [int(files[r]["size"]) for r in rpaths]
    try:
        tails = fs.cat_ranges(rpaths, starts, ends, on_error="return")
    except Exception:  # a file system without ranged reads: fetch them whole
        return set()
    done: set[str] = set()
    for r, start, end, tail in zip(rpaths, starts, ends, tails):
        if isinstance(tail, BaseException) or len(tail) != end - start:
            continue
        with open(targets[r], "rb+") as f:
            f.seek(start)
            if f.read(old[r] - start) != tail[:old[r] - start]:
                continue  # rewritten, not appended to
            f.write(tail[old[r] - start:])  # an interrupted append leaves a true prefix: the next run resumes it
        done.add(r)
        result.fetched += 1
        result.appended += 1
        result.fetched_bytes += len(tail)
    return done


def _fetch(fs, rpaths: list[str], targets: dict[str, Path], result: Mirror) -> None:
    """Download `rpaths` (concurrently where the file system can) to a temporary name each, then
    rename, so an interrupted fetch never leaves a half file that looks current."""
    partial = {r: targets[r].with_name(f".{targets[r].name}.partial") for r in rpaths}
    for p in partial.values():
        p.parent.mkdir(parents=True, exist_ok=True)
    try:
        fs.get(rpaths, [str(partial[r]) for r in rpaths])
    except Exception as exc:
        for p in partial.values():
            p.unlink(missing_ok=True)
        raise RemoteError(f"{result.url}: fetching {len(rpaths)} log files failed ({type(exc).__name__}: {exc})") from None
    for r in rpaths:
        partial[r].replace(targets[r])
    result.fetched += len(rpaths)


def _prune(local: Path, keep: set[Path], is_file: bool) -> None:
    """Remove cached files of this mirror that are no longer remote (stale runs must not appear)."""
    if is_file or not local.is_dir():
        return
    for dirpath, _, filenames in os.walk(local):
        for name in filenames:
            p = Path(dirpath) / name
            if p not in keep:
                p.unlink(missing_ok=True)
