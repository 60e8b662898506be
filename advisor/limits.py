"""Limits on what one log may cost: bytes, YAML expansion, hparams, CSV fields. One policy, one place.

Logs come from anywhere (a colleague's folder, a downloaded artifact, a CI cache), so every reader
assumes the file may be hostile or simply huge, and the cost of reading it is bounded here:

- `file_bytes`: a text log (CSV, JSON, YAML, W&B history, …) larger than this is not read. TensorBoard
  event files are streamed and bounded by `call_bytes` only.
- `call_bytes`: all the bytes one `advisor` call may read, summed over its files; once spent, the
  remaining files are reported as not read instead of the call running for hours. Runs get their
  share in input order before they fan out to `--jobs` workers (`share_out`), so the budget holds
  for the call, not per worker, and the same runs are read whatever the number of jobs.
- `yaml_nodes`: a YAML document's size *after alias expansion* (a 746-byte "billion laughs"
  `hparams.yaml` expands to ~10^9 keys); a document above it is refused with a one-line warning.
- `hparams` / `hparams_depth`: flattened hparams kept per run, and the nesting they are read to.
- `config_bytes`: a YAML config (hparams.yaml, W&B config.yaml, MLflow meta.yaml) larger than this is not
  parsed (PyYAML is pure Python: a 20 MiB YAML line takes most of a minute).
- `csv_field_bytes`: one CSV cell (Python's default is 128 KiB; some loggers write long JSON
  blobs into a cell); a row with a longer cell is skipped and counted.

JSON nesting is bounded by Python's recursion limit (the stdlib decoder raises RecursionError, which
every reader turns into "nested too deep" for that line or file), not by a knob here.

Raise a limit with `--limit NAME=VALUE` (sizes take K/M/G suffixes: `--limit file_bytes=8G`) or in
config, `[tool.advisor.limits]`. The CLI installs the policy with `use()` for the duration of a
call; readers ask `current()`.

Opening files goes through `open_regular` so the checks every reader needs are made once, in the
right order: only regular files are opened (a FIFO named `metrics.csv` would block discovery
forever; `/dev/urandom` behind a symlink never ends), opened with O_NONBLOCK so even a file swapped
for a FIFO after discovery cannot hang the call, permission denied said as such, and the size
checked against the byte budgets before a byte is read.
"""
from __future__ import annotations

import contextlib
import contextvars
import errno
import os
import stat
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any, BinaryIO, Iterable, Iterator, Mapping

KIB, MIB, GIB = 1 << 10, 1 << 20, 1 << 30


@dataclass(frozen=True)
class Limits:
    file_bytes: int = 4 * GIB
    call_bytes: int = 256 * GIB
    yaml_nodes: int = 200_000
    hparams: int = 5_000
    hparams_depth: int = 16
    csv_field_bytes: int = 16 * MIB
    config_bytes: int = 4 * MIB

    @classmethod
    def names(cls) -> list[str]:
        return [f.name for f in fields(cls)]

    def raised(self, overrides: Mapping[str, Any]) -> "Limits":
        """These limits with `overrides` ({name: int or "8G"}) applied; ValueError names a bad one."""
        known = set(self.names())
        values = {}
        for name, raw in overrides.items():
            if name not in known:
                raise ValueError(f"unknown limit {name!r} (known: {', '.join(sorted(known))})")
            values[name] = parse_size(raw, name)
        return replace(self, **values)


DEFAULT = Limits()
_SUFFIX = {"": 1, "K": KIB, "M": MIB, "G": GIB, "T": 1 << 40}


def parse_size(raw: Any, name: str = "limit") -> int:
    """`123`, `64K`, `8G`, `1.5G` (binary units; a trailing `B`/`iB` is allowed) as a positive int."""
    if isinstance(raw, bool):
        raise ValueError(f"limit {name!r} must be a number, not {raw!r}")
    if isinstance(raw, int):
        value = raw
    else:
        text = str(raw).strip().upper().replace("_", "").removesuffix("IB").removesuffix("B")
        unit = text[-1:] if text[-1:] in _SUFFIX and text[-1:] else ""
        number = text[: len(text) - len(unit)] if unit else text
        try:
            value = int(float(number) * _SUFFIX[unit])
        except (ValueError, OverflowError):
            raise ValueError(f"limit {name!r}: {raw!r} is not a size (e.g. 500000, 64K, 8G)") from None
    if value <= 0:
        raise ValueError(f"limit {name!r} must be positive, not {raw!r}")
    return value


def parse_flags(flags: tuple[str, ...] | list[str]) -> dict[str, str]:
    """`("file_bytes=8G", "yaml_nodes=1e6")` → {"file_bytes": "8G", ...}; ValueError on `name` alone."""
    out = {}
    for flag in flags:
        name, sep, value = flag.partition("=")
        if not sep or not name.strip() or not value.strip():
            raise ValueError(f"--limit {flag!r}: expected NAME=VALUE, e.g. file_bytes=8G")
        out[name.strip()] = value.strip()
    return out


# ----------------------------------------------------------------------------- the active policy


@dataclass
class _Call:
    limits: Limits
    spent: int = 0  # bytes charged so far in this call


_ACTIVE: contextvars.ContextVar[_Call | None] = contextvars.ContextVar("advisor_limits", default=None)


def current() -> Limits:
    call = _ACTIVE.get()
    return call.limits if call else DEFAULT


@contextlib.contextmanager
def use(limits: Limits | None = None) -> Iterator[Limits]:
    """Install `limits` (default: the defaults) and a fresh per-call byte budget for the block."""
    token = _ACTIVE.set(_Call(limits or DEFAULT))
    try:
        yield limits or DEFAULT
    finally:
        _ACTIVE.reset(token)


@contextlib.contextmanager
def within(limits: Limits | None) -> Iterator[Limits]:
    """`use(limits)` unless those limits are already active (then the call's byte budget goes on
    counting); for code that may run in the calling process or in an executor's worker."""
    call = _ACTIVE.get()
    if limits is None or (call is not None and call.limits == limits):
        yield current()
        return
    with use(limits) as active:
        yield active


def share_out(sizes: Iterable[int]) -> Iterator[int | None]:
    """The call's byte budget handed out to its runs in input order, before they fan out to workers.

    With `--jobs N` (or Ray) the runs are read in processes that share no counter: each worker
    would spend the whole `call_bytes` on its own, and which runs got read would depend on
    scheduling. So the calling process decides, from the sizes of the files discovery found for
    each run: a run gets what the call has left when its turn comes (None: its files do not fit,
    it is not read) and its size is charged to the call. The run then reads within that share
    (`share`), wherever it runs; the same runs are read for every number of jobs and executor.
    Side files a reader opens beyond the discovered ones (a config next to a CSV) are paid from
    the run's share too, so the call can read at most their sizes beyond `call_bytes`.
    """
    call = _ACTIVE.get() or _Call(current())
    for size in sizes:
        left = call.limits.call_bytes - call.spent
        if size > left:
            yield None
            continue
        call.spent += size
        yield left


@contextlib.contextmanager
def share(nbytes: int) -> Iterator[Limits]:
    """Read one run within `nbytes` of the call's byte budget (its share from `share_out`), under
    the active limits; the call's own counter is left as `share_out` set it."""
    limits = current()
    token = _ACTIVE.set(_Call(limits, spent=limits.call_bytes - nbytes))
    try:
        yield limits
    finally:
        _ACTIVE.reset(token)


def budget_spent(limits: Limits | None = None) -> str:
    """Why a file or a run was not read once the per-call byte budget is spent (one line)."""
    limits = limits or current()
    return f"the per-call byte budget of {human(limits.call_bytes)} is spent (raise it with --limit call_bytes=…)"


class LimitExceeded(OSError):
    """A file (or the call) would cost more than the policy allows; the message says which limit."""


def charge(path: Path | str, nbytes: int) -> None:
    """Count `nbytes` read from `path` against the per-call budget (when a call is active)."""
    call = _ACTIVE.get()
    if call is None:
        return
    if call.spent + nbytes > call.limits.call_bytes:
        raise LimitExceeded(errno.EFBIG, budget_spent(call.limits))
    call.spent += nbytes


def human(n: int) -> str:
    for unit, size in (("GiB", GIB), ("MiB", MIB), ("KiB", KIB)):
        if n >= size:
            return f"{n / size:.3g} {unit}"
    return f"{n} bytes"


# ----------------------------------------------------------------------------- opening files

_KINDS = [(stat.S_ISFIFO, "a FIFO (named pipe)"), (stat.S_ISCHR, "a character device"),
          (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"), (stat.S_ISDIR, "a folder")]


def kind_of(mode: int) -> str:
    """`a FIFO (named pipe)`, `a character device`, … for a non-regular st_mode."""
    return next((name for test, name in _KINDS if test(mode)), "not a regular file")


def not_regular_reason(path: Path | str) -> str | None:
    """Why `path` must not be opened (not a regular file, also through a symlink), or None when it may."""
    try:
        st = os.stat(path)
    except OSError:
        return None  # missing or unreadable: the opener will say so
    if stat.S_ISREG(st.st_mode):
        return None
    through = " (through a symlink)" if os.path.islink(path) else ""
    return f"not a regular file: {kind_of(st.st_mode)}{through}; skipped"


def describe_os_error(exc: OSError) -> str:
    """An OSError as the short reason a user needs: `permission denied`, `no such file`, …"""
    if isinstance(exc, LimitExceeded):
        return exc.strerror or str(exc)
    if exc.errno in (errno.EACCES, errno.EPERM):
        return "permission denied"
    if exc.errno == errno.ENOENT:
        return "no such file (removed while reading?)"
    if exc.errno == errno.ENAMETOOLONG:
        return "path too long"
    return (exc.strerror or str(exc)).lower()


def open_regular(path: Path | str, *, text_log: bool = True) -> BinaryIO:
    """Open `path` for binary reading, only if it is a regular file within the byte budgets.

    Raises OSError (LimitExceeded for the budgets) with a reason fit for a one-line message; see
    `describe_os_error`. `text_log=False` (streamed binary logs) skips the per-file size limit.
    """
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise OSError(errno.EINVAL, f"not a regular file ({kind_of(st.st_mode)})")
        limits = current()
        if text_log and st.st_size > limits.file_bytes:
            raise LimitExceeded(errno.EFBIG, f"{human(st.st_size)} is over the per-file limit of "
                                f"{human(limits.file_bytes)} (raise it with --limit file_bytes=…)")
        charge(path, st.st_size)
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def read_head(path: Path | str, size: int) -> bytes:
    """At most `size` first bytes of a regular file, or b'' (sniffing must never raise or block)."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    except OSError:
        return b""
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return b""
        return os.read(fd, size)
    except OSError:
        return b""
    finally:
        os.close(fd)


def open_problem(path: Path | str) -> str | None:
    """Why `path` cannot be opened for reading (`permission denied`, …), or None when it can."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        return describe_os_error(exc)
    os.close(fd)
    return None


def read_file(path: Path | str) -> bytes:
    """A whole text log, through `open_regular`."""
    with open_regular(path) as fh:
        return fh.read()


__all__ = ["Limits", "DEFAULT", "current", "use", "within", "charge", "share_out", "share", "budget_spent", "open_regular", "read_head", "read_file",
           "not_regular_reason", "open_problem", "describe_os_error", "parse_size", "parse_flags", "LimitExceeded", "human"]
