"""Session 23's detector changes, on recorded trainings of both generators (bench/make_corpus_gen2.py,
bench/make_corpus_oos.py). Labels come from the full-batch training loss the generators evaluate and
never write; the runs are copied under tests/data/oos/<change>23-<seed>-<id>-... (the drawn config in
the name is not the label).
"""
from __future__ import annotations

import numpy as np

from advisor.signals.divergence import _blown_up_value
from recorded import core_patterns as _patterns
from recorded import diagnose_recorded as _diagnose
from recorded import first_action, measurement


def test_a_memorised_net_logging_exact_zeros_did_not_stop_blown_up():
    """g42 0252, a HF TensorBoard callback log, cancer at Adagrad 1.0: healthy (its full-batch loss at
    1.2e-5 of its start). Most of its per-step losses are exactly 0, two of its first three too, so the
    start and the median were ~0 and a last loss of 1.4e-5 read as 100x both: DIV002 "rose to
    1.45e+295x its level". A run that stopped blown up ends far above where it started."""
    r = _diagnose("g2div23-g42-0252-cancer-adagrad_high")
    assert measurement(r, "divergence", "train_loss").detected is False
    assert "divergence" not in _patterns(r)
    y = np.array([2.1, 3.7e-8, 0.0] + [0.0] * 30 + [1.4e-5])
    assert not _blown_up_value(1.4e-5, y)
    assert _blown_up_value(5e3, np.array([2.1, 1.5, 1.2] + [0.5] * 30))
