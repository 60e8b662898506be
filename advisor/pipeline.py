"""The whole diagnosis, stage after stage: discover -> ingest -> roles -> signals -> rules.

Kept apart from the CLI so tests, the HTML report and the verifier call the same code path.
A run that cannot be read, or whose measurement crashes, becomes an error entry for that run;
the other runs are still diagnosed.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

from advisor.model import Diagnosis, IngestError, Run, RunReport, RunSource


@dataclass
class DiagnoseOptions:
    select: list[str] = field(default_factory=list)
    ignore: list[str] = field(default_factory=list)
    rule_dirs: list[Path] = field(default_factory=list)
    roles: dict[str, str] = field(default_factory=dict)
    thresholds: dict[str, dict[str, Any]] = field(default_factory=dict)


def read_runs(
    paths: Iterable[str | Path], progress: Callable[[int, int, str], None] | None = None
) -> tuple[list[Run], list[dict[str, str]]]:
    """Discover and read every run; unreadable inputs become error entries, never exceptions."""
    from advisor.ingest.discover import discover

    sources, problems = discover(list(paths))
    errors = [{"path": p.path, "message": p.message} for p in problems]
    runs: list[Run] = []
    for i, src in enumerate(sources):
        if progress:
            progress(i, len(sources), src.name)
        run = _read_one(src, errors)
        if run is not None:
            runs.append(run)
    if progress:
        progress(len(sources), len(sources), "")
    return runs, errors


def _read_one(src: RunSource, errors: list[dict[str, str]]) -> Run | None:
    from advisor import ingest

    try:
        return ingest.read(src)
    except IngestError as exc:
        errors.append({"path": str(src.path), "message": str(exc)})
    except Exception as exc:  # a reader bug must not hide the other runs
        errors.append({"path": str(src.path), "message": f"could not be read ({type(exc).__name__}: {exc})"})
    return None


def diagnose_run(run: Run, rules, options: DiagnoseOptions) -> RunReport:
    from advisor.engine import evaluate_run
    from advisor.roles import build_curves
    from advisor.signals import measure

    try:
        curves, roles = build_curves(run, options.roles)
        measurements = measure(curves)
        verdict = evaluate_run(rules, measurements, curves, options.thresholds)
    except Exception as exc:  # a crash in a signal or rule is an error for this run only
        return RunReport(run=run, metrics={}, error=f"diagnosis failed: {type(exc).__name__}: {exc}")
    return RunReport(run=run, metrics=roles, findings=verdict.findings,
                     abstentions=verdict.abstentions + verdict.superseded, curves=curves,
                     measurements=measurements)


def diagnose_paths(
    paths: Iterable[str | Path],
    options: DiagnoseOptions | None = None,
    progress: Callable[[int, int, str], None] | None = None,
) -> Diagnosis:
    from advisor.engine import load_rules, select_rules

    options = options or DiagnoseOptions()
    rules = select_rules(load_rules(options.rule_dirs), options.select, options.ignore)
    runs, errors = read_runs(paths, progress)
    reports = [diagnose_run(run, rules, options) for run in runs]
    reports.sort(key=_worst_first)
    return Diagnosis(runs=reports, errors=errors)


class UsageProblem(Exception):
    """Rules, config or options the user must fix: one line, exit code 2."""


def diagnose_for_cli(
    paths: Iterable[str | Path],
    config,
    select: Iterable[str] = (),
    ignore: Iterable[str] = (),
    rule_dirs: Iterable[str | Path] = (),
    baseline: Iterable[str | Path] = (),
    baseline_tolerance: str = "band:2",
    progress: Callable[[int, int, str], None] | None = None,
) -> Diagnosis:
    """What `diagnose` and `report` share: command-line options over `[tool.advisor]` config, the
    diagnosis, and the baseline comparison when asked for."""
    from advisor.engine import RuleError

    options = DiagnoseOptions(
        select=list(select) or config.select,
        ignore=list(ignore) or config.ignore,
        rule_dirs=[*config.rules, *map(Path, rule_dirs)],
        roles=config.roles,
        thresholds=config.thresholds,
    )
    try:
        diagnosis = diagnose_paths(paths, options, progress)
    except RuleError as exc:
        raise UsageProblem(str(exc)) from None
    baseline = list(baseline)
    if baseline:
        from advisor.report.baseline import apply_paths

        try:
            apply_paths(diagnosis, baseline, baseline_tolerance, options.roles)
        except ValueError as exc:
            raise UsageProblem(str(exc)) from None
    return diagnosis


def _worst_first(report: RunReport) -> tuple:
    from advisor.model import severity_rank

    worst = max((severity_rank(f.severity) for f in report.findings), default=-1)
    if report.error:
        worst = 3
    return (-worst, report.run.name)
