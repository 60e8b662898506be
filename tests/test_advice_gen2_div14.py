"""Divergence calls on recorded trainings, session 14, copied under
tests/data/oos/g2div14-<corpus>-<id>-<task>-<drawn config> (the drawn config is not the label):
s19 / s21 = gen2 seeds 19 and 21 (bench/make_corpus_gen2.py; session 13's blind seeds, tuning data
now). Labels come from the full-batch training loss the generator evaluates and never writes
(bench.make_corpus_oos.label: divergence when its last quarter ends >= 1.5x its untrained start).
"""
from __future__ import annotations

from recorded import core_patterns, diagnose_recorded, first_action, measurement


def test_both_losses_far_above_guessing_while_the_accuracy_creeps_up_from_chance_is_a_divergence():
    """Digits MLP (tanh) at SGD 1.0, batch 4: the per-step loss 6-42 all run, the val loss 10-30 at
    every evaluation, both ending at >= 6.7x ln(1 / the accuracy's low) (the loss of guessing, about
    ln 10), while the val accuracy creeps from 9% to 25-35%. The accuracy is neither flat at its low
    nor under twice it, so the classifier-above-chance tests did not fire, and the run was read as a
    stall at an LR far too high (PLT005). Labelled divergence (the full-batch loss rose past its start
    and stayed there)."""
    r = diagnose_recorded("g2div14-s19-0200-digits-sgd_small_batch_high")
    assert core_patterns(r) == {"divergence"} and first_action(r) == "lower_lr"
    m = measurement(r, "divergence", "train_loss")
    assert m.values["kind"] == "above_chance" and r.findings[0].rule == "DIV007"
    assert m.values["chance_ratio"] > 5  # 6.7x: far over the 4x line, and 1.36x is the highest non-divergence


def test_both_losses_far_above_guessing_with_the_accuracy_a_point_past_twice_its_low_is_a_divergence():
    """Digits MLP (tanh) at SGD 2.0, momentum 0.5, batch 8: the per-step loss about 20-60 all run, the val
    loss 17-58, both ending at >= 15x the loss of guessing; the val accuracy 8-26%, its last quarter
    19% against a low of 9% (a point past twice it). Read as PLT005 (a stall at an LR far too high).
    Labelled divergence."""
    r = diagnose_recorded("g2div14-s21-0021-digits-sgd_small_batch_high")
    assert core_patterns(r) == {"divergence"} and first_action(r) == "lower_lr"
    m = measurement(r, "divergence", "train_loss")
    assert m.values["kind"] == "above_chance" and m.values["chance_ratio"] > 10
