"""Roles from abbreviated names: `tr_ls` / `val_ls` losses and the `tst_` test split.

The real case: a public Faster R-CNN project (Toma0916/GlobalWheatDetection) logs to MLflow as `tr_ls`,
`val_ls` and their components `tr_ls_box_reg`, `val_ls_domain`, ...; advisor found no loss in any of its 89
runs. `ls` is read as a loss only beside a split word in the same name: alone or beside anything else it is
as often label smoothing (`ls`, `ls_eps`), and a name under it (`val_ls/long`) is not the loss.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from advisor import ingest
from advisor.ingest.discover import discover
from advisor.model import Run, Series
from advisor.roles import assign_roles, build_curves, classify

DATA = Path(__file__).parent / "data" / "formats" / "mlflow-abbreviated"


def test_real_mlflow_run_with_abbreviated_losses():
    sources, problems = discover([DATA])
    assert problems == [] and len(sources) == 1
    run = ingest.read(sources[0])
    curves, roles = build_curves(run)
    assert roles == {"train_loss": "tr_ls", "val_loss": "val_ls"}  # the totals, not the components
    assert curves.comparable_losses
    assert len(curves.get("train_loss")) == len(curves.get("val_loss")) == 20


@pytest.mark.parametrize("tag, kind, split, specificity", [
    ("tr_ls", "loss", "train", 3),
    ("val_ls", "loss", "val", 3),
    ("trn_ls", "loss", "train", 3),
    ("ls_train", "loss", "train", 3),
    ("epoch_tr_ls", "loss", "train", 3),
    ("val_ls_step", "loss", "val", 3),
    ("tr_ls_box_reg", "loss", "train", 1),  # a component
    ("val_ls_domain", "loss", "val", 1),
    ("tst_loss", "loss", "val", 3),  # ranked as test_loss
    ("test_loss", "loss", "val", 3),
    ("tst_acc", "acc", "val", 2),
    ("tst_f1", "metric", "val", 10),
])
def test_abbreviated_names_read(tag, kind, split, specificity):
    c = classify(tag)
    assert (c.kind, c.split, c.specificity) == (kind, split, specificity)


@pytest.mark.parametrize("tag", ["ls", "ls_eps", "ls_smoothing", "label_smoothing", "labels_count", "cls",
                                 "val_ls/long", "ls_alpha", "nls", "tst"])
def test_other_ls_names_are_no_loss(tag):
    assert classify(tag).kind is None


def _run(**curves) -> Run:
    steps = np.arange(10)
    series = {t: Series(t, steps, np.linspace(2.0, 1.0, 10), np.full(10, np.nan)) for t in curves}
    return Run(name="r", path="r", format="memory", series=series)


def test_test_split_prefix_is_the_val_loss():
    assert assign_roles(_run(trn_loss=1, tst_loss=1, tst_acc=1)) == {
        "train_loss": "trn_loss", "val_loss": "tst_loss", "val_acc": "tst_acc"}
    # (before: tst_loss had no split and was a second training-loss candidate, tst_acc the train accuracy)


def test_a_named_loss_outranks_an_abbreviated_component():
    assert assign_roles(_run(loss=1, tr_ls_box_reg=1, val_loss=1)) == {"train_loss": "loss", "val_loss": "val_loss"}
