"""Run a trial as a command: devices, timeouts, parallelism (templates: advisor.verify.template).

Devices: `auto` means CUDA when torch sees a GPU, else CPU. On CUDA each trial is pinned to one
GPU through `CUDA_VISIBLE_DEVICES` (round-robin over the visible GPUs when `--jobs` runs several
at once) and `{device}` is `cuda`; on CPU `CUDA_VISIBLE_DEVICES` is emptied so a script that
picks a GPU by itself cannot. torch is imported lazily and only to ask about GPUs.
"""
from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

# the template functions live in advisor.verify.template; re-exported for existing callers
from advisor.blas import callers_env
from advisor.verify.template import (  # noqa: F401
    ArgRules, TemplateError, format_value, placeholders, render_argv, split_template,
)
from advisor.verify.trial import TrialResult


# ----------------------------------------------------------------------------- devices


@dataclass
class DevicePlan:
    """Where trials run: `kind` cpu|cuda and, for cuda, the logical GPU indices to use."""

    kind: str
    gpus: list[int] = field(default_factory=list)
    note: str = ""

    @property
    def label(self) -> str:
        if self.kind == "cpu":
            return "cpu"
        return "cuda:" + ",".join(map(str, self.gpus))

    def slots(self, jobs: int) -> list[int | None]:
        """One entry per concurrent worker: a GPU index (round-robin) or None for CPU."""
        if self.kind == "cpu" or not self.gpus:
            return [None] * max(1, jobs)
        return [self.gpus[i % len(self.gpus)] for i in range(max(1, jobs))]


def _torch_cuda_count() -> int | None:
    """GPUs torch can see, or None when torch is not installed."""
    import importlib.util

    if importlib.util.find_spec("torch") is None:
        return None
    import torch

    return int(torch.cuda.device_count()) if torch.cuda.is_available() else 0


def resolve_device(spec: str, cuda_count: Callable[[], int | None] = _torch_cuda_count) -> DevicePlan:
    """`auto|cpu|cuda|cuda:N` -> a DevicePlan. `cuda` without a GPU is an error, not a silent CPU run."""
    spec = (spec or "auto").strip().lower()
    if spec == "cpu":
        return DevicePlan("cpu")
    m = re.fullmatch(r"cuda(?::(\d+))?", spec)
    if spec != "auto" and not m:
        raise TemplateError(f"--device {spec!r}: use auto, cpu, cuda or cuda:N")
    count = cuda_count()
    if spec == "auto":
        if count:
            return DevicePlan("cuda", list(range(count)))
        why = "torch is not installed" if count is None else "torch sees no GPU"
        return DevicePlan("cpu", note=f"device auto: {why}, running on CPU")
    if count == 0:
        raise TemplateError(f"--device {spec}: torch sees no GPU (torch.cuda.is_available() is False)")
    if m.group(1) is not None:
        idx = int(m.group(1))
        if count is not None and idx >= count:
            raise TemplateError(f"--device {spec}: only {count} GPU(s) visible")
        return DevicePlan("cuda", [idx])
    return DevicePlan("cuda", list(range(count or 1)))


def physical_gpu(logical: int, env: dict[str, str] | None = None) -> str:
    """The CUDA_VISIBLE_DEVICES entry for a logical index, honouring an inherited restriction
    (with CUDA_VISIBLE_DEVICES=2,3 logical 0 is GPU "2")."""
    env = os.environ if env is None else env
    inherited = [t.strip() for t in env.get("CUDA_VISIBLE_DEVICES", "").split(",") if t.strip()]
    if inherited and logical < len(inherited):
        return inherited[logical]
    return str(logical)


def trial_env(slot: int | None, base: dict[str, str] | None = None) -> tuple[dict[str, str], str]:
    """Environment and `{device}` text for a subprocess trial on a slot (GPU index or None)."""
    env = callers_env(dict(os.environ if base is None else base))
    if slot is None:
        env["CUDA_VISIBLE_DEVICES"] = ""
        return env, "cpu"
    env["CUDA_VISIBLE_DEVICES"] = physical_gpu(slot, base)
    return env, "cuda"


def inprocess_device(slot: int | None) -> str:
    """The torch device string for an in-process trial on a slot."""
    return "cpu" if slot is None else f"cuda:{slot}"


# ----------------------------------------------------------------------------- running


@dataclass
class CommandOutcome:
    argv: list[str]
    returncode: int | None
    timed_out: bool
    wall_s: float
    output_tail: str


def run_command(argv: list[str], env: dict[str, str], timeout: float | None, output: Path,
                cwd: str | None = None) -> CommandOutcome:
    """Run one argv (shell=False) in its own process group; on timeout the whole group is killed,
    so a training script's data-loader workers do not outlive it. stdout+stderr go to `output`."""
    t0 = time.perf_counter()
    output.parent.mkdir(parents=True, exist_ok=True)
    with open(output, "wb") as out:
        try:
            proc = subprocess.Popen(argv, shell=False, env=env, stdout=out, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL, cwd=cwd, start_new_session=True)
        except OSError as exc:
            return CommandOutcome(argv, None, False, time.perf_counter() - t0, f"cannot start {argv[0]!r}: {exc.strerror}")
        timed_out = False
        try:
            rc = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            timed_out = True
            _kill_group(proc)
            rc = proc.returncode
    tail = output.read_text(errors="replace")[-2000:] if output.exists() else ""
    return CommandOutcome(argv, rc, timed_out, time.perf_counter() - t0, tail)


def _kill_group(proc: subprocess.Popen) -> None:
    for sig, wait in ((signal.SIGTERM, 5.0), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(proc.pid, sig)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            proc.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


def run_cmd_trial(template: str, values: dict[str, Any], logdir: Path, slot: int | None,
                  timeout: float | None, arm: str, seed: int, rules: ArgRules | None = None) -> TrialResult:
    """One command trial: render, run, then read whatever logs `{logdir}` holds with advisor's
    own ingesters, or, when it holds none, the command's own output (a script that only prints is
    read as its saved terminal output is). A crash or timeout is reported in `error`; logs it wrote
    before are still used (a NaN crash is itself evidence of divergence)."""
    from advisor.pipeline import read_runs

    logdir.mkdir(parents=True, exist_ok=True)
    env, device = trial_env(slot)
    argv = render_argv(template, {**values, "logdir": str(logdir), "device": device,
                                  "gpu": "" if slot is None else physical_gpu(slot)}, rules)
    printed = logdir.parent / f"{logdir.name}.out.txt"
    outcome = run_command(argv, env, timeout, printed)
    error = None
    if outcome.timed_out:
        error = f"timed out after {timeout:g}s"
    elif outcome.returncode != 0:
        last = outcome.output_tail.strip().splitlines()[-1:] or [""]
        error = f"exit code {outcome.returncode}: {last[0][:200]}"
    run = None
    runs, errors = read_runs([logdir])
    if not runs and printed.is_file():
        # a script that only prints (pytorch/examples' mnist, the CIFAR-10 tutorial, a loop's prints):
        # its terminal output is its log, read by the console reader as `python train.py > train.log` is
        runs = read_runs([printed])[0]
    if runs:
        run = max(runs, key=lambda r: r.points)
    elif error is None:
        msg = errors[0]["message"] if errors else "no log files found"
        error = f"no readable logs in {logdir} nor in the command's output ({msg})"
    return TrialResult(arm=arm, seed=seed, run=run, error=error, wall_s=outcome.wall_s, logdir=str(logdir),
                       device=device)


def run_cmd_trials(template: str, jobs: list[tuple[dict[str, Any], Path, str, int]], timeout: float | None,
                   rules: ArgRules | None, workers: int, gpus: list[str] | None = None
                   ) -> Iterator[TrialResult]:
    """Run (values, logdir, arm, seed) command trials on `workers` processes of advisor.executor,
    yielding results in job order as they come.

    Why the executor and not a pool of our own: one fan-out for every kind of trial (entry points
    use it too), with its bounded window of work in flight and its GPU pinning: with `gpus`
    (physical ids) each worker is pinned to one of them through CUDA_VISIBLE_DEVICES and its trials
    see that one GPU as `{device}` = cuda; on CPU every trial runs with CUDA hidden."""
    from advisor.executor import run_tasks

    items = [(template, values, logdir, bool(gpus), timeout, arm, seed, rules) for values, logdir, arm, seed in jobs]
    with pinning_over(gpus):
        yield from run_tasks(_cmd_item, items, jobs=max(1, workers), num_gpus=1 if gpus else 0)


@contextmanager
def pinning_over(gpus: list[str] | None):
    """While the executor starts its workers, CUDA_VISIBLE_DEVICES lists `gpus` (physical ids):
    it pins its local workers round robin over that variable. Restored afterwards; nothing
    changes without GPUs."""
    before = os.environ.get("CUDA_VISIBLE_DEVICES")
    if gpus:
        os.environ["CUDA_VISIBLE_DEVICES"] = ",".join(dict.fromkeys(gpus))
    try:
        yield
    finally:
        if gpus:
            if before is None:
                os.environ.pop("CUDA_VISIBLE_DEVICES", None)
            else:
                os.environ["CUDA_VISIBLE_DEVICES"] = before


def _cmd_item(item: tuple) -> TrialResult:
    """One command trial in an executor worker (top level, so a worker process can run it): on a
    GPU the worker was pinned to one device, logical 0 of its CUDA_VISIBLE_DEVICES."""
    template, values, logdir, on_gpu, timeout, arm, seed, rules = item
    return run_cmd_trial(template, values, logdir, 0 if on_gpu else None, timeout, arm, seed, rules)
