"""Session 28's detector changes, on recorded trainings of both generators (bench/make_corpus_gen2.py,
bench/make_corpus_oos.py). Labels come from the full-batch training loss the generators evaluate and never
write; the runs are copied under tests/data/oos/<change>28-<seed>-<id>-... (the drawn config in the name is
not the label).
"""
from __future__ import annotations

import math

from advisor.signals.metrics import classes_at_chance
from recorded import core_patterns, first_action, measurement
from recorded import diagnose_recorded as _diagnose


def test_a_class_count_is_read_from_either_neighbour_of_one_over_the_accuracy():
    """A net stuck predicting one class of 4 scores that class's share: 20.8% is nearer 1/5 than 1/4, and
    the loss (1.40, at ln 4 = 1.386 and 13% under ln 5) says which count both readings agree on. The
    nearest count still comes first, and a loss at neither count's chance level reads none."""
    assert classes_at_chance(0.208, 1.40) == 4
    assert classes_at_chance(0.208, math.log(5)) == 5
    assert classes_at_chance(0.25, math.log(4)) == 4
    assert classes_at_chance(0.208, 770.0, above=math.inf) == 5  # the nearest k, as before
    assert classes_at_chance(0.208, 1.0) is None


def test_a_net_predicting_one_class_of_four_at_nadam_0_2_is_a_stall_at_chance():
    """g53 0126, a Keras 3 CSVLogger file, a 24-feature 4-class task by an MLP at NAdam 0.2, batch 32, 10
    epochs, no class count logged: labelled plateau (the full-batch loss never left its start, 1.39). The
    first epoch's mean is 2.78 (thrown off in its first steps), then the loss sits at 1.40-1.41 to the end,
    the val loss at 1.38-1.44 and the val accuracy at 20.8-27.3%, one class's share. The stall read 51% of
    "its start" and, with k = 5 failing the loss band, not at chance: a loss that fell from its first
    epoch with no chance level is converged, so the run had no finding."""
    r = _diagnose("chance28-g53-0126-classif-nadam_high")
    m = measurement(r, "plateau", "train_loss")
    assert m.detected and m.values["at_chance"]
    assert core_patterns(r) == {"plateau"}
    assert first_action(r) == "lower_lr"  # NAdam 0.2 is far above Adam-like optimizers' usual range


def test_an_overfitting_summary_states_a_large_climb_as_a_ratio_not_thousands_of_percent():
    """g38 0111, a W&B run folder, breast cancer at NAdam under a warmup to a far too high peak: the val loss
    bottoms at 0.0875 at step 15 and its last evaluations average 2.53. That was "2789% above it"; a climb
    past 100% reads as the ratio, "28.9 times it", and one under it stays a percentage."""
    r = _diagnose("wording28-g38-0111-cancer-warmup_to_high_peak")
    f = next(f for f in r.findings if f.rule == "OVF001")
    val = r.curves.get("val_loss")
    lo = float(val.y.min())
    end = float(val.y[-max(2, len(val.y) // 10):].mean())
    assert f"average {end:.3g}, {end / lo:.3g} times it" in f.summary
    assert "%" not in f.summary
    from advisor.engine import _above
    assert _above(0.39) == "39% above" and _above(27.89) == "28.9 times"
