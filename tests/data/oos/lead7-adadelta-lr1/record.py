"""pytorch/examples mnist/main.py's recipe (Adadelta, lr 1.0, StepLR gamma 0.7 per epoch) on
scikit-learn's digits, logged as a torch SummaryWriter user would, with hparams."""
import torch, torch.nn as nn
from sklearn.datasets import load_digits
from torch.utils.tensorboard import SummaryWriter
torch.manual_seed(0)
X, y = load_digits(return_X_y=True)
X = torch.tensor(X / 16.0, dtype=torch.float32); y = torch.tensor(y)
xt, yt, xv, yv = X[:1400], y[:1400], X[1400:], y[1400:]
m = nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Dropout(0.25), nn.Linear(128, 10))
opt = torch.optim.Adadelta(m.parameters(), lr=1.0)
sch = torch.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.7)
w = SummaryWriter("run"); step = 0
for ep in range(14):
    m.train(); perm = torch.randperm(1400)
    for i in range(0, 1400, 64):
        idx = perm[i:i+64]; loss = nn.functional.cross_entropy(m(xt[idx]), yt[idx])
        opt.zero_grad(); loss.backward(); opt.step(); step += 1
        if step % 5 == 0: w.add_scalar("train/loss", loss.item(), step)
    m.eval()
    with torch.no_grad():
        out = m(xv); w.add_scalar("val/loss", nn.functional.cross_entropy(out, yv).item(), step)
        w.add_scalar("val/acc", (out.argmax(1) == yv).float().mean().item(), step)
    w.add_scalar("lr", sch.get_last_lr()[0], step); sch.step()
w.add_hparams({"optimizer": "Adadelta", "lr": 1.0, "batch_size": 64, "gamma": 0.7}, {"hparam/val_acc": (out.argmax(1) == yv).float().mean().item()}, run_name=".")
w.close()
