"""The built-in trials really train, and every log writer's output is valid for its format.

Why: the verifier, the fixtures and the tuning corpus all stand on advisor.verify.builtins and
advisor.verify.logwriters. The trials must learn, blow up when the LR is far too high and be
deterministic per seed; the writers are checked with each format's own reference reader
(tbparse / tensorboard's loader for event files, pandas, json, yaml), not with advisor's
ingesters, so a writer bug and an ingester bug cannot hide each other.
"""
from __future__ import annotations

import inspect
import json
import math
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("sklearn")

from advisor.verify import builtins as B  # noqa: E402
from advisor.verify import logwriters as lw  # noqa: E402


def _train(config, steps, seed=0):
    rec = lw.Recorder(clock=lw.fake_clock())
    res = B.train(config, steps, seed, rec)
    rec.meta.update(res)
    rec.meta["name"] = "t"
    return rec, res


# ----------------------------------------------------------------------------- API


def test_api_is_the_stable_one():
    assert list(inspect.signature(B.train).parameters) == ["config", "steps", "seed", "log", "device"]
    assert inspect.signature(B.train).parameters["device"].default == "cpu"
    params = inspect.signature(B.lr_range_test).parameters
    assert list(params)[:3] == ["config", "seed", "log"]
    assert params["start_lr"].default == 1e-5 and params["end_lr"].default == 10
    for task in ("digits-mlp", "digits-cnn", "moons-mlp", "cancer-mlp"):
        assert task in B.TASKS and task in B.DEFAULTS
        assert B.DEFAULTS[task]["task"] == task


def test_unknown_config_key_is_an_error():
    with pytest.raises(ValueError, match="unknown config keys"):
        B.train({"task": "moons-mlp", "learning_rate": 0.1}, 5, 0, lambda *a: None)
    with pytest.raises(ValueError, match="unknown task"):
        B.train({"task": "imagenet"}, 5, 0, lambda *a: None)


# ----------------------------------------------------------------------------- training


@pytest.mark.trains
def test_a_trial_trains_and_its_loss_falls():
    rec, res = _train({"task": "digits-mlp"}, 200)
    _, loss = rec.series("train/loss")
    assert len(loss) == 200
    assert loss[-20:].mean() < 0.25 * loss[:5].mean()
    assert res["val_acc"] > 0.85 and not res["diverged"]
    assert {"train/loss", "val/loss", "val/acc", "train/acc", "lr", "grad_norm"} <= set(rec.tags())
    steps, _ = rec.series("val/loss")
    assert steps[-1] == 200 and np.all(np.diff(steps) > 0)
    for k in ("train_loss", "val_loss", "val_acc", "diverged", "wall_s"):
        assert k in res


@pytest.mark.parametrize("task", sorted(B.TASKS))
def test_every_task_learns_something(task):
    rec, res = _train({"task": task}, 120)
    _, loss = rec.series("train/loss")
    assert np.all(np.isfinite(loss))
    assert loss[-15:].mean() < loss[:3].mean()
    assert res["val_acc"] > 0.6


def test_lr_far_too_high_diverges_and_logs_the_nan():
    rec, res = _train({"task": "digits-mlp", "lr": 5.0}, 300)
    _, loss = rec.series("train/loss")
    assert res["diverged"] is True
    assert res["steps_done"] < 300
    assert not math.isfinite(loss[-1]) or loss[-1] > 1e6
    assert np.all(np.isfinite(loss[:-1]))


def test_deterministic_per_seed():
    cfg = {"task": "moons-mlp", "dropout": 0.2}
    a, _ = _train(cfg, 80, seed=3)
    b, _ = _train(cfg, 80, seed=3)
    c, _ = _train(cfg, 80, seed=4)
    for tag in ("train/loss", "val/loss", "grad_norm"):
        assert np.array_equal(a.series(tag)[1], b.series(tag)[1])
    assert not np.array_equal(a.series("train/loss")[1], c.series("train/loss")[1])
    # one process-wide thread setting is restored after the trial
    before = torch.get_num_threads()
    _train({"task": "moons-mlp"}, 3)
    assert torch.get_num_threads() == before


def test_schedules_warmup_and_options():
    rec, _ = _train({"task": "moons-mlp", "lr": 0.1, "lr_schedule": "step", "step_size": 20, "gamma": 0.5,
                     "warmup_steps": 10}, 60)
    steps, lr = rec.series("lr")
    assert lr[0] == pytest.approx(0.01) and lr[9] == pytest.approx(0.1)
    assert lr[25] == pytest.approx(0.05) and lr[45] == pytest.approx(0.025)
    rec, _ = _train({"task": "moons-mlp", "lr": 0.1, "lr_schedule": "cosine"}, 50)
    lr = rec.series("lr")[1]
    assert lr[0] == pytest.approx(0.1) and lr[-1] < 0.01 and np.all(np.diff(lr) <= 1e-12)
    rec, _ = _train({"task": "moons-mlp", "lr_schedule": "multistep", "milestones": [10, 20], "gamma": 0.1}, 30)
    lr = rec.series("lr")[1]
    assert lr[5] == pytest.approx(0.05) and lr[15] == pytest.approx(0.005) and lr[25] == pytest.approx(0.0005)
    rec, _ = _train({"task": "moons-mlp", "grad_clip": 0.01}, 10)
    assert np.all(rec.series("grad_norm")[1] > 0)
    for extra in ({"batchnorm": True, "dropout": 0.3, "init": "kaiming"}, {"init": "xavier", "activation": "tanh"},
                  {"init": "small", "activation": "sigmoid", "depth": 4}, {"loss": "mse"}, {"optimizer": "adam",
                  "lr": 1e-3}, {"label_noise": 0.3, "train_size": 100}, {"sort_by_class": True},
                  {"shuffle": False}, {"lr_schedule": "exp"}, {"lr_schedule": "plateau", "eval_every": 5},
                  {"normalize_inputs": False}):
        rec, res = _train({"task": "digits-mlp", **extra}, 12)
        assert len(rec.series("train/loss")[1]) == 12 or res["diverged"]
    rec, _ = _train({"task": "digits-cnn", "batchnorm": True}, 10)
    assert np.all(np.isfinite(rec.series("train/loss")[1]))


def test_class_sorted_batches_hold_one_class():
    cfg = B.resolve_config({"task": "digits-mlp", "sort_by_class": True})
    x, y, _, _ = B.task_data(cfg, 0)
    order = next(B._epoch_orders(cfg, y, 0))
    assert np.all(np.diff(y[order]) >= 0)


def test_small_train_size_overfits():
    rec, _ = _train({"task": "moons-mlp", "train_size": 60, "weight_decay": 0.0, "hidden": 128, "depth": 3,
                     "batch_size": 16}, 400)
    _, val = rec.series("val/loss")
    assert val[-1] > 1.3 * val.min()


def test_lr_range_test_rises_geometrically():
    rec = lw.Recorder()
    out = B.lr_range_test({"task": "digits-mlp", "optimizer": "sgd"}, 0, rec, steps=120)
    lrs = np.array(out["lrs"])
    assert lrs[0] == pytest.approx(1e-5)
    ratios = lrs[1:] / lrs[:-1]
    assert np.allclose(ratios, ratios[0])
    assert 1e-3 < out["suggested_lr"] < 10
    assert len(rec.series("train/loss")[1]) == len(lrs)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_cuda_device():
    rec = lw.Recorder()
    res = B.train({"task": "digits-cnn"}, 30, 0, rec, device="cuda")
    assert not res["diverged"]


# ----------------------------------------------------------------------------- writers


@pytest.fixture(scope="module")
def rec():
    r, _ = _train({"task": "digits-mlp"}, 92)  # 4 epochs of 23 steps
    return r


@pytest.fixture(scope="module")
def diverged():
    r, _ = _train({"task": "digits-mlp", "lr": 5.0}, 100)
    return r


def _tb(path):
    from tbparse import SummaryReader

    r = SummaryReader(str(path), extra_columns={"dir_name", "wall_time"})
    return r


@pytest.mark.parametrize("convention", sorted(lw.CONVENTIONS))
def test_tb_torch_every_convention(tmp_path, rec, convention):
    lw.write_tb_torch(rec, tmp_path, convention)
    df = _tb(tmp_path).scalars
    names = lw.CONVENTIONS[convention]
    tl = df[df.tag == names["train_loss"]]
    assert len(tl) == 92
    np.testing.assert_allclose(tl.sort_values("step").value.to_numpy(), rec.series("train/loss")[1], rtol=1e-6)
    vl = df[df.tag == names["val/loss"]]
    assert list(vl.step) == [23, 46, 69, 92]
    assert len(list(tmp_path.glob("events.out.tfevents.*"))) == 1
    hp = _tb(tmp_path).hparams
    assert set(hp.tag) >= {"lr", "batch_size", "optimizer"}


@pytest.mark.parametrize("convention", sorted(lw.CONVENTIONS))
def test_every_convention_reads_back_in_its_roles(tmp_path, rec, convention):
    """A tag convention is only worth writing if advisor reads it back: each renamed curve lands in
    its role, and the diagnosis is the one the canonical names get. `train/cross_entropy` was read
    as an RL policy entropy and `losses/train` as nothing, so such a run had no loss at all."""
    from advisor.ingest import read as read_source
    from advisor.ingest.discover import discover
    from advisor.pipeline import diagnose_paths
    from advisor.roles import build_curves

    lw.write_tb_torch(rec, tmp_path / convention, convention)
    sources, problems = discover([str(tmp_path / convention)])
    assert not problems and len(sources) == 1
    _, roles = build_curves(read_source(sources[0]))
    names = lw.CONVENTIONS[convention]
    expect = {"train_loss": names["train_loss"], "val_loss": names["val/loss"], "val_acc": names["val/acc"],
              "train_acc": names["train/acc"], "lr": names["lr"], "grad_norm": names["grad_norm"]}
    assert {role: roles.get(role) for role, tag in expect.items() if tag} == {k: v for k, v in expect.items() if v}

    def verdict(path):
        run = diagnose_paths([str(path)]).runs[0]
        return sorted((f.rule, f.pattern) for f in run.findings)

    if convention != "slash":
        lw.write_tb_torch(rec, tmp_path / "slash", "slash")
        assert verdict(tmp_path / convention) == verdict(tmp_path / "slash")


def test_tb_torch_new_style_and_tbx(tmp_path, rec):
    lw.write_tb_torch(rec, tmp_path / "new", "hf", new_style=True)
    t = _tb(tmp_path / "new").tensors
    assert {"train/loss", "eval/loss", "train/learning_rate", "train/grad_norm"} <= set(t.tag)
    lw.write_tb_tbx(rec, tmp_path / "tbx", "keras", "epoch")
    s = _tb(tmp_path / "tbx").scalars
    assert sorted(s[s.tag == "loss"].step) == [0, 1, 2, 3]
    assert {"loss", "val_loss", "accuracy", "val_accuracy", "lr"} == set(s.tag)


def test_keras_tb_pair_is_tf2_tensor_scalars(tmp_path, rec):
    from tensorboard.backend.event_processing.event_file_loader import EventFileLoader
    from tensorboard.compat.proto import types_pb2

    lw.write_keras_tb(rec, tmp_path)
    files = sorted(tmp_path.rglob("events.out.tfevents.*"))
    assert [f.parent.name for f in files] == ["train", "validation"]
    assert all(f.name.endswith(".v2") for f in files)
    t = _tb(tmp_path).tensors
    val = t[(t.dir_name == "validation") & (t.tag == "epoch_loss")]
    assert list(val.step) == [0, 1, 2, 3]
    np.testing.assert_allclose(val.value, rec.series("val/loss")[1], rtol=1e-6)
    assert set(t[t.dir_name == "train"].tag) == {"epoch_loss", "epoch_accuracy", "epoch_learning_rate"}
    assert _tb(tmp_path).scalars.empty  # nothing as simple_value: TF2 files hide from legacy readers
    n = 0
    for ev in EventFileLoader(str(files[0])).Load():
        for v in ev.summary.value:
            assert v.metadata.plugin_data.plugin_name == "scalars"
            assert v.tensor.dtype == types_pb2.DT_FLOAT and not v.tensor.tensor_shape.dim
            n += 1
    assert n == 12
    lw.write_keras_tb(rec, tmp_path / "legacy", tf2=False, batch_level=True)
    s = _tb(tmp_path / "legacy").scalars
    assert len(s[s.tag == "batch_loss"]) == 92


def test_lightning_tb_and_csv(tmp_path, rec):
    import pandas as pd
    import yaml

    d = lw.write_lightning_tb(rec, tmp_path / "tb")
    assert d.name == "version_0" and d.parent.name == "lightning_logs"
    s = _tb(d).scalars
    assert {"train_loss_step", "val_loss", "val_acc", "epoch", "hp_metric", "lr-SGD"} <= set(s.tag)
    assert yaml.safe_load((d / "hparams.yaml").read_text())["lr"] == 0.05
    d = lw.write_lightning_csv(rec, tmp_path / "csv", log_every_n_steps=10)
    df = pd.read_csv(d / "metrics.csv")
    assert list(df.columns) == sorted(df.columns)
    assert {"epoch", "step", "train_loss_step", "train_loss_epoch", "val_loss", "val_acc", "lr-SGD"} <= set(df.columns)
    assert df.train_loss_step.notna().sum() == 10  # steps 0, 10, ..., 90
    val = df[df.val_loss.notna()]
    assert list(val.step) == [22, 45, 68, 91] and list(val.epoch) == [0, 1, 2, 3]
    assert df[df["lr-SGD"].notna()].epoch.isna().all()  # LR-monitor rows carry no epoch
    assert yaml.safe_load((d / "hparams.yaml").read_text())["batch_size"] == 64


def test_keras_csv_fastai_and_history_json(tmp_path, rec):
    import pandas as pd

    p = lw.write_keras_csv(rec, tmp_path / "training.log")
    assert p.read_text().splitlines()[0] == "epoch,accuracy,loss,val_accuracy,val_loss"
    df = pd.read_csv(p)
    assert list(df.epoch) == [0, 1, 2, 3]
    np.testing.assert_allclose(df.val_loss, rec.series("val/loss")[1])
    np.testing.assert_allclose(df.loss, rec.series("train/loss_avg")[1])
    p = lw.write_fastai_csv(rec, tmp_path / "history.csv")
    assert p.read_text().splitlines()[0] == "epoch,train_loss,valid_loss,accuracy,time"
    assert len(pd.read_csv(p)) == 4
    p = lw.write_keras_history_json(rec, tmp_path / "history.json")
    h = json.loads(p.read_text())
    assert set(h) == {"loss", "val_loss", "accuracy", "val_accuracy", "lr"}
    assert {len(v) for v in h.values()} == {4}


def test_wide_and_long_csv(tmp_path, rec):
    import pandas as pd

    p = lw.write_wide_csv(rec, tmp_path / "m.csv", "underscore")
    df = pd.read_csv(p)
    assert df.columns[0] == "step" and {"train_loss", "valid_loss", "learning_rate"} <= set(df.columns)
    assert df.train_loss.notna().sum() == 92 and df.valid_loss.notna().sum() == 4
    p = lw.write_wide_csv(rec, tmp_path / "e.csv", "verbose", "epoch", x_name="epoch", with_wall=True)
    df = pd.read_csv(p)
    assert list(df.epoch) == [1, 2, 3, 4] and "wall_time" in df
    p = lw.write_long_csv(rec, tmp_path / "l.csv", "pytorch")
    df = pd.read_csv(p)
    assert list(df.columns) == ["tag", "step", "value", "wall_time"]
    assert (df.tag == "Loss/train").sum() == 92


def test_hf_trainer_state(tmp_path, rec):
    d = lw.write_hf_trainer_state(rec, tmp_path, logging_steps=10)
    text = (d / "trainer_state.json").read_text()
    state = json.loads(text)
    assert list(state) == sorted(state)
    hist = state["log_history"]
    train = [r for r in hist if "loss" in r]
    evals = [r for r in hist if "eval_loss" in r]
    assert [r["step"] for r in train] == list(range(10, 91, 10))
    assert {"loss", "learning_rate", "grad_norm", "epoch", "step"} <= set(train[0])
    assert [r["step"] for r in evals] == [23, 46, 69, 92] and evals[-1]["epoch"] == pytest.approx(4.0)
    assert "train_loss" in hist[-1] and state["global_step"] == 92
    d = lw.write_hf_trainer_state(rec, tmp_path / "ck", checkpoint=True)
    assert d.name == "checkpoint-92"


def test_wandb_legacy(tmp_path, rec):
    import yaml

    d = lw.write_wandb_legacy(rec, tmp_path / "wandb", "slash")
    assert d.name.startswith("run-") and (d / "files").is_dir()
    rows = [json.loads(x) for x in (d / "files" / "wandb-history.jsonl").read_text().splitlines()]
    steps = [r["_step"] for r in rows]
    assert steps == sorted(steps) and len(rows) == 92 + 1  # steps 0..91 and the eval at 92
    assert all({"_runtime", "_timestamp"} <= set(r) for r in rows)
    assert sum("val/loss" in r for r in rows) == 4
    cfg = yaml.safe_load((d / "files" / "config.yaml").read_text())
    assert cfg["wandb_version"] == 1 and cfg["lr"]["value"] == 0.05
    summary = json.loads((d / "files" / "wandb-summary.json").read_text())
    assert "_wandb" in summary and "val/loss" in summary


def test_mlflow_file_store(tmp_path, rec):
    import yaml

    d = lw.write_mlflow(rec, tmp_path, "slash", run_name="r1")
    assert d.parent.name == "0" and d.parent.parent.name == "mlruns" and len(d.name) == 32
    meta = yaml.safe_load((d / "meta.yaml").read_text())
    assert meta["run_id"] == d.name and meta["status"] == 3 and meta["run_name"] == "r1"
    assert yaml.safe_load((d.parent / "meta.yaml").read_text())["experiment_id"] == "0"
    lines = (d / "metrics" / "train" / "loss").read_text().splitlines()  # "/" makes folders
    assert len(lines) == 92
    ts, value, step = lines[5].split()
    assert int(step) == 5 and float(value) == pytest.approx(rec.series("train/loss")[1][5])
    assert (d / "params" / "lr").read_text() == "0.05"
    assert (d / "tags" / "mlflow.runName").read_text() == "r1"


def test_non_finite_values_survive_every_text_format(tmp_path, diverged):
    import pandas as pd

    last = diverged.series("train/loss")[1][-1]
    assert not math.isfinite(last) or last > 1e6
    p = lw.write_wide_csv(diverged, tmp_path / "w.csv", "slash")
    df = pd.read_csv(p)
    assert not np.isfinite(df["train/loss"].dropna().iloc[-1]) or df["train/loss"].dropna().iloc[-1] > 1e6
    d = lw.write_hf_trainer_state(diverged, tmp_path / "hf", logging_steps=1)
    rows = [r for r in json.loads((d / "trainer_state.json").read_text())["log_history"] if "loss" in r]
    assert len(rows) == len(diverged.series("train/loss")[1])
    d = lw.write_mlflow(diverged, tmp_path / "ml", "underscore")
    assert (d / "meta.yaml").read_text().count("status: 4") == 1  # FAILED
    ep = lw.select(diverged, "keras", "epoch")
    assert ep["loss"][-1][1] == last or (math.isnan(last) and math.isnan(ep["loss"][-1][1]))
