"""One real training printed the way the meter loggers of research code print it, with the values it
printed saved as the truth (truth.json, under a name no reader claims).

    python meters_fit.py {metriclogger,timm,swin} LR OUT/   (torch 2.13 CPU)

metriclogger: torchvision's reference scripts (and DETR, DeiT, MAE, BEiT, ConvNeXt...) print every
print_freq iterations `Epoch: [e]  [ i/n]  eta: ..  lr: ..  loss: median (global_avg)  ...  time: ..`
(the median over a window of 20 iterations), then `Test:  [ i/n] ...` lines and ` * Acc@1 .. Acc@5 ..`.
timm's train.py prints `Train: e [ i/n (p%)]  Loss: value (avg)  Time: ..  LR: ..` and `Test: [ i/n]
... Loss: value (avg)  Acc@1: value (avg)`. Swin Transformer's logger prints `[time name] (main.py 229): INFO
Train: [e/N][i/n]\teta .. lr ..\ttime v (avg)\tloss v (avg)\t...` and `Test: [i/n]\t...` lines. The meters
here compute what those classes compute.
"""
import collections, json, sys, time
from pathlib import Path

import torch
from torch import nn

style, lr, out = sys.argv[1], float(sys.argv[2]), Path(sys.argv[3])
out.mkdir(parents=True, exist_ok=True)
torch.manual_seed(0)
x = torch.randn(1200, 16)
y = (x @ torch.randn(16, 5) + 0.5 * torch.randn(1200, 5)).argmax(1)
net = nn.Sequential(nn.Linear(16, 64), nn.ReLU(), nn.Linear(64, 5))
opt = torch.optim.SGD(net.parameters(), lr=lr, momentum=0.9)
EPOCHS, BATCH, PRINT_FREQ, TEST_BATCH = 8, 10, 10, 20
n_iter = 1000 // BATCH
truth = {"train": [], "test": []}


class Meter:
    def __init__(self, window=20):
        self.window, self.total, self.count = collections.deque(maxlen=window), 0.0, 0

    def update(self, v, n=1):
        self.window.append(v)
        self.total += v * n
        self.count += n

    @property
    def median(self):
        return torch.tensor(list(self.window)).median().item()

    @property
    def avg(self):
        return self.total / self.count


def evaluate(epoch):
    loss_m, acc_m = Meter(), Meter()
    net.eval()
    with torch.no_grad():
        for i in range(0, 200, TEST_BATCH):
            xb, yb = x[1000 + i:1000 + i + TEST_BATCH], y[1000 + i:1000 + i + TEST_BATCH]
            logits = net(xb)
            loss_m.update(nn.functional.cross_entropy(logits, yb).item(), len(yb))
            acc_m.update(100.0 * (logits.argmax(1) == yb).float().mean().item(), len(yb))
            k = i // TEST_BATCH
            if k % 5 == 0 or k == 200 // TEST_BATCH - 1:
                if style == "swin":
                    print(f"[2025-01-01 00:00:00 mlp] (main.py 264): INFO Test: [{k}/{200 // TEST_BATCH}]\tTime 0.012 (0.013)\t"
                          f"Loss {loss_m.window[-1]:.4f} ({loss_m.avg:.4f})\tAcc@1 {acc_m.window[-1]:.3f} ({acc_m.avg:.3f})\tMem 0MB")
                elif style == "metriclogger":
                    print(f"Test:  [{k:>2d}/{200 // TEST_BATCH}]  eta: 0:00:00  loss: {loss_m.median:.4f} ({loss_m.avg:.4f})"
                          f"  acc1: {acc_m.median:.4f} ({acc_m.avg:.4f})  time: 0.0012  data: 0.0001  max mem: 0")
                else:
                    print(f"Test: [{k:>4d}/{200 // TEST_BATCH - 1}]  Time: 0.012 (0.013)  Loss: {loss_m.window[-1]:>7.4f} ({loss_m.avg:>6.4f})"
                          f"  Acc@1: {acc_m.window[-1]:>7.4f} ({acc_m.avg:>7.4f})")
    if style == "metriclogger":
        print(f" * Acc@1 {acc_m.avg:.3f} Acc@5 100.000 loss {loss_m.avg:.3f}")
    elif style == "swin":
        print(f"[2025-01-01 00:00:00 mlp] (main.py 271): INFO  * Acc@1 {acc_m.avg:.3f} Acc@5 100.000")
    truth["test"].append({"epoch": epoch, "loss": round(loss_m.avg, 4), "acc1": round(acc_m.avg, 4)})
    net.train()


for epoch in range(EPOCHS):
    loss_m = Meter()
    perm = torch.randperm(1000)
    for i in range(n_iter):
        idx = perm[i * BATCH:(i + 1) * BATCH]
        loss = nn.functional.cross_entropy(net(x[idx]), y[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
        loss_m.update(loss.item())
        if i % PRINT_FREQ == 0 or i == n_iter - 1:
            if style == "swin":
                shown = loss_m.window[-1]
                print(f"[2025-01-01 00:00:00 mlp] (main.py 229): INFO Train: [{epoch}/{EPOCHS}][{i}/{n_iter}]\t"
                      f"eta 0:00:01 lr {lr:.6f}\ttime 0.0021 (0.0021)\tloss {shown:.4f} ({loss_m.avg:.4f})\t"
                      f"grad_norm 1.0000 (1.0000)\tmem 0MB")
            elif style == "metriclogger":
                shown = loss_m.median
                print(f"Epoch: [{epoch}]  [{i:>{len(str(n_iter))}d}/{n_iter}]  eta: 0:00:01  lr: {lr:.6f}  "
                      f"loss: {shown:.4f} ({loss_m.avg:.4f})  time: 0.0021  data: 0.0002  max mem: 0")
            else:
                shown = loss_m.window[-1]
                print(f"Train: {epoch} [{i:>4d}/{n_iter} ({100.0 * i / n_iter:>3.0f}%)]  Loss: {shown:#.4g} ({loss_m.avg:#.3g})  "
                      f"Time: 0.002s, 5000.00/s  (0.002s, 5000.00/s)  LR: {lr:.3e}  Data: 0.000 (0.000)")
            truth["train"].append({"step": epoch * n_iter + i, "loss": float(f"{shown:#.4g}" if style == "timm" else f"{shown:.4f}")})
    if style == "swin":
        print(f"[2025-01-01 00:00:00 mlp] (main.py 237): INFO EPOCH {epoch} training takes 0:00:01")
    if style == "metriclogger":
        print(f"Epoch: [{epoch}] Total time: 0:00:01 (0.0021 s / it)")
    evaluate(epoch)
(out / "truth.json").write_text(json.dumps(truth))
