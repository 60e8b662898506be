"""One real training printed the way PaddleOCR's trainer (tools/program.py) prints, with the values printed saved as
the truth (truth.json, a shape no reader claims). PaddleOCR's layout is copied by many OCR and detection trainers.

    python paddle_fit.py OUT/ > OUT/train.log   (torch 2.13 CPU, scikit-learn)

Its logger's format `[%(asctime)s] ppocr %(levelname)s: %(message)s`; every print_batch_step steps (and at an
epoch's last batch) `epoch: [{}/{}], global_step: {}, {logs}, avg_reader_cost: {:.5f} s, avg_batch_cost: {:.5f}
s, avg_samples: {}, ips: {:.5f} samples/s, eta: {}`, where logs is its TrainingStats.log(): each stat's median
over the last 20 steps, `{k}: {v:x<6f}` joined by ", " in the order first updated (loss, lr, then the train
batch's acc and norm_edit_dis); every eval_batch_step steps an evaluation, `cur metric, acc: {}, norm_edit_dis:
{}, fps: {}` (values printed raw) and `best metric, acc: {}, ..., best_epoch: {}`.

The data are scikit-learn's 8x8 digits (1,437 train / 360 eval, batch 32: 45 steps an epoch), the net an MLP,
Adam 1e-3 over 12 epochs, print_batch_step 10, eval_batch_step 90. truth.json: `train` each printed loss at its
global_step, `eval_acc` each evaluation's acc at the global_step printed before it.
"""
import datetime
import json
import logging
import statistics
import sys
from collections import OrderedDict, deque
from pathlib import Path

import torch
import torch.nn.functional as F
from sklearn.datasets import load_digits
from torch import nn

out = Path(sys.argv[1])
out.mkdir(parents=True, exist_ok=True)
handler = logging.StreamHandler(sys.stdout)
handler.setFormatter(logging.Formatter("[%(asctime)s] %(name)s %(levelname)s: %(message)s", datefmt="%Y/%m/%d %H:%M:%S"))
logger = logging.getLogger("ppocr")
logger.addHandler(handler)
logger.setLevel(logging.INFO)
torch.manual_seed(0)
digits = load_digits()
x = torch.tensor(digits.data / 16.0, dtype=torch.float32)
y = torch.tensor(digits.target)
perm = torch.randperm(len(y))
tr, ev = perm[:1437], perm[1437:]
model = nn.Sequential(nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 10))
opt = torch.optim.Adam(model.parameters(), lr=1e-3)
epoch_num, batch, print_batch_step, eval_batch_step = 12, 32, 10, 90
smoothed: "OrderedDict[str, deque]" = OrderedDict()
truth = {"train": [], "eval_acc": []}
global_step, best_acc, best_epoch, last_printed = 0, 0.0, 0, None
steps_per_epoch = -(-len(tr) // batch)
logger.info("train dataloader has {} iters".format(steps_per_epoch))
for epoch in range(1, epoch_num + 1):
    order = tr[torch.randperm(len(tr))]
    for idx in range(steps_per_epoch):
        b = order[idx * batch:(idx + 1) * batch]
        logits = model(x[b])
        loss = F.cross_entropy(logits, y[b])
        opt.zero_grad()
        loss.backward()
        opt.step()
        global_step += 1
        acc = (logits.argmax(1) == y[b]).float().mean().item()
        for k, v in (("loss", loss.item()), ("lr", 1e-3), ("acc", acc), ("norm_edit_dis", 0.5 + acc / 2)):
            smoothed.setdefault(k, deque(maxlen=20)).append(v)
        if (global_step > 0 and global_step % print_batch_step == 0) or idx >= steps_per_epoch - 1:
            stats = OrderedDict((k, round(statistics.median(v), 6)) for k, v in smoothed.items())
            logs = ", ".join("{}: {:x<6f}".format(k, v) for k, v in stats.items())
            eta = str(datetime.timedelta(seconds=int((epoch_num - epoch) * 3)))
            logger.info("epoch: [{}/{}], global_step: {}, {}, avg_reader_cost: {:.5f} s, avg_batch_cost: {:.5f} s, "
                        "avg_samples: {}, ips: {:.5f} samples/s, eta: {}".format(
                            epoch, epoch_num, global_step, logs, 0.00012, 0.00231, float(batch), 13852.1, eta))
            truth["train"].append([global_step, float("{:x<6f}".format(stats["loss"]))])
            last_printed = global_step
        if global_step > 0 and global_step % eval_batch_step == 0:
            with torch.no_grad():
                e_logits = model(x[ev])
            e_acc = (e_logits.argmax(1) == y[ev]).float().mean().item()
            cur = {"acc": e_acc, "norm_edit_dis": 0.5 + e_acc / 2, "fps": 98765.4}
            logger.info("cur metric, {}".format(", ".join("{}: {}".format(k, v) for k, v in cur.items())))
            truth["eval_acc"].append([last_printed, e_acc])
            if e_acc >= best_acc:
                best_acc, best_epoch = e_acc, epoch
                logger.info("save best model is to ./output/rec/best_accuracy")
            best = {"acc": best_acc, "norm_edit_dis": 0.5 + best_acc / 2, "fps": 98765.4, "best_epoch": best_epoch}
            logger.info("best metric, {}".format(", ".join("{}: {}".format(k, v) for k, v in best.items())))
(out / "truth.json").write_text(json.dumps(truth))
