"""Session 27's detector changes, on recorded trainings of both generators (bench/make_corpus_gen2.py,
bench/make_corpus_oos.py). Labels come from the full-batch training loss the generators evaluate and never
write; the runs are copied under tests/data/oos/<change>27-<seed>-<id>-... (the drawn config in the name is
not the label).
"""
from __future__ import annotations

from recorded import core_patterns, first_action, measurement
from recorded import diagnose_recorded as _diagnose


def test_a_loss_that_sheds_its_overshoot_onto_chance_is_a_stall_not_a_descent():
    """g49 0213, a W&B run folder (history JSONL), digits (10 classes) by an MLP at SGD 1.0, batch 4, under a
    warmup then a linear decay to 0: labelled plateau (the full-batch loss never left 0.90 of its start).
    The per-step loss sits at 2.3 the whole run, its accuracy at 4-11%; over the last half it drifts from
    2.34 to 2.30 = ln 10 as the LR anneals, a significant fall of 1.7% that read as "descending", so the
    flat stretch was no stall and the run had no finding at all. A fall that ends at the chance level is
    the net losing the overshoot its large steps held it at, not learning."""
    r = _diagnose("chance27-g49-0213-digits-sgd_small_batch_high")
    m = measurement(r, "plateau", "train_loss")
    assert m.detected and m.values["at_chance"]
    assert core_patterns(r) == {"plateau"}
    assert first_action(r) == "lower_lr"  # SGD 1.0 is 5x the top of SGD's usual range


def test_a_recurrent_net_pinned_at_ln_4_by_nadam_0_2_is_a_stall():
    """g50 0191, a generic CSV, a GRU counting task (4 classes) at NAdam 0.2: labelled plateau (its
    full-batch loss never got below 0.92 of its start). The per-step loss bounces 1.2-2.2 around 1.4 =
    ln 4, the accuracies sit at 23-41%; the flat stretch's slight fall ends at ln 4 again."""
    r = _diagnose("chance27-g50-0191-count-nadam_high")
    assert core_patterns(r) == {"plateau"}
    assert first_action(r) == "lower_lr"


def test_a_flat_start_the_run_breaks_out_of_keeps_its_creep_as_a_descent():
    """g45 0150, a torch SummaryWriter event file, moons by a deep net of saturating units at SGD 0.1:
    labelled healthy (its flat start is under the labellers' 25%). The loss sits at ln 2 for its first
    quarter, creeping 0.69 -> 0.66, then breaks out and converges. The reading above is for a stall that
    holds: a stretch the run breaks out of keeps its creep as a descent, as before, and is no saddle."""
    r = _diagnose("chance27-g45-0150-moons-deep_saturating")
    assert "plateau" not in core_patterns(r)
