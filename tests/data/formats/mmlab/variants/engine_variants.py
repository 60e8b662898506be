"""MMEngine variants; model/data/metric from tests/data/formats/mmlab/mm_fit.py.
python engine_fit.py OUT [key=value ...]   (see OPTS)"""
import json, math, sys
from pathlib import Path
import torch
from torch import nn

out = Path(sys.argv[1]); out.mkdir(parents=True, exist_ok=True)
OPTS = dict(epochs=6, iters=0, interval=5, ignore_last=1, hier=0, by_epoch_metric=1, val_interval=1,
            val_first=0, test_after=0, two_metrics=0, val_loss=0, crash_after=-1, resume=0, backends="local",
            lr=0.05, truth="truth.txt", seed=0, max_keep=0)
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


from mmengine.dataset import DefaultSampler, InfiniteSampler  # noqa
from mmengine.evaluator import BaseMetric
from mmengine.hooks import Hook
from mmengine.model import BaseModel
from mmengine.registry import DATASETS, HOOKS, METRICS, MODELS
from mmengine.runner import Runner
from mmengine.logging import MessageHub


@MODELS.register_module()
class BlobMLP(BaseModel):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(10, 32), nn.ReLU(), nn.Linear(32, 4))

    def forward(self, x, labels, mode="tensor"):
        logits = self.body(x)
        if mode == "loss":
            return {"loss": nn.functional.cross_entropy(logits, labels)}
        if mode == "predict":
            if O.val_loss:
                MessageHub.get_current_instance().update_scalar(
                    "val/loss", nn.functional.cross_entropy(logits, labels).item(), len(labels))
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


@METRICS.register_module()
class ClassZeroRecall(BaseMetric):
    default_prefix = "recall"

    def process(self, data_batch, data_samples):
        pred, labels = data_samples
        m = labels == 0
        self.results.append((((pred == labels) & m).sum().item(), m.sum().item()))

    def compute_metrics(self, results):
        return {"class0": 100.0 * sum(r[0] for r in results) / max(1, sum(r[1] for r in results))}


SKIP = {"time", "data_time", "memory", "epoch", "iter", "step", "lr"}


@HOOKS.register_module()
class Truth(Hook):
    priority = "LOWEST"

    def __init__(self):
        self.handed = []

    def before_run(self, runner):
        if getattr(runner.visualizer, "_spied", False):
            return
        runner.visualizer._spied = True
        add = runner.visualizer.add_scalars

        def spy(scalar_dict, *a, **k):
            self.handed.append((dict(scalar_dict), k.get("step", a[0] if a else None)))
            return add(scalar_dict, *a, **k)
        runner.visualizer.add_scalars = spy

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        for d, _ in self.handed:
            loss = d.get("loss", d.get("train/loss"))
            truth(f"train {runner.iter + 1} {loss:.6g}")
        self.handed.clear()

    def _val(self, runner, kind):
        it = runner.iter if not isinstance(runner._train_loop, dict) and runner._train_loop is not None else 0
        for d, _ in self.handed:
            for k, v in d.items():
                base = k.split("/", 1)[1] if k.startswith(("val/", "test/")) and k.count("/") >= 1 and k.split("/")[0] in ("val", "test") else k
                if base in SKIP or k in SKIP:
                    continue
                truth(f"{kind} {it} {base} {v:.6g}")
        self.handed.clear()

    def after_val_epoch(self, runner, metrics=None):
        self._val(runner, "val")

    def before_train_epoch(self, runner):
        if O.crash_after >= 0 and runner.epoch == O.crash_after:
            raise RuntimeError(f"simulated crash before epoch {runner.epoch + 1}")


iters = O.iters > 0
loader = lambda split, n, seed, shuffle: dict(  # noqa: E731
    batch_size=32, num_workers=0, collate_fn=dict(type="default_collate"),
    dataset=dict(type="Blobs", n=n, seed=seed),
    sampler=dict(type="InfiniteSampler" if iters and split == "train" else "DefaultSampler", shuffle=shuffle))
train_cfg = (dict(type="IterBasedTrainLoop", max_iters=O.iters, val_interval=O.val_interval) if iters
             else dict(by_epoch=True, max_epochs=O.epochs, val_interval=O.val_interval))
evaluator = [dict(type="Accuracy"), dict(type="ClassZeroRecall")] if O.two_metrics else dict(type="Accuracy")
backends = {"local": [dict(type="LocalVisBackend")], "tb": [dict(type="TensorboardVisBackend")],
            "both": [dict(type="LocalVisBackend"), dict(type="TensorboardVisBackend")]}[O.backends]
cfg = dict(
    model=dict(type="BlobMLP"), work_dir=str(out), experiment_name=out.name,
    train_dataloader=loader("train", 600, 1, True), val_dataloader=loader("val", 200, 2, False),
    val_evaluator=evaluator, train_cfg=train_cfg, val_cfg=dict(),
    optim_wrapper=dict(optimizer=dict(type="SGD", lr=O.lr, momentum=0.9)),
    default_hooks=dict(
        logger=dict(type="LoggerHook", interval=O.interval, ignore_last=bool(O.ignore_last),
                    log_metric_by_epoch=bool(O.by_epoch_metric)),
        checkpoint=dict(type="CheckpointHook", interval=1)),
    custom_hooks=[dict(type="Truth")],
    log_processor=dict(by_epoch=not iters, log_with_hierarchy=bool(O.hier)),
    visualizer=dict(type="Visualizer", vis_backends=backends),
    randomness=dict(seed=O.seed), resume=bool(O.resume), launcher="none")
if O.test_after:
    cfg.update(test_dataloader=loader("test", 200, 3, False), test_evaluator=evaluator, test_cfg=dict())
from mmengine.config import Config
runner = Runner.from_cfg(Config(cfg))
if O.val_first:
    runner.val()
runner.train()
if O.test_after:
    runner.test()
