"""The whole diagnosis, stage after stage: discover -> ingest -> roles -> signals -> rules.

Kept apart from the CLI so tests, the HTML report and the verifier call the same code path.
A run that cannot be read becomes a run with status `unreadable`, one whose measurement crashes a
run with status `error`; the other runs are still diagnosed.
"""
from __future__ import annotations

import collections
import dataclasses
import functools
import itertools
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

from advisor.model import Diagnosis, IngestError, Run, RunReport, RunSource


@dataclass
class DiagnoseOptions:
    select: list[str] = field(default_factory=list)
    ignore: list[str] = field(default_factory=list)
    rule_dirs: list[Path] = field(default_factory=list)
    roles: dict[str, str] = field(default_factory=dict)
    thresholds: dict[str, dict[str, Any]] = field(default_factory=dict)
    limits: Any = None  # advisor.limits.Limits, carried to executor workers; None: the active policy


def read_runs(
    paths: Iterable[str | Path], progress: Callable[[int, int, str], None] | None = None
) -> tuple[list[Run], list[dict[str, str]]]:
    """Discover and read every run; unreadable inputs become error entries, never exceptions."""
    runs: list[Run] = []
    errors: list[dict[str, str]] = []
    for run, error in iter_runs(paths, progress=progress):
        if run is not None:
            runs.append(run)
        else:
            errors.append(error)
    return runs, errors


def iter_runs(
    paths: Iterable[str | Path],
    execution: "Execution | None" = None,
    progress: Callable[[int, int, str], None] | None = None,
) -> Iterator[tuple[Run | None, dict[str, str] | None]]:
    """(run, None) for every run under `paths`, read on `execution`'s workers, in discovery
    order, one at a time (nothing is kept here: a caller that writes each run out, like
    `advisor export`, holds one run's points at a time); (None, error) for discovery problems
    (first) and unreadable runs."""
    from advisor.executor import run_tasks
    from advisor.ingest.discover import discover

    execution = execution or Execution()
    sources, problems = discover(list(paths))
    for p in problems:
        yield None, {"path": p.path, "message": p.message}
    jobs = 1 if execution.executor == "local" and len(sources) <= 1 else execution.jobs
    results = run_tasks(_read_one, with_byte_shares(sources), jobs=jobs, executor=execution.executor,
                        address=execution.address, chunksize=execution.runs_per_task)
    for done, (run, error) in enumerate(results, start=1):
        if progress:
            progress(done, len(sources), run.name if run else "")
        yield run, error


def with_byte_shares(sources: list[RunSource]) -> list[tuple[RunSource, int | None]]:
    """Each run with its share of the call's byte budget (advisor.limits.share_out), decided here,
    in discovery order, before the runs fan out to workers: the budget then holds for the whole
    call with `--jobs N`, and the same runs are read whatever N."""
    from advisor import limits

    return list(zip(sources, limits.share_out(map(_discovered_bytes, sources))))


def _discovered_bytes(source: RunSource) -> int:
    total = 0
    for path in source.files:
        try:
            total += os.stat(path).st_size
        except OSError:  # gone, unreadable or remote: the reader says what is wrong
            pass
    return total


def _read_one(item: tuple[RunSource, int | None]) -> tuple[Run | None, dict[str, str] | None]:
    """(run, None), or (None, {"path", "message"}) when nothing in it can be decoded. `item` is a
    run and its byte share (`with_byte_shares`; None: the call's budget does not cover its files)."""
    from advisor import ingest, limits

    src, share = item
    if share is None:
        return None, {"path": shown_path(src), "message": limits.budget_spent()}
    try:
        with limits.share(share):
            run = ingest.read(src)
    except Exception as exc:
        return None, read_failure(src, exc)
    return shown_as_given(src, run), None


def _shown(src: RunSource) -> Callable[[str], str]:
    """Text about a run of a remote URL names the URL, not the local mirror it was read from."""
    mirrored = src.options.get("remote")
    return (lambda text: text.replace(mirrored["local"], mirrored["url"])) if mirrored else str


def shown_path(src: RunSource) -> str:
    """How a run's path is shown: a tracking server's run by its URL, a mirrored one by the remote URL."""
    return src.options.get("url") or _shown(src)(str(src.path))


def read_failure(src: RunSource, exc: Exception) -> dict[str, str]:
    """{"path", "message"} for a run that could not be read: the reader's one line for an
    IngestError, "could not be read (…)" for a reader bug (it must not hide the other runs)."""
    shown = _shown(src)
    path = shown_path(src)
    if isinstance(exc, IngestError):
        return {"path": path, "message": _without_path(shown(str(exc)), path)}
    return {"path": path, "message": f"could not be read ({type(exc).__name__}: {shown(str(exc))})"}


def shown_as_given(src: RunSource, run: Run) -> Run:
    """A run read from the local mirror of a remote URL, with the URL in its path and warnings."""
    if src.options.get("remote"):
        shown = _shown(src)
        run.path = shown(run.path)
        run.warnings = [shown(w) for w in run.warnings]
    return run


def _without_path(message: str, path: str) -> str:
    """A reader's message names its file; drop a leading "<run path>: " so the path is said once."""
    prefix = f"{path}: "
    return message[len(prefix):] if message.startswith(prefix) else message


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
    short = _too_short(curves)
    if short is not None and not verdict.findings:
        run.warnings.append(short)
    return RunReport(run=run, metrics=roles, findings=verdict.findings,
                     abstentions=verdict.abstentions + verdict.superseded, curves=curves,
                     measurements=measurements)


# Most signals read a loss curve of at least this many points (a trend, its two halves, its last quarter);
# below it only a blow-up can be read.
JUDGEABLE_POINTS = 8


def _too_short(curves) -> str | None:
    """A note for a run whose loss curves are all too short to judge, so that 'ok, no findings' is not
    read as a healthy training (public logs of 1-5 epochs, a single trainer.test() row, passed as ok)."""
    import numpy as np

    if curves.rl:
        return None
    lengths = [int(np.isfinite(c.y).sum()) for r in ("train_loss", "val_loss") if (c := curves.get(r)) is not None]
    if not lengths or max(lengths) >= JUDGEABLE_POINTS:
        return None
    n = max(lengths)
    return (f"only {n} logged point{'s' if n != 1 else ''} of its loss: too few to judge oscillation, plateaus, slow "
            f"convergence or overfitting (they need {JUDGEABLE_POINTS} or more); only a blow-up can be read")


# What a diagnosis keeps of each run once its findings exist (see `slim_report`).
KEEP = ("all", "curves", "summary")


@dataclass
class Execution:
    """Where the runs are diagnosed (advisor.executor): `jobs` workers (None: the cores
    available) of the local pool or of Ray (`executor="ray"`, `address` of a cluster)."""

    jobs: int | None = 1
    executor: str = "local"
    address: str | None = None
    chunksize: int | None = None  # runs per task; None: 1 locally, RAY_CHUNK on Ray

    @property
    def runs_per_task(self) -> int:
        return self.chunksize or (RAY_CHUNK if self.executor == "ray" else 1)


# Runs per Ray task: a Ray task costs ~1-2 ms to schedule and return, a tenth of a small run's
# diagnosis; 4 runs a task amortise it, and still give a 1,000-run sweep 250 tasks to balance.
# (The local pool's tasks cost ~0.1 ms: one run a task balances best.)
RAY_CHUNK = 4


def diagnose_paths(
    paths: Iterable[str | Path],
    options: DiagnoseOptions | None = None,
    progress: Callable[[int, int, str], None] | None = None,
    execution: Execution | None = None,
    keep: str = "all",
) -> Diagnosis:
    """Discover the runs under `paths`, then read and diagnose them one by one, on
    `execution`'s workers, keeping of each only what `keep` says (`slim_report`). The result is
    the same for every executor and number of jobs: runs are gathered in discovery order and
    sorted worst first, errors listed in discovery order."""
    from advisor.engine import load_rules, select_rules
    from advisor.executor import run_tasks
    from advisor.ingest.discover import discover

    if keep not in KEEP:
        raise ValueError(f"keep must be one of {KEEP}, not {keep!r}")
    options = options or DiagnoseOptions()
    execution = execution or Execution()
    rules = select_rules(load_rules(options.rule_dirs), options.select, options.ignore)
    sources, problems = discover(list(paths))
    errors = [{"path": p.path, "message": p.message} for p in problems]
    reports: list = []
    total = len(sources)
    jobs = execution.jobs
    if execution.executor == "local" and total <= 1:
        jobs = 1  # a pool for one run costs more than it saves
    # "summary" reports travel and stay packed (advisor.packed): ~1.5 KB a run instead of ~13 KB.
    packed = keep == "summary"
    task = functools.partial(diagnose_packed if packed else diagnose_source, rules=rules, options=options, keep=keep)
    items = with_byte_shares(sources)
    first: list = []
    if execution.executor == "local" and jobs != 1 and sources:
        # The first run is diagnosed here, before the pool forks: the modules a diagnosis imports
        # on first use (scipy, pandas: seconds) are then loaded once, not once per worker.
        first = [task(items[0])]
    sources.clear()  # `items` holds them now
    rest = run_tasks(task, _handed_out(items, len(first)), jobs=jobs, executor=execution.executor,
                     address=execution.address, chunksize=execution.runs_per_task)
    for done, report in enumerate(itertools.chain(first, rest), start=1):
        reports.append(report)
        if progress:
            progress(done, total, report[0][1] if packed else report.run.name)
    if packed:
        from advisor.packed import PackedReports

        reports.sort(key=lambda keyed: keyed[0])
        runs = PackedReports(blob for _, blob in reports)
        reports.clear()
        return Diagnosis(runs=runs, errors=errors, rules=rules)
    reports.sort(key=_worst_first)
    return Diagnosis(runs=reports, errors=errors, rules=rules)


def _handed_out(items: list, start: int) -> Iterator:
    """The items from `start` on, each dropped from the list as the executor takes it: a
    100,000-run sweep's sources (~1.8 KB each) then make way for its reports instead of being
    held beside them to the end."""
    queue = collections.deque(items[start:])
    items.clear()
    while queue:
        yield queue.popleft()


def diagnose_packed(item: tuple[RunSource, int | None], rules, options: DiagnoseOptions, keep: str = "summary") -> tuple:
    """`diagnose_source`, packed where it ran: (sort key, packed report); the key ends with the
    run's name. A big sweep's parent then holds ~1.5 KB a run and never builds the report
    objects (advisor.packed)."""
    from advisor.packed import pack

    report = diagnose_source(item, rules, options, keep)
    return _worst_first(report), pack(report)


def diagnose_source(item: tuple[RunSource, int | None], rules, options: DiagnoseOptions, keep: str = "all") -> RunReport:
    """Read and diagnose one discovered run (`item`: the run and its byte share, `with_byte_shares`);
    one that cannot be read is a report with status `unreadable` (it fails the gate, advisor.gate).
    Runs in an executor's worker, so the points never leave it unless `keep` asks for them."""
    from advisor import limits

    source = item[0]
    with limits.within(options.limits):  # a worker process gets the call's policy too
        run, error = _read_one(item)
    if run is None:
        return unreadable_report(source, error)
    report = slim_report(diagnose_run(run, rules, options), keep)
    report.log_file = log_file_of(source)
    return report


def unreadable_report(source: RunSource, error: dict[str, str]) -> RunReport:
    """The report of a run that could not be read (`read_failure`): status `unreadable`."""
    report = RunReport(run=Run(name=source.name, path=error["path"], format=source.format), metrics={},
                       read_error=error["message"])
    report.log_file = log_file_of(source)
    return report


def log_file_of(source: RunSource) -> str:
    """The run's first log file: where CI annotations point."""
    return str(sorted(source.files)[0]) if source.files else str(source.path)


def slim_report(report: RunReport, keep: str) -> RunReport:
    """Drop what the renderers that will run do not need, once the findings exist:
    - "all": nothing (library callers that look at curves and measurements);
    - "curves": the raw series and measurements, keeping the role curves that the HTML charts
      and the baseline comparison use (the series stay when no tag got a role: the chart
      falls back to them);
    - "summary": every point; the text, JSON, Markdown, JUnit and GitHub reports need only the
      findings and the run's metadata."""
    if keep == "all":
        return report
    curves = report.curves
    has_roles = curves is not None and any(len(c) for c in curves.by_role.values())
    if keep == "curves":
        run = report.run if not has_roles else report.run.without_points()
    else:
        run = report.run.without_points()
        if curves is not None:
            curves = dataclasses.replace(curves, by_role={})
    return dataclasses.replace(report, run=run, curves=curves, measurements=None)


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
    execution: Execution | None = None,
    keep: str = "all",
    limit_flags: Iterable[str] = (),
) -> Diagnosis:
    """What `diagnose` and `report` share: command-line options over `[tool.advisor]` config, the
    diagnosis, and the baseline comparison when asked for. `keep` is what the renderer needs
    (`slim_report`); the baseline comparison needs the curves, so it raises "summary" to "curves".
    Unknown rule names in options or config are a UsageProblem naming where they came from and
    the closest known names. `limit_flags` (`--limit NAME=VALUE`) raise the limits of
    advisor.limits over the config's."""
    from advisor import limits
    from advisor.engine import RuleError, RuleSet, check_selectors, documented_rules, load_rules, select_rules
    from advisor.engine.baseline import baseline_rules
    from advisor.executor import ExecutorError

    options = DiagnoseOptions(
        select=list(select) or config.select,
        ignore=list(ignore) or config.ignore,
        rule_dirs=[*config.rules, *map(Path, rule_dirs)],
        roles=config.roles,
        thresholds=config.thresholds,
        limits=limits_for_cli(config, limit_flags),
    )
    baseline = list(baseline)
    if baseline and keep == "summary":
        keep = "curves"
    try:
        known = documented_rules(load_rules(options.rule_dirs))
        for key, given, configured in (("select", select, config.select), ("ignore", ignore, config.ignore)):
            check_selectors(known, given or configured, f"--{key}" if given else f"{config.path}: {key}")
        check_selectors(known, config.thresholds, f"{config.path}: thresholds")
        with limits.use(options.limits):
            diagnosis = diagnose_paths(paths, options, progress, execution, keep)
    except (RuleError, ExecutorError) as exc:
        raise UsageProblem(str(exc)) from None
    if baseline:
        from advisor.engine.baseline import apply_paths

        base_ids = [r.id for r in select_rules(RuleSet(baseline_rules()), options.select, options.ignore)]
        try:
            apply_paths(diagnosis, baseline, baseline_tolerance, options.roles, base_ids)
        except ValueError as exc:
            raise UsageProblem(str(exc)) from None
    return diagnosis


def limits_for_cli(config, limit_flags: Iterable[str] = ()):
    """The limits of one call: the defaults, raised by `[tool.advisor.limits]`, then by `--limit`."""
    from advisor import limits

    try:
        return limits.DEFAULT.raised(getattr(config, "limits", {}) or {}).raised(limits.parse_flags(list(limit_flags)))
    except ValueError as exc:
        raise UsageProblem(str(exc)) from None


def _worst_first(report: RunReport) -> tuple:
    from advisor.model import severity_rank

    worst = max((severity_rank(f.severity) for f in report.findings), default=-1)
    if report.problem:
        worst = 3
    return (-worst, report.run.name)
