"""`advisor` runs numpy on one OpenBLAS thread unless the user chose, and gives the trainings it
starts the caller's environment back (advisor/blas.py says why)."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from advisor.blas import MARK, VARIABLE, callers_env, one_blas_thread
from advisor.cli import main
from advisor.verify.runner import trial_env

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "tensorboard" / "torch_basic"


def test_one_thread_is_asked_for_only_when_the_user_chose_none():
    env = {"PATH": "/bin"}
    one_blas_thread(env)
    assert env == {"PATH": "/bin", VARIABLE: "1", MARK: "1"}
    assert callers_env(dict(env)) == {"PATH": "/bin"}
    mine = {VARIABLE: "8"}
    one_blas_thread(mine)
    assert mine == {VARIABLE: "8"} and callers_env(dict(mine)) == {VARIABLE: "8"}


def test_a_command_sets_it_and_a_verify_trial_does_not_inherit_it(monkeypatch):
    monkeypatch.delenv(VARIABLE, raising=False)
    monkeypatch.delenv(MARK, raising=False)
    result = CliRunner().invoke(main, ["diagnose", str(FIXTURE), "--format", "json"])
    assert result.exit_code in (0, 1), result.output
    assert os.environ.get(VARIABLE) == "1" and os.environ.get(MARK) == "1"
    env, device = trial_env(None)
    assert VARIABLE not in env and MARK not in env and device == "cpu"


def test_the_advisor_process_really_runs_openblas_on_one_thread():
    """numpy's own report of its BLAS pool (threadpoolctl, from the verify extra) in a process that
    runs the command line's group first, as `advisor ...` does."""
    code = ("import sys; from advisor.cli import main\n"
            "try:\n    main(['rules'], standalone_mode=False)\nexcept SystemExit:\n    pass\n"
            "from threadpoolctl import threadpool_info; import numpy\n"
            "print('pool', [p['num_threads'] for p in threadpool_info() if p['internal_api'] == 'openblas'])")
    env = {k: v for k, v in os.environ.items() if k not in (VARIABLE, MARK)}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60)
    assert out.returncode == 0, out.stderr
    pool = out.stdout.strip().splitlines()[-1]
    assert pool in ("pool [1]", "pool []"), pool  # [] only where numpy's BLAS is not OpenBLAS
