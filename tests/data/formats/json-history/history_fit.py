"""One real training whose loop keeps its history as a list of per-epoch dicts and dumps it at the end, the
way hand-written loops (and pandas users) save it: `json.dump(history, f, indent=2)` as loop/history.json and
`pandas.DataFrame(history).to_json(orient="records")` as pandas/history.json (one line); and the same DataFrame's
`to_csv` (pandas' default keeps its index as an unnamed first column) as pandas-csv/history.csv.

    python history_fit.py .   (torch 2.13 CPU, scikit-learn, pandas)

The run overfits: a 2x256 MLP with no regularisation on 120 of scikit-learn's digits (Adam 3e-3, batch 16,
60 epochs), validated on 600 others: the val loss bottoms out early and climbs while the training loss goes
to ~0. history.json's epochs count from 1; truth.json (a shape no reader claims) holds the same rows.
"""
import json
import sys
from pathlib import Path

import pandas as pd
import torch
import torch.nn.functional as F
from sklearn.datasets import load_digits
from torch import nn

out = Path(sys.argv[1])
torch.manual_seed(0)
digits = load_digits()
x = torch.tensor(digits.data / 16.0, dtype=torch.float32)
y = torch.tensor(digits.target)
perm = torch.randperm(len(y))
tr, va = perm[:120], perm[120:720]
model = nn.Sequential(nn.Linear(64, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU(), nn.Linear(256, 10))
opt = torch.optim.Adam(model.parameters(), lr=3e-3)
history = []
for epoch in range(1, 61):
    model.train()
    order = tr[torch.randperm(len(tr))]
    total = 0.0
    for i in range(0, len(order), 16):
        idx = order[i:i + 16]
        loss = F.cross_entropy(model(x[idx]), y[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
        total += loss.item() * len(idx)
    model.eval()
    with torch.no_grad():
        logits = model(x[va])
        val_loss = F.cross_entropy(logits, y[va]).item()
        val_acc = (logits.argmax(1) == y[va]).float().mean().item()
    history.append({"epoch": epoch, "train_loss": round(total / len(tr), 6), "val_loss": round(val_loss, 6),
                    "val_acc": round(val_acc, 6), "lr": 3e-3})
(out / "loop").mkdir(parents=True, exist_ok=True)
(out / "pandas").mkdir(parents=True, exist_ok=True)
with open(out / "loop" / "history.json", "w") as f:
    json.dump(history, f, indent=2)
(out / "pandas" / "history.json").write_text(pd.DataFrame(history).to_json(orient="records"))
(out / "pandas-csv").mkdir(parents=True, exist_ok=True)
pd.DataFrame(history).to_csv(out / "pandas-csv" / "history.csv")
(out / "truth.json").write_text(json.dumps({"rows": history}))
