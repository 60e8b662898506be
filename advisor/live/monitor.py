"""`advisor.Monitor`: the in-process diagnosis every callback and pruner is built on.

Feed it scalars as training runs (`monitor.log(step, train_loss=..., val_loss=..., lr=...)`);
it keeps every point (appended to growing numpy columns, no copy of the history per call) and
every so often diagnoses the run with the same roles, signals and rules `advisor diagnose` uses
(advisor.pipeline.diagnose_run on a `Run` built from the logged points). What changed since the
last evaluation comes back as `advisor.event/1` objects (advisor.live.events).

Cost: `log` is a few dict look-ups and array stores. An evaluation measures the whole run, so
evaluations are spaced: after `every_steps` logged steps or `every_seconds`, whichever comes
first, and never more often than keeps their total time under `max_overhead` of the wall time
between them (an evaluation that took 20 ms waits at least 20 ms / 0.005 = 4 s by default). A
non-finite value (NaN/inf loss) triggers an evaluation at once: that is the run dying.
"""
from __future__ import annotations

import time
from typing import Any, Callable, Iterable

from advisor.live.buffer import Points
from advisor.live.events import FindingTracker, worst_severity
from advisor.live.session import warm_up
from advisor.model import Finding, Run, RunReport, Series, severity_rank
from advisor.pipeline import DiagnoseOptions

_wall_clock = time.time

# How a keyword of `log` is named in the run; roles are then assigned as for any log
# (advisor.roles), so `train_loss`, `val_loss`, `lr` and any other name a logger uses all work.
ROLE_TAGS = {"train_loss": "train/loss", "val_loss": "val/loss", "train_acc": "train/acc", "val_acc": "val/acc",
             "lr": "lr", "grad_norm": "grad_norm"}


class Monitor:
    """Scalars in, findings out. See the module doc for when it evaluates and what it costs."""

    def __init__(
        self,
        name: str = "run",
        every_steps: int = 50,
        every_seconds: float = 30.0,
        max_overhead: float = 0.0025,
        hparams: dict[str, Any] | None = None,
        select: Iterable[str] = (),
        ignore: Iterable[str] = (),
        thresholds: dict[str, dict[str, Any]] | None = None,
        on_event: Callable[[dict[str, Any]], None] | None = None,
        writer: str | None = None,
    ) -> None:
        from advisor.engine import load_rules, select_rules

        self.name = name
        self.every_steps = every_steps
        self.every_seconds = every_seconds
        self.max_overhead = max_overhead
        self.hparams = dict(hparams or {})
        self.writer = writer
        self.options = DiagnoseOptions(select=list(select), ignore=list(ignore), thresholds=thresholds or {})
        self.rules = select_rules(load_rules(), self.options.select, self.options.ignore)
        self.on_event = on_event
        warm_cost = warm_up(self.rules, self.options)
        self.points: dict[str, Points] = {}
        self._pending: dict[str, tuple[list, list, list]] = {}  # logged since the last evaluation
        self._appenders: dict[str, tuple] = {}  # the `append`s of those lists
        self.tracker = FindingTracker(name)
        self.report: RunReport | None = None
        self.events: list[dict[str, Any]] = []  # every event so far, in order
        self.evaluations = 0
        self.eval_seconds = 0.0  # wall time spent evaluating
        self.eval_cpu_seconds = 0.0  # CPU time of the calling thread spent evaluating
        self._pending_steps = 0
        # after the warm-up: the budget counts training time only
        self._started = self._last_eval = time.perf_counter()
        # First estimate of an evaluation's cost, so the first one waits for its share of the
        # budget too: a real run has several curves of many more points than the 20-point warm-up
        # run, and measures about ten times slower (bench/bench_monitor.py).
        self._last_cost = 10 * warm_cost
        self._urgent = False

    # ------------------------------------------------------------------ feeding

    def log(self, step: int, **scalars: float | None) -> list[dict[str, Any]]:
        """Record the scalars logged at `step` (None values are skipped); evaluate when due.

        Returns the events of that evaluation (empty when none ran or nothing changed). Points go
        to plain lists first (a list append is the cheapest store Python has) and into the numpy
        columns at the next evaluation.
        """
        now = _wall_clock()
        appenders = self._appenders
        urgent = False
        for key, value in scalars.items():
            if value is None:
                continue
            value = float(value)
            add = appenders.get(key)
            if add is None:
                add = self._start_key(key)
            add[0](step)
            add[1](now)
            add[2](value)
            if value - value:  # NaN for NaN and ±inf, 0.0 for a finite value
                urgent = True
        self._pending_steps = pending = self._pending_steps + 1
        if urgent:
            self._urgent = True
        # the clock is read for the every_seconds rule once in 16 calls: `log` is on the hot path
        if self._urgent or ((pending >= self.every_steps or not pending & 15) and self._due()):
            return self.evaluate()
        return []

    def _start_key(self, key: str) -> tuple:
        """The appenders of a scalar's pending lists (bound methods: no attribute look-up per call)."""
        lists = self._pending[key] = ([], [], [])
        if key not in self.points:
            self.points[key] = Points(len(self.points))
        add = self._appenders[key] = (lists[0].append, lists[1].append, lists[2].append)
        return add

    def _flush(self) -> None:
        for key, (steps, walls, values) in self._pending.items():
            if steps:
                self.points[key].extend(steps, walls, values)
        self._pending = {}
        self._appenders = {}

    def _due(self) -> bool:
        """Enough new steps or seconds, and the evaluation budget allows one more.

        The budget is cumulative: all evaluations so far plus the next one (estimated by the last)
        must fit in `max_overhead` of the time since the Monitor started, so the first evaluation
        also waits until the run has been going long enough to pay for it.
        """
        now = time.perf_counter()
        if self.eval_seconds + self._last_cost > self.max_overhead * (now - self._started):
            return False
        return self._pending_steps >= self.every_steps or now - self._last_eval >= self.every_seconds

    # ------------------------------------------------------------------ diagnosing

    def run(self) -> Run:
        """The run as logged so far (arrays are views of the growing columns)."""
        self._flush()
        series = {}
        for key, p in sorted(self.points.items(), key=lambda kv: kv[1].first_record):
            tag = ROLE_TAGS.get(key, key)
            series[tag] = Series(tag, p.step.view(), p.value.view(), p.wall_time.view())
        return Run(name=self.name, path=self.name, format="monitor", series=series, writer=self.writer,
                   hparams=dict(self.hparams))

    def evaluate(self, final: bool = False) -> list[dict[str, Any]]:
        """Diagnose now; the events (new, escalated, cleared findings and the status) it produced."""
        from advisor.pipeline import diagnose_run

        start, start_cpu = time.perf_counter(), time.thread_time()
        self.report = diagnose_run(self.run(), self.rules, self.options)
        events = self.tracker.update(self.report, final=final)
        end = time.perf_counter()
        self._last_cost = end - start
        self.eval_seconds += self._last_cost
        self.eval_cpu_seconds += time.thread_time() - start_cpu
        self.evaluations += 1
        self._last_eval = end
        self._pending_steps = 0
        self._urgent = False
        self.events.extend(events)
        if self.on_event:
            for e in events:
                self.on_event(e)
        return events

    def diagnose(self) -> RunReport:
        """The diagnosis of everything logged so far (evaluates now if anything is new)."""
        if self.report is None or self._pending_steps:
            self.evaluate()
        return self.report

    def finish(self) -> list[dict[str, Any]]:
        """The run is over: a last evaluation that reports end-of-run findings too."""
        return self.evaluate(final=True)

    @property
    def findings(self) -> list[Finding]:
        """The findings reported so far and not cleared (what the event stream announced)."""
        return list(self.tracker.active.values())

    def worst(self, events: list[dict[str, Any]] | None = None) -> str | None:
        """The worst severity among new findings in `events` (default: all active findings)."""
        if events is not None:
            rank = worst_severity(events)
            return None if rank < 0 else ("info", "warning", "error")[rank]
        ranks = [severity_rank(f.severity) for f in self.findings]
        return ("info", "warning", "error")[max(ranks)] if ranks else None

