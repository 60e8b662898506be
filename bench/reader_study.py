"""A learned second reader: does a classifier over what advisor already measures read the logs
better than the hand-written rules, on seeds it was not fitted to?

    nice -n 10 python bench/reader_study.py features /work/corpora/gen2 /work/corpora/gen2_s2 ... \\
        --out bench/out/reader/gen2.pkl --jobs 2
    nice -n 10 python bench/reader_study.py loso bench/out/reader/gen2.pkl --group gen2
    nice -n 10 python bench/reader_study.py freeze bench/out/reader/gen2.pkl --out bench/out/reader/model.pkl
    python bench/reader_study.py score bench/out/reader/model.pkl bench/out/reader/blind.pkl

Why: sessions 11-13 added hand-written detector branches fitted to the tuning seeds' misses; they
gained on the pooled CV and nothing on fresh blind seeds. Session 14 measured the other way (notes
s14/ceil.md, ceil2.md): a gradient-boosted classifier given only what the log carries, trained
leave-one-seed-out, equals the rules on the seeds the rules were designed on and beats them on the
seeds they were not; frozen and scored once on fresh blind seeds it gained ~+0.06 macro-F1 with
half the healthy false alarms. This script makes that study a reproducible benchmark.

Steps (each writes or reads a pickle; nothing here is shipped or tuned into the rules):

- `features`: every labelled run is diagnosed once through advisor's own pipeline
  (`diagnose_paths`, shipped defaults: exactly bench/score.py's calls, stored as the rules'
  calls) and its features are taken from the LOG only:
  - every measurement advisor makes (each family and role: every numeric value, `detected`,
    confidence; string values one-hot) -- the `stats` family (generic descriptive statistics)
    is left out;
  - the logged hparams as advisor normalises them, and advisor's LR prior (advisor/priors.py:
    the LR over its optimizer's usual, also per batch size, and at the LR the second half
    trained at);
  - a practitioner's curve statistics of the train/val loss, val/train accuracy, LR and grad
    norm: start level, max over start, end and last quarter over start and over the minimum,
    where the min/max fall, second-half bounce and spread, OLS slope t statistics of the last
    quarter and half, the last quarter's share of the fall, quarter means, the loss at the end
    over ln C, accuracy gain, gain kept and gain lost.
  What is NOT a feature: the generators' labellers' own tests re-computed on the logged curves
  (bench/make_corpus_oos.label's stall fraction at 97% of the start, its relapse, its
  "moves >= 10%, up > 2%" oscillation test, its 1.25x overfitting rise, its collapse within 5
  points of chance after 25): the hidden set is labelled by people, so a reader that learns a
  generator's thresholds learns nothing we can ship. Labels, corpus ids and the truth entries
  (for score.py) are stored apart from the feature matrix, and nothing in it reads truth.json.
- `loso`: leave-one-seed(corpus)-out. For each corpus the learner (scikit-learn's
  HistGradientBoostingClassifier, one binary target per pattern plus "any" = not healthy) is
  trained on the other corpora and predicts it. Its calls are p >= t with t set two ways: at the
  rules' number of calls over the pooled held-out probabilities ("same #calls": both readers make
  as many calls, so precision and recall compare directly), and NESTED (t chosen at the rules'
  call count on an inner 3-fold grouped CV of the training corpora only, so no held-out label
  picks it). Per pattern: tp/fp/fn, healthy runs called, F1, and a seed-block bootstrap 95%
  interval of F1(learner) - F1(rules) (the corpora resampled 2,000 times: seeds, not runs, are
  the unit a new generator seed varies). Then macro-F1 and healthy false alarms by bench/score.py's
  definitions (a run's learner patterns = the five per-pattern calls), per corpus and pooled.
- `freeze`: the same learner trained on every run of the features file; its threshold per
  target is set at the rules' call count on out-of-fold predictions (7 folds grouped by corpus),
  never on the runs it will be scored on. `score`: that frozen model on a features file it never
  saw (a blind corpus): aggregates only (per-pattern tp/fp/fn, macro-F1, healthy false alarms,
  run-level bootstrap of the differences), no run is named.

Model settings are ceil14's, fixed before any blind score: 100 iterations, learning rate 0.1,
depth 3, 20 runs a leaf, L2 1.0, 64 bins, random_state 0. scikit-learn comes with the `verify`
extra (`pip install -e .[verify]`). The numbers this gave in session 14 are in bench/README.md.
"""
from __future__ import annotations

import argparse
import math
import os
import pickle
import subprocess
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from bench.score import CORE, load_truth, prediction, score  # noqa: E402

SCHEMA = 1
TARGETS = CORE + ("any",)
TRUTH_KEYS = ("path", "patterns", "healthy", "also_ok", "one_of", "expected_actions")  # what score() reads
OPTIMIZERS = ("sgd", "adam", "adamw", "rmsprop", "adagrad", "adamax", "nadam", "radam")
ACTIVATIONS = ("relu", "tanh", "sigmoid")
SETTINGS = dict(max_iter=100, learning_rate=0.1, max_depth=3, min_samples_leaf=20, l2_regularization=1.0,
                max_bins=64, random_state=0)
BOOTSTRAPS = 2000
FROZEN_FOLDS = 7
INNER_FOLDS = 3


# ---------------------------------------------------------------- features (log only)

def _num(v) -> float:
    if v is None or isinstance(v, str):
        return math.nan
    try:
        x = float(v)
    except (TypeError, ValueError):
        return math.nan
    return x if math.isfinite(x) else math.nan


def _log10(v) -> float:
    x = _num(v)
    return math.log10(x) if x > 0 else math.nan


def _slog(v: float) -> float:
    """A ratio on a signed log scale: 1e6x and 10x stay apart without swamping the tree's bins."""
    return float(np.sign(v) * np.log10(1 + abs(v))) if v == v else math.nan


def _ratio(a: float, b: float) -> float:
    return a / b if b else math.nan


def _scalar(v) -> float | None:
    """A measurement value as a number (inf kept as a huge finite value: 'blew up' is information)."""
    if isinstance(v, bool):
        return float(v)
    if isinstance(v, (int, float, np.integer, np.floating)):
        v = float(v)
        return v if math.isfinite(v) else (1e30 if v > 0 else -1e30 if v < 0 else math.nan)
    return None


def tail_slope(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """OLS slope of y over x: its t statistic (clipped to +-50) and the change it makes over the
    span relative to the mean level. A loss still falling at the end reads t << 0."""
    if len(y) < 4:
        return math.nan, math.nan
    x = x - x.mean()
    sx = float((x ** 2).sum())
    if sx <= 0:
        return math.nan, math.nan
    b = float((x * (y - y.mean())).sum()) / sx
    resid = y - y.mean() - b * x
    se = math.sqrt(float((resid ** 2).sum()) / max(len(y) - 2, 1) / sx)
    t = b / se if se > 0 else float(np.sign(b)) * 50.0  # a perfect line: +-50, a flat one: 0
    return float(np.clip(t, -50, 50)), _ratio(b * float(x.max() - x.min()), abs(float(y.mean())))


def curve_stats(curve, pre: str) -> dict[str, float]:
    """A practitioner's reading of a loss-like curve: where it starts, how high it went, where it
    ends against its start and its best, how it moves in its second half, and whether it is still
    moving at the end."""
    if curve is None:
        return {pre + "present": 0.0}
    x, y = np.asarray(curve.x, float), np.asarray(curve.y, float)
    fin = np.isfinite(y)
    out = {pre + "present": 1.0, pre + "n_log": _log10(len(y)), pre + "nonfinite": float(not fin.all()),
           pre + "finite_frac": float(fin.mean()) if len(y) else math.nan}
    x, y = x[fin], y[fin]
    if len(y) < 4:
        return out
    n, start, first3 = len(y), float(y[0]), float(np.median(y[:3]))
    q = max(2, n // 4)
    tail = float(np.median(y[-q:]))
    half = y[n // 2:]
    level = float(np.mean(np.abs(half))) or math.nan
    out.update({
        pre + "start_log": _log10(abs(start)), pre + "start_med3_log": _log10(abs(first3)),
        pre + "max_rel": _slog(_ratio(y.max(), start)), pre + "max_rel_med3": _slog(_ratio(y.max(), first3)),
        pre + "min_rel": _ratio(y.min(), start), pre + "end_rel": _slog(_ratio(np.mean(y[-max(1, n // 10):]), start)),
        pre + "last_rel": _slog(_ratio(y[-1], start)), pre + "q4med_rel": _slog(_ratio(tail, start)),
        pre + "q4med_over_min": _slog(tail / y.min()) if y.min() > 0 else math.nan,
        pre + "argmax_pos": int(np.argmax(y)) / (n - 1), pre + "argmin_pos": int(np.argmin(y)) / (n - 1),
        pre + "h2_bounce": float(np.mean(np.abs(np.diff(half)))) / level, pre + "h2_cv": float(np.std(half)) / level,
    })
    for frac, name in ((0.25, "q4"), (0.5, "h2")):
        k = max(4, int(n * frac))
        out[pre + name + "_t"], out[pre + name + "_relslope"] = tail_slope(x[-k:], y[-k:])
    blocks = np.array([b.mean() for b in np.array_split(y, min(20, n))])
    if blocks[0] != blocks[-1]:  # the share of the fall made in the last quarter: "still moving?"
        out[pre + "b_q4_share"] = float((blocks[int(0.75 * len(blocks))] - blocks[-1]) / (blocks[0] - blocks[-1]))
    quarters = np.array([b.mean() for b in np.array_split(y, 4)])
    out[pre + "quarters_rising"] = float(np.all(np.diff(quarters) > 0))
    out[pre + "q_last_over_first"] = _slog(_ratio(quarters[-1], quarters[0]))
    return out


def accuracy_stats(curve, pre: str) -> dict[str, float]:
    """An accuracy curve: where it starts, its best, its end, the gain made and the share of the
    gain given back (continuous; no chance-level bar)."""
    if curve is None:
        return {pre + "present": 0.0}
    y = np.asarray(curve.y, float)
    y = y[np.isfinite(y)]
    out = {pre + "present": 1.0}
    if len(y) < 3:
        return out
    if y.max() > 1.5:  # percent
        y = y / 100.0
    first, best, end = float(y[0]), float(y.max()), float(np.mean(y[-3:]))
    out.update({pre + "first": first, pre + "max": best, pre + "last3": end, pre + "min": float(y.min()),
                pre + "gain": best - first, pre + "last_gain": end - first, pre + "last_from_max": best - end,
                pre + "gain_share": _ratio(end - first, 1 - first), pre + "gain_lost": _ratio(best - end, best - first),
                pre + "first_half_med": float(np.median(y[:len(y) // 2])), pre + "h2_std": float(np.std(y[len(y) // 2:]))})
    return out


def lr_stats(curve, pre: str = "lr_") -> dict[str, float]:
    """The logged LR schedule: its peak and where it starts, ends and sits in the second half."""
    if curve is None:
        return {pre + "present": 0.0}
    y = np.asarray(curve.y, float)
    y = y[np.isfinite(y)]
    out = {pre + "present": 1.0}
    if len(y) < 2 or y.max() <= 0:
        return out
    top = float(y.max())
    out.update({pre + "max_log": math.log10(top), pre + "last_over_max": y[-1] / top,
                pre + "first_over_max": y[0] / top, pre + "h2_med_over_max": float(np.median(y[len(y) // 2:])) / top})
    return out


GRAD_NORM_KEEP = ("present", "nonfinite", "max_rel", "max_rel_med3", "q4med_rel", "end_rel", "h2_cv")


def over_ln_classes(curve, num_classes) -> float:
    """The loss at the end over ln C: a classifier that learnt nothing sits at 1. C is the logged class
    count, else the one a fresh classifier's start loss implies (exp of its first points' median)."""
    if curve is None:
        return math.nan
    y = np.asarray(curve.y, float)
    y = y[np.isfinite(y)]
    if len(y) < 3:
        return math.nan
    first3 = float(np.median(y[:3]))
    c = num_classes or (round(math.exp(first3)) if 0.3 < first3 < 5 else None)
    return float(np.median(y[-max(2, len(y) // 10):])) / math.log(c) if c and c >= 2 else math.nan


def hparam_features(curves) -> dict[str, float]:
    """The logged hparams (as advisor normalises them) and advisor's LR prior."""
    from advisor.priors import lr_over_usual, lr_over_usual_for_batch
    from advisor.signals.oscillation import judged_hparams
    from advisor.signals.robust import finite_xy

    hp = dict(curves.hparams or {})
    opt, act = str(hp.get("optimizer") or "").lower(), str(hp.get("activation") or "").lower()
    out = {"hp_lr_log": _log10(hp.get("lr")), "hp_batch_log": _log10(hp.get("batch_size")),
           "hp_momentum": _num(hp.get("momentum")), "hp_steps_log": _log10(hp.get("max_steps") or hp.get("epochs")),
           "hp_depth": _num(hp.get("depth")), "hp_init_scale_log": _log10(hp.get("init_scale")),
           "hp_opt_missing": float(not opt), "hp_init_small": float(str(hp.get("init") or "") == "small"),
           "hp_n": float(len(hp)), "hp_num_classes_log": _log10(curves.num_classes),
           "hp_prior_log": _log10(lr_over_usual(hp)), "hp_prior_batch_log": _log10(lr_over_usual_for_batch(hp))}
    out.update({f"hp_opt_{o}": float(opt == o) for o in OPTIMIZERS})
    out.update({f"hp_act_{a}": float(act == a) for a in ACTIVATIONS})
    loss = curves.get("train_loss") or curves.get("val_loss")
    if loss is not None:
        judged = judged_hparams(curves, finite_xy(loss)[0])
        out["hp_jprior_log"] = _log10(lr_over_usual(judged))
        out["hp_jprior_batch_log"] = _log10(lr_over_usual_for_batch(judged))
        out["hp_averaged"] = float(bool(getattr(loss, "averaged", False)))
        out["hp_x_epoch"] = float(getattr(loss, "x_kind", None) == "epoch")
    return out


def measurement_features(measurements) -> dict[str, float]:
    """Every value advisor measured, per family and role ('m_<family>_<role>_<name>')."""
    out = {}
    for m in measurements:
        if m.family == "stats":
            continue
        pre = f"m_{m.family}_{m.role}_"
        out[pre + "detected"] = float(bool(m.detected))
        out[pre + "conf"] = float(m.confidence or 0)
        for k, v in (m.values or {}).items():
            s = _scalar(v)
            if s is not None:
                out[pre + k] = s
            elif isinstance(v, str) and len(v) < 30:
                out[f"{pre}{k}={v}"] = 1.0  # one-hot; absent = 0 (see `matrix`)
    return out


def run_features(curves, measurements) -> dict[str, float]:
    """All features of one run: measurements, hparams and prior, curve statistics."""
    out = measurement_features(measurements)
    out.update(hparam_features(curves))
    train, val = curves.get("train_loss"), curves.get("val_loss")
    out.update(curve_stats(train, "c_tr_"))
    out.update(curve_stats(val, "c_va_"))
    out.update(accuracy_stats(curves.get("val_acc"), "c_vacc_"))
    out.update(accuracy_stats(curves.get("train_acc"), "c_tacc_"))
    out.update(lr_stats(curves.get("lr")))
    out.update({k: v for k, v in curve_stats(curves.get("grad_norm"), "c_gn_").items()
                if k[len("c_gn_"):] in GRAD_NORM_KEEP})
    out["c_tr_end_over_lnC"] = over_ln_classes(train, curves.num_classes)
    out["c_va_end_over_lnC"] = over_ln_classes(val, curves.num_classes)
    acc = curves.get("val_acc")
    if acc is not None and curves.num_classes:
        ay = np.asarray(acc.y, float)
        ay = ay[np.isfinite(ay)]
        if len(ay):
            out["c_vacc_over_chance"] = float(np.mean(ay[-3:]) / (100.0 if ay.max() > 1.5 else 1.0)) * curves.num_classes
    return out


def read_one(args: tuple[str, str]) -> tuple[dict, dict, str | None]:
    """Diagnose one labelled run with the shipped defaults (in a worker): score.py's prediction for
    it, its features, and an error (a run advisor cannot read has no features, and no calls)."""
    root, rel = args
    from advisor.pipeline import diagnose_paths

    diagnosis = diagnose_paths([str(Path(root) / rel)])
    pred = prediction(rel, diagnosis)
    pred = {k: pred.get(k) for k in ("path", "patterns", "first_action", "actions")}
    if not diagnosis.runs or diagnosis.runs[0].curves is None:
        return pred, {}, "no run read"
    report = diagnosis.runs[0]
    try:
        return pred, run_features(report.curves, report.measurements), report.error
    except Exception as exc:  # a feature that crashes costs this run its features, not the study
        return pred, {}, f"features failed: {type(exc).__name__}: {exc}"


def matrix(rows: list[dict], cols: list[str]) -> np.ndarray:
    """Rows of features as a float matrix over `cols`: missing = NaN (the learner's "not measured"),
    but a missing one-hot column ('name=value') = 0; magnitudes clipped at 1e30."""
    X = np.array([[r.get(c, math.nan) for c in cols] for r in rows], float)
    X[~np.isfinite(X)] = math.nan
    X = np.clip(X, -1e30, 1e30)  # past 1e30 every ratio means "blew up"; the bins need not tell 1e35 from 1e300
    for i, c in enumerate(cols):
        if "=" in c:
            X[np.isnan(X[:, i]), i] = 0.0
    return X


def commit() -> str:
    try:
        return subprocess.run(["git", "-C", str(REPO), "describe", "--always", "--dirty"], capture_output=True,
                              text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def cmd_features(args) -> None:
    names = [r.name for r in args.corpora]
    if len(set(names)) != len(names):
        sys.exit(f"corpus names must differ (they are the seed ids): {names}")
    jobs, truth = [], []
    for root in args.corpora:
        for e in load_truth(root / "truth.json"):
            jobs.append((str(root), e["path"]))
            truth.append({"corpus": root.name, **{k: e[k] for k in TRUTH_KEYS if k in e}})
    rows, rules, errors = [], [], []
    with ProcessPoolExecutor(args.jobs) as pool:
        for i, (pred, feats, error) in enumerate(pool.map(read_one, jobs, chunksize=4)):
            rows.append(feats)
            rules.append(pred)
            if error:
                errors.append((truth[i]["corpus"], truth[i]["path"], error))
            if i + 1 == len(jobs) or truth[i + 1]["corpus"] != truth[i]["corpus"]:
                done = sum(t["corpus"] == truth[i]["corpus"] for t in truth)
                print(f"{truth[i]['corpus']}: {done} runs diagnosed", file=sys.stderr, flush=True)
    cols = sorted({c for r in rows for c in r})
    data = {"schema": SCHEMA, "commit": commit(), "cols": cols, "X": matrix(rows, cols),
            # kept apart from X: what the runs are (labels, corpus = seed id) and what the rules said
            "corpus": np.array([t["corpus"] for t in truth]), "truth": truth, "rules": rules, "errors": errors}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_bytes(pickle.dumps(data))
    for corpus, path, error in errors:
        print(f"ERROR {corpus} {path}: {error}", file=sys.stderr)
    print(f"{len(truth)} runs from {len(names)} corpora, {len(cols)} feature columns, {len(errors)} errors -> {args.out}")


# ---------------------------------------------------------------- the learner

def load(path: Path, group: str | None = None) -> dict:
    data = pickle.loads(path.read_bytes())
    if data.get("schema") != SCHEMA:
        sys.exit(f"{path}: features schema {data.get('schema')}, this script reads {SCHEMA}: run `features` again")
    if group and group != "all":
        keep = np.array([c.startswith({"gen2": "gen2", "pool": "oos"}.get(group, group)) for c in data["corpus"]])
        if not keep.any():
            sys.exit(f"{path}: no corpus of group {group!r} (corpora: {sorted(set(data['corpus']))})")
        data = {**data, "X": data["X"][keep], "corpus": data["corpus"][keep],
                "truth": [t for t, k in zip(data["truth"], keep) if k], "rules": [r for r, k in zip(data["rules"], keep) if k]}
    return data


def labels(truth: list[dict], target: str) -> np.ndarray:
    if target == "any":
        return np.array([bool(set(t.get("patterns", [])) & set(CORE)) for t in truth], int)
    return np.array([target in t.get("patterns", []) for t in truth], int)


def rule_calls(rules: list[dict], target: str) -> np.ndarray:
    wanted = set(CORE) if target == "any" else {target}
    return np.array([bool(wanted & set(r["patterns"] or [])) for r in rules])


def usable(X: np.ndarray, cols: list[str]) -> list[int]:
    """Columns worth offering (no label looked at): >= 2 distinct values, finite in >= 2% of runs."""
    out = []
    for i in range(X.shape[1]):
        fin = np.isfinite(X[:, i])
        if fin.mean() >= 0.02 and len(np.unique(X[fin, i])) >= 2:
            out.append(i)
    return out


class Reader:
    """One target's learner, fitted on the columns that vary in its training rows."""

    def __init__(self, X: np.ndarray, y: np.ndarray, columns: list[int]):
        from sklearn.ensemble import HistGradientBoostingClassifier

        self.columns = [i for i in columns if len(np.unique(X[np.isfinite(X[:, i]), i])) >= 2]
        self.model = HistGradientBoostingClassifier(**SETTINGS).fit(X[:, self.columns], y)

    def proba(self, X: np.ndarray) -> np.ndarray:
        return self.model.predict_proba(X[:, self.columns])[:, 1]


def grouped_proba(X, y, groups, columns, folds: list[list[str]]) -> np.ndarray:
    """Out-of-fold probabilities: each fold of groups predicted by a reader fitted on the others."""
    p = np.full(len(y), np.nan)
    for fold in folds:
        held = np.isin(groups, fold)
        if held.any():
            p[held] = Reader(X[~held], y[~held], columns).proba(X[held])
    return p


def at_count(p: np.ndarray, n: int) -> float:
    """The threshold at which p makes n calls (ties may add a few)."""
    return float(np.sort(p)[::-1][n - 1]) if n > 0 else math.inf


def seed_order(groups: np.ndarray) -> list[str]:
    return sorted(map(str, set(groups)), key=lambda s: (len(s), s))


def contributions(truth: list[dict], calls: dict[str, np.ndarray]) -> np.ndarray:
    """Per run, by bench/score.py's definitions: tp, fp, fn of each CORE pattern, then healthy, alarm."""
    out = np.zeros((len(truth), 3 * len(CORE) + 2), int)
    for i, t in enumerate(truth):
        pred = {"path": t["path"], "patterns": [p for p in CORE if calls[p][i]], "first_action": None, "actions": []}
        r = score([t], {t["path"]: pred})
        out[i] = [r["per_pattern"][p][k] for p in CORE for k in ("tp", "fp", "fn")] + \
                 [r["healthy_runs"], r["healthy_false_alarms"]]
    return out


def summary(c: np.ndarray) -> tuple[np.ndarray, float, int, int]:
    """Summed contributions -> per-pattern F1, macro-F1 (patterns present), healthy alarms, healthy runs."""
    per = c[..., :3 * len(CORE)].reshape(*c.shape[:-1], len(CORE), 3)
    f1 = f1_of(per)
    present = (per[..., 0] + per[..., 2]) > 0
    macro = (f1 * present).sum(-1) / np.maximum(present.sum(-1), 1)
    healthy = 3 * len(CORE)  # the column after the patterns' tp/fp/fn (see contributions)
    return f1, macro, c[..., healthy + 1], c[..., healthy]


def resampled(tables: list[np.ndarray], blocks: list[np.ndarray], seed: int = 7) -> list[np.ndarray]:
    """Bootstrap sums of per-unit tables (same units, same draws): the units of each block are
    resampled with replacement, BOOTSTRAPS times."""
    rng = np.random.default_rng(seed)
    draw = np.hstack([units[rng.integers(0, len(units), size=(BOOTSTRAPS, len(units)))] for units in blocks])
    return [t[draw].sum(1) for t in tables]


def interval(d: np.ndarray) -> tuple[float, float]:
    lo, hi = np.percentile(d, [2.5, 97.5])
    return float(lo), float(hi)


def counts(call: np.ndarray, y: np.ndarray, healthy: np.ndarray) -> tuple[int, int, int, int]:
    return (int((call & (y == 1)).sum()), int((call & (y == 0)).sum()), int((~call & (y == 1)).sum()),
            int((call & healthy).sum()))


def f1_of(c) -> np.ndarray:
    """F1 from (tp, fp, fn, ...) on the last axis (0 where nothing is found)."""
    c = np.asarray(c)
    tp, fp, fn = c[..., 0], c[..., 1], c[..., 2]
    return np.where(tp > 0, 2 * tp / np.maximum(2 * tp + fp + fn, 1), 0.0)


def show(c) -> str:
    return f"{c[0]}/{c[1]}/{c[2]} h{c[3]}, {f1_of(c):.3f}"


def by_unit(table: np.ndarray, unit: np.ndarray, n: int) -> np.ndarray:
    """Per-run rows summed per unit (corpus): the table a seed-block bootstrap resamples."""
    return np.array([table[unit == u].sum(0) for u in range(n)])


def cmd_loso(args) -> None:
    """Leave-one-corpus-out learner vs the rules: per-pattern table, then score.py's macro-F1."""
    data = load(args.features, args.group)
    X, groups, truth = data["X"], data["corpus"], data["truth"]
    seeds = seed_order(groups)
    if len(seeds) < 3:
        sys.exit(f"leave-one-seed-out needs >= 3 corpora, not {len(seeds)}")
    columns = usable(X, data["cols"])
    healthy = labels(truth, "any") == 0
    print(f"{len(truth)} runs ({int(healthy.sum())} healthy), {len(seeds)} corpora, {len(columns)} of "
          f"{len(data['cols'])} feature columns, features of {data['commit']}")
    outer = [[s] for s in seeds]
    learner = {"same #calls": {}, "nested": {}}
    print("\n| target (positives) | rules | learner, same #calls | dF1 [95% seed boot] | learner, nested | dF1 [95%] |")
    print("|---|---|---|---|---|---|")
    unit = np.array([seeds.index(s) for s in groups])
    for target in TARGETS:
        y, rule = labels(truth, target), rule_calls(data["rules"], target)
        p = grouped_proba(X, y, groups, columns, outer)
        same = p >= at_count(p, int(rule.sum()))
        nested = np.zeros(len(y), bool)
        for s in seeds:  # the threshold from the training corpora's own out-of-fold probabilities
            train = groups != s
            inner = seed_order(groups[train])
            p_in = grouped_proba(X[train], y[train], groups[train], columns,
                                 [inner[k::INNER_FOLDS] for k in range(INNER_FOLDS)])
            nested[~train] = p[~train] >= at_count(p_in, int(rule[train].sum()))
        learner["same #calls"][target], learner["nested"][target] = same, nested
        cr = counts(rule, y, healthy)
        cells = []
        for call in (same, nested):
            c = counts(call, y, healthy)
            a, b = (by_unit(np.column_stack([k & (y == 1), k & (y == 0), ~k & (y == 1)]).astype(int), unit, len(seeds))
                    for k in (call, rule))
            sa, sb = resampled([a, b], [np.arange(len(seeds))])
            lo, hi = interval(f1_of(sa) - f1_of(sb))
            cells += [show(c), f"{f1_of(c) - f1_of(cr):+.3f} [{lo:+.3f},{hi:+.3f}]"]
        print(f"| {target} ({int(y.sum())}) | {show(cr)} | " + " | ".join(cells) + " |", flush=True)
    print("\n(tp/fp/fn, h = healthy runs called, F1; 'any' = not healthy, its row is the any-alarm learner)")
    # macro-F1 and healthy false alarms as bench/score.py counts them, per corpus and pooled
    rules = {p: rule_calls(data["rules"], p) for p in CORE}
    c_rules = contributions(truth, rules)
    c_learn = {k: contributions(truth, v) for k, v in learner.items()}
    print("\n| corpora | runs | rules: macro-F1, healthy FA | learner same #calls | learner nested |")
    print("|---|---|---|---|---|")
    rows = [(s, unit == seeds.index(s)) for s in seeds] + [("all", np.ones(len(truth), bool))]
    for name, m in rows:
        cells = []
        for c in (c_rules, c_learn["same #calls"], c_learn["nested"]):
            _, macro, fa, hn = summary(c[m].sum(0))
            cells.append(f"{macro:.3f}, {fa}/{hn}")
        print(f"| {name} | {int(m.sum())} | " + " | ".join(cells) + " |")
    for k, c in c_learn.items():
        report_difference(f"learner {k}", by_unit(c, unit, len(seeds)), by_unit(c_rules, unit, len(seeds)),
                          [np.arange(len(seeds))],
                          f"seed-block bootstrap, {BOOTSTRAPS} resamples")


def report_difference(who: str, a: np.ndarray, b: np.ndarray, blocks: list[np.ndarray], how: str) -> None:
    """Macro-F1 and healthy false alarms of a minus b (per-unit contribution tables), with 95% intervals."""
    sa, sb = resampled([a, b], blocks)
    (_, ma, ha, _), (_, mb, hb, _) = summary(sa), summary(sb)
    (_, ta, fa, _), (_, tb, fb, _) = summary(a.sum(0)), summary(b.sum(0))
    (mlo, mhi), (hlo, hhi) = interval(ma - mb), interval(ha - hb)
    print(f"{who} - rules: macro-F1 {ta - tb:+.3f} [{mlo:+.3f},{mhi:+.3f}], healthy FA {int(fa - fb):+d} "
          f"[{hlo:+.0f},{hhi:+.0f}] ({how})")


def cmd_freeze(args) -> None:
    data = load(args.features, args.group)
    X, groups, truth, cols = data["X"], data["corpus"], data["truth"], data["cols"]
    seeds = seed_order(groups)
    columns = usable(X, cols)
    folds = [seeds[k::FROZEN_FOLDS] for k in range(FROZEN_FOLDS)]
    frozen = {"schema": SCHEMA, "settings": SETTINGS, "features_commit": data["commit"], "trained_on": seeds,
              "runs": len(truth), "targets": {}}
    healthy = labels(truth, "any") == 0
    for target in TARGETS:
        y, rule = labels(truth, target), rule_calls(data["rules"], target)
        oof = grouped_proba(X, y, groups, columns, folds)
        t = at_count(oof, int(rule.sum()))
        reader = Reader(X, y, columns)
        frozen["targets"][target] = {"threshold": t, "columns": [cols[i] for i in reader.columns], "model": reader.model}
        print(f"{target:17} {len(reader.columns)} columns, threshold {t:.3f}; out-of-fold rules {show(counts(rule, y, healthy))}"
              f" learner {show(counts(oof >= t, y, healthy))}", flush=True)
    import sklearn

    frozen["sklearn"] = sklearn.__version__
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_bytes(pickle.dumps(frozen))
    print(f"frozen on {len(truth)} runs of {len(seeds)} corpora -> {args.out}")


def cmd_score(args) -> None:
    frozen = pickle.loads(args.model.read_bytes())
    data = load(args.features, args.group)
    truth, names = data["truth"], data["cols"]
    seen = sorted(set(map(str, data["corpus"])) & set(frozen["trained_on"]))
    if seen:
        sys.exit(f"the model was trained on {seen}: not a blind score")
    calls = {}
    rows = [dict(zip(names, row)) for row in data["X"]]
    for target in CORE:
        spec = frozen["targets"][target]
        calls[target] = spec["model"].predict_proba(matrix(rows, spec["columns"]))[:, 1] >= spec["threshold"]
    unseen = sum(1 for c in names if "=" in c and not any(c in s["columns"] for s in frozen["targets"].values()))
    rules = {p: rule_calls(data["rules"], p) for p in CORE}
    c_rules, c_learn = contributions(truth, rules), contributions(truth, calls)
    print(f"{len(truth)} runs of {seed_order(data['corpus'])}; model trained on {len(frozen['trained_on'])} corpora "
          f"({frozen['runs']} runs); {len(data['errors'])} feature errors; {unseen} one-hot columns the model never used")
    print("\n| reader | macro-F1 | healthy FA | " + " | ".join(f"{p} tp/fp/fn" for p in CORE) + " |")
    print("|---|---|---|" + "---|" * len(CORE))
    for who, c in (("rules", c_rules), ("learner (frozen)", c_learn)):
        tot = c.sum(0)
        _, macro, fa, hn = summary(tot)
        print(f"| {who} | {macro:.3f} | {fa}/{hn} | " + " | ".join("/".join(str(v) for v in tot[3 * i:3 * i + 3])
                                                             for i in range(len(CORE))) + " |")
    blocks = [np.flatnonzero(data["corpus"] == s) for s in sorted(set(data["corpus"]))]
    report_difference("\nlearner", c_learn, c_rules, blocks, f"run-level bootstrap within each corpus, {BOOTSTRAPS} resamples")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="command", required=True)
    f = sub.add_parser("features", help="diagnose labelled corpora once; store features, rules' calls, labels")
    f.add_argument("corpora", nargs="+", type=Path, help="labelled corpora (truth.json inside); the folder name is the seed id")
    f.add_argument("--out", type=Path, required=True)
    f.add_argument("--jobs", type=int, default=2)
    lo = sub.add_parser("loso", help="leave-one-seed-out learner vs the rules")
    lo.add_argument("features", type=Path)
    lo.add_argument("--group", default="all", help="gen2 (corpora named gen2*), pool (oos*), all, or a name prefix [all]")
    lo.add_argument("--jobs", type=int, default=2, help="threads for the learner [2]")
    fr = sub.add_parser("freeze", help="train on every run, threshold from out-of-fold predictions")
    fr.add_argument("features", type=Path)
    fr.add_argument("--out", type=Path, required=True)
    fr.add_argument("--group", default="all")
    fr.add_argument("--jobs", type=int, default=2)
    sc = sub.add_parser("score", help="a frozen model on corpora it never saw: aggregates only")
    sc.add_argument("model", type=Path)
    sc.add_argument("features", type=Path)
    sc.add_argument("--group", default="all", help="the corpora of the features file to score [all]")
    sc.add_argument("--jobs", type=int, default=2)
    args = ap.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", str(args.jobs))  # before scikit-learn loads its OpenMP runtime
    if args.command != "features":
        try:
            import sklearn  # noqa: F401
        except ImportError:
            sys.exit("reader_study needs scikit-learn: pip install -e '.[verify]'")
    {"features": cmd_features, "loso": cmd_loso, "freeze": cmd_freeze, "score": cmd_score}[args.command](args)


if __name__ == "__main__":
    main()
