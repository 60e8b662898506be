"""A real torch training that writes a TensorBoard event file while another process watches it.

Run as `python trainer.py LOGDIR --steps 300 --blow-up-at 200 --log-every 5 --sleep 0.01`: an MLP
regression on a fixed synthetic set (SGD, LR 0.05) whose LR is multiplied by 1,000 at
`--blow-up-at`, so the loss explodes to inf/NaN within a few steps: a divergence with a known
onset. Every record is written in two halves with a flush and a pause between them (torch's own
SummaryWriter, its RecordWriter.write split in two), so a reader polling the file meets
half-written records all the time. Prints `onset <step>` and `done` on stdout.
"""
from __future__ import annotations

import argparse
import time


def _tear_records(pause: float) -> None:
    from tensorboard.summary.writer import record_writer

    def write(self, data):
        header = record_writer.struct.pack("<Q", len(data))
        record = (header + record_writer.struct.pack("<I", record_writer.masked_crc32c(header)) + data
                  + record_writer.struct.pack("<I", record_writer.masked_crc32c(data)))
        half = len(record) // 2
        self._writer.write(record[:half])
        self._writer.flush()
        time.sleep(pause)
        self._writer.write(record[half:])
        self._writer.flush()

    record_writer.RecordWriter.write = write


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("logdir")
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--blow-up-at", type=int, default=200)
    parser.add_argument("--log-every", type=int, default=5)
    parser.add_argument("--sleep", type=float, default=0.01)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    import torch
    from torch.utils.tensorboard import SummaryWriter

    _tear_records(pause=0.002)
    torch.manual_seed(args.seed)
    x = torch.randn(256, 8)
    y = x @ torch.randn(8, 1) + 0.1 * torch.randn(256, 1)
    model = torch.nn.Sequential(torch.nn.Linear(8, 32), torch.nn.Tanh(), torch.nn.Linear(32, 1))
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    writer = SummaryWriter(args.logdir, flush_secs=1)
    print(f"onset {args.blow_up_at}", flush=True)
    for step in range(args.steps):
        if step == args.blow_up_at:
            for group in opt.param_groups:
                group["lr"] *= 1000.0
        batch = torch.randint(0, 256, (32,))
        loss = torch.nn.functional.mse_loss(model(x[batch]), y[batch])
        opt.zero_grad()
        loss.backward()
        opt.step()
        if step % args.log_every == 0:
            writer.add_scalar("train/loss", loss.item(), step)
            writer.add_scalar("lr", opt.param_groups[0]["lr"], step)
            writer.flush()
        time.sleep(args.sleep)
    writer.close()
    print("done", flush=True)


if __name__ == "__main__":
    main()
