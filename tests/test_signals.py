"""Signals: TensorBoard smoothing exactness, planted patterns found near their onset, healthy and
noisy controls silent, robustness to the mess real logs contain, and the catalogue contract."""
from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

from advisor.model import Curve, Curves
from advisor.signals import REGISTRY, measure
from advisor.signals import catalogue  # noqa: F401  (registers the families)
from advisor.signals import synthetic as S
from advisor.signals.robust import lowess, tb_smooth, theil_sen

PATTERNS = ("divergence", "oscillation", "plateau", "slow_convergence", "overfitting")
SEEDS = range(10)


def detected(curves: Curves) -> dict[str, float | None]:
    """pattern -> earliest onset over the loss roles, for the patterns detected."""
    out: dict[str, float | None] = {}
    for m in measure(curves):
        if m.family in PATTERNS and m.role in ("train_loss", "val_loss") and m.detected:
            if m.family not in out or (m.start_step is not None and (out[m.family] is None or m.start_step < out[m.family])):
                out[m.family] = m.start_step
    return out


# ----------------------------------------------------------------------------- TB smoothing


def _tb_reference(values, weight):
    """Straight transcription of TensorBoard's resampleData smoothing loop."""
    last = 0.0
    num_accum = 0
    is_constant = all(v == values[0] for v in values)
    out = []
    for v in values:
        if is_constant or not math.isfinite(v):
            out.append(v)
        else:
            last = last * weight + (1 - weight) * v
            num_accum += 1
            debias = 1 - weight ** num_accum if weight != 1 else 1.0
            out.append(last / debias)
    return out


@pytest.mark.parametrize("weight", [0.0, 0.3, 0.6, 0.9, 0.99, 1.0])
def test_tb_smooth_matches_reference(weight):
    rng = np.random.default_rng(0)
    y = rng.normal(size=200).cumsum()
    y[[5, 17, 80]] = [np.nan, np.inf, -np.inf]
    got = tb_smooth(y, weight)
    ref = _tb_reference(list(y), weight)
    np.testing.assert_allclose(got, ref, rtol=0, atol=1e-12, equal_nan=True)
    assert np.isnan(got[5]) and got[17] == np.inf and got[80] == -np.inf  # passed through


def test_tb_smooth_equals_pandas_adjusted_ewm_on_finite_points():
    pd = pytest.importorskip("pandas")
    rng = np.random.default_rng(1)
    y = np.exp(-np.linspace(0, 3, 300)) + 0.05 * rng.normal(size=300)
    for w in (0.1, 0.6, 0.95):
        ref = pd.Series(y).ewm(alpha=1 - w, adjust=True).mean().to_numpy()
        np.testing.assert_allclose(tb_smooth(y, w), ref, rtol=1e-10, atol=1e-12)
    # non-finite points leave the state untouched: smoothing the finite points alone agrees
    z = y.copy()
    z[::7] = np.nan
    finite = ~np.isnan(z)
    ref = pd.Series(z[finite]).ewm(alpha=0.4, adjust=True).mean().to_numpy()
    np.testing.assert_allclose(tb_smooth(z, 0.6)[finite], ref, rtol=1e-10)


def test_tb_smooth_constant_and_empty():
    c = np.full(10, 3.7)
    assert np.array_equal(tb_smooth(c), c)
    assert len(tb_smooth(np.array([]))) == 0
    assert tb_smooth(np.array([2.0]))[0] == 2.0


def test_robust_helpers():
    x = np.arange(50.0)
    y = 3 - 0.1 * x + np.random.default_rng(2).normal(0, 0.05, 50)
    ts = theil_sen(x, y)
    assert ts.significant_down and abs(ts.slope + 0.1) < 0.01
    alt = 1 + 0.3 * (-1.0) ** np.arange(40)
    assert np.all(np.abs(lowess(np.arange(40.0), alt, 0.3)[5:-5] - 1) < 0.1)  # averages a bounce away


# ----------------------------------------------------------------------------- planted patterns


def _span(s: S.Synth) -> float:
    c = s.curves.get("train_loss")
    return float(c.x[-1] - c.x[0])


PLANTED = [
    (S.diverge_nan, "step", "divergence", 0.05), (S.diverge_nan, "epoch", "divergence", 0.35),
    (S.diverge_explode, "step", "divergence", 0.05), (S.diverge_explode, "epoch", "divergence", 0.35),
    (S.early_rise, "step", "divergence", 0.15), (S.oscillating, "step", "oscillation", 0.35),
    (S.oscillating, "epoch", "oscillation", 0.35), (S.saddle, "step", "plateau", None),
    (S.saddle, "epoch", "plateau", None), (S.stall_high, "epoch", "plateau", None),
    (S.slow, "step", "slow_convergence", None), (S.slow, "epoch", "slow_convergence", None),
    (S.overfit, "step", "overfitting", 0.1), (S.overfit, "epoch", "overfitting", 0.1),
]


@pytest.mark.parametrize("gen,density,pattern,tol", PLANTED, ids=lambda v: getattr(v, "__name__", str(v)))
def test_planted_pattern_detected_near_onset(gen, density, pattern, tol):
    hits = 0
    for seed in SEEDS:
        s = gen(seed, density)
        got = detected(s.curves)
        if pattern in got:
            hits += 1
            want = s.truth.get(pattern)
            if tol is not None and want is not None and got[pattern] is not None:
                assert abs(got[pattern] - want) <= tol * _span(s) + 1, (s.name, got[pattern], want)
    assert hits >= 0.8 * len(SEEDS), f"{gen.__name__}/{density}: {hits}/{len(SEEDS)}"


def test_saddle_plateau_is_reported_as_such():
    s = S.saddle(3, "step")
    m = {(m.family, m.role): m for m in measure(s.curves)}[("plateau", "train_loss")]
    assert m.detected and m.values["level_rel_range"] >= 0.5 and not m.values["ends_flat"]
    assert m.end_step <= s.truth["plateau"] * 1.15


def test_epoch_boundary_jumps_known_and_unknown_epoch_length():
    found_known = found_unknown = 0
    for seed in SEEDS:
        s = S.epoch_jumps(seed)
        m = {(m.family, m.role): m for m in measure(s.curves, ["oscillation"])}[("oscillation", "train_loss")]
        found_known += m.values["epoch_jumps"]
        s.curves.steps_per_epoch = None
        m = {(m.family, m.role): m for m in measure(s.curves, ["oscillation"])}[("oscillation", "train_loss")]
        found_unknown += m.values["epoch_jumps"]
        if m.values["epoch_jumps"]:
            assert abs(m.values["period"] - s.truth["oscillation"]) <= 0.1 * s.truth["oscillation"] + 1
    assert found_known >= 8 and found_unknown >= 8


def test_steps_down_at_every_boundary_are_memorisation_not_data_order():
    """A loss flat within each epoch that steps down at every boundary reads, against its smooth trend,
    as a jump up at each boundary: OSC003 told such runs their data was not shuffled. With the epoch
    length known, a jump at the boundary whose logged values go down is no order effect."""
    called = 0
    for seed in SEEDS:
        s = S.memorising_staircase(seed)
        m = {(m.family, m.role): m for m in measure(s.curves, ["oscillation"])}[("oscillation", "train_loss")]
        called += m.values["epoch_jumps"]
    assert called == 0


def test_epoch_jumps_need_three_epochs_of_a_known_length():
    """A run shorter than three epochs of a known length has no boundaries to show jumps at; the period
    read off the curve's own autocorrelation is no epoch (a one-epoch LLM fine-tune of a public repo whose
    loss alternated every four logging steps read "jumps at every epoch boundary")."""
    for seed in SEEDS:
        s = S.epoch_jumps(seed)
        n = len(s.curves.get("train_loss").y)
        s.curves.steps_per_epoch = n / 2.5
        m = {(m.family, m.role): m for m in measure(s.curves, ["oscillation"])}[("oscillation", "train_loss")]
        assert not m.values["epoch_jumps"]


def test_train_val_gap_same_order_is_not_overfitting():
    for seed in SEEDS:
        assert "overfitting" not in detected(S.same_order_gap(seed).curves)


# ----------------------------------------------------------------------------- healthy controls


@pytest.mark.parametrize("density", ["step", "epoch"])
@pytest.mark.parametrize("schedule", ["constant", "cosine", "step", "warmup_cosine"])
def test_healthy_runs_are_silent(density, schedule):
    for seed in SEEDS:
        s = S.healthy(seed, density, schedule=schedule)
        assert detected(s.curves) == {}, s.name


@pytest.mark.parametrize("scale,offset", [(1e-3, 0.0), (1e12, 0.0), (1.0, -5.0), (250.0, -400.0)])
def test_healthy_runs_silent_at_any_scale(scale, offset):
    for seed in range(6):
        for density in ("step", "epoch"):
            s = S.healthy(seed, density, scale=scale, offset=offset, schedule="constant")
            assert detected(s.curves) == {}, (s.name, scale, offset)


@pytest.mark.parametrize("scale", [1e-3, 1e12])
def test_planted_patterns_found_at_any_scale(scale):
    for seed in range(5):
        for gen, pattern in ((S.diverge_explode, "divergence"), (S.overfit, "overfitting"), (S.saddle, "plateau")):
            s = gen(seed, "step")
            for c in s.curves.by_role.values():
                if c.role in ("train_loss", "val_loss"):
                    c.y = c.y * scale
            assert pattern in detected(s.curves), (s.name, scale)


def test_irregular_cadence_healthy_silent():
    for seed in SEEDS:
        assert detected(S.healthy(seed, "step", irregular=True).curves) == {}


# ----------------------------------------------------------------------------- robustness


def _curves(y, x=None, role="train_loss", **kw) -> Curves:
    y = np.asarray(y, dtype=np.float64)
    x = np.arange(len(y), dtype=np.float64) if x is None else np.asarray(x, dtype=np.float64)
    return Curves(run="t", by_role={role: Curve(role, "loss", x, y)}, **kw)


@pytest.mark.parametrize("y", [
    [], [1.0], [1.0, 2.0], [np.nan] * 10, [np.inf] * 3 + [1.0] * 10, [5.0] * 30,
    [1, 0.5, np.nan, 0.3, 0.2, np.inf, 0.1, 0.1, 0.09, 0.08],
    list(-np.linspace(1, 100, 40)),  # negative, falling loss
    list(np.linspace(1e12, 2e9, 8)),  # huge scale, 8 points
])
def test_every_family_survives_odd_curves(y):
    c = _curves(y)
    c.by_role["val_loss"] = Curve("val_loss", "val", c.by_role["train_loss"].x, np.asarray(y, float) * 1.1)
    c.by_role["lr"] = Curve("lr", "lr", c.by_role["train_loss"].x, np.full(len(y), 0.1))
    for m in measure(c):
        assert "error" not in m.values, (m.family, m.role, m.values)


def test_nan_loss_is_divergence_at_first_nonfinite_step():
    y = list(np.exp(-np.linspace(0, 2, 50))) + [np.nan] * 10
    m = {m.family: m for m in measure(_curves(y), ["divergence"])}["divergence"]
    assert m.detected and m.values["kind"] == "nan" and m.values["first_nonfinite_step"] == 50


def test_hf_masked_nan_shows_in_grad_norm():
    y = np.exp(-np.linspace(0, 2, 60))
    c = _curves(y)
    g = np.ones(60)
    g[40:] = np.nan
    c.by_role["grad_norm"] = Curve("grad_norm", "grad_norm", np.arange(60.0), g)
    m = {m.family: m for m in measure(c, ["divergence"])}["divergence"]
    assert m.detected and m.values["grad_norm_explosion"] and m.start_step == 40


def test_a_grad_norm_at_exactly_zero_then_huge_is_an_explosion_without_a_numpy_warning():
    """gen2 s28 0043 (SGD 0.5 at batch 16 on breast cancer): its logged grad norm sits at exactly 0 on 142
    of 500 steps (dead units) and reaches 8e14, so its ratio to the running minimum overflowed and
    `advisor diagnose` printed numpy's "overflow encountered in divide" above its report."""
    y = np.exp(-np.linspace(0, 2, 60))
    c = _curves(y)
    g = np.r_[np.full(20, 1.5), np.zeros(20), np.full(20, 8e14)]
    c.by_role["grad_norm"] = Curve("grad_norm", "grad_norm", np.arange(60.0), g)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        m = {m.family: m for m in measure(c, ["divergence"])}["divergence"]
    assert m.values["grad_norm_explosion"]  # read (the falling loss itself is judged no divergence)


def test_converged_low_flat_tail_is_not_a_plateau():
    t = np.linspace(0, 1, 400)
    y = 2.3 * np.exp(-t / 0.05) + 0.02
    m = {(m.family, m.role): m for m in measure(_curves(y), ["plateau"])}[("plateau", "train_loss")]
    assert not m.detected and m.values["ends_flat"]


def test_stall_at_chance_is_a_plateau():
    rng = np.random.default_rng(3)
    y = np.log(10) * (1 + 0.01 * rng.normal(size=40))
    m = {(m.family, m.role): m for m in measure(_curves(y, num_classes=10), ["plateau"])}[("plateau", "train_loss")]
    assert m.detected and m.values["at_chance"] and m.values["stalled_high"]


def test_lr_step_decay_is_not_oscillation():
    for seed in SEEDS:
        s = S.healthy(seed, "step", schedule="step")
        m = {(m.family, m.role): m for m in measure(s.curves, ["oscillation"])}[("oscillation", "train_loss")]
        assert not m.detected


# ----------------------------------------------------------------------------- schedules, range test


@pytest.mark.parametrize("kind", ["constant", "step", "exponential", "cosine", "linear", "warmup", "range_test", "cyclic"])
def test_lr_schedule_kinds(kind):
    y = S.lr_curve(kind, 300)
    m = {m.family: m for m in measure(_curves(y, role="lr"), ["lr_schedule"])}["lr_schedule"]
    want = kind if kind != "warmup" else ("warmup", "cosine")
    assert m.values["kind"] in (want if isinstance(want, tuple) else (want,)), m.values
    if kind == "warmup":
        assert m.values["warmup"] and 25 <= m.values["warmup_steps"] <= 35
    if kind == "step":
        assert m.values["change_points"] == [100.0, 199.0] or len(m.values["change_points"]) == 2


def test_lr_range_test_suggestion():
    lr = np.geomspace(1e-6, 10, 200)
    loss = 2.3 - 1.8 / (1 + np.exp(-(np.log10(lr) + 3) * 2)) + np.where(lr > 0.5, (lr - 0.5) * 20, 0)
    c = _curves(loss)
    c.by_role["lr"] = Curve("lr", "lr", np.arange(200.0), lr)
    m = {m.family: m for m in measure(c, ["lr_range_test"])}["lr_range_test"]
    assert m.values["is_range_test"] and m.values["informative"]
    assert 1e-5 < m.values["suggested_lr"] < 0.5


# ----------------------------------------------------------------------------- contract


def test_every_emitted_key_is_declared():
    gens = [S.healthy(0), S.oscillating(1), S.saddle(2), S.overfit(3), S.diverge_nan(4), S.epoch_jumps(5)]
    for s in gens:
        for m in measure(s.curves):
            declared = set(REGISTRY[m.family].keys)
            assert set(m.values) <= declared, (m.family, set(m.values) - declared)


def test_synthetic_generators_are_seeded():
    a, b = S.oscillating(7), S.oscillating(7)
    np.testing.assert_array_equal(a.curves.get("train_loss").y, b.curves.get("train_loss").y)
    assert a.truth == b.truth


def test_spikes_counts_isolated_spikes_not_noise():
    rng = np.random.default_rng(5)
    y = np.exp(-np.linspace(0, 2, 500)) * np.exp(0.05 * rng.normal(size=500)) + 0.1
    quiet = {m.family: m for m in measure(_curves(y), ["spikes"])}["spikes"]
    assert quiet.values["count"] == 0
    y[[100, 250, 400]] *= 8
    m = {m.family: m for m in measure(_curves(y), ["spikes"])}["spikes"]
    assert m.values["count"] == 3 and m.values["first_step"] == 100 and m.values["max_ratio"] > 4


def test_metric_stall_when_loss_falls_but_accuracy_does_not():
    rng = np.random.default_rng(6)
    c = _curves(np.exp(-np.linspace(0, 2, 30)) + 0.01 * rng.normal(size=30))
    c.by_role["train_acc"] = Curve("train_acc", "acc", np.arange(30.0), 0.1 + 0.005 * rng.normal(size=30))
    m = {m.family: m for m in measure(c, ["metric_stall"])}["metric_stall"]
    assert m.detected and m.values["loss_falls"] and m.values["metric_flat"]
    c.by_role["train_acc"].y = np.linspace(0.1, 0.9, 30)
    m = {m.family: m for m in measure(c, ["metric_stall"])}["metric_stall"]
    assert not m.detected


def test_a_loss_taking_both_signs_is_no_stall_at_its_start():
    """An energy model's contrastive-divergence loss (a public Lightning tutorial: -0.114 at its first
    log, then hovering at 0 +- 0.009 for 28,000 steps) read "flat at its starting level: the model is not
    learning", with a lower-LR text quoting "? of where it started" and a 7.18x rise off a level near 0."""
    from advisor.engine import evaluate_run, load_rules, select_rules

    rng = np.random.default_rng(0)
    x = np.arange(49, 28_100, 50, dtype=np.float64)
    y = np.concatenate([[-0.114, -0.047, -0.025, -0.046], rng.normal(0.0, 0.009, len(x) - 4)])
    c = _curves(y, x, hparams={"lr": 1e-4, "optimizer": "adam"})
    m = {(m.family, m.role): m for m in measure(c)}[("plateau", "train_loss")]
    assert not m.values.get("at_chance") and m.values.get("rose_above") is None
    verdict = evaluate_run(select_rules(load_rules()), measure(c), c)
    assert not [f for f in verdict.findings if f.pattern == "plateau"]


def test_the_first_logged_point_is_no_spike():
    """A Lightning PINN's per-step loss (a public repo): its first logged value, 0.148 at step 49, sits above
    the trend its later points set (~0.05), and was counted as a spike, "first at step 49", so the
    warm-up advice for early spikes applied. Nothing comes before the first point to jump from."""
    x = np.arange(49, 49 + 100 * 300, 100, dtype=np.float64)
    rng = np.random.default_rng(1)
    y = 0.05 * np.exp(rng.normal(0, 0.02, len(x)))
    y[0] = 0.148
    y[150] = 125.8
    m = {(m.family, m.role): m for m in measure(_curves(y, x), ["spikes"])}[("spikes", "train_loss")]
    assert m.values["count"] == 1 and m.values["first_step"] == x[150]


def test_a_fall_made_by_the_second_logged_point_counts_towards_the_start():
    """A public LLM fine-tune logged every 50 steps: 0.82, then 0.158, then a slow slide 0.10 -> 0.082 over
    62,000 steps. From the median of its first 5% (0.096) the slide read as the whole of a slow fall
    ("still falling steadily ... raise the LR"); from its first value it has lost 90% of its start."""
    x = np.arange(50, 62_250, 50, dtype=np.float64)
    rng = np.random.default_rng(2)
    y = 0.082 + 0.02 * np.exp(-(x - 50) / 30_000) + rng.normal(0, 0.002, len(x))
    y[0], y[1] = 0.82, 0.158
    m = {(m.family, m.role): m for m in measure(_curves(y, x, hparams={"lr": 2e-4}), ["slow_convergence"])}
    assert not m[("slow_convergence", "train_loss")].detected
    y[0] = y[1] = 0.105  # the same slide without the fall before it is a slow convergence still
    m = {(m.family, m.role): m for m in measure(_curves(y, x, hparams={"lr": 2e-4}), ["slow_convergence"])}
    assert m[("slow_convergence", "train_loss")].detected
