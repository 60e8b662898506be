"""One BLAS thread for the `advisor` command, and the caller's setting back for the trainings it runs.

Why: advisor's numerics are vector sums, FFTs and small least-squares fits; numpy's OpenBLAS
starts a thread per core at import and lets them spin after every call it threads, which buys
advisor nothing: a diagnosis of the 1M-scalar event file took 1.06 s of CPU for 0.78 s of wall
on two cores, 0.80 s with one thread at the same wall (bench/bench_diagnose.py, bench/README.md),
and numpy's import alone 0.12 s against 0.05 s. OpenBLAS also splits a dot product of more than 10,000
values (a long curve's autocorrelation) among its threads, so its rounding followed the
machine's core count; with one thread it is the same everywhere.

A value the user set is kept. The variable reaches advisor's own worker processes (--jobs,
Ray workers on this machine), not the training commands `advisor verify` starts: those get the
environment the user called advisor with (`callers_env`).
"""
from __future__ import annotations

import os
from typing import MutableMapping

VARIABLE = "OPENBLAS_NUM_THREADS"
MARK = "ADVISOR_SET_OPENBLAS_NUM_THREADS"  # advisor, not the user, set VARIABLE


def one_blas_thread(environ: MutableMapping[str, str] = os.environ) -> None:
    """Ask for one OpenBLAS thread unless the user chose a number (before numpy is imported)."""
    if VARIABLE not in environ:
        environ[VARIABLE] = "1"
        environ[MARK] = "1"


def callers_env(env: MutableMapping[str, str]) -> MutableMapping[str, str]:
    """`env` without what one_blas_thread added (in place, and returned)."""
    if env.pop(MARK, None) is not None:
        env.pop(VARIABLE, None)
    return env
