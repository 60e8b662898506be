"""`advisor diagnose --jobs N`: the same output as --jobs 1, and runs' points dropped once their
findings exist (streaming memory)."""
from __future__ import annotations

import json
import shutil

import pytest
from click.testing import CliRunner

from advisor.cli import main
from advisor.pipeline import Execution, diagnose_paths
from advisor.report import RenderOptions, render
from conftest import FIXTURES
from sweep import write_sweep


@pytest.fixture(scope="module")
def mixed_tree(tmp_path_factory):
    """Every bundled fixture format, a small sweep, and two broken files."""
    root = tmp_path_factory.mktemp("mixed")
    shutil.copytree(FIXTURES / "runs", root / "fixtures")
    write_sweep(root / "sweep", 24)
    (root / "broken").mkdir()
    (root / "broken" / "events.out.tfevents.1.host").write_bytes(b"\x00garbage" * 10)
    (root / "broken" / "trainer_state.json").write_text("{not json")
    return root


@pytest.fixture(scope="module")
def full(mixed_tree):
    """The library's default: one process, everything kept."""
    return diagnose_paths([mixed_tree])


@pytest.fixture(scope="module")
def slim(mixed_tree):
    """What `advisor diagnose` does for the text formats: two workers, points dropped."""
    return diagnose_paths([mixed_tree], keep="summary", execution=Execution(jobs=2))


def test_cli_jobs_two_prints_what_one_process_prints(mixed_tree, full):
    result = CliRunner().invoke(main, ["diagnose", str(mixed_tree), "--format", "json", "-q", "--jobs", "2"],
                                catch_exceptions=False)
    assert result.exit_code == 1  # the sweep's diverging runs are errors
    assert result.stdout == render(full, "json", RenderOptions())
    doc = json.loads(result.stdout)
    # the broken event file is also a run with status "unreadable" (it fails the gate)
    assert len(doc["runs"]) == 24 + 18 + 1 and len(doc["errors"]) == 2
    assert {r["status"] for r in doc["runs"]} >= {"ok", "warn", "fail"}


@pytest.mark.parametrize("fmt", ["json", "text", "markdown", "junit", "github"])
def test_every_text_format_is_the_same_from_two_slim_workers(full, slim, fmt):
    options = RenderOptions(verbose=True)
    assert render(slim, fmt, options) == render(full, fmt, options)


def test_summary_keeps_findings_and_point_counts_but_no_points(full, slim):
    assert [r.run.name for r in slim.runs] == [r.run.name for r in full.runs]
    assert [r.findings for r in slim.runs] == [r.findings for r in full.runs]
    assert [r.run.points for r in slim.runs] == [r.run.points for r in full.runs]
    assert all(r.run.points > 0 for r in slim.runs if r.status != "unreadable")
    assert all(not r.run.series and r.measurements is None for r in slim.runs)
    assert all(r.curves is None or not r.curves.by_role for r in slim.runs)
    assert slim.errors == full.errors


def test_curves_keep_what_the_html_charts_draw(mixed_tree):
    kept = diagnose_paths([mixed_tree], keep="curves")
    for r in kept.runs:
        assert r.measurements is None
        if r.curves is not None and r.curves.by_role:
            assert not r.run.series and r.run.points > 0


def test_address_without_ray_is_a_usage_error(mixed_tree):
    result = CliRunner().invoke(main, ["diagnose", str(mixed_tree), "--address", "auto"])
    assert result.exit_code == 2 and "--address needs --executor ray" in result.output


def test_json_is_written_piece_by_piece_and_reads_the_same(full, monkeypatch):
    from advisor.report import json_report

    converted = []
    real = json_report.run_dict
    monkeypatch.setattr(json_report, "run_dict", lambda r: converted.append(r) or real(r))
    chunks = json_report.render_chunks(full)
    head = "".join(next(chunks) for _ in range(40))
    assert head.startswith('{\n  "schema": "advisor.diagnosis/1"')
    assert 1 <= len(converted) < len(full.runs)  # runs are converted as the writer reaches them
    assert head + "".join(chunks) == render(full, "json", RenderOptions())


def test_export_streams_one_row_group_per_run_with_the_whole_table(mixed_tree, tmp_path):
    import pandas as pd
    import pyarrow.parquet as pq

    from advisor.pipeline import read_runs

    target = tmp_path / "table.parquet"
    result = CliRunner().invoke(main, ["export", str(mixed_tree), "-o", str(target), "--jobs", "2"])
    assert result.exit_code == 0, result.output
    runs, _ = read_runs([mixed_tree])
    assert pq.ParquetFile(target).num_row_groups == len(runs)
    got = pd.read_parquet(target)
    expected = pd.concat([r.table().assign(run=r.name)[["run", "tag", "step", "wall_time", "value"]]
                          for r in runs], ignore_index=True)
    assert list(got.columns) == ["run", "tag", "step", "wall_time", "value"]
    assert got["run"].astype(str).tolist() == expected["run"].tolist()
    assert got["tag"].astype(str).tolist() == expected["tag"].astype(str).tolist()
    for col in ("step", "wall_time", "value"):
        assert got[col].equals(expected[col])
    csv = CliRunner().invoke(main, ["export", str(mixed_tree), "-o", "-"])
    assert csv.stdout.count("\n") == len(got) + 1 and csv.stdout.startswith("run,tag,step,wall_time,value\n")


def test_export_of_nothing_readable_leaves_no_file(tmp_path):
    (tmp_path / "empty").mkdir()
    target = tmp_path / "t.parquet"
    result = CliRunner().invoke(main, ["export", str(tmp_path / "empty"), "-o", str(target)])
    assert result.exit_code == 2 and not target.exists() and not list(tmp_path.glob("*.part"))


def test_a_sweeps_reports_cost_the_parent_about_a_kilobyte_a_run(tmp_path):
    """What a summary diagnosis holds grows by the packed report only (~1-2 KB a run; the live
    report objects were ~13 KB a run, ~1.3 GB at 100,000 runs). Measured as the memory that two
    diagnoses of 20 and 80 runs still hold, so fixed costs (rules, caches) cancel out."""
    import gc
    import tracemalloc

    from advisor.packed import PackedReports

    small, large = write_sweep(tmp_path / "small", 20), write_sweep(tmp_path / "large", 80, seed=1)
    diagnose_paths([small], keep="summary")  # lazy imports and caches first
    gc.collect()
    tracemalloc.start()
    try:
        held = []
        for root in (small, large):
            before = tracemalloc.get_traced_memory()[0]
            held.append(diagnose_paths([root], keep="summary"))
            gc.collect()
            held.append(tracemalloc.get_traced_memory()[0] - before)
    finally:
        tracemalloc.stop()
    assert isinstance(held[2].runs, PackedReports) and len(held[2].runs) == 80
    per_run = (held[3] - held[1]) / 60
    assert per_run < 3072, f"{per_run:.0f} bytes held per run"
    assert [r.run.name for r in held[2].runs] == [r.run.name for r in diagnose_paths([large], keep="curves").runs]
