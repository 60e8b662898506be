"""advisor.executor on the local process pool: input order, laziness, errors, GPU pinning.

The Ray side of the same API is tested in test_executor_ray.py (one local Ray instance there)."""
from __future__ import annotations

import functools
import os
import time

import pytest

from advisor.executor import ExecutorError, cores_available, run_tasks


def _slow_square(x: int) -> tuple[int, int]:
    # later items finish first: results must still come back in input order
    time.sleep(0.002 * ((7 - x) % 7))
    return x * x, os.getpid()


def _fail_on(bad: int, x: int) -> int:
    if x == bad:
        raise ValueError(f"item {x} is bad")
    return x


def _visible_device(_: int) -> tuple[int, str]:
    time.sleep(0.01)
    return os.getpid(), os.environ.get("CUDA_VISIBLE_DEVICES", "")


@pytest.mark.parametrize("jobs", [1, 2, 3])
def test_results_in_input_order_whatever_the_jobs(jobs):
    results = list(run_tasks(_slow_square, range(30), jobs=jobs, chunksize=2))
    assert [r for r, _ in results] == [x * x for x in range(30)]
    pids = {pid for _, pid in results}
    if jobs == 1:
        assert pids == {os.getpid()}  # --jobs 1 runs in this process
    else:
        assert os.getpid() not in pids and 1 <= len(pids) <= jobs


def test_items_are_consumed_lazily_with_a_bounded_window():
    pulled = []

    def items():
        for i in range(10_000):
            pulled.append(i)
            yield i

    gen = run_tasks(_slow_square, items(), jobs=2)
    first = [next(gen)[0] for _ in range(3)]
    assert first == [0, 1, 4]
    assert len(pulled) <= 2 * 4 + 3  # jobs * IN_FLIGHT_PER_WORKER, not all 10,000
    gen.close()  # stopping early shuts the pool down


def test_an_exception_in_fn_is_raised_at_its_item():
    got = []
    with pytest.raises(ValueError, match="item 5 is bad"):
        for r in run_tasks(functools.partial(_fail_on, 5), range(20), jobs=2):
            got.append(r)
    assert got == [0, 1, 2, 3, 4]


def test_progress_counts_every_result():
    calls = []
    list(run_tasks(abs, [-1, -2, -3], jobs=2, progress=lambda d, t, _: calls.append((d, t))))
    assert calls == [(1, 3), (2, 3), (3, 3)]
    calls.clear()
    list(run_tasks(abs, iter([-1, -2]), jobs=1, progress=lambda d, t, _: calls.append((d, t))))
    assert calls == [(1, 0), (2, 0)]  # no len(): total unknown


def test_lambdas_work_in_forked_workers():
    assert list(run_tasks(lambda x: x + 1, range(5), jobs=2)) == [1, 2, 3, 4, 5]


def test_default_jobs_is_the_cores_available():
    assert cores_available() == len(os.sched_getaffinity(0))
    pids = {pid for _, pid in run_tasks(_slow_square, range(4 * cores_available()))}
    assert 1 <= len(pids) <= cores_available()


def test_gpu_workers_are_pinned_to_one_device_each(monkeypatch):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "3,5")
    results = list(run_tasks(_visible_device, range(40), num_gpus=0.5))  # 2 workers per device
    by_pid: dict[int, set[str]] = {}
    for pid, dev in results:
        by_pid.setdefault(pid, set()).add(dev)
    assert all(len(devs) == 1 for devs in by_pid.values())  # a worker never changes device
    assert {d for devs in by_pid.values() for d in devs} <= {"3", "5"}
    assert len(by_pid) <= 4


@pytest.mark.parametrize("kwargs, message", [
    ({"executor": "dask"}, "unknown executor"),
    ({"jobs": 0}, "at least 1"),
    ({"address": "auto"}, "only used with executor='ray'"),
])
def test_bad_settings_are_one_line_errors(kwargs, message):
    with pytest.raises(ExecutorError, match=message):
        run_tasks(abs, [1], **kwargs)


def test_gpus_asked_for_but_none_visible(monkeypatch):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")
    with pytest.raises(ExecutorError, match="no GPU is visible"):
        run_tasks(abs, [1], num_gpus=1)
