"""`advisor watch PATHS`: diagnose runs while they are being written, registered by advisor.cli.

Each pass reads only what the runs' files gained (advisor.live.session) and prints what changed:
a finding when it first appears (with its onset step), again if it escalates, `cleared` when it
goes away, and a one-line status when a run's status changes. On a TTY the runs are shown in a
live table (rich); piped, it prints plain lines and nothing else. `--format json` streams one
`advisor.event/1` object per line and, on exit, a `diagnosis` event holding the same
`advisor.diagnosis/1` object `advisor diagnose --format json` prints.

Passes are woken by file-system events (watchfiles) when available, with a poll every
`--interval` seconds regardless, which is what network file systems get (`--poll` forces it).
Exit codes: 0, or 1 when `--exit-on` fired, 2 on usage errors (DESIGN.md).
"""
from __future__ import annotations

import json
import signal
import sys
import time
from pathlib import Path
from typing import Any, Iterator

import click

from advisor import units
from advisor.numbers import readable


def register(main: click.Group) -> None:
    main.add_command(watch_cmd)


@click.command("watch")
@click.argument("paths", nargs=-1, required=True, type=click.Path())
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--interval", type=click.FloatRange(min=0.05), default=5.0, show_default=True,
              help="seconds between passes when no file-system event wakes one earlier")
@click.option("--poll", "force_poll", is_flag=True, help="never use file-system events (network file systems)")
@click.option("--exit-on", type=click.Choice(["error", "warning"]), default=None,
              help="exit 1 as soon as a finding at or above this severity appears")
@click.option("--once", is_flag=True, help="one pass, print the findings, exit (for cron)")
@click.option("--idle-exit", type=click.FloatRange(min=0), default=None,
              help="exit when no run has changed for this many seconds (the job is over)")
@click.option("--select", multiple=True, help="only these rules (ids, id prefixes, slugs, categories)")
@click.option("--ignore", multiple=True, help="skip these rules")
@click.option("--rules", "rule_dirs", multiple=True, type=click.Path(file_okay=False), help="extra rule folder")
@click.option("--config", "config_path", type=click.Path(dir_okay=False), help="advisor.toml or pyproject.toml")
def watch_cmd(paths, fmt, interval, force_poll, exit_on, once, idle_exit, select, ignore, rule_dirs,
              config_path) -> None:
    """Watch runs under PATHS as they are written; print each finding once, when it appears."""
    from advisor.cli import _load_config
    from advisor.engine import RuleError
    from advisor.gate import exit_code
    from advisor.live.session import LiveRuns
    from advisor.model import severity_rank
    from advisor.pipeline import DiagnoseOptions
    from advisor.report.output import EXIT_FINDINGS, EXIT_OK, EXIT_USAGE

    config = _load_config(config_path)
    from advisor.live.session import is_url

    missing = [p for p in paths if not is_url(p) and not Path(p).exists()]
    if missing:
        click.echo(f"advisor: {missing[0]}: no such file or folder", err=True)
        sys.exit(EXIT_USAGE)
    options = DiagnoseOptions(select=list(select) or config.select, ignore=list(ignore) or config.ignore,
                              rule_dirs=[*config.rules, *map(Path, rule_dirs)], roles=config.roles,
                              thresholds=config.thresholds)
    try:
        live = LiveRuns(paths, options, wait=not once)
    except RuleError as exc:
        click.echo(f"advisor: {exc}", err=True)
        sys.exit(EXIT_USAGE)
    out = _Output(fmt)
    threshold = severity_rank(exit_on) if exit_on else None
    _stop_on_sigterm()
    code = EXIT_OK
    try:
        if once:
            out.emit(live.finish())
        else:
            # file-system events exist only for local paths: URLs (s3://, mlflow://) are polled
            for _ in _wakeups(paths, interval, force_poll or any(map(is_url, paths))):
                events = live.poll()
                out.emit(events)
                if threshold is not None and _fired(events, threshold):
                    code = EXIT_FINDINGS
                    break
                if idle_exit is not None and live.reports and time.monotonic() - live.changed_at >= idle_exit:
                    out.emit(live.finish())
                    break
    except KeyboardInterrupt:
        pass
    finally:
        out.close(live)
    if exit_on is not None and code == EXIT_OK:
        code = exit_code(live.diagnosis(), fail_on=exit_on, allow_empty=True)  # diagnose's own gate
    if once and not any(r.status != "unreadable" for r in live.reports.values()):
        click.echo("advisor: nothing readable found", err=True)  # (each problem was said above)
        code = EXIT_USAGE
    sys.exit(code)


def _fired(events: list[dict[str, Any]], threshold: int) -> bool:
    """A finding at or above the threshold appeared, or a run turned unreadable or its analysis
    failed (the gate of `advisor diagnose` fails those too, advisor.gate)."""
    from advisor.live.events import worst_severity

    return worst_severity(events) >= threshold or any(
        e["event"] == "status" and e["status"] in ("unreadable", "error") for e in events)


def _stop_on_sigterm() -> None:
    """A sidecar is stopped with SIGTERM: end like Ctrl-C, with the final summary."""
    def handler(signum, frame):
        raise KeyboardInterrupt

    try:
        signal.signal(signal.SIGTERM, handler)
    except ValueError:  # not the main thread (tests calling the command in-process)
        pass


def _wakeups(paths, interval: float, force_poll: bool) -> Iterator[None]:
    """Yield once now, then whenever files change (watchfiles) or `interval` seconds pass."""
    yield
    if not force_poll:
        try:
            import watchfiles
        except ImportError:
            watchfiles = None
        if watchfiles is not None:
            # rust_timeout: come back after `interval` even without events (new runs, NFS);
            # debounce: a writer's burst of appends is one pass, not dozens.
            for _ in watchfiles.watch(*paths, rust_timeout=int(interval * 1000), yield_on_timeout=True,
                                      debounce=200, step=50, raise_interrupt=False):
                yield
            return
    while True:
        time.sleep(interval)
        yield


class _Output:
    """Where events go: JSON lines, plain lines, or a live rich table on a TTY."""

    def __init__(self, fmt: str) -> None:
        from advisor.report.output import use_color

        self.fmt = fmt
        self.table = None
        self.rows: dict[str, dict[str, Any]] = {}
        if fmt == "text" and sys.stdout.isatty() and use_color():
            from rich.console import Console
            from rich.live import Live

            self.console = Console()
            self.table = Live(self._render(), console=self.console, auto_refresh=False, transient=False)
            self.table.start()

    def emit(self, events: list[dict[str, Any]]) -> None:
        for e in events:
            if self.fmt == "json":
                click.echo(json.dumps(e, default=_plain))
                continue
            if e["event"] == "status":
                self.rows[e["run"]] = e
                if self.table is None:
                    click.echo(_status_line(e))
                continue
            line = _event_line(e)
            if self.table is not None:
                self.console.print(line, markup=False, highlight=False)
            else:
                click.echo(line, err=e["event"] == "error")
        if self.table is not None:
            self.table.update(self._render(), refresh=True)
        sys.stdout.flush()

    def _render(self):
        from rich.table import Table

        table = Table(title="advisor watch", expand=False)
        for col in ("run", "status", "step", "points", "findings"):
            table.add_column(col, overflow="fold")
        style = {"ok": "green", "warn": "yellow", "fail": "red", "error": "magenta", "unreadable": "magenta",
                 "empty": "magenta"}
        for name, e in sorted(self.rows.items()):
            table.add_row(name, f"[{style.get(e['status'], '')}]{e['status']}[/]", _step(e.get("step")),
                          str(e.get("points", "")), e.get("problem") or ", ".join(e.get("findings") or []) or "-")
        return table

    def close(self, live) -> None:
        if self.table is not None:
            self.table.stop()
        if self.fmt == "json":
            from advisor.live.events import event
            from advisor.report.json_report import to_dict

            click.echo(json.dumps(event("diagnosis", "", diagnosis=to_dict(live.diagnosis())), default=_plain))


def _plain(value):
    return str(value)


def _step(step) -> str:
    """A step in the reports' one number format (`1,234,567`, not `1.23457e+06`)."""
    return "-" if step is None else readable(step)


def _at(e: dict[str, Any], key: str = "step") -> str:
    """`epoch 12`, `timestep 20,000`, `step 1,200`: the event's step in the unit its run counts."""
    return f"{units.name(e.get('x_unit') or 'step')} {_step(e.get(key))}"


def _event_line(e: dict[str, Any]) -> str:
    kind, run = e["event"], e["run"]
    if kind == "error":
        return f"error: {run}: {e['message']}"
    if kind == "cleared":
        return f"{run}: cleared {e['rule']} {e['pattern']} (from {_at(e, 'onset_step')}) at {_at(e)}"
    f = e["finding"]
    verb = "escalated to" if kind == "escalated" else "new"
    return (f"{run}: {verb} {f['severity']} {f['rule']} {f['pattern']} from {_at(e, 'onset_step')} "
            f"(seen at {_at(e)}): {f['summary']}")


def _status_line(e: dict[str, Any]) -> str:
    if e.get("problem"):  # unreadable, analysis failed, empty: the words `advisor diagnose` uses
        return f"{e['run']}: {e['status']}: {e['problem']}"
    findings = ", ".join(e.get("findings") or []) or "no findings"
    extra = f" ({e['error']})" if e.get("error") else ""
    return f"{e['run']}: {e['status']} at {_at(e)}, {e.get('points', 0):,} points: {findings}{extra}"
