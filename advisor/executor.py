"""Fan a function out over items on all local cores or on a Ray cluster, results in input order.

One small API for every place that does the same work on many independent items: diagnosing
the runs of a sweep, drawing their charts, running verifier trials on several GPUs.

    from advisor.executor import run_tasks

    for result in run_tasks(fn, items, jobs=4):                    # local process pool
        ...
    for result in run_tasks(fn, items, executor="ray", num_gpus=1):  # one GPU per task
        ...

- `fn` is any picklable callable of one item (a module-level function or a
  `functools.partial` of one); `items` any iterable of picklable items, consumed lazily.
- Results come back as a generator **in the order of `items`**, whatever order the workers
  finish in, so output built from them is the same for every `jobs` and executor.
- At most a few tasks per worker are in flight at any time, so neither the items nor the
  results of 100,000 tasks are ever all in memory at once: a caller that consumes results as
  they come keeps memory bounded.
- An exception raised by `fn` is re-raised by the generator at that item's position (the
  tasks already submitted are cancelled or drained); callers that want per-item errors catch
  them inside `fn`.

Local executor: `jobs=1` runs in this process (no pickling, plain tracebacks); `jobs>1` uses a
`concurrent.futures.ProcessPoolExecutor` whose workers receive `fn` once, at start. On Linux
the workers are forked (no re-import of the program, so the pool starts in milliseconds and
scripts without an `if __name__ == "__main__"` guard work); elsewhere, or with
`start_method="spawn"|"forkserver"` (what a caller that has initialised CUDA needs), they are
started fresh and import what `fn` needs. With `num_gpus > 0` each local worker sees one
device through `CUDA_VISIBLE_DEVICES` (round robin over the visible ones; `num_gpus=0.5`
puts two workers on each device).

Ray executor (`pip install 'advisor[ray]'`): connects to `address` (`"auto"`, `"ray://host:10001"`,
`"host:6379"`) or, without one, reuses the Ray instance this process already started, or starts
a local one with `jobs` CPUs. Each item is one Ray task asking for `num_cpus` and `num_gpus`,
so Ray's scheduler places GPU tasks on GPU nodes. The cluster's workers must be able to import
`advisor` (install it there, or pass a `runtime_env` through `ray_init`).

Why Ray rather than Dask: the runs of a sweep and the trials of a verifier are independent,
coarse tasks that need CPU/GPU resource requests, which is Ray's task model (`num_gpus=` on a
task); ML teams already run Ray clusters for sweeps (Ray Tune) and training. Dask's strengths,
partitioned dataframes and task graphs with dependencies, are not what this needs.
"""
from __future__ import annotations

import collections
import itertools
import os
import sys
from typing import Any, Callable, Iterable, Iterator, TypeVar

T = TypeVar("T")
R = TypeVar("R")

Progress = Callable[[int, int, str], None]  # (done, total or 0 when unknown, label)

EXECUTORS = ("local", "ray")
# Tasks in flight per worker: enough to keep every worker busy while the head result is awaited,
# few enough that memory stays bounded whatever the number of items.
IN_FLIGHT_PER_WORKER = 4


class ExecutorError(Exception):
    """An executor that cannot be used as asked (unknown name, bad jobs, missing package, no
    cluster at the address): one line for the user."""


def cores_available() -> int:
    """The cores this process may run on (its CPU affinity, e.g. a container's or `taskset`'s
    share), not the machine's count."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # macOS, Windows
        return max(1, os.cpu_count() or 1)


def run_tasks(
    fn: Callable[[T], R],
    items: Iterable[T],
    *,
    jobs: int | None = None,
    executor: str = "local",
    address: str | None = None,
    num_cpus: float = 1,
    num_gpus: float = 0,
    chunksize: int = 1,
    progress: Progress | None = None,
    start_method: str | None = None,
    ray_init: dict[str, Any] | None = None,
) -> Iterator[R]:
    """`fn(item)` for every item, on `jobs` workers, yielded in the order of `items`.

    jobs: worker processes (local) or the CPUs of a Ray instance started here; default: the
      cores available (`cores_available()`), or for local GPU tasks the devices / `num_gpus`.
    executor: "local" (process pool) or "ray".
    address: Ray cluster to connect to (ray only).
    num_cpus, num_gpus: what one task needs (Ray resource request; locally, `num_gpus` pins
      workers to devices).
    chunksize: items sent to a worker at a time (cuts per-task overhead for tiny tasks).
    progress: called as progress(done, total, "") after each finished item; total is 0 when
      `items` has no len().
    start_method: local pool's multiprocessing start method (default: fork on Linux, else the
      platform's default).
    ray_init: extra keyword arguments for `ray.init` (e.g. runtime_env).
    """
    if executor not in EXECUTORS:
        raise ExecutorError(f"unknown executor {executor!r} (use one of: {', '.join(EXECUTORS)})")
    if jobs is not None and jobs < 1:
        raise ExecutorError(f"jobs must be at least 1, got {jobs}")
    if chunksize < 1:
        raise ExecutorError(f"chunksize must be at least 1, got {chunksize}")
    if address is not None and executor != "ray":
        raise ExecutorError("an address is only used with executor='ray'")
    total = len(items) if hasattr(items, "__len__") else 0  # type: ignore[arg-type]
    if executor == "ray":
        results = _run_ray(fn, items, jobs, address, num_cpus, num_gpus, chunksize, ray_init or {})
    else:
        results = _run_local(fn, items, jobs, num_gpus, chunksize, start_method)
    return _counted(results, total, progress)


def _counted(results: Iterator[R], total: int, progress: Progress | None) -> Iterator[R]:
    done = 0
    for result in results:
        done += 1
        if progress:
            progress(done, total, "")
        yield result


def _chunks(items: Iterable[T], size: int) -> Iterator[list[T]]:
    it = iter(items)
    while chunk := list(itertools.islice(it, size)):
        yield chunk


def _windowed(submit: Callable[[list[T]], Any], wait: Callable[[Any], list[R]], cancel: Callable[[Any], None],
              chunks: Iterator[list[T]], window: int) -> Iterator[R]:
    """Keep `window` chunks in flight; yield the oldest one's results first (input order)."""
    pending: collections.deque = collections.deque()
    try:
        for chunk in chunks:
            pending.append(submit(chunk))
            if len(pending) >= window:
                yield from wait(pending.popleft())
        while pending:
            yield from wait(pending.popleft())
    finally:  # an exception, or the caller stopped early: do not leave work running
        for handle in pending:
            cancel(handle)


# ----------------------------------------------------------------------------- local pool

_worker_fn: Callable | None = None


def _worker_start(fn: Callable, devices: list[str], per_device: int, counter) -> None:
    """Pool initializer: keep `fn` for every task, and pin this worker to its GPU when asked."""
    global _worker_fn
    _worker_fn = fn
    if devices:
        with counter.get_lock():
            index = counter.value
            counter.value += 1
        os.environ["CUDA_VISIBLE_DEVICES"] = devices[(index // per_device) % len(devices)]


def _worker_chunk(chunk: list) -> list:
    assert _worker_fn is not None, "worker started without a function"
    return [_worker_fn(item) for item in chunk]


def visible_gpus() -> list[str]:
    """Device ids a local worker may be pinned to: CUDA_VISIBLE_DEVICES when set, else the GPUs
    `nvidia-smi -L` lists (without importing torch or initialising CUDA in this process)."""
    env = os.environ.get("CUDA_VISIBLE_DEVICES")
    if env is not None:
        return [d.strip() for d in env.split(",") if d.strip() and d.strip() != "-1"]
    import shutil
    import subprocess

    smi = shutil.which("nvidia-smi")
    if not smi:
        return []
    try:
        out = subprocess.run([smi, "-L"], capture_output=True, text=True, timeout=20, check=False).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    return [str(i) for i, line in enumerate(l for l in out.splitlines() if l.startswith("GPU "))]


def _run_local(fn, items, jobs, num_gpus, chunksize, start_method) -> Iterator:
    devices: list[str] = []
    per_device = 1
    if num_gpus:
        devices = visible_gpus()
        if not devices:
            raise ExecutorError(f"num_gpus={num_gpus} asked for, but no GPU is visible "
                                "(CUDA_VISIBLE_DEVICES is empty and nvidia-smi lists none)")
        per_device = max(1, int(1 / num_gpus)) if num_gpus < 1 else 1
        if jobs is None:
            jobs = len(devices) * per_device
    jobs = jobs or cores_available()
    if jobs == 1 and not devices:
        return (fn(item) for chunk in _chunks(items, chunksize) for item in chunk)
    return _pool(fn, items, jobs, devices, per_device, chunksize, start_method)


def _pool(fn, items, jobs, devices, per_device, chunksize, start_method) -> Iterator:
    import concurrent.futures
    import gc
    import multiprocessing

    method = start_method or ("fork" if sys.platform.startswith("linux") else None)
    ctx = multiprocessing.get_context(method)
    if method == "fork":
        # Forked workers share the parent's pages until something writes to them, and the
        # cyclic GC writes to every object it visits: a 100,000-run sweep's discovered sources
        # (~180 MB) would be copied into each worker by its first full collections. Frozen
        # objects are never visited (the `gc.freeze` recipe for forking servers).
        gc.freeze()
    counter = ctx.Value("i", 0)
    pool = concurrent.futures.ProcessPoolExecutor(
        max_workers=jobs, mp_context=ctx, initializer=_worker_start, initargs=(fn, devices, per_device, counter))
    try:
        yield from _windowed(lambda chunk: pool.submit(_worker_chunk, chunk), lambda fut: fut.result(),
                             lambda fut: fut.cancel(), _chunks(items, chunksize), jobs * IN_FLIGHT_PER_WORKER)
    except concurrent.futures.process.BrokenProcessPool as exc:
        raise ExecutorError(f"a worker process died ({exc}); rerun with --jobs 1 to see the error") from None
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        if method == "fork":
            gc.unfreeze()


# ----------------------------------------------------------------------------- ray

def _import_ray():
    try:
        import ray
    except ImportError:
        raise ExecutorError("the ray executor needs Ray: pip install 'advisor[ray]'") from None
    return ray


def ensure_ray(address: str | None = None, jobs: int | None = None, ray_init: dict[str, Any] | None = None):
    """The `ray` module, connected: to `address` when given, else to the instance this process
    already runs, else to a new local instance with `jobs` CPUs (default: all available)."""
    ray = _import_ray()
    if ray.is_initialized():
        return ray
    kwargs: dict[str, Any] = {"include_dashboard": False, "log_to_driver": True, **(ray_init or {})}
    if address:
        kwargs["address"] = address
    else:
        kwargs.setdefault("num_cpus", jobs or cores_available())
    try:
        ray.init(**kwargs)
    except ConnectionError as exc:
        raise ExecutorError(f"cannot connect to the Ray cluster at {address}: {exc}") from None
    return ray


# In each Ray worker process: task functions already deserialized, by object id. Ray resolves an
# ObjectRef argument anew for every task, and unpickling a diagnosis's task (its partial holds
# every compiled rule: ~94 KB) costs 1-4 ms, a fifth of a small run's diagnosis; so the ref is
# passed wrapped in a list (Ray leaves nested refs alone) and fetched once per worker.
_ray_fns: dict[str, Callable] = {}


def _ray_chunk(fn_ref: list, chunk: list) -> list:
    key = fn_ref[0].hex()
    fn = _ray_fns.get(key)
    if fn is None:
        import ray

        if len(_ray_fns) >= 8:  # a long-lived worker serving many calls: keep the latest few
            _ray_fns.clear()
        fn = _ray_fns[key] = ray.get(fn_ref[0])
    return [fn(item) for item in chunk]


def _run_ray(fn, items, jobs, address, num_cpus, num_gpus, chunksize, ray_init) -> Iterator:
    ray = ensure_ray(address, jobs, ray_init)
    remote = ray.remote(num_cpus=num_cpus, num_gpus=num_gpus, max_retries=0)(_ray_chunk)
    fn_ref = ray.put(fn)  # sent to the object store once, not with every task
    resources = ray.cluster_resources()
    if num_gpus and not resources.get("GPU"):
        # Ray would queue the tasks forever (an autoscaler may add GPU nodes, but none is there now)
        raise ExecutorError(f"num_gpus={num_gpus} asked for, but the Ray cluster has no GPU")
    slots = resources.get("CPU", 1) / max(num_cpus, 1e-9)
    if num_gpus:
        slots = min(slots, resources["GPU"] / num_gpus)
    slots = max(1, int(jobs or slots))
    return _windowed(lambda chunk: remote.remote([fn_ref], chunk), ray.get,
                     lambda ref: _ray_cancel(ray, ref), _chunks(items, chunksize),
                     slots * IN_FLIGHT_PER_WORKER)


def _ray_cancel(ray, ref) -> None:
    try:
        ray.cancel(ref, force=False)
    except Exception:  # already finished, or the cluster is going away: nothing left to stop
        pass
