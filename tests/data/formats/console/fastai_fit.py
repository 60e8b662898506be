"""One real fastai training run in a terminal: fastai's ProgressCallback prints its results table through
fastprogress' console bar (the epoch table a notebook shows as HTML), and its CSVLogger writes the same values
to history.csv, the truth.

    python fastai_fit.py LR OUT/ [regression] > OUT/console.log   (fastai 2.8.12, fastprogress, torch 2.13 CPU;
    fastai's tabular API imports without torchvision)

A tabular_learner (one hidden layer of 64) on scikit-learn's 8x8 digits as a DataFrame (64 pixel columns,
the digit as the category; 20% random validation split, seed 0), accuracy and error_rate as metrics,
fit_one_cycle(12, LR). fastai-table/ at LR 1e-2; fastai-table-highlr/ at LR 3.0 (the loss blows up);
fastai-table-regression/ (`regression`): the digit as a number, MSE, metrics rmse and mae, LR 1e-2, 5 epochs.
"""
import sys
from pathlib import Path

import pandas as pd
from fastai.tabular.all import (CSVLogger, Categorify, RandomSplitter, RegressionBlock, TabularDataLoaders, accuracy,
                                error_rate, mae, rmse, set_seed, tabular_learner)
from sklearn.datasets import load_digits

lr, out = float(sys.argv[1]), Path(sys.argv[2])
out.mkdir(parents=True, exist_ok=True)
set_seed(0, reproducible=True)
digits = load_digits()
df = pd.DataFrame(digits.data / 16.0, columns=[f"px{i}" for i in range(64)])
splits = RandomSplitter(valid_pct=0.2, seed=0)(range(len(df)))
if len(sys.argv) > 3 and sys.argv[3] == "regression":
    df["y"] = digits.target.astype(float)
    dls = TabularDataLoaders.from_df(df, path=out, procs=[], cont_names=[f"px{i}" for i in range(64)], y_names="y",
                                     y_block=RegressionBlock(), splits=splits, bs=64)
    learn = tabular_learner(dls, layers=[64], metrics=[rmse, mae], cbs=[CSVLogger(fname=str(out / "history.csv"))])
    learn.fit_one_cycle(5, lr)
else:
    df["digit"] = digits.target.astype(str)
    dls = TabularDataLoaders.from_df(df, path=out, procs=[Categorify], cont_names=[f"px{i}" for i in range(64)],
                                     y_names="digit", splits=splits, bs=64)
    learn = tabular_learner(dls, layers=[64], metrics=[accuracy, error_rate],
                            cbs=[CSVLogger(fname=str(out / "history.csv"))])
    learn.fit_one_cycle(12, lr)
