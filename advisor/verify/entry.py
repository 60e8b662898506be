"""In-process trials: a `pkg.module:function` training entry point, its points kept in memory.

Why: a command per trial pays interpreter start-up, imports and file round-trips; for torch on a
GPU the entry point is the fast path. It is called exactly like `advisor.verify.builtins.train`:

    fn(config: dict, steps: int, seed: int, log: Callable[[str, int, float], None], device: str)

and every `log(tag, step, value)` point lands in a `Recorder`, which becomes a `Run` measured by the
same roles and signals as any log on disk. With `--jobs N > 1` trials run in spawned worker
processes (the function is importable by name, and a fresh process keeps torch's global thread
setting and CUDA context per trial) through advisor.executor, locally or on a Ray cluster
(`--executor ray`, one GPU per trial); with one job they run in this process.
"""
from __future__ import annotations

import importlib
import re
import time
import traceback
from typing import Any, Callable

from advisor.model import Run, Series
from advisor.verify.trial import TrialResult

ENTRY_RE = re.compile(r"^[A-Za-z_][\w]*(\.[A-Za-z_]\w*)*:[A-Za-z_]\w*(\.[A-Za-z_]\w*)*$")
BUILTIN_TRAIN = "advisor.verify.builtins:train"


class EntryError(Exception):
    """An entry point that cannot be loaded: one line naming it and the reason."""


def load_entry(spec: str) -> Callable[..., Any]:
    """Import `pkg.module:function` (attributes may be dotted: `mod:Trainer.fit`); no eval."""
    if not ENTRY_RE.match(spec or ""):
        raise EntryError(f"--entry {spec!r}: expected pkg.module:function")
    module_name, _, attr = spec.partition(":")
    try:
        obj: Any = importlib.import_module(module_name)
    except ImportError as exc:
        raise EntryError(f"--entry {spec}: cannot import {module_name} ({exc})") from None
    for part in attr.split("."):
        if not hasattr(obj, part):
            raise EntryError(f"--entry {spec}: {module_name} has no {attr}")
        obj = getattr(obj, part)
    if not callable(obj):
        raise EntryError(f"--entry {spec}: {attr} is not callable")
    return obj


def recorder_run(rec: Any, name: str, config: dict[str, Any]) -> Run:
    """A Recorder's points as a Run (format "memory"), hparams = the trial's config."""
    series = {}
    for tag in rec.tags():
        step, value = rec.series(tag)
        series[tag] = Series(tag, step, value, rec.walls(tag))
    return Run(name=name, path=name, format="memory", series=series, writer="advisor.verify",
               hparams=dict(config))


def entry_config(spec: str, config: dict[str, Any], keep: set[str] = frozenset()) -> dict[str, Any]:
    """The config handed to the entry. For the built-in trainings, keys they do not know (a run's
    `epochs`, `max_steps`, raw aliases such as `learning_rate`) are dropped, except the keys a fix
    changes (`keep`): an unknown changed key must fail the arm, not silently train the baseline."""
    if spec != BUILTIN_TRAIN:
        return dict(config)
    from advisor.verify.builtins import DEFAULTS

    task = config.get("task", "digits-mlp")
    known = set(DEFAULTS.get(task, DEFAULTS["digits-mlp"]))
    return {k: v for k, v in config.items() if k in known or k in keep}


def mapped_values(config: dict[str, Any], value_maps: dict[str, dict[str, str]]) -> dict[str, Any]:
    """`config` with `--value key.VALUE=TEXT` maps applied, as an entry point receives it.

    Why: a rule names a value its own way (`optimizer=sgd_momentum`, `loss=cross_entropy`); the
    user says how their trainer spells it, exactly as for a `--cmd` script (template.format_value
    maps the rendered text the same way). A mapped string stays a string; the text that replaces a
    number or a boolean is read back as one (`--value batchnorm.True=1` gives the int 1)."""
    if not value_maps:
        return dict(config)
    from advisor.verify.template import format_value
    from advisor.verify.trial import parse_value

    out = dict(config)
    for key, table in value_maps.items():
        if key not in out:
            continue
        value = out[key]
        text = format_value(value)
        if text in table:
            out[key] = table[text] if isinstance(value, str) else parse_value(table[text])
    return out


def run_entry_trial(spec: str, config: dict[str, Any], steps: int, seed: int, device: str, arm: str,
                    fn: Callable[..., Any] | None = None) -> TrialResult:
    """Run one trial in this process and keep every logged point in memory."""
    points, error, wall = _call(spec, config, steps, seed, device, fn)
    return _result(points, error, wall, spec, config, arm, seed, device)


def _call(spec: str, config: dict[str, Any], steps: int, seed: int, device: str,
          fn: Callable[..., Any] | None = None) -> tuple[dict, str | None, float]:
    """Call the entry; returns (points, error, wall). Top-level so spawned workers can run it."""
    from advisor.verify.logwriters import Recorder

    rec = Recorder()
    error = None
    t0 = time.perf_counter()
    try:
        fn = fn or load_entry(spec)  # importing the module (torch...) is not the trial's time
        t0 = time.perf_counter()
        fn(dict(config), int(steps), int(seed), rec, device)
    except EntryError as exc:
        error = str(exc)
    except Exception as exc:  # a crashing trial is a result, not a dead verifier
        frame = traceback.extract_tb(exc.__traceback__)[-1:]
        where = f" at {frame[0].filename.rsplit('/', 1)[-1]}:{frame[0].lineno}" if frame else ""
        error = f"{type(exc).__name__}: {exc}{where}"
    return rec.points, error, time.perf_counter() - t0


def _result(points: dict, error: str | None, wall: float, spec: str, config: dict[str, Any], arm: str,
            seed: int, device: str) -> TrialResult:
    from advisor.verify.logwriters import Recorder

    rec = Recorder()
    rec.points = points
    run = recorder_run(rec, f"{arm}/seed{seed}", config) if any(points.values()) else None
    if run is None and error is None:
        error = f"{spec} logged nothing"
    return TrialResult(arm=arm, seed=seed, run=run, error=error, wall_s=wall, device=device)


def _call_item(item: tuple) -> tuple[dict, str | None, float]:
    """`_call` on one (spec, config, steps, seed, device) item: what advisor.executor fans out."""
    return _call(*item)


def run_entry_parallel(spec: str, jobs: list[tuple[dict[str, Any], int, int, str, str]], workers: int,
                       gpus: list[str] | None = None, executor: str = "local",
                       address: str | None = None) -> list[TrialResult]:
    """Run (config, steps, seed, device, arm) jobs on `workers` processes of advisor.executor
    (local, or Ray with `executor="ray"`), keeping order.

    With `gpus` (physical ids) each trial asks for one GPU: a local worker is pinned to one of
    them through CUDA_VISIBLE_DEVICES before torch is imported (so an entry that ignores its
    `device` argument and calls `.cuda()` still lands on its own GPU), a Ray task gets
    `num_gpus=1`; the jobs' device should then be "cuda". Workers are spawned, never forked: a
    forked child of a process that touched CUDA cannot use it."""
    from advisor.executor import ExecutorError, run_tasks
    from advisor.verify.runner import pinning_over

    items = [(spec, cfg, steps, seed, device) for cfg, steps, seed, device, _arm in jobs]
    outs: list[tuple[dict, str | None, float]] = []
    try:
        with pinning_over(gpus):
            for out in run_tasks(_call_item, items, jobs=workers, executor=executor, address=address,
                                 num_gpus=1 if gpus else 0, start_method="spawn"):
                outs.append(out)
    except ExecutorError:
        raise
    except Exception as exc:  # a worker that died (OOM, segfault): the rest of the jobs failed with it
        outs += [({}, f"worker failed: {type(exc).__name__}: {exc}", 0.0)] * (len(items) - len(outs))
    return [_result(points, error, wall, spec, cfg, arm, seed, device)
            for (points, error, wall), (cfg, _steps, seed, device, arm) in zip(outs, jobs)]


def thin_run(run: Run, every: int, budget: int | None = None) -> Run:
    """Keep one point in `every` steps of each series logged more densely than that, like a
    logger's log_every_n_steps; every non-finite point is kept (a NaN is evidence), and so is the
    last point of a trial that stopped before its `budget` (a trainer's own divergence guard)."""
    import numpy as np

    if every <= 1:
        return run
    series = {}
    for tag, s in run.series.items():
        steps = np.unique(s.step)
        if len(steps) < 3 or np.median(np.diff(steps)) >= every:
            series[tag] = s
            continue
        keep = (s.step % every == 0) | ~np.isfinite(s.value)
        if budget is not None and s.step[-1] < budget - every:
            keep[-1] = True
        series[tag] = Series(tag, s.step[keep], s.value[keep], s.wall_time[keep])
    return Run(name=run.name, path=run.path, format=run.format, series=series, writer=run.writer,
               hparams=dict(run.hparams), meta=dict(run.meta))


__all__ = ["mapped_values", "load_entry", "run_entry_trial", "run_entry_parallel", "recorder_run", "entry_config",
           "EntryError", "BUILTIN_TRAIN", "thin_run"]
