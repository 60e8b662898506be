"""Healthy false alarms on recorded trainings of the second generator (bench/make_corpus_gen2.py),
session 11. Labels come from the full-batch training loss the generator evaluates and never writes
(bench.make_corpus_oos.label); the runs are copied under tests/data/oos/g2fa11-s<seed>-<id>-<task>-<drawn
config> (the drawn config is not the label)."""
from __future__ import annotations

from recorded import core_patterns, diagnose_recorded, measurement


def test_a_batch_loss_that_bounced_then_settled_at_zero_with_its_accuracy_held_is_not_a_divergence():
    """Cancer MLP at NAdam 0.2, batch 16, cosine decay (CSV): the per-batch loss bounces 0.1-18
    over the first 40% of the run (its trend 8.6x its running minimum), then logs exactly 0 to the
    end; train accuracy 100%, val accuracy 96.5% against a best of 97.3%. The val loss ends at 3.1x
    its start (an overconfident net's few wrong answers). Labelled healthy; was DIV002."""
    r = diagnose_recorded("g2fa11-s11-0258-cancer-nadam_high")
    assert "divergence" not in core_patterns(r)
    assert measurement(r, "divergence", "train_loss").values["kind"] is None


def test_a_mild_val_climb_while_training_has_all_but_stopped_is_not_overfitting():
    """Diabetes MLP at Adam 0.01 (HF Trainer state): the val loss ends 19% above its minimum while
    the training trend is still at 0.86x its level there (it fell < 20% after the minimum), far
    from both labeller lines (a climb >= 25% with training at <= 0.8x). Labelled healthy; was OVF001."""
    r = diagnose_recorded("g2fa11-s10-0245-diabetes-adam_high")
    assert "overfitting" not in core_patterns(r)
    m = measurement(r, "overfitting", "val_loss")
    assert m.values["rise_rel"] < 0.25 and m.values["train_kept_after_min"] > 0.8
