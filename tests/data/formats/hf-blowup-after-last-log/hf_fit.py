"""A real transformers Trainer run that blows up between its last logged loss and its end.

Linear regression on 8 Gaussian features, SGD at LR 0.01 for ten steps, then a schedule bug multiplies
the LR by 500 (LR 5, far past 2 / the largest curvature): the loss grows ~100x a step from step 11.
logging_steps=5 and max_steps=14 log steps 5 and 10 only; the final summary's `train_loss` (the mean
over all 14 steps) is what carries steps 11-14. max_grad_norm=0 turns off the Trainer's default clipping
at 1.0, which would have held the run. Written by Trainer.save_state() as trainer_state.json:

    python hf_fit.py OUT        (transformers 5.25, torch 2.13 CPU; OUT/trainer_state.json)
"""
import sys

import torch
from torch import nn
from transformers import Trainer, TrainingArguments


class Points(torch.utils.data.Dataset):
    def __init__(self, n: int = 512, seed: int = 0):
        g = torch.Generator().manual_seed(seed)
        self.x = torch.randn(n, 8, generator=g)
        self.y = self.x @ torch.linspace(-1, 1, 8) + 0.1 * torch.randn(n, generator=g)

    def __len__(self):
        return len(self.x)

    def __getitem__(self, i):
        return {"x": self.x[i], "labels": self.y[i]}


class Regressor(nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(8, 1)

    def forward(self, x, labels=None):
        out = self.lin(x).squeeze(-1)
        return {"loss": nn.functional.mse_loss(out, labels), "logits": out}


def main(out: str) -> None:
    torch.manual_seed(0)
    model = Regressor()
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda step: 1.0 if step < 10 else 500.0)
    args = TrainingArguments(output_dir=out, per_device_train_batch_size=32, max_steps=14, logging_steps=5,
                             max_grad_norm=0.0, report_to=[], save_strategy="no", seed=0, use_cpu=True,
                             dataloader_num_workers=0, disable_tqdm=True)
    trainer = Trainer(model=model, args=args, train_dataset=Points(), optimizers=(opt, sched))
    trainer.train()
    trainer.save_state()


if __name__ == "__main__":
    main(sys.argv[1])
