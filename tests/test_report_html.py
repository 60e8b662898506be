"""The HTML report and its charts: self-contained, faithful to the data, small enough to share."""
from __future__ import annotations

import math
import re
import time

import numpy as np
import pytest

from advisor.model import Curve, Curves, Diagnosis, Finding, Run, RunReport
from advisor.report import RenderOptions, html, plots, render
from gold.samples import sample_diagnosis


def reference_tb_smooth(y, w=0.6):
    """TensorBoard's formula written out plainly, as the brief states it."""
    out, last, k = [], 0.0, 0
    if all(v == y[0] for v in y):
        return list(y)
    for v in y:
        if not math.isfinite(v):
            out.append(v)
            continue
        last = w * last + (1 - w) * v
        k += 1
        out.append(last / (1 - w ** k))
    return out


def test_tb_smooth_matches_tensorboard():
    y = [1.0, 2.0, float("nan"), 4.0, float("inf"), 0.5, 3.0]
    got = plots.tb_smooth(np.array(y))
    want = reference_tb_smooth(y)
    np.testing.assert_allclose(got, want, equal_nan=True)
    assert list(plots.tb_smooth(np.array([2.0, 2.0, 2.0]))) == [2.0, 2.0, 2.0]


def test_decimation_keeps_every_spike_and_bounds_points():
    n = 1_000_000
    x = np.arange(n, dtype=float)
    rng = np.random.default_rng(1)
    y = 1.0 + 0.01 * rng.standard_normal(n)
    spikes = [12_345, 500_000, 999_998]
    y[spikes] = [50.0, 80.0, 99.0]
    y[700_000] = -30.0
    xs, ys = plots.decimate(x, y, buckets=1000)
    assert len(xs) <= 2 * 1000
    kept = set(zip(xs.tolist(), ys.tolist()))
    for s in spikes + [700_000]:
        assert (x[s], y[s]) in kept  # the exact point survives
    assert np.all(np.diff(xs) > 0)  # still in x order


def test_decimation_breaks_lines_at_nonfinite_points():
    x = np.arange(10, dtype=float)
    y = np.array([1, 2, np.nan, 4, 5, np.inf, 7, 8, 9, 10.0])
    xs, ys = plots.decimate(x, y, buckets=1000)
    assert np.isnan(ys).sum() == 2 and not np.isinf(ys).any()
    mx, my = plots.bucket_means(np.arange(5000.0), np.r_[np.ones(2500), np.nan, np.ones(2499)], buckets=100)
    assert np.isnan(my).sum() == 1 and len(mx) <= 102
    assert plots.nonfinite_runs(x, y) == [("nan", 2.0, 2.0, 1), ("+inf", 5.0, 5.0, 1)]


def test_one_run_report_is_self_contained_and_small(monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    d = sample_diagnosis()
    d.runs = [r for r in d.runs if r.run.name == "runs/lr-0.1"]
    out = render(d, "html")
    assert len(out) < 120_000
    # No external reference of any kind: the only URLs are XML namespace names.
    urls = set(re.findall(r"https?://[^\s\"'<>)]+", out))
    assert urls <= {"http://www.w3.org/2000/svg", "http://www.w3.org/1999/xlink"}, urls
    assert "<script" not in out and "@import" not in out and "<link" not in out
    assert out.count('<svg xmlns:xlink') == 1 and "2023-11-14 22:13 UTC" in out
    ids = re.findall(r'\sid="([^"]+)"', out)
    assert len(ids) == len(set(ids))
    assert "lr: 0.1 → 0.033 (×0.33)" in out
    assert "DIV001" in out and "confirmed" in out  # findings and verification shown


def test_ids_unique_across_many_charts():
    out = render(sample_diagnosis(), "html")
    ids = re.findall(r'\sid="([^"]+)"', out)
    assert len(ids) == len(set(ids))
    for ref in re.findall(r'(?:href="#|url\(#)([^")]+)', out):
        assert ref in ids or ref == "" or ref.startswith("run-")


def test_template_environment_is_strict_and_escaping():
    import jinja2

    env = html.environment()
    assert env.autoescape is True and env.undefined is jinja2.StrictUndefined
    with pytest.raises(jinja2.UndefinedError):
        env.from_string("{{ missing }}").render()
    assert env.from_string("{{ x }}").render(x="<b>") == "&lt;b&gt;"


def test_a_chart_failure_does_not_lose_the_report(monkeypatch):
    def boom(*a, **k):
        raise RuntimeError("matplotlib broke")

    monkeypatch.setattr(plots, "run_chart_svg", boom)
    monkeypatch.setenv("ADVISOR_JOBS", "1")
    out = render(sample_diagnosis(), "html")
    assert "The chart could not be drawn: RuntimeError: matplotlib broke" in out
    assert "DIV001" in out


def _synthetic(n_runs: int, n_points: int) -> Diagnosis:
    runs = []
    for i in range(n_runs):
        rng = np.random.default_rng(i)
        x = np.arange(n_points, dtype=float)
        y = 2 * np.exp(-x / (n_points / 5)) + 0.2 + 0.05 * rng.standard_normal(n_points)
        xv = x[:: n_points // 50]
        name = f"runs/exp-{i:03d}"
        cv = Curves(run=name, by_role={
            "train_loss": Curve("train_loss", "train/loss", x, y),
            "val_loss": Curve("val_loss", "val/loss", xv, 2 * np.exp(-xv / (n_points / 5)) + 0.3),
            "lr": Curve("lr", "lr", x, np.full(n_points, 0.1)),
        })
        fs = [Finding("SPK001", "loss_spike", "warning", "train/loss", 900, 950, "spike", {"ratio": 20.0})] if i % 5 == 0 else []
        runs.append(RunReport(run=Run(name=name, path=name, format="csv"), metrics={}, findings=fs, curves=cv))
    return Diagnosis(runs=runs)


@pytest.mark.slow
def test_many_runs_stay_small():
    """Size per run shrinks as the report grows (fewer buckets, shared styles): measured 6.4 MB
    for 500 runs x 2,000 points; here 60 runs keep the test quick."""
    t = time.monotonic()
    out = render(_synthetic(60, 2000), "html", RenderOptions())
    per_run = len(out) / 60
    assert per_run < 30_000, per_run  # 591 buckets at 60 runs; 166 at 500 runs (~13 KB a run)
    assert out.count('class="chart"') == 60
    assert time.monotonic() - t < 60
    assert html.buckets_for(1) == 1000 and html.buckets_for(500) < 200


def test_report_command_writes_one_file(tmp_path, monkeypatch):
    """The `advisor report` command, end to end on the bundled real logs when present."""
    from click.testing import CliRunner

    from advisor.cli import main
    from conftest import REAL_LOGS

    src = REAL_LOGS / "csv"
    if not src.exists():
        pytest.skip(f"real logs not found at {src}")
    target = tmp_path / "out" / "r.html"
    res = CliRunner().invoke(main, ["report", str(src), "-o", str(target), "--quiet"])
    assert res.exit_code == 0, res.output
    text = target.read_text()
    assert text.startswith("<!DOCTYPE html>") and "<script" not in text
    assert [p.name for p in target.parent.iterdir()] == ["r.html"]


def test_every_rule_recommendation_renders_in_latin_script():
    """The HTML never depends on a CJK font: every built-in rule's advice and citation, rendered,
    is Latin script (the sources' original words are for `advisor explain` only)."""
    from advisor.engine import load_rules
    from advisor.model import Recommendation

    d = sample_diagnosis()
    d.runs = [r for r in d.runs if r.run.name == "runs/lr-0.1"]
    finding = d.runs[0].findings[0]
    finding.recommendations = [Recommendation(rec.action, rec.change, rec.text, rec.source)
                               for rule in load_rules().rules for rec in rule.recommendations]
    out = render(d, "html")
    assert "Training &amp; debugging tips" in out
    assert not re.findall(r"[^\x00-\u024f\u2000-\u22ff\u2300-\u25ff]", out)


def test_epoch_axis_captions_and_unmapped_legends():
    """An epoch-level run gets an "epoch" axis with whole-number ticks, a caption whose sentences
    do not run together, and legends that name unmapped metrics by their tags (not "tag 1")."""
    from advisor.model import Series

    epochs = np.arange(0, 6, dtype=float)
    loss = Curve(role="train_loss", tag="loss", x=epochs, y=50.0 * np.exp(-epochs / 2) + 10, x_kind="epoch")
    lr = Curve(role="lr", tag="lr", x=epochs, y=np.full(6, 3e-4), x_kind="epoch")
    run = Run(name="keras-run", path="keras-run", format="csv",
              series={"loss": Series("loss", epochs.astype(int), loss.y, None)})
    report = RunReport(run=run, metrics={"train_loss": "loss", "lr": "lr"},
                       curves=Curves(run="keras-run", by_role={"train_loss": loss, "lr": lr}))
    out = render(Diagnosis(runs=[report]), "html")
    assert "3e-4. Curves:" in out and "3e-4.Curves" not in out
    svg = out[out.index("<svg"):]
    ticks = set(re.findall(r">\s*([0-9.]+)\s*</text>", svg))
    assert "epoch" in svg and {"0", "1", "2", "3", "4", "5"} & ticks
    assert not ticks & {"0.5", "1.5", "2.5", "3.5", "4.5", "0.0", "1.0"}, ticks

    export = Run(name="wandb-export", path="wandb-export", format="wandb",
                 series={"Loss/pretraining": Series("Loss/pretraining", np.arange(50), np.linspace(3, 1, 50), None)})
    out = render(Diagnosis(runs=[RunReport(run=export, metrics={})]), "html")
    assert "tag 1" not in out and "Loss/pretraining" in out


def _visible_text(page: str) -> list[str]:
    """The text nodes a reader sees, chart labels included, without names and paths (run names
    hold dates and hashes that are not numbers to format)."""
    page = re.sub(r"<style.*?</style>", "", page, flags=re.S)
    page = re.sub(r"<(h2|a|code)\b[^>]*>.*?</\1>", "", page, flags=re.S)
    nodes = [t.strip() for t in re.findall(r">([^<>]+)<", page)]
    return [t for t in nodes if t and "/" not in t]


HARD_RUNS = ("tensorboard/lightning-tb-deep-linear-exploding-loss", "tensorboard/sb3-ppo-learning-spiky",
             "tensorboard/hf-trainer-tb-agnews-lowlr-stuck", "tensorboard/lightning-tb-memorization-overfit",
             "hf-trainer/whisper-large-v2-ja-5k")


def test_one_number_format_in_the_html(real_logs):
    """The report mixed "2234085120", "1.279e+04", "4.583e-06" and "3.08e+03x" (issue 13): every
    number a reader sees, in tables, summaries, evidence, changes and chart ticks, is written one
    way — exact counts with thousands separators, else 3 significant digits, an exponent only
    below 0.001 and never zero-padded."""
    from advisor.pipeline import diagnose_paths

    d = diagnose_paths([str(real_logs / r) for r in HARD_RUNS])
    assert len(d.runs) == len(HARD_RUNS)
    out = render(d, "html")
    text = " ".join(_visible_text(out))
    assert "2,234,085,120" in text  # the exploding run's last train loss, a whole number
    assert not re.findall(r"\d[eE][+-]0\d", text), re.findall(r"\S*\d[eE][+-]0\d\S*", text)[:5]
    assert not re.findall(r"\d[eE]\+", text), re.findall(r"\S*\d[eE]\+\S*", text)[:5]
    assert "4.58e-6" in text  # the stuck run's LR, in the compact exponent form
    bare = re.findall(r"(?<![\w.,:-])\d{5,}(?![\w,.])", text)
    assert not bare, bare[:5]
    for number in re.findall(r"(?<![\w.])\d[\d,]*\.\d+", text):
        digits = number.replace(",", "").replace(".", "").lstrip("0")
        assert len(digits) <= 3, number


def test_sb3_runs_plot_environment_timesteps(real_logs):
    """An SB3 run counts environment timesteps (its x is `num_timesteps`), in TensorBoard and in
    progress.csv: the axis says so, with readable ticks, instead of "step" with 1e5 offsets."""
    from advisor.pipeline import diagnose_paths

    for folder in ("tensorboard/sb3-ppo-learning-spiky", "csv/sb3-progress-ppo"):
        out = render(diagnose_paths([str(real_logs / folder)]), "html")
        labels = re.findall(r"<text[^>]*>([^<]*)</text>", out[out.index('class="chart"'):])
        assert "environment timesteps" in labels and "step" not in labels, (folder, labels)
        assert any(re.fullmatch(r"\d{1,3}(,\d{3})+", t) for t in labels), (folder, labels)


def test_x_axis_label_follows_the_runs_unit():
    run = Run(name="r", path="r", format="csv")
    assert plots.x_axis_label(run, {"step"}) == "step"
    assert plots.x_axis_label(run, {"epoch"}) == "epoch"
    assert plots.x_axis_label(run, {"wall_time"}) == "wall time (s)"
    assert plots.x_axis_label(run, {"step", "epoch"}) == "x"
    sb3 = Run(name="r", path="r", format="csv", meta={"x_axis": "time/total_timesteps"})
    assert plots.x_axis_label(sb3, {"step"}) == "environment timesteps"


def test_finding_ranges_in_the_runs_unit(real_logs):
    """A finding on an epoch-level Keras log was placed at "steps 14–20"; the HTML says epochs."""
    from advisor.pipeline import diagnose_paths

    out = render(diagnose_paths([str(real_logs / "wandb/wandb-binary-cifar-overfit")]), "html")
    spans = re.findall(r'<span class="muted">((?:epoch|step|from|until)[^<]*)</span>', out)
    assert spans and all(s.split()[0] in ("epoch", "epochs") or s.split()[1] == "epoch" for s in spans), spans
