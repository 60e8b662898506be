"""How long a flat start must last to be a saddle (plateau.SADDLE_LENGTH, read between the flat
stretch's own logged points), on recorded trainings of both generators (bench/make_corpus_gen2.py
seeds 17 and 18, the first as bench/conventions.py's val-only rewrite; bench/make_corpus_oos.py seed 237), copied
under tests/data/oos/g2stall14-<seed>-<id>-<task>-<drawn config> (the drawn config is not the label).
Labels come from the full-batch training loss the generators evaluate and never write
(bench.make_corpus_oos.judge: a flat start under 25% of the run is healthy, 25-40% ambiguous and
dropped, 40% and more a plateau); each test states them (session 14, issue 9).
"""
from __future__ import annotations

from pathlib import Path

from recorded import core_patterns as _patterns
from recorded import diagnose_recorded as _diagnose
from recorded import measurement

from advisor.pipeline import diagnose_paths
from advisor.signals.plateau import SADDLE_LENGTH

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "runs"


def test_a_slow_sigmoidal_start_on_ten_logged_epochs_is_not_a_saddle():
    """A CSV of ten epoch averages (camelCase keys), an MLP on digits at SGD 5e-3, batch 8: the loss
    reads 2.288, 2.255, 2.201, then 2.096, 1.908 ... 0.607, the accuracy 0.13, 0.24, 0.26 ... 0.86
    (label: healthy; the full-batch loss left its start after 18% of the run). The first three epochs
    read flat: two logging intervals of nine, 22% of the run between the points that show it (27%
    with half an epoch added at its end, where the loss may already be falling). No plateau."""
    r = _diagnose("g2stall14-s18-0209-digits-healthy_small_batch")
    assert "plateau" not in _patterns(r)
    # the stretch widened by half an epoch at its end would read 0.27 (a saddle before session 14)
    assert measurement(r, "plateau", "train_loss").values["length_fraction"] >= SADDLE_LENGTH


def test_a_warmup_that_holds_the_loss_for_three_of_ten_epochs_is_not_a_saddle():
    """A fastai CSV (epoch, train_loss, valid_loss, error_rate), a residual MLP on a 4-class task at
    Adam warmed up to 0.1 over 30% of the run: 0.923, 0.903, 0.931, then 0.80, 0.67 ... 0.23 (label:
    healthy; the full-batch loss left its start after 9% of the run). Three flat epochs of ten while
    the LR climbs: no plateau."""
    r = _diagnose("g2stall14-s18-0074-classif-warmup_to_high_peak")
    assert "plateau" not in _patterns(r)


def test_a_val_only_regression_that_pauses_for_three_of_thirteen_evaluations_is_not_a_saddle():
    """TensorBoard, validation loss only (bench/conventions.py's val-only rewrite of gen2 s17 0258),
    an MLP on Friedman #1 at Adam 3e-3: 0.284, 0.258, 0.259, 0.256, then 0.238 ... 0.155 (label:
    healthy; the full-batch loss fell 87%, most of it before the first evaluation). Three flat
    evaluations of thirteen are 18% of the run between them: no plateau."""
    r = _diagnose("g2stall14-vo17-0258-friedman-healthy_regression")
    assert "plateau" not in _patterns(r)


def test_saddles_of_a_third_of_the_run_are_still_called():
    """The labelled saddles nearest the bar keep their call: an LSTM at Adam 1.5e-4 (W&B legacy,
    14 epochs) flat at 1.10-1.07 for 34% of the log, then falling to 0.89 (label: plateau, raise the
    LR; stall 40% of the run by the full-batch loss), and the repo's plateau-saddle fixture (a deep
    tanh net at ln 10 for 32% of its run, then converging)."""
    r = _diagnose("g2stall14-oos237-0217-seq-lstm_adam_slow")
    assert "plateau" in _patterns(r)
    assert any(f.rule == "PLT002" for f in r.findings)
    d = diagnose_paths([str(FIXTURES / "plateau-saddle")])
    assert len(d.runs) == 1
    saddle = next(f for f in d.runs[0].findings if f.rule == "PLT002")
    assert saddle.pattern == "plateau"
