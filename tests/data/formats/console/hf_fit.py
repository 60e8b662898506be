"""One real transformers Trainer run whose only log is its console output (save_strategy="no": no
trainer_state.json is written); the state's log_history is saved beside it, under a name no reader
claims, as the truth the console reading is tested against.

    python hf_fit.py LR OUT {tqdm,plain} > OUT/train.log 2>&1   (transformers 5.25, torch 2.13 CPU)
    hf-tqdm: LR 3e-3, the default TQDM bar; hf-plain: LR 1e-5, disable_tqdm=True
"""
import json, sys
from pathlib import Path

import torch
from torch import nn
from transformers import Trainer, TrainingArguments

lr, out, mode = float(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
torch.manual_seed(0)
x = torch.randn(1200, 10)
y = (x @ torch.randn(10, 3)).argmax(1)


class Rows(torch.utils.data.Dataset):
    def __init__(self, a, b):
        self.a, self.b = a, b

    def __len__(self):
        return len(self.a)

    def __getitem__(self, i):
        return {"x": self.a[i], "labels": self.b[i]}


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(10, 32), nn.ReLU(), nn.Linear(32, 3))

    def forward(self, x, labels=None):
        logits = self.body(x)
        return {"loss": nn.functional.cross_entropy(logits, labels), "logits": logits}


args = TrainingArguments(output_dir=str(out / "trainer_output"), per_device_train_batch_size=12, num_train_epochs=4,
                         logging_steps=10, eval_strategy="epoch", learning_rate=lr, report_to=[], save_strategy="no",
                         disable_tqdm=mode == "plain", use_cpu=True, seed=0)
trainer = Trainer(model=Net(), args=args, train_dataset=Rows(x[:1000], y[:1000]), eval_dataset=Rows(x[1000:], y[1000:]))
trainer.train()
(out / "expected_log_history.json").write_text(json.dumps(trainer.state.log_history, indent=0))
