"""One real small CNN trained and printed the way PyTorch's two most copied training scripts print, with
the values printed saved as the truth (truth.json, a shape no reader claims).

    python tutorial_fit.py {mnist,mnist-highlr,cifar} OUT/ > OUT/train.log   (torch 2.13 CPU)

mnist: pytorch/examples' mnist/main.py: `Train Epoch: {} [{}/{} ({:.0f}%)]\\tLoss: {:.6f}` every log_interval
batches (the position in samples: batch_idx * len(data) of len(dataset)), and after each epoch its test()
`\\nTest set: Average loss: {:.4f}, Accuracy: {}/{} ({:.0f}%)\\n` (the loss summed over the test set and
divided by its size, the accuracy as correct/total); Adadelta lr 1.0 with StepLR gamma 0.7, as the example.
mnist-highlr: the same script at Adadelta lr 60: the loss climbs and bounces, the accuracy falls back.
cifar: the "Training a Classifier" tutorial (CIFAR-10): SGD lr 0.001 momentum 0.9, batch 4, `[%d, %5d] loss:
%.3f` % (epoch + 1, i + 1, running_loss / N) every N minibatches, the running loss reset after each print.

The data are scikit-learn's 8x8 digits (1,437 train / 360 test), the net a two-conv CNN. truth.json holds
every printed point at its position: mnist's train points at (epoch - 1) * len(dataset) + batch_idx *
batch_size (the samples before the batch; the printed count is short of it at the epoch's last, smaller batch:
`[638/1437 (96%)]`), each test line's at the train line printed before it; cifar's at (epoch - 1) * batches per epoch +
i + 1 (the reader, which is not told the epoch's length, places them by the printed counts alone).
"""
import json
import sys
from pathlib import Path

import torch
import torch.nn.functional as F
from sklearn.datasets import load_digits
from torch import nn

style, out = sys.argv[1], Path(sys.argv[2])
out.mkdir(parents=True, exist_ok=True)
torch.manual_seed(1)
digits = load_digits()
x = torch.tensor(digits.images / 16.0, dtype=torch.float32).unsqueeze(1)
y = torch.tensor(digits.target)
perm = torch.randperm(len(y))
train_idx, test_idx = perm[:1437], perm[1437:]
train_set = torch.utils.data.TensorDataset(x[train_idx], y[train_idx])
test_set = torch.utils.data.TensorDataset(x[test_idx], y[test_idx])


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 16, 3, 1)
        self.conv2 = nn.Conv2d(16, 32, 3, 1)
        self.fc1 = nn.Linear(32 * 2 * 2, 64)
        self.fc2 = nn.Linear(64, 10)

    def forward(self, v):
        v = F.relu(self.conv2(F.relu(self.conv1(v))))
        v = torch.flatten(F.max_pool2d(v, 2), 1)
        return self.fc2(F.relu(self.fc1(v)))


model = Net()
truth = {"train": [], "test_loss": [], "test_acc": []}

if style.startswith("mnist"):
    train_loader = torch.utils.data.DataLoader(train_set, batch_size=64, shuffle=True)
    test_loader = torch.utils.data.DataLoader(test_set, batch_size=1000)
    optimizer = torch.optim.Adadelta(model.parameters(), lr=60.0 if style == "mnist-highlr" else 1.0)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=1, gamma=0.7)
    log_interval, last = 2, None
    for epoch in range(1, 15):
        model.train()
        for batch_idx, (data, target) in enumerate(train_loader):
            optimizer.zero_grad()
            loss = F.cross_entropy(model(data), target)
            loss.backward()
            optimizer.step()
            if batch_idx % log_interval == 0:
                print('Train Epoch: {} [{}/{} ({:.0f}%)]\tLoss: {:.6f}'.format(
                    epoch, batch_idx * len(data), len(train_loader.dataset),
                    100. * batch_idx / len(train_loader), loss.item()))
                # where the batch starts: the printed batch_idx * len(data) is short of it at a last, smaller batch
                last = (epoch - 1) * len(train_loader.dataset) + batch_idx * train_loader.batch_size
                truth["train"].append([last, float(f"{loss.item():.6f}")])
        model.eval()
        test_loss, correct = 0.0, 0
        with torch.no_grad():
            for data, target in test_loader:
                output = model(data)
                test_loss += F.cross_entropy(output, target, reduction="sum").item()
                correct += output.argmax(dim=1).eq(target).sum().item()
        test_loss /= len(test_loader.dataset)
        print('\nTest set: Average loss: {:.4f}, Accuracy: {}/{} ({:.0f}%)\n'.format(
            test_loss, correct, len(test_loader.dataset), 100. * correct / len(test_loader.dataset)))
        truth["test_loss"].append([last, float(f"{test_loss:.4f}")])
        truth["test_acc"].append([last, correct / len(test_loader.dataset)])
        scheduler.step()
else:
    train_loader = torch.utils.data.DataLoader(train_set, batch_size=4, shuffle=True)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.001, momentum=0.9)
    every = 40
    for epoch in range(6):
        running_loss = 0.0
        for i, (inputs, labels) in enumerate(train_loader):
            optimizer.zero_grad()
            loss = F.cross_entropy(model(inputs), labels)
            loss.backward()
            optimizer.step()
            running_loss += loss.item()
            if i % every == every - 1:
                print('[%d, %5d] loss: %.3f' % (epoch + 1, i + 1, running_loss / every))
                truth["train"].append([epoch * len(train_loader) + i + 1, float('%.3f' % (running_loss / every))])
                running_loss = 0.0
    print('Finished Training')
    truth["batches_per_epoch"] = len(train_loader)
(out / "truth.json").write_text(json.dumps(truth))
