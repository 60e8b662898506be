"""The optimizer prior (advisor.priors): an LR judged against its own optimizer's usual range.

Recorded trainings: pytorch/examples' MNIST recipe (Adadelta at LR 1.0, StepLR 0.7 per epoch) on
scikit-learn's digits, a 2-layer ReLU MLP logged with torch's SummaryWriter and its hparams
(tests/data/oos/lead7-adadelta-lr1/record.py), and the same net at Keras' Adadelta default LR
0.001, no decay (lead7-adadelta-lr0.001).
"""
from __future__ import annotations

import pytest
from recorded import diagnose_recorded, first_action

from advisor import priors


@pytest.mark.parametrize("hparams, family, ratio", [
    ({"optimizer": "Adadelta", "lr": 1.0}, "adadelta", 1.0),  # PyTorch's default and the paper's
    ({"optimizer": "adadelta", "lr": 0.001}, "adadelta", 0.001),  # Keras' default: far below
    ({"optimizer": "Adam", "lr": 1.0}, "adaptive", 1000.0),
    ({"optimizer": "Adagrad", "lr": 0.01}, "adagrad", 1.0),
    ({"optimizer": "NAdam", "lr": 6e-3}, "adaptive", 3.0),  # NAdam's and Adamax's usual LR is 2e-3
    ({"optimizer": "adamax", "lr": 2e-3}, "adaptive", 1.0),
    ({"optimizer": "adam", "lr": 6e-3}, "adaptive", 6.0),
])
def test_each_optimizer_has_its_own_usual_range(hparams, family, ratio):
    assert priors.optimizer_family(hparams) == family
    assert priors.lr_over_usual(hparams) == pytest.approx(ratio)


def test_an_unnamed_optimizer_is_bounded_over_the_common_families_only():
    """Without an optimizer an LR of 1.0 is still >= 5x every common family's top (plain SGD's 0.2):
    Adadelta's 1.0 does not widen the bound (oscillation's LR >= 1.0 case rests on it)."""
    assert priors.lr_over_usual_bound({"lr": 1.0}, most=False) == pytest.approx(5.0)
    assert priors.lr_over_usual_bound({"lr": 1.0}, most=True) == pytest.approx(1000.0)


def test_adadelta_at_its_default_lr_is_not_a_thousand_times_too_high():
    report = diagnose_recorded("lead7-adadelta-lr1")
    assert report.curves.hparams["optimizer"].lower() == "adadelta"
    assert priors.lr_over_usual(report.curves.hparams) == pytest.approx(1.0)
    assert report.findings == []


def test_adadelta_at_keras_default_lr_stalls_for_its_lr_not_for_batchnorm():
    """A shallow ReLU net at Adadelta 0.001 (0.1% of its usual top) barely moves: read as Adam-like
    (0.001 = the top of Adam's range) it got BatchNorm first, the deep-saturating-net cure; it is
    the LR's stall (PLT007), and the first action raises it."""
    report = diagnose_recorded("lead7-adadelta-lr0.001")
    assert [f.rule for f in report.findings] == ["PLT007"]
    assert first_action(report) == "raise_lr"


@pytest.mark.parametrize("name", [
    # gen2 s10 0112: Adamax at 6e-3, batch 16, on digits (label: healthy); its MLflow log rewritten
    # as a generic CSV with the config.json beside it
    "lead9-s10-0112-digits-healthy_adamax",
    # gen2 s12 0014: NAdam at 6e-3, batch 32, on moons (label: healthy); same rewrite
    "lead9-s12-0014-moons-healthy_nadam",
])
def test_nadam_and_adamax_are_judged_against_their_own_default_lr(name):
    """NAdam and Adamax are run at 2e-3 (their papers, torch.optim's defaults), not Adam's 1e-3.
    Read at 6x the usual top, these healthy runs' per-step noise was called oscillation (OSC002 /
    OSC004, lower the LR); at 3x it is not. Over the eight gen2 tuning seeds, the first-generator
    pool and seeds 229/231 these two runs are the only verdicts that change."""
    report = diagnose_recorded(name)
    assert priors.lr_over_usual(report.curves.hparams) == pytest.approx(3.0)
    assert report.findings == []
