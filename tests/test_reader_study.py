"""bench/reader_study.py: its features come from the log (never from the labeller's tests), its
rules' calls are bench/score.py's, and its macro-F1 / healthy false alarms are score.py's numbers.
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from tests.recorded import OOS

sys.path.insert(0, str(Path(__file__).parents[1]))
from bench import reader_study as rs  # noqa: E402
from bench.score import CORE, diagnose_one, score  # noqa: E402

RUN = "g2div10-s2-0025-cancer-rmsprop_high"  # a recorded gen2 run with train and val curves, LR and hparams


def test_a_runs_features_are_read_from_its_log_and_its_calls_are_score_pys():
    pred, feats, error = rs.read_one((str(OOS), RUN))
    assert error is None
    want = diagnose_one((str(OOS), RUN))
    assert pred == {k: want[k] for k in ("path", "patterns", "first_action", "actions")}
    assert feats["c_tr_present"] == 1.0 and feats["c_va_present"] == 1.0
    assert any(k.startswith("m_") and k.endswith("_detected") for k in feats)
    assert np.isfinite(feats["hp_lr_log"]) and "hp_prior_log" in feats
    # the labeller's own statistics are not features (the hidden set is labelled by people)
    assert not [k for k in feats if k.startswith(("lab_", "orc_", "ovf_")) or "stall_frac" in k]
    assert not [k for k in feats if k.startswith("m_stats_")]


def test_macro_f1_and_healthy_alarms_are_score_pys():
    truth = [{"path": "a", "patterns": ["divergence"]}, {"path": "b", "patterns": []},
             {"path": "c", "patterns": ["plateau", "slow_convergence"]}, {"path": "d", "patterns": []},
             {"path": "e", "patterns": ["oscillation"]}]
    calls = {p: np.zeros(len(truth), bool) for p in CORE}
    calls["divergence"][[0, 1]] = True   # one right, one healthy alarm
    calls["plateau"][2] = True           # slow missed
    calls["oscillation"][[3, 4]] = True  # a second healthy alarm
    preds = {t["path"]: {"path": t["path"], "patterns": [p for p in CORE if calls[p][i]], "first_action": None,
                         "actions": []} for i, t in enumerate(truth)}
    want = score(truth, preds)
    per, macro, alarms, healthy = rs.summary(rs.contributions(truth, calls).sum(0))
    assert abs(macro - want["macro_f1"]) < 1e-12
    assert (alarms, healthy) == (want["healthy_false_alarms"], want["healthy_runs"]) == (2, 2)
    assert np.allclose(per, [want["per_pattern"][p]["f1"] for p in CORE])
