"""advisor.report.output: stdout for `-o -`, whole files or none, colour only for people."""
from __future__ import annotations

import io
import os

import pytest

from advisor.report import output


class _TTY(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_exit_code_names_match_the_contract():
    assert (output.EXIT_OK, output.EXIT_FINDINGS, output.EXIT_USAGE) == (0, 1, 2)


def test_dash_means_stdout(capsys, tmp_path):
    output.write_output("-", "hello\n")
    output.write_output(None, "again\n")
    assert capsys.readouterr().out == "hello\nagain\n"
    assert not (tmp_path / "-").exists()


def test_file_written_whole_and_no_temp_left(tmp_path):
    target = tmp_path / "sub" / "report.html"
    output.write_output(target, "<html></html>\n")
    assert target.read_text() == "<html></html>\n"
    assert [p.name for p in target.parent.iterdir()] == ["report.html"]


def test_partial_file_removed_and_old_file_kept_on_error(tmp_path):
    target = tmp_path / "report.html"
    target.write_text("previous report")
    with pytest.raises(RuntimeError):
        with output.open_output(target) as f:
            f.write("half a rep")
            raise RuntimeError("renderer crashed")
    assert target.read_text() == "previous report"
    assert [p.name for p in tmp_path.iterdir()] == ["report.html"]


def test_render_crash_leaves_no_file(tmp_path):
    target = tmp_path / "new.xml"

    def boom():
        raise ValueError("bad diagnosis")

    with pytest.raises(ValueError):
        output.render_to(target, boom)
    assert not target.exists() and list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("env,tty,expected", [
    ({}, True, True),
    ({}, False, False),
    ({"CI": "true"}, True, False),
    ({"GITHUB_ACTIONS": "true"}, True, False),
    ({"CI": "false"}, True, True),
    ({"NO_COLOR": "1"}, True, False),
    ({"TERM": "dumb"}, True, False),
    ({"FORCE_COLOR": "1"}, False, True),
    ({"FORCE_COLOR": "1", "NO_COLOR": "1"}, False, False),
])
def test_use_color(env, tty, expected):
    stream = _TTY() if tty else io.StringIO()
    assert output.use_color(stream, env) is expected


def test_progress_silent_off_tty_and_in_ci(capsys):
    assert output.show_progress(_TTY(), {"CI": "true"}) is False
    assert output.show_progress(_TTY(), {}, quiet=True) is False
    assert output.show_progress(io.StringIO(), {}) is False
    assert list(output.progress(range(3), 3, enabled=False)) == [0, 1, 2]
    assert capsys.readouterr().err == ""


def test_file_permissions_follow_umask(tmp_path):
    """mkstemp makes 0600 files; a shared report must get the usual 0644 (umask 022)."""
    old = os.umask(0o022)
    try:
        target = tmp_path / "r.json"
        output.write_output(target, "{}")
        assert os.stat(target).st_mode & 0o777 == 0o644
    finally:
        os.umask(old)
