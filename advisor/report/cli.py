"""`advisor report`: the shareable HTML report, registered on the CLI group by advisor.cli.

`advisor report PATH... -o report.html` runs the same pipeline as `diagnose` and writes one
self-contained HTML file (advisor.report.html). It exits 0 once the file is written (sharing
and diagnose share one exit-code rule (advisor.gate): 1 when a finding reaches `--fail-on` (default
from config, else `error`) or a run is unreadable or empty, 2 when nothing readable was found.
"""
from __future__ import annotations

import sys

import click

from advisor.cli_options import execution_options, limit_option, mlflow_option


def register(main: click.Group) -> None:
    main.add_command(report_cmd)


@click.command("report")
@click.argument("paths", nargs=-1, required=False, type=click.Path())
@click.option("-o", "--output", default="report.html", show_default=True,
              help="the HTML file to write (- for stdout)")
@click.option("--fail-on", type=click.Choice(["error", "warning", "info", "never"]), default=None,
              help="exit 1 when a finding is at or above this severity [default: error]")
@click.option("--allow-empty", is_flag=True, default=None,
              help="runs with no scalar points (placeholders) do not fail the gate")
@click.option("--baseline", "baseline", multiple=True, type=click.Path(),
              help="compare key metrics with these runs (BASE001/BASE002 regressions)")
@click.option("--baseline-tolerance", default="band:2", show_default=True,
              help="band[:k] (mean ± k·std), abs:<delta>, rel:<fraction> or <p>%")
@click.option("--select", multiple=True, help="only these rules (ids, id prefixes, slugs, categories)")
@click.option("--ignore", multiple=True, help="skip these rules")
@click.option("--rules", "rule_dirs", multiple=True, type=click.Path(file_okay=False), help="extra rule folder")
@click.option("--config", "config_path", type=click.Path(dir_okay=False), help="advisor.toml or pyproject.toml")
@click.option("-q", "--quiet", is_flag=True, help="no progress or messages on stderr")
@execution_options
@limit_option
@mlflow_option
def report_cmd(paths, output, fail_on, allow_empty, baseline, baseline_tolerance, select, ignore, rule_dirs,
               config_path, quiet, execution, limit_flags) -> None:
    """Write one self-contained HTML report (curves, shaded findings, advice) for the runs under PATHS."""
    from pathlib import Path

    from advisor.gate import exit_code
    from advisor.report import RenderOptions, render
    from advisor.report.output import EXIT_USAGE, is_stdout, problem_lines, say_problems, write_output
    from advisor.terminal import say

    def fail(text: str) -> None:
        say(f"advisor: {text}")
        sys.exit(EXIT_USAGE)

    try:
        from advisor.config import ConfigError, load_config

        config = load_config(Path(config_path) if config_path else None)
    except ConfigError as exc:
        fail(str(exc))
    from advisor.pipeline import UsageProblem, diagnose_for_cli

    try:
        diagnosis = diagnose_for_cli(paths, config, select, ignore, rule_dirs, baseline, baseline_tolerance,
                                     execution=execution, keep="curves", limit_flags=limit_flags)
    except UsageProblem as exc:
        fail(str(exc))
    fail_on = fail_on or config.fail_on or "error"
    allow_empty = config.allow_empty if allow_empty is None else allow_empty
    code = exit_code(diagnosis, fail_on, allow_empty)
    if not quiet:
        say_problems(problem_lines(diagnosis), nothing_readable=code == EXIT_USAGE)
    if code == EXIT_USAGE:
        sys.exit(code)
    try:
        text = render(diagnosis, "html", RenderOptions(verbose=True, fail_on=fail_on if fail_on != "never" else "error",
                                                       allow_empty=allow_empty))
        write_output(output, text)
    except OSError as exc:
        fail(f"{output}: cannot write ({exc.strerror or exc})")
    if not quiet and not is_stdout(output):
        n = len(diagnosis.runs)
        say(f"wrote {output} ({n} run{'s' if n != 1 else ''}, {_size(len(text.encode()))})")
    sys.exit(code)


def _size(n_bytes: int) -> str:
    """`84 KB`, `6.2 MB`: never "0.0 MB" for a small report."""
    return f"{n_bytes / 1e6:.1f} MB" if n_bytes >= 1e6 else f"{max(1, round(n_bytes / 1e3))} KB"
