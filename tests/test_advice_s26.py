"""Session 26's detector changes, on recorded trainings of the second generator (bench/make_corpus_gen2.py).
Labels come from the full-batch training loss the generator evaluates and never writes; the runs are
copied under tests/data/oos/<change>26-<seed>-<id>-... (the drawn config in the name is not the label).
"""
from __future__ import annotations

import numpy as np

from advisor.model import Curve, Curves
from advisor.signals.divergence import _came_back_to_learnt
from recorded import core_patterns, measurement
from recorded import diagnose_recorded as _diagnose


def test_a_regression_back_from_a_warmup_blowup_with_its_val_loss_at_its_best_is_no_divergence():
    """g47 0254, a generic CSV (camelCase tags), Friedman #1 regression (MSE, no accuracy) under a linear
    warmup to Adam 0.3 then decay: labelled healthy (the full-batch loss ended at the reference's level).
    Its batch loss climbs 0.90 -> 7.2 at the warmup's peak, then falls to 0.03-0.06; the val loss
    0.34 -> 3.0 -> 0.19, its best, at the end. DIV002 read the trend's climb as "training diverged" and
    advised lowering the LR: with no accuracy, nothing cleared a trend explosion the loss came back from.
    The val loss at its best now speaks for the net, as it already did for an early rise."""
    r = _diagnose("regback26-g47-0254-friedman-warmup_to_high_peak")
    m = measurement(r, "divergence", "train_loss")
    assert m.values["explosion_ratio"] > 5  # the climb is still measured ...
    assert not m.detected  # ... and read as a net that came back
    assert "divergence" not in core_patterns(r)


def _run(val: list[float] | None, acc: list[float] | None = None) -> tuple[np.ndarray, Curves]:
    """A training loss that learns (1.0 -> 0.3), blows up 6x its level mid-run, and comes back to 0.1."""
    y = np.concatenate([np.linspace(1.0, 0.3, 30), np.full(10, 1.8), np.linspace(0.3, 0.1, 40)])
    x = np.arange(len(y), dtype=float)
    by_role = {"train_loss": Curve("train_loss", "loss", x, y)}
    if val is not None:
        vx = np.linspace(0, len(y) - 1, len(val))
        by_role["val_loss"] = Curve("val_loss", "val_loss", vx, np.asarray(val, float))
    if acc is not None:
        ax = np.linspace(0, len(y) - 1, len(acc))
        by_role["val_acc"] = Curve("val_acc", "val_acc", ax, np.asarray(acc, float))
    return y, Curves(run="r", by_role=by_role)


def test_came_back_to_learnt_reads_the_val_loss_only_when_no_accuracy_is_logged():
    at_best = [0.9, 0.6, 0.4, 3.0, 2.0, 0.5, 0.3, 0.25, 0.22, 0.21]
    y, c = _run(at_best)
    assert _came_back_to_learnt(y, c) is True
    # a val loss that ends 2x its best did not come back
    y, c = _run([0.9, 0.6, 0.4, 3.0, 2.0, 0.5, 0.3, 0.6, 0.7, 0.8])
    assert _came_back_to_learnt(y, c) is False
    # no val loss: nothing speaks for the net
    y, c = _run(None)
    assert _came_back_to_learnt(y, c) is False
    # with an accuracy logged, the accuracy decides, whatever the val loss: one that fell 30 points
    y, c = _run(at_best, acc=[0.5, 0.7, 0.9, 0.9, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6])
    assert _came_back_to_learnt(y, c) is False


def test_a_relapse_is_told_in_order_and_keeps_the_checkpoint_from_before_the_climb():
    """o251 0044, a torch SummaryWriter event file, blobs at SGD 0.3 with momentum 0.99: labelled divergence.
    The per-step loss falls 1.85 -> 0.22 and logs an exact 0 at step 44, blows up to 5.4e3 by step 81 and
    sits at ~2 (ln 6 = 1.79) to the end. DIV006 read the relapse's onset off the trend (a running median
    over a tenth of the points, which left its minimum at step 8) and its minimum off the whole curve, and
    said the loss "fell to 0 at step 44, then climbed back ... from step 8": a story told backwards, as 42
    of the 92 DIV006 calls over the tuning corpora were, some with the checkpoint to keep set after the
    climb. The climb now starts at or after the lowest logged point before the loss came back for good,
    and the summary and the early stop name that point."""
    r = _diagnose("relapse26-o251-0044-blobs-momentum_0.99_blowup")
    m = measurement(r, "divergence", "train_loss")
    assert m.values["kind"] == "relapse"
    assert m.values["relapse_min"] == 0.0 and m.values["relapse_min_step"] == 44.0
    assert m.values["onset_step"] >= m.values["relapse_min_step"]
    f = next(f for f in r.findings if f.rule == "DIV006")
    assert "fell to 0 at step 44, then climbed back to its starting level from step 44" in f.summary
    stop = next(rc for rc in f.recommendations if rc.action == "early_stop")
    assert stop.change == {"max_steps": {"set": 44}}


def test_no_checkpoint_is_picked_by_a_metric_whose_best_is_no_better_than_at_the_loss_minimum():
    """g40 0243, a torch SummaryWriter event file, digits with little data at Adamax 3e-3 for 120 epochs:
    labelled overfitting. The val loss bottoms at 0.585 at epoch 13 and climbs to 0.90; the val accuracy
    is 0.833 there, its highest of the run, and 0.82-0.83 after. Its 3-evaluation mean after the minimum
    beat the mean around it (0.8329 sat between 0.794 and 0.819), so OVF001 moved the checkpoint to a later
    epoch "by Accuracy/val, which kept improving after the loss's minimum (0.827 there against 0.833)": a
    worse checkpoint by the very metric named. 13 such claims over the tuning corpora (8 equal, 5 worse);
    the checkpoint a metric picks must now be better, as logged, than the one at the loss's minimum."""
    r = _diagnose("ovfbest26-g40-0243-digits-overfit_small_data")
    m = measurement(r, "overfitting", "val_loss")
    assert m.values["best_step"] == 13.0
    assert m.values.get("metric_best_step") is None
    f = next(f for f in r.findings if f.rule == "OVF001")
    assert "kept improving" not in f.summary and f.summary.endswith("the best checkpoint is at epoch 13.")
    stop = next(rc for rc in f.recommendations if rc.action == "early_stop")
    assert stop.change == {"epochs": {"set": 14}}  # 0-based epoch 13: train 14 epochs
