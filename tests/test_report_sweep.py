"""The HTML report of a sweep (more than html.PAGE_RUNS runs): status and pattern filters on the
overview and run sections split into pages, all without a script, with log text kept out of
classes and ids."""
from __future__ import annotations

import re

import pytest

from advisor.model import Diagnosis, Finding, Run, RunReport
from advisor.report import html

EVIL = '"><script>alert(1)</script>'


def _report(i: int) -> RunReport:
    patterns = [[], ["divergence"], ["oscillation", "plateau"], [EVIL]][i % 4]
    severity = "error" if "divergence" in patterns else "warning"
    findings = [Finding(rule="R1", pattern=p, severity=severity, metric="loss", start_step=1, end_step=2,
                        summary="s") for p in patterns]
    return RunReport(run=Run(name=f"sweep/run_{i:02d}{EVIL if i == 3 else ''}", path="p", format="csv", dropped_points=100), metrics={},
                     findings=findings)


@pytest.fixture
def page(monkeypatch):
    monkeypatch.setattr(html, "PAGE_RUNS", 5)
    return html.render(Diagnosis(runs=[_report(i) for i in range(12)]))


def test_sections_are_split_into_pages_shown_by_css_target(page):
    before, *pages = page.split('<div class="page" id="')
    assert '<section class="run' not in before  # every section is inside a page
    assert [p.split('"', 1)[0] for p in pages] == ["page-1", "page-2", "page-3"]
    assert [p.count('<section class="run') for p in pages] == [5, 5, 2]
    assert page.count('<section class="run') == 12
    assert ".page:target, .page:has(:target) { display: block; }" in page
    assert '<a href="#page-3">11–12</a>' in page


def test_overview_rows_carry_status_and_pattern_classes_for_the_filters(page):
    patterns = sorted({"divergence", "oscillation", "plateau", EVIL})
    rows = re.findall(r'<tr class="([^"]*)">', page)
    assert len(rows) == 12
    for i, p in enumerate(patterns):
        assert sum(f"p{i}" in r.split() for r in rows) == 3  # each pattern is in 3 of the 12 runs
        assert f'#fp-{i}:checked ~ table.overview tbody tr:not(.p{i})' in page
    assert sum("s-fail" in r.split() for r in rows) == 3
    assert '#fs-fail:checked ~ table.overview tbody tr:not(.s-fail) { display: none; }' in page


def test_no_script_and_log_text_only_escaped(page):
    assert "<script" not in page
    assert "&lt;script&gt;" in page  # the pattern name and run name, shown as text
    from markupsafe import escape

    assert str(escape(html.CSP)) in page and "script-src" in html.CSP


def test_small_reports_stay_as_they_were():
    small = html.render(Diagnosis(runs=[_report(i) for i in range(6)]))
    assert 'class="page"' not in small and 'class="sweep"' not in small
