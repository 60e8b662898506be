"""The one sanitiser for text that reaches a terminal or a log: control characters shown as escapes.

Everything advisor prints can carry text from a log file someone else wrote: run folder names, tag
names, hparams, error messages quoting a file. A terminal interprets some of those characters:
`ESC ] 0 ; title BEL` retitles the window, `ESC [ 2 J` clears the screen, `ESC ] 8 ;;` makes a
link, the single-byte C1 `U+009B` is a CSI on many terminals, a bare CR overwrites the line it
is on, and the bidi overrides (`U+202E`) make `gpj.exe` read as `exe.jpg`. `sanitize` writes
each such character as a visible Python-style escape (`\\x1b`, `\\x9b`, `\\u202e`, `\\r`), so the
sequence is shown, not obeyed, and the reader can still tell what was in the file. Dropping the
characters (or replacing them all by U+FFFD) would hide that a name is hostile.

What is escaped:
- C0 controls except TAB (and LF where the caller allows several lines), DEL;
- C1 controls U+0080–U+009F (CSI U+009B, OSC U+009D, NEL U+0085, …);
- bidi embeddings, overrides and isolates (U+202A–U+202E, U+2066–U+2069), the marks LRM, RLM and
  ALM, and the Unicode line and paragraph separators (U+2028/U+2029, a new line to some viewers);
- lone surrogates: a file name that is not valid UTF-8 reaches Python as U+DC80–U+DCFF
  (`surrogateescape`) and would make printing raise; they are shown as the byte they stand for
  (`\\xb4`).

Every command prints through `sanitize` / `say` (advisor.cli, advisor.report, advisor.verify), and
the report renderers clean every field from a log with it (advisor.report.common.clean), so there
is exactly one definition of what is unsafe.
"""
from __future__ import annotations

import contextlib
import re
import sys
from typing import Any

_BIDI_AND_SEPARATORS = "\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069"
# Lone surrogates: only reachable through surrogateescape'd bytes or broken JSON "\ud800" escapes.
_SURROGATES = "\ud800-\udfff"
_UNSAFE = re.compile(f"[\x00-\x08\x0a-\x1f\x7f-\x9f{_BIDI_AND_SEPARATORS}{_SURROGATES}]")
_UNSAFE_KEEP_NEWLINE = re.compile(f"[\x00-\x08\x0b-\x1f\x7f-\x9f{_BIDI_AND_SEPARATORS}{_SURROGATES}]")

_NAMED = {"\n": "\\n", "\r": "\\r"}


def _escape(match: re.Match) -> str:
    ch = match.group(0)
    named = _NAMED.get(ch)
    if named:
        return named
    code = ord(ch)
    if 0xDC80 <= code <= 0xDCFF:  # a surrogateescape'd byte of a non-UTF-8 file name
        return f"\\x{code - 0xDC00:02x}"
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}"


def sanitize(text: Any, *, newlines: bool = False) -> str:
    """`text` with every character a terminal could obey written as a visible escape.

    One line by default: a newline in a run name could otherwise forge a line of output
    (`warning: …`, `::error::`). `newlines=True` keeps LF for multi-line text whose line breaks
    are ours (a report body, a rule's documentation). TAB is always kept.
    """
    s = "" if text is None else str(text)
    pattern = _UNSAFE_KEEP_NEWLINE if newlines else _UNSAFE
    return pattern.sub(_escape, s)


def say(text: Any, *, err: bool = True) -> None:
    """Print one message line for the person (stderr by default), sanitised.

    A closed pipe is not an error here: the reader has stopped listening.
    """
    stream = sys.stderr if err else sys.stdout
    with contextlib.suppress(BrokenPipeError):
        print(sanitize(text), file=stream, flush=err)


__all__ = ["sanitize", "say"]
