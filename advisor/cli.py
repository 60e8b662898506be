"""The `advisor` command line: a thin click group over advisor.pipeline and the renderers.

Heavy modules (pandas, tensorboard, torch, matplotlib) are imported inside the commands, so
`advisor --help` stays fast. Machine output goes to stdout (or `-o FILE`), messages and progress
to stderr. Exit codes are the named constants below (DESIGN.md contract).
"""
from __future__ import annotations

import sys
from pathlib import Path

import click

from advisor import __version__
from advisor.cli_options import execution_options, limit_option, mlflow_option

from advisor.report.output import EXIT_FINDINGS, EXIT_OK, EXIT_USAGE, show_progress, use_color
from advisor.terminal import sanitize, say

FORMATS = ("text", "json", "markdown", "github", "junit", "html", "sarif", "gitlab")


def _fail(message: str) -> None:
    say(f"advisor: {message}")
    sys.exit(EXIT_USAGE)


def _progress():
    """A progress callback for long ingests (a rich bar on a TTY), or None."""
    if not show_progress():
        return None
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    bar = Progress(TextColumn("reading runs"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.description}"),
                   transient=True, console=None)
    state: dict = {}

    def update(done: int, total: int, name: str) -> None:
        if "task" not in state:
            if total < 20:
                state["task"] = None
                return
            bar.start()
            state["task"] = bar.add_task("", total=total)
        if state["task"] is None:
            return
        bar.update(state["task"], completed=done, description=name[-40:])
        if done >= total:
            bar.stop()

    return update


def _load_config(config_path: str | None):
    from advisor.config import ConfigError, load_config

    try:
        return load_config(Path(config_path) if config_path else None)
    except ConfigError as exc:
        _fail(str(exc))


def write_output(text, output: str | None) -> None:
    """`-o -` or no -o: stdout; a file appears whole or not at all (advisor.report.output).
    `text` is the report, or an iterable of its pieces from a streaming renderer."""
    from advisor.report import output as out

    try:
        out.write_chunks(output, [text] if isinstance(text, str) else text)
    except OSError as exc:
        _fail(f"{output}: cannot write ({exc.strerror or exc})")


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="advisor")
def main() -> None:
    """Read training logs, find what went wrong, say what to change."""
    from advisor.blas import one_blas_thread

    one_blas_thread()  # before any command imports numpy


# ----------------------------------------------------------------------------- runs / export


def _limits_of_call(limit_flags):
    """The call's limits (config, then --limit); a bad --limit is a usage error."""
    from advisor.pipeline import UsageProblem, limits_for_cli

    try:
        return limits_for_cli(_load_config(None), limit_flags)
    except UsageProblem as exc:
        _fail(str(exc))


def _read_runs_within_limits(paths, limit_flags):
    """read_runs under the call's limits."""
    from advisor import limits
    from advisor.pipeline import read_runs

    with limits.use(_limits_of_call(limit_flags)):
        return read_runs(paths, _progress())


@main.command("runs")
@click.argument("paths", nargs=-1, required=False, type=click.Path())
@click.option("--format", "fmt", type=click.Choice(["text", "json", "csv"]), default="text", show_default=True,
              help="text: a table fitted to the terminal; json and csv: for scripts")
@limit_option
@mlflow_option
def runs_cmd(paths: tuple[str, ...], fmt: str, limit_flags: tuple[str, ...]) -> None:
    """List the runs found under PATHS: format, writer, tags, points, roles, warnings (sorted by path)."""
    import json

    from advisor.report.common import located
    from advisor.roles import assign_roles

    runs, errors = _read_runs_within_limits(paths, limit_flags)
    rows = []
    for run in sorted(runs, key=lambda r: str(r.path)):
        rows.append({
            "run": _relative_to_argument(run, paths), "path": str(run.path), "format": run.format,
            "writer": run.writer, "points": run.points, "tags": {t: len(s) for t, s in run.series.items()},
            "roles": assign_roles(run), "hparams": {k: v for k, v in list(run.hparams.items())[:50]},
            "warnings": run.warnings, "events": run.events,
        })
    if fmt == "json":
        click.echo(json.dumps({"runs": rows, "errors": errors}, indent=2, default=str))
    elif fmt == "csv" and rows:
        _runs_csv(rows)
    elif rows:
        _runs_table(rows)
    for r in rows:
        for w in r["warnings"]:
            say(f"warning: {located(r['path'], w)}")
    problems = [located(e["path"], e["message"]) for e in errors]
    if not runs:
        _fail(f"no run found: {problems[0]}" if len(problems) == 1 else "no run found under " + ", ".join(paths))
    for line in problems:
        say(f"error: {line}")


def _relative_to_argument(run, paths) -> str:
    """The run relative to the argument it was found under (its own name when it is the argument),
    so a table of one experiment folder does not repeat its prefix on every row."""
    import os

    for given in paths:
        for where in (run.name, run.path):
            rel = os.path.relpath(where, given)
            if not rel.startswith(".."):
                return Path(where).name if rel == "." else rel
    return run.name


def _runs_table(rows: list[dict]) -> None:
    """A rich table as wide as the terminal (COLUMNS when not a terminal): one line per run, the
    path never wrapped; the roles column takes what width is left."""
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    console = Console(no_color=not use_color())
    table = Table(show_lines=False, box=None, pad_edge=False)
    table.add_column("run", overflow="fold", min_width=16, ratio=3)
    for col in ("format", "writer"):
        table.add_column(col, no_wrap=True)
    for col in ("tags", "points", "warnings"):
        table.add_column(col, justify="right", no_wrap=True, min_width=len(col))
    table.add_column("roles", overflow="fold", ratio=2, min_width=12)
    for r in rows:
        roles = ", ".join(r["roles"])  # role names only; which tag plays each role: --format json
        cells = (r["run"], r["format"], r["writer"] or "", str(len(r["tags"])), f"{r['points']:,}",
                 str(len(r["warnings"])) if r["warnings"] else "", roles)
        # Text(), not str: a run named "[link=…]" must not become rich markup.
        table.add_row(*(Text(sanitize(c)) for c in cells))
    console.print(table)


def _runs_csv(rows: list[dict]) -> None:
    import csv
    import io

    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["run", "path", "format", "writer", "tags", "points", "roles", "warnings"])
    for r in rows:
        writer.writerow([r["run"], r["path"], r["format"], r["writer"] or "", len(r["tags"]), r["points"],
                         ";".join(f"{k}={v}" for k, v in r["roles"].items()), len(r["warnings"])])
    click.echo(buf.getvalue(), nl=False)


@main.command("export")
@click.argument("paths", nargs=-1, required=False, type=click.Path())
@click.option("-o", "--output", required=True, help="table.parquet, table.csv, or - for CSV on stdout")
@execution_options
@limit_option
@mlflow_option
def export_cmd(paths: tuple[str, ...], output: str, execution, limit_flags: tuple[str, ...]) -> None:
    """Write every point of every run under PATHS as one long table (run, tag, step, wall_time, value)."""
    from advisor import limits
    from advisor.export import ExportError, export, table_format
    from advisor.pipeline import iter_runs
    from advisor.report.output import open_output

    try:
        table_format(output)
    except ExportError as exc:
        _fail(str(exc))

    def readable():
        for run, error in iter_runs(paths, execution, _progress()):
            if error is not None:
                say(f"error: {error['path']}: {error['message']}")
            else:
                yield run

    try:
        with limits.use(_limits_of_call(limit_flags)):
            points, runs = export(readable(), output, open_output)
    except ExportError as exc:
        _fail(str(exc))
    except OSError as exc:
        _fail(f"{output}: cannot write ({exc.strerror or exc})")
    say(f"wrote {points} points from {runs} runs to {output}")


# ----------------------------------------------------------------------------- diagnose


@main.command("diagnose")
@click.argument("paths", nargs=-1, required=False, type=click.Path())
@click.option("--format", "fmts", type=click.Choice(FORMATS), multiple=True,
              help="text (default), json, markdown, github, junit, html, sarif, gitlab; repeat with one -o "
                   "each for several reports from one diagnosis")
@click.option("-o", "--output", "outputs", multiple=True, help="write the report to FILE (- for stdout); one per --format")
@click.option("--output-dir", type=click.Path(file_okay=False),
              help="write each --format to DIR/advisor.<ext> (advisor.sarif, advisor.junit.xml, ...)")
@click.option("--fail-on", type=click.Choice(["error", "warning", "info", "never"]), default=None,
              help="exit 1 when a finding is at or above this severity [default: error]")
@click.option("--allow-empty", is_flag=True, default=None,
              help="runs with no scalar points (placeholders) do not fail the gate")
@click.option("--select", multiple=True, help="only these rules (ids, id prefixes, slugs, categories)")
@click.option("--ignore", multiple=True, help="skip these rules")
@click.option("--rules", "rule_dirs", multiple=True, type=click.Path(file_okay=False), help="extra rule folder")
@click.option("--config", "config_path", type=click.Path(dir_okay=False), help="advisor.toml or pyproject.toml")
@click.option("-v", "--verbose", is_flag=True, help="show rules that abstained and why")
@click.option("-q", "--quiet", is_flag=True, help="no progress or messages on stderr")
@click.option("--baseline", multiple=True, type=click.Path(),
              help="compare key metrics with these runs (BASE001/BASE002 regressions)")
@click.option("--baseline-tolerance", default="band:2", show_default=True,
              help="band[:k] (mean ± k·std), abs:<delta>, rel:<fraction> or <p>%")
@execution_options
@limit_option
@mlflow_option
def diagnose_cmd(paths, fmts, outputs, output_dir, fail_on, allow_empty, select, ignore, rule_dirs, config_path,
                 verbose, quiet, baseline, baseline_tolerance, execution,
                 limit_flags) -> None:
    """Diagnose every run under PATHS: what is wrong, the evidence, and what to change."""
    from advisor.gate import exit_code
    from advisor.pipeline import UsageProblem, diagnose_for_cli
    from advisor.report import RenderOptions, render
    from advisor.report.output import is_stdout, problem_lines, report_targets, say_problems

    try:
        targets = report_targets(list(fmts) or ["text"], list(outputs), output_dir)
    except ValueError as exc:
        _fail(str(exc))
    config = _load_config(config_path)
    fail_on = fail_on or config.fail_on or "error"
    allow_empty = config.allow_empty if allow_empty is None else allow_empty
    try:
        diagnosis = diagnose_for_cli(paths, config, select, ignore, rule_dirs, baseline, baseline_tolerance,
                                     None if quiet else _progress(), execution,
                                     keep="curves" if any(fmt == "html" for fmt, _ in targets) else "summary",
                                     limit_flags=limit_flags)
    except UsageProblem as exc:
        _fail(str(exc))
    code = exit_code(diagnosis, fail_on, allow_empty)
    for fmt, out in targets:
        if fmt == "text" and code == EXIT_USAGE and is_stdout(out):
            continue  # nothing readable: the one-line message below says it all
        options = RenderOptions(color=use_color() and is_stdout(out), verbose=verbose, fail_on=fail_on,
                                allow_empty=allow_empty)
        if fmt == "json":  # streamed: a sweep's JSON document is never whole in memory
            from advisor.report.json_report import render_chunks

            write_output(render_chunks(diagnosis, options), out)
        else:
            write_output(render(diagnosis, fmt, options), out)
    if not quiet:
        say_problems(problem_lines(diagnosis), nothing_readable=code == EXIT_USAGE)
    sys.exit(code)


# ----------------------------------------------------------------------------- rules


@main.command("rules")
@click.option("--rules", "rule_dirs", multiple=True, type=click.Path(file_okay=False), help="extra rule folder")
@click.option("--format", "fmt", type=click.Choice(["text", "json", "markdown", "sources"]), default="text",
              show_default=True, help="markdown: README's rule table; sources: README's Sources section")
def rules_cmd(rule_dirs, fmt) -> None:
    """List the rules: id, name, pattern, severity, status."""
    from advisor.engine import RuleError, documented_rules, load_rules
    from advisor.engine.docs import rules_json, rules_table, rules_text
    from advisor.engine.sources import load_sources, sources_markdown

    try:
        rules = documented_rules(load_rules(rule_dirs))
    except RuleError as exc:
        _fail(str(exc))
    if fmt == "sources":
        click.echo(sanitize(sources_markdown(load_sources()), newlines=True), nl=False)
        return
    render = {"text": rules_text, "json": rules_json, "markdown": rules_table}[fmt]
    click.echo(sanitize(render(rules), newlines=True), nl=False)  # user rule folders are data too


@main.command("explain")
@click.argument("rule_id")
@click.option("--rules", "rule_dirs", multiple=True, type=click.Path(file_okay=False), help="extra rule folder")
def explain_cmd(rule_id, rule_dirs) -> None:
    """Print one rule's documentation (by id, alias or slug)."""
    from advisor.engine import RuleError, RuleSet, check_selectors, documented_rules, load_rules
    from advisor.engine.docs import explain
    from advisor.engine.sources import load_sources

    try:
        ruleset = RuleSet(documented_rules(load_rules(rule_dirs)))
        rule = ruleset.by_id(rule_id.upper()) or ruleset.by_id(rule_id)
        if rule is None:
            check_selectors(ruleset.rules, [rule_id], "explain")  # raises, with the closest names
    except RuleError as exc:
        _fail(str(exc))
    if rule is None:
        _fail(f"explain: {rule_id!r} names several rules; give one id (see `advisor rules`)")
    click.echo(sanitize(explain(rule, load_sources()), newlines=True), nl=False)


def _register_optional_commands() -> None:
    """Commands whose modules live in other stages register themselves here (lazy bodies)."""
    from importlib import import_module

    for module in ("advisor.report.cli", "advisor.verify.cli", "advisor.live.cli"):
        try:
            mod = import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name != module:
                raise
            continue
        mod.register(main)


_register_optional_commands()


if __name__ == "__main__":  # pragma: no cover
    main()
