"""advisor.executor and `advisor diagnose --executor ray` on a real local Ray instance.

Ray takes seconds to start, so every Ray test lives in this module and shares one instance
(2 CPUs, like the CI machine), shut down at the end so no raylet or worker is left behind."""
from __future__ import annotations

import functools
import json
import os
from pathlib import Path

import pytest

from click.testing import CliRunner

from advisor.cli import main
from advisor.executor import ExecutorError, run_tasks
from advisor.pipeline import Execution, diagnose_paths
from advisor.report import RenderOptions, render
from sweep import write_sweep

HERE = Path(__file__).resolve().parent


@pytest.fixture(scope="module")
def ray_cluster():
    ray = pytest.importorskip("ray", reason="the ray extra is part of [test]")
    # Ray's workers import functions by module, so they need this folder and the checkout too
    path = os.pathsep.join(p for p in (str(HERE), str(HERE.parent), os.environ.get("PYTHONPATH")) if p)
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False,
             runtime_env={"env_vars": {"PYTHONPATH": path}})
    yield ray
    ray.shutdown()


def _square_pid(x: int) -> tuple[int, int]:
    return x * x, os.getpid()


def _fail_on(bad: int, x: int) -> int:
    if x == bad:
        raise ValueError(f"item {x} is bad")
    return x


def test_ray_results_in_input_order_on_ray_workers(ray_cluster):
    results = list(run_tasks(_square_pid, range(50), executor="ray", chunksize=3))
    assert [r for r, _ in results] == [x * x for x in range(50)]
    assert os.getpid() not in {pid for _, pid in results}  # ran in Ray's worker processes


def test_ray_reraises_the_task_exception(ray_cluster):
    with pytest.raises(ValueError, match="item 3 is bad"):
        list(run_tasks(functools.partial(_fail_on, 3), range(10), executor="ray"))


def test_ray_gpu_request_that_no_node_can_meet_is_refused(ray_cluster):
    # Ray would queue a num_gpus=1 task forever on a CPU-only cluster; say so instead.
    with pytest.raises(ExecutorError, match="no GPU"):
        run_tasks(abs, [1], executor="ray", num_gpus=1)


@pytest.fixture(scope="module")
def sweep_1000(tmp_path_factory):
    return write_sweep(tmp_path_factory.mktemp("sweep"), 1000)


@pytest.mark.slow  # 2 x 1,000 diagnoses
def test_diagnose_on_ray_finds_what_the_local_pool_finds_on_1000_runs(ray_cluster, sweep_1000):
    result = CliRunner().invoke(main, ["diagnose", str(sweep_1000), "--format", "json", "-q", "--executor", "ray"],
                                catch_exceptions=False)
    local = diagnose_paths([sweep_1000], keep="summary", execution=Execution(jobs=2))
    assert result.stdout == render(local, "json", RenderOptions())
    doc = json.loads(result.stdout)
    assert len(doc["runs"]) == 1000 and not doc["errors"]
    rules = {f["rule"] for r in doc["runs"] for f in r["findings"]}
    assert len(rules) >= 3  # different troubles in different runs: a mix-up would show
