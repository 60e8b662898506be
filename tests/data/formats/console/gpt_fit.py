"""One real character-level language model trained and printed the way four popular LM training scripts
print, with the values printed saved as the truth (truth.json, under a name no reader claims).

    python gpt_fit.py {lecture,nanogpt,mlx,raschka,llmc,llmc-cu,llmc-mainlog} OUT/ > OUT/train.log   (torch 2.13 CPU)

lecture: Karpathy's "Let's build GPT" gpt.py: `step {iter}: train loss {:.4f}, val loss {:.4f}` every
eval_interval (and at the last iteration), the losses estimated over eval_iters batches of each split.
nanogpt: nanoGPT's train.py: the same `step` lines, and `iter {n}: loss {:.4f}, time {:.2f}ms, mfu {:.2f}%`
every log_interval. mlx: mlx-lm's LoRA trainer: `Iter {n}: Train loss {:.3f}, Learning Rate {:.3e}, It/sec ..,
Tokens/sec .., Trained Tokens .., Peak mem .. GB` and `Iter {n}: Val loss {:.3f}, Val took {:.3f}s`.
raschka: "LLMs from scratch" train_model_simple: `Ep {e} (Step {global_step:06d}): Train loss {:.3f}, Val loss
{:.3f}` every eval_freq steps and a generated sample after each epoch. llmc: llm.c's train_gpt2.c (`val loss %f`
at the top of an evaluating step, then `step %d: train loss %f (took %f ms)` for every step, 0-based); llmc-cu:
its train_gpt2.cu (`step %4d/%d | loss %7.6f (%+.2fz)| norm %6.4f (%+.2fz)| lr %.2e | %.2f ms | %.1f%% bf16 MFU
| %.0f tok/s` with step + 1), 200 steps, an evaluation every 50 (val loss over EVAL_ITERS batches); llmc-mainlog:
the llmc run again, with the log file llm.c writes beside its output (-o DIR: DIR/main.log, llmc/logger.h's
`s:%d trl:%.4f lr:%.6f norm:%.2f` and `s:%d tel:%.4f`), kept alone in llmc-mainlog/. The text is the Zen of Python
(stdlib `this`), 90% train; the model a 3-character-context MLP. The folders: lecture/, nanogpt/, mlx/, raschka/.
"""
import codecs, json, sys, time
from pathlib import Path

import this  # noqa: F401  (prints the Zen once; its text is this.s, rot13)
import torch
from torch import nn

style, out = sys.argv[1], Path(sys.argv[2])
out.mkdir(parents=True, exist_ok=True)
torch.manual_seed(1337)
text = codecs.decode(this.s, "rot13") * 3
chars = sorted(set(text))
data = torch.tensor([chars.index(c) for c in text])
split = int(0.9 * len(data))
train_data, val_data = data[:split], data[split:]
CONTEXT, BATCH, EMBED, HIDDEN = 3, 32, 16, 128
MAX_ITERS, EVAL_INTERVAL, EVAL_ITERS, LOG_INTERVAL, LR = 600, 50, 20, 10, 3e-3
model = nn.Sequential(nn.Embedding(len(chars), EMBED), nn.Flatten(), nn.Linear(CONTEXT * EMBED, HIDDEN), nn.Tanh(),
                      nn.Linear(HIDDEN, len(chars)))
opt = torch.optim.AdamW(model.parameters(), lr=LR)
truth = {"train": [], "val": [], "iter": []}


def get_batch(which):
    d = train_data if which == "train" else val_data
    ix = torch.randint(len(d) - CONTEXT, (BATCH,))
    return torch.stack([d[i:i + CONTEXT] for i in ix]), torch.stack([d[i + CONTEXT] for i in ix])


@torch.no_grad()
def estimate_loss():
    model.eval()
    out_ = {}
    for which in ("train", "val"):
        losses = torch.zeros(EVAL_ITERS)
        for k in range(EVAL_ITERS):
            xb, yb = get_batch(which)
            losses[k] = nn.functional.cross_entropy(model(xb), yb).item()
        out_[which] = losses.mean().item()
    model.train()
    return out_


def step():
    xb, yb = get_batch("train")
    loss = nn.functional.cross_entropy(model(xb), yb)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()
    return loss.item()


if style in ("lecture", "nanogpt", "mlx"):
    for it in range(MAX_ITERS):
        t0 = time.time()
        if it % EVAL_INTERVAL == 0 or it == MAX_ITERS - 1:
            losses = estimate_loss()
            if style == "mlx":
                print(f"Iter {it}: Val loss {losses['val']:.3f}, Val took {time.time() - t0:.3f}s")
                truth["val"].append([it, round(losses["val"], 3)])
            else:
                print(f"step {it}: train loss {losses['train']:.4f}, val loss {losses['val']:.4f}")
                truth["train"].append([it, round(losses["train"], 4)])
                truth["val"].append([it, round(losses["val"], 4)])
        lossf = step()
        dt = time.time() - t0
        if style == "nanogpt" and it % LOG_INTERVAL == 0:
            print(f"iter {it}: loss {lossf:.4f}, time {dt * 1000:.2f}ms, mfu {-100.0:.2f}%")
            truth["iter"].append([it, round(lossf, 4)])
        if style == "mlx" and (it + 1) % LOG_INTERVAL == 0:
            print(f"Iter {it + 1}: Train loss {lossf:.3f}, Learning Rate {LR:.3e}, It/sec {1 / max(dt, 1e-6):.3f}, "
                  f"Tokens/sec {BATCH * CONTEXT / max(dt, 1e-6):.3f}, Trained Tokens {(it + 1) * BATCH * CONTEXT}, "
                  f"Peak mem 0.012 GB")
            truth["train"].append([it + 1, round(lossf, 3)])
elif style in ("llmc", "llmc-cu", "llmc-mainlog"):
    main_log = open(out / "main.log", "w") if style == "llmc-mainlog" else None
    for it in range(201):
        t0 = time.time()
        if it % 50 == 0:
            vloss = estimate_loss()["val"]
            print(f"val loss {vloss:f}")
            truth["val"].append([it, round(vloss, 6)])
            if main_log:  # llmc/logger.h: logger_log_val
                main_log.write(f"s:{it} tel:{vloss:.4f}\n")
        if it == 200:
            break
        xb, yb = get_batch("train")
        loss = nn.functional.cross_entropy(model(xb), yb)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        norm = float(torch.nn.utils.clip_grad_norm_(model.parameters(), 1e9))
        opt.step()
        ms = (time.time() - t0) * 1000
        if main_log:  # llmc/logger.h: logger_log_train
            main_log.write(f"s:{it} trl:{loss.item():.4f} lr:{LR:.6f} norm:{norm:.2f}\n")
        if style in ("llmc", "llmc-mainlog"):
            print(f"step {it}: train loss {loss.item():f} (took {ms:f} ms)")
            truth["train"].append([it, round(loss.item(), 6)])
        else:
            print(f"step {it + 1:4d}/200 | loss {loss.item():7.6f} ({0.0:+.2f}z)| norm {norm:6.4f} ({0.0:+.2f}z)| "
                  f"lr {LR:.2e} | {ms:.2f} ms | {0.0:.1f}% bf16 MFU | {BATCH * CONTEXT / ms * 1000:.0f} tok/s")
            truth["train"].append([it + 1, round(loss.item(), 6)])
elif style == "raschka":
    global_step, EVAL_FREQ, EPOCHS, PER_EPOCH = -1, 20, 5, 120
    for epoch in range(EPOCHS):
        for _ in range(PER_EPOCH):
            step()
            global_step += 1
            if global_step % EVAL_FREQ == 0:
                losses = estimate_loss()
                print(f"Ep {epoch + 1} (Step {global_step:06d}): Train loss {losses['train']:.3f}, "
                      f"Val loss {losses['val']:.3f}")
                truth["train"].append([global_step, round(losses["train"], 3)])
                truth["val"].append([global_step, round(losses["val"], 3)])
        with torch.no_grad():
            idx = data[:CONTEXT].tolist()
            for _ in range(40):
                idx.append(int(model(torch.tensor([idx[-CONTEXT:]])).argmax()))
        print("".join(chars[i] for i in idx).replace("\n", " "))
(out / "truth.json").write_text(json.dumps(truth))
