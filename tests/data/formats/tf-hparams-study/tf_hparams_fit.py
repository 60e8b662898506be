"""TensorFlow's HParams-dashboard layout, written by TensorFlow itself (the tutorial's `hp.hparams_config`
in the study folder, then one folder per trial holding `hp.hparams(...)` and its curves). Three trials of a
one-feature logistic regression trained here with plain gradient descent, so that each has a real curve.
Run in this folder with TensorFlow 2.x: `python tf_hparams_fit.py`."""
import numpy as np
import tensorflow as tf
from tensorboard.plugins.hparams import api as hp

HP_LR = hp.HParam("learning_rate", hp.Discrete([0.01, 0.3, 3.0]))
HP_OPT = hp.HParam("optimizer", hp.Discrete(["sgd"]))
with tf.summary.create_file_writer("hparam_tuning").as_default():
    hp.hparams_config(hparams=[HP_LR, HP_OPT], metrics=[hp.Metric("loss", display_name="Loss")])
rng = np.random.default_rng(0)
x = rng.normal(size=256)
y = (x + 0.5 * rng.normal(size=256) > 0).astype(float)
for i, lr in enumerate(HP_LR.domain.values):
    w = b = 0.0
    with tf.summary.create_file_writer(f"hparam_tuning/run-{i}").as_default():
        hp.hparams({HP_LR: lr, HP_OPT: "sgd"})
        for step in range(60):
            p = 1 / (1 + np.exp(-(w * x + b)))
            loss = float(-np.mean(y * np.log(p + 1e-12) + (1 - y) * np.log(1 - p + 1e-12)))
            w -= lr * float(np.mean((p - y) * x))
            b -= lr * float(np.mean(p - y))
            tf.summary.scalar("loss", loss, step=step)
