"""Divergence and overfitting calls on recorded trainings, session 12. The runs are copied from the
first generator's seed 236 (bench/make_corpus_oos.py; last session's blind seed, tuning data now)
under tests/data/oos/g2div12-o236-<id>-<task>-<drawn config> (the drawn config is not the label).
Labels come from the full-batch training loss the generator evaluates and never writes
(bench.make_corpus_oos.label).
"""
from __future__ import annotations

from recorded import core_patterns, diagnose_recorded, first_action, measurement


def test_a_run_that_stopped_on_a_blow_up_is_a_divergence_whatever_its_trend_did_before():
    """Hastie MLP at SGD 1.0, momentum 0.9, batch 16, a per-step TensorBoard log: the loss sits at
    ln 2 with bursts to 1.6 (the trend rises past 2.5x its start, read as a net at chance and
    cleared), then logs 1.9e12 as its last value; the val accuracy at chance. The run stopped on a
    blow-up 2.7e12x its start. Labelled divergence; was a grad-norm warning with gradient clipping
    first."""
    r = diagnose_recorded("g2div12-o236-0006-hastie-sgd_lr_kill")
    assert core_patterns(r) == {"divergence"} and first_action(r) == "lower_lr"
    m = measurement(r, "divergence", "train_loss")
    assert m.values["kind"] == "explosion" and r.findings[0].rule == "DIV002"
    assert m.values["onset_step"] == 319  # the last logged step: where the blow-up is in the log

