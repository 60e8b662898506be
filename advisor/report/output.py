"""Where reports go, safely: `-o -` is stdout, a file appears whole or not at all, colour and
progress only for a person at a terminal.

Why each rule:
- A half-written report.html or junit.xml is worse than none: CI would upload it and a browser
  would show a truncated page as if it were the whole story. So a file is written to a temporary
  sibling and renamed into place (atomic on POSIX); on any error the temporary file is removed
  and an existing file at the target is left as it was.
- Machine output (json/junit/github/markdown) goes to stdout, messages and progress to stderr,
  so `advisor diagnose --format json > d.json` stays parseable.
- Colour and progress bars only on a TTY, never when `CI=true` (GitHub, GitLab, Azure and
  most CI set it; their log viewers mangle cursor movement) and never with `NO_COLOR`
  (https://no-color.org); `FORCE_COLOR` forces colour for people who pipe into `less -R`.
"""
from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from pathlib import Path
from typing import IO, Iterable, Iterator, TypeVar

# Exit codes (DESIGN.md, contract): named and decided in one place, advisor.gate.
from advisor.gate import EXIT_FINDINGS, EXIT_OK, EXIT_USAGE  # noqa: E402

T = TypeVar("T")


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() not in ("", "0", "false", "no", "off")


def in_ci(env: dict[str, str] | None = None) -> bool:
    env = os.environ if env is None else env
    return _truthy(env.get("CI")) or "GITHUB_ACTIONS" in env


def use_color(stream: IO | None = None, env: dict[str, str] | None = None) -> bool:
    """Colour for the text report: a TTY, not CI, NO_COLOR unset, TERM not 'dumb'.
    FORCE_COLOR wins over everything but NO_COLOR."""
    env = os.environ if env is None else env
    if "NO_COLOR" in env and env.get("NO_COLOR", "") != "":
        return False
    if _truthy(env.get("FORCE_COLOR")):
        return True
    if in_ci(env) or env.get("TERM") == "dumb":
        return False
    stream = sys.stdout if stream is None else stream
    return bool(getattr(stream, "isatty", lambda: False)())


def show_progress(stream: IO | None = None, env: dict[str, str] | None = None, quiet: bool = False) -> bool:
    """Progress bars: stderr is a TTY, not CI, not --quiet."""
    env = os.environ if env is None else env
    if quiet or in_ci(env) or env.get("TERM") == "dumb":
        return False
    stream = sys.stderr if stream is None else stream
    return bool(getattr(stream, "isatty", lambda: False)())


def progress(items: Iterable[T], total: int | None = None, label: str = "reading",
             enabled: bool | None = None) -> Iterator[T]:
    """Iterate `items` with a transient rich progress bar on stderr when `enabled` (default:
    `show_progress()`); otherwise a plain pass-through that prints nothing."""
    if enabled is None:
        enabled = show_progress()
    if not enabled:
        yield from items
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task(label, total=total)
        for item in items:
            yield item
            bar.advance(task)


def is_stdout(path: str | os.PathLike | None) -> bool:
    return path is None or str(path) == "-"


@contextlib.contextmanager
def open_output(path: str | os.PathLike | None, *, binary: bool = False) -> Iterator[IO]:
    """A stream for the report: stdout for None or '-', else a temporary file next to `path`
    that replaces `path` only when the block finishes without an exception."""
    if is_stdout(path):
        stream = sys.stdout.buffer if binary else sys.stdout
        yield stream
        with contextlib.suppress(BrokenPipeError):
            stream.flush()
        return
    target = Path(path)
    parent = target.parent if str(target.parent) else Path(".")
    parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=parent)
    try:
        with (os.fdopen(fd, "wb") if binary else os.fdopen(fd, "w", encoding="utf-8", newline="")) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644 & ~_umask())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


REPORT_FILE_NAMES = {
    "text": "advisor.txt", "json": "advisor.json", "markdown": "advisor.md", "github": "advisor.github.txt",
    "junit": "advisor.junit.xml", "html": "advisor.html", "sarif": "advisor.sarif", "gitlab": "advisor.gitlab.json",
}


def report_targets(formats: list[str], outputs: list[str], output_dir: str | None) -> list[tuple[str, str | None]]:
    """Pair each `--format` with its `-o` (in order), or with DIR/advisor.<ext> for `--output-dir`,
    so one diagnosis feeds several reports. ValueError (a usage error) when they do not pair up."""
    if output_dir:
        if outputs:
            raise ValueError("give -o or --output-dir, not both")
        if len(set(formats)) != len(formats):
            raise ValueError("--output-dir: each --format once")
        return [(fmt, str(Path(output_dir) / REPORT_FILE_NAMES[fmt])) for fmt in formats]
    if len(formats) == 1 and len(outputs) <= 1:
        targets = [(formats[0], outputs[0] if outputs else None)]
    elif len(outputs) != len(formats):
        raise ValueError(f"{len(formats)} --format but {len(outputs)} -o: give one -o per --format, or --output-dir")
    else:
        targets = list(zip(formats, outputs))
    if sum(1 for _, out in targets if is_stdout(out)) > 1:
        raise ValueError("only one report can go to stdout: give the others -o FILE")
    for fmt, out in targets:
        if fmt == "html" and out is None:
            raise ValueError("--format html needs -o FILE (or -o - for stdout)")
    return targets


def problem_lines(diagnosis) -> list[str]:
    """One line per input that could not be used: inputs that are no run, and unreadable runs;
    each names its file once (advisor.report.common.located)."""
    from advisor.report.common import located

    lines = [located(e.get("path"), e.get("message")) for e in diagnosis.errors]
    lines += [located(r.run.name, r.read_error) for r in diagnosis.runs if r.read_error]
    return lines


def say_problems(lines: list[str], nothing_readable: bool) -> None:
    """Each input problem once, on stderr (the report on stdout or in a file shows it in its own
    format), folded into the final message when it is why nothing could be read."""
    if nothing_readable:
        if len(lines) == 1:
            message(f"advisor: nothing readable: {lines[0]}")
            return
        for line in lines:
            message(f"error: {line}")
        message("advisor: nothing readable found")
        return
    for line in lines:
        message(f"warning: {line}")


def write_output(path: str | os.PathLike | None, text: str) -> None:
    """Write a rendered report to `path` ('-' or None = stdout), atomically for files.

    A closed pipe on stdout (`advisor diagnose | head`) is not an error: the reader has what it
    wanted. stdout is pointed at /dev/null so Python's exit flush does not raise again.
    """
    write_chunks(path, [text])


def write_chunks(path: str | os.PathLike | None, chunks: Iterable[str]) -> None:
    """`write_output` for a report produced piece by piece (a streaming renderer): each piece is
    written as it comes, so the whole text is never in memory; a file still appears whole or
    not at all."""
    try:
        with open_output(path) as f:
            for chunk in chunks:
                f.write(chunk)
    except BrokenPipeError:
        if not is_stdout(path):
            raise
        with contextlib.suppress(OSError):
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())


def render_to(path: str | os.PathLike | None, render_fn, *args, **kwargs) -> None:
    """Render, then write: the renderer runs before the file is opened, so a renderer crash
    leaves no file (and no truncated stdout) behind."""
    text = render_fn(*args, **kwargs)
    write_output(path, text)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def message(text: str, *, err: bool = True) -> None:
    """A line for the person, on stderr, so machine output on stdout stays clean (sanitised:
    advisor.terminal.say)."""
    from advisor.terminal import say

    say(text, err=err)


__all__ = [
    "EXIT_OK", "EXIT_FINDINGS", "EXIT_USAGE", "write_chunks", "in_ci", "use_color", "show_progress", "progress",
    "is_stdout", "open_output", "write_output", "render_to", "message",
]

