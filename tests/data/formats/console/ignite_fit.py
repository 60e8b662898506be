"""One real PyTorch-Ignite training printed the two ways Ignite's MNIST examples print, with the values printed
saved as the truth (truth.json, a shape no reader claims).

    python ignite_fit.py {ignite-tqdm,ignite-print,ignite-print-highlr} OUT/ > OUT/train.log 2>&1
    (pytorch-ignite 0.5.5, torch 2.13 CPU, tqdm)

ignite-tqdm: examples/mnist/mnist.py: a tqdm bar over each epoch's iterations (`ITERATION - loss: 0.23`, on
stderr, with carriage returns) and, after each epoch, `tqdm.write` of an evaluator's run on the training set and
on the validation set: `Training Results - Epoch: {e}  Avg accuracy: {:.2f} Avg loss: {:.2f}` and `Validation
Results - Epoch: ...` (the same names for both sets).
ignite-print: examples/mnist/mnist_with_tensorboard.py: `Epoch[{e}] Iteration[{i}/{len(loader)}] Loss: {:.4f}` every
log_interval iterations, the iteration global (engine.state.iteration: it passes the per-epoch total), and the
same Results lines. ignite-print-highlr: the same at SGD lr 1.5 (momentum 0.5): the loss blows up.

The data are scikit-learn's 8x8 digits (1,437 train / 360 validation), the model an MLP, SGD with momentum 0.5,
batch 64, 10 epochs, create_supervised_trainer / create_supervised_evaluator with Accuracy and Loss metrics.
truth.json: `train` every printed iteration loss at its iteration; `train_results` / `val_results` each epoch's
[x, accuracy, loss], x the last printed iteration before it (ignite-print) or the epoch (ignite-tqdm).
"""
import json
import sys
from pathlib import Path

import torch
import torch.nn.functional as F
from ignite.engine import Events, create_supervised_evaluator, create_supervised_trainer
from ignite.metrics import Accuracy, Loss
from sklearn.datasets import load_digits
from torch import nn
from tqdm import tqdm

style, out = sys.argv[1], Path(sys.argv[2])
out.mkdir(parents=True, exist_ok=True)
torch.manual_seed(3)
digits = load_digits()
x = torch.tensor(digits.data / 16.0, dtype=torch.float32)
y = torch.tensor(digits.target)
perm = torch.randperm(len(y))
train_loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x[perm[:1437]], y[perm[:1437]]),
                                           batch_size=64, shuffle=True)
val_loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x[perm[1437:]], y[perm[1437:]]),
                                         batch_size=1000)
model = nn.Sequential(nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 10))
optimizer = torch.optim.SGD(model.parameters(), lr=1.5 if style.endswith("highlr") else 0.05, momentum=0.5)
trainer = create_supervised_trainer(model, optimizer, F.cross_entropy)
metrics = {"accuracy": Accuracy(), "nll": Loss(F.cross_entropy)}
train_evaluator = create_supervised_evaluator(model, metrics=metrics)
val_evaluator = create_supervised_evaluator(model, metrics=metrics)
log_interval = 5
truth = {"train": [], "train_results": [], "val_results": []}
last = {"x": None}

if style == "ignite-tqdm":
    desc = "ITERATION - loss: {:.2f}"
    pbar = tqdm(initial=0, leave=False, total=len(train_loader), desc=desc.format(0))

    @trainer.on(Events.ITERATION_COMPLETED(every=log_interval))
    def log_training_loss(engine):
        pbar.desc = desc.format(engine.state.output)
        pbar.update(log_interval)
else:
    @trainer.on(Events.ITERATION_COMPLETED(every=log_interval))
    def log_training_loss(engine):
        print(f"Epoch[{engine.state.epoch}] Iteration[{engine.state.iteration}/{len(train_loader)}] "
              f"Loss: {engine.state.output:.4f}")
        last["x"] = engine.state.iteration
        truth["train"].append([engine.state.iteration, float(f"{engine.state.output:.4f}")])


def write(text):
    if style == "ignite-tqdm":
        tqdm.write(text)
    else:
        print(text)


@trainer.on(Events.EPOCH_COMPLETED)
def log_training_results(engine):
    if style == "ignite-tqdm":
        pbar.refresh()
    train_evaluator.run(train_loader)
    m = train_evaluator.state.metrics
    write(f"Training Results - Epoch: {engine.state.epoch}  Avg accuracy: {m['accuracy']:.2f} Avg loss: {m['nll']:.2f}")
    at = engine.state.epoch if style == "ignite-tqdm" else last["x"]
    truth["train_results"].append([at, float(f"{m['accuracy']:.2f}"), float(f"{m['nll']:.2f}")])


@trainer.on(Events.EPOCH_COMPLETED)
def log_validation_results(engine):
    val_evaluator.run(val_loader)
    m = val_evaluator.state.metrics
    write(f"Validation Results - Epoch: {engine.state.epoch}  Avg accuracy: {m['accuracy']:.2f} Avg loss: {m['nll']:.2f}")
    at = engine.state.epoch if style == "ignite-tqdm" else last["x"]
    truth["val_results"].append([at, float(f"{m['accuracy']:.2f}"), float(f"{m['nll']:.2f}")])
    if style == "ignite-tqdm":
        pbar.n = pbar.last_print_n = 0


trainer.run(train_loader, max_epochs=10)
if style == "ignite-tqdm":
    pbar.close()
(out / "truth.json").write_text(json.dumps(truth))
