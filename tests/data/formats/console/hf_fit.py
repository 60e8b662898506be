"""One real transformers Trainer run whose only log is its console output (save_strategy="no": no
trainer_state.json is written); the state's log_history is saved beside it, under a name no reader
claims, as the truth the console reading is tested against.

    python hf_fit.py LR OUT {tqdm,plain} [JSON] [--premap] [--crash-at N | --raise-at N] [--resume] [--sleep S] \
        > OUT/train.log 2>&1

(transformers 5.25, torch 2.13 CPU; JSON: more TrainingArguments.) The folders here:
    hf-tqdm: LR 3e-3, the default TQDM bar; hf-plain: LR 1e-5, disable_tqdm=True
    hf-cases/buffered: 3e-3 tqdm, PYTHONUNBUFFERED unset: the dicts land inside the bar's lines
    hf-cases/premap-crash: 3e-3 tqdm --premap --crash-at 200: a `Map:` bar drawn first, no summary
    hf-cases/resume-plain: 3e-3 plain '{"save_strategy": "steps", "save_steps": 100}' --crash-at 150,
        then the same --resume appended (>>): the summary counts only the resumed session's steps
    hf-cases/resume-traceback: 3e-3 plain '{"save_strategy": "steps", "save_steps": 100}' --raise-at 105, then
        the same --resume appended: the crash falls after the checkpoint's own logged step, so no epoch
        goes back, and only the traceback tells the sessions apart
    hf-cases/slow-head: 3e-3 tqdm '{"logging_steps": 400, "eval_strategy": "no", "num_train_epochs": 5}' --sleep 0.11: the bar's
        redraws fill the first 16 KiB before the first dict
    hf-cases/torchrun: 3e-3 tqdm under `torchrun --nproc_per_node 1 --tee 3`: every line `[default0]:`
"""
import json, sys, time
from pathlib import Path

import torch
from torch import nn
from transformers import Trainer, TrainerCallback, TrainingArguments

lr, out, mode = float(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
extra = json.loads(sys.argv[4]) if len(sys.argv) > 4 and sys.argv[4].startswith("{") else {}
flags = sys.argv[4:]
sleep = float(flags[flags.index("--sleep") + 1]) if "--sleep" in flags else 0.0
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
        if sleep:
            time.sleep(sleep)
        logits = self.body(x)
        return {"loss": nn.functional.cross_entropy(logits, labels), "logits": logits}


class Crash(TrainerCallback):
    """Ends the run at one step, as a killed job would (quietly, or with an error's traceback), after
    saving what the state held then."""

    def __init__(self, at, error):
        self.at, self.error = at, error

    def on_step_end(self, args, state, control, **kwargs):
        if state.global_step == self.at:
            (out / "expected_log_history.json").write_text(json.dumps(state.log_history, indent=0))
            sys.stdout.flush()
            if self.error:
                raise RuntimeError("CUDA error: an illegal memory access was encountered")
            raise SystemExit(0)


args = TrainingArguments(**{**dict(output_dir=str(out / "trainer_output"), per_device_train_batch_size=12,
                                   num_train_epochs=4, logging_steps=10, eval_strategy="epoch", learning_rate=lr,
                                   report_to=[], save_strategy="no", disable_tqdm=mode == "plain", use_cpu=True,
                                   seed=0), **extra})
crash = [Crash(int(flags[flags.index(f) + 1]), f == "--raise-at") for f in ("--crash-at", "--raise-at") if f in flags]
trainer = Trainer(model=Net(), args=args, train_dataset=Rows(x[:1000], y[:1000]), eval_dataset=Rows(x[1000:], y[1000:]),
                  callbacks=crash)
if "--premap" in flags:  # what datasets.map draws before training
    from tqdm.auto import tqdm

    for _ in tqdm(range(1200), desc="Map"):
        pass
trainer.train(resume_from_checkpoint=True if "--resume" in flags else None)
(out / "expected_log_history.json").write_text(json.dumps(trainer.state.log_history, indent=0))
