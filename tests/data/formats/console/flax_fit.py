"""One real JAX/Flax training logged through CLU's metric writers, as the Flax examples log (their terminal
output is the LoggingWriter's absl lines), with the values written saved as the truth (truth.json, a shape no
reader claims).

    python flax_fit.py --style {flax,flax-highlr,clu-collections} --out OUT/ 2> OUT/train.log
    (jax 0.10.2, flax 0.12.8, optax, clu 0.0.12, CPU; absl's log lines go to stderr)

flax: examples/imagenet/train.py's loop: `metric_writers.create_default_writer(just_logging=...)`,
`writer.write_hparams(config)` (`[Hyperparameters] {...}`), every log_every_steps `writer.write_scalars(step + 1,
{'train_accuracy', 'train_learning_rate', 'train_loss', 'steps_per_second'})` (`[20] steps_per_second=..,
train_accuracy=0.4, ...`: the keys sorted, floats as .6g) and every epoch `writer.write_scalars(step + 1,
{'eval_accuracy', 'eval_loss'})`. flax-highlr: the same at SGD momentum 0.9 LR 3.0: the loss blows up.
clu-collections: one writer per collection (`create_default_writer(collection="train")`, `"eval"`), the names
unprefixed: `[20] collection=train accuracy=0.4, loss=1.2` and `[23] collection=eval accuracy=..., loss=...`.

The data are scikit-learn's 8x8 digits (1,437 train / 360 eval), the model a Flax linen MLP, optax SGD with
momentum and a cosine schedule over 300 steps of batch 64. truth.json: each logged metric's [step, value] as
logged (`train`: loss, `eval`: loss and accuracy).
"""
import json
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import optax
from absl import app, flags, logging
from clu import metric_writers
from flax import linen as nn
from sklearn.datasets import load_digits

flags.DEFINE_string("style", "flax", "flax | flax-highlr | clu-collections")
flags.DEFINE_string("out", None, "folder for truth.json")
FLAGS = flags.FLAGS


class MLP(nn.Module):
    @nn.compact
    def __call__(self, x):
        return nn.Dense(10)(nn.relu(nn.Dense(64)(x)))


def main(_):
    out = Path(FLAGS.out)
    out.mkdir(parents=True, exist_ok=True)
    digits = load_digits()
    rng = np.random.default_rng(0)
    perm = rng.permutation(len(digits.target))
    x, y = (digits.data / 16.0).astype(np.float32), digits.target
    xtr, ytr, xev, yev = x[perm[:1437]], y[perm[:1437]], x[perm[1437:]], y[perm[1437:]]
    config = {"learning_rate": 3.0 if FLAGS.style == "flax-highlr" else 0.1, "momentum": 0.9, "batch_size": 64,
              "num_train_steps": 300, "log_every_steps": 10, "optimizer": "sgd"}
    model = MLP()
    params = model.init(jax.random.PRNGKey(0), jnp.ones((1, 64)))
    schedule = optax.cosine_decay_schedule(config["learning_rate"], config["num_train_steps"])
    tx = optax.sgd(schedule, momentum=config["momentum"])
    opt_state = tx.init(params)

    def loss_fn(p, xb, yb):
        logits = model.apply(p, xb)
        return optax.softmax_cross_entropy_with_integer_labels(logits, yb).mean(), logits

    @jax.jit
    def train_step(p, s, xb, yb):
        (loss, logits), grads = jax.value_and_grad(loss_fn, has_aux=True)(p, xb, yb)
        updates, s = tx.update(grads, s, p)
        return optax.apply_updates(p, updates), s, loss, (logits.argmax(-1) == yb).mean()

    if FLAGS.style == "clu-collections":
        train_writer = metric_writers.create_default_writer(collection="train")
        eval_writer = metric_writers.create_default_writer(collection="eval")
    else:
        train_writer = eval_writer = metric_writers.create_default_writer()
    train_writer.write_hparams(config)
    truth = {"train": [], "eval_loss": [], "eval_accuracy": []}
    steps_per_epoch = len(ytr) // config["batch_size"]
    window, tick = [], time.time()
    logging.info("Initial compilation, this might take some minutes...")
    for step in range(config["num_train_steps"]):
        epoch_step = step % steps_per_epoch
        if epoch_step == 0:
            order = rng.permutation(len(ytr))
        idx = order[epoch_step * config["batch_size"]:(epoch_step + 1) * config["batch_size"]]
        params, opt_state, loss, acc = train_step(params, opt_state, xtr[idx], ytr[idx])
        window.append((float(loss), float(acc)))
        if (step + 1) % config["log_every_steps"] == 0:
            loss_mean = float(np.mean([w[0] for w in window]))
            acc_mean = float(np.mean([w[1] for w in window]))
            rate = config["log_every_steps"] / max(time.time() - tick, 1e-9)
            if FLAGS.style == "clu-collections":
                train_writer.write_scalars(step + 1, {"loss": loss_mean, "accuracy": acc_mean})
            else:
                train_writer.write_scalars(step + 1, {"train_loss": loss_mean, "train_accuracy": acc_mean,
                                                      "train_learning_rate": float(schedule(step)),
                                                      "steps_per_second": rate})
            truth["train"].append([step + 1, float(f"{loss_mean:.6g}")])
            window, tick = [], time.time()
        if (step + 1) % steps_per_epoch == 0:
            eval_loss, logits = loss_fn(params, xev, yev)
            eval_acc = float((logits.argmax(-1) == yev).mean())
            names = ("loss", "accuracy") if FLAGS.style == "clu-collections" else ("eval_loss", "eval_accuracy")
            eval_writer.write_scalars(step + 1, {names[0]: float(eval_loss), names[1]: eval_acc})
            truth["eval_loss"].append([step + 1, float(f"{float(eval_loss):.6g}")])
            truth["eval_accuracy"].append([step + 1, float(f"{eval_acc:.6g}")])
    train_writer.flush()
    eval_writer.flush()
    (out / "truth.json").write_text(json.dumps(truth))


if __name__ == "__main__":
    flags.mark_flag_as_required("out")
    app.run(main)
