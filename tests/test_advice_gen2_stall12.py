"""Plateau advice on recorded trainings of the second generator (bench/make_corpus_gen2.py, seeds 10
and 15), copied under tests/data/oos/g2stall12-s<seed>-<id>-<task>-<drawn config> (the drawn config
is not the label). Labels come from the full-batch training loss the generator evaluates and never
writes (bench.make_corpus_oos.judge); each test states them. Each test names the evidence in the
log that now reads it right (session 12, issue 9).
"""
from __future__ import annotations

import math

from recorded import core_patterns as _patterns
from recorded import diagnose_recorded as _diagnose
from recorded import first_action, measurement


def test_a_loss_settled_well_below_its_start_at_a_high_lr_is_not_a_stall_at_that_lr():
    """Lightning CSV, per-step training loss only (no val loss, accuracy or class count), SGD with
    Nesterov momentum 0.9 at LR 0.5 (5x plain SGD's usual top) on moons: 0.52, 0.37, 0.35, then flat
    at 0.24-0.31 for the rest of the run, 0.74 of the median of its first three points (label:
    healthy; the untrained net's full-batch loss was ln 2 = 0.69 and it ended at 0.23). The flat
    stretch is still measured as stalled high (>= 0.65 of that start), but PLT005 ("stalls at its
    starting level while the LR is far too high") now needs the stall at >= 0.9 of its start or at
    chance: it had called this run a plateau, lower the LR."""
    r = _diagnose("g2stall12-s15-0169-moons-sgd_kill")
    plateau = measurement(r, "plateau", "train_loss")
    assert plateau.values["at_chance"] is False
    assert plateau.values["level_rel_start"] < 0.8  # well below the 0.9 an at-start stall needs
    assert not any(f.rule == "PLT005" for f in r.findings)
    assert "plateau" not in _patterns(r)


def test_a_per_step_loss_pinned_at_ln_k_for_the_whole_run_is_a_stall_at_chance():
    """TensorBoard (tensorboardX), per-step training loss of SGD-momentum 0.9 at LR 1 on a 4-class
    task, no class count logged: 1.36-1.52 from the first step to the last (ln 4 = 1.386), train
    accuracy 0.24-0.26 and val accuracy 0.21-0.27 after the first evaluation (label: plateau, lower
    the LR). Its trend wanders 1.40-1.42, 6x the trend's own noise, so the tight tolerance read a
    flat stretch of 13% of the run only and nothing was called. The stall sits at ln 4 beside an
    accuracy at 1/4, so it may be as flat as its noise allows (plateau.NOISE_RANGE): a plateau at
    chance, LR first."""
    r = _diagnose("g2stall12-s10-0161-classif-sgd_kill")
    plateau = measurement(r, "plateau", "train_loss")
    assert plateau.detected
    assert plateau.values["at_chance"] is True
    assert abs(plateau.values["level"] - math.log(4)) <= 0.03 * math.log(4)
    assert plateau.values["length_fraction"] >= 0.3
    assert "plateau" in _patterns(r)
    assert first_action(r) == "lower_lr"
