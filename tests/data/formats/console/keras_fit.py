"""One real Keras 3 fit (torch backend), logged twice: the console (verbose) and CSVLogger."""
import sys, numpy as np, keras
lr, verbose, out = float(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
keras.utils.set_random_seed(0)
rng = np.random.default_rng(0)
x = rng.normal(size=(600, 8)).astype("float32"); y = ((x[:, 0] + x[:, 1] * x[:, 2]) > 0).astype("int32")
m = keras.Sequential([keras.Input((8,)), keras.layers.Dense(32, activation="relu"), keras.layers.Dense(32, activation="relu"),
                      keras.layers.Dense(2, activation="softmax")])
m.compile(optimizer=keras.optimizers.SGD(learning_rate=lr, momentum=0.9), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
m.fit(x, y, epochs=30, batch_size=16, validation_split=0.25, verbose=verbose, callbacks=[keras.callbacks.CSVLogger(out)])
