"""The shareable HTML report: ONE self-contained file, inert, readable offline.

`advisor report PATH... -o report.html` / `advisor diagnose --format html`. The file carries its
CSS inline and its charts as inline SVG (advisor.report.plots); it has no JavaScript at all and a
Content-Security-Policy (`default-src 'none'`) that forbids scripts and every network fetch, so it
can be mailed, attached to a ticket or opened from an artifact store without trusting anyone.

Everything that comes from a log (run and tag names, hparams, messages) is untrusted: the
template is rendered by jinja2 with autoescape ON and StrictUndefined (a typo in the template is
an error, not an empty cell), and this module hands the template plain strings only. The only
markup passed through unescaped is the SVG made here, which contains no text from logs and is
checked for active content (`plots._sanitize_svg`). Anchors are `run-<index>`, never run names.

A generation time is shown only when `SOURCE_DATE_EPOCH` is set (reproducible-builds
convention) or `options.generated_at` is given, so the same diagnosis renders to the same bytes.
"""
from __future__ import annotations

import datetime as _dt
import math
import os
from pathlib import Path
from typing import Any

import numpy as np

from advisor import __version__
from advisor.model import Curve, Diagnosis, Finding, RunReport
from advisor.report import plots
from advisor.report.common import (
    STATUS_LABEL,
    STATUSES,
    clean,
    finding_span,
    fmt_change,
    fmt_num,
    fmt_recommendation,
    hparams_of,
    run_meta,
    sorted_findings,
    sorted_runs,
    summary_line,
    worst_finding,
)

TEMPLATES = Path(__file__).with_name("templates")
CSP = ("default-src 'none'; style-src 'unsafe-inline'; img-src data:; font-src 'none'; "
       "script-src 'none'; connect-src 'none'; base-uri 'none'; form-action 'none'")


def environment():
    """The jinja2 environment: autoescape on for every template, undefined names are errors."""
    import jinja2

    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def buckets_for(n_runs: int) -> int:
    """Decimation buckets per chart: ~1 per pixel column for small reports, fewer for big ones
    (min/max per bucket keeps spikes either way) so 500 runs stay a few MB."""
    if n_runs <= 25:
        return plots.WIDTH_PX
    return int(max(120, min(plots.WIDTH_PX, plots.WIDTH_PX * (25 / n_runs) ** 0.6)))


# A report of more runs than this is a sweep report: the overview gets status and pattern filters
# and the run sections are split into pages of this many runs (see `_sweep`).
PAGE_RUNS = 100


def _sweep(runs: list[RunReport], ctx_runs: list[dict[str, Any]], Markup) -> dict[str, Any]:
    """What a big report adds, without a line of script (the CSP forbids it): radio buttons whose
    `:checked` state hides the overview rows of other statuses / patterns through sibling
    selectors, and pages of PAGE_RUNS run sections of which only the linked one is displayed
    (`:target`, `:has(:target)`), so a browser lays out one page, not 1,000 charts. Classes and
    ids are made of indexes and fixed status names only, never of text from a log."""
    patterns = sorted({f.pattern for r in runs for f in r.findings})
    pid = {p: i for i, p in enumerate(patterns)}
    for r, c in zip(runs, ctx_runs):
        c["filter_classes"] = " ".join([f"s-{r.status}", *sorted({f"p{pid[f.pattern]}" for f in r.findings})])
    css = [".sweep input[type=radio] { position: absolute; opacity: 0; }",
           ".sweep label { display: inline-block; margin: 2px 4px; padding: 1px 8px; border: 1px solid var(--line);"
           " border-radius: 10px; cursor: pointer; font-size: 12px; }",
           ".sweep input:checked + label { background: var(--fg); color: #fff; }",
           ".page { display: none; } .page:target, .page:has(:target) { display: block; }"]
    css += [f"#fs-{s}:checked ~ table.overview tbody tr:not(.s-{s}) {{ display: none; }}" for s in STATUS_LABEL]
    css += [f"#fp-{i}:checked ~ table.overview tbody tr:not(.p{i}) {{ display: none; }}" for i in pid.values()]
    pages = []
    for k, first in enumerate(range(0, len(ctx_runs), PAGE_RUNS), start=1):
        chunk = ctx_runs[first:first + PAGE_RUNS]
        pages.append({"anchor": f"page-{k}", "first": first + 1, "last": first + len(chunk), "runs": chunk})
    counts = {p: sum(1 for r in runs if any(f.pattern == p for f in r.findings)) for p in patterns}
    return {"page_runs": PAGE_RUNS, "pages": pages, "css": Markup("\n".join(css)),
            "patterns": [{"id": pid[p], "name": clean(p), "n": counts[p]} for p in patterns]}


def render(diagnosis: Diagnosis, options: Any = None) -> str:
    from markupsafe import Markup

    runs = sorted_runs(diagnosis)
    buckets = buckets_for(len(runs))
    charts = _charts(runs, buckets, getattr(options, "progress", None))
    pool = plots.StylePool()
    ctx_runs = []
    for i, (r, (svg, err)) in enumerate(zip(runs, charts), start=1):
        chart = None
        if svg:
            try:
                chart = Markup(pool.apply(svg))
            except ValueError as e:
                err = clean(str(e))
        ctx_runs.append(_run_context(r, i, chart, err, Markup))
    ctx = {
        "sweep": _sweep(runs, ctx_runs, Markup) if len(runs) > PAGE_RUNS else None,
        "title": "advisor report",
        "summary": summary_line(diagnosis),
        "version": __version__,
        "generated": _generated(options),
        "csp": CSP,
        "chart_css": Markup(plots.CHART_CSS + "\n" + pool.css()),
        "counts": _counts(runs),
        "runs": ctx_runs,
        "errors": [{"path": clean(e.get("path")), "message": clean(e.get("message"))} for e in diagnosis.errors],
    }
    return environment().get_template("report.html.j2").render(**ctx)


def _chart_job(args) -> tuple[str | None, str | None]:
    """(svg, error) for one run; module-level so worker processes can run it."""
    report, chart_id, buckets = args
    try:
        return plots.run_chart_svg(report, chart_id=chart_id, buckets=buckets), None
    except Exception as e:  # a chart must never take the report down with it
        return None, clean(f"{type(e).__name__}: {e}")


def jobs() -> int:
    """Worker processes for charts: ADVISOR_JOBS, else one per CPU (matplotlib is single-threaded
    and ~0.15 s per chart, so a 500-run report is minutes on one core)."""
    env = os.environ.get("ADVISOR_JOBS", "").strip()
    if env.isdigit() and int(env) > 0:
        return int(env)
    return max(1, min(8, os.cpu_count() or 1))


def _charts(runs: list[RunReport], buckets: int, show_progress: bool | None) -> list[tuple[str | None, str | None]]:
    from advisor.model import Curves, Run
    from advisor.report.output import progress

    # Only what a chart needs travels to a worker: not the raw series (they duplicate the curves).
    light = []
    for r in runs:
        curves = r.curves
        others = plots.unmapped_curves(r)
        if others:
            curves = Curves(run=r.run.name, by_role={c.role: c for c in others})
        meta = {"x_axis": r.run.meta["x_axis"]} if "x_axis" in (r.run.meta or {}) else {}
        run = Run(name=r.run.name, path=r.run.path, format=r.run.format, writer=r.run.writer, meta=meta)
        light.append(RunReport(run=run, metrics={},
                               findings=r.findings, curves=curves))
    work = [(rep, f"c{i}", buckets) for i, rep in enumerate(light, start=1)]
    n_jobs = jobs()
    if n_jobs == 1 or len(work) < 12:
        return list(progress((_chart_job(w) for w in work), total=len(work), label="drawing charts",
                             enabled=show_progress))
    import concurrent.futures
    import multiprocessing

    # fork, not spawn/forkserver: those re-import the caller's __main__, which breaks any script
    # that calls render() without an `if __name__ == "__main__"` guard. Workers are forked when
    # the work is submitted, before the progress bar starts its thread.
    if "fork" not in multiprocessing.get_all_start_methods():
        return [_chart_job(w) for w in work]
    ctx = multiprocessing.get_context("fork")
    try:
        with concurrent.futures.ProcessPoolExecutor(max_workers=n_jobs, mp_context=ctx) as pool:
            return list(progress(pool.map(_chart_job, work, chunksize=4), total=len(work),
                                 label="drawing charts", enabled=show_progress))
    except (OSError, concurrent.futures.process.BrokenProcessPool):  # no processes here: draw in-process
        return [_chart_job(w) for w in work]


def _generated(options: Any) -> str | None:
    when = getattr(options, "generated_at", None)
    if when is None and os.environ.get("SOURCE_DATE_EPOCH", "").strip().isdigit():
        when = _dt.datetime.fromtimestamp(int(os.environ["SOURCE_DATE_EPOCH"]), tz=_dt.timezone.utc)
    if when is None:
        return None
    if isinstance(when, _dt.datetime):
        return when.astimezone(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return clean(when)


def _counts(runs: list[RunReport]) -> list[dict[str, Any]]:
    out = []
    for status in STATUSES:
        n = sum(1 for r in runs if r.status == status)
        if n:
            out.append({"status": status, "label": STATUS_LABEL[status], "n": n})
    return out


def _run_context(r: RunReport, index: int, chart, chart_error: str | None, Markup) -> dict[str, Any]:
    anchor = f"run-{index}"
    curves = r.curves.by_role if r.curves is not None else {}
    spark_curve = next((curves[k] for k in ("train_loss", "val_loss", "val_acc", "val_metric", "reward")
                        if k in curves and len(curves[k])), None)
    hp = hparams_of(r)
    w = worst_finding(r)
    return {
        "anchor": anchor,
        "name": clean(r.run.name),
        "path": clean(r.run.path),
        "status": r.status,
        "status_label": STATUS_LABEL[r.status],
        "meta": run_meta(r),
        "format": clean(r.run.format),
        "writer": clean(r.run.writer) if r.run.writer else "",
        "points": f"{r.run.points:,}",
        "n_findings": len(r.findings),
        "worst": ({"rule": clean(w.rule), "pattern": clean(w.pattern), "severity": clean(w.severity),
                   "summary": clean(w.summary)} if w else None),
        "key": _key_numbers(curves),
        "spark": Markup(plots.sparkline_svg(spark_curve, r.status)),
        "chart": chart,
        "chart_error": chart_error,
        "metrics": ([{"role": clean(k), "tag": clean(v)} for k, v in r.metrics.items()]
                    or [{"role": "" if plots.unmapped_label(c) == c.tag else plots.unmapped_label(c),
                         "tag": clean(c.tag)} for c in plots.unmapped_curves(r)]),
        "constant_lr": (fmt_num(float(curves["lr"].y[0])) if "lr" in curves and plots.is_constant(curves["lr"])
                        else ""),
        "hparams": [{"name": clean(k), "value": fmt_num(v) if isinstance(v, (int, float)) else clean(v)}
                    for k, v in sorted(hp.items(), key=lambda kv: str(kv[0]))],
        "error": clean(r.problem.partition(": ")[2]) if r.problem else "",
        "problem_kind": r.problem.partition(": ")[0] if r.problem else "",
        "findings": [_finding_context(f, hp) for f in sorted_findings(r.findings)],
        "verification": [_verification_context(v) for v in (r.verification or [])],
        "warnings": [clean(x) for x in r.run.warnings],
        "abstentions": [{"rule": clean(a), "why": clean(b)} for a, b in r.abstentions],
    }


def _finding_context(f: Finding, hp: dict) -> dict[str, Any]:
    return {
        "severity": clean(f.severity) if f.severity in ("info", "warning", "error") else "info",
        "pattern": clean(f.pattern),
        "rule": clean(f.rule),
        "metric": clean(f.metric) if f.metric else "",
        "steps": finding_span(f),
        "summary": clean(f.summary),
        "evidence": [{"name": clean(k), "value": fmt_num(v) if not isinstance(v, (list, tuple, dict)) else clean(v)}
                     for k, v in f.evidence.items()],
        "recommendations": [{
            "action": clean(rec.action),
            "change": fmt_change(rec.change or {}, hp),
            "line": fmt_recommendation(rec, hp),
            "text": clean(rec.text),
            "source": clean(rec.source),
        } for rec in f.recommendations],
    }


def _verification_context(v) -> dict[str, Any]:
    return {
        "verdict": clean(v.verdict),
        "verdict_class": v.verdict if v.verdict in ("confirmed", "refuted", "inconclusive") else "inconclusive",
        "rule": clean(v.rule),
        "action": clean(v.action),
        "change": fmt_change(v.change or {}),
        "measure": clean(v.measure),
        "baseline": " ".join(fmt_num(x) for x in v.baseline),
        "fix": " ".join(fmt_num(x) for x in v.fix),
        "effect": ", ".join(f"{clean(k)}={fmt_num(x)}" for k, x in v.effect.items()),
        "steps": v.steps,
        "seeds": v.seeds,
        "device": clean(v.device),
        "wall": fmt_num(round(float(v.wall_s), 1)),
        "notes": [clean(n) for n in v.notes],
    }


def _last_finite(c: Curve) -> float | None:
    ok = np.flatnonzero(np.isfinite(c.y))
    return float(c.y[ok[-1]]) if len(ok) else None


def _key_numbers(curves: dict[str, Curve]) -> list[dict[str, str]]:
    """Final values of the main curves (and the best validation value), as logged."""
    out = []
    for role, label, best in (("train_loss", "train loss", None), ("val_loss", "val loss", "min"),
                              ("val_acc", "val acc", "max"), ("val_metric", "val metric", "max")):
        c = curves.get(role)
        if c is None or not len(c):
            continue
        last = c.y[-1]
        text = fmt_num(float(last)) if not math.isfinite(last) else fmt_num(_last_finite(c))
        ok = np.isfinite(c.y)
        if best and role == "val_metric":
            from advisor.engine.baseline import lower_is_better

            best = "min" if lower_is_better(role, c.tag) else "max"
        if best and ok.any():
            b = float(np.min(c.y[ok]) if best == "min" else np.max(c.y[ok]))
            text += f" (best {fmt_num(b)})"
        out.append({"label": label, "value": text})
    return out
