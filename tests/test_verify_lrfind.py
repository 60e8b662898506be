"""The LR range test: a sane suggestion on a real sweep, a plain "not informative" on flat or
noisy curves, and the pure analysis function on known shapes."""
from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from advisor.verify.lrfind import analyse_range_test, text_report


def _sweep(n=200, lo=1e-5, hi=10.0, best=1e-2, noise=0.0, seed=0):
    lr = np.geomspace(lo, hi, n)
    loss = 2.3 / (1 + (lr / best) ** 1.5) + 0.05 + np.where(lr > 30 * best, (lr / (30 * best)) ** 2, 0)
    return lr, loss + noise * np.random.default_rng(seed).standard_normal(n)


def test_known_shape_gives_agreeing_suggestions_below_the_blow_up():
    r = analyse_range_test(*_sweep())
    assert r["is_range_test"] and r["informative"]
    for key in ("suggested_lr", "valley_lr", "min_lr_over_10"):
        assert 1e-4 < r[key] < 0.3, (key, r[key])
    assert r["agreement"] == pytest.approx(max(r["suggested_lr"], r["valley_lr"], r["min_lr_over_10"])
                                           / min(r["suggested_lr"], r["valley_lr"], r["min_lr_over_10"]))
    assert r["stop_lr"] is not None and r["stop_lr"] < 10  # cut where the loss exceeds 4x its best
    assert "suggestion: lr =" in text_report(r)


@pytest.mark.parametrize("noise", [0.0, 0.05, 0.5])
def test_flat_or_noisy_curve_is_not_informative(noise):
    lr = np.geomspace(1e-5, 10, 200)
    loss = 2.3 + noise * np.random.default_rng(1).standard_normal(200)
    r = analyse_range_test(lr, loss)
    assert r["is_range_test"] and not r["informative"]
    assert r["suggested_lr"] is None and r["valley_lr"] is None and r["agreement"] is None
    assert "not informative" in r["reason"] and "suggestion: none" in text_report(r)


def test_not_a_range_test_and_too_short():
    assert not analyse_range_test(np.full(100, 0.1), np.linspace(2, 1, 100))["is_range_test"]
    assert "too few" in analyse_range_test(np.geomspace(1e-5, 1, 5), np.ones(5))["reason"]
    lr, loss = _sweep()
    loss[3] = np.nan  # blows up at once: no reading
    r = analyse_range_test(lr, loss)
    assert not r["informative"] and "start the sweep lower" in r["reason"]


def test_lr_find_cli_on_a_builtin_gives_a_sane_lr():
    pytest.importorskip("torch")
    from advisor.cli import main

    result = CliRunner().invoke(main, ["lr-find", "--builtin", "moons-mlp", "--device", "cpu", "--format", "json"])
    assert result.exit_code == 0, result.output
    r = json.loads(result.output)
    assert r["informative"] and 1e-3 < r["suggested_lr"] < 3.0
    assert r["stop_lr"] is not None  # the sweep ran into the blow-up and stopped there


def test_module_does_not_import_torch():
    import subprocess
    import sys

    code = "import sys, advisor.verify.lrfind; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "False"
