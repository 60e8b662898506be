"""The framework adapters on real tiny CPU trainings: a diverging run is stopped early with the
reason logged; a healthy one runs to the end untouched (advisor.integrations)."""
from __future__ import annotations

import logging
import os

import pytest

torch = pytest.importorskip("torch")

pytestmark = [pytest.mark.slow, pytest.mark.trains]

DIVERGING_LR = 50.0  # SGD on this task: inf/NaN within a few steps, on any float kernel
HEALTHY_LR = 0.05


def _data(seed: int = 0, n: int = 512):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 16, generator=g)
    y = (x @ torch.randn(16, 4, generator=g)).argmax(1)
    return x, y


def _mlp():
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(16, 64), torch.nn.ReLU(), torch.nn.Linear(64, 4))


# ----------------------------------------------------------------------------- plain loop


def _loop(lr: float, steps: int = 300):
    from advisor.integrations.loop import TrainingGuard

    x, y = _data()
    model = _mlp()
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    lines = []
    guard = TrainingGuard(opt, name=f"loop-lr{lr}", log_to=lines.append)
    g = torch.Generator().manual_seed(1)
    for step in range(steps):
        batch = torch.randint(0, len(x), (32,), generator=g)
        loss = torch.nn.functional.cross_entropy(model(x[batch]), y[batch])
        opt.zero_grad()
        loss.backward()
        opt.step()
        if guard.step(step, train_loss=loss):
            return step, guard, lines
    guard.finish()
    return steps, guard, lines


def test_plain_loop_stops_a_diverging_training():
    stopped_at, guard, lines = _loop(DIVERGING_LR)
    assert stopped_at < 50
    assert guard.stop_finding["finding"]["pattern"] == "divergence"
    assert any(line.startswith("advisor stopped the run") for line in lines)


def test_plain_loop_leaves_a_healthy_training_alone():
    ran, guard, _ = _loop(HEALTHY_LR)
    assert ran == 300 and not guard.should_stop
    assert not [f for f in guard.monitor.findings if f.severity == "error"]


# ----------------------------------------------------------------------------- Lightning


def _lightning(lr: float, tmp_path, epochs: int = 8):
    pl = pytest.importorskip("lightning.pytorch")
    from lightning.pytorch.loggers import TensorBoardLogger

    from advisor.integrations.lightning import AdvisorCallback

    x, y = _data()

    class Module(pl.LightningModule):
        def __init__(self):
            super().__init__()
            self.net = _mlp()

        def training_step(self, batch, _):
            loss = torch.nn.functional.cross_entropy(self.net(batch[0]), batch[1])
            self.log("train_loss", loss)
            return loss

        def validation_step(self, batch, _):
            self.log("val_loss", torch.nn.functional.cross_entropy(self.net(batch[0]), batch[1]))

        def configure_optimizers(self):
            return torch.optim.SGD(self.parameters(), lr=lr)

    data = torch.utils.data.TensorDataset(x, y)
    train = torch.utils.data.DataLoader(data, batch_size=32, shuffle=True,
                                        generator=torch.Generator().manual_seed(0))
    val = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(*_data(seed=1, n=128)), batch_size=128)
    callback = AdvisorCallback(stop_on="error")
    trainer = pl.Trainer(max_epochs=epochs, callbacks=[callback], logger=TensorBoardLogger(tmp_path, name="tb"),
                         enable_progress_bar=False, enable_model_summary=False, enable_checkpointing=False,
                         log_every_n_steps=1, accelerator="cpu", devices=1)
    trainer.fit(Module(), train, val)
    return trainer, callback


def test_lightning_stops_a_diverging_fit_and_logs_why(tmp_path, caplog):
    with caplog.at_level(logging.WARNING, logger="advisor"):
        trainer, callback = _lightning(DIVERGING_LR, tmp_path)
    assert trainer.global_step < 16 * 8 // 2, "stopped early"
    assert "divergence" in callback.stop_reason
    assert any("advisor stopped the run" in r.getMessage() for r in caplog.records)
    # the finding is also in the trainer's TensorBoard log, beside the curves
    event_bytes = b"".join(p.read_bytes() for p in tmp_path.rglob("*tfevents*"))
    assert b"advisor/DIV" in event_bytes


def test_lightning_leaves_a_healthy_fit_alone(tmp_path):
    trainer, callback = _lightning(HEALTHY_LR, tmp_path)
    assert trainer.current_epoch == 8 and trainer.global_step == 16 * 8
    assert callback.stop_reason is None


# ----------------------------------------------------------------------------- transformers


def _hf(lr: float, tmp_path, epochs: int = 6):
    pytest.importorskip("transformers")
    from transformers import Trainer, TrainingArguments

    from advisor.integrations.hf import AdvisorTrainerCallback

    x, y = _data()

    class Model(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.net = _mlp()

        def forward(self, inputs, labels=None):
            logits = self.net(inputs)
            return {"loss": torch.nn.functional.cross_entropy(logits, labels), "logits": logits}

    train = [{"inputs": x[i], "labels": y[i]} for i in range(len(x))]
    xv, yv = _data(seed=1, n=128)
    val = [{"inputs": xv[i], "labels": yv[i]} for i in range(len(xv))]
    args = TrainingArguments(output_dir=str(tmp_path / "hf"), learning_rate=lr, num_train_epochs=epochs,
                             per_device_train_batch_size=32, logging_steps=4, eval_strategy="epoch",
                             save_strategy="no", report_to=[], optim="sgd", lr_scheduler_type="constant",
                             use_cpu=True, seed=0, disable_tqdm=True, max_grad_norm=0.0)
    callback = AdvisorTrainerCallback(stop_on="error")
    trainer = Trainer(model=Model(), args=args, train_dataset=train, eval_dataset=val, callbacks=[callback])
    trainer.train()
    return trainer, callback


def test_hf_trainer_stops_a_diverging_run_and_logs_why(tmp_path):
    trainer, callback = _hf(DIVERGING_LR, tmp_path)
    assert trainer.state.global_step < 16 * 6 // 2
    assert "divergence" in callback.stop_reason
    assert any("advisor stopped the run" in h.get("advisor", "") for h in trainer.state.log_history)


def test_hf_trainer_leaves_a_healthy_run_alone(tmp_path):
    trainer, callback = _hf(HEALTHY_LR, tmp_path)
    assert trainer.state.global_step == 16 * 6
    assert callback.stop_reason is None


# ----------------------------------------------------------------------------- Keras 3 (torch backend)


def _keras(lr: float, epochs: int = 8):
    os.environ.setdefault("KERAS_BACKEND", "torch")
    keras = pytest.importorskip("keras")
    if keras.backend.backend() != "torch":
        pytest.skip(f"keras runs on {keras.backend.backend()}, the test wants the torch backend")
    from advisor.integrations.keras import AdvisorKerasCallback

    keras.utils.set_random_seed(0)
    x, y = _data()
    xv, yv = _data(seed=1, n=128)
    model = keras.Sequential([keras.Input((16,)), keras.layers.Dense(64, activation="relu"), keras.layers.Dense(4)])
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=lr),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
    lines = []
    callback = AdvisorKerasCallback(stop_on="error", log_to=lines.append)
    history = model.fit(x.numpy(), y.numpy(), validation_data=(xv.numpy(), yv.numpy()), epochs=epochs,
                        batch_size=32, callbacks=[callback], verbose=0, shuffle=True)
    return history, callback, lines


def test_keras_stops_a_diverging_fit_and_logs_why():
    history, callback, lines = _keras(DIVERGING_LR)
    assert len(history.history["loss"]) <= 2, "stopped within the first two of eight epochs"
    assert "divergence" in callback.stop_reason
    assert any(line.startswith("advisor stopped the run") for line in lines)


def test_keras_leaves_a_healthy_fit_alone():
    history, callback, _ = _keras(HEALTHY_LR)
    assert len(history.history["loss"]) == 8
    assert callback.stop_reason is None


def test_readme_plain_loop_snippet_runs_and_stops_a_diverging_loop(capsys):
    """The README's TrainingGuard snippet, taken from the README itself."""
    import re
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    section = readme.split("### In the loop: `advisor.Monitor` and plain PyTorch", 1)[1]
    snippet = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    x, y = _data()
    model = _mlp()
    namespace = {
        "model": model, "optimizer": torch.optim.SGD(model.parameters(), lr=DIVERGING_LR),
        "loss_fn": torch.nn.functional.cross_entropy,
        "loader": [(x[i:i + 32], y[i:i + 32]) for i in range(0, len(x), 32)] * 4,
    }
    exec(compile(snippet, "README.md", "exec"), namespace)
    guard = namespace["guard"]
    assert guard.should_stop and "divergence" in guard.stop_reason
    assert "advisor stopped the run" in capsys.readouterr().out
