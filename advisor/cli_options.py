"""Click options shared by the commands that diagnose many runs (`diagnose`, `report`, `export`).

Kept apart from advisor.cli so the command modules of other stages (advisor.report.cli) can
decorate their commands with them without importing the CLI group.
"""
from __future__ import annotations

import functools

import click


def execution_options(command):
    """--jobs / --executor / --address: where the runs are read and diagnosed (advisor.executor)."""

    @click.option("-j", "--jobs", type=click.IntRange(min=1), default=None,
                  help="worker processes (local) or Ray CPUs to use [default: the cores available]")
    @click.option("--executor", type=click.Choice(["local", "ray"]), default="local", show_default=True,
                  help="local process pool, or Ray (pip install 'advisor[ray]')")
    @click.option("--address", default=None, metavar="ADDR",
                  help="Ray cluster to use (auto, host:6379, ray://host:10001) [default: a local Ray]")
    @functools.wraps(command)
    def wrapper(*args, jobs, executor, address, **kwargs):
        from advisor.pipeline import Execution

        if address and executor != "ray":
            raise click.UsageError("--address needs --executor ray")
        return command(*args, execution=Execution(jobs=jobs, executor=executor, address=address), **kwargs)

    return wrapper


def limit_option(command):
    """--limit NAME=VALUE (repeatable): raise one of the limits of advisor.limits for this call."""
    from advisor.limits import Limits

    return click.option(
        "--limit", "limit_flags", multiple=True, metavar="NAME=VALUE",
        help="raise a limit on what one log may cost (" + ", ".join(Limits.names()) + "), e.g. file_bytes=8G",
    )(command)


def mlflow_option(command):
    """--mlflow-uri URI: PATHS are then experiments (names or ids) of that MLflow tracking server,
    none meaning every experiment; each becomes `mlflow://HOST:PORT/EXPERIMENT`
    (advisor.ingest.mlflow_server), so the rest of the command is the same as for those URLs.
    The command's PATHS argument must be optional (`required=False`): this checks it."""

    @click.option("--mlflow-uri", default=None, metavar="URI",
                  help="read runs from this MLflow tracking server (http://HOST:PORT); PATHS are then "
                       "experiment names or ids [default: every experiment]")
    @functools.wraps(command)
    def wrapper(*args, paths, mlflow_uri, **kwargs):
        if mlflow_uri is None:
            if not paths:
                raise click.UsageError("Missing argument 'PATHS...'.")
            return command(*args, paths=paths, **kwargs)
        from advisor.ingest import mlflow_server

        try:
            urls = mlflow_server.tracking_urls(mlflow_uri, paths)
        except mlflow_server.ServerError as exc:
            raise click.UsageError(str(exc)) from None
        if not urls:
            raise click.UsageError(f"{mlflow_uri}: no experiment on the server holds an active run")
        return command(*args, paths=tuple(urls), **kwargs)

    return wrapper
