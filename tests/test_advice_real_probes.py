"""Verdicts on real public logs that a practitioner audit (session 21) found wrong, other than divergence
(tests/test_divergence_real_probes.py)."""
from __future__ import annotations

from pathlib import Path

from advisor.pipeline import diagnose_paths

FORMATS = Path(__file__).parent / "data" / "formats"


def test_a_val_loss_that_ends_at_its_lowest_is_not_overfitting():
    """Keras TensorBoard, 5 epochs: val loss 12.6, 2.25, 0.41, 2.68, 0.0265 beside a training loss falling
    0.150 -> 0.027, val accuracy 0.50 -> 0.99. Its last evaluation is its best, yet the mean of the last two
    (1.35) read as 'at the end the validation loss is 50.5x the training loss: the model memorises the
    training set' (OVF002), with 'keep the checkpoint at the validation minimum' pointing at the last epoch."""
    (report,) = diagnose_paths([str(FORMATS / "keras-val-ends-at-best" / "logs")]).runs
    assert report.metrics["val_loss"] == "validation/epoch_loss"
    m = report.measurements.get("overfitting", "val_loss")
    assert m.values["rise_rel"] <= 0
    assert not [f for f in report.findings if f.pattern == "overfitting"]
