"""One real training whose only log is a TQDM bar over its optimizer steps, redrawn into a file (stderr
redirected: one line of carriage-return-separated states), as two popular scripts draw it; the values
set on the bar are saved as the truth (truth.json, under a name no reader claims).

    python steps_fit.py {diffusers,kohya,logged,epochs} OUT/ 2> OUT/train.log   (torch 2.13 CPU, tqdm 4.70)

diffusers: its training scripts' `tqdm(range(0, max_train_steps), initial=0, desc="Steps")`, then after each
optimizer step `progress_bar.update(1)` and `progress_bar.set_postfix(step_loss=loss.item(), lr=lr)`.
kohya: sd-scripts' `tqdm(range(max_train_steps), smoothing=0, desc="steps")` with `set_postfix(avr_loss=...)`,
the mean of the last epoch's losses (a moving window). logged: the diffusers bar handed to a logger (a file
object that logs each redraw: `12/06/2026 18:20:03 - INFO - __main__ - Steps:  1%|...| 2/200 [...]`).
epochs: the diffusers bar with an inner `Epoch k` bar (leave=False) over each 40 steps, its postfix `loss=`. A 3-layer MLP regression, Adam 1e-3, 200 steps, the bar
forced to redraw every update (mininterval=0), as a run slower than this one redraws it. Folders: steps-diffusers/,
steps-kohya/, steps-logged/, steps-epochs/.
"""
import io, json, logging, sys
from collections import deque
from pathlib import Path

import torch
from torch import nn
from tqdm import tqdm

style, out = sys.argv[1], Path(sys.argv[2])
out.mkdir(parents=True, exist_ok=True)
torch.manual_seed(0)
x = torch.randn(512, 8)
y = (x @ torch.randn(8, 1)).tanh() + 0.1 * torch.randn(512, 1)
model = nn.Sequential(nn.Linear(8, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 1))
opt = torch.optim.Adam(model.parameters(), lr=1e-3)
STEPS, BATCH = 200, 32
class ToLogger(io.StringIO):
    """The usual tqdm-to-logging shim: each redraw becomes one log record, with the logger's prefix."""

    def write(self, text):
        if text.strip("\r\n"):
            logging.getLogger("__main__").info(text.strip("\r\n"))


if style == "logged":  # HF examples' logging.basicConfig format, the bar handed to the logger
    logging.basicConfig(format="%(asctime)s - %(levelname)s - %(name)s - %(message)s", datefmt="%m/%d/%Y %H:%M:%S",
                        level=logging.INFO)
bar = tqdm(range(STEPS), desc="steps" if style == "kohya" else "Steps", mininterval=0, miniters=1,
           **({"smoothing": 0} if style == "kohya" else {}), **({"file": ToLogger()} if style == "logged" else {}))
PER_EPOCH = 40  # epochs: an inner `Epoch k` bar over each epoch's steps, its postfix the last step's loss
epoch_bar = None
window, truth = deque(maxlen=16), []
for step in range(STEPS):
    idx = torch.randint(0, 512, (BATCH,))
    loss = nn.functional.mse_loss(model(x[idx]), y[idx])
    opt.zero_grad()
    loss.backward()
    opt.step()
    if style == "epochs" and step % PER_EPOCH == 0:
        epoch_bar = tqdm(range(PER_EPOCH), desc=f"Epoch {step // PER_EPOCH}", leave=False, mininterval=0, miniters=1)
    bar.update(1)
    if epoch_bar is not None:
        epoch_bar.update(1)
        epoch_bar.set_postfix(loss=loss.item())
        if (step + 1) % PER_EPOCH == 0:
            epoch_bar.close()
    if style in ("diffusers", "logged", "epochs"):
        logs = {"step_loss": loss.detach().item(), "lr": opt.param_groups[0]["lr"]}
    else:
        window.append(loss.item())
        logs = {"avr_loss": sum(window) / len(window)}
    bar.set_postfix(**logs)
    truth.append([step + 1, bar.format_dict["postfix"]])
bar.close()
(out / "truth.json").write_text(json.dumps(truth))
