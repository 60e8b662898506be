"""The same training, logged by another writer, gets the same reading and the same diagnosis.

Recorded trainings from the out-of-sample corpus (tests/data/oos, written by bench/make_corpus_oos.py)
are read with advisor's readers and written again, in the test, by the real libraries practitioners
use (torch SummaryWriter, tensorboardX, Lightning's CSVLogger, transformers' TrainerState, Keras'
CSVLogger, mlflow's client) through bench/format_invariance.py's writers. Nothing is trained here.
Each test pins a reading that was wrong before (see /work/notes/formats.md): the run must stay one
run, its hyperparameters and curves must land in the same roles, and its diagnosis must not change.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

from advisor.ingest import read as read_source
from advisor.ingest.discover import discover
from advisor.pipeline import diagnose_paths
from advisor.roles import build_curves

sys.path.insert(0, str(Path(__file__).parents[1] / "bench"))
import format_invariance as fi  # noqa: E402
from recorded import verdict as _verdict  # noqa: E402

OOS = Path(__file__).parent / "data" / "oos"
TRUTH = json.loads((OOS / "truth.json").read_text())["runs"]


def _recording(rid: str) -> fi.Recording:
    return fi.record(OOS, rid, TRUTH[rid])


def _read_one(path: Path):
    sources, problems = discover([str(path)])
    assert not problems and len(sources) == 1, [s.name for s in sources]
    run = read_source(sources[0])
    curves, roles = build_curves(run)
    return run, curves, roles


@pytest.mark.parametrize("writer", ["torch-tutorial", "torch-underscore", "tensorboardX", "torch-add_scalars"])
def test_add_hparams_folder_joins_its_run(tmp_path, writer):
    """torch and tensorboardX write `add_hparams` into `<run>/<timestamp>/`: that folder is the
    run's hyperparameters, not a second run, and its summary metric is never a curve."""
    rec = _recording("0023-quantiles-healthy_adam")
    fi.WRITERS[writer][0](rec, tmp_path / "run")
    assert sum(1 for p in (tmp_path / "run").iterdir() if p.is_dir() and p.name[0].isdigit()) == 1
    run, curves, roles = _read_one(tmp_path / "run")
    assert curves.hparams["lr"] == pytest.approx(0.006) and curves.hparams["optimizer"] == "adam"
    assert curves.hparams["batch_size"] == 16
    assert not any(tag.startswith("hparams/") for tag in roles.values()), roles
    assert any(tag.startswith("hparams/") for tag in run.series)  # kept, under its own name


def test_gradients_norm_is_the_gradient_norm(tmp_path):
    """`Gradients/norm` (the PyTorch-tutorial spelling) was no role at all: the spike and clip
    rules then ran without the gradient norm the run logged."""
    rec = _recording("0023-quantiles-healthy_adam")
    fi.torch_tutorial(rec, tmp_path / "run")
    _, curves, roles = _read_one(tmp_path / "run")
    assert roles["grad_norm"] == "Gradients/norm" and len(curves.get("grad_norm")) == len(rec.points("train_loss"))
    _, _, original = _read_one(OOS / TRUTH["0023-quantiles-healthy_adam"]["path"])
    assert original["grad_norm"] == "Gradients/norm"


@pytest.mark.parametrize("writer", ["torch-tutorial", "tensorboardX", "lightning-csv", "mlflow", "wandb-history"])
@pytest.mark.parametrize("rid", ["0023-quantiles-healthy_adam", "0024-quantiles-sgd_lr_kill"])
def test_same_diagnosis_through_other_writers(tmp_path, writer, rid):
    rec = _recording(rid)
    fi.WRITERS[writer][0](rec, tmp_path / "run")
    assert _verdict(tmp_path / "run") == _verdict(OOS / TRUTH[rid]["path"])


HF = Path(__file__).parent / "data" / "formats" / "hf-trainer"


@pytest.mark.parametrize("rid", ["0145-quantiles-adam_lr0.01", "0023-quantiles-healthy_adam"])
def test_hf_training_args_bin_gives_the_optimizer(rid):
    """Trainer saves TrainingArguments only as `training_args.bin` (torch.save): without it an
    Adam run at 10x Adam's usual LR had no optimizer, so the LR prior could not call it too high
    (0145: oscillation missed) or judged a healthy Adam run slow (0023)."""
    run, curves, _ = _read_one(HF / rid)
    cfg = TRUTH[rid]["config"]
    assert curves.hparams["optimizer"] == "adamw_torch" and curves.hparams["lr"] == pytest.approx(cfg["lr"])
    assert curves.hparams["batch_size"] == cfg["batch_size"] and not run.warnings
    assert _verdict(HF / rid) == _verdict(OOS / TRUTH[rid]["path"])


def _torch_zip(path: Path, pickled: bytes) -> None:
    import zipfile

    with zipfile.ZipFile(path, "w") as z:
        z.writestr("training_args/data.pkl", pickled)
        z.writestr("training_args/version", "3\n")


def test_training_args_bin_never_runs_the_pickle(tmp_path):
    """A log is untrusted: a pickle naming os.system must not run it (and must not crash)."""
    import pickle

    from advisor.ingest.hf_args_bin import read_training_args_bin

    marker = tmp_path / "pwned"

    class Evil:
        def __reduce__(self):
            import os

            return (os.system, (f"touch {marker}",))

    state = (HF / "0023-quantiles-healthy_adam" / "trainer_state.json").read_text()
    for name, blob in (("evil", pickle.dumps({"learning_rate": Evil()})), ("garbage", b"\x80\x04not a pickle"),
                       ("empty", b"")):
        d = tmp_path / name
        d.mkdir()
        (d / "trainer_state.json").write_text(state)
        _torch_zip(d / "training_args.bin", blob)
        values, warning = read_training_args_bin(d / "training_args.bin")
        assert "learning_rate" not in values or not callable(values["learning_rate"])
        run, curves, _ = _read_one(d)  # still one run, read from its state file
        assert "train_loss" in curves.by_role
        if name != "evil":
            assert warning and str(d / "training_args.bin") in warning and any("training_args.bin" in w for w in run.warnings)
    (tmp_path / "notzip").mkdir()
    (tmp_path / "notzip" / "training_args.bin").write_bytes(b"\x80\x02}q\x00.")  # legacy torch.save
    assert "not a zip" in read_training_args_bin(tmp_path / "notzip" / "training_args.bin")[1]
    assert not marker.exists()


MLFLOW_KERAS = Path(__file__).parent / "data" / "formats" / "mlflow-keras" / "0157-circles-momentum_0.99_blowup"


def test_mlflow_async_autolog_is_read_in_step_order():
    """mlflow's Keras autolog callback logs asynchronously: the stored metric file holds the
    epochs out of order (0, 2, 3, 1, ...). The curve must be in epoch order, not file order, and
    the optimizer's settings (`optimizer_learning_rate`, `optimizer_momentum`) must be found."""
    loss_file = next(MLFLOW_KERAS.rglob("metrics/loss"))
    steps = [int(line.split()[2]) for line in loss_file.read_text().splitlines()]
    assert steps != sorted(steps)  # the recording really is out of order
    _, curves, roles = _read_one(MLFLOW_KERAS)
    loss = curves.get("train_loss")
    # Keras' autolog logs once per epoch at step = epoch, train and val together: the x counts epochs
    assert roles["train_loss"] == "loss" and loss.x_kind == "epoch" and loss.x.tolist() == sorted(steps)
    hp = curves.hparams
    assert hp["optimizer"] == "sgd" and hp["momentum"] == pytest.approx(0.99) and hp["lr"] == pytest.approx(0.3)
    assert hp["batch_size"] == 32
    rid = "0157-circles-momentum_0.99_blowup"
    assert _verdict(MLFLOW_KERAS) == _verdict(OOS / TRUTH[rid]["path"])


def test_keras_optimizer_instance_suffix_is_dropped():
    from advisor.roles import normalise_hparams

    assert normalise_hparams({"optimizer_name": "adam_1", "opt_learning_rate": "0.001"}) == {"optimizer": "adam", "lr": 0.001}
    assert normalise_hparams({"optimizer": "adamw_torch"})["optimizer"] == "adamw_torch"


def test_camel_case_and_spaced_hparam_names():
    """A W&B or MLflow config written by a camelCase client (`optimizerName`, `weightDecay`, `numEpochs`) or
    a spreadsheet (`Batch Size`) names the same settings: only the all-lower-case spellings matched before."""
    from advisor.roles import normalise_hparams

    assert normalise_hparams({"learningRate": "0.01", "batchSize": 32, "optimizerName": "Adam", "weightDecay": 1e-4,
                              "numEpochs": 10, "maxSteps": 100, "warmupSteps": 5, "Grad Clip": 1.0}) == {
        "lr": 0.01, "batch_size": 32, "optimizer": "Adam", "weight_decay": 1e-4, "epochs": 10, "max_steps": 100,
        "warmup_steps": 5, "grad_clip": 1.0}
    assert normalise_hparams({"optimizer.className": "SGD", "optimizer.config.learningRate": 0.1}) == {
        "lr": 0.1, "optimizer": "SGD"}
    assert normalise_hparams({"mAP50": 0.5}) == {}


def test_real_tf_keras_mlflow_autolog_hparams(real_logs):
    """The TensorFlow flavour of mlflow's Keras autolog logs `opt_name`, `opt_learning_rate`,
    `opt_momentum` (a real run from a public project): they were no hparam, so rules saw no LR."""
    run_dir = next((real_logs / "mlflow" / "keras-autolog-swahili-ctc").rglob("params/opt_name")).parents[1]
    sources, _ = discover([str(run_dir)])
    curves, _ = build_curves(read_source(next(s for s in sources if s.format == "mlflow")))
    assert curves.hparams["optimizer"] == "SGD" and curves.hparams["lr"] == 0.002 and curves.hparams["momentum"] == 0.9


@pytest.mark.parametrize("writer, expect", [
    ("torch-spaces", {"train_loss": "Train Loss", "val_loss": "Validation Loss", "lr": "Learning Rate",
                      "grad_norm": "Gradient Norm", "val_acc": "Validation Accuracy"}),
    ("csv-camel", {"train_loss": "trainLoss", "val_loss": "valLoss", "lr": "learningRate", "val_acc": "valAcc",
                   "train_acc": "trainAcc"}),
    ("lightning-csv", {"train_loss": "train_loss_step", "val_loss": "val_loss", "lr": "lr-Adam"}),
])
def test_spellings_land_in_their_roles(tmp_path, writer, expect):
    """`Learning Rate` (a space) was no LR; camelCase `valLoss` had no split, so it competed with
    `trainLoss` for the training loss. Lightning's `lr-Adam-momentum` (0.9) is no LR candidate at
    all now (it lost to `lr-Adam` only on the shorter-name tie-break before)."""
    rec = _recording("0149-wine-overfit_small_data")
    fi.WRITERS[writer][0](rec, tmp_path / "run")
    _, _, roles = _read_one(tmp_path / "run")
    assert {role: roles.get(role) for role in expect} == expect


@pytest.mark.parametrize("writer", ["csv-camel", "csv-training", "csv-test"])
def test_generic_csv_step_columns_are_the_x(tmp_path, writer):
    """A camelCase logger's `globalStep` matched no alias (`global_step` did), so the rows were numbered
    instead: a finding "from step 64" on a run logged at steps 25-3,000, and every early-stop step wrong."""
    rec = _recording("0149-wine-overfit_small_data")
    assert rec.granularity == "step"
    fi.WRITERS[writer][0](rec, tmp_path / "run")
    run, curves, _ = _read_one(tmp_path / "run")
    assert run.meta["x_axis"] != "row"
    for role in ("train_loss", "val_loss"):
        assert curves.get(role).x.tolist() == [float(s) for s, _, _ in rec.points(role)]


def test_keras_batch_logging_keeps_train_and_val_on_one_axis(tmp_path):
    """Keras' TensorBoard callback with update_freq=<int> adds `train/batch_loss` at every
    optimizer iteration beside the epoch-level `train/epoch_loss` and `validation/epoch_loss`
    (FORMATS.md 1.5; the layout is written as the callback does, TensorFlow is not installed).
    The longer batch series used to win the train role: train on iterations 0..399, val on
    epochs 0..19, compared as if one axis."""
    import numpy as np

    from advisor.verify import logwriters as lw

    rec = _recording("0149-wine-overfit_small_data")
    r = lw.Recorder()
    for role, tag in (("train_loss", "train/loss"), ("val_loss", "val/loss"), ("val_acc", "val/acc"), ("lr", "lr")):
        r.points[tag] = rec.points(role)
    evals, prev = [p[0] for p in r.points["val/loss"]], -1
    for s in evals:  # the epoch's mean train loss, what Keras reports as `loss`
        r.points.setdefault("train/loss_avg", []).append(
            (s, float(np.mean([v for x, v, _ in r.points["train/loss"] if prev < x <= s])), 0.0))
        prev = s
    lw.write_keras_tb(r, tmp_path / "run", tf2=True, batch_level=True)
    run, curves, roles = _read_one(tmp_path / "run")
    assert "train/batch_loss" in run.series and roles["train_loss"] == "train/epoch_loss"
    train, val = curves.get("train_loss"), curves.get("val_loss")
    assert train.x_kind == val.x_kind == "epoch" and train.x.tolist() == val.x.tolist()


def test_hf_state_beats_the_args_default(tmp_path):
    """A run trained by epochs saves TrainingArguments with max_steps=-1; the state file says
    what ran (max_steps 400). -1 is no step budget, and the LR/optimizer still come from the args."""
    import shutil

    d = tmp_path / "out"
    d.mkdir()
    shutil.copy(HF / "0023-quantiles-healthy_adam" / "trainer_state.json", d)
    shutil.copy(Path(__file__).parent / "data" / "formats" / "hf-args-by-epochs" / "training_args.bin", d)
    run, curves, _ = _read_one(d)
    assert run.hparams["max_steps"] == 400 and curves.hparams["max_steps"] == 400
    assert curves.hparams["optimizer"] == "adamw_torch_fused" and curves.hparams["lr"] == 0.006  # 5.x default
    from advisor.roles import normalise_hparams

    assert "max_steps" not in normalise_hparams({"max_steps": -1, "num_train_epochs": 0})


@pytest.mark.parametrize("writer", ["lightning-csv", "wandb-lightning"])
def test_whole_number_epochs_give_exact_steps_per_epoch(tmp_path, writer):
    """Lightning's `epoch` (CSV column, W&B key) is a whole number: a line fitted through that
    staircase said 56.8 steps per epoch for 57, every epoch boundary drifted, and the epoch-jump
    oscillation (OSC003) was missed on Lightning logs of runs it caught in HF logs (0066)."""
    rec = _recording("0145-quantiles-adam_lr0.01")
    fi.WRITERS[writer][0](rec, tmp_path / "run")
    _, curves, _ = _read_one(tmp_path / "run")
    assert curves.steps_per_epoch == rec.steps_per_epoch


def test_sparse_whole_number_epochs_stay_close(real_logs):
    """A Lightning CSV logged every 50 steps (a real run: 20 epochs in 1,400 steps): the boundary
    estimate is within one logging interval, so steps per epoch is within 50/18 of the true 70."""
    sources, _ = discover([str(real_logs / "csv" / "lightning-csv-probing-v0")])
    curves, _ = build_curves(read_source(sources[0]))
    assert abs(curves.steps_per_epoch - 70) < 50 / 18


@pytest.mark.parametrize("optimizer, hf_optim, lr_column, family", [
    ("adamw", "adamw_torch", "lr-AdamW", "adaptive"),
    ("rmsprop", "rmsprop", "lr-RMSprop", "adaptive"),
    ("sgd", "sgd", "lr-SGD", "sgd"),
])
def test_the_corpus_writers_name_the_optimizer_that_trained(tmp_path, optimizer, hf_optim, lr_column, family):
    """advisor.verify.logwriters (the first generator's and the built-in trials' writers) wrote
    HF's `optim: sgd` and Lightning's `lr-SGD` for every optimizer but Adam: an AdamW run at 0.009
    read as SGD at a low LR, a run no reader could call too hot. HF's and Lightning's own names now."""
    from advisor.priors import optimizer_family
    from advisor.verify import logwriters as lw

    rec = lw.Recorder(clock=lw.fake_clock())
    for step in range(1, 61):
        rec("train/loss", step, 1.0 / step)
        rec("lr", step, 0.009)
        if step % 20 == 0:
            rec("val/loss", step, 1.2 / step)
    rec.meta.update(config={"optimizer": optimizer, "lr": 0.009, "batch_size": 16}, name="t")
    hf = lw.write_hf_trainer_state(rec, tmp_path / "hf")
    assert json.loads((hf / "training_args.json").read_text())["optim"] == hf_optim
    _, curves, _ = _read_one(hf)
    assert optimizer_family(curves.hparams) == family
    for written in (lw.write_lightning_csv(rec, tmp_path / "csv"), lw.write_lightning_tb(rec, tmp_path / "tb")):
        run, _, roles = _read_one(written)
        assert roles["lr"] == lr_column, sorted(run.series)


@pytest.mark.parametrize("rid, optimizer, family, over_usual", [
    ("0145-quantiles-adam_lr0.01", "Adam", "adaptive", 10.0),           # Adam at 0.01: 10x its usual top
    # SGD momentum 0.99 at 0.3: 3x the usual top, and its effective step lr/(1-m) 10x momentum 0.9's
    ("0157-circles-momentum_0.99_blowup", "SGD", "sgd_momentum", 30.0),
])
def test_a_lightning_lr_column_names_the_optimizer(tmp_path, rid, optimizer, family, over_usual):
    """A LightningModule rarely saves its optimizer's name with save_hyperparameters, but the LR
    monitor names every LR column after it (`lr-Adam`) and logs SGD's momentum beside it. Without
    the name, Adam at 0.01 was an LR no prior could judge (run.lr_over_usual missing): the real
    CSVLogger's output with the optimizer left out of hparams.yaml now reads as Adam at 10x."""
    from advisor.priors import lr_over_usual, optimizer_family

    fi.lightning_csv(_recording(rid), tmp_path / "run")
    (hp,) = (tmp_path / "run").rglob("hparams.yaml")
    hp.write_text("".join(line for line in hp.read_text().splitlines(keepends=True)
                          if not line.startswith(("optimizer", "momentum"))))
    _, curves, roles = _read_one(tmp_path / "run")
    assert roles["lr"] == f"lr-{optimizer}" and curves.hparams["optimizer"] == optimizer
    assert optimizer_family(curves.hparams) == family
    assert lr_over_usual(curves.hparams) == pytest.approx(over_usual)


@pytest.mark.parametrize("writer", ["torch-tutorial", "torch-add_scalars", "tensorboardX", "mlflow", "wandb-history"])
def test_a_loop_that_logs_once_per_epoch_counts_epochs(tmp_path, writer):
    """`writer.add_scalar("Loss/train", epoch_loss, epoch)` (the PyTorch tutorial's loop) logs the
    train and val losses together at steps 0, 1, 2, ...: the step is the epoch and the train loss an
    epoch average. Read as a per-step log of an 80-step run, an RMSprop run at 10x its usual LR
    (recorded from a Keras CSV, labelled oscillating) had no finding in any of these writers, while
    its Keras CSV read "oscillating, lower the LR"; now every one reads the Keras CSV's verdict."""
    rid = "lead8-s10-0002-friedman-rmsprop_high"
    rec = _recording(rid)
    fi.WRITERS[writer][0](rec, tmp_path / "run")
    _, curves, _ = _read_one(tmp_path / "run")
    assert curves.get("train_loss").x_kind == curves.get("val_loss").x_kind == "epoch"
    assert _verdict(tmp_path / "run") == _verdict(OOS / rid) == (["oscillation"], "lower_lr")


@pytest.mark.parametrize("writer", ["lightning-csv", "wandb-lightning"])
def test_the_harness_names_the_optimizer_that_trained_in_a_lightning_lr_column(tmp_path, writer):
    """A real LearningRateMonitor names its column after the optimizer whatever the hyperparameters
    say. The harness (and gen2, which shares its writers) wrote `lr-SGD` for every run that logged no
    optimizer, so an RMSprop run at 10x its usual LR read as plain SGD at a low LR."""
    rec = _recording("lead8-s10-0002-friedman-rmsprop_high")
    assert "optimizer" not in rec.hparams and rec.trained_with == "rmsprop"
    fi.WRITERS[writer][0](rec, tmp_path / "run")
    _, curves, roles = _read_one(tmp_path / "run")
    assert roles["lr"] == "lr-RMSprop" and curves.hparams["optimizer"] == "RMSprop"


@pytest.mark.parametrize("writer", ["lightning-csv", "hf-trainer"])
def test_an_epoch_mean_logged_at_global_steps_is_judged_as_an_average(tmp_path, writer):
    """Lightning's `train_loss_epoch` and HF Trainer's `loss` at its evaluation steps are means over
    the epoch, logged at global steps (12, 25, 38, ...): 80 such points were judged as minibatch
    losses, whose 5.6% bouncing is noise, so the RMSprop run the Keras CSV calls oscillating had no
    finding in these two writers. The x still counts steps; the curve is flagged as averaged."""
    rid = "lead8-s10-0002-friedman-rmsprop_high"
    fi.WRITERS[writer][0](_recording(rid), tmp_path / "run")
    _, curves, _ = _read_one(tmp_path / "run")
    train = curves.get("train_loss")
    assert train.x_kind == "step" and train.x[0] > 1 and train.averaged
    assert _verdict(tmp_path / "run") == _verdict(OOS / rid) == (["oscillation"], "lower_lr")


def test_a_per_step_lightning_loss_is_not_an_average(tmp_path):
    """`train_loss_step` is one minibatch's loss at every step: not averaged, whatever else is logged."""
    fi.WRITERS["lightning-csv"][0](_recording("0145-quantiles-adam_lr0.01"), tmp_path / "run")
    _, curves, roles = _read_one(tmp_path / "run")
    assert roles["train_loss"] == "train_loss_step" and not curves.get("train_loss").averaged


def test_an_optimizer_config_object_names_the_optimizer(real_logs):
    """A real CSV log's config (custom-epoch-csv-alexnet) gives its optimizer as an object,
    `optimizer: {type: SGD, lr: 0.01, momentum: 0.9}`: the LR was read from it, the optimizer was
    not, so SGD with momentum at 0.01 was an LR no prior could place."""
    from advisor.priors import lr_over_usual, optimizer_family

    sources, _ = discover([str(real_logs / "csv" / "custom-epoch-csv-alexnet")])
    curves, _ = build_curves(read_source(sources[0]))
    assert curves.hparams["optimizer"] == "SGD" and optimizer_family(curves.hparams) == "sgd_momentum"
    assert lr_over_usual(curves.hparams) == pytest.approx(0.1)


@pytest.mark.parametrize("config", [
    "optimizer:\n  class_path: torch.optim.Adam\n  init_args:\n    lr: 0.01\n",  # LightningCLI
    "optimizer:\n  _target_: torch.optim.Adam\n  lr: 0.01\n",  # Hydra
    "optimizer:\n  class_name: Adam\n  config:\n    learning_rate: 0.01\n",  # Keras get_config()
])
def test_an_optimizer_object_in_hparams_yaml_names_the_optimizer(tmp_path, config):
    """The same Adam-at-0.01 run, logged by Lightning without an LR monitor (no `lr-Adam` column to
    name the optimizer), its hparams.yaml written as LightningCLI, Hydra and Keras write an optimizer
    object: each reads as Adam at 10x its usual top."""
    import pandas as pd

    from advisor.priors import lr_over_usual

    fi.lightning_csv(_recording("0145-quantiles-adam_lr0.01"), tmp_path / "run")
    (hp,) = (tmp_path / "run").rglob("hparams.yaml")
    hp.write_text(config)
    (metrics,) = (tmp_path / "run").rglob("metrics.csv")
    table = pd.read_csv(metrics)
    table.drop(columns=[c for c in table.columns if c.startswith("lr-")]).to_csv(metrics, index=False)
    _, curves, roles = _read_one(tmp_path / "run")
    assert "lr" not in roles
    assert "adam" in curves.hparams["optimizer"].lower() and lr_over_usual(curves.hparams) == pytest.approx(10.0)


def _rescaled(rec: fi.Recording, how) -> fi.Recording:
    """The same recording with both losses passed through `how` (what a writer logged instead)."""
    return rec.mapped(("train_loss", "val_loss"), how)


_TUTORIAL_TAGS = {"train_loss": "Loss/train", "val_loss": "Loss/val", "train_acc": "Accuracy/train",
                  "val_acc": "Accuracy/val", "lr": "LR", "grad_norm": "Gradients/norm"}


@pytest.mark.parametrize("rid, how, tags, label", [
    # a classifier that learns, then blows up (divergence), and an LSTM still falling (slow), logged
    # as perplexities; a regression that bounces (oscillation) and one stuck at an Adam LR far too
    # high (plateau), logged as RMSEs
    ("0157-circles-momentum_0.99_blowup", np.exp, ("Perplexity/train", "Perplexity/val"), "ln(Perplexity/"),
    ("0014-seq-lstm_adam_slow", np.exp, ("train_ppl", "val_ppl"), "ln("),
    ("0145-quantiles-adam_lr0.01", np.sqrt, ("train/rmse", "val/rmse"), "rmse²"),
    ("0191-quantiles-adamw_high", np.sqrt, ("train/rmse", "val/rmse"), "rmse²"),
])
def test_a_loss_logged_as_perplexity_or_rmse_reads_as_the_loss(tmp_path, rid, how, tags, label):
    """A language model logs `ppl = exp(loss)`, a regression `rmse = sqrt(mse)`, often with no tag
    named `loss` at all. Neither was a loss to advisor (no finding on any of these runs); read raw,
    exp() would triple a 10% bounce and sqrt() halve it. Read back as ln / square, the run gets the
    diagnosis of its loss-logged original, and the summary names what it measured: ln(the tag)."""
    rec = _recording(rid)
    fi._tb_write(rec, tmp_path / "loss", _TUTORIAL_TAGS)
    fi._tb_write(_rescaled(rec, how), tmp_path / "other",
                 {**_TUTORIAL_TAGS, "train_loss": tags[0], "val_loss": tags[1]})
    original = _verdict(tmp_path / "loss")
    assert original[0], original  # the run has a finding to keep
    assert _verdict(tmp_path / "other") == original
    findings = diagnose_paths([str(tmp_path / "other")]).runs[0].findings
    assert any(label in f.summary for f in findings if f.metric in tags), [f.summary for f in findings]


def test_a_loss_that_names_the_rmse_is_read_as_logged(real_logs):
    """`val/rmse_loss` (a real Lightning log): the RMSE is what that run minimises, its own loss; it
    is not squared. A val perplexity beside a training cross-entropy compares with it."""
    sources, _ = discover([str(real_logs / "csv" / "lightning-csv-opal-v0")])
    run = read_source(sources[0])
    curves, roles = build_curves(run)
    val = curves.get("val_loss")
    assert roles["val_loss"] == "val/rmse_loss" and val.scale == "" and val.label == "val/rmse_loss"
    logged = run.series["val/rmse_loss"].value
    assert np.nanmin(val.y) == pytest.approx(float(np.nanmin(logged)))
    assert not curves.comparable_losses  # nll against rmse


def test_a_val_perplexity_compares_with_a_training_cross_entropy(tmp_path):
    rec = _recording("0157-circles-momentum_0.99_blowup")
    both = rec.mapped(("val_loss",), np.exp)
    fi._tb_write(both, tmp_path / "run", {**_TUTORIAL_TAGS, "val_loss": "eval/perplexity"})
    _, curves, roles = _read_one(tmp_path / "run")
    assert roles["val_loss"] == "eval/perplexity" and curves.get("val_loss").scale == "ln"
    assert curves.comparable_losses
    np.testing.assert_allclose(curves.get("val_loss").y, rec.series["val_loss"][1], rtol=1e-5)


def test_fastai_error_rate_is_the_validation_accuracy(tmp_path):
    """fastai's history.csv names no split: its metrics (`error_rate` here) are computed on the
    validation set. The error rate is read as the val accuracy's complement (1 - it), so the run
    reads as its Keras CSV does; before, the column was no role at all."""
    rid = "0157-circles-momentum_0.99_blowup"
    rec = _recording(rid)
    fi.fastai_csv(rec, tmp_path / "fastai")
    fi.keras_csv(rec, tmp_path / "keras")
    run, curves, roles = _read_one(tmp_path / "fastai")
    assert run.writer == "fastai" and roles["val_acc"] == "error_rate" and "train_acc" not in roles
    val = curves.get("val_acc")
    assert val.scale == "complement" and val.label == "1 - error_rate" and curves.higher_is_better["val_acc"]
    np.testing.assert_allclose(val.y, rec.series["val_acc"][1], atol=1e-6)
    assert _verdict(tmp_path / "fastai") == _verdict(tmp_path / "keras")


def test_a_top1_error_in_percent_reads_as_the_accuracy(tmp_path):
    """`top1_err` in percent (100 - accuracy%), as ImageNet scripts log it: the accuracy in percent."""
    rid = "0024-quantiles-sgd_lr_kill"
    rec = _recording(rid)
    fi._tb_write(rec, tmp_path / "acc", _TUTORIAL_TAGS)
    err = rec.mapped(("train_acc", "val_acc"), lambda y: 100.0 * (1.0 - y))
    fi._tb_write(err, tmp_path / "err", {**_TUTORIAL_TAGS, "train_acc": "train/top1_err", "val_acc": "val/top1_err"})
    _, curves, roles = _read_one(tmp_path / "err")
    assert roles["val_acc"] == "val/top1_err" and curves.get("val_acc").scale == "complement_pct"
    np.testing.assert_allclose(curves.get("val_acc").y, 100.0 * rec.series["val_acc"][1], atol=1e-3)
    assert _verdict(tmp_path / "err") == _verdict(tmp_path / "acc")


@pytest.mark.parametrize("tags", [
    {"train_acc": "train_error_rate", "val_acc": "val_error_rate", "val_loss": "holdout_loss"},
    {"train_acc": "train/acc@1", "val_acc": "val/acc@1", "val_loss": "heldout/loss"},
    {"train_loss": "tr_loss", "val_loss": "va_loss"},
])
def test_other_spellings_of_the_split_and_the_accuracy(tmp_path, tags):
    """`val_error_rate` (the error rate inside a longer tag, which the split breaks into `error` and
    `rate`), torchvision's `Acc@1`, a `holdout` / `heldout` split and `tr_loss` / `va_loss`: each
    was no role, or a val loss read as a training loss, so the run lost its val curve. Read as their
    usual spellings, the run gets the same verdict as with the tutorial's tags."""
    rec = _recording("0157-circles-momentum_0.99_blowup")
    other = rec.mapped(("train_acc", "val_acc"), lambda y: 1.0 - y) if "error" in tags.get("val_acc", "") else rec
    fi._tb_write(rec, tmp_path / "usual", _TUTORIAL_TAGS)
    fi._tb_write(other, tmp_path / "other", {**_TUTORIAL_TAGS, **tags})
    _, curves, roles = _read_one(tmp_path / "other")
    assert {roles[r] for r in tags} == set(tags.values())
    np.testing.assert_allclose(curves.get("val_acc").y, rec.series["val_acc"][1], atol=1e-6)
    assert _verdict(tmp_path / "other") == _verdict(tmp_path / "usual")


def test_a_binary_classifier_with_a_summed_loss_is_not_a_blow_up(tmp_path):
    """A loss summed over the batch (`reduction="sum"`, here x100) of a healthy binary classifier
    (gaussian quantiles, Adam) sits far above ln 2 while the net learns. DIV007 read "the accuracy
    has not doubled from its low" as "stuck at chance", which a binary classifier's accuracy can
    never contradict (50% -> 100% at most): divergence, lower the LR, on a healthy run. The
    accuracy closing half the way from its low to 100% now counts as learning."""
    rec = _recording("0023-quantiles-healthy_adam")
    fi._tb_write(rec.mapped(("train_loss", "val_loss"), lambda y: 100.0 * y), tmp_path / "sum", _TUTORIAL_TAGS)
    fi._tb_write(rec, tmp_path / "mean", _TUTORIAL_TAGS)
    assert _verdict(tmp_path / "mean") == ([], None)
    assert _verdict(tmp_path / "sum") == ([], None)


def test_a_learning_classifier_with_a_summed_loss_above_half_its_start_is_not_a_blow_up(tmp_path):
    """gen2 seed 1, run 0024 (4 classes, SGD 0.005 at batch 8, healthy): its per-step loss logged
    x100, as a loss summed over the batch reads, falls from 148 to 80 (0.54x) while the val accuracy
    climbs 40% -> 71%. Above 3 x ln 2 with the accuracy never below 50%, DIV007 took the loss for
    exploded logits because it had not fallen to half its first value; divergences read there end
    at >= 0.88x their first value, and the cut is now 0.7x."""
    run_dir = OOS / "lead10-0024-classif-healthy_small_batch"
    rec = fi.record(OOS, "lead10-0024", {"path": run_dir.name, "granularity": "step"})
    fi._tb_write(rec.mapped(("train_loss", "val_loss"), lambda y: 100.0 * y), tmp_path / "sum", _TUTORIAL_TAGS)
    assert _verdict(run_dir) == ([], None)
    assert _verdict(tmp_path / "sum") == ([], None)


def test_train_and_val_losses_are_paired_by_what_they_measure(tmp_path):
    """A regression loop logging `train_mse`, `val_mse` and `val_mae` has two val losses of one
    rank; the alphabetical tie-break took `val_mae` and compared it with `train_mse`, so an
    overfitting run (wine, RMSprop 0.05: the val loss climbs) lost its train/val reading. Here the
    MAE column falls with the training loss, as a second measure can. The pair that measures the
    same thing wins, and the run reads as its `Loss/*` twin does."""
    rec = _recording("oos3-0199-wine-rmsprop_lr0.05")
    x, y, w = rec.series["train_loss"]
    rec.series["val_mae"] = (x, np.sqrt(y), w)
    fi._csv(rec, tmp_path / "mse" / "metrics.csv", "epoch",
            {"train_loss": "train_mse", "val_mae": "val_mae", "val_loss": "val_mse"})
    fi._csv(rec, tmp_path / "usual" / "metrics.csv", "epoch", {"train_loss": "train_loss", "val_loss": "val_loss"})
    _, curves, roles = _read_one(tmp_path / "mse")
    assert (roles["train_loss"], roles["val_loss"]) == ("train_mse", "val_mse") and curves.comparable_losses
    assert _verdict(tmp_path / "mse") == _verdict(tmp_path / "usual")
    assert "overfitting" in _verdict(tmp_path / "usual")[0]  # the overfitting is read at all


@pytest.mark.parametrize("writer, roles", [
    ("torch-perplexity-rmse", ("train_loss", "val_loss")),
    ("fastai-csv", ("val_acc",)),
])
def test_a_recording_holds_its_roles_values_not_the_logged_ones(tmp_path, writer, roles):
    """bench's `record()` reads a corpus run back to write it again under other tags and
    conventions. It kept the values as logged, so a perplexity run was rewritten with e^loss under
    `Loss/*` and a fastai run with its error rate under `Accuracy/*`: every convention corpus read
    those runs as DIV007 divergences. Written by such a writer and recorded again, a run holds
    the loss and the accuracy it was recorded with."""
    rid = "0023-quantiles-healthy_adam"
    rec = _recording(rid)
    fi.WRITERS[writer][0](rec, tmp_path / "run")
    again = fi.record(tmp_path, rid, {**TRUTH[rid], "path": "run"})
    for role in roles:
        xs = set(again.series[role][0].tolist())
        logged = {x: y for x, y, _ in rec.points(role)}
        got = {x: y for x, y, _ in again.points(role)}
        common = xs & set(logged)
        assert len(common) >= 3 and all(abs(got[x] - logged[x]) < 1e-4 * max(1.0, abs(logged[x])) for x in common)
