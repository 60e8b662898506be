"""Benchmark: what `advisor.Monitor` costs inside a real training loop, in CPU time.

A real torch training (an MLP on scikit-learn's digits, Adam, batch 128, 1 thread) runs for
`--steps` steps, `--repeat` times each way: without a Monitor (the anchor: the loop's own CPU
time per step, measured in the same run), and with `monitor.log(step, train_loss=..., lr=...,
val_loss=...)` every step at the default evaluation interval. The CPU time of the training thread
spent inside `log` (evaluations included) is summed with `time.thread_time` around every call,
so time the thread spends preempted on a shared machine is not counted (wall time is, and is
printed too). The timer's own cost (one `thread_time` pair per call, measured here) is reported,
not subtracted. Also printed: one `log` that does not evaluate in a tight loop, and one
evaluation at several history lengths.
Run: `python bench/bench_monitor.py [--steps 6000] [--hidden 256] [--repeat 3]`, on a quiet
machine (`uptime`): under load the caches are cold and every figure grows.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def train(steps: int, hidden: int, monitor=None, device: str = "cpu"):
    """(wall s, CPU s, wall s inside monitor.log, CPU s inside monitor.log, log calls)."""
    import torch
    from sklearn.datasets import load_digits

    torch.manual_seed(0)
    x, y = load_digits(return_X_y=True)
    x = torch.tensor(x / 16.0, dtype=torch.float32)
    y = torch.tensor(y)
    x, y = x.to(device), y.to(device)
    xv, yv = x[1500:], y[1500:]
    x, y = x[:1500], y[:1500]
    model = torch.nn.Sequential(torch.nn.Linear(64, hidden), torch.nn.ReLU(), torch.nn.Linear(hidden, hidden),
                                torch.nn.ReLU(), torch.nn.Linear(hidden, 10)).to(device)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    g = torch.Generator().manual_seed(0)
    inside = inside_cpu = 0.0
    calls = 0
    start, start_cpu = time.perf_counter(), time.thread_time()
    for step in range(steps):
        batch = torch.randint(0, len(x), (128,), generator=g).to(device)
        loss = torch.nn.functional.cross_entropy(model(x[batch]), y[batch])
        opt.zero_grad()
        loss.backward()
        opt.step()
        if monitor is not None:
            val = None
            if step % 12 == 11:
                with torch.no_grad():
                    val = torch.nn.functional.cross_entropy(model(xv), yv).item()
            scalars = {"train_loss": loss.item(), "lr": opt.param_groups[0]["lr"], "val_loss": val}
            t, c = time.perf_counter(), time.thread_time()
            monitor.log(step, **scalars)
            inside_cpu += time.thread_time() - c
            inside += time.perf_counter() - t
            calls += 1
    return time.perf_counter() - start, time.thread_time() - start_cpu, inside, inside_cpu, calls


def _timer_cost() -> float:
    """What one `thread_time` + `perf_counter` pair around a call costs (part of each timed span)."""
    best = float("inf")
    for _ in range(5):
        t = time.perf_counter()
        for _ in range(20_000):
            a, b = time.perf_counter(), time.thread_time()
            b -= time.thread_time()
            a -= time.perf_counter()
        best = min(best, (time.perf_counter() - t) / 20_000)
    return best


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=6000)
    parser.add_argument("--hidden", type=int, default=256)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--device", default="cpu", help="cpu or cuda (the loss is read with .item() every step)")
    args = parser.parse_args()
    import torch

    torch.set_num_threads(1)
    from advisor.live.monitor import Monitor

    import os
    import statistics

    train(200, args.hidden, device=args.device)  # warm the kernels
    rows = []
    for _ in range(args.repeat):
        plain, plain_cpu, *_ = train(args.steps, args.hidden, device=args.device)
        monitor = Monitor("bench")
        wall, cpu, inside, inside_cpu, calls = train(args.steps, args.hidden, monitor, args.device)
        rows.append({"anchor_cpu": plain_cpu / args.steps, "anchor_wall": plain / args.steps,
                     "inside_cpu": inside_cpu, "inside_wall": inside, "wall": wall, "calls": calls,
                     "evals": monitor.evaluations, "eval_cpu": monitor.eval_cpu_seconds,
                     "ratio_cpu": inside_cpu / (plain_cpu / args.steps * calls),
                     "ratio_wall": inside / wall})
    timer = _timer_cost()
    print(f"training: {args.steps} steps x {args.repeat} runs each way, MLP 64-{args.hidden}-{args.hidden}-10, "
          f"batch 128, 1 thread, {args.device}; load average {os.getloadavg()[0]:.1f}")
    for i, r in enumerate(rows, 1):
        log_only = (r["inside_cpu"] - r["eval_cpu"]) / r["calls"]
        print(f"run {i}: anchor {r['anchor_cpu'] * 1e3:.3f} ms CPU/step ({r['anchor_wall'] * 1e3:.3f} ms wall); "
              f"Monitor {r['inside_cpu'] * 1e3:.1f} ms CPU in {r['calls']} log calls = {log_only * 1e6:.1f} us/call "
              f"+ {r['evals']} evaluations {r['eval_cpu'] * 1e3:.1f} ms CPU -> {r['ratio_cpu']:.3%} of the anchor's CPU "
              f"({r['ratio_wall']:.3%} of the loop's wall)")
    ratio = statistics.median(r["ratio_cpu"] for r in rows)
    print(f"overhead, CPU, median of {args.repeat}: {ratio:.3%} of the step's CPU time (target < 1%); "
          f"the timer itself costs {timer * 1e6:.2f} us/call = "
          f"{timer / statistics.median(r['anchor_cpu'] for r in rows):.3%} of it")

    # one log call that does not evaluate, and one evaluation at several history lengths
    m = Monitor("cost", every_steps=10**9, every_seconds=1e9)
    rng = np.random.default_rng(0)
    values = 2.0 * np.exp(-np.arange(200_000) / 40_000) + 0.05 * rng.standard_normal(200_000)
    t = time.perf_counter()
    for step in range(20_000):
        m.log(step, train_loss=float(values[step]), lr=1e-3)
    per_call = (time.perf_counter() - t) / 20_000
    print(f"one log call (2 scalars)        : {per_call * 1e6:8.2f} us")
    for n in (1_000, 10_000, 100_000):
        m = Monitor("cost", every_steps=10**9, every_seconds=1e9)
        for step in range(n):
            m.log(step, train_loss=float(values[step]), lr=1e-3, val_loss=float(values[step]) if step % 100 == 0 else None)
        t = time.perf_counter()
        m.evaluate()
        cost = time.perf_counter() - t
        gap = cost / m.max_overhead
        print(f"one evaluation at {n:>7,} steps  : {cost * 1e3:8.1f} ms  -> next one no sooner than {gap:.1f} s later")


if __name__ == "__main__":
    main()
