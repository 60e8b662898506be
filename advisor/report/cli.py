"""`advisor report`: the shareable HTML report, registered on the CLI group by advisor.cli.

`advisor report PATH... -o report.html` runs the same pipeline as `diagnose` and writes one
self-contained HTML file (advisor.report.html). It exits 0 once the file is written (sharing
is not gating) unless `--fail-on` is given; 2 when nothing readable was found or on usage errors.
"""
from __future__ import annotations

import sys

import click

from advisor.cli_options import execution_options


def register(main: click.Group) -> None:
    main.add_command(report_cmd)


@click.command("report")
@click.argument("paths", nargs=-1, required=True, type=click.Path())
@click.option("-o", "--output", default="report.html", show_default=True,
              help="the HTML file to write (- for stdout)")
@click.option("--fail-on", type=click.Choice(["error", "warning", "info", "never"]), default="never",
              show_default=True, help="exit 1 when a finding is at or above this severity")
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
def report_cmd(paths, output, fail_on, baseline, baseline_tolerance, select, ignore, rule_dirs, config_path,
               quiet, execution) -> None:
    """Write one self-contained HTML report (curves, shaded findings, advice) for the runs under PATHS."""
    from pathlib import Path

    from advisor.model import severity_rank
    from advisor.report import RenderOptions, render
    from advisor.report.output import EXIT_FINDINGS, EXIT_OK, EXIT_USAGE, is_stdout, write_output
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
                                     execution=execution, keep="curves")
    except UsageProblem as exc:
        fail(str(exc))
    if not quiet:
        for e in diagnosis.errors:
            say(f"warning: {e['path']}: {e['message']}")
    if not diagnosis.runs:
        fail("nothing readable found")
    try:
        text = render(diagnosis, "html", RenderOptions(verbose=True, fail_on=fail_on if fail_on != "never" else "error"))
        write_output(output, text)
    except OSError as exc:
        fail(f"{output}: cannot write ({exc.strerror or exc})")
    if not quiet and not is_stdout(output):
        say(f"wrote {output} ({len(diagnosis.runs)} runs, {len(text.encode()) / 1e6:.1f} MB)")
    if fail_on != "never":
        threshold = severity_rank(fail_on)
        if any(severity_rank(f.severity) >= threshold for r in diagnosis.runs for f in r.findings):
            sys.exit(EXIT_FINDINGS)
    sys.exit(EXIT_OK)
