"""Console output saved to a file (advisor/ingest/console.py): Keras `fit`'s progress lines, Megatron-style
`iteration N/M | lm loss: ... |` lines and a loop's `Epoch [k/N] | train loss: ...` prints.

tests/data/formats/console/keras-verbose{1,2}/ hold one real Keras 3 fit each (keras_fit.py there:
torch backend, SGD 0.8 momentum 0.9, 30 epochs) logged twice at once: its terminal output (`verbose=1`,
the progress bar with carriage returns, ANSI colours and backspaces; `verbose=2`, one line an epoch)
and its CSVLogger file. `printed/` holds the two other layouts as their programs print them.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from advisor.ingest.console import parse
from advisor.ingest.discover import discover
from advisor.pipeline import diagnose_paths, read_runs
from advisor.roles import build_curves

CONSOLE = Path(__file__).resolve().parent / "data" / "formats" / "console"


def _one(path: Path):
    runs, errors = read_runs([str(path)])
    assert not errors and len(runs) == 1, errors
    return runs[0]


def _verdict(path: Path) -> tuple[list[str], str | None]:
    (run,) = diagnose_paths([str(path)]).runs
    first = run.findings[0].recommendations[0].action if run.findings and run.findings[0].recommendations else None
    return sorted(f.rule for f in run.findings), first


@pytest.mark.parametrize("verbose", ["keras-verbose1", "keras-verbose2"])
def test_a_keras_terminal_log_reads_as_its_csvlogger_file(verbose):
    """Each epoch's last progress update is the epoch's record, at Keras' 0-based epoch: the same
    points as the CSVLogger wrote (to the 4 decimals Keras prints) and the same diagnosis."""
    run = _one(CONSOLE / verbose / "console.log")
    assert run.format == "console" and run.writer == "keras" and not run.warnings
    csv = _one(CONSOLE / verbose / "training.csv")
    for tag in ("loss", "accuracy", "val_loss", "val_accuracy"):
        a, b = run.series[tag], csv.series[tag]
        assert list(a.step) == list(b.step) == list(range(30))
        np.testing.assert_allclose(a.value, b.value, atol=5.1e-5)
    curves = build_curves(run)[0]
    assert {"train_loss", "val_loss", "train_acc", "val_acc"} <= set(curves.by_role)
    assert all(c.x_kind == "epoch" for c in curves.by_role.values())
    assert _verdict(CONSOLE / verbose / "console.log") == _verdict(CONSOLE / verbose / "training.csv")


def test_a_megatron_iteration_log_reads_its_pipes():
    run = _one(CONSOLE / "printed" / "megatron.log")
    assert run.writer == "pipes"
    roles = build_curves(run)[1]
    assert roles["train_loss"] == "lm loss" and roles["lr"] == "learning rate" and roles["grad_norm"] == "grad norm"
    assert list(run.series["lm loss"].step) == [10, 20, 30]
    assert run.series["lm loss"].value[0] == pytest.approx(10.456)


def test_a_loops_epoch_prints_read_as_epochs_with_their_splits():
    run = _one(CONSOLE / "printed" / "loop.log")
    curves, roles = build_curves(run)[:2]
    assert roles == {"train_loss": "train loss", "val_loss": "val loss", "val_acc": "val acc", "lr": "lr"}
    assert list(run.series["val loss"].step) == [1, 2, 3, 4, 5] and curves.get("val_loss").x_kind == "epoch"


def test_the_step_is_the_x_where_a_line_names_both():
    text = "".join(f"epoch 2 step {100 * i} loss={1.0 / i:.3f} lr=0.001\n" for i in range(1, 5))
    grammar, records = parse(text)
    assert grammar == "lines" and [x for x, _ in records] == [100, 200, 300, 400]
    assert records[0][1] == {"loss": 1.0, "lr": 0.001}


@pytest.mark.parametrize("text", [
    "This project trains a net.\nStep 1: install it.\nStep 2: run it.\nStep 3: read the loss curve.\n",
    "torch==2.13.0\nnumpy>=2\nloss-landscapes==0.0.6\n",
    "epoch 1 loss: 0.5\nepoch 2 loss: 0.4\n",  # two records: a stray line, not a training's output
    "Epoch 1/3\nEpoch 2/3\nEpoch 3/3\n",  # epochs with no progress line
    "elapsed 12.0 s, 3 runs, batch 4\nelapsed 13.1 s, 3 runs, batch 4\nelapsed 13.9 s, 3 runs, batch 4\n",
])
def test_text_that_is_no_training_output_is_not_claimed(tmp_path, text):
    (tmp_path / "notes.txt").write_text(text)
    assert parse(text) is None
    sources, _ = discover([str(tmp_path)])
    assert sources == []


def test_an_hf_trainer_console_dump_is_left_to_its_state_file(tmp_path):
    """HF prints dicts with a fractional epoch and no step: not read here (trainer_state.json is)."""
    lines = [str({"loss": f"{1.0 / i:.4g}", "learning_rate": "5e-05", "epoch": f"{i / 2.4:.4g}"}) for i in range(1, 8)]
    (tmp_path / "train.log").write_text("\n".join(lines) + "\n")
    assert discover([str(tmp_path)])[0] == []


def test_a_cut_off_log_keeps_the_epochs_it_finished(tmp_path):
    text = (CONSOLE / "keras-verbose2" / "console.log").read_text()
    cut = text[: text.index("Epoch 11/30")] + "Epoch 11/30\n29/29 - 0s - 2ms/st"
    (tmp_path / "console.log").write_text(cut)
    run = _one(tmp_path / "console.log")
    assert list(run.series["loss"].step) == list(range(10))


def test_lines_built_to_backtrack_are_read_in_linear_time(tmp_path):
    """Every name and number the grammars match is bounded and starts at a token boundary: before that,
    a 64 KiB line of letters after `epoch 1` took 98 s in one regex. The CLI runs in a subprocess with a
    timeout so a regression fails instead of hanging the suite."""
    import subprocess
    import sys

    hostile = {
        "letters.log": "epoch 1 " + "a" * 65000 + "\n",
        "digits.log": "epoch 1 loss: " + "1" * 65000 + "x\n",
        "pipes.log": " iteration 1/ 2 " + "| a" * 20000 + "\n",
        "keras.log": "Epoch 1/2\n - loss: " + "9" * 65000 + "\n",
        "colons.txt": "step 3 " + "a:" * 32000 + "\n",
    }
    for name, text in hostile.items():
        (tmp_path / name).write_text(text * 3)
    proc = subprocess.run([sys.executable, "-m", "advisor", "diagnose", str(tmp_path), "--format", "json"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode in (0, 1, 2), proc.stderr[-500:]


def test_a_lightning_tqdm_bar_reads_as_its_csvlogger_epochs():
    """One real Lightning fit (lightning_fit.py there: TQDMProgressBar, CSVLogger, 12 epochs): the bar is
    redrawn with carriage returns many times an epoch; its last state of each epoch carries the epoch's
    val_loss and train_loss_epoch, the values CSVLogger wrote (to the 3 decimals the bar prints)."""
    run = _one(CONSOLE / "lightning-tqdm" / "console.log")
    assert run.writer == "lines" and run.meta["x_axis"] == "epoch"
    csv = _one(CONSOLE / "lightning-tqdm" / "metrics.csv")
    for tag in ("val_loss", "train_loss_epoch"):
        logged = csv.series[tag]
        assert list(run.series[tag].step) == list(range(12))
        np.testing.assert_allclose(run.series[tag].value, logged.value, atol=5.1e-4)
    roles = build_curves(run)[1]
    assert roles["val_loss"] == "val_loss" and roles["train_loss"] in ("train_loss_epoch", "train_loss_step")


def test_a_console_log_beside_a_structured_log_is_its_side_output(tmp_path):
    """`python train.py | tee train.log` next to the CSVLogger file of the same fit: one run, not two."""
    src = CONSOLE / "keras-verbose2"
    (tmp_path / "training.csv").write_text((src / "training.csv").read_text())
    (tmp_path / "train.log").write_text((src / "console.log").read_text())
    sources, _ = discover([str(tmp_path)])
    assert [s.format for s in sources] == ["csv"]
    alone = tmp_path / "elsewhere"
    alone.mkdir()
    (alone / "train.log").write_text((src / "console.log").read_text())
    assert sorted(s.format for s in discover([str(tmp_path)])[0]) == ["console", "csv"]
