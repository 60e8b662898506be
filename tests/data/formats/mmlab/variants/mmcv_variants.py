"""MMCV 1.7.2 variants, from tests/data/formats/mmlab/mm_fit.py. python mmcv_fit.py OUT [key=value ...]"""
import os, sys, time, types
from pathlib import Path
import numpy as np
import torch
from torch import nn

out = Path(sys.argv[1]); out.mkdir(parents=True, exist_ok=True)
OPTS = dict(epochs=6, iters=0, interval=5, lr=0.05, logger="mm_fit", workflow_val=0, evalhook=1, grad_clip=0.0,
            crash_after=-1, resume_from="", truth="truth.txt")
for a in sys.argv[2:]:
    k, v = a.split("=", 1)
    OPTS[k] = type(OPTS[k])(v) if not isinstance(OPTS[k], str) else v
O = type("O", (), OPTS)
truth_path = out / O.truth


def truth(line):
    with open(truth_path, "a") as f:
        f.write(line + "\n")


def blobs(n, seed):
    g = torch.Generator().manual_seed(seed)
    centers = torch.tensor([[2.0, 0.0], [0.0, 2.0], [-2.0, 0.0], [0.0, -2.0]]).repeat(1, 5)
    y = torch.randint(0, 4, (n,), generator=g)
    return centers[y] + 3.0 * torch.randn(n, 10, generator=g), y


sys.modules.setdefault("torchvision", types.SimpleNamespace(__version__="0.28.0"))
from mmcv.runner import EpochBasedRunner, EvalHook, HOOKS, Hook, IterBasedRunner


class BlobMLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(10, 32), nn.ReLU(), nn.Linear(32, 4))

    def forward(self, x, labels):
        return self.body(x)

    def train_step(self, data, optimizer):
        logits = self(**data)
        loss = nn.functional.cross_entropy(logits, data["labels"])
        acc = (logits.argmax(1) == data["labels"]).float().mean().item() * 100
        return dict(loss=loss, log_vars=dict(loss=loss.item(), acc=acc), num_samples=len(data["labels"]))

    def val_step(self, data, optimizer=None):
        with torch.no_grad():
            return self.train_step(data, optimizer)


class Blobs(torch.utils.data.Dataset):
    def __init__(self, n, seed):
        self.x, self.y = blobs(n, seed)

    def __len__(self):
        return len(self.y)

    def __getitem__(self, i):
        return {"x": self.x[i], "labels": self.y[i]}

    def evaluate(self, results, logger=None):
        pred = torch.cat(results)
        return {"accuracy_top-1": 100.0 * (pred == self.y).float().mean().item()}


def predict(model, loader):
    model.eval()
    with torch.no_grad():
        return [model(**batch).argmax(1) for batch in loader]


iters = O.iters > 0
SKIP = {"time", "data_time", "memory", "eval_iter_num"}


@HOOKS.register_module()
class Truth(Hook):
    def before_run(self, runner):
        self.text = next(h for h in runner.hooks if type(h).__name__ == "TextLoggerHook")
        log = self.text.log

        def spy(r):
            out = r.log_buffer.output
            if r.mode == "train" and "time" in out:
                truth(f"train {r.iter + 1} {out['loss']:.6g}")
            else:
                at = r.iter + (1 if iters and r.mode == "train" else 0)
                for k, v in out.items():
                    if k not in SKIP:
                        truth(f"val {at} {k} {v:.6g}")
            return log(r)
        self.text.log = spy

    def before_train_epoch(self, runner):
        if O.crash_after >= 0 and runner.epoch == O.crash_after:
            raise RuntimeError(f"simulated crash before epoch {runner.epoch + 1}")


torch.manual_seed(0)
np.random.seed(0)
model = BlobMLP()
optimizer = torch.optim.SGD(model.parameters(), lr=O.lr, momentum=0.9)
train = torch.utils.data.DataLoader(Blobs(600, 1), batch_size=32, shuffle=True)
val = torch.utils.data.DataLoader(Blobs(200, 2), batch_size=32, shuffle=False)
from mmcv.utils import collect_env, get_logger
ts = time.strftime("%Y%m%d_%H%M%S", time.localtime())
logger = get_logger(O.logger, log_file=str(out / f"{ts}.log"), log_level="INFO")
clip = f"dict(max_norm={O.grad_clip})" if O.grad_clip else "None"
meta = dict(env_info="\n".join(f"{k}: {v}" for k, v in collect_env().items()), seed=0, exp_name=out.name,
            config=f"model = dict(type='BlobMLP')\noptimizer = dict(type='SGD', lr={O.lr}, momentum=0.9)\n"
                   f"optimizer_config = dict(grad_clip={clip})\nrunner = dict(type='EpochBasedRunner', max_epochs={O.epochs})\n")
Runner = IterBasedRunner if iters else EpochBasedRunner
runner = Runner(model, optimizer=optimizer, work_dir=str(out), logger=logger, meta=meta,
                **(dict(max_iters=O.iters) if iters else dict(max_epochs=O.epochs)))
runner.timestamp = ts
runner.register_training_hooks(
    lr_config=dict(policy="fixed"),
    optimizer_config=dict(grad_clip=dict(max_norm=O.grad_clip) if O.grad_clip else None),
    checkpoint_config=dict(interval=1) if O.crash_after >= 0 or O.resume_from else None,
    log_config=dict(interval=O.interval, hooks=[dict(type="TextLoggerHook", by_epoch=not iters)]))
if O.evalhook:
    runner.register_hook(EvalHook(val, interval=40 if iters else 1, by_epoch=not iters, test_fn=predict),
                         priority="LOW")
runner.register_hook(Truth(), priority="LOWEST")
if O.resume_from:
    runner.resume(str(out / O.resume_from))
workflow = [("train", 1), ("val", 1)] if O.workflow_val else [("train", 1)]
runner.run([train, val] if O.workflow_val else [train], workflow)
