"""One real TensorFlow Estimator training whose only log is TensorFlow's own INFO output (stderr), with the
evaluation results `evaluate()` returned saved as the truth (truth.json, under a name no reader claims).

    TF_CPP_MIN_LOG_LEVEL=2 python tf_estimator_fit.py OUT/ 2> OUT/train.log   (tensorflow-cpu 2.15.1, Python 3.11)

A DNNClassifier (two hidden layers of 32, Adagrad 0.05: the Estimator's defaults otherwise) on 4-class Gaussian
blobs, trained 100 steps at a time for 800 steps, evaluated after each: the training prints `loss = 1.27,
step = 100 (0.123 sec)` every 25 steps (RunConfig log_step_count_steps) and each evaluation
`Saving dict for global step 100: accuracy = 0.61, average_loss = 1.2, global_step = 100, loss = 1.2`.
"""
import json, sys, tempfile
from pathlib import Path

import numpy as np
import tensorflow as tf

out = Path(sys.argv[1])
out.mkdir(parents=True, exist_ok=True)
tf.compat.v1.logging.set_verbosity(tf.compat.v1.logging.INFO)
rng = np.random.default_rng(0)
centers = rng.normal(0, 1.5, (4, 6))
y = rng.integers(0, 4, 1200)
x = (centers[y] + rng.normal(0, 1.5, (1200, 6))).astype("float32")
feature = [tf.feature_column.numeric_column("x", shape=(6,))]
config = tf.estimator.RunConfig(model_dir=tempfile.mkdtemp(prefix="estimator-"), log_step_count_steps=25, save_summary_steps=10**9,
                                save_checkpoints_steps=100, tf_random_seed=0)
est = tf.estimator.DNNClassifier(hidden_units=[32, 32], feature_columns=feature, n_classes=4, config=config)


def train_input():
    ds = tf.data.Dataset.from_tensor_slices(({"x": x[:1000]}, y[:1000])).shuffle(1000, seed=0)
    return ds.repeat().batch(32)


def eval_input():
    return tf.data.Dataset.from_tensor_slices(({"x": x[1000:]}, y[1000:])).batch(200)


truth = []
for _ in range(8):
    est.train(train_input, steps=100)
    result = est.evaluate(eval_input)
    truth.append({k: float(v) for k, v in result.items()})
(out / "truth.json").write_text(json.dumps(truth))
