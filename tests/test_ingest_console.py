"""Console output saved to a file (advisor/ingest/console.py): Keras `fit`'s progress lines, Megatron-style
`iteration N/M | lm loss: ... |` lines, a loop's `Epoch [k/N] | train loss: ...` prints and the HF Trainer's
printed dicts.

tests/data/formats/console/keras-verbose{1,2}/ hold one real Keras 3 fit each (keras_fit.py there:
torch backend, SGD 0.8 momentum 0.9, 30 epochs) logged twice at once: its terminal output (`verbose=1`,
the progress bar with carriage returns, ANSI colours and backspaces; `verbose=2`, one line an epoch)
and its CSVLogger file. `printed/` holds the two other layouts as their programs print them. hf-tqdm/ and hf-plain/ hold two real
transformers Trainer runs (hf_fit.py there) that saved no checkpoint, with the log_history their
trainer_state would have held (expected_log_history.json) as the truth; meters/ one real training printed as
MetricLogger and timm print it (meters_fit.py there), with the values printed as its truth.json;
lecture/, nanogpt/, mlx/, raschka/, llmc/ and llmc-cu/ one real character-level language model printed as
Karpathy's GPT lecture, nanoGPT, mlx-lm, "LLMs from scratch" and llm.c print it (gpt_fit.py there), with its
truth.json;
fairseq-simple/ and fairseq-json/ one printed by fairseq's own logging code (fairseq_fit.py there);
steps-diffusers/ and steps-kohya/ one whose only log is tqdm's bar over its steps (steps_fit.py there);
tf-estimator/ a TensorFlow Estimator's own output (tf_estimator_fit.py there); fairseq-subsets*/ fairseq with two
validation subsets; llmc-mainlog/ llm.c's own log file (gpt_fit.py); tutorial-*/ PyTorch's mnist example and
CIFAR-10 tutorial as they print (tutorial_fit.py), ignite-*/ real PyTorch-Ignite trainings (ignite_fit.py), flax/,
flax-highlr/ and clu-collections/ real JAX/Flax trainings logged through CLU's writers (flax_fit.py).
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from advisor.ingest.console import _counts_steps, records, sniff
from advisor.ingest.discover import discover
from advisor.pipeline import diagnose_paths, read_runs
from advisor.roles import build_curves, classify
from conftest import REAL_LOGS

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
    lines = text.splitlines()
    assert sniff(text) == "lines" and _counts_steps(lines)
    found = list(records("lines", lines, True))
    assert [x for x, _ in found] == [100, 200, 300, 400] and found[0][1] == {"loss": 1.0, "lr": 0.001}


@pytest.mark.parametrize("text", [
    "This project trains a net.\nStep 1: install it.\nStep 2: run it.\nStep 3: read the loss curve.\n",
    "torch==2.13.0\nnumpy>=2\nloss-landscapes==0.0.6\n",
    "epoch 1 loss: 0.5\nepoch 2 loss: 0.4\n",  # two records: a stray line, not a training's output
    "Epoch 1/3\nEpoch 2/3\nEpoch 3/3\n",  # epochs with no progress line
    "elapsed 12.0 s, 3 runs, batch 4\nelapsed 13.1 s, 3 runs, batch 4\nelapsed 13.9 s, 3 runs, batch 4\n",
    # prose around metric names (the review's README): no qualifier is `with`, `expect` or `student`
    "Step 1: train the base model with lr=0.1 for 10 epochs\nStep 2: fine-tune with lr=0.01, expect val_acc: 0.91\n"
    "Step 3: distil with lr=0.001 (student loss: 0.3 is typical)\n",
    # an app log and a Docker build: steps and numbers, no loss
    "".join(f"2024-01-01 12:00:0{i} INFO pipeline step {i}: rows=1000 errors=3 score=0.9\n" for i in range(5)),
    "Step 1/4 : FROM python:3.11\nStep 2/4 : ENV LR=0.001\nStep 3/4 : RUN pip install x\nStep 4/4 : CMD run\n",
])
def test_text_that_is_no_training_output_is_not_claimed(tmp_path, text):
    (tmp_path / "notes.txt").write_text(text)
    assert sniff(text) is None
    sources, _ = discover([str(tmp_path)])
    assert sources == []


def _history(folder: Path) -> list[dict]:
    return [h for h in json.loads((folder / "expected_log_history.json").read_text()) if "train_runtime" not in h]


@pytest.mark.parametrize("name", ["hf-tqdm", "hf-plain"])
def test_an_hf_trainer_console_log_reads_as_its_log_history(name):
    """A real Trainer run (hf_fit.py there) whose only log is what it printed: every metric at the
    step its trainer_state would hold, to the 4 digits printed (the bar's count after each dict in
    hf-tqdm; in hf-plain, printed without a bar, the epoch times the summary's steps per epoch)."""
    run = _one(CONSOLE / name / "train.log")
    assert (run.format, run.writer, run.meta["x_axis"]) == ("console", "hf", "step")
    history = _history(CONSOLE / name)
    assert set(run.series) == {"loss", "grad_norm", "learning_rate", "eval_loss"}
    for tag, series in run.series.items():
        logged = [(h["step"], h[tag]) for h in history if tag in h]
        assert series.step.tolist() == [step for step, _ in logged]
        assert np.allclose(series.value, [v for _, v in logged], rtol=6e-4)
    assert run.series["eval_loss"].step.tolist() == [84, 168, 252, 336]


HF_CASES = CONSOLE / "hf-cases"


def _matches_history(run, folder: Path) -> None:
    """Every metric of the log history (hf_fit.py's truth) at its step, to the 4 digits printed; a step
    logged twice (before a crash and again after the resume) is read at its later value."""
    history = _history(folder)
    tags = {k for h in history for k in h} - {"step", "epoch"}
    tags = {t for t in tags if not t.endswith(("_runtime", "_per_second", "_time")) and t != "total_flos"}
    assert tags and tags <= set(run.series), (tags, set(run.series))
    for tag in tags:
        logged = {h["step"]: h[tag] for h in history if tag in h}
        series = run.series[tag]
        read = dict(zip(series.step.tolist(), series.value.tolist()))  # the later of two at one step
        assert sorted(read) == sorted(logged), (tag, sorted(set(read) ^ set(logged)))
        assert np.allclose([read[k] for k in sorted(logged)], [logged[k] for k in sorted(logged)], rtol=6e-4)


@pytest.mark.parametrize("case", ["buffered", "premap-crash", "resume-plain", "resume-traceback", "slow-head", "torchrun"])
def test_an_hf_console_log_as_real_runs_print_it(case):
    """Real Trainer runs printing what real scripts print (hf_fit.py there): stdout block-buffered into
    the bar's lines; a datasets `Map:` bar drawn before training, killed before the summary; a run
    killed at step 150 and resumed from its step-100 checkpoint without a bar (the summary counts only
    the resumed steps); one that crashed with a traceback at step 105, just past its step-100
    checkpoint and last dict (no epoch goes back: the traceback ends the session); a slow run whose bar fills the first 16 KiB before its first dict; torchrun's
    `[default0]:` on every line. Every metric at the step its log history holds."""
    folder = HF_CASES / case
    run = _one(folder / "train.log")
    assert (run.writer, run.meta["x_axis"]) == ("hf", "step")
    _matches_history(run, folder)
    if case == "resume-plain":
        assert [e["kind"] for e in run.events] == ["restart"]


@pytest.mark.parametrize("name", ["hf-tqdm", "hf-plain"])
def test_an_hf_console_log_gets_the_diagnosis_of_its_trainer_state(tmp_path, name):
    """The same run read from its printout and from its trainer_state.json: the same findings and
    first action (hf-plain, at LR 1e-5, is a stall that wants a larger LR; hf-tqdm trains)."""
    state = tmp_path / "state"
    state.mkdir()
    history = json.loads((CONSOLE / name / "expected_log_history.json").read_text())
    (state / "trainer_state.json").write_text(json.dumps({"log_history": history, "global_step": 336,
                                                          "max_steps": 336, "num_train_epochs": 4}))
    assert _verdict(CONSOLE / name / "train.log") == _verdict(state)
    assert _verdict(CONSOLE / "hf-plain" / "train.log")[1] == "raise_lr"


def test_an_hf_console_log_cut_before_its_summary(tmp_path):
    """Killed mid-run: with the bar, every step is still the bar's; printed without a bar and killed
    before the summary, nothing gives the steps per epoch, and the dicts are placed by their rank."""
    for name in ("hf-tqdm", "hf-plain"):
        text = (CONSOLE / name / "train.log").read_text()
        (tmp_path / name).mkdir()
        (tmp_path / name / "train.log").write_text(text[: text.index("'epoch': '2.024'")])
    with_bar = _one(tmp_path / "hf-tqdm" / "train.log")
    assert with_bar.series["loss"].step.tolist() == list(range(10, 170, 10))
    plain = _one(tmp_path / "hf-plain" / "train.log")
    assert plain.meta["x_axis"] == "row" and plain.series["loss"].step.tolist() == list(range(1, 17))
    assert plain.series["eval_loss"].step.tolist() == [8, 16]  # each after its epoch's last training dict


def test_an_hf_console_log_of_transformers_4(tmp_path):
    """Before transformers 5 the values were printed as floats and the epoch rounded to 2 decimals:
    the same steps (the bar's, or the rounded epoch times the summary's steps per epoch)."""
    import re

    for name in ("hf-tqdm", "hf-plain"):
        text = (CONSOLE / name / "train.log").read_text()
        text = re.sub(r"'epoch': '([\d.]+)'", lambda m: f"'epoch': {round(float(m.group(1)), 2)}", text)
        text = re.sub(r"': '([-+\d.e]+)'", r"': \1", text)
        assert "'loss': 1." in text or "'loss': 0." in text
        (tmp_path / name).mkdir()
        (tmp_path / name / "train.log").write_text(text)
        run = _one(tmp_path / name / "train.log")
        assert run.series["loss"].step.tolist() == [h["step"] for h in _history(CONSOLE / name) if "loss" in h]


def test_a_loops_printed_dicts_under_a_bar_that_restarts_each_epoch(tmp_path):
    """`print({'epoch': e, 'loss': ...})` after each epoch's `tqdm(loader)`: the bar restarts at 0 each
    epoch, its count is no clock for the whole run, and every dict sits at its whole epoch."""
    bar = "\r{p:3d}%|{fill:<10}| {n}/50 [00:00<00:00, 900.00it/s]"
    text = ""
    for epoch in range(1, 9):
        text += "".join(bar.format(p=2 * n, fill="#" * (n // 5), n=n) for n in range(0, 51, 10)) + "\n"
        text += str({"epoch": epoch, "loss": round(1.0 / epoch, 4), "val_loss": round(1.2 / epoch + 0.01 * epoch, 4)}) + "\n"
    (tmp_path / "train.log").write_text(text)
    run = _one(tmp_path / "train.log")
    assert run.writer == "hf" and run.meta["x_axis"] == "epoch"
    assert run.series["loss"].step.tolist() == list(range(1, 9))
    assert run.series["val_loss"].value[-1] == pytest.approx(1.2 / 8 + 0.08, abs=1e-4)


@pytest.mark.parametrize("style, names", [("metriclogger", ("loss", "val_loss", "val_acc1", "lr")),
                                           ("timm", ("Loss", "val_Loss", "val_Acc@1", "LR")),
                                           ("swin", ("loss", "val_Loss", "val_Acc@1", "lr", "grad_norm"))])
def test_a_meter_loggers_print_reads_as_steps_with_its_evaluations(style, names):
    """A real training printed as torchvision's MetricLogger, timm's train.py or Swin's logger print it (meters_fit.py
    there: 8 epochs of 100 iterations, printed every 10): the step counts on across epochs from the
    bracket after the epoch, the loss is the value shown first (MetricLogger: its window's median),
    and each evaluation is one val point at the epoch's last printed step, its running average at
    the evaluation's last line."""
    folder = CONSOLE / "meters" / style
    truth = json.loads((folder / "truth.json").read_text())
    run = _one(folder / "train.log")
    assert run.meta["x_axis"] == "step" and set(run.series) == set(names)
    loss, val_loss, val_acc = (run.series[n] for n in names[:3])
    assert loss.step.tolist() == [t["step"] for t in truth["train"]]
    assert np.allclose(loss.value, [t["loss"] for t in truth["train"]])
    assert val_loss.step.tolist() == [100 * e + 99 for e in range(8)]
    assert np.allclose(val_loss.value, [t["loss"] for t in truth["test"]], atol=1e-4)
    assert np.allclose(val_acc.value, [t["acc1"] for t in truth["test"]], atol=1e-4)
    curves, roles = build_curves(run)
    assert (roles["train_loss"], roles["val_loss"]) == names[:2]


@pytest.mark.parametrize("style, train, val", [("lecture", "train loss", "val loss"), ("nanogpt", "loss", "val loss"),
                                                ("mlx", "Train loss", "Val loss"), ("raschka", "Train loss", "Val loss")])
def test_a_language_models_name_value_fields_read_at_their_steps(style, train, val):
    """`name value` fields after the position, separated by commas or pipes, as four popular LM scripts
    print them (gpt_fit.py: one real training each): every printed loss at its printed step, and the
    per-iteration loss (nanoGPT's `iter` lines) is the training loss beside the evaluations' estimates.
    Before, none of these logs was read (`name: value` or `name=value` only). A value with a unit
    (`time 25.61ms`, `mfu -100.00%`, `Peak mem 0.012 GB`) is no metric, nor are the Zen's lines above."""
    folder = CONSOLE / style
    truth = json.loads((folder / "truth.json").read_text())
    run = _one(folder / "train.log")
    expected = {"lecture": {"train loss": "train", "val loss": "val"},
                "nanogpt": {"train loss": "train", "val loss": "val", "loss": "iter"},
                "mlx": {"Train loss": "train", "Val loss": "val", "Learning Rate": None},
                "raschka": {"Train loss": "train", "Val loss": "val"}}[style]
    assert set(run.series) == set(expected)
    for tag, key in expected.items():
        if key is None:
            continue
        points = np.array(truth[key])
        assert run.series[tag].step.tolist() == points[:, 0].astype(int).tolist(), tag
        assert np.array_equal(run.series[tag].value, points[:, 1]), tag
    _, roles = build_curves(run)
    assert (roles["train_loss"], roles["val_loss"]) == (train, val)


@pytest.mark.parametrize("folder", ["fairseq-subsets", "fairseq-subsets-json"])
def test_fairseqs_second_validation_subset_is_its_own_val_curve(folder):
    """fairseq validates each --valid-subset in turn and tags its line by the subset's name (`| valid2 | epoch
    001 | valid on 'valid2' subset | loss 3.159 | ...`, `| valid2 | {"valid2_loss": ...}`): valid2's losses are
    val_valid2_loss, each at its num_updates, and the training loss keeps its own values. Before (a review's
    finding), valid2's loss overwrote train_inner's loss at the same update in the simple format and was
    dropped in the json one."""
    truth = json.loads((CONSOLE / folder / "truth.json").read_text())
    run = _one(CONSOLE / folder / "train.log")
    main = "val_loss" if folder == "fairseq-subsets" else "valid_loss"
    for tag, key in (("loss", "train_inner"), (main, "valid"), ("val_valid2_loss", "valid2")):
        assert [list(p) for p in zip(run.series[tag].step.tolist(), run.series[tag].value.tolist())] == truth[key], tag
    _, roles = build_curves(run)
    assert (roles["train_loss"], roles["val_loss"]) == ("loss", main)


def test_llm_cs_own_log_file_reads_as_train_and_val_loss():
    """llm.c's log file (-o DIR: DIR/main.log, llmc/logger.h's `s:0 trl:3.9675 lr:0.003000 norm:1.40` and
    `s:0 tel:3.8836`; gpt_fit.py writes it from a real training): trl is the training loss, tel the val
    loss, each at its step, to the 4 digits written. Before, the file was no training log."""
    folder = CONSOLE / "llmc-mainlog"
    truth = json.loads((folder / "truth.json").read_text())
    run = _one(folder / "main.log")
    assert run.series["train_loss"].step.tolist() == [s for s, _ in truth["train"]]
    assert np.allclose(run.series["train_loss"].value, [v for _, v in truth["train"]], atol=5e-5)
    assert run.series["val_loss"].step.tolist() == [s for s, _ in truth["val"]]
    assert np.allclose(run.series["val_loss"].value, [v for _, v in truth["val"]], atol=5e-5)
    assert set(run.series) == {"train_loss", "val_loss", "lr"}


def test_a_tensorflow_estimators_log_reads_its_evaluations_as_val():
    """TensorFlow's own INFO output of a real Estimator training (tf_estimator_fit.py, tensorflow-cpu 2.15.1):
    `loss = 1.43, step = 25 (0.067 sec)` every 25 steps, and after each evaluate() `Saving dict for global
    step 100: accuracy = 0.435, average_loss = 1.23, global_step = 100, loss = 1.23`: the evaluations are
    the val metrics at their global step, equal to what evaluate() returned. Before, the evaluation's loss
    overwrote the training loss at that step and its accuracy read as a training accuracy."""
    folder = CONSOLE / "tf-estimator"
    truth = json.loads((folder / "truth.json").read_text())
    run = _one(folder / "train.log")
    assert run.series["val_loss"].step.tolist() == [int(e["global_step"]) for e in truth]
    for tag, key in (("val_loss", "loss"), ("val_accuracy", "accuracy")):
        assert np.allclose(run.series[tag].value, [e[key] for e in truth], rtol=1e-6)
    assert run.series["loss"].step.tolist() == list(range(0, 800, 25))
    _, roles = build_curves(run)
    assert (roles["train_loss"], roles["val_loss"], roles["val_acc"]) == ("loss", "val_loss", "val_accuracy")


@pytest.mark.parametrize("style, loss", [("diffusers", "step_loss"), ("kohya", "avr_loss"), ("logged", "step_loss"),
                                         ("epochs", "step_loss")])
def test_a_bar_over_the_runs_steps_reads_each_redraw_at_its_count(style, loss):
    """A TQDM bar over the whole run's optimizer steps redrawn into a file (steps_fit.py: real tqdm 4.70, as
    diffusers' training scripts and kohya's sd-scripts set it up, and handed to a logger that prefixes each
    redraw with its time and name, or drawn beside an `Epoch k` bar whose postfix shows the last step's
    `loss`, which adds nothing: before, its 5 points were taken for the training loss): every redraw's
    postfix at the bar's
    count, exactly the values tqdm printed, the loss in it the training loss. Before, such a log read as
    nothing (a bar short of its total was taken for an epoch bar showing the last epoch's values)."""
    folder = CONSOLE / f"steps-{style}"
    truth = json.loads((folder / "truth.json").read_text())
    run = _one(folder / "train.log")
    expected: dict[str, list] = {}
    for step, postfix in truth:
        for pair in postfix.split(", "):
            name, value = pair.split("=")
            expected.setdefault(name, []).append([step, float(value)])
    assert set(run.series) == set(expected)
    for tag, points in expected.items():
        assert [list(p) for p in zip(run.series[tag].step.tolist(), run.series[tag].value.tolist())] == points
    _, roles = build_curves(run)
    assert roles["train_loss"] == loss


@pytest.mark.parametrize("style, train, val_steps", [("llmc", "train loss", [0, 50, 100, 150, 199]),
                                                     ("llmc-cu", "loss", [1, 51, 101, 151, 200])])
def test_llm_c_logs_read_with_their_validations(style, train, val_steps):
    """llm.c's trainers (gpt_fit.py prints their printf formats from a real training): train_gpt2.c's
    `step 0: train loss 3.97 (took 44.1 ms)` (0-based) and train_gpt2.cu's `step    1/200 | loss 3.97
    (+0.00z)| norm 1.39 (+0.00z)| lr 3.00e-03 | ...` (step + 1), with `val loss 3.88` on a line of its own
    printed before the evaluating step's line: each validation at the step line after it (so within one
    update of when it ran), the last one, after the last step line, at that line's step."""
    folder = CONSOLE / style
    truth = json.loads((folder / "truth.json").read_text())
    run = _one(folder / "train.log")
    assert [list(p) for p in zip(run.series[train].step.tolist(), run.series[train].value.tolist())] == truth["train"]
    assert run.series["val loss"].step.tolist() == val_steps
    assert run.series["val loss"].value.tolist() == [v for _, v in truth["val"]]
    _, roles = build_curves(run)
    assert (roles["train_loss"], roles["val_loss"]) == (train, "val loss")


@pytest.mark.parametrize("style, val", [("simple", "val_loss"), ("json", "valid_loss")])
def test_a_fairseq_train_log_reads_at_its_updates(style, val):
    """fairseq-train's `--log-format simple` (`| train_inner | epoch 001:  20 / 80 loss=4.852, ...,
    num_updates=20, ...` and `| valid | epoch 001 | valid on 'valid' subset | loss 3.31 | ... |
    num_updates 80 | best_loss 3.31`) and `json` lines (`| train_inner | {"epoch": 1, ..., "num_updates":
    "20"}`), printed by fairseq's own progress bars and meters (fairseq_fit.py): each train_inner loss at
    its num_updates, each validation at the update it ran after as the val loss, `gnorm` the grad norm; the
    epoch's means (`| train |`) and the best-so-far loss are no points. Before, the simple log read one point
    an epoch and no val loss, the json log every update at epoch 1, and neither the grad norm."""
    folder = CONSOLE / f"fairseq-{style}"
    truth = json.loads((folder / "truth.json").read_text())
    run = _one(folder / "train.log")
    assert run.meta["x_axis"] == "step"
    for tag, key in (("loss", "train_inner"), (val, "valid")):
        assert [list(p) for p in zip(run.series[tag].step.tolist(), run.series[tag].value.tolist())] == truth[key]
    assert not any("best" in tag for tag in run.series)
    _, roles = build_curves(run)
    assert (roles["train_loss"], roles["val_loss"], roles["grad_norm"]) == ("loss", val, "gnorm")


def test_name_value_fields_need_a_position_and_a_metric_name(tmp_path):
    """The comma-separated fields are read only after a line's position and only under a metric's name:
    prose with numbers (`we ran 3 epochs, loss 0.5 was fine`) and a position with no metric field
    (`step 3: rows 1000, errors 3`) give no record."""
    (tmp_path / "notes.log").write_text("we ran 3 epochs, loss 0.5 was fine\n" * 5
                                        + "".join(f"step {i}: rows 1000, errors 3\n" for i in range(5)))
    assert sniff((tmp_path / "notes.log").read_text()) is None


SWIN_RUNS = ["wandb-binary-cifar-overfit", "wandb-binary-cifar-lr3e-3-stuck", "wandb-binary-cifar-resnet18-healthy",
             "wandb-binary-cifar-interrupted"]


@pytest.mark.parametrize("name", SWIN_RUNS)
def test_a_swin_style_log_reads_as_the_runs_wandb_history(name):
    """The real W&B runs of real-logs kept their terminal output (files/output.log) from a Swin-style
    logger: `Train: [3/50]\tlr 0.000300\t... loss 1.92 (2.25)\t...` and `Validate: \t... Loss 1.98 (1.88)`.
    Read alone, the epoch's train loss (its running average) and the val loss are the ones the run
    logged to W&B, to the 4 decimals printed; where W&B has no optimizer to go by either (all but
    the stuck run, whose config names it), the same findings."""
    folder = REAL_LOGS / "wandb" / name
    (log,) = folder.glob("wandb/run-*/files/output.log")
    console, wandb = _one(log), _one(folder)
    for mine, theirs in (("loss", "train_loss"), ("val_Loss", "val_loss"), ("val_Acc@1", "val_acc")):
        assert console.series[mine].step.tolist() == wandb.series[theirs].step.tolist()
        assert np.allclose(console.series[mine].value, wandb.series[theirs].value, atol=6e-3, rtol=1e-4)
    if name != "wandb-binary-cifar-lr3e-3-stuck":
        assert _verdict(log) == _verdict(folder)


def test_a_mixed_precision_loss_scale_is_no_loss(tmp_path):
    """MAE, BEiT and DeiT print the GradScaler's `loss_scale: 65536.0000 (65536.0000)` beside the loss:
    a multiplier, never the training loss (nor any loss)."""
    text = (CONSOLE / "meters" / "metriclogger" / "train.log").read_text()
    text = text.replace("  time:", "  loss_scale: 65536.0000 (65536.0000)  time:")
    (tmp_path / "train.log").write_text(text)
    run = _one(tmp_path / "train.log")
    assert "loss_scale" in run.series
    curves, roles = build_curves(run)
    assert roles["train_loss"] == "loss" and "loss_scale" not in roles.values()
    assert {classify(t).kind for t in ("loss_scale", "train/loss_scale", "optimizer/loss_scale")} == {None}
    assert classify("loss").kind == "loss" and classify("lr_scale").kind == "lr"


@pytest.mark.parametrize("output_dir, formats", [("results", ["hf-trainer"]), ("out", ["hf-trainer"]),
                                                 ("outputs/run1", ["hf-trainer"]),
                                                 ("b/c/out", ["console", "hf-trainer"])])
def test_an_hf_console_log_beside_the_trainers_output_dir_is_its_side_output(tmp_path, output_dir, formats):
    """The printout next to the Trainer's own output_dir (whatever its name, its checkpoint-N/ up to three
    levels below) is that run's side output: one run, not two; a state file deeper down is another
    training's, and the printout stays a run."""
    history = json.loads((CONSOLE / "hf-plain" / "expected_log_history.json").read_text())
    checkpoint = tmp_path / output_dir / "checkpoint-336"
    checkpoint.mkdir(parents=True)
    (checkpoint / "trainer_state.json").write_text(json.dumps({"log_history": history, "global_step": 336}))
    (tmp_path / "train.log").write_text((CONSOLE / "hf-plain" / "train.log").read_text())
    (tmp_path / "stderr.log").write_text("UserWarning: something\n")  # the run's stderr, kept apart
    assert sorted(s.format for s in discover([str(tmp_path)])[0]) == formats


def test_a_loops_log_beside_a_results_folder_is_still_a_run(tmp_path):
    """Only the Trainer's printout is side output of a Trainer's folder: a loop's log beside a results/
    folder holding some CSV is a run of its own."""
    (tmp_path / "results").mkdir()
    (tmp_path / "results" / "predictions.csv").write_text("step,loss\n" + "".join(f"{i},{1 / (i + 1)}\n" for i in range(9)))
    (tmp_path / "train.log").write_text("".join(f"epoch {i} | step {10 * i} | train loss: {1 / i:.3f}\n" for i in range(1, 9)))
    assert sorted(s.format for s in discover([str(tmp_path)])[0]) == ["console", "csv"]


def test_a_printed_config_before_a_loops_lines_does_not_make_it_a_trainer_log(tmp_path):
    """One dict (`{'seed': 0, 'epoch': 0, ..., 'aux_loss_weight': 0.1}`) printed before the loop's
    records: the records are the run, read as lines."""
    config = str({"seed": 0, "epoch": 0, "lr": 0.001, "aux_loss_weight": 0.1, "batch_size": 32})
    lines = "".join(f"Epoch {i // 4} | step {100 * i} | train loss: {1 / i:.4f} | val loss: {1.2 / i:.4f}\n" for i in range(1, 21))
    (tmp_path / "train.log").write_text(config + "\n" + lines)
    run = _one(tmp_path / "train.log")
    assert run.writer == "lines" and len(run.series["train loss"].step) == 20
    (tmp_path / "train.log").write_text(config + "\n")
    assert discover([str(tmp_path)])[0] == []


def test_a_dict_printed_after_the_position_gives_the_lines_metrics(tmp_path):
    """HF's no_trainer examples log `epoch 3: {'accuracy': 0.91, 'f1': 0.88}` after each evaluation."""
    text = "".join(f"12/06/2026 15:00:0{i % 10} - INFO - __main__ - epoch {i}: {{'accuracy': {0.5 + i / 40}, 'loss': {1 / (i + 1):.4f}}}\n"
                   for i in range(10))
    (tmp_path / "train.log").write_text(text)
    run = _one(tmp_path / "train.log")
    assert run.writer == "lines" and run.meta["x_axis"] == "epoch"
    assert run.series["loss"].step.tolist() == list(range(10)) and run.series["accuracy"].value[-1] == pytest.approx(0.725)


@pytest.mark.parametrize("counter", ["step", "global_step", "iter"])
def test_a_loops_dicts_with_their_own_counter_sit_at_it(tmp_path, counter):
    text = "".join(str({counter: 10 * i, "loss": round(2 / i, 4), "epoch": i // 5}) + "\n" for i in range(1, 31))
    (tmp_path / "train.log").write_text(text)
    run = _one(tmp_path / "train.log")
    assert (run.writer, run.meta["x_axis"]) == ("dicts", "step") and set(run.series) == {"loss"}
    assert run.series["loss"].step.tolist() == [10 * i for i in range(1, 31)]


def test_a_loops_json_lines_in_a_log_file_are_read(tmp_path):
    """`print(json.dumps({"step": s, "loss": l, ...}))` redirected to train.log: JSON objects, read as
    a loop's dicts at their own step (the JSON-lines reader claims .jsonl/.json files only)."""
    rows = [json.dumps({"step": 25 * i, "loss": round(2 / i, 4), "lr": 0.01, "note": 'a "quoted", b'})
            for i in range(1, 21)]
    rows.insert(10, "validation done")  # a stray print between them
    rows.append(json.dumps({"step": 500, "val_loss": 0.3, "deep": [[[[1]]]]}))
    (tmp_path / "train.log").write_text("\n".join(rows) + "\n")
    run = _one(tmp_path / "train.log")
    assert (run.writer, run.meta["x_axis"]) == ("dicts", "step")
    assert run.series["loss"].step.tolist() == [25 * i for i in range(1, 21)]
    assert run.series["val_loss"].step.tolist() == [500] and "note" not in run.series


def test_an_hf_dict_at_a_non_finite_epoch_is_left_out(tmp_path):
    """A dict whose epoch is nan, inf or beyond any step is skipped; the run keeps every other one."""
    text = (CONSOLE / "hf-plain" / "train.log").read_text()
    bad = ["{'loss': '0.5', 'learning_rate': '1e-05', 'epoch': '%s'}\n" % e for e in ("nan", "inf", "1e300")]
    cut = text.index("{'loss'", 200)
    (tmp_path / "train.log").write_text(text[:cut] + "".join(bad) + text[cut:])
    run = _one(tmp_path / "train.log")
    assert run.series["loss"].step.tolist() == [h["step"] for h in _history(CONSOLE / "hf-plain") if "loss" in h]


def test_hf_dicts_every_step_past_epoch_10_keep_their_steps(tmp_path):
    """Logged every step, 1,000 steps an epoch: transformers prints the epoch to 4 digits, so past
    epoch 10 one printed epoch spans 10 steps and rounds up mid-way ('10.01' at step 10,005); each
    dict is still at its own step. (bench/bench_console.py reads 300 such epochs: there a fitted
    999.99999 steps an epoch made the 5-step round-up look like a missing dict, until the count
    allowed the estimate's own rounding.)"""
    rows = [str({"loss": f"{2 / (1 + s / 1000):.4g}", "learning_rate": "0.001", "epoch": f"{s / 1000:.4g}"})
            for s in range(1, 12_001)]
    rows.append(str({"train_runtime": "1200", "train_steps_per_second": "9.999", "train_loss": "1.0", "epoch": "12"}))
    (tmp_path / "train.log").write_text("\n".join(rows) + "\n")
    run = _one(tmp_path / "train.log")
    assert run.series["loss"].step.tolist() == list(range(1, 12_001))


def test_a_callbacks_extra_dict_does_not_shift_the_training_dicts(tmp_path):
    """`trainer.log({'custom_acc': 0.5})` from a callback prints a dict with no training loss between
    two logging steps: the training dicts after it keep their steps (no bar, the summary's scale)."""
    text = (CONSOLE / "hf-plain" / "train.log").read_text()
    cut = text.index("{'loss'", text.index("'epoch': '0.5952'"))
    (tmp_path / "train.log").write_text(text[:cut] + "{'custom_acc': '0.5', 'epoch': '0.6548'}\n" + text[cut:])
    run = _one(tmp_path / "train.log")
    assert run.series["loss"].step.tolist() == [h["step"] for h in _history(CONSOLE / "hf-plain") if "loss" in h]
    assert run.series["custom_acc"].step.tolist() == [55]


def test_a_dict_holding_an_int_beyond_the_float_range_is_no_crash(tmp_path):
    """A 400-digit id in a dict (read as a literal: the line holds a double quote) is skipped, not a
    traceback that loses every log of the folder."""
    rows = [str({"loss": f"{1 / i:.4f}", "epoch": f"{i / 4:.4g}", "run": "a\"b", "id": 10**400}) for i in range(1, 9)]
    (tmp_path / "train.log").write_text("\n".join(rows) + "\n")
    (tmp_path / "loop.log").write_text("".join(f"epoch {i} | train loss: {1 / i:.3f}\n" for i in range(1, 9)))
    runs, problems = read_runs([str(tmp_path)])
    assert not problems and sorted(r.writer for r in runs) == ["hf", "lines"]
    assert "id" not in next(r for r in runs if r.writer == "hf").series


def test_a_startup_dict_before_a_loops_bars_and_lines_is_no_trainer_log(tmp_path):
    """`Resumed from checkpoint: {'epoch': 5, 'best_val_loss': 0.42}` and then a loop's tqdm bars and
    epoch lines: read as the loop's lines (a bar is no evidence of a Trainer)."""
    bar = "".join(f"\r{n * 10:3d}%|{'#' * n:<10}| {n * 5}/50 [00:00<00:00, 900.00it/s]" for n in range(11))
    lines = "".join(f"{bar}\nepoch {e} | train loss: {1 / e:.4f}\n" for e in range(6, 16))
    (tmp_path / "train.log").write_text("Resumed from checkpoint: {'epoch': 5, 'best_val_loss': 0.42}\n" + lines)
    run = _one(tmp_path / "train.log")
    assert run.writer == "lines" and run.series["train loss"].step.tolist() == list(range(6, 16))


def test_hf_dict_values_are_read_as_literals_and_timings_are_no_metrics(tmp_path):
    """A string holding quotes (`"x', 'loss': 99"`) is one value, a nested dict is not read as top-level
    keys, and timings or token counts (`eval_model_preparation_time`, `num_input_tokens_seen`) are no
    metrics."""
    rows = [{"loss": f"{1 / i:.4f}", "note": "x', 'loss': 99, 'y", "extra": {"acc": 0.5},
             "num_input_tokens_seen": 1000 * i, "epoch": f"{i / 4:.4g}"} for i in range(1, 9)]
    rows.append({"eval_loss": "0.3", "eval_model_preparation_time": "0.0012", "epoch": "2"})
    (tmp_path / "train.log").write_text("".join(str(r) + "\n" for r in rows))
    run = _one(tmp_path / "train.log")
    assert set(run.series) == {"loss", "eval_loss"}
    assert run.series["loss"].value.tolist() == pytest.approx([1 / i for i in range(1, 9)], abs=1e-4)


@pytest.mark.parametrize("text", [
    "{'lr': 0.01, 'batch_size': 32, 'epochs': 10}\n" * 5,          # a printed config
    "{'loss': 0.5, 'acc': 0.9}\n{'loss': 0.4, 'acc': 0.91}\n" * 3,  # results without a position
])
def test_printed_dicts_without_an_epoch_and_a_loss_are_not_claimed(tmp_path, text):
    (tmp_path / "out.log").write_text(text)
    assert discover([str(tmp_path)])[0] == []


def test_a_cut_off_log_keeps_the_epochs_it_finished(tmp_path):
    text = (CONSOLE / "keras-verbose2" / "console.log").read_text()
    cut = text[: text.index("Epoch 11/30")] + "Epoch 11/30\n29/29 - 0s - 2ms/st"
    (tmp_path / "console.log").write_text(cut)
    run = _one(tmp_path / "console.log")
    assert list(run.series["loss"].step) == list(range(10))


def test_lines_built_to_backtrack_are_read_in_linear_time(tmp_path):
    """Every name and number the grammars match is bounded, starts at a token boundary and splits words
    at spaces only: a first draft took 98 s on one 64 KiB line of letters after `epoch 1`, and ~5 s a MB
    on `a_a_a...` runs. Each hostile line sits among real records, so the file is claimed and read()
    runs over it too; the CLI runs in a subprocess with a timeout so a regression fails, not hangs."""
    import subprocess
    import sys

    records = "".join(f"epoch {i} train loss: {1.0 / i:.3f}\n" for i in range(1, 5))
    hostile = {
        "letters.log": "epoch 1 " + "a" * 65000,
        "underscores.log": "step 3 " + "a_" * 32000 + "= 1",
        "digits.log": "epoch 1 loss: " + "1" * 65000 + "x",
        "pipes.log": " iteration 1/ 2 " + "| a" * 20000,
        "keras.log": "Epoch 1/2\n - loss: " + "9" * 65000,
        "colons.txt": "step 3 " + "a:" * 32000,
        "swin.log": "Train: [1/2]\t" + "a 1 " * 16000,
        "meters.log": "Epoch: [1]  [ 3/9]  " + "loss: 1 (" * 7000,
        "json.log": "".join(f'{{"step": {i}, "loss": {1 / i:.3f}}}\n' for i in range(1, 4))
                    + '{"step": 4, "loss": 1, "a": ' + "[" * 30000 + "]" * 30000 + "}",
        "nested.log": "".join(f"{{'loss': '{1 / i:.3f}', 'epoch': '{i / 10}'}}\n" for i in range(1, 4))
                      + "{'loss': 1, 'a': " + "{'a': " * 9000 + "1" + "}" * 9001,
        "hf.log": "".join(f"{{'loss': '{1 / i:.3f}', 'epoch': '{i / 10}'}}\n" for i in range(1, 4))
                  + "{'loss': '1', " + "'a a': '1e" * 6500,
    }
    for name, line in hostile.items():
        folder = tmp_path / name.split(".")[0]
        folder.mkdir()
        (folder / name).write_text(records + (line + "\n") * 3 + records)
    proc = subprocess.run([sys.executable, "-m", "advisor", "diagnose", str(tmp_path), "--format", "json"],
                          capture_output=True, text=True, timeout=60)
    assert "Traceback" not in proc.stderr and proc.returncode in (0, 1), proc.stderr[-500:]
    import json

    assert len(json.loads(proc.stdout)["runs"]) == len(hostile)


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


def _keras_epoch(k: int, n: int, total: int, loss: float, val: float | None, updates: int = 1) -> str:
    """One epoch of Keras 3's verbose=2 line (or `updates` verbose=1 redraws before it)."""
    bar = "".join(f"\r{i}/{total} - 0s - 2ms/step - loss: {loss + 0.01 * (total - i):.4f}" for i in range(1, updates))
    tail = f" - val_loss: {val:.4f}" if val is not None else ""
    return f"Epoch {k}/{n}\n{bar}\r{total}/{total} - 0s - 2ms/step - loss: {loss:.4f}{tail}\n"


def test_an_evaluate_after_fit_is_not_the_last_epoch(tmp_path):
    """`model.evaluate` prints a bar of its own length (the test set's batches) after the last epoch."""
    text = "".join(_keras_epoch(k, 5, 29, 1.0 / k, 1.1 / k) for k in range(1, 6)) + "10/10 - 0s - loss: 0.0100\n"
    (tmp_path / "fit.log").write_text(text)
    run = _one(tmp_path / "fit.log")
    assert run.series["loss"].value[-1] == pytest.approx(0.2) and run.series["val_loss"].value[-1] == pytest.approx(0.22)


def test_a_long_verbose_bar_is_claimed_from_its_first_epoch(tmp_path):
    """600 redraws an epoch (~40 KiB) put no whole epoch in the 16 KiB a claim reads."""
    text = "".join(_keras_epoch(k, 4, 600, 1.0 / k, 1.1 / k, updates=600) for k in range(1, 5))
    assert len(text.split("Epoch 2/4")[0]) > 16384
    (tmp_path / "fit.log").write_text(text)
    run = _one(tmp_path / "fit.log")
    assert list(run.series["loss"].step) == [0, 1, 2, 3] and run.series["loss"].value[0] == pytest.approx(1.0)


def test_a_tutorials_step_that_restarts_each_epoch_counts_on(tmp_path):
    """`Epoch [2/3], Step [100/600], Loss: ...` (the PyTorch tutorials' print): epoch 2's step 100 is 700."""
    text = "".join(f"Epoch [{e}/3], Step [{s}/600], Loss: {1.0 / (e * s):.6f}\n" for e in (1, 2, 3)
                   for s in range(100, 601, 100))
    (tmp_path / "train.log").write_text(text)
    run = _one(tmp_path / "train.log")
    assert list(run.series["Loss"].step) == list(range(100, 1801, 100)) and not run.events


def test_an_epochs_val_summary_between_step_lines_sits_at_its_last_step(tmp_path):
    text = "".join(f"step {s} loss={1.0 / s:.4f} lr=0.001\n" + (f"Epoch {s // 300} | val loss: {0.9 / s:.4f}\n"
                   if s % 300 == 0 else "") for s in range(100, 901, 100))
    (tmp_path / "train.log").write_text(text)
    run = _one(tmp_path / "train.log")
    assert list(run.series["val loss"].step) == [300, 600, 900]
    assert build_curves(run)[1]["val_loss"] == "val loss"


def test_two_fits_in_one_log_are_a_restart(tmp_path):
    """A second training appended to the log (its step counter back at the first step) is the one read, with a
    warning; a counter that starts over more than once (each epoch's batches, no epoch printed) is kept."""
    text = "".join(f"step {s} loss={1.0 / s:.4f}\n" for s in (1, 2, 3, 4)) * 2
    (tmp_path / "train.log").write_text(text)
    run = _one(tmp_path / "train.log")
    assert run.events == [{"kind": "restart", "step": 1, "reason": "a new training", "dropped": 4, "new_training": True}]
    assert run.series["loss"].step.tolist() == [1, 2, 3, 4]
    assert len(run.warnings) == 1 and "2 trainings logged into one file" in run.warnings[0]
    (tmp_path / "train.log").write_text(text + text)
    run = _one(tmp_path / "train.log")
    assert len(run.series["loss"]) == 16 and not run.warnings and all("dropped" not in e for e in run.events)


def test_megatron_validation_lines_are_the_val_loss(tmp_path):
    text = "".join(f" iteration {i}/ 300 | learning rate: 3.0E-04 | lm loss: {10.0 / i:.6E} | grad norm: 1.2 |\n"
                   + (f" validation loss at iteration {i} | lm loss value: {11.0 / i:.6E} | lm loss PPL: 3.1E+01 |\n"
                      if i % 20 == 0 else "") for i in range(10, 61, 10))
    (tmp_path / "slurm-1.out").write_text(text)
    run = _one(tmp_path / "slurm-1.out")
    roles = build_curves(run)[1]
    assert roles["train_loss"] == "lm loss" and roles["val_loss"] == "validation lm loss value"
    assert list(run.series["validation lm loss value"].step) == [20, 40, 60]


def test_a_lightning_log_cut_mid_epoch_adds_no_point(tmp_path):
    """The bar of an unfinished epoch still shows the epoch before's postfix: it is not a record."""
    text = (CONSOLE / "lightning-tqdm" / "console.log").read_text()
    cut = text[: text.index("Epoch 5:")] + "Epoch 5:  38%|###8      | 6/16 [00:00<00:00, train_loss_step=0.3, val_loss=0.338]"
    (tmp_path / "console.log").write_text(cut)
    run = _one(tmp_path / "console.log")
    assert list(run.series["val_loss"].step) == [0, 1, 2, 3, 4]


def test_several_console_logs_beside_a_summary_table_are_each_a_run(tmp_path):
    (tmp_path / "summary.csv").write_text("lr,best_val_loss,best_val_acc\n0.1,0.5,0.8\n0.01,0.6,0.7\n")
    for name in ("lr0.1.log", "lr0.01.log"):
        (tmp_path / name).write_text((CONSOLE / "keras-verbose2" / "console.log").read_text())
    assert sorted(s.format for s in discover([str(tmp_path)])[0]) == ["console", "console", "csv"]


def test_a_console_log_beside_a_loggers_folder_is_its_side_output(tmp_path):
    live = tmp_path / "dvclive" / "plots" / "metrics"
    live.mkdir(parents=True)
    (live / "loss.tsv").write_text("step\tloss\n" + "".join(f"{i}\t{1.0 / (i + 1)}\n" for i in range(5)))
    (tmp_path / "train.log").write_text((CONSOLE / "keras-verbose2" / "console.log").read_text())
    assert [s.format for s in discover([str(tmp_path)])[0]] == ["dvclive"]


def test_one_stray_step_line_does_not_make_an_epoch_log_a_step_log(tmp_path):
    """500 epoch lines and one `Resumed at step 50000` (the second review): still 500 epochs."""
    text = "".join(f"Epoch [{e}/500] | train loss: {1.0 / e:.4f} | val loss: {1.1 / e:.4f} | lr: 0.001\n"
                   for e in range(1, 251)) + "Resumed at step 50000 | lr: 0.0001\n" + "".join(
        f"Epoch [{e}/500] | train loss: {1.0 / e:.4f} | val loss: {1.1 / e:.4f} | lr: 0.0001\n" for e in range(251, 501))
    (tmp_path / "train.log").write_text(text)
    run = _one(tmp_path / "train.log")
    assert list(run.series["train loss"].step) == list(range(1, 501)) and run.meta["x_axis"] == "epoch"


def test_an_epoch_summary_does_not_overwrite_the_steps_metric_of_the_same_name(tmp_path):
    text = "".join(f"step {s} loss: {100 / s:.4f}\n" + (f"Epoch {s // 300} done | loss: 0.9 | val_loss: {300 / s:.3f}\n"
                   if s % 300 == 0 else "") for s in range(100, 901, 100))
    (tmp_path / "train.log").write_text(text)
    run = _one(tmp_path / "train.log")
    np.testing.assert_allclose(run.series["loss"].value, [100 / s for s in range(100, 901, 100)], atol=1e-4)
    assert list(run.series["val_loss"].step) == [300, 600, 900]


def test_a_batch_counter_from_zero_each_epoch_loses_no_point(tmp_path):
    text = "".join(f"Epoch {e} batch {b} loss: {1.0 / (10 * e + b + 1):.4f}\n" for e in (1, 2, 3) for b in (0, 100, 200))
    (tmp_path / "train.log").write_text(text)
    steps = list(_one(tmp_path / "train.log").series["loss"].step)
    assert len(steps) == 9 and steps == sorted(set(steps))


def test_an_evaluate_bar_as_long_as_the_epochs_does_not_replace_it(tmp_path):
    text = "".join(_keras_epoch(k, 3, 29, 1.0 / k, 1.2 / k) for k in range(1, 4)) + "29/29 - 0s - 1ms/step - loss: 0.0100\n"
    (tmp_path / "fit.log").write_text(text)
    run = _one(tmp_path / "fit.log")
    assert run.series["loss"].value[-1] == pytest.approx(1 / 3, abs=1e-4) and len(run.series["val_loss"]) == 3


def test_the_pytorch_mnist_examples_print(tmp_path):
    """pytorch/examples mnist: `Train Epoch: 1 [640/60000 (1%)]\\tLoss: 0.31` (the bracket counts samples of
    the epoch's 60,000): every printed point at its sample count, counting on over the epochs, and no metric
    named after the position. Before session 19, one point an epoch (the last printed)."""
    text = "".join(f"Train Epoch: {e} [{b * 640}/60000 ({b}%)]\tLoss: {2.3 / (e + b / 100):.6f}\n"
                   for e in (1, 2, 3) for b in range(0, 100, 20))
    (tmp_path / "mnist.log").write_text(text)
    run = _one(tmp_path / "mnist.log")
    assert list(run.series) == ["Loss"]
    assert run.series["Loss"].step.tolist() == [(e - 1) * 60000 + b * 640 for e in (1, 2, 3) for b in range(0, 100, 20)]


def test_a_readme_quoting_a_trainings_output_is_no_run(tmp_path):
    """A project's README.txt (or CHANGELOG, LICENSE...) quoting nanoGPT's output three times is
    documentation, not a log: no run (a review found it read as a 9-point training with two restarts).
    The same lines in train.log are one."""
    lines = "".join(f"step {s}: train loss {4 - s / 250:.4f}, val loss {4.1 - s / 250:.4f}\n" for s in range(0, 750, 250))
    (tmp_path / "README.txt").write_text(("Example output:\n" + lines + "\n") * 3)
    assert read_runs([str(tmp_path)])[0] == []
    (tmp_path / "train.log").write_text(lines * 2)
    assert [r.name.split("/")[-1] for r in read_runs([str(tmp_path)])[0]] == ["train.log"]


@pytest.mark.parametrize("style", ["tutorial-mnist", "tutorial-mnist-highlr"])
def test_the_pytorch_mnist_example_reads_every_printed_loss_and_its_test_set(style):
    """pytorch/examples' mnist/main.py as it prints (tutorial_fit.py: one real training each): every `Train
    Epoch: e [n/N (p%)]\\tLoss:` line at its sample count, counting on over the epochs, and each `Test set:
    Average loss: 0.19, Accuracy: 343/360 (95%)` as test_loss and test_accuracy (the fraction, not 343) at the
    train line before it: the run's val curves. The example's last short batch prints a count that goes back
    (`[638/1437 (96%)]` after `[1280/1437 (87%)]`): placed by its percent, within 2% of the epoch. Before, one
    loss an epoch and no test curve at all."""
    folder = CONSOLE / style
    truth = json.loads((folder / "truth.json").read_text())
    run = _one(folder / "train.log")
    assert set(run.series) == {"Loss", "test_loss", "test_accuracy"} and not run.warnings
    got, want = run.series["Loss"], np.array(truth["train"])
    assert np.array_equal(got.value, want[:, 1])
    off = np.abs(got.step - want[:, 0])
    assert (off <= 0.02 * 1437).all() and (off > 0).sum() == 14  # the 14 epochs' short last batches alone
    assert np.all(np.diff(got.step) > 0)
    for tag in ("test_loss", "test_acc"):
        series = run.series["test_accuracy" if tag == "test_acc" else tag]
        assert np.allclose(series.value, np.array(truth[tag])[:, 1])
        assert np.array_equal(series.step, got.step[np.searchsorted(want[:, 0], np.array(truth[tag])[:, 0])])
    _, roles = build_curves(run)
    assert (roles["train_loss"], roles["val_loss"], roles["val_acc"]) == ("Loss", "test_loss", "test_accuracy")


def test_the_pytorch_mnist_examples_verdicts():
    """The same two trainings diagnosed: the tuned one (Adadelta 1.0) healthy; at Adadelta 60 the net sits at
    chance (test accuracy 9%) and the loss at ln 10 from the first epoch: a plateau."""
    assert _verdict(CONSOLE / "tutorial-mnist") == ([], None)
    rules, _ = _verdict(CONSOLE / "tutorial-mnist-highlr")
    assert rules and rules[0].startswith("PLT")


def test_the_cifar10_tutorials_epoch_minibatch_lines_read_at_their_minibatch():
    """PyTorch's "Training a Classifier" tutorial prints `[%d, %5d] loss: %.3f` % (epoch + 1, i + 1, running
    loss): tutorial_fit.py cifar, one real training of 6 epochs of 360 minibatches printed every 40. Every loss
    at epoch * 360 + i + 1: the epoch's length is not printed, so the reader counts on from the last printed
    minibatch (360, printed as the epoch's last). Before, the log was no training log at all."""
    folder = CONSOLE / "tutorial-cifar"
    truth = json.loads((folder / "truth.json").read_text())
    run = _one(folder / "train.log")
    assert list(run.series) == ["loss"]
    assert [list(p) for p in zip(run.series["loss"].step.tolist(), run.series["loss"].value.tolist())] == truth["train"]


@pytest.mark.parametrize("style", ["ignite-print", "ignite-print-highlr", "ignite-tqdm"])
def test_ignites_results_lines_keep_the_training_and_validation_sets_apart(style):
    """PyTorch-Ignite's MNIST examples (ignite_fit.py: real ignite 0.5.5 trainings) print `Training Results -
    Epoch: 3  Avg accuracy: 0.74 Avg loss: 1.72` and `Validation Results - Epoch: 3  ...` with the same names:
    the validation line's are val_ metrics (the phase named before the position), so the two sets are two
    curves. Before, the validation values overwrote the training set's under one name. ignite-print also
    prints `Epoch[e] Iteration[i/N] Loss:` with the global iteration: every loss at it, the Results lines at the
    last iteration printed before them; ignite-tqdm's iteration bar (stderr, carriage returns) adds nothing."""
    folder = CONSOLE / style
    truth = json.loads((folder / "truth.json").read_text())
    run = _one(folder / "train.log")
    assert set(run.series) == {"Avg accuracy", "Avg loss", "val_Avg accuracy", "val_Avg loss"} | (
        {"Loss"} if truth["train"] else set())
    if truth["train"]:
        assert [list(p) for p in zip(run.series["Loss"].step.tolist(), run.series["Loss"].value.tolist())] == truth["train"]
    for prefix, key in (("", "train_results"), ("val_", "val_results")):
        want = np.array(truth[key])
        assert run.series[prefix + "Avg accuracy"].step.tolist() == want[:, 0].astype(int).tolist()
        assert np.array_equal(run.series[prefix + "Avg accuracy"].value, want[:, 1])
        assert np.array_equal(run.series[prefix + "Avg loss"].value, want[:, 2])
    _, roles = build_curves(run)
    assert roles["val_loss"] == "val_Avg loss" and roles["val_acc"] == "val_Avg accuracy"
    # the per-iteration loss (4 decimals, every 5 iterations) is the training loss, not the Results lines' 2-decimal
    # `Avg loss`: an average measures the same loss as `val_Avg loss` (roles.loss_stem drops averaging words)
    assert roles["train_loss"] == ("Avg loss" if style == "ignite-tqdm" else "Loss")
    rules, _ = _verdict(folder)
    assert (rules and rules[0].startswith("DIV")) if style.endswith("highlr") else rules == []


@pytest.mark.parametrize("style", ["flax", "flax-highlr", "clu-collections"])
def test_clus_logging_writer_lines_read_at_their_steps_with_the_hyperparameters(style):
    """JAX/Flax trainings log through CLU's metric writers; the terminal shows its LoggingWriter's absl lines
    (flax_fit.py: real jax 0.10 / flax 0.12 / clu 0.0.12 trainings): `I1206 20:55:06.73 1397 logging_writer.py:48]
    [20] steps_per_second=4048.17, train_accuracy=0.757812, ...` at step 20, `[22] collection=eval accuracy=0.79,
    loss=0.67` as eval_ metrics (a writer per collection: each evaluation collection keeps its name), and `[Hyperparameters] {'learning_rate': 0.1, ...}`
    as the run's hyperparameters. Before, none of it was a training log."""
    folder = CONSOLE / style
    truth = json.loads((folder / "truth.json").read_text())
    run = _one(folder / "train.log")
    names = ("loss" if style == "clu-collections" else "train_loss", "eval_loss", "eval_accuracy")
    for tag, key in zip(names, ("train", "eval_loss", "eval_accuracy")):
        assert [list(p) for p in zip(run.series[tag].step.tolist(), run.series[tag].value.tolist())] == truth[key], tag
    assert run.hparams["learning_rate"] == (3.0 if style == "flax-highlr" else 0.1)
    assert run.hparams["optimizer"] == "sgd" and run.hparams["batch_size"] == 64
    assert "steps_per_second" not in build_curves(run)[1].values()
    _, roles = build_curves(run)
    assert (roles["train_loss"], roles["val_loss"], roles["val_acc"]) == names
    if style != "flax-highlr":
        assert _verdict(folder) == ([], None)
    else:  # SGD 3.0 at momentum 0.9 (30x the usual top): at chance from its first logged loss; never "raise it"
        assert _verdict(folder) == (["ACC001"], "lower_lr")


def test_a_loss_that_blows_up_printed_in_fixed_point_keeps_every_point(tmp_path):
    """`Loss: {:.6f}` prints a loss of 1e100 as 101 digits. Numbers were bounded at 30 digits, so every point past
    1e30 was dropped and an explosion read as its first few points (a review's listed gap since session 18);
    now up to float's 309 digits, and beyond that the line's `inf`."""
    values = [2.3 * 10.0 ** (10 * k) for k in range(31)] + [float("inf")]
    text = "".join(f"Train Epoch: 1 [{i * 64}/60000 ({i * 64 / 600:.0f}%)]\tLoss: {v:.6f}\n" for i, v in enumerate(values))
    (tmp_path / "train.log").write_text(text)
    loss = _one(tmp_path / "train.log").series["Loss"]
    assert len(loss) == 32 and np.allclose(loss.value[:31], values[:31], rtol=1e-12) and np.isinf(loss.value[-1])


def test_paddleocrs_trainer_lines_read_at_their_global_step_with_its_evaluations():
    """PaddleOCR's tools/program.py, copied by many OCR and detection trainers (paddle_fit.py: a real training
    printed with its logger and format strings): `epoch: [1/12], global_step: 10, loss: 2.299814, lr: ...` at
    global_step 10, not one point an epoch at the epoch; `cur metric, acc: 0.81, ...` as val_acc at the step
    printed before it (its `best metric, ...` is no curve). Before, 12 points (one an epoch) and no eval."""
    folder = CONSOLE / "paddleocr"
    truth = json.loads((folder / "truth.json").read_text())
    run = _one(folder / "train.log")
    assert [list(p) for p in zip(run.series["loss"].step.tolist(), run.series["loss"].value.tolist())] == truth["train"]
    got = run.series["val_acc"]
    assert got.step.tolist() == [s for s, _ in truth["eval_acc"]] and np.allclose(got.value, [v for _, v in truth["eval_acc"]])
    _, roles = build_curves(run)
    assert (roles["train_loss"], roles["val_acc"]) == ("loss", "val_acc") and "norm_edit_dis" not in run.series
    assert _verdict(folder) == ([], None)


@pytest.mark.parametrize("folder", ["fastai-table", "fastai-table-highlr", "fastai-table-regression"])
def test_fastais_results_table_in_a_terminal_reads_as_its_csvlogger_file(folder):
    """fastai's fit in a terminal prints its results table one row an epoch (fastprogress' console bar: the
    header `epoch  train_loss  valid_loss  accuracy  error_rate  time`, each row after its epoch's bar redraws;
    fastai_fit.py: two real fastai 2.8 trainings, its CSVLogger's history.csv beside as the truth): every row at
    its epoch, the values to the 6 decimals printed, the metrics the validation set's (as fastai computes them),
    and the same diagnosis as the CSV. Before, the terminal output was no training log."""
    run = _one(CONSOLE / folder / "console.log")
    csv = _one(CONSOLE / folder / "history.csv")
    assert run.writer == "fastai" and set(run.series) == set(csv.series)  # every metric column (`_rmse`, `mae` too)
    for tag in run.series:
        assert run.series[tag].step.tolist() == csv.series[tag].step.tolist() == list(range(len(run.series[tag])))
        np.testing.assert_allclose(run.series[tag].value, csv.series[tag].value, atol=5.1e-7)
    assert build_curves(run)[1] == build_curves(csv)[1]
    assert _verdict(CONSOLE / folder / "console.log") == _verdict(CONSOLE / folder / "history.csv")
    assert _verdict(CONSOLE / folder / "console.log")[0] == (["DIV003"] if folder.endswith("highlr") else [])


@pytest.mark.parametrize("train, val", [("Loss", "val_Avg loss"), ("running_loss", "val_loss"),
                                        ("train/loss_mean", "val/loss"), ("Avg loss", "val_Avg loss")])
def test_an_averaged_loss_measures_the_same_loss_as_its_val_loss(train, val):
    """How a loss was averaged (`Avg`, `mean`, `running`) is not what it measures: a run logging `running_loss`
    and `val_loss` compares the two (train/val gap, overfitting). Before, `running_loss` and `val_loss` were two
    objectives, and with Ignite's `Loss` beside `Avg loss` and `val_Avg loss` the 2-decimal `Avg loss` took the
    training role for matching `val_Avg loss` by name. An RMSE loss is still not the loss."""
    from advisor.roles import loss_stem

    assert loss_stem(train) == loss_stem(val) == "loss"
    assert loss_stem("val/rmse_loss") != loss_stem("val_loss")


@pytest.mark.parametrize("layout", ["one-line", "one-per-line"])
def test_a_printed_argparse_namespace_is_the_runs_hyperparameters(tmp_path, layout):
    """`print(args)` before training (DeiT, MAE and countless own scripts): argparse's real Namespace repr, on one
    line or one argument a line as MAE prints it (`'{}'.format(args).replace(', ', ',\\n')`), above MetricLogger
    lines. Its literal values become the run's hyperparameters (LR, optimizer, batch size, momentum); a value
    that is no literal is left out and nothing is evaluated. Before, a printed log carried no hyperparameters,
    so the LR rules could not read the LR (the main information a printed layout lost, bench/README)."""
    import argparse

    parser = argparse.ArgumentParser()
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--lr", type=float, default=5e-4)
    parser.add_argument("--opt", default="adamw")
    parser.add_argument("--momentum", type=float, default=0.9)
    parser.add_argument("--input-size", nargs=2, type=int, default=[224, 224])
    parser.add_argument("--device", type=lambda s: __import__("os").path, default=__import__("os").path)
    args = parser.parse_args([])
    head = "{}".format(args).replace(", ", ",\n") if layout == "one-per-line" else str(args)
    steps = "".join(f"Epoch: [{e}]  [{i:>3d}/100]  eta: 0:00:10  lr: 0.000500  loss: {2.3 / (1 + e + i / 100):.4f} "
                    f"(2.0000)  time: 0.1\n" for e in range(5) for i in range(0, 100, 20))
    (tmp_path / "train.log").write_text(head + "\n" + steps)
    run = _one(tmp_path / "train.log")
    assert run.hparams == {"batch_size": 64, "lr": 5e-4, "opt": "adamw", "momentum": 0.9}
    assert build_curves(run)[0].hparams["optimizer"] == "adamw"
    assert len(run.series["loss"]) == 25


# A review of session 19's readers broke them on inputs like these (/tmp/review19 cases): each must read as stated.
REVIEWED = {
    # a rank or pid in brackets before `step=`: the line's step, not CLU's `[step]`
    "rank-prefix": ("".join(f"[0] step={s} loss={1 / (1 + s / 100):.4f}\n" for s in range(0, 1000, 100)),
                    {"loss": list(range(0, 1000, 100))}),
    "pid-prefix": ("".join(f"[2024-05-01 10:00:00] [12345] step={s} loss={1 / (1 + s / 100):.4f} lr=0.001\n"
                           for s in range(0, 1000, 100)), {"loss": list(range(0, 1000, 100))}),
    # a host, logger or experiment name holding `dev`/`val` is no evaluation phase
    "host-dev": ("".join(f"[dev-gpu01] Epoch {e}/10 - loss: {1 / e:.4f} - acc: {1 - 0.5 / e:.4f}\n" for e in range(1, 11)),
                 {"loss": list(range(1, 11)), "acc": list(range(1, 11))}),
    # Ignite through a logger named `train`: its Validation Results are still the val_ ones
    "ignite-logger": ("".join("".join(f"2024-05-01 10:00:0{e} train INFO: Epoch[{e}] Iteration[{i}/10] Loss: {1 / i:.2f}\n"
                                      for i in range(e * 10 - 6, e * 10 + 1, 3))
                              + f"2024-05-01 10:00:0{e} train INFO: Training Results - Epoch: {e}  Avg accuracy: 0.{5 + e} "
                              f"Avg loss: {1 / e:.2f}\n2024-05-01 10:00:0{e} train INFO: Validation Results - Epoch: {e}  "
                              f"Avg accuracy: 0.{4 + e} Avg loss: {1.1 / e:.2f}\n" for e in range(1, 5)),
                      {"Loss": [4, 7, 10, 14, 17, 20, 24, 27, 30, 34, 37, 40], "val_Avg loss": [10, 20, 30, 40],
                       "Avg loss": [10, 20, 30, 40]}),
    # PaddleClas: an eval loop's own iterations are no training steps; its [Avg] line is the evaluation's value
    "paddleclas": ("".join("".join(f"[Train][Epoch {e}/3][Iter: {i}/50]lr(LinearWarmup): 0.1, CELoss: {2 / (e + i / 50):.5f}, "
                                   f"loss: {2 / (e + i / 50):.5f}, batch_cost: 0.1 s\n" for i in (0, 20, 40))
                           + "".join(f"[Eval][Epoch {e}][Iter: {i}/10]CELoss: 9.9, loss: 9.9, top1: 0.1\n" for i in (0, 5))
                           + f"[Eval][Epoch {e}][Avg]CELoss: 1.{e}, loss: 1.{e}, top1: 0.5\n" for e in (1, 2, 3)),
                   {"loss": [0, 20, 40, 50, 70, 90, 100, 120, 140], "val_loss": [40, 90, 140]}),
    # pytorch/examples' imagenet ProgressMeter: tab-separated `name value (average)` meters, its Test lines val_
    "imagenet": ("".join(f"Epoch: [{e}][{i:>4d}/5005]\tTime  0.312 ( 0.512)\tLoss {7 - e - i / 5005:.3f} (6.9)\t"
                         f"Acc@1   {e + i / 5005:.2f} (  0.10)\n" for e in (0, 1) for i in range(0, 5005, 1000))
                 + "".join(f"Test: [{i:>3d}/196]\tTime  0.312 ( 0.512)\tLoss 6.000 (5.{i // 50})\tAcc@1   1.00 (  1.10)\n"
                           for i in range(0, 196, 50)),
                 {"Loss": [0, 1000, 2000, 3000, 4000, 5000, 5005, 6005, 7005, 8005, 9005, 10005], "val_Loss": [10005]}),
    # pytorch/examples' word_language_model: `200/ 2983 batches` is the step, `ms/batch 45.62` no position
    "wlm": ("".join(f"| epoch {e:3d} | {b:5d}/ 2983 batches | lr 20.00 | ms/batch 45.62 | loss {8 - e - b / 3000:5.2f} | "
                    f"ppl {900 - b / 10:8.2f}\n" for e in (1, 2) for b in range(200, 2983, 1000))
            + "| end of epoch   1 | time: 140.12s | valid loss  5.67 | valid ppl   290.03\n",
            {"loss": [200, 1200, 2200, 3183, 4183, 5183]}),
    # the CIFAR-10 tutorial's lines behind a logging prefix
    "cifar-prefix": ("".join(f"2024-05-01 10:00:00 INFO [{e},  {i}] loss: {2 / (e + i / 12000):.3f}\n"
                             for e in (1, 2) for i in range(2000, 12001, 2000)),
                     {"loss": [2000, 4000, 6000, 8000, 10000, 12000, 14000, 16000, 18000, 20000, 22000, 24000]}),
}


@pytest.mark.parametrize("case", sorted(REVIEWED))
def test_reviewed_variants_read_at_their_positions(tmp_path, case):
    text, want = REVIEWED[case]
    (tmp_path / "train.log").write_text(text)
    run = _one(tmp_path / "train.log")
    for tag, steps in want.items():
        assert run.series[tag].step.tolist() == steps, (tag, run.series[tag].step.tolist())
    if case == "paddleclas":  # the [Avg] line's value, not the first eval batch's 9.9
        assert run.series["val_loss"].value.tolist() == [1.1, 1.2, 1.3]


def test_reviewed_evaluations_keep_apart_and_restarts_stay_restarts(tmp_path):
    """CLU's `collection=valid` and `collection=test` are two curves, `INFO:absl:` lines (a notebook's logging) are
    CLU's too; an mnist `Test set:` behind a logging prefix is read; a resumed mnist epoch whose percent goes
    back is a restart, not squeezed into the steps after the epoch's last one; a 1 MB `Test set:` line of
    fractions reads in linear time (it took minutes before)."""
    clu = "".join(f"INFO:absl:[{s}] train_loss={1 / s:.4f}\n" for s in range(10, 60, 10)) + "".join(
        f"INFO:absl:[{s}] collection={c} loss={v / s:.4f}\n" for s in (20, 40) for c, v in (("valid", 1.5), ("test", 1.6)))
    (tmp_path / "clu.log").write_text(clu)
    run = _one(tmp_path / "clu.log")
    assert run.series["valid_loss"].value.tolist() == [0.075, 0.0375]
    assert run.series["test_loss"].value.tolist() == [0.08, 0.04] and len(run.series["train_loss"]) == 5
    mnist = "".join(f"INFO:root:Train Epoch: {e} [{i * 640}/1280 ({i * 50}%)]\tLoss: {1 / (e + i):.6f}\n"
                    + (f"INFO:root:Test set: Average loss: {0.5 / e:.4f}, Accuracy: {900 + e}/1000 (90%)\n" if i else "")
                    for e in (1, 2, 2, 3) for i in (0, 1))
    (tmp_path / "mnist.log").write_text(mnist)
    run = _one(tmp_path / "mnist.log")
    # (the resumed epoch's points win: 1,280 and 1,920 as printed the second time)
    assert run.series["Loss"].step.tolist() == [0, 640, 1280, 1920, 2560, 3200]
    assert run.series["Loss"].value.tolist() == pytest.approx([1.0, 0.5, 0.5, 1 / 3, 1 / 3, 0.25], abs=1e-6)
    assert run.events[0]["reason"].startswith("resumed") and run.events[0]["dropped"] == 2
    assert run.events and run.events[0]["kind"] == "restart" and len(run.series["test_loss"]) == 4
    (tmp_path / "big.log").write_text("".join(f"Train Epoch: 1 [{i * 64}/640 ({i * 10}%)]\tLoss: 0.5\n" for i in range(5))
                                      + "Test set: " + "loss: 1/2, " * 100_000 + "\n")
    assert _one(tmp_path / "big.log").series["test_loss"].value.tolist() == [0.5]


def test_json_dicts_counted_by_it_are_read_at_their_iteration(tmp_path):
    """An MAE-style loop's log.txt: one json.dumps per line keyed by `it` (a public repo's 83 lines, from
    it 5,000 to 205,000) was "no training log found": `it` was no counter of the dict lines."""
    lines = [json.dumps({"train_loss": round(2.3 / (1 + i), 4), "train_lr": 3e-4, "it": 5000 * (i + 1)}) for i in range(12)]
    (tmp_path / "a_5fps_vitb16_log.txt").write_text("\n".join(lines) + "\n")
    runs, errors = read_runs([tmp_path])
    assert not errors and runs[0].series["train_loss"].step.tolist() == [5000 * (i + 1) for i in range(12)]


# ----------------------------------------------------------------------------- too few records to read

DETR_TWO = Path(__file__).parent / "data" / "formats" / "detr-two-records" / "output_dir"


def test_a_log_with_too_few_records_says_so_naming_the_file(tmp_path):
    """DETR's `output_dir/log.txt` (one JSON line per epoch) of a public project holds 2 records, each at epoch 0
    (two launches that ended after their first epoch): below the 3 a console log needs, it was "no training log
    found (no TensorBoard event file, CSV, ...)", untrue of a folder holding a training's log."""
    from click.testing import CliRunner

    from advisor.cli import EXIT_USAGE, main

    log = DETR_TWO / "log.txt"
    for given in (DETR_TWO, log):
        sources, problems = discover([given])
        assert sources == [] and [p.path for p in problems] == [str(log)]
        assert problems[0].message.startswith("only 2 training records")
    result = CliRunner().invoke(main, ["diagnose", str(DETR_TWO)], catch_exceptions=False)
    assert result.exit_code == EXIT_USAGE and result.stdout == ""
    (line,) = result.stderr.strip().splitlines()
    assert str(log) in line and "too few to read as a training log" in line
    # a third record makes it a log, read as before
    rows = log.read_text().splitlines()
    third = json.loads(rows[1]) | {"epoch": 1}
    (tmp_path / "log.txt").write_text("\n".join([*rows, json.dumps(third)]) + "\n")
    sources, problems = discover([tmp_path])
    assert [s.format for s in sources] == ["console"] and problems == []


def test_a_readme_quoting_two_records_is_still_no_log(tmp_path):
    (tmp_path / "README.txt").write_text("epoch 1 loss 0.9\nepoch 2 loss 0.8\n")
    _, problems = discover([tmp_path])
    assert [p.message.split(" (")[0] for p in problems] == ["no training log found"]


FORMATS = Path(__file__).resolve().parent / "data" / "formats"


def test_a_tqdm_val_bars_postfix_is_validation_and_the_epochs_summary_line_wins():
    """A public VGG16 fine-tune's terminal (Akash05-kr/skin_lesion_classifier, training_console.log, trimmed)
    draws an `Epoch 001 [Train]` and an `Epoch 001 [Val]` bar (postfix `acc=60.94%, loss=0.9999`) and then
    prints `Epoch [001/30] TrainLoss=1.8695 TrainAcc=48.54% | ValLoss=1.3028 ValAcc=60.94%`. The [Val] bar's
    values are the validation's, and the summary line's are each epoch's: no bar value is a point where the
    line gives the same quantity (before, the train roles were the [Val] bar's `acc` and `loss`)."""
    run = _one(FORMATS / "console-tqdm-val-bar" / "training_console.log")
    roles = build_curves(run)[1]
    assert roles["train_loss"] == "TrainLoss" and roles["train_acc"] == "TrainAcc"
    assert roles["val_loss"] == "ValLoss" and roles["val_acc"] == "ValAcc"
    assert not {"acc", "loss", "val_loss"} & set(run.series)
    assert run.series["TrainLoss"].value[:2].tolist() == [1.8695, 1.5289]
    assert run.series["TrainLoss"].step.tolist() == list(range(1, 9))


@pytest.mark.parametrize("summary_first", [False, True])
def test_an_eval_bar_gives_val_metrics_and_a_bar_alone_keeps_its_values(tmp_path, summary_first):
    """A bar labelled valid/eval/Validating gives val_ metrics; where no line prints the epoch's value, the
    bars' postfixes stay the points, whichever comes first."""
    lines = []
    for e in range(1, 5):
        train = f"Epoch {e} [train]: 100%|##########| 10/10 [00:01<00:00, loss={2 / e:.3f}, acc={0.5 + e / 20:.2f}]"
        val = f"Epoch {e} valid: 100%|##########| 5/5 [00:00<00:00, loss={2.2 / e:.3f}]"
        summary = f"Epoch {e}: train_loss={1.9 / e:.3f}"
        lines += [summary, train, val] if summary_first else [train, val, summary]
    (tmp_path / "train.log").write_text("\n".join(lines) + "\n")
    run = _one(tmp_path / "train.log")
    assert sorted(run.series) == ["acc", "train_loss", "val_loss"]
    assert run.series["val_loss"].value.tolist() == [2.2, 1.1, 0.733, 0.55]
    assert run.series["train_loss"].value.tolist() == [1.9, 0.95, 0.633, 0.475]
    assert build_curves(run)[1]["train_acc"] == "acc"


def test_checkpoint_lines_are_no_records_and_a_resumed_segment_replaces_the_epochs_it_ran_again():
    """A public VGG16 fine-tune's training.log (Akash05-kr/skin_lesion_classifier, as committed) prints one
    `Epoch [k/30] TrainLoss=... | ValLoss=... ValAcc=...` line an epoch, `[Checkpoint] Saved -> ...pth (epoch=19,
    val_acc=65.6489)` after each best epoch and, when a second launch resumes, `[Checkpoint] Loaded <- ...pth
    (epoch=20, val_loss=1.0521)`; that launch runs epochs 21-30 after the first had run 21-25. Before, the two
    `Loaded` lines were a 2-point `val_loss` that took the val role from the 35-point `ValLoss`, and epochs 21-25
    were on the curves twice. Now the checkpoint's values are metadata, and the resumed epochs win."""
    run = _one(FORMATS / "console-resumed-checkpoint" / "training.log")
    assert sorted(run.series) == ["LR", "TrainAcc", "TrainLoss", "ValAcc", "ValLoss"]
    roles = build_curves(run)[1]
    assert roles["val_loss"] == "ValLoss" and roles["train_loss"] == "TrainLoss" and roles["val_acc"] == "ValAcc"
    val = run.series["ValLoss"]
    assert val.step.tolist() == list(range(1, 31))
    assert val.value[19:22].tolist() == [1.0521, 1.1477, 1.1369]  # epoch 20, then 21-22 of the resumed launch
    assert [(e["step"], e["dropped"]) for e in run.events] == [(21, 25)] and not run.warnings


BASICSR_IQA = FORMATS / "basicsr-iqa" / "nohup.out"


def test_basicsrs_message_logger_reads_its_l_terms_iterations_with_separators_and_validations(tmp_path):
    """A public pyiqa training (02zzk/IQA, nohup.out, its validation bars cut to their first and last states), printed
    by BasicSR's MessageLogger: `[basel..][epoch: 18, iter:   1,000, lr:(2.766e-05,)] [eta: ...] l_mos: 6.4552e-04
    l_metric: 6.1209e-02 ...` and `Validation koniq10k` blocks of `# srcc: 0.9193\tBest: ...` lines. Before: 'no
    training log found' (no `loss` name), and with the losses renamed, iterations 1,000..5,500 read as steps
    901..1020. Its first training, alone: its `l_` terms and their sum at iterations 100..5,500, the validations at
    800, 1,600, ... 5,500, the LR."""
    first = tmp_path / "nohup.out"
    lines = BASICSR_IQA.read_bytes().split(b"\n")
    second = next(i for i, line in enumerate(lines) if b"iter:     100," in line and i > 700)
    first.write_bytes(b"\n".join(lines[:second - 30]))  # before the second launch's start-up
    run = _one(first)
    assert run.writer == "basicsr" and not run.warnings and not run.events
    assert sorted(run.series) == ["l_metric", "l_mos", "l_total", "lr", "train_metrics/plcc", "train_metrics/srcc",
                                  "val_plcc", "val_srcc"]
    assert run.series["l_mos"].step.tolist() == list(range(100, 5600, 100))
    assert run.series["l_mos"].value[9] == pytest.approx(6.4552e-04)  # iter 1,000
    assert run.series["l_total"].value[9] == pytest.approx(6.4552e-04 + 6.1209e-02)
    assert run.series["lr"].value[9] == pytest.approx(2.766e-05)
    assert run.series["val_srcc"].step.tolist() == [800, 1600, 2400, 3200, 4000, 4800, 5500]
    assert run.series["val_srcc"].value.tolist() == [0.9193, 0.9219, 0.924, 0.9247, 0.9245, 0.9246, 0.9246]
    assert build_curves(run)[1] == {"train_loss": "l_total", "lr": "lr", "val_metric": "val_srcc"}


def test_a_second_basicsr_training_appended_to_the_file_is_the_one_diagnosed():
    """The same nohup.out holds a second launch after the first (`iter: 100` again, 7 lines to iter 700): the
    step counter starts over, and only the last training is diagnosed, with a warning."""
    run = _one(BASICSR_IQA)
    assert run.series["l_mos"].step.tolist() == list(range(100, 800, 100))
    assert "val_srcc" not in run.series  # the first training's validations went with it
    assert [(e["step"], e.get("new_training")) for e in run.events] == [(100, True)]
    assert any("2 trainings logged into one file" in w for w in run.warnings)


BASICSR_GAN = """\
2024-01-02 10:00:00,000 INFO: Start training from epoch: 0, iter: 0
2024-01-02 10:01:00,000 INFO: [train..][epoch:  0, iter:     100, lr:(1.000e-04,1.000e-04,)] [eta: 1 day, 2:03:04, time (data): 0.512 (0.010)] l_g_pix: 2.0e-02 l_g_percep: 1.5e+00 l_g_gan: 5.0e-02 l_d_real: 6.9e-01 out_d_real: 1.0e-01 l_d_fake: 6.9e-01 out_d_fake: -1.0e-01
2024-01-02 10:02:00,000 INFO: [train..][epoch:  0, iter:     200, lr:(1.000e-04,1.000e-04,)] [eta: 1 day, 2:02:00, time (data): 0.510 (0.010)] l_g_pix: 1.8e-02 l_g_percep: 1.4e+00 l_g_gan: 5.5e-02 l_d_real: 6.5e-01 out_d_real: 2.0e-01 l_d_fake: 6.6e-01 out_d_fake: -2.0e-01
2024-01-02 10:02:01,000 INFO: Validation Set5
\t # psnr: 27.1000\tBest: 27.1000 @ 200 iter
\t # ssim: 0.8000\tBest: 0.8000 @ 200 iter

2024-01-02 10:02:02,000 INFO: Validation Set14
\t # psnr: 25.2000\tBest: 25.2000 @ 200 iter

2024-01-02 10:03:00,000 INFO: [train..][epoch:  1, iter:   1,300, lr:(5.000e-05,5.000e-05,)] [eta: 1 day, 2:01:00, time (data): 0.509 (0.010)] l_g_pix: 1.6e-02 l_g_percep: 1.3e+00 l_g_gan: 6.0e-02 l_d_real: 6.0e-01 out_d_real: 3.0e-01 l_d_fake: 6.2e-01 out_d_fake: -3.0e-01
2024-01-02 10:03:01,000 INFO: Validation Set5
\t # psnr: 27.5000\tBest: 27.5000 @ 1300 iter
\t # ssim: 0.8100\tBest: 0.8100 @ 1300 iter
"""


def test_a_basicsr_gans_generator_terms_are_summed_and_each_validation_set_is_apart(tmp_path):
    """Real-ESRGAN / ESRGAN (BasicSR's SRGANModel) print the generator's `l_g_` terms and the discriminator's
    `l_d_` ones: the training loss is the generator's sum; two optimizers' LRs; a second validation set's metrics
    apart."""
    path = tmp_path / "train_ESRGAN.log"
    path.write_text(BASICSR_GAN)
    run = _one(path)
    assert run.series["l_total"].value.tolist() == pytest.approx([1.57, 1.473, 1.376])
    assert run.series["l_total"].step.tolist() == [100, 200, 1300]
    assert run.series["lr_group1"].value.tolist() == [1e-4, 1e-4, 5e-5]
    assert run.series["val_psnr"].step.tolist() == [200, 1300] and run.series["val_Set14_psnr"].value.tolist() == [25.2]
    assert run.series["val_ssim"].value.tolist() == [0.8, 0.81]
    roles = build_curves(run)[1]
    assert roles["train_loss"] == "l_total" and roles["val_metric"] == "val_psnr" and roles["lr"] == "lr"
    assert classify("l_d_real").kind is None  # and outside a BasicSR log an `l_` name is no loss
    one = tmp_path / "train_SwinIR.log"  # a model with one term: it is the loss, no sum is added
    one.write_text("\n".join(line.replace(" l_g_percep", " x").replace("l_g_pix", "l_pix").split(" l_g_gan")[0]
                             for line in BASICSR_GAN.splitlines()))
    run = _one(one)
    assert "l_total" not in run.series and build_curves(run)[1]["train_loss"] == "l_pix"


def test_a_step_printed_with_thousands_separators_reads_as_its_number(tmp_path):
    path = tmp_path / "train.log"
    path.write_text("".join(f"step {s:,}: loss={1 / (i + 1):.3f}\n" for i, s in enumerate(range(500, 3000, 500))))
    run = _one(path)
    assert run.series["loss"].step.tolist() == [500, 1000, 1500, 2000, 2500]
