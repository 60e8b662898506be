"""Session 27's detector changes, on recorded trainings of both generators (bench/make_corpus_gen2.py,
bench/make_corpus_oos.py). Labels come from the full-batch training loss the generators evaluate and never
write; the runs are copied under tests/data/oos/<change>27-<seed>-<id>-... (the drawn config in the name is
not the label).
"""
from __future__ import annotations

import numpy as np

from advisor.model import Curves
from advisor.signals.convergence import _judge
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


def test_a_logistic_regression_at_sgd_3e_4_falling_straight_under_batch_noise_is_slow():
    """o246 0039 and o247 0040, tensorboardX event files, logistic regression on wine / blobs at SGD 3e-4,
    batch 32, 400 steps logged at every step with only the LR as hparam: labelled slow convergence (the
    full-batch loss ends 0.81 / 0.90 of its start, still falling; LR 0.03 converges). The per-step loss
    falls in a straight line under minibatch noise, 1.49 -> 1.2 and 2.2 -> 2.0; its last quarter alone is
    too noisy for its slope to be significant, so the run had no finding (issue 9's "a Keras CSV of logistic
    regression with SGD 1e-3: still falling steadily at the end, no finding"). The last half falls
    significantly and the last quarter at its pace: still falling."""
    for name in ("noisytail27-o246-0039-wine-logreg_sgd_slow", "noisytail27-o247-0040-blobs-logreg_sgd_slow"):
        r = _diagnose(name)
        m = measurement(r, "slow_convergence", "train_loss")
        assert m.values["still_improving"] and m.detected, name
        assert core_patterns(r) == {"slow_convergence"}, name
        assert first_action(r) == "raise_lr", name


def test_a_creep_near_the_stall_line_is_not_read_through_the_noise():
    """g48 0136, a generic CSV, a GRU counting task at Adam 5e-5: labelled plateau (the full-batch loss
    stayed within the labellers' 3% of its start). Its per-step loss creeps 1.40 -> 1.36 around ln 4, the
    val loss 1.41 -> 1.38; the last half falls significantly, but a fall of 3% is the stall line itself,
    and a tail too noisy to show its slope is read as still falling only past twice that line (6%)."""
    r = _diagnose("noisytail27-g48-0136-count-gru_slow")
    m = measurement(r, "slow_convergence", "train_loss")
    assert m.values["rel_drop"] < 0.06
    assert core_patterns(r) == {"plateau"}


def test_a_straight_fall_under_noise_that_hides_the_last_quarters_slope_is_still_falling():
    """400 per-step losses falling in a straight line 1.0 -> 0.8 under noise of 0.15 (seed 0): the last
    quarter's Theil-Sen slope is not significant, the last half's is, and the quarter keeps the pace."""
    x = np.arange(400, dtype=float)
    y = 1.0 - 0.2 * x / 399 + np.random.default_rng(0).normal(0, 0.15, len(x))
    c = Curves(run="r", by_role={}, hparams={"lr": 3e-4})  # the LR alone, as those event files log it
    assert _judge(c, x, y)[1]["still_improving"]
