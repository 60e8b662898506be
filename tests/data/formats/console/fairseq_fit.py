"""One real character-level language model trained with fairseq's own logging code printing its lines, the
way fairseq-train prints them, with the values it printed saved as the truth (truth.json, under a name no
reader claims).

    python fairseq_fit.py {simple,json} FAIRSEQ_LOGGING_PARENT OUT/ [SUBSETS] > OUT/train.log   (torch 2.13 CPU)

FAIRSEQ_LOGGING_PARENT holds `fairseq_logging/`, a copy of fairseq/logging/{progress_bar,meters,metrics}.py
from facebookresearch/fairseq at 3d262bb2 (with an empty __init__.py): its progress bars and meters format
every line; this script does what fairseq_cli/train.py does with them (logging.basicConfig with its
format; `metrics.aggregate("train")` around the epoch and `("train_inner")` around each update;
`progress.log(stats, tag="train_inner", step=num_updates)` every log_interval updates;
`progress.print(stats, tag="train", ...)` at the epoch's end; the validation under
`metrics.aggregate(new_root=True)` printed with prefix "valid on 'valid' subset", `num_updates` and
`best_loss` added as get_valid_stats adds them), and logs what fairseq's cross-entropy criterion and trainer
log: loss and nll_loss in base 2 (round 3), ppl derived, wps, ups, wpb, bsz, num_updates, lr, gnorm,
train_wall, wall. The folders: fairseq-simple/ (--log-format simple) and fairseq-json/ (--log-format json); fairseq-subsets/
(simple, SUBSETS `valid,valid2`: valid2 is the training text, so its loss lies below valid's) and
fairseq-subsets-json (the same, json).
"""
import codecs, json, logging, math, sys, time
from pathlib import Path

import this  # noqa: F401
import torch
from torch import nn

fmt, parent, out = sys.argv[1], sys.argv[2], Path(sys.argv[3])
SUBSETS = sys.argv[4].split(",") if len(sys.argv) > 4 else ["valid"]  # --valid-subset
sys.path.insert(0, parent)
from fairseq_logging import metrics, progress_bar  # noqa: E402

logging.basicConfig(format="%(asctime)s | %(levelname)s | %(name)s | %(message)s", datefmt="%Y-%m-%d %H:%M:%S",
                    level=logging.INFO, stream=sys.stdout)
logger = logging.getLogger("fairseq_cli.train")
out.mkdir(parents=True, exist_ok=True)
torch.manual_seed(1337)
text = codecs.decode(this.s, "rot13") * 3
chars = sorted(set(text))
data = torch.tensor([chars.index(c) for c in text])
split = int(0.9 * len(data))
CONTEXT, BATCH, EPOCHS, PER_EPOCH, LOG_INTERVAL, LR = 3, 32, 6, 80, 20, 3e-3
model = nn.Sequential(nn.Embedding(len(chars), 16), nn.Flatten(), nn.Linear(CONTEXT * 16, 128), nn.Tanh(),
                      nn.Linear(128, len(chars)))
opt = torch.optim.Adam(model.parameters(), lr=LR)
logger.info(f"num. model params: {sum(p.numel() for p in model.parameters())}")
truth = {"train_inner": [], "valid": []}
num_updates, best = 0, math.inf
metrics.reset()
metrics.log_start_time("wall", priority=790, round=0)


def batches(d, n, gen):
    for _ in range(n):
        ix = torch.randint(len(d) - CONTEXT, (BATCH,), generator=gen)
        yield torch.stack([d[i:i + CONTEXT] for i in ix]), torch.stack([d[i + CONTEXT] for i in ix])


def log_losses(loss_sum, n):
    metrics.log_scalar("loss", loss_sum / n / math.log(2), n, round=3)
    metrics.log_scalar("nll_loss", loss_sum / n / math.log(2), n, round=3)
    metrics.log_derived("ppl", lambda meters: round(2 ** meters["nll_loss"].avg, 2))


gen = torch.Generator().manual_seed(0)
for epoch in range(1, EPOCHS + 1):
    progress = progress_bar.progress_bar(list(batches(data[:split], PER_EPOCH, gen)), log_format=fmt,
                                         log_interval=LOG_INTERVAL, epoch=epoch, default_log_format="simple")
    with metrics.aggregate("train"):
        for i, (xb, yb) in enumerate(progress):
            with metrics.aggregate("train_inner"):
                t0 = time.time()
                metrics.log_start_time("train_wall", priority=800, round=0)
                loss = nn.functional.cross_entropy(model(xb), yb, reduction="sum")
                opt.zero_grad()
                loss.backward()
                gnorm = float(torch.nn.utils.clip_grad_norm_(model.parameters(), 1e9))
                opt.step()
                num_updates += 1
                log_losses(loss.item(), BATCH)
                metrics.log_speed("wps", BATCH, priority=90, round=1)
                metrics.log_speed("ups", 1.0, priority=100, round=2)
                metrics.log_scalar("wpb", BATCH, priority=180, round=1)
                metrics.log_scalar("bsz", BATCH, priority=190, round=1)
                metrics.log_scalar("num_updates", num_updates, weight=0, priority=200)
                metrics.log_scalar("lr", LR, weight=0, priority=300)
                metrics.log_scalar("gnorm", gnorm, priority=400, round=3)
                metrics.log_stop_time("train_wall")
            if num_updates % LOG_INTERVAL == 0:
                stats = metrics.get_smoothed_values("train_inner")
                stats["wall"] = round(metrics.get_meter("default", "wall").elapsed_time, 0)
                progress.log(stats, tag="train_inner", step=num_updates)
                truth["train_inner"].append([num_updates, stats["loss"]])
                metrics.reset_meters("train_inner")
    for k, subset in enumerate(SUBSETS):  # fairseq validates each --valid-subset in turn, tagged by its name
        vprogress = progress_bar.progress_bar(
            list(batches(data[split:] if k == 0 else data[:split], 20, torch.Generator().manual_seed(epoch))),
            log_format=fmt, log_interval=LOG_INTERVAL, epoch=epoch, prefix=f"valid on '{subset}' subset",
            default_log_format="simple")
        with metrics.aggregate(new_root=True) as agg, torch.no_grad():
            for xb, yb in vprogress:
                log_losses(nn.functional.cross_entropy(model(xb), yb, reduction="sum").item(), BATCH)
        stats = agg.get_smoothed_values()
        stats["num_updates"] = num_updates
        if k == 0:  # the first subset's loss is the checkpoint metric: best_loss
            best = min(best, stats["loss"])
            stats["best_loss"] = best
        vprogress.print(stats, tag=subset, step=num_updates)
        truth.setdefault(subset, []).append([num_updates, stats["loss"]])
    stats = metrics.get_smoothed_values("train")
    stats["wall"] = round(metrics.get_meter("default", "wall").elapsed_time, 0)
    progress.print(stats, tag="train", step=num_updates)
    metrics.reset_meters("train")
logger.info("done training")
(out / "truth.json").write_text(json.dumps(truth))
