"""What a practitioner knows about a run before looking at its curves: the optimizer's usual LR
range, whether the net is deep and saturating, and the concrete numbers a fix needs (a clip
threshold from the logged gradient norm, a warmup length) in the run's own units.

Rules reach these as `run.<name>` (advisor.engine.conditions.Context.resolve). They live outside
advisor/engine so that signals read the LR prior too (oscillation and slow convergence do); they
are hyperparameters and whole curves as logged, not a pattern measured on one curve.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from advisor.model import Curves

# Upper end of the LR range each optimizer family is normally run at (PyTorch/Keras defaults and
# common practice): Adam-like 1e-3 (seed 004: "默认的超参数设置已经很好了"), Adagrad 1e-2,
# plain SGD 0.2 (seed 002 trains MNIST at 0.1-0.5 and finds 0.5 best at batch 128, 0.1 at batch 16),
# SGD with momentum 0.1. Adadelta scales a unit-correct step (Zeiler 2012): PyTorch's default and
# the paper's LR is 1.0 (pytorch/examples' MNIST trains at 1.0), so it is a family of its own.
USUAL_LR_MAX = {"adaptive": 1e-3, "adagrad": 1e-2, "sgd": 0.2, "sgd_momentum": 0.1, "adadelta": 1.0}
ADAPTIVE = ("adam", "rmsprop", "nadam", "radam", "lamb", "adafactor", "lion")
# Adam variants whose papers and PyTorch defaults put the usual LR at 2e-3, not 1e-3 (Dozat 2016
# for NAdam; Kingma & Ba 2015, section 7.1, for Adamax; torch.optim.NAdam / Adamax default 2e-3)
USUAL_LR_MAX_BY_NAME = {"nadam": 2e-3, "adamax": 2e-3}
# The families an unnamed optimizer is bounded over (`lr_over_usual_bound`): Adadelta, rare and
# at 1.0 by default, would make every LR up to 5 unremarkable, so it is left out of the bound.
BOUND_FAMILIES = ("adaptive", "adagrad", "sgd", "sgd_momentum")


def optimizer_family(hparams: dict[str, Any]) -> str | None:
    """"adaptive" | "adagrad" | "adadelta" | "sgd" | "sgd_momentum" | None (not logged or not
    recognised)."""
    name = str(hparams.get("optimizer") or "").lower()
    if not name:
        return None
    if "adagrad" in name:
        return "adagrad"
    if "adadelta" in name:
        return "adadelta"
    if any(a in name for a in ADAPTIVE):
        return "adaptive"
    if "sgd" in name or "momentum" in name or "nesterov" in name:
        mom = hparams.get("momentum")
        if "momentum" in name or "nesterov" in name or (isinstance(mom, (int, float)) and mom >= 0.5):
            return "sgd_momentum"
        return "sgd"
    return None


def lr_over_usual(hparams: dict[str, Any]) -> float | None:
    """The run's LR divided by the top of its optimizer's usual range (Adam at 0.05 -> 50)."""
    fam = optimizer_family(hparams)
    lr = hparams.get("lr")
    if fam is None or not isinstance(lr, (int, float)) or isinstance(lr, bool) or not lr > 0:
        return None
    name = str(hparams.get("optimizer") or "").lower()
    top = next((v for k, v in USUAL_LR_MAX_BY_NAME.items() if k in name), USUAL_LR_MAX[fam])
    return float(lr) * momentum_factor(hparams, fam) / top


USUAL_MOMENTUM = 0.9


def momentum_factor(hparams: dict[str, Any], fam: str | None) -> float:
    """How much larger SGD's effective step lr / (1 - momentum) is than at the usual momentum 0.9,
    for a momentum above it (1 otherwise)."""
    mom = hparams.get("momentum")
    if fam != "sgd_momentum" or not isinstance(mom, (int, float)) or isinstance(mom, bool):
        return 1.0
    if not USUAL_MOMENTUM < mom < 1:
        return 1.0
    return (1 - USUAL_MOMENTUM) / (1 - float(mom))


def lr_over_usual_bound(hparams: dict[str, Any], most: bool) -> float | None:
    """`lr_over_usual` when the optimizer is known; when only the LR is logged, the largest
    (`most`: over Adam's 1e-3, the lowest top of any family) or the least (over plain SGD's 0.2)
    ratio it can have. An LR of 5e-6 is far too low, and one of 5 far too high, whatever the
    optimizer: a rule can say so without knowing which optimizer it is."""
    known = lr_over_usual(hparams)
    if known is not None:
        return known
    lr = hparams.get("lr")
    if not isinstance(lr, (int, float)) or isinstance(lr, bool) or not lr > 0 or not math.isfinite(lr):
        return None
    tops = [USUAL_LR_MAX[fam] for fam in BOUND_FAMILIES]
    return float(lr) / (min(tops) if most else max(tops))


SGD_USUAL_AT_BATCH = 32  # LR & batch-size chapter 12.3.4: LR 0.5 is best down to batch 32, 0.1 at batch 16


def lr_over_usual_for_batch(hparams: dict[str, Any]) -> float | None:
    """`lr_over_usual` with the SGD range scaled down linearly below batch 32 (seed 002: the best
    LR fell from 0.5 to 0.1 when the batch went from 32 to 16; "small batches need a small LR"):
    SGD at 0.3 with batch 4 is 12x the top for its batch, though only 1.5x the plain-SGD top."""
    ratio = lr_over_usual(hparams)
    batch = hparams.get("batch_size")
    if ratio is None or optimizer_family(hparams) not in ("sgd", "sgd_momentum"):
        return ratio
    if isinstance(batch, (int, float)) and not isinstance(batch, bool) and 0 < batch < SGD_USUAL_AT_BATCH:
        return ratio * SGD_USUAL_AT_BATCH / float(batch)
    return ratio


def saturating_net(hparams: dict[str, Any]) -> bool | None:
    """True for sigmoid/tanh nets of >= 4 layers, or tiny initial weights (std <= 0.05): the deep
    saturating nets of seeds 000/004 whose signal vanishes layer by layer. None when unknown."""
    act = str(hparams.get("activation") or "").lower()
    depth = hparams.get("depth") if hparams.get("depth") is not None else hparams.get("num_layers")
    init = str(hparams.get("init") or "").lower()
    scale = hparams.get("init_scale")
    tiny = init == "small" or (isinstance(scale, (int, float)) and 0 < scale <= 0.05 and init not in ("kaiming", "xavier"))
    if not act and depth is None and not init:
        return None
    if hparams.get("batchnorm") is True:
        return False
    deep = isinstance(depth, (int, float)) and depth >= 4
    return bool((act in ("sigmoid", "tanh") and (deep or depth is None)) or (tiny and (deep or act in ("sigmoid", "tanh"))))


def _nice(value: float) -> float:
    """Two significant digits: 0.2347 -> 0.23, 15.41 -> 15."""
    return float(f"{value:.2g}")


def grad_clip(curves: Curves, onset: float | None) -> float | None:
    """Twice the median logged gradient norm before the loss ran away (the whole run if it did
    not): typical steps pass untouched, blow-ups are cut. A run that ran away from its first logged
    steps has no "before": its first three norms are the nearest to it (an LLM LoRA at LR 2e-3 whose
    norm went 0.07, 0.07, 0.12, 0.19, then 1.0, 2.3, 22.5). None when fewer than 3 norms are logged,
    so a rule falls back to the conventional 1.0 instead of reading a threshold off the loss."""
    g = curves.get("grad_norm")
    if g is None or len(g) == 0:
        return None
    usable = np.isfinite(g.y) & (g.y > 0)
    if usable.sum() < 3:
        return None
    ok = usable & (g.x < onset) if onset is not None else usable
    if ok.sum() < 3:
        ok = np.zeros_like(usable)
        ok[np.flatnonzero(usable)[:3]] = True
    return _nice(2.0 * float(np.median(g.y[ok])))


def total_steps(curves: Curves, role: str) -> float | None:
    c = curves.get(role)
    if c is None or len(c) < 2 or c.x_kind not in ("step", "epoch"):
        return None
    return float(c.x[-1])


def warmup_steps(curves: Curves, role: str, onset: float | None) -> int | None:
    """A warmup long enough to matter and short enough not to waste the run: the blow-up's onset,
    clamped to 5-10% of the steps (seed 004's BERT warmup; "at most ~10% of the steps")."""
    c = curves.get(role)
    total = total_steps(curves, role)
    if c is None or total is None or c.x_kind != "step":
        return None
    want = onset if onset is not None and math.isfinite(onset) else 0.05 * total
    steps = int(round(min(max(want, 0.05 * total), 0.10 * total)))
    return steps if steps >= 10 else None  # a warmup of a few steps does nothing: give no number


def stop_point(curves: Curves, role: str, x: float | None) -> tuple[str, int] | None:
    """Where to stop, in the unit the run counts: ("epochs", N) for epoch-level logs (N epochs
    done at the logged index x: x + 1 when the log counts from 0), else ("max_steps", x). None
    when x is the first evaluation (stopping there means not training at all)."""
    c = curves.get(role)
    if c is None or x is None or len(c) == 0 or not math.isfinite(x):
        return None
    if x <= c.x[0]:
        return None
    if c.x_kind == "epoch":
        return "epochs", int(round(x + 1 if c.x[0] == 0 else x))
    return "max_steps", int(round(x))
