"""What every adapter shares: a Monitor, a stop policy and where the findings are written.

A framework adapter only translates: its metrics into `Guard.observe(step, ...)`, and
`Guard.should_stop` into the framework's own stop flag. The policy is the same everywhere:
`stop_on="error"` (default) stops on an error-severity finding (a divergence, a run stuck at
chance), `"warning"` also on warnings, `None` never stops and only reports. Each new, escalated
or cleared finding is written as one line to `log_to` (a `logging.Logger`, or any callable taking
a string; default: the `advisor` logger) and handed to `on_event` hooks, so adapters can also put
it into the framework's logger (TensorBoard text, W&B) next to the curves.
"""
from __future__ import annotations

import logging
from typing import Any, Callable

from advisor.model import severity_rank

LOG = logging.getLogger("advisor")


def describe(event: dict[str, Any]) -> str:
    """One line for a finding event, as the adapters log it."""
    if event["event"] == "cleared":
        return f"advisor: {event['run']}: cleared {event['rule']} {event['pattern']} at step {_num(event.get('step'))}"
    f = event["finding"]
    verb = "escalated to " if event["event"] == "escalated" else ""
    return (f"advisor: {event['run']}: {verb}{f['severity']} {f['rule']} {f['pattern']} from step "
            f"{_num(event.get('onset_step'))} (seen at step {_num(event.get('step'))}): {f['summary']}")


def _num(value) -> str:
    return "-" if value is None else f"{value:g}"


class Guard:
    """A Monitor plus the stop policy. `observe` returns True once the run should stop."""

    def __init__(
        self,
        name: str = "run",
        stop_on: str | None = "error",
        log_to: logging.Logger | Callable[[str], Any] | None = None,
        monitor=None,
        **monitor_options: Any,
    ) -> None:
        from advisor.live.monitor import Monitor

        if stop_on not in (None, "info", "warning", "error"):
            raise ValueError(f"stop_on must be 'error', 'warning', 'info' or None, not {stop_on!r}")
        self.monitor = monitor or Monitor(name, **monitor_options)
        self.stop_on = stop_on
        self.log_to = log_to if log_to is not None else LOG
        self.hooks: list[Callable[[dict[str, Any], str], None]] = []
        self.stop_reason: str | None = None
        self.stop_finding: dict[str, Any] | None = None

    @property
    def should_stop(self) -> bool:
        return self.stop_reason is not None

    def observe(self, step: int, **scalars: float | None) -> bool:
        self.handle(self.monitor.log(step, **scalars))
        return self.should_stop

    def evaluate(self, final: bool = False) -> bool:
        self.handle(self.monitor.evaluate(final=final))
        return self.should_stop

    def handle(self, events: list[dict[str, Any]]) -> None:
        for e in events:
            if e["event"] not in ("finding", "escalated", "cleared"):
                continue
            line = describe(e)
            self._emit(e, line)
            if e["event"] != "cleared" and self.stop_reason is None and self._stops(e["finding"]["severity"]):
                self.stop_finding = e
                self.stop_reason = line.replace("advisor: ", "advisor stopped the run: ", 1)
                self._emit(e, self.stop_reason)

    def _emit(self, event: dict[str, Any], line: str) -> None:
        self._write(line)
        for hook in self.hooks:
            hook(event, line)

    def _stops(self, severity: str) -> bool:
        return self.stop_on is not None and severity_rank(severity) >= severity_rank(self.stop_on)

    def _write(self, line: str) -> None:
        if isinstance(self.log_to, logging.Logger):
            self.log_to.warning(line)
        else:
            self.log_to(line)


def as_float(value: Any) -> float | None:
    """A Python float from a number, a 0-d tensor or array; None for anything else."""
    if value is None:
        return None
    try:
        if hasattr(value, "numel") and value.numel() != 1:
            return None
        if hasattr(value, "item"):
            value = value.item()
        return float(value)
    except (TypeError, ValueError, RuntimeError):
        return None
