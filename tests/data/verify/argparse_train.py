"""An ordinary argparse training script, as users write them, for `advisor verify --cmd` tests.

A small torch MLP on scikit-learn's digits. Its options have the types that broke the verifier:
`--batch-size`/`--max-steps`/`--hidden` are `type=int`, `--lr`/`--dropout` `type=float`,
`--batchnorm` is `store_true`, `--optimizer` has `choices`, `--shuffle` takes `1`/`0`. It logs to
TensorBoard with the hparams plugin, which stores every number as a double (so `batch_size` reads
back as 32.0), exactly like the scripts of the issue. Its argv goes to `<logdir>/argv.json`.
"""
import argparse
import json
import math
import sys
from pathlib import Path


def main(argv=None):
    p = argparse.ArgumentParser(description="digits MLP")
    p.add_argument("--lr", type=float, required=True)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--max-steps", type=int, required=True)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--logdir", required=True)
    p.add_argument("--hidden", type=int, default=64)
    p.add_argument("--dropout", type=float, default=0.0)
    p.add_argument("--batchnorm", action="store_true")
    p.add_argument("--optimizer", choices=["sgd", "momentum", "adam"], default="sgd")
    p.add_argument("--shuffle", type=int, choices=[0, 1], default=1)
    a = p.parse_args(argv)

    import numpy as np
    import torch
    from sklearn.datasets import load_digits
    from torch.utils.tensorboard import SummaryWriter
    from torch.utils.tensorboard.summary import hparams

    torch.set_num_threads(1)
    out = Path(a.logdir)
    out.mkdir(parents=True, exist_ok=True)
    (out / "argv.json").write_text(json.dumps(sys.argv[1:] if argv is None else argv))
    d = load_digits()
    x = (d.data - d.data.mean(0)) / (d.data.std(0) + 1e-3)
    x, y = torch.tensor(x, dtype=torch.float32), torch.tensor(d.target)
    xt, yt, xv, yv = x[:1400], y[:1400], x[1400:], y[1400:]
    torch.manual_seed(a.seed)
    layers = [torch.nn.Linear(64, a.hidden)]
    if a.batchnorm:
        layers.append(torch.nn.BatchNorm1d(a.hidden))
    layers += [torch.nn.ReLU(), torch.nn.Dropout(a.dropout), torch.nn.Linear(a.hidden, 10)]
    model = torch.nn.Sequential(*layers)
    for m in model:
        if isinstance(m, torch.nn.Linear):
            torch.nn.init.kaiming_normal_(m.weight)
    if a.optimizer == "adam":
        opt = torch.optim.Adam(model.parameters(), lr=a.lr)
    else:
        opt = torch.optim.SGD(model.parameters(), lr=a.lr, momentum=0.9 if a.optimizer == "momentum" else 0.0)
    gen = torch.Generator().manual_seed(a.seed)
    w = SummaryWriter(str(out))
    order, pos = torch.arange(len(yt)), len(yt)
    for step in range(a.max_steps):
        if pos >= len(yt):
            order = torch.randperm(len(yt), generator=gen) if a.shuffle else torch.arange(len(yt))
            pos = 0
        idx = order[pos:pos + a.batch_size]
        pos += a.batch_size
        loss = torch.nn.functional.cross_entropy(model(xt[idx]), yt[idx])
        w.add_scalar("train/loss", loss.item(), step)
        if not math.isfinite(loss.item()):
            break
        opt.zero_grad()
        loss.backward()
        opt.step()
        if (step + 1) % 20 == 0:
            model.eval()
            with torch.no_grad():
                w.add_scalar("val/loss", float(torch.nn.functional.cross_entropy(model(xv), yv)), step + 1)
            model.train()
    config = {"lr": a.lr, "batch_size": a.batch_size, "hidden": a.hidden, "dropout": a.dropout,
              "batchnorm": a.batchnorm, "optimizer": a.optimizer, "shuffle": a.shuffle}
    for summary in hparams(config, {"final_loss": float(np.nan_to_num(float(loss), nan=1e9))}):
        w.file_writer.add_summary(summary)
    w.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
