"""The fast robust estimators equal the reference ones they replace, bit for bit.

advisor.signals.robust computes Theil-Sen slopes, running medians, bin medians and flat
stretches without scipy.stats or pandas (their imports cost more than a small run's whole
diagnosis). These tests pin each fast path against the library or loop it replaced, on every
curve of the bundled fixtures (real small trainings) and on the edge cases the fast paths hand
back to the reference (NaN, inf, ties, constant stretches).
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import theilslopes

from advisor.ingest import read
from advisor.ingest.discover import discover
from advisor.signals import robust
from tests.conftest import FIXTURES


def _fixture_curves() -> list[tuple[str, np.ndarray, np.ndarray]]:
    sources, _ = discover([FIXTURES / "runs"])
    out = []
    for src in sources:
        run = read(src)
        for tag, s in run.series.items():
            x = np.asarray(s.step, dtype=np.float64)
            y = np.asarray(s.value, dtype=np.float64)
            ok = np.isfinite(x) & np.isfinite(y)
            if ok.sum() >= 5:
                out.append((f"{run.name}:{tag}", x[ok], y[ok]))
    return out


CURVES = _fixture_curves()


def test_fixture_curves_found():
    assert len(CURVES) >= 40  # 18 runs, several tags each


def _same(a, b) -> bool:
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return a.shape == b.shape and bool(np.all((a == b) | (np.isnan(a) & np.isnan(b))))


def _scipy_slope(x, y, max_points=150):
    xb, yb, _ = _pandas_bin_medians(x, y, max_points)
    res = theilslopes(yb, xb, alpha=0.95)
    return float(res[0]), float(res[1]), float(res[2]), float(res[3])


def _pandas_bin_medians(x, y, nbins):
    """The pandas groupby implementation bin_medians had (the reference)."""
    n = len(y)
    if n <= nbins:
        return x, y, np.ones(n, dtype=np.int64)
    edges = np.linspace(0, n, nbins + 1).round().astype(int)
    cs = np.diff(edges)
    cs = cs[cs > 0]
    key = np.repeat(np.arange(len(cs)), cs)
    g = pd.DataFrame({"x": x, "y": y, "k": key}).groupby("k", sort=True).median()
    return g["x"].to_numpy(), g["y"].to_numpy(), cs


def _deque_starts(t, tol):
    """Starts from the two-pointer monotone-deque scan (`robust._flat_windows`, the reference
    the vectorised search replaced and still falls back to)."""
    return np.array([i for i, _ in robust._flat_windows(np.asarray(t, dtype=np.float64), tol)], dtype=np.int64)


@pytest.mark.parametrize("name,x,y", CURVES, ids=[c[0] for c in CURVES])
def test_theil_sen_is_scipys(name, x, y):
    for lo, hi in ((0, len(y)), (len(y) // 2, len(y)), (0, max(3, len(y) // 4))):
        xs, ys = x[lo:hi], y[lo:hi]
        if len(xs) < 3 or np.ptp(xs) == 0:
            continue
        got = robust.theil_sen(xs, ys)
        slope, intercept, low, high = _scipy_slope(xs, ys)
        assert (got.slope, got.intercept, got.lo, got.hi) == (slope, intercept, low, high)


def test_theil_sen_ties_and_nan_like_scipy():
    x = np.repeat(np.arange(20.0), 3)  # tied x and y
    y = np.round(np.sin(x) * 4) / 4
    got = robust._theilslopes(y, x, 0.95)
    assert got == tuple(float(v) for v in theilslopes(y, x, alpha=0.95))
    y2 = y.copy()
    y2[7] = np.nan
    assert all(np.isnan(robust._theilslopes(y2, x, 0.95)))
    assert all(np.isnan(list(theilslopes(y2, x, alpha=0.95))))
    got90 = robust._theilslopes(y, x, 0.9)  # another level goes through scipy's norm.ppf
    assert got90 == tuple(float(v) for v in theilslopes(y, x, alpha=0.9))


@pytest.mark.parametrize("name,x,y", CURVES, ids=[c[0] for c in CURVES])
def test_running_median_is_pandas(name, x, y):
    for w in (3, 4, 5, 9, robust.trend_window(len(y)), len(y) // 3, len(y)):
        got = robust.running_median(y, w)
        ww = robust.odd(max(1, min(w, len(y) if len(y) % 2 else len(y) - 1)))
        ref = pd.Series(y).rolling(ww, center=True, min_periods=1).median().to_numpy() if ww > 1 else y
        assert _same(got, ref), (name, w)


def test_running_median_nonfinite_and_long():
    rng = np.random.default_rng(3)
    y = rng.normal(size=20_000).cumsum()
    y[::97] = y[::97].round()  # ties
    for w in (129, 131, 201, 2001):  # short and long ends (sorted matrix / sorted-list insertion)
        assert _same(robust.running_median(y, w), pd.Series(y).rolling(w, center=True, min_periods=1).median())
    y[[10, 500]] = [np.nan, np.inf]
    assert _same(robust.running_median(y, 31), pd.Series(y).rolling(31, center=True, min_periods=1).median())


@pytest.mark.parametrize("name,x,y", CURVES, ids=[c[0] for c in CURVES])
def test_bin_medians_is_pandas_groupby(name, x, y):
    for nbins in (7, 40, 150, 400):
        got = robust.bin_medians(x, y, nbins)
        ref = _pandas_bin_medians(x, y, nbins)
        assert all(_same(a, b) for a, b in zip(got, ref)), (name, nbins)


@pytest.mark.parametrize("name,x,y", CURVES, ids=[c[0] for c in CURVES])
def test_flat_stretches_are_the_deque_scans(name, x, y):
    t = robust.trend(y)
    span = float(np.ptp(t))
    for tol in (0.0, 0.01 * span, 0.05 * span, 0.3 * span, 2 * span):
        ref = _deque_starts(t, tol)
        assert np.array_equal(robust._flat_starts(t, tol), ref), (name, tol)
        ends = np.arange(len(t))
        j = int(np.argmax(ends - ref))
        assert robust.longest_flat(t, tol) == (int(ref[j]), j)
        high = float(np.median(t))
        csum = np.concatenate([[0.0], np.cumsum(t)])
        best = None
        for jj, ii in enumerate(ref):
            if (csum[jj + 1] - csum[ii]) / (jj + 1 - ii) >= high and (best is None or jj - ii > best[1] - best[0]):
                best = (int(ii), jj)
        assert robust.longest_flat_high(t, tol, high) == best


def test_flat_starts_plateaus_ties_and_nan():
    t = np.array([5, 5, 5, 4, 4, 4, 4, 3.5, 3.5, 1, 1, 1, 1, 1, 1, 2], dtype=float)
    for tol in (0.0, 0.5, 1.0, 10.0):
        assert np.array_equal(robust._flat_starts(t, tol), _deque_starts(t, tol))
    t[4] = np.nan  # handed to the scan itself
    assert np.array_equal(robust._flat_starts(t, 0.5), _deque_starts(t, 0.5))


def test_flat_mask_marks_every_flat_window():
    rng = np.random.default_rng(1)
    t = np.round(rng.normal(size=300).cumsum())
    for tol, k in ((0.0, 3), (1.0, 5), (3.0, 20)):
        ref = np.zeros(len(t), dtype=bool)
        for s in range(len(t) - k + 1):
            if np.ptp(t[s: s + k]) <= tol:
                ref[s: s + k] = True
        assert np.array_equal(robust.flat_mask(t, tol, k), ref)


def test_theil_sen_random_and_infinite_like_scipy():
    rng = np.random.default_rng(7)
    for n in (3, 4, 5, 10, 31, 150):
        for _ in range(20):
            x = np.sort(rng.choice(np.arange(2 * n, dtype=float), n, replace=False))
            y = rng.normal(size=n).round(1)  # many tied slopes
            assert robust._theilslopes(y, x, 0.95) == tuple(float(v) for v in theilslopes(y, x, alpha=0.95))
    x = np.arange(8.0)
    y = np.array([1, 2, np.inf, 3, 4, -np.inf, 5, 6])
    ref = tuple(float(v) for v in theilslopes(y, x, alpha=0.95))
    assert _same(robust._theilslopes(y, x, 0.95), ref)


def test_moving_average_is_scipys_uniform_filter():
    from scipy.ndimage import uniform_filter1d

    rng = np.random.default_rng(11)
    for n in (1, 2, 3, 7, 50, 501, 4000):
        y = rng.normal(size=n).cumsum() * 10.0 ** rng.integers(-6, 6)
        for w in (1, 2, 3, 4, 5, 8, 25, 100, 1001, n):
            ww = max(1, min(w, n))
            ref = uniform_filter1d(y, size=ww, mode="nearest") if ww > 1 else y
            assert _same(robust.moving_average(y, w), ref), (n, w)
    for name, _, y in CURVES:
        w = max(2, robust.trend_window(len(y)) // 2)  # w = 1 is the identity, never filtered
        assert _same(robust.moving_average(y, w), uniform_filter1d(y, size=min(w, len(y)), mode="nearest")), name


def test_running_median_long_window_paths_are_pandas():
    rng = np.random.default_rng(5)
    y = rng.normal(size=30_000).cumsum()
    y[::50] = y[::50].round()  # ties inside the sorted window
    w = 1001  # n * w beyond numpy selection: the sorted sliding window
    assert len(y) * w > robust._SELECT_MAX and len(y) <= robust._SLIDE_MAX
    assert _same(robust.running_median(y, w), pd.Series(y).rolling(w, center=True, min_periods=1).median())
    z = rng.normal(size=robust._SLIDE_MAX + 1_000)  # beyond the sliding window: scipy's rank filter
    assert _same(robust.running_median(z, 41), pd.Series(z).rolling(41, center=True, min_periods=1).median())


def test_group_medians_are_np_median_per_group():
    rng = np.random.default_rng(2)
    keys = rng.integers(0, 30, size=700)
    v = rng.normal(size=700).round(1)
    v[[3, 99]] = np.nan  # a group with NaN gets NaN, as np.median gives
    got_keys, got = robust.group_medians(v, keys)
    assert np.array_equal(got_keys, np.unique(keys))
    assert _same(got, [np.median(v[keys == g]) for g in np.unique(keys)])
    assert len(robust.group_medians(v[:0], keys[:0])[0]) == 0


def test_epoch_jump_signs_are_the_per_epoch_loop():
    from advisor.signals.oscillation import _jump_signs

    rng = np.random.default_rng(4)
    for trial in range(30):
        n, nb = int(rng.integers(40, 400)), int(rng.integers(4, 12))
        x = np.sort(rng.choice(np.arange(3 * n, dtype=float), n, replace=False))
        r = rng.normal(size=n)
        P = float(rng.integers(8, 40))
        b = np.minimum(np.floor(((x - x[0]) % P) / P * nb + 1e-6).astype(int), nb - 1)
        cyc = ((x - x[0]) // P).astype(int)
        for k in (0, int(rng.integers(0, nb)), nb - 1):  # nb - 1: the jump into the next epoch
            ref = []
            for e in np.unique(cyc):
                before = r[(cyc == e) & (b == k)]
                after = r[(cyc == e + (1 if k == nb - 1 else 0)) & (b == (k + 1) % nb)]
                if len(before) and len(after):
                    ref.append(np.sign(np.median(after) - np.median(before)))
            assert _same(_jump_signs(r, cyc, b, k, nb), ref), (trial, k)


def test_median_is_np_median_bit_for_bit():
    rng = np.random.default_rng(8)
    pool = np.array([-0.0, 0.0, 1.0, -1.0, np.inf, -np.inf, np.nan, 2.5, 1e308, -1e308])
    for trial in range(3000):
        n = int(rng.integers(1, 14))
        v = rng.choice(pool, n) if trial % 2 else rng.normal(size=n).round(int(rng.integers(0, 3)))
        with np.errstate(all="ignore"):
            ref = np.median(v)
            got = robust.median(v)
        assert np.float64(got).tobytes() == ref.tobytes(), v  # -0.0 comes back as 0.0, like np.median
    for name, _, y in CURVES:
        assert robust.median(y) == np.median(y), name
        assert robust.mad_sigma(y) == float(1.4826 * np.median(np.abs(y - np.median(y)))), name


def test_select_places_the_order_statistics_of_a_sort():
    rng = np.random.default_rng(9)
    for n in (1, 2, 5, 100, 11_175):
        v = rng.normal(size=n).round(2)  # ties
        ref = np.sort(v)
        for ranks in ([0], [n - 1], [n // 2], [(n - 1) // 2, n // 2, n // 5, n - 1 - n // 5], [0, 0, n - 1]):
            a = v.copy()
            robust._select(a, ranks)
            assert all(a[k] == ref[k] for k in ranks), (n, ranks)
            assert np.array_equal(np.sort(a), ref)  # a permutation of v


def test_segment_medians_of_every_length_are_np_median():
    rng = np.random.default_rng(10)
    for cmax in (1, 2, 3, 4, 5, 9):
        counts = rng.integers(1, cmax + 1, size=60)
        starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
        v = rng.choice([-2.0, -1.0, 0.0, 0.5, 1.0, 3.0, np.inf, -np.inf], size=int(counts.sum()))
        rows = np.stack([v, v[::-1]])
        with np.errstate(all="ignore"):
            got = robust._segment_medians(rows, starts, counts)
            for r in range(2):
                ref = [np.median(rows[r, s: s + c]) for s, c in zip(starts, counts)]
                assert _same(got[r], ref), (cmax, r)


def _reference_lowess(x, y, frac, max_points, iters=2):
    """LOWESS as it was written before its products were shared and its scratch reused."""
    xb, yb, _ = robust.bin_medians(x, y, max_points)
    m = len(yb)
    k = int(np.clip(np.ceil(frac * m), 3, m))
    g = robust._lowess_grid(xb, k)
    idx, X, w0 = g.idx, g.X, g.w0
    Y = yb[idx]
    rob = np.ones(m)
    for it in range(iters + 1):
        w = w0 * rob[idx]
        sw = w.sum(axis=1)
        sw = np.where(sw <= 0, 1e-300, sw)
        mx = (w * X).sum(axis=1) / sw
        dx = X - mx[:, None]
        sxx = (w * dx * dx).sum(axis=1)
        my = (w * Y).sum(axis=1) / sw
        sxy = (w * dx * (Y - my[:, None])).sum(axis=1)
        slope = np.where(sxx > 0, sxy / np.where(sxx > 0, sxx, 1.0), 0.0)
        fit = my + slope * (xb - mx)
        if it == iters:
            break
        res = yb - fit
        s = np.median(np.abs(res))
        if s <= 0:
            break
        u = np.clip(res / (6 * s), -1, 1)
        rob = (1 - u ** 2) ** 2
    return fit if m == len(y) else np.interp(x, xb, fit)


@pytest.mark.parametrize("name,x,y", CURVES, ids=[c[0] for c in CURVES])
def test_lowess_is_the_plain_weighted_fit(name, x, y):
    if len(y) < 4:
        return
    for frac in (0.2, 0.3, 1.0):
        for bins in (100, 300):
            got = robust.lowess(x, y, frac=frac, max_points=bins)
            assert got.tobytes() == _reference_lowess(x, y, frac, bins).tobytes(), (name, frac, bins)


def test_percentile_is_np_percentile_bit_for_bit():
    rng = np.random.default_rng(12)
    pool = np.array([-0.0, 0.0, 1.0, -1.0, np.inf, -np.inf, np.nan, 2.5, 1e308, -1e308])
    qs = (0, 100, 2.5, 97.5, 5, 95, 90, 50, 99.9, 0.1, 33.3)
    for trial in range(4000):
        n = int(rng.integers(1, 300 if trial % 5 == 0 else 30))
        v = rng.choice(pool, n) if trial % 3 == 0 else rng.normal(size=n).round(int(rng.integers(0, 4)))
        q = qs[trial % len(qs)] if trial % 4 else int(rng.integers(0, 101))
        with np.errstate(all="ignore"):
            ref = np.percentile(v, q)
            got = robust.percentile(v, q)
        assert type(got) is type(ref) and np.float64(got).tobytes() == ref.tobytes(), (v, q)
    for name, _, y in CURVES:
        assert robust.percentile(y, 97.5) - robust.percentile(y, 2.5) == np.percentile(y, 97.5) - np.percentile(y, 2.5)
