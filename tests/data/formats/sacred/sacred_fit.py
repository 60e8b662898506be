"""Real Sacred experiments (sacred 0.8.7, numpy; Python 3.11) whose FileStorageObserver wrote each run's folder:
metrics.json (`{"training.loss": {"steps": [...], "timestamps": [...], "values": [...]}, ...}`), config.json,
run.json (status, experiment, host) and cout.txt. A softmax regression on 4 Gaussian blobs (400 train / 200 val),
full-batch gradient descent; `training.loss` every step, `validation.loss` and `validation.accuracy` every 10.

    python sacred_fit.py with lr=0.5 steps=200          # -> runs/1: healthy
    python sacred_fit.py with lr=60.0 steps=200         # -> runs/2: too high, the loss blows up
    python sacred_fit.py with lr=0.5 steps=200 fail_at=120   # -> runs/3: raises at step 120, status FAILED

(runs/_sources/, Sacred's copy of this script, was left out.)
"""
import numpy as np
from sacred import Experiment
from sacred.observers import FileStorageObserver

ex = Experiment("blobs_softmax")
ex.observers.append(FileStorageObserver("runs"))


@ex.config
def config():
    lr = 0.5
    steps = 200
    optimizer = "sgd"
    batch_size = 400
    fail_at = -1


def softmax_loss(w, x, y):
    z = x @ w
    z = z - z.max(1, keepdims=True)
    p = np.exp(z) / np.exp(z).sum(1, keepdims=True)
    loss = -np.log(p[np.arange(len(y)), y] + 1e-300).mean()
    grad = x.T @ (p - np.eye(4)[y]) / len(y)
    return loss, grad, (p.argmax(1) == y).mean()


@ex.automain
def main(_run, lr, steps, fail_at, _seed):
    rng = np.random.default_rng(0)
    centers = rng.normal(0, 2.0, (4, 8))
    y = rng.integers(0, 4, 600)
    x = centers[y] + rng.normal(0, 2.0, (600, 8))
    x = np.hstack([x, np.ones((600, 1))])
    xt, yt, xv, yv = x[:400], y[:400], x[400:], y[400:]
    w = np.zeros((9, 4))
    for step in range(steps):
        if step == fail_at:
            raise RuntimeError("simulated crash")
        loss, grad, _ = softmax_loss(w, xt, yt)
        _run.log_scalar("training.loss", float(loss), step)
        if step % 10 == 0:
            vloss, _, vacc = softmax_loss(w, xv, yv)
            _run.log_scalar("validation.loss", float(vloss), step)
            _run.log_scalar("validation.accuracy", float(vacc), step)
        w -= lr * grad
    return float(loss)
