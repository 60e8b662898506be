"""Roles: which tag of a run is its training loss, its validation loss, its learning rate, ...

Writers name the same quantity a dozen ways (`loss`, `train/loss`, `Loss/train`, Keras'
`train/epoch_loss`, Lightning's `train_loss_step`, HF's `eval/loss`, YOLO's `val/box_loss`, an
`add_scalars` child `loss/validation`, ...). Rather than a list of exact names that breaks on the
next writer, a tag is split into lowercase tokens and classified by *what* it measures (loss,
accuracy, learning rate, gradient norm, reward) and *on which split* (train, validation). When
several tags compete for one role, the most specific name wins, then the longest series.

This module also picks each curve's x-axis (step; wall time when every step is the same; log
order when steps run backwards) and normalises the hyperparameters rules care about.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

import numpy as np

from advisor import units
from advisor.model import Curve, Curves, Run, Series, UnloggedTail

ROLES = (
    "train_loss", "val_loss", "train_acc", "val_acc", "val_metric", "lr", "grad_norm",
    "reward", "epoch", "entropy", "kl", "reward_zero_std",
)

VAL_TOKENS = {"val", "valid", "validation", "eval", "evaluation", "test", "dev", "vali", "testing",
              "holdout", "heldout", "va", "tst"}
TRAIN_TOKENS = {"train", "training", "trn", "trainer", "tr"}
LOSS_TOKENS = {"loss", "losses", "nll", "xent", "cost", "objective", "ce", "mse", "bce", "nll_loss",
               "rmse", "mae", "rmsle", "logloss", "perplexity", "ppl"}
# A run that logs its objective only as a perplexity (exp of the cross-entropy) or an RMSE (the
# square root of the MSE): the curve is read as the loss itself (ln, square), so a 1.5x rise, a 10%
# bounce or the loss of guessing (ln C) mean what they mean on any other log
LOSS_SCALES = {"perplexity": "ln", "ppl": "ln", "rmse": "square", "rmsle": "square"}
PERPLEXITY_OVERFLOW = float(np.log(np.finfo(np.float32).max))  # 88.72: exp() of a larger loss is inf in float32
# `train/cross_entropy`, `val_crossentropy`, Keras' `sparse_categorical_crossentropy`: a loss, not
# the policy entropy an RL library logs
_CROSS_ENTROPY_RE = re.compile(r"cross[\s_\-]*entropy")
# a top-1 error rate (fastai's `error_rate`, `top1_err`): the accuracy's complement, read as the
# accuracy (1 - it, or 100 - it in percent) so chance levels and relapses mean the same
ERROR_RATE_TOKENS = {"error_rate", "err_rate", "errorrate", "top1_err", "top1_error", "top1err", "err1", "error1"}
# the same names inside a longer tag (`val_error_rate`, `test_top1_err`), where the split breaks them up
_ERROR_RATE_RE = re.compile(
    r"(?:^|[/\\.:\s_\-])(?:" + "|".join(sorted(ERROR_RATE_TOKENS, key=len, reverse=True)) + ")$")
# `ls` is a loss only beside a split word in one name (`tr_ls`, `val_ls`, `tr_ls_box_reg`: a public Faster R-CNN
# project's MLflow runs); alone or beside anything else it is as often label smoothing (`ls`, `ls_eps`)
LOSS_ABBREVIATION = "ls"
ACC_TOKENS = {"acc", "accuracy", "top1", "top1acc", "acc1", "acc@1", "top-1", "categorical_accuracy",
              "sparse_categorical_accuracy", "binary_accuracy"}
LR_TOKENS = {"lr", "learning_rate", "learningrate", "lr0", "lr1", "lr2", "pg0", "pg1", "pg2"}
GRAD_TOKENS = {"grad_norm", "gradnorm", "gradient_norm", "grad", "gradients", "global_norm",
               "gnorm"}  # fairseq's `gnorm`
REWARD_TOKENS = {"ep_rew_mean", "reward", "episodic_reward", "return", "episode_reward", "cumulative_avg_reward"}
# Tags that look like a role but are summaries, timings or bookkeeping.
NOISE_TOKENS = {
    "runtime", "samples_per_second", "steps_per_second", "total_flos", "flos", "hp_metric",
    "time", "duration", "memory", "mem", "throughput", "tokens", "num_input_tokens_seen",
    "min", "max", "std", "var", "ema", "smoothed", "gen_len", "explained_variance",
    # torch/tensorboardX `add_hparams` summary metrics (advisor.ingest.tensorboard keeps them as
    # `hparams/<tag>`): one value per run, never a curve, even when named `hparam/loss`
    "hparam", "hparams",
    # mixed precision's dynamic loss scale (fairseq, MAE/BEiT/DeiT `loss_scale: 65536.0000`): the
    # GradScaler's multiplier, not a loss
    "scale", "scaler",
}
# `Gradients/norm`, `grad/norm`: a gradient word and a norm word in separate tokens
GRAD_WORDS = {"grad", "grads", "gradient", "gradients"}
NORM_WORDS = {"norm", "l2", "l2norm", "total_norm"}
VAL_METRIC_PATTERNS = (  # in order of preference when several are logged
    re.compile(r"map(50|_0\.5|_0\.5:0\.95|50-95)?"), re.compile(r"f1"), re.compile(r"au(c|roc)"),
    re.compile(r"rouge"), re.compile(r"bleu"), re.compile(r"precision"), re.compile(r"recall"),
    re.compile(r"top5"), re.compile(r"[wc]er$"), re.compile(r"m?iou"),
)
# image restoration's and quality assessment's validation scores (BasicSR's `# psnr: 27.1`, pyiqa's `# srcc: 0.92`),
# higher is better: a val_metric only on the validation split (`train_metrics/srcc` is the training batch's)
# (its specificity: PSNR before SSIM, SRCC, pyiqa's key metric, before PLCC), below every VAL_METRIC_PATTERNS one
VAL_SCORE_PATTERNS = ((re.compile(r"psnr(_y)?$"), 1), (re.compile(r"srcc$"), 1), (re.compile(r"ssim(_y)?$"), 0),
                      (re.compile(r"plcc$"), 0))
# BasicSR's losses are its `l_` terms (`l_pix`, `l_percep`, `l_g_gan`), `l_total` their sum (advisor.ingest.console);
# a GAN discriminator's `l_d_real`, `l_d_fake` are another network's objective, no training loss
_BASICSR_TERM = re.compile(r"^l_(?!d_)\w{1,80}$")
_BASICSR_TOTALS = {"l_total", "l_g_total"}

# tags only reinforcement-learning libraries log (SB3, RLlib, CleanRL)
RL_TAGS = {"ep_rew_mean", "ep_len_mean", "approx_kl", "clip_fraction", "policy_gradient_loss", "value_loss",
           "entropy_loss", "episode_reward_mean", "episodic_return", "episode_len_mean", "vf_loss", "policy_loss"}

_SPLIT_RE = re.compile(r"[/\\.:\s]+")


# `learning_rate`, `learning-rate`, `Learning Rate`, `learningrate`
_LEARNING_RATE_RE = re.compile(r"learning[\s_\-]*rate")
_CAMEL_RE = re.compile(r"([a-z]{2,})(?=[A-Z][a-z])")  # `valLoss`, `LearningRate`; not `mAP50`


def snake_name(name: str) -> str:
    """A key or column name spelled as the alias lists are: camelCase words, spaces and hyphens joined by
    `_`, lower case. A Java/JavaScript logger's `globalStep`, a spreadsheet's `Global Step` and `global-step`
    are `global_step`; W&B configs' `optimizerName`, `weightDecay` and `numEpochs` are `optimizer_name`,
    `weight_decay` and `num_epochs` (`mAP50` stays one word, as in `tokens`)."""
    return re.sub(r"[\s\-]+", "_", _CAMEL_RE.sub(r"\1_", name.strip())).lower()


def tokens(tag: str) -> list[str]:
    """Lowercase tokens of a tag, splitting on separators; `_` and `-` split only around keywords.
    camelCase words are separated first (`valLoss` -> `val_loss`), so their split is seen."""
    parts = [p for p in _SPLIT_RE.split(re.sub(r"[()\[\]]", "", _CAMEL_RE.sub(r"\1_", tag).lower())) if p]
    out: list[str] = []
    for p in parts:
        out.append(p)
        sub = [s for s in re.split(r"[_\-]+", p) if s]
        if len(sub) > 1:
            out.extend(sub)
    return out


def _abbreviated_loss(tag: str) -> int:
    """3 when the tag's last name is a split word and `ls` alone (`tr_ls`, `val_ls`, `ls_train`, `epoch_tr_ls`):
    a whole loss, ranked as `train_loss`; 1 when `ls` follows a split word inside a longer name
    (`tr_ls_box_reg`: a component); else 0 (no loss)."""
    names = [p for p in _SPLIT_RE.split(tag.lower()) if p]
    words = [w for w in re.split(r"[_\-]+", names[-1]) if w] if names else []
    splits = TRAIN_TOKENS | VAL_TOKENS
    for i, word in enumerate(words):
        beside = words[i - 1] if i > 0 else (words[1] if len(words) > 1 else "")
        if word == LOSS_ABBREVIATION and beside in splits:
            return 3 if len([w for w in re.split(r"[_\-]+", _cadence_stripped(names[-1])) if w]) == 2 else 1
    return 0


def is_error_rate(tag: str) -> bool:
    """A top-1 error rate, alone (`error_rate`) or inside a longer tag (`val_error_rate`)."""
    return bool(set(tokens(tag)) & ERROR_RATE_TOKENS or _ERROR_RATE_RE.search(tag.lower()))


@dataclass
class Classified:
    kind: str | None  # "loss" | "acc" | "lr" | "grad_norm" | "reward" | "epoch" | "metric" | None
    split: str | None  # "train" | "val" | None
    specificity: int  # higher = a more canonical name for its role


def classify(tag: str) -> Classified:
    """What a tag measures and on which split, from its tokens alone."""
    toks = tokens(tag)
    tset = set(toks)
    lower = tag.lower()
    split = None
    if tset & VAL_TOKENS or lower.startswith(("val_", "valid_", "eval_", "test_")):
        split = "val"
    elif tset & TRAIN_TOKENS:
        split = "train"
    if lower.endswith("frac_reward_zero_std"):
        # TRL's GRPO: the share of prompts whose completions all scored alike (no advantage, no gradient)
        return Classified("reward_zero_std", split, 1)
    if tset & NOISE_TOKENS and not (tset & {"loss"} and not tset & {"runtime", "samples_per_second", "hp_metric",
                                                                     "hparam", "hparams", "scale", "scaler"}):
        if not tset & (LR_TOKENS | GRAD_TOKENS):
            return Classified(None, split, 0)
    if ("grad_norm" in lower or "gradnorm" in lower or "gradient_norm" in lower or "global_norm" in lower
            or "gnorm" in tset or (tset & GRAD_WORDS and tset & NORM_WORDS)):
        return Classified("grad_norm", split, 2)
    if tset & {"momentum", "beta1"} or "weight_decay" in lower:
        # Lightning's LearningRateMonitor(log_momentum=True, log_weight_decay=True) writes
        # `lr-SGD-momentum`, `lr-Adam-weight_decay` beside `lr-SGD`: optimizer settings, not the LR
        return Classified(None, split, 0)
    if tset & LR_TOKENS or _LEARNING_RATE_RE.search(lower) or lower.startswith(("lr-", "lr_")):
        return Classified("lr", split, 2 if tset & {"lr", "learning_rate"} else 1)
    if tset & REWARD_TOKENS or "ep_rew" in lower:
        return Classified("reward", split, 2 if "ep_rew_mean" in lower else 1)
    # policy-gradient bookkeeping (SB3 `train/entropy_loss`, `train/approx_kl`, RLlib `entropy`,
    # `kl`): never a training loss to judge as one
    cross_entropy = bool(_CROSS_ENTROPY_RE.search(lower))
    if tset & {"entropy", "entropy_loss"} and not cross_entropy:
        return Classified("entropy", split, 2 if "entropy_loss" in lower else 1)
    if tset & {"approx_kl", "kl_divergence"} or (tset & {"kl"} and tset & {"policy", "info", "learner", "train"}):
        return Classified("kl", split, 2 if "approx_kl" in lower else 1)
    if toks and toks[-1] in {"epoch", "epochs"} and len(set(toks) - TRAIN_TOKENS - {"epoch", "epochs"}) == 0:
        return Classified("epoch", split, 1)
    if (tset & LOSS_TOKENS or lower.endswith("loss") or "_loss" in lower or "loss_" in lower
            or cross_entropy):
        return Classified("loss", split, _loss_specificity(lower))
    abbreviated = _abbreviated_loss(tag)
    if abbreviated:
        return Classified("loss", split, abbreviated)
    if is_error_rate(tag):
        return Classified("acc", split, 1)
    if tset & ACC_TOKENS or lower.endswith("acc") or "accuracy" in lower:
        return Classified("acc", split, 2)
    if split == "val" or tset & {"metrics"}:
        for rank, pat in enumerate(VAL_METRIC_PATTERNS):
            if any(pat.match(t) for t in toks):
                return Classified("metric", "val", 1 + len(VAL_METRIC_PATTERNS) - rank)
    if split == "val":
        for pat, specificity in VAL_SCORE_PATTERNS:
            if any(pat.match(t) for t in toks):
                return Classified("metric", "val", specificity)
    return Classified(None, split, 0)


def _writer_classified(tag: str, run: Run) -> Classified:
    """`classify`, with what a writer's own naming convention says: BasicSR's `l_` terms are its losses, the
    total (`l_total`, `l_g_total`) ranked as a whole loss, a term as a component."""
    c = classify(tag)
    if run.writer == "basicsr" and c.kind is None and _BASICSR_TERM.match(tag):
        return Classified("loss", "train", 3 if tag in _BASICSR_TOTALS else 1)
    return c


CANONICAL_LOSS = {
    "loss", "train_loss", "val_loss", "valid_loss", "eval_loss", "test_loss", "training_loss",
    "validation_loss", "batch_loss", "total_loss", "loss_train", "loss_val", "loss_valid", "loss_validation",
    "loss_test", "loss_eval",
}


def _cadence_stripped(name: str) -> str:
    """A name without Keras' `epoch_`/`batch_` prefix and Lightning's `_step`/`_epoch` suffix."""
    return re.sub(r"_(step|epoch)$", "", re.sub(r"^(epoch|batch)_", "", name))


def _loss_specificity(lower: str) -> int:
    """3 for a whole loss ("loss", "val_loss", "train_loss_step"), 1 for a component ("box_loss")."""
    last = _cadence_stripped([p for p in _SPLIT_RE.split(lower) if p][-1])
    last = re.sub(r"(?:^|(?<=_))tst(?=_|$)", "test", last)  # `tst_loss` ranks as `test_loss`
    if last in CANONICAL_LOSS or last in {"train", "training", "val", "valid", "validation", "eval", "test"}:
        return 3
    return 1


def assign_roles(run: Run, overrides: dict[str, str] | None = None) -> dict[str, str]:
    """role -> tag for one run. `overrides` (from config) win over the name-based guess."""
    overrides = overrides or {}
    candidates: dict[str, list[tuple[int, int, str]]] = {}
    single: dict[str, list[tuple[int, int, str]]] = {}  # one finite point: a run that died at its first log line
    for tag, series in run.series.items():
        n_finite = len(series)
        c = _writer_classified(tag, run)
        role = _role_of(c, tag, run)
        if role is None:
            continue
        if len(series) < 2 and np.all(np.isfinite(series.value)):
            # one finite point says nothing about a curve; one NaN/inf point says the run died
            single.setdefault(role, []).append((c.specificity, n_finite, tag))
            continue
        candidates.setdefault(role, []).append((c.specificity, n_finite, tag))
    roles: dict[str, str] = {}
    for role, cands in candidates.items():
        cands.sort(key=lambda t: (-t[0], -t[1], len(t[2]), t[2]))
        roles[role] = cands[0][2]
    _same_cadence_train_loss(roles, candidates)
    _no_zero_loss(roles, candidates, run)
    _weights_lr(roles, candidates, run)
    _val_epoch_aggregates(roles, candidates)
    _matching_losses(roles, candidates)
    _died_at_first_log(roles, single)
    _rl_bare_kl(roles, run)
    for role, tag in overrides.items():
        if tag in run.series:
            roles[role] = tag
    # A lone "loss" that is really the only loss is the training loss.
    return roles


# the roles a log that holds one value per tag is read from: what its loss was and what the net
# scored, the two facts DIV005 (a classifier's loss orders of magnitude above any cross-entropy) needs
SINGLE_POINT_ROLES = ("train_loss", "val_loss", "train_acc", "val_acc")


def _rl_bare_kl(roles: dict[str, str], run: Run) -> None:
    """TRL's GRPO/PPO trainers log the policy's KL to its reference as a bare `kl`; a bare `kl` is no role
    elsewhere (a VAE's KL term is a loss component), so it becomes the KL only beside a reward."""
    if "reward" not in roles or "kl" in roles:
        return
    bare = [t for t in run.series if t.rsplit("/", 1)[-1].lower() == "kl" and len(run.series[t]) >= 2]
    if bare:
        roles["kl"] = min(bare, key=len)


def _died_at_first_log(roles: dict[str, str], single: dict[str, list[tuple[int, int, str]]]) -> None:
    """A run that logged one value and stopped (a NaN guard, TerminateOnNaN, a crash after the
    first epoch) has no curve, but its one loss can still be read: 3.8e10 on a classifier is a
    blow-up at any LR (gen2: SGD 2.0 with Nesterov momentum on cancer, one epoch logged, loss 3.8e10,
    accuracy 57.5%). Only when no loss of two or more points exists, so that a one-off value
    beside real curves (a final `test/loss`, a summary metric) never takes a role."""
    if "train_loss" in roles or "val_loss" in roles or not any(r in single for r in ("train_loss", "val_loss")):
        return
    for role in SINGLE_POINT_ROLES:
        if role in single and role not in roles:
            cands = sorted(single[role], key=lambda t: (-t[0], len(t[2]), t[2]))
            roles[role] = cands[0][2]


def _cadence(tag: str) -> str:
    return tag.rsplit("/", 1)[-1].lower().split("_", 1)[0]


def _same_cadence_train_loss(roles: dict[str, str], candidates: dict[str, list[tuple[int, int, str]]]) -> None:
    """Keras' TensorBoard callback with `update_freq=<int>` logs `train/batch_loss` on the
    optimizer-iteration axis beside `train/epoch_loss` and `validation/epoch_loss` on the epoch
    axis: the longer batch series won the train role, and train and val were then compared on x
    axes of different units (iteration 399 vs epoch 19). Take the epoch-level train loss, as
    the same run's Keras CSV or a Keras log without batch logging gives it."""
    val, train = roles.get("val_loss"), roles.get("train_loss")
    if not val or not train or _cadence(val) != "epoch" or _cadence(train) != "batch":
        return
    best = candidates["train_loss"][0][0]
    same = [t for spec, _, t in candidates["train_loss"] if spec == best and _cadence(t) == "epoch"]
    if same:
        roles["train_loss"] = same[0]


def _no_zero_loss(roles: dict[str, str], candidates: dict[str, list[tuple[int, int, str]]], run: Run) -> None:
    """A loss that is exactly 0 at every point measures nothing (a public Ultralytics run whose labels held no box
    logged `train/box_loss` and `train/dfl_loss` as 0 for all 50 epochs, and was diagnosed 'not learning' from
    it while `train/cls_loss` fell 113 -> 0.3): the next candidate of its role that moves takes the role."""
    for role in ("train_loss", "val_loss"):
        if role in roles and _all_zero(run.series[roles[role]]):
            moving = [t for _, _, t in candidates[role] if _moves(run.series[t])]
            if moving:
                roles[role] = moving[0]


def _all_zero(series: Series) -> bool:
    return bool(len(series.value)) and bool(np.all(series.value == 0))


def _moves(series: Series) -> bool:
    finite = series.value[np.isfinite(series.value)]
    return len(finite) > 1 and bool(np.ptp(finite) > 0)


# YOLOv5 (`x/lr0..2`) and Ultralytics (`lr/pg0..2`) log one LR per optimizer parameter group, and one of them holds
# the biases, warmed up from warmup_bias_lr (0.1 falling to the LR while the weights' groups rise from 0): group 0 in
# Ultralytics and current YOLOv5, group 2 in YOLOv5 before 6.1 (group 1 is the decayed weights in both)
_PARAM_GROUP_LR = re.compile(r"^(.*\b(?:lr|pg))([0-2])$")


def _weights_lr(roles: dict[str, str], candidates: dict[str, list[tuple[int, int, str]]], run: Run) -> None:
    """A public YOLOv5 run's LR was read from `x/lr0`, the bias group's warmup (0.0802 falling to 0.006) while the
    weights' `x/lr1` rose from 0.0022 and hyp.yaml said lr0 0.01: the LR is a weights' group, the one that starts
    lowest (a bias warmup starts above it; a group logged as 0 throughout, as a modified fork's x/lr0, is none),
    group 1 on a tie."""
    tag = roles.get("lr")
    m = _PARAM_GROUP_LR.match(tag) if tag else None
    if not m:
        return
    groups = [t for _, _, t in candidates["lr"] if t in {m.group(1) + d for d in "012"}]
    starts = {t: float(run.series[t].value[0]) for t in groups
              if np.isfinite(run.series[t].value[0]) and np.any(run.series[t].value > 0)}
    if starts:
        roles["lr"] = min(starts, key=lambda t: (starts[t], t[-1] != "1", t))


VAL_ROLES = ("val_loss", "val_acc", "val_metric")


def _val_epoch_aggregates(roles: dict[str, str], candidates: dict[str, list[tuple[int, int, str]]]) -> None:
    """Lightning logs a validation value with `on_step=True` as `<name>_step` at the validation batch
    counter (0, 1, 2, ... across every validation loop, no epoch: one batch's loss, on no training
    step), beside `<name>_epoch`, the loop's mean at the training step it ran: the longer `_step`
    series won the role, and the val curve was read at steps 0-317 of a run that trained to 2,861 (a
    public Lightning project). Take the `_epoch` twin where both are logged."""
    for role in VAL_ROLES:
        tag = roles.get(role)
        if not tag or not tag.endswith("_step"):
            continue
        twin = tag[: -len("_step")] + "_epoch"
        if any(t == twin for _, _, t in candidates.get(role, [])):
            roles[role] = twin


def _matching_losses(roles: dict[str, str], candidates: dict[str, list[tuple[int, int, str]]]) -> None:
    """A regression loop logging `train_mse`, `val_mse` and `val_mae` has two val losses of the same
    rank, and the tie went to the alphabetically first: `val_mae` was compared with `train_mse`,
    two different measures, so the train/val gap and overfitting read nothing. Among the
    best-ranked candidates of each split, take a train and a val loss that measure the same thing
    (`loss_stem`) when such a pair exists."""
    train, val = candidates.get("train_loss"), candidates.get("val_loss")
    if not train or not val or loss_stem(roles["train_loss"]) == loss_stem(roles["val_loss"]):
        return
    top_train = [t for spec, _, t in train if spec == train[0][0]]
    top_val = [t for spec, _, t in val if spec == val[0][0]]
    if roles["train_loss"] in top_train:  # a cadence choice above keeps its pick first
        top_train.insert(0, top_train.pop(top_train.index(roles["train_loss"])))
    for t in top_train:
        same = [v for v in top_val if loss_stem(v) == loss_stem(t)]
        if same:
            roles["train_loss"], roles["val_loss"] = t, same[0]
            return


def _role_of(c: Classified, tag: str, run: Run) -> str | None:
    if c.kind == "loss":
        if c.split == "val":
            return "val_loss"
        if c.split == "train" or c.split is None:
            return "train_loss"
    if c.kind == "acc":
        # fastai computes its metrics (`accuracy`, `error_rate`) on the validation set and names
        # no split; a training metric is `train_accuracy` there
        if c.split == "val" or (c.split is None and run.writer == "fastai"):
            return "val_acc"
        return "train_acc"
    if c.kind == "metric":
        return "val_metric"
    if c.kind in {"lr", "grad_norm", "reward", "epoch", "entropy", "kl", "reward_zero_std"}:
        return c.kind
    return None


def curve_of(series: Series, role: str) -> Curve:
    """A series on its x-axis: duplicates resolved, sorted, NaN/inf kept as values."""
    step = series.step.astype(np.float64)
    y = series.value.astype(np.float64)
    x_kind = "step"
    n = len(step)
    logged = None
    if n > 1 and np.all(step == step[0]):
        wt = series.wall_time
        if np.all(np.isfinite(wt)) and np.ptp(wt) > 0:
            step, x_kind = wt - wt[0], "wall_time"
        else:
            step, x_kind = np.arange(n, dtype=np.float64), "index"
    elif n > 1 and np.any(np.diff(step) < 0):
        # Steps that run backwards (per-epoch counters, unmerged restarts): log order is the truth.
        step, x_kind = np.arange(n, dtype=np.float64), "index"
    if n > 1:
        uniq, counts = np.unique(step, return_counts=True)
        if len(uniq) < n:
            dup_share = 1.0 - len(uniq) / n
            if dup_share > 0.3:
                # Several points per step on purpose (e.g. a batch loss logged 3x per epoch): spread
                # them evenly inside the step so no point is lost.
                order = np.argsort(step, kind="stable")
                step, y = step[order], y[order]
                _, first_idx, cnt = np.unique(step, return_index=True, return_counts=True)
                within = np.arange(n) - np.repeat(first_idx, cnt)
                gaps = np.diff(uniq)
                last_gap = float(np.median(gaps)) if len(gaps) else 1.0
                gap = np.append(gaps, last_gap)
                logged = step
                step = step + within / np.repeat(cnt, cnt) * np.repeat(gap, cnt)
            else:
                # Occasional re-logs (a final re-validation at the last step): the later value wins.
                rev = np.unique(step[::-1], return_index=True)[1]
                keep = np.sort(n - 1 - rev)
                step, y = step[keep], y[keep]
    order = np.argsort(step, kind="stable")
    return Curve(role=role, tag=series.tag, x=step[order], y=y[order], x_kind=x_kind,
                 logged_x=None if logged is None else logged[order])


# `optimizer_*` / `opt_*`: what mlflow's Keras and TensorFlow autolog callbacks log (each key of
# the optimizer's get_config() behind a prefix: optimizer_learning_rate, opt_momentum, ...)
HPARAM_ALIASES: dict[str, tuple[str, ...]] = {
    "lr": ("lr", "learning_rate", "lr0", "base_lr", "initial_lr", "learning-rate", "learningrate", "init_lr", "max_lr",
           "optimizer_learning_rate", "opt_learning_rate", "optimizer_lr", "opt_lr",
           # a schedule's peak (`peak_lr`), Keras' schedules (`initial_learning_rate`), scikit-learn's MLP
           "peak_lr", "base_learning_rate", "initial_learning_rate", "learning_rate_init"),
    "batch_size": ("batch_size", "train_batch_size", "global_batch_size", "total_train_batch_size",
                   "effective_batch_size", "per_device_train_batch_size", "batch", "bs", "batchsize", "batch-size"),
    "optimizer": ("optimizer", "optim", "opt", "optimizer_name", "opt_name", "optimizer_class", "optimizer_type",
                  "optimizer_cls"),
    "momentum": ("momentum", "optimizer_momentum", "opt_momentum"),
    "weight_decay": ("weight_decay", "wd", "l2", "weight-decay", "optimizer_weight_decay", "opt_weight_decay"),
    "dropout": ("dropout", "dropout_rate", "drop_rate", "p_dropout"),
    "epochs": ("epochs", "num_train_epochs", "max_epochs", "n_epochs", "num_epochs"),
    "max_steps": ("max_steps", "total_steps", "num_steps", "steps"),
    "warmup_steps": ("warmup_steps", "warmup_iters", "num_warmup_steps"),
    "warmup_ratio": ("warmup_ratio",),
    "num_classes": ("num_classes", "n_classes", "nc", "num_labels", "classes"),
    "batchnorm": ("batchnorm", "batch_norm", "bn", "use_bn"),
    "grad_clip": ("grad_clip", "max_grad_norm", "clip_grad_norm", "gradient_clip_val", "clip"),
    # the architecture facts the deep-saturating-net rule needs (advisor.engine.priors)
    "activation": ("activation", "act", "activation_fn", "nonlinearity", "hidden_act", "hidden_activation"),
    "depth": ("depth", "num_layers", "n_layers", "num_hidden_layers", "hidden_layers"),
    "init": ("init", "weight_init", "initializer", "kernel_initializer", "init_method"),
    "init_scale": ("init_scale", "init_std"),
}


POSITIVE_COUNTS = {"batch_size", "epochs", "max_steps", "num_classes", "depth"}
# An optimizer given as an object in a config, flattened to `optimizer.class_path: torch.optim.AdamW`
# (LightningCLI), `optimizer._target_` (Hydra), `optimizer.class_name: Adam` (Keras' get_config), or
# `optimizer.name` / `optimizer.type`: the class names the optimizer, its `lr` leaf the LR
CLASS_KEYS = {"class_path", "_target_", "class_name", "name", "type", "cls"}


def normalise_hparams(raw: dict[str, Any]) -> dict[str, Any]:
    """The hyperparameters rules use, under one name each, from whatever the log recorded."""
    flat = {str(k).lower(): v for k, v in raw.items()}
    # (and each key as the aliases spell it: `optimizerName`, `weightDecay`, `Batch Size`)
    for k, v in raw.items():
        flat.setdefault(snake_name(str(k)), v)
    by_leaf: dict[str, Any] = {}
    for key, value in flat.items():
        parts = re.split(r"[./]", key)
        by_leaf.setdefault(parts[-1], value)
        by_leaf.setdefault(key, value)
        if len(parts) >= 2 and parts[-1] in CLASS_KEYS and parts[-2] in HPARAM_ALIASES["optimizer"]:
            by_leaf.setdefault("optimizer", value)
    out: dict[str, Any] = {}
    for name, aliases in HPARAM_ALIASES.items():
        for alias in aliases:
            if alias in by_leaf:
                value = _coerce(by_leaf[alias])
                if value is None:
                    continue
                if name in {"lr", "batch_size", "momentum", "weight_decay", "dropout", "epochs", "max_steps",
                            "warmup_steps", "warmup_ratio", "num_classes", "grad_clip", "depth", "init_scale"}:
                    if not isinstance(value, (int, float)) or isinstance(value, bool) or not _finite(value):
                        continue
                    if name in POSITIVE_COUNTS and value <= 0:
                        continue  # HF's max_steps=-1 ("train by epochs"), a TrainerState's epochs 0
                if name == "optimizer" and isinstance(value, str):
                    # Keras names optimizer instances uniquely per process: `adam`, `adam_1`, `sgd_2`
                    value = re.sub(r"_\d+$", "", value)
                out[name] = value
                break
    if str(out.get("optimizer", "")).lower() == "auto":
        # Ultralytics' `optimizer: auto` picks the optimizer and its LR at run time (AdamW at 0.002 * 5 / (4 + nc)
        # for a short training), ignoring `lr0`: neither is what ran; the logged LR says what did
        out.pop("optimizer")
        out.pop("lr", None)
    return out


def _finite(value: int | float) -> bool:
    """A finite number that fits a float: a 400-digit int from a corrupted config is not one (and
    math.isfinite would raise OverflowError on it, failing the whole diagnosis)."""
    try:
        return math.isfinite(value)
    except OverflowError:
        return False


def _coerce(value: Any) -> Any:
    if isinstance(value, str):
        text = value.strip()
        try:
            return int(text)
        except ValueError:
            pass
        try:
            return float(text)
        except ValueError:
            return text
    return value


LOWER_IS_BETTER = {"wer", "cer", "fid", "error", "err", "perplexity", "ppl", "mae", "mse", "rmse", "loss", "distance", "kid", "lpips"}
SPLIT_WORDS = VAL_TOKENS | TRAIN_TOKENS | {"epoch", "step", "batch"}


def _steps_per_epoch(epoch: np.ndarray, step: np.ndarray, slope: float) -> float:
    """Steps per epoch from a logged epoch series. A whole-number epoch (Lightning's `epoch`
    column, W&B's `epoch` key) is the floor of step / steps-per-epoch: a line fitted through
    that staircase is biased low (56.8 for 57), which misplaces every epoch boundary by a growing
    fraction of an epoch. There the first logged step of each new epoch marks its boundary
    (exactly when every step is logged, within one logging interval otherwise): steps per epoch
    is the span from the first such boundary to the last over the epochs between them. A
    fractional epoch (HF's `epoch` = step / steps-per-epoch) is fitted as it is."""
    if not np.all(epoch == np.round(epoch)):
        return slope
    changes = np.nonzero(np.diff(epoch) > 0)[0] + 1  # the first logged step of each new epoch
    if len(changes) < 2:
        return slope
    first, last = changes[0], changes[-1]
    span = (step[last] - step[first]) / (epoch[last] - epoch[first])
    return float(span) if span > 1 else slope


def higher_is_better(tag: str) -> bool:
    """Direction of a metric from its name: error rates, distances and losses go down."""
    return not (set(tokens(tag)) & LOWER_IS_BETTER)


# how a loss was averaged says nothing about what it measures: Ignite's `Avg loss` beside its per-iteration
# `Loss`, a loop's `running_loss` beside its `val_loss`
AVERAGE_WORDS = {"avg", "average", "mean", "running"}


def loss_stem(tag: str) -> str:
    """What a loss measures, without its split, cadence and averaging words: 'val/rmse_loss' -> 'rmse_loss',
    'val_Avg loss' -> 'loss'."""
    words = [t for t in re.split(r"[/\\.:\s_\-]+", tag.lower())
             if t and t not in SPLIT_WORDS and t not in AVERAGE_WORDS]
    return "_".join(words) or "loss"


# what a cross-entropy is called when its name says nothing else (`loss`, `nll`, `train/ce`)
_CROSS_ENTROPY_STEMS = {"loss", "nll", "nll_loss", "ce", "xent", "cross_entropy", "crossentropy"}


def _objective(curve: Curve) -> str:
    """What a loss curve measures, for telling whether train and val losses can be compared: its
    stem (`loss_stem`), with a perplexity read back through ln (Curve.scale) counted as the
    cross-entropy it is, so a run logging `train/loss` and `val/perplexity` compares them."""
    stem = loss_stem(curve.tag)
    return "cross_entropy" if curve.scale == "ln" or stem in _CROSS_ENTROPY_STEMS else stem


EPOCH_LOG_MIN_POINTS = 5


def _train_logged_with_val(curves: Curves) -> Curve | None:
    """The training loss when it was logged only where the validation loss was (the same x, at
    least EPOCH_LOG_MIN_POINTS of them): once per evaluation, not once per step; else None."""
    train, val = curves.get("train_loss"), curves.get("val_loss")
    if train is None or val is None or len(train) < EPOCH_LOG_MIN_POINTS or len(train) != len(val):
        return None
    return train if np.array_equal(train.x, val.x) else None


def _logged_once_per_epoch(curves: Curves) -> bool:
    """True when the step a run logged at is the epoch's number: the training loss was written only
    where the validation loss was, at steps 0, 1, 2, ... (or 1, 2, 3, ...).

    Why: the PyTorch tutorial's loop, `writer.add_scalar("Loss/train", epoch_loss, epoch)`, and any
    hand-written loop that logs per epoch look in TensorBoard, MLflow or W&B like a per-step log of a
    very short run; read as minibatch losses, an epoch average that bounces 5% was within the noise
    (a Keras CSV of the same run read "oscillating"). A per-step log has many training points per
    evaluation, and numbers its steps in hundreds or thousands."""
    train = _train_logged_with_val(curves)
    if train is None or train.logged_x is not None or curves.get("val_loss").logged_x is not None:
        return False
    return train.x[0] in (0.0, 1.0) and bool(np.all(np.diff(train.x) == 1.0))


def _averaged_per_evaluation(curves: Curves, run: Run) -> bool:
    """True when the training loss is logged once per evaluation, beside the val loss, as the mean
    over the steps since the last one: Lightning's `train_loss_epoch` (on_epoch=True) or Keras'
    `epoch_loss`, and HF Trainer's `loss` (the mean since its last log) when it logs at the
    evaluations' steps. Such a curve is as smooth as an epoch-level log whatever its x counts; read
    as minibatch losses, an epoch average that bounces 5% is noise. A loop that logs one
    minibatch's `loss.item()` at eval time names nothing that says so and is not counted."""
    train = _train_logged_with_val(curves)
    if train is None:
        return False
    return "epoch" in tokens(train.tag) or str(run.writer or "").startswith("hf-transformers")


# Lightning's LearningRateMonitor names its column after the optimizer's class (`lr-Adam`,
# `lr-SGD`, `lr-AdamW-pg1` per param group) and, with log_momentum=True, logs `lr-SGD-momentum`
_LIGHTNING_LR_RE = re.compile(r"^lr-([A-Za-z][A-Za-z0-9]*)(?:-pg\d+)?$")


def _optimizer_from_lr_column(hparams: dict[str, Any], lr_tag: str, run: Run) -> None:
    """The optimizer a Lightning run's LR column names, when its hyperparameters do not.

    Why: the LR alone cannot say whether 0.03 is far too high (Adam, 30x its usual top) or low (plain
    SGD); a LightningModule rarely saves its optimizer's name with save_hyperparameters, but the LR
    monitor writes it into every LR column. The momentum column (SGD's momentum; Adam's beta1) tells
    SGD with momentum from plain SGD."""
    m = _LIGHTNING_LR_RE.match(lr_tag)
    if m is None or "optimizer" in hparams:
        return
    hparams["optimizer"] = m.group(1)
    momentum = run.series.get(f"lr-{m.group(1)}-momentum")
    if "momentum" not in hparams and momentum is not None and m.group(1).lower() in ("sgd", "asgd"):
        finite = momentum.value[np.isfinite(momentum.value)]
        if len(finite):
            hparams["momentum"] = float(finite[0])


def _read_as_loss(curve: Curve) -> None:
    """A perplexity or RMSE taken as a loss role holds the loss itself from here on (Curve.scale).

    Why: every criterion reads relative moves and levels of a loss: a 10% bounce, a rise past 1.5x
    the start, the loss of guessing ln C. exp() turns a 10% bounce of a cross-entropy of 2 into
    22% of its perplexity and puts guessing at C instead of ln C; sqrt() halves every relative
    move of an MSE. Reading them back is exact, not an approximation. A tag that calls the RMSE
    its loss (`val/rmse_loss`) is what that run minimises, and is read as logged."""
    toks = tokens(curve.tag)
    scale = next((LOSS_SCALES[t] for t in toks if t in LOSS_SCALES), "")
    if not scale or {"loss", "losses"} & set(toks):
        return  # `val/rmse_loss`: the RMSE is what the run minimises, its own loss
    if scale == "ln":
        with np.errstate(divide="ignore", invalid="ignore"):
            curve.y = np.where(curve.y > 0, np.log(curve.y), np.nan)  # a perplexity <= 0 is no value
        # An infinite perplexity followed by a finite value is exp() overflowing, not a loss that went
        # non-finite: a net whose loss became inf or NaN logs NaN from then on, one that logs finite
        # values again had a finite loss there, above ln of float32's largest value (88.7; a cross-entropy
        # logger writes it as it was). It is read as that bound, so the same training reads the same
        # from its perplexity as from its loss (gen2 seed 1: two digits nets at SGD 1-2, batch 4-16,
        # logging perplexity inf once at their first lines and ~10 after, were DIV001 for a plateau).
        inf = np.isposinf(curve.y)
        if inf.any():
            later_finite = np.flip(np.logical_or.accumulate(np.flip(np.isfinite(curve.y))))
            curve.y = np.where(inf & np.append(later_finite[1:], False), PERPLEXITY_OVERFLOW, curve.y)
    else:
        curve.y = np.square(curve.y)
    curve.scale = scale


def _read_as_accuracy(curve: Curve) -> None:
    """An error rate taken as an accuracy role holds the accuracy from here on (Curve.scale):
    1 - it, or 100 - it when logged in percent (any value above 1.5).

    Why: the loss of guessing ln(1 / accuracy), an accuracy at its floor or its collapse to chance
    read the accuracy; fastai's `error_rate` and a `top1_err` are the same number seen from the
    other side."""
    if not is_error_rate(curve.tag):
        return
    percent = np.nanmax(np.abs(curve.y[np.isfinite(curve.y)]), initial=0.0) > 1.5
    curve.y = (100.0 if percent else 1.0) - curve.y
    curve.scale = "complement_pct" if percent else "complement"


def build_curves(run: Run, overrides: dict[str, str] | None = None) -> tuple[Curves, dict[str, str]]:
    """The curves of a run keyed by role, plus the role -> tag map (for the report)."""
    roles = assign_roles(run, overrides)
    curves = Curves(run=run.name, hparams=normalise_hparams(run.hparams), step_unit=units.step_unit(run))
    epoch_axis = units.counts_epochs(run)
    for role, tag in roles.items():
        curve = curve_of(run.series[tag], role)
        if role in ("train_loss", "val_loss"):
            _read_as_loss(curve)
        elif role in ("train_acc", "val_acc"):
            _read_as_accuracy(curve)
        # the run counts epochs (a Keras/fastai CSV, Keras History JSON, Keras TensorBoard
        # `epoch_loss`): findings then say "epoch 4" and stop points are `epochs`, not `max_steps`
        if curve.x_kind == "step" and (epoch_axis or tag.rsplit("/", 1)[-1].lower().startswith("epoch_")):
            curve.x_kind = "epoch"
        curves.by_role[role] = curve
    if not epoch_axis and _logged_once_per_epoch(curves):
        for c in curves.by_role.values():
            if c.x_kind == "step":
                c.x_kind = "epoch"
    train = curves.get("train_loss")
    if train is not None and train.x_kind == "step" and _averaged_per_evaluation(curves, run):
        train.averaged = True
    lr = curves.get("lr")
    if "lr" not in curves.hparams and lr is not None:
        finite = lr.y[np.isfinite(lr.y) & (lr.y > 0)]
        if len(finite):
            curves.hparams["lr"] = float(np.max(finite))
    if "lr" in roles:
        _optimizer_from_lr_column(curves.hparams, roles["lr"], run)
    epoch = curves.get("epoch")
    if epoch is not None and len(epoch) > 2 and epoch.x_kind == "step":
        e = epoch.y
        ok = np.isfinite(e)
        if ok.sum() > 2 and np.ptp(e[ok]) > 0:
            slope = np.polyfit(e[ok], epoch.x[ok], 1)[0]
            if np.array_equal(e[ok], epoch.x[ok]):  # logged once per epoch, x = the epoch (W&B `_step`)
                for c in curves.by_role.values():
                    if c.x_kind == "step":
                        c.x_kind = "epoch"
            elif slope > 1:
                curves.steps_per_epoch = _steps_per_epoch(e[ok], epoch.x[ok], float(slope))
    # a reinforcement-learning run: judged by its reward, never as a supervised loss
    curves.rl = "reward" in roles or any(t.split("/")[-1].lower() in RL_TAGS for t in run.series)
    if "train_loss" in roles and "val_loss" in roles:
        curves.comparable_losses = len({_objective(curves.by_role[r]) for r in ("train_loss", "val_loss")}) == 1
    for role in ("train_acc", "val_acc", "val_metric"):
        if role in roles:
            complement = curves.by_role[role].scale.startswith("complement")
            curves.higher_is_better[role] = complement or higher_is_better(roles[role])
    if "num_classes" in curves.hparams:
        curves.num_classes = int(curves.hparams["num_classes"])
    summary = run.meta.get("run_mean_loss")
    if summary and roles.get("train_loss") == summary["tag"]:
        series = run.series[summary["tag"]]
        curves.unlogged_tail = unlogged_tail(series.step, series.value, summary["mean"], summary["step"])
    return curves, roles


def unlogged_tail(x: np.ndarray, y: np.ndarray, run_mean: float, final_step: int) -> UnloggedTail | None:
    """The mean training loss of the steps after the last logged one, from a summary that averages the
    loss over all `final_step` steps (the HF Trainer's final `train_loss`) and logged points that each
    average the steps since the point before (its `loss`, the first over steps 1 to x[0]):
    (run_mean * final_step - sum of y * window) / (final_step - x[-1]). The logged values are rounded to
    4 decimals, a negligible error. None when there is no tail, a window is not positive, or a logged
    value is not finite (the log shows that divergence itself). A run resumed from a checkpoint sums only
    its own steps into the mean: its tail reads low, never as a blow-up."""
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if not len(x) or final_step <= x[-1] or not np.all(np.isfinite(y)):
        return None
    windows = np.diff(np.concatenate(([0.0], x)))
    if np.any(windows <= 0):
        return None
    tail = float(final_step - x[-1])
    mean = (run_mean * final_step - float(np.dot(y, windows))) / tail if math.isfinite(run_mean) else run_mean
    return UnloggedTail(float(x[-1]), float(final_step), float(mean), float(run_mean))
