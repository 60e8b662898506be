"""`advisor export`: every point of every run as one long table (run, tag, step, wall_time, value),
written run by run as the runs are read, so a sweep of any size is exported in the memory of
one run.

Parquet goes through pyarrow's ParquetWriter, one row group per run (run and tag as dictionary
columns: pandas reads them back as categoricals); CSV through pandas, one run's rows at a time,
the same text `DataFrame.to_csv` gives for the whole table.
"""
from __future__ import annotations

from pathlib import Path
from typing import IO, Callable, Iterable

from advisor.model import Run

FORMATS = {".parquet": "parquet", ".csv": "csv", ".txt": "csv"}


class ExportError(Exception):
    """A target that cannot be written (unknown format, pyarrow missing): one line."""


def table_format(output: str) -> str:
    if output == "-":
        return "csv"
    fmt = FORMATS.get(Path(output).suffix.lower())
    if fmt is None:
        raise ExportError(f"{output}: unknown table format (use .parquet or .csv)")
    if fmt == "parquet":
        try:
            import pyarrow  # noqa: F401
        except ImportError:
            raise ExportError("writing parquet needs pyarrow: pip install 'advisor[parquet]'") from None
    return fmt


def run_frame(run: Run):
    """One run's rows: its long table with the run's name in front."""
    table = run.table()
    table.insert(0, "run", run.name)
    table["tag"] = table["tag"].astype(str)
    return table


def write_csv(runs: Iterable[Run], stream: IO[str]) -> tuple[int, int]:
    """(points, runs) written as CSV to `stream`, header once."""
    points = count = 0
    for run in runs:
        frame = run_frame(run)
        stream.write(frame.to_csv(index=False, header=count == 0))
        points += len(frame)
        count += 1
    return points, count


def write_parquet(runs: Iterable[Run], where: str | Path | IO[bytes]) -> tuple[int, int]:
    """(points, runs) written as Parquet to a path or binary stream, one row group per run."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = pa.schema([("run", pa.dictionary(pa.int32(), pa.string())),
                        ("tag", pa.dictionary(pa.int32(), pa.string())),
                        ("step", pa.int64()), ("wall_time", pa.float64()), ("value", pa.float64())])
    points = count = 0
    with pq.ParquetWriter(str(where) if isinstance(where, (str, Path)) else where, schema) as writer:
        for run in runs:
            frame = run_frame(run)
            writer.write_table(pa.Table.from_pandas(frame, schema=schema, preserve_index=False))
            points += len(frame)
            count += 1
    return points, count


def export(runs: Iterable[Run], output: str, open_output: Callable) -> tuple[int, int]:
    """Write `runs` to `output` ('-': CSV on stdout) through `open_output` (a context manager
    giving a stream that replaces the target only when complete, advisor.report.output)."""
    fmt = table_format(output)
    if fmt == "csv":
        with open_output(None if output == "-" else output) as stream:
            points, count = write_csv(runs, stream)
            _some(count)
    else:
        with open_output(output, binary=True) as stream:
            points, count = write_parquet(runs, stream)
            _some(count)
    return points, count


def _some(count: int) -> None:
    """Inside the output's block: raising here leaves no empty table behind."""
    if not count:
        raise ExportError("nothing readable found")
