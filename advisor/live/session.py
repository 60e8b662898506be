"""A watched set of paths: discover, read what changed, re-diagnose only the runs that changed.

`LiveRuns.poll()` is one pass. Discovery runs every pass (a new run folder or file is picked up as
soon as it appears); each run keeps its incremental reader (advisor.live.tail) and its
`FindingTracker`, and only runs whose files gave new data are measured again, with the same
`diagnose_run` (roles, signals, rules) that `advisor diagnose` uses.
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Iterable

from advisor.live.events import FindingTracker, event
from advisor.live.tail import tail_for
from advisor.model import Diagnosis, IngestError, Run, RunReport, Series
from advisor.pipeline import DiagnoseOptions, diagnose_run

# A run that read fine and then fails to read (a file rewritten while we read it) is retried this
# many passes before the failure is reported.
FAILURES_BEFORE_REPORT = 3


# what discovery says of a watched URL that holds no run yet (advisor.ingest.discover): a wait,
# unlike a bucket or a server that cannot be reached
NOT_YET = ("no training log found", "the experiment has no active run",
           "no such file or folder")  # (an S3 prefix exists once the job writes its first object)


def is_url(path: str) -> bool:
    from advisor.ingest import mlflow_server, remote

    return mlflow_server.is_url(path) or remote.is_remote(path)


class LiveRuns:
    def __init__(self, paths: Iterable[str | Path], options: DiagnoseOptions | None = None,
                 wait: bool = True) -> None:
        """`wait`: a watched path that holds no run yet is waited for (a sidecar started before
        the job); False (`watch --once`) reports it as `diagnose` does."""
        from advisor.engine import load_rules, select_rules

        self.paths = [str(p) for p in paths]
        self.wait = wait
        self.options = options or DiagnoseOptions()
        self.rules = select_rules(load_rules(self.options.rule_dirs), self.options.select, self.options.ignore)
        self.readers: dict[tuple[str, str], Any] = {}
        self.trackers: dict[str, FindingTracker] = {}
        self.reports: dict[str, RunReport] = {}
        self.failures: dict[tuple[str, str], int] = {}
        self.reported_errors: set[tuple[str, str]] = set()
        self.errors: list[dict[str, str]] = []
        self.changed_at = time.monotonic()  # when a run last gained data (for --idle-exit)
        warm_up(self.rules, self.options)

    def poll(self) -> list[dict[str, Any]]:
        """One pass over the paths; the events it produced, in order."""
        from advisor.ingest.discover import discover

        sources, problems = discover(self.paths)
        events: list[dict[str, Any]] = []
        for problem in problems:
            if self.wait and problem.path in self.paths and (
                    not is_url(problem.path) or problem.message.startswith(NOT_YET)):
                continue  # a watched folder or URL with no log yet (the job has not started writing): wait
            events.extend(self._error(problem.path, problem.message))
        for source in sources:
            key = (source.format, str(source.path), source.name)
            reader = self.readers.get(key)
            if reader is None:
                reader = self.readers[key] = tail_for(source)
            else:
                reader.update_source(source)
            events.extend(self._refresh(key, source, reader))
        return events

    def _refresh(self, key, source, reader) -> list[dict[str, Any]]:
        from advisor import limits
        from advisor.pipeline import log_file_of, shown_as_given

        try:
            if reader.poll():
                self.changed_at = time.monotonic()
            elif key not in self.failures:
                return []  # nothing new (a run failing to read is tried again at every pass)
            run = reader.run()
        except OSError as exc:  # said as the one-shot readers say it
            return self._failed(key, source, IngestError(f"{source.path}: cannot read ({limits.describe_os_error(exc)})"))
        except Exception as exc:  # IngestError, or a reader bug: an unreadable run, as diagnose has it
            return self._failed(key, source, exc)
        self.failures.pop(key, None)
        report = diagnose_run(shown_as_given(source, run), self.rules, self.options)
        report.log_file = log_file_of(source)
        return self._track(source.name, report)

    def _track(self, name: str, report: RunReport) -> list[dict[str, Any]]:
        self.reports[name] = report
        tracker = self.trackers.setdefault(name, FindingTracker(name))
        return tracker.update(report)

    def finish(self) -> list[dict[str, Any]]:
        """A last pass once the runs are over: end-of-run findings are reported, nothing is held."""
        events = self.poll()
        for name, report in self.reports.items():
            events.extend(self.trackers[name].update(report, final=True))
        return events

    def _failed(self, key, source, exc: Exception) -> list[dict[str, Any]]:
        """A run that cannot be read is a run with status `unreadable` and the reader's reason,
        exactly as `advisor diagnose` reports it (advisor.pipeline.unreadable_report); one that
        read fine before is given FAILURES_BEFORE_REPORT passes first (caught mid-rewrite)."""
        from advisor.pipeline import read_failure, unreadable_report

        count = self.failures[key] = self.failures.get(key, 0) + 1
        before = self.reports.get(source.name)
        if before is not None and not before.read_error and count < FAILURES_BEFORE_REPORT:
            return []
        return self._track(source.name, unreadable_report(source, read_failure(source, exc)))

    def _error(self, path: str, message: str) -> list[dict[str, Any]]:
        """A path that is no run (discovery's problems): listed in the diagnosis' `errors`."""
        if (path, message) in self.reported_errors:
            return []
        self.reported_errors.add((path, message))
        self.errors.append({"path": path, "message": message})
        return [event("error", path, message=message)]

    def diagnosis(self) -> Diagnosis:
        """The latest diagnosis of every run, ordered as `advisor diagnose` orders them."""
        from advisor.pipeline import _worst_first

        reports = sorted(self.reports.values(), key=_worst_first)
        return Diagnosis(runs=reports, errors=list(self.errors))


_WARM = False


def warm_up(rules, options: DiagnoseOptions) -> float:
    """Diagnose a tiny run once per process, so the first real diagnosis (inside a training loop,
    or the first pass of `watch`) does not pay for the imports the signals need: scipy.stats and
    pandas take seconds to load, long enough to miss the first seconds of a divergence.
    Returns what a diagnosis of that tiny run costs once warm (a Monitor's first cost estimate)."""
    global _WARM
    import numpy as np

    steps = np.arange(20)
    loss = Series("train/loss", steps, 1.0 / (1.0 + steps), np.full(20, np.nan))
    run = Run(name="warm-up", path="", format="monitor", series={"train/loss": loss})
    if not _WARM:
        diagnose_run(run, rules, options)
        _WARM = True
    start = time.perf_counter()
    diagnose_run(run, rules, options)
    return time.perf_counter() - start
