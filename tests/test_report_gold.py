"""Gold files: each CI/terminal format rendered from a fixed, hand-built Diagnosis.

The gold files are the reviewed, exact bytes a user or a CI system sees. A renderer change that
alters them fails here; if the change is deliberate, regenerate with

    ADVISOR_UPDATE_GOLD=1 python -m pytest tests/test_report_gold.py

and review the diff of tests/gold/ like code. Versions, timestamps and absolute paths are
scrubbed first so the files do not churn on a release or differ between machines.
(HTML is checked structurally and in a real browser instead: its SVG bytes follow matplotlib's
version.)
"""
from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from advisor import __version__
from advisor.report import RenderOptions, render
from gold.samples import hostile_diagnosis, sample_diagnosis
from conftest import FIXTURES

GOLD = Path(__file__).resolve().parent / "gold"
REPO = Path(__file__).resolve().parents[1]
UPDATE = os.environ.get("ADVISOR_UPDATE_GOLD") == "1"

CASES = [
    # (gold file, diagnosis, format, options)
    ("sample.txt", sample_diagnosis, "text", RenderOptions()),
    ("sample-verbose.txt", sample_diagnosis, "text", RenderOptions(verbose=True)),
    ("sample.md", sample_diagnosis, "markdown", RenderOptions()),
    ("sample.github.txt", sample_diagnosis, "github", RenderOptions()),
    ("sample.junit.xml", sample_diagnosis, "junit", RenderOptions(fail_on="error")),
    ("sample-fail-on-warning.junit.xml", sample_diagnosis, "junit", RenderOptions(fail_on="warning")),
    ("sample.json", sample_diagnosis, "json", RenderOptions()),
    ("hostile.txt", hostile_diagnosis, "text", RenderOptions(verbose=True)),
    ("hostile.md", hostile_diagnosis, "markdown", RenderOptions()),
    ("hostile.github.txt", hostile_diagnosis, "github", RenderOptions()),
    ("hostile.junit.xml", hostile_diagnosis, "junit", RenderOptions()),
    ("hostile.json", hostile_diagnosis, "json", RenderOptions()),
]


def scrub(text: str) -> str:
    """Replace what legitimately varies between machines and releases."""
    text = text.replace(str(REPO), "<REPO>")
    text = re.sub(r"(/tmp|/var/folders)/[^\s\"'<>]*", "<TMP>", text)
    text = re.sub(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?( ?UTC|Z|[+-]\d{2}:?\d{2})?", "<TIME>", text)
    text = text.replace(f"advisor {__version__}", "advisor <VERSION>")
    text = text.replace(f'"advisor_version": "{__version__}"', '"advisor_version": "<VERSION>"')
    text = text.replace(f'name="advisor.version" value="{__version__}"', 'name="advisor.version" value="<VERSION>"')
    return text


@pytest.mark.parametrize("name,make,fmt,options", CASES, ids=[c[0] for c in CASES])
def test_gold(name, make, fmt, options):
    got = scrub(render(make(), fmt, options))
    path = GOLD / name
    if UPDATE:
        path.write_text(got, encoding="utf-8", newline="")
        pytest.skip(f"updated {path.name}")
    assert path.exists(), f"missing gold file {path}; run with ADVISOR_UPDATE_GOLD=1 and review it"
    want = path.read_text(encoding="utf-8")
    assert got == want, f"{name} differs from its gold file (ADVISOR_UPDATE_GOLD=1 to accept a deliberate change)"


def test_renderers_are_deterministic():
    for _, make, fmt, options in CASES:
        assert render(make(), fmt, options) == render(make(), fmt, options)


def test_colour_only_when_asked():
    plain = render(sample_diagnosis(), "text", RenderOptions(color=False))
    coloured = render(sample_diagnosis(), "text", RenderOptions(color=True))
    assert "\x1b" not in plain
    assert "\x1b[" in coloured
    # Same words either way: colour is decoration, never content.
    assert re.sub(r"\x1b\[[0-9;]*m", "", coloured) == plain


def test_text_is_worst_first_and_healthy_runs_are_one_line():
    out = render(sample_diagnosis(), "text")
    order = [line.split()[1] for line in out.splitlines() if re.match(r"^(FAIL|ERROR|WARN|ok)\s", line)]
    assert order == ["runs/lr-0.1", "runs/crashed", "runs/adam-3e-3", "runs/short-budget", "runs/baseline"]
    healthy = [line for line in out.splitlines() if "runs/baseline" in line]
    assert len(healthy) == 1 and healthy[0].endswith("no findings")
    assert "lr: 0.1 → 0.033 (×0.33)" in out  # the recommended change, with the run's own lr


def test_a_healthy_run_read_with_warnings_keeps_them_in_text():
    """A damaged CSV whose readable rows show nothing wrong is one "no findings" line, and the reader's
    warnings (a skipped line, a cut-short last line) still show under it: the data that could be read,
    plus a warning (they were printed only beside findings or with -v)."""
    from advisor.pipeline import diagnose_paths

    out = render(diagnose_paths([str(FIXTURES / "csv" / "garbage.csv")]), "text")
    lines = out.splitlines()
    head = next(i for i, line in enumerate(lines) if line.startswith("ok "))
    assert lines[head].endswith("no findings")
    notes = [line for line in lines[head + 1:] if line.startswith("  note: ")]
    assert any("skipped 1 unreadable line" in n for n in notes)
    assert any("cut short" in n for n in notes)


def test_verbose_shows_abstentions():
    assert "abstained" not in render(sample_diagnosis(), "text")
    assert "abstained: OSC002 — no epoch boundaries in the log" in render(sample_diagnosis(), "text",
                                                                          RenderOptions(verbose=True))


def test_a_run_too_short_to_judge_says_so_under_its_ok(real_logs):
    """'ok, no findings' on a log of 1-7 loss points reads as a healthy training; most signals need 8. The
    run keeps its status and says how many points it had (a Lightning fixture of 5 epochs; a real
    add_scalars log of one point), while a run of 8 or more points gets no such note."""
    from advisor.pipeline import diagnose_paths

    short = diagnose_paths([str(FIXTURES / "csv" / "lightning" / "version_0"),
                            str(real_logs / "tensorboard" / "pytorch-add-scalars-linreg" / "runs" / "test")])
    notes = {r.run.name: [w for w in r.run.warnings if "too few to judge" in w] for r in short.runs}
    assert all(r.status == "ok" for r in short.runs)
    assert sorted(n[0].split(" of its loss")[0] for n in notes.values()) == ["only 1 logged point", "only 5 logged points"]
    out = render(short, "text")
    assert out.count("  note: only ") == 2
    (long,) = diagnose_paths([str(FIXTURES / "runs" / "healthy-constant-lr")]).runs
    assert long.status == "ok" and not long.findings
    assert not [w for w in long.run.warnings if "too few to judge" in w]
