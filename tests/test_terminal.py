"""One sanitiser for everything printed (advisor.terminal): escape sequences are shown, not obeyed.

Issue 14 item 7: stderr warnings printed file names with escape sequences untouched (a run folder
named `ESC]0;…BEL` retitled the window, `ESC[2J` cleared the screen, the C1 CSI U+009B passed)
and `advisor runs` printed raw ESC from run names even through a pipe. These tests run the real
command in a subprocess with its output on a pipe, the way a user's `| less` or a CI log sees it.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from advisor.terminal import sanitize

from conftest import REPO

HOSTILE = "\x1b]0;pwned\x07\x1b[2J\x9b31m\u202eevil\r"
# What a terminal would obey: ESC, BEL, the C1 CSI, a bidi override, a bare CR.
OBEYED = ("\x1b", "\x07", "\x9b", "\u202e", "\r")


def test_sanitize_shows_each_control_as_a_visible_escape():
    assert sanitize(HOSTILE) == "\\x1b]0;pwned\\x07\\x1b[2J\\x9b31m\\u202eevil\\r"
    assert sanitize("a\tb") == "a\tb"  # TAB is harmless
    assert sanitize("a\nb") == "a\\nb"  # one line unless asked
    assert sanitize("a\nb", newlines=True) == "a\nb"
    assert sanitize("\x00\x7f\x85\u2028\u2066\u200f") == "\\x00\\x7f\\x85\\u2028\\u2066\\u200f"
    assert sanitize(None) == ""
    assert sanitize("plain – text ✓ 学习率") == "plain – text ✓ 学习率"


def test_sanitize_shows_undecodable_file_name_bytes():
    name = b"run\xb4".decode("utf-8", "surrogateescape")
    out = sanitize(name)
    assert out == "run\\xb4"
    out.encode("utf-8")  # printable: no lone surrogate left to make print() raise


def _csv_run(folder: Path) -> None:
    folder.mkdir(parents=True)
    y = 0.1 + 2.2 * np.exp(-np.arange(200) / 30)
    (folder / "metrics.csv").write_text("step,loss\n" + "".join(f"{i},{v:.5f}\n" for i, v in enumerate(y)))


def _hostile_tree(tmp_path: Path) -> Path:
    root = tmp_path / "logs"
    _csv_run(root / f"run{HOSTILE}")
    bad = root / f"bad{HOSTILE}"
    bad.mkdir(parents=True)
    (bad / "trainer_state.json").write_text("{not json")
    return root


def _advisor(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO), "TERM": "xterm-256color"}
    env.pop("NO_COLOR", None)
    return subprocess.run([sys.executable, "-m", "advisor.cli", *args], capture_output=True, env=env, cwd=REPO,
                          timeout=120)


def _assert_inert(stream: bytes) -> str:
    text = stream.decode("utf-8")
    for ch in OBEYED:
        assert ch not in text, f"{ch!r} reached the terminal: {text!r}"
    return text


@pytest.mark.parametrize("command", ["runs", "diagnose", "export"])
def test_every_command_prints_hostile_names_as_escapes(tmp_path, command):
    root = _hostile_tree(tmp_path)
    args = [command, str(root)] + (["-o", str(tmp_path / "t.csv")] if command == "export" else [])
    proc = _advisor(*args)
    out, err = _assert_inert(proc.stdout), _assert_inert(proc.stderr)
    assert proc.returncode in (0, 1), err
    # The unreadable file is named, with its hostile characters visible.
    assert "bad\\x1b]0;pwned\\x07\\x1b[2J\\x9b31m\\u202eevil\\r" in err
    if command == "runs":
        assert "run\\x1b]0;pwned\\x07" in out  # the table cell, through a pipe


def test_runs_table_cells_are_not_rich_markup(tmp_path):
    root = tmp_path / "logs"
    _csv_run(root / "[bold]x[/bold]")
    proc = _advisor("runs", str(root))
    out = _assert_inert(proc.stdout)
    assert "[bold]x[/bold]" in out  # shown literally, not taken as rich markup


def test_rules_from_a_user_folder_are_sanitised(tmp_path):
    # A user rule folder is data: its text must not drive the terminal either.
    src = (REPO / "rules" / "convergence" / "SLOW001-lr-too-low.toml").read_text()
    hostile = src.replace('id = "SLOW001"', 'id = "USR901"').replace('slug = "lr-too-low"', 'slug = "hostile"')
    hostile = hostile.replace('name = "', 'name = "\\u001b]0;pwned\\u0007', 1)
    folder = tmp_path / "rules" / "custom"
    folder.mkdir(parents=True)
    (folder / "USR901-hostile.toml").write_text(hostile)
    proc = _advisor("explain", "USR901", "--rules", str(tmp_path / "rules"))
    assert proc.returncode == 0, proc.stderr.decode()
    assert "\\x1b]0;pwned\\x07" in _assert_inert(proc.stdout)
