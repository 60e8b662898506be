"""A real Keras 3 (torch backend) CSVLogger(append=True) over repeated `model.fit(epochs=1)` calls, as a
notebook that trains one epoch per cell writes it: every line says epoch 0. Run in this folder:
`KERAS_BACKEND=torch python keras_fit.py`."""
import os

os.environ.setdefault("KERAS_BACKEND", "torch")
import keras
import numpy as np

keras.utils.set_random_seed(0)
rng = np.random.default_rng(0)
x = rng.normal(size=(512, 8)).astype("float32")
y = (x[:, 0] + x[:, 1] > 0).astype("int32")
model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(16, activation="relu"), keras.layers.Dense(2)])
model.compile(optimizer=keras.optimizers.SGD(0.05), loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
              metrics=["accuracy"])
if os.path.exists("history.csv"):
    os.remove("history.csv")
for _ in range(8):
    model.fit(x[:384], y[:384], validation_data=(x[384:], y[384:]), epochs=1, batch_size=32, verbose=0,
              callbacks=[keras.callbacks.CSVLogger("history.csv", append=True)])
