"""Benchmark: what `advisor.Monitor` costs inside a real training loop.

A real torch training (an MLP on scikit-learn's digits, Adam, batch 128, 1 thread) runs for
`--steps` steps twice: without a Monitor, and with `monitor.log(step, train_loss=..., lr=...)`
every step (plus `val_loss` every epoch) at the default evaluation interval. Every `log` call is
timed inside the loop (perf_counter around each call), so the overhead is measured directly; the
difference of the two runs' CPU and wall times is printed too, but on a shared machine it is
noisier than the overhead itself. Also printed: the cost of
one `log` that does not evaluate, and of one evaluation at several history lengths.
Run: `python bench/bench_monitor.py [--steps 6000] [--hidden 256]`.
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
            t = time.perf_counter()
            monitor.log(step, **scalars)
            inside += time.perf_counter() - t
            calls += 1
    return time.perf_counter() - start, time.thread_time() - start_cpu, inside, inside_cpu, calls


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=6000)
    parser.add_argument("--hidden", type=int, default=256)
    parser.add_argument("--device", default="cpu", help="cpu or cuda (the loss is read with .item() every step)")
    args = parser.parse_args()
    import torch

    torch.set_num_threads(1)
    from advisor.live.monitor import Monitor

    train(200, args.hidden, device=args.device)  # warm the kernels
    plain, plain_cpu, *_ = train(args.steps, args.hidden, device=args.device)
    monitor = Monitor("bench")
    with_monitor, with_cpu, inside, inside_cpu, calls = train(args.steps, args.hidden, monitor, args.device)
    step_time = plain / args.steps
    print(f"training: {args.steps} steps, MLP 64-{args.hidden}-{args.hidden}-10, batch 128, 1 thread, {args.device}")
    print(f"step time without Monitor       : {step_time * 1e3:8.3f} ms wall, {plain_cpu / args.steps * 1e3:.3f} ms CPU")
    print(f"Monitor inside the loop         : {inside:8.3f} s over {calls} log calls, "
          f"{monitor.evaluations} evaluations ({monitor.eval_seconds:.3f} s of them)")
    print(f"  of which evaluations {monitor.eval_seconds:.3f} s wall ({monitor.eval_cpu_seconds:.3f} s CPU); "
          f"{(inside - monitor.eval_seconds) / calls * 1e6:.1f} us wall per call without evaluation")
    print(f"overhead, timed in the loop     : {inside / with_monitor:8.2%} of the loop's wall time (target < 1%)")
    print(f"overhead, CPU time difference   : {(with_cpu - plain_cpu) / plain_cpu:8.2%} (two runs, noisy on a shared machine)")
    print(f"overhead, wall time difference  : {(with_monitor - plain) / plain:8.2%} (noisy on a shared machine)")

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
