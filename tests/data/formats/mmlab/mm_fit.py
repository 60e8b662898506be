"""Real OpenMMLab work_dirs: a 2-layer MLP (10 -> 32 -> 4) on 4-class Gaussian blobs (600 train / 200 val,
batch 32: 19 iterations an epoch, the last one short; val 7 batches), trained on CPU by the libraries' own
runners, hooks and loggers: every log line and JSON record here was written by them. Beside each run,
`truth.txt` (a name no log reader claims) is what a hook of ours recorded as it trained: `train <iteration>
<loss>` for each train point the logger wrote (the global count of optimizer steps done, runner.iter + 1
after the step; the loss as the logger was handed it) and `val <iteration> <metric> <value>` for each
validation (the steps done when it ran: runner.iter after an epoch, runner.iter + 1 inside mmcv's
after_train_iter).

    cd tests/data/formats/mmlab
    python mm_fit.py engine RUN /tmp/mmruns/RUN [--crash-after N | --resume]
    python mm_fit.py mmcv RUN /tmp/mmruns/RUN

`engine`: MMEngine 0.10.7 (torch 2.13.0+cpu, numpy 2.4.6, opencv-python 5.1.0.95), `pip install mmengine`.
`mmcv`: MMCV 1.7.2 built without ops, same torch, in its own venv: `pip install "setuptools<70" wheel;
MMCV_WITH_OPS=0 pip install --no-build-isolation mmcv==1.7.2` (with build isolation its setup.py fails on
today's setuptools: no pkg_resources). mmcv/runner/checkpoint.py imports torchvision, for `torchvision://`
names only, and PyPI's torchvision wheels need the CUDA torch, so the script stubs that module (below).
Python 3.11.7, seed 0. Copied here from /tmp/mmruns/RUN less the checkpoints (*.pth, 13-25 KB each) and
`last_checkpoint` (an absolute path); nothing else was over 60 KB. The folders:
    mmengine-epoch: Runner.from_cfg, EpochBasedTrainLoop 12 epochs, val every epoch, SGD lr 0.05 momentum
        0.9, LoggerHook interval 5, Visualizer with LocalVisBackend: (<ts>.py, the config dump, left out: vis_data/config.py is the same)
        <ts>/<ts>.log and <ts>/vis_data/{<ts>.json, scalars.json, config.py}
    mmengine-epoch-val3: the same, 15 epochs, val_interval 3, SGD lr 0.15: the loss climbs and bounces
        (1.3 -> ~90) and never goes NaN (lr 5.0, 2.0 and 1.0 gave NaN by epoch 2-3; 0.5 a steady 1e32)
    mmengine-iter: IterBasedTrainLoop max_iters 240, val_interval 40, InfiniteSampler, LoggerHook interval
        10 with log_metric_by_epoch=False, log_processor by_epoch=False, SGD lr 0.05
    mmengine-epoch-resume: 8 epochs, lr 0.05, CheckpointHook every epoch; `engine mmengine-epoch-resume
        /tmp/mmruns/mmengine-epoch-resume --crash-after 4` raises in before_train_epoch of epoch 5 (after
        epoch 4's checkpoint and val), then, a second later, `TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD=1 python
        mm_fit.py engine mmengine-epoch-resume /tmp/mmruns/mmengine-epoch-resume --resume` (Runner
        resume=True, same work_dir; without the variable MMEngine 0.10.7's torch.load fails on torch >= 2.6:
        HistoryBuffer is no allowed global). Two timestamp folders, one per launch; truth.txt holds both.
    mmcv-epoch: mmcv.runner.EpochBasedRunner 12 epochs, SGD lr 0.05 momentum 0.9, lr_config fixed,
        TextLoggerHook interval 5, mmcv.runner.EvalHook interval 1, meta as mmdet 2.x's train.py hands it
        (env_info, seed, exp_name, config): <ts>.log and <ts>.log.json
    mmcv-iter: IterBasedRunner max_iters 240, EvalHook(by_epoch=False, interval=40), TextLoggerHook
        interval 10 by_epoch=False
    mmcv-epoch-highlr: mmcv-epoch with lr 0.5: the loss grows steadily to ~1e25, finite (5.0: NaN in epoch 2)
"""
import os, sys, time
from pathlib import Path

import numpy as np
import torch
from torch import nn

lib, run, out = sys.argv[1], sys.argv[2], Path(sys.argv[3])
flags = sys.argv[4:]
crash_after = int(flags[flags.index("--crash-after") + 1]) if "--crash-after" in flags else None
resume = "--resume" in flags
out.mkdir(parents=True, exist_ok=True)
truth_path = out / "truth.txt"


def blobs(n, seed):
    g = torch.Generator().manual_seed(seed)
    centers = torch.tensor([[2.0, 0.0], [0.0, 2.0], [-2.0, 0.0], [0.0, -2.0]]).repeat(1, 5)
    y = torch.randint(0, 4, (n,), generator=g)
    return centers[y] + 3.0 * torch.randn(n, 10, generator=g), y


def truth(line):
    with open(truth_path, "a") as f:
        f.write(line + "\n")


def mlp():
    return nn.Sequential(nn.Linear(10, 32), nn.ReLU(), nn.Linear(32, 4))


if lib == "engine":
    from mmengine.dataset import DefaultSampler, InfiniteSampler  # noqa: F401 (registered)
    from mmengine.evaluator import BaseMetric
    from mmengine.hooks import Hook
    from mmengine.model import BaseModel
    from mmengine.registry import DATASETS, HOOKS, METRICS, MODELS
    from mmengine.runner import Runner

    @MODELS.register_module()
    class BlobMLP(BaseModel):
        def __init__(self):
            super().__init__()
            self.body = mlp()

        def forward(self, x, labels, mode="tensor"):
            logits = self.body(x)
            if mode == "loss":
                return {"loss": nn.functional.cross_entropy(logits, labels)}
            if mode == "predict":
                return [logits.argmax(1), labels]
            return logits

    @DATASETS.register_module()
    class Blobs(torch.utils.data.Dataset):
        def __init__(self, n, seed):
            self.x, self.y = blobs(n, seed)

        def __len__(self):
            return len(self.y)

        def __getitem__(self, i):
            return {"x": self.x[i], "labels": self.y[i]}

    @METRICS.register_module()
    class Accuracy(BaseMetric):
        default_prefix = "accuracy"

        def process(self, data_batch, data_samples):
            pred, labels = data_samples
            self.results.append(((pred == labels).sum().item(), len(labels)))

        def compute_metrics(self, results):
            return {"top1": 100.0 * sum(r[0] for r in results) / sum(r[1] for r in results)}

    @HOOKS.register_module()
    class Truth(Hook):
        """Records each point the LoggerHook hands the visualizer, at the runner's own iteration count."""
        priority = "LOWEST"  # after LoggerHook (BELOW_NORMAL)

        def __init__(self, crash_after=None):
            self.crash_after, self.handed = crash_after, []

        def before_run(self, runner):
            add = runner.visualizer.add_scalars

            def spy(scalar_dict, *a, **k):
                self.handed.append(dict(scalar_dict))
                return add(scalar_dict, *a, **k)
            runner.visualizer.add_scalars = spy

        def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
            for d in self.handed:
                truth(f"train {runner.iter + 1} {d['loss']:.6g}")
            self.handed.clear()

        def after_val_epoch(self, runner, metrics=None):
            self.handed.clear()
            for k, v in metrics.items():
                truth(f"val {runner.iter} {k} {v:.6g}")

        def before_train_epoch(self, runner):
            if self.crash_after is not None and runner.epoch == self.crash_after:
                raise RuntimeError(f"simulated crash before epoch {runner.epoch + 1}")

    lr = 0.15 if run == "mmengine-epoch-val3" else 0.05  # 5.0, 2.0, 1.0: NaN by epoch 2-3
    iters = run == "mmengine-iter"
    loader = lambda split, n, seed, shuffle: dict(  # noqa: E731
        batch_size=32, num_workers=0, collate_fn=dict(type="default_collate"),
        dataset=dict(type="Blobs", n=n, seed=seed),
        sampler=dict(type="InfiniteSampler" if iters and split == "train" else "DefaultSampler", shuffle=shuffle))
    if iters:
        train_cfg = dict(type="IterBasedTrainLoop", max_iters=240, val_interval=40)
    else:
        epochs = {"mmengine-epoch": 12, "mmengine-epoch-val3": 15, "mmengine-epoch-resume": 8}[run]
        train_cfg = dict(by_epoch=True, max_epochs=epochs, val_interval=3 if run == "mmengine-epoch-val3" else 1)
    cfg = dict(
        model=dict(type="BlobMLP"),
        work_dir=str(out),
        experiment_name=run,
        train_dataloader=loader("train", 600, 1, True),
        val_dataloader=loader("val", 200, 2, False),
        val_evaluator=dict(type="Accuracy"),
        train_cfg=train_cfg,
        val_cfg=dict(),
        optim_wrapper=dict(optimizer=dict(type="SGD", lr=lr, momentum=0.9)),
        default_hooks=dict(
            logger=dict(type="LoggerHook", interval=10 if iters else 5, log_metric_by_epoch=not iters),
            checkpoint=dict(type="CheckpointHook", interval=1) if run == "mmengine-epoch-resume" else None),
        custom_hooks=[dict(type="Truth", crash_after=crash_after)],
        log_processor=dict(by_epoch=not iters),
        visualizer=dict(type="Visualizer", vis_backends=[dict(type="LocalVisBackend")]),
        randomness=dict(seed=0),
        resume=resume,
        launcher="none",
    )
    from mmengine.config import Config
    Runner.from_cfg(Config(cfg)).train()

elif lib == "mmcv":
    import types

    # mmcv 1.x imports torchvision at the top of mmcv/runner/checkpoint.py, only for `torchvision://` model-zoo
    # names; PyPI's torchvision wheels link the CUDA torch, so against torch 2.13.0+cpu a stub stands in for it.
    sys.modules.setdefault("torchvision", types.SimpleNamespace(__version__="0.28.0"))
    from mmcv.runner import EpochBasedRunner, EvalHook, HOOKS, Hook, IterBasedRunner

    class BlobMLP(nn.Module):
        def __init__(self):
            super().__init__()
            self.body = mlp()

        def forward(self, x, labels):
            return self.body(x)

        def train_step(self, data, optimizer):
            logits = self(**data)
            loss = nn.functional.cross_entropy(logits, data["labels"])
            acc = (logits.argmax(1) == data["labels"]).float().mean().item() * 100
            return dict(loss=loss, log_vars=dict(loss=loss.item(), acc=acc), num_samples=len(data["labels"]))

        def val_step(self, data, optimizer=None):
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

    @HOOKS.register_module()
    class Truth(Hook):
        """Records each point the TextLoggerHook writes, at the runner's own iteration count."""

        def __init__(self):
            self.text = None

        def before_run(self, runner):
            self.text = next(h for h in runner.hooks if type(h).__name__ == "TextLoggerHook")
            log = self.text.log

            def spy(r):
                out = r.log_buffer.output
                if "time" in out and r.mode == "train":
                    truth(f"train {r.iter + 1} {out['loss']:.6g}")
                else:
                    for k, v in out.items():
                        if k.startswith("accuracy"):
                            # by iteration, EvalHook runs inside after_train_iter, before the runner counts the step
                            truth(f"val {r.iter + iters} {k} {v:.6g}")
                return log(r)
            self.text.log = spy

    torch.manual_seed(0)
    np.random.seed(0)
    lr = 0.5 if run == "mmcv-epoch-highlr" else 0.05  # 5.0: NaN in epoch 2
    iters = run == "mmcv-iter"
    model = BlobMLP()
    optimizer = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    train = torch.utils.data.DataLoader(Blobs(600, 1), batch_size=32, shuffle=True)
    val = torch.utils.data.DataLoader(Blobs(200, 2), batch_size=32, shuffle=False)
    from mmcv.utils import collect_env, get_logger
    ts = time.strftime("%Y%m%d_%H%M%S", time.localtime())
    logger = get_logger("mm_fit", log_file=str(out / f"{ts}.log"), log_level="INFO")
    # the meta an mmdet/mmcls 2.x tools/train.py hands its runner: the .log.json's first line
    meta = dict(env_info="\n".join(f"{k}: {v}" for k, v in collect_env().items()), seed=0, exp_name=run,
                config=f"model = dict(type='BlobMLP')\noptimizer = dict(type='SGD', lr={lr}, momentum=0.9)\n")
    Runner = IterBasedRunner if iters else EpochBasedRunner
    runner = Runner(model, optimizer=optimizer, work_dir=str(out), logger=logger, meta=meta,
                    **(dict(max_iters=240) if iters else dict(max_epochs=12)))
    runner.timestamp = ts
    runner.register_training_hooks(
        lr_config=dict(policy="fixed"), optimizer_config=dict(grad_clip=None), checkpoint_config=None,
        log_config=dict(interval=10 if iters else 5, hooks=[dict(type="TextLoggerHook", by_epoch=not iters)]))
    runner.register_hook(EvalHook(val, interval=40 if iters else 1, by_epoch=not iters, test_fn=predict),
                         priority="LOW")
    runner.register_hook(Truth(), priority="LOWEST")
    runner.run([train], [("train", 1)])
