"""Every format stays inert when the logs are hostile.

Run names, tag names, hparams, warnings and error messages all come from files someone else
wrote. tests/gold/samples.py:hostile_diagnosis puts `<script>alert(1)</script>`, a run folder with
quotes and `<img src=x onerror=alert(1)>`, workflow-command forgeries (`%0A::error::`, CR/LF),
Markdown links and table pipes, `]]>`, NUL and a terminal escape (OSC 8) everywhere a log can
reach. Each test parses the output the way its consumer would and checks nothing got through.
"""
from __future__ import annotations

import html
import html.parser
import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from advisor.report import RenderOptions, render
from gold.samples import HOSTILE_RUN, HOSTILE_TAG, hostile_diagnosis

GOLD = Path(__file__).resolve().parent / "gold"


def test_text_has_no_terminal_escapes_from_logs():
    for color in (False, True):
        out = render(hostile_diagnosis(), "text", RenderOptions(color=color, verbose=True))
        # With colour, the only escapes are our own SGR colour codes.
        stripped = re.sub(r"\x1b\[[0-9;]*m", "", out)
        assert "\x1b" not in stripped and "\x07" not in stripped and "\x00" not in stripped
        assert "\r" not in out
    out = render(hostile_diagnosis(), "text")
    assert HOSTILE_TAG in out  # shown literally, not interpreted (rich markup is off)
    # A newline inside a run name cannot start a forged line of output.
    assert not any(line.startswith("::error::second") for line in out.splitlines())


def test_markdown_table_and_links_survive():
    out = render(hostile_diagnosis(), "markdown")
    rows = [line for line in out.splitlines() if line.startswith("| ") and not line.startswith("|---")]
    for row in rows:
        # Cells split only on unescaped pipes: every row keeps exactly 5 cells.
        cells = re.split(r"(?<!\\)\|", row)[1:-1]
        assert len(cells) == 5, row
    assert "<script" not in out and "<img" not in out and "<b>" not in out
    assert re.search(r"(?<!\\)\]\(", out) is None  # no live [text](url) link
    assert re.search(r"(?<!\\)`", out) is None  # no code span to break out of
    assert "&lt;script&gt;" in out
    # Only our own tag is raw HTML.
    assert re.findall(r"<(?!/?sub>)[a-zA-Z/]", out) == []


GITHUB_LINE = re.compile(r"^::(error|warning|notice)(?: ([^:]*))?::(.*)$")


def test_github_commands_cannot_be_forged():
    out = render(hostile_diagnosis(), "github")
    lines = out.splitlines()
    d = hostile_diagnosis()
    n_findings = sum(len(r.findings) for r in d.runs) + sum(1 for r in d.runs if r.error)
    assert len(lines) == n_findings + len(d.errors) + 1  # + the summary notice; nothing forged
    for line in lines:
        m = GITHUB_LINE.match(line)
        assert m, line
        props = m.group(2) or ""
        for prop in props.split(","):
            key, _, value = prop.partition("=")
            assert key == "title", line
            assert ":" not in value and "," not in value and "\n" not in value
        message = m.group(3)
        assert "\r" not in message and "\n" not in message
    # The message round-trips through the runner's unescaping to the cleaned original.
    first = GITHUB_LINE.match(lines[0]).group(3)
    unescaped = first.replace("%0D", "\r").replace("%0A", "\n").replace("%25", "%")
    assert "%0A::error::forged" in unescaped  # a literal "%0A" in the log stays literal


def test_github_property_escaping_per_spec():
    from advisor.report.github import command, escape_data, escape_property

    assert escape_data("100% a\r\nb") == "100%25 a%0D%0Ab"
    assert escape_property("a:b,c%\n") == "a%3Ab%2Cc%25%0A"
    assert command("warning", "m", title="x: y, z") == "::warning title=x%3A y%2C z::m"


def test_junit_is_valid_xml_and_keeps_names():
    out = render(hostile_diagnosis(), "junit")
    root = ET.fromstring(out.encode())
    names = [tc.get("name") for tc in root.iter("testcase")]
    assert HOSTILE_RUN in names
    assert "<img" not in out and "<script" not in out
    xmlschema = pytest.importorskip("xmlschema", reason="pip install xmlschema for XSD validation")
    xmlschema.XMLSchema(str(GOLD / "junit.xsd")).validate(out)


def test_json_round_trips_exactly():
    d = hostile_diagnosis()
    data = json.loads(render(d, "json"))
    assert data["runs"][0]["run"] in {r.run.name for r in d.runs}
    assert any(r["run"] == HOSTILE_RUN for r in data["runs"])


class _Collector(html.parser.HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.attrs: list[tuple[str, str, str | None]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.attrs.extend((tag, k, v) for k, v in attrs)

    def handle_data(self, data):
        self.text.append(data)


def test_html_is_inert():
    out = render(hostile_diagnosis(), "html")
    p = _Collector()
    p.feed(out)
    assert "script" not in p.tags and "img" not in p.tags and "iframe" not in p.tags
    assert "foreignobject" not in p.tags
    assert not [a for a in p.attrs if a[1].startswith("on")], "event-handler attribute"
    hrefs = [v for _, k, v in p.attrs if k in ("href", "src", "xlink:href", "action")]
    assert all(v.startswith("#") for v in hrefs), hrefs
    text = "".join(p.text)
    assert HOSTILE_TAG in text and HOSTILE_RUN in text  # displayed, as text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in out
    csp = html.unescape(re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', out).group(1))
    assert "default-src 'none'" in csp and "script-src 'none'" in csp


def test_html_charts_carry_no_log_text():
    """matplotlib never receives a string from a log: the chart SVG holds no hostile text."""
    from advisor.report import plots

    report = hostile_diagnosis().runs[0]
    svg = plots.run_chart_svg(report, "c1")
    assert svg and "alert" not in svg and "script" not in svg.lower() and "onerror" not in svg
    assert plots.safe_label("<script>alert(1)</script>") == "scriptalert1scri"
    with pytest.raises(ValueError):
        plots._sanitize_svg('<svg><script>alert(1)</script></svg>', "c1")
    with pytest.raises(ValueError):
        plots._sanitize_svg('<svg><image href="http://x/y.png"/></svg>', "c1")


def test_unmapped_tags_are_drawn_without_their_names():
    """A run whose tags got no role still gets a chart; its hostile tag names stay in the HTML
    caption (escaped) and never reach the SVG."""
    import numpy as np

    from advisor.model import Curves, Diagnosis, Run, RunReport, Series

    x = np.arange(50)
    run = Run(name="r", path="r", format="csv",
              series={HOSTILE_TAG: Series(HOSTILE_TAG, x, np.sin(x / 5.0), None)})
    d = Diagnosis(runs=[RunReport(run=run, metrics={}, curves=Curves(run="r"))])
    out = render(d, "html")
    chart = out[out.index('<svg xmlns:xlink'):out.index("</svg>", out.index('<svg xmlns:xlink'))]
    assert "tag 1" in chart and "script" not in chart.lower() and "alert" not in chart
    assert "tag 1 = <code>&lt;script&gt;alert(1)&lt;/script&gt;</code>" in out
