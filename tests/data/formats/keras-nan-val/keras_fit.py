"""A real Keras 3 (torch backend) regression whose validation inputs hold a NaN (a missing value the training
split had dropped): every val_loss Keras logs is NaN while training runs normally. Run in this folder:
`KERAS_BACKEND=torch python keras_fit.py`."""
import os

os.environ.setdefault("KERAS_BACKEND", "torch")
import keras
import numpy as np

keras.utils.set_random_seed(0)
rng = np.random.default_rng(0)
x = rng.normal(size=(400, 6)).astype("float32")
y = (x @ rng.normal(size=6) + 0.1 * rng.normal(size=400)).astype("float32")
x_val, y_val = x[300:].copy(), y[300:]
x_val[7, 2] = np.nan
model = keras.Sequential([keras.Input((6,)), keras.layers.Dense(16, activation="relu"), keras.layers.Dense(1)])
model.compile(optimizer=keras.optimizers.Adam(1e-2), loss="mse")
model.fit(x[:300], y[:300], validation_data=(x_val, y_val), epochs=12, batch_size=32, verbose=0,
          callbacks=[keras.callbacks.CSVLogger("training.log")])
