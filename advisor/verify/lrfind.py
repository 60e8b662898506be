"""The LR range test (Smith 2015, seed 002 section 12.3.2): read a learning rate off a sweep.

One short training whose LR rises geometrically; the loss is read against log(LR). Three usual
readings are given, with how much they agree, because each alone has a known failure:
- `suggested_lr`: the steepest descent of the smoothed loss in log-LR space after a burn-in
  (Smith's and fastai's `steep`); noisy curves make the steepest point jumpy;
- `valley_lr`: fastai's `valley`, two thirds into the longest descending stretch; robust to
  noise but blind to a curve that never really descends;
- `min_lr_over_10`: the LR at the smoothed minimum divided by 10 (the older fastai rule).
The sweep is cut where the smoothed loss exceeds 4x its best (or goes non-finite), as fastai
does. A curve without a clear descent (flat, or a drop no bigger than its noise) gets the plain
answer "not informative" and no number: a false-precision LR is worse than none.

`analyse_range_test(lr, loss)` is a pure numpy function (no torch at import) so the signals and
`advisor diagnose` can call it on an LR-range-test log.
"""
from __future__ import annotations

import math
from typing import Any, Callable

import numpy as np

STOP_FACTOR = 4.0
BURN_IN = 0.1  # share of the points skipped before looking for the steepest descent
MIN_POINTS = 12
MIN_DROP = 0.1  # the smoothed loss must fall at least 10% below its starting level ...
NOISE_MULT = 3.0  # ... and by more than 3x the point-to-point noise


def _smooth(y: np.ndarray, weight: float) -> np.ndarray:
    """TensorBoard's debiased EMA (advisor.signals.robust.tb_smooth; numpy/scipy only, no torch)."""
    from advisor.signals.robust import tb_smooth

    return tb_smooth(y, weight)


def _weight(n: int) -> float:
    """fastai's beta=0.98 for long sweeps; shorter ones get a shorter memory (~n/25 points)."""
    return float(min(0.98, max(0.6, 1.0 - 25.0 / max(n, 1))))


def _valley(y: np.ndarray) -> int:
    """fastai's valley: the longest strictly descending subsequence, 2/3 of the way into it."""
    n = len(y)
    lds = np.ones(n, dtype=int)
    max_start = max_end = 0
    for i in range(1, n):
        smaller = y[:i] > y[i]
        if smaller.any():
            lds[i] = max(lds[i], int(lds[:i][smaller].max()) + 1)
        if lds[max_end] < lds[i]:
            max_end = i
            max_start = max_end - lds[max_end]
    sections = (max_end - max_start) / 3
    return int(min(n - 1, max(0, max_start + int(sections) + int(sections / 2))))


def analyse_range_test(lr: np.ndarray, loss: np.ndarray, stop_factor: float = STOP_FACTOR) -> dict[str, Any]:
    """Suggestions from one LR sweep. Keys (those of the `lr_range_test` signal family, plus detail):

    `is_range_test`, `informative`, `reason`, `suggested_lr` (steepest), `valley_lr`,
    `min_lr_over_10`, `agreement` (max/min of the three), `min_loss_lr`, `stop_lr`, `points_used`,
    `smoothed` (list). Suggestions are None when the curve is not informative.
    """
    lr = np.asarray(lr, dtype=np.float64)
    loss = np.asarray(loss, dtype=np.float64)
    n = min(len(lr), len(loss))
    lr, loss = lr[:n], loss[:n]
    out: dict[str, Any] = {"is_range_test": False, "informative": False, "reason": "", "suggested_lr": None,
                           "valley_lr": None, "min_lr_over_10": None, "agreement": None, "min_loss_lr": None,
                           "stop_lr": None, "points_used": 0, "smoothed": []}
    ok_lr = np.isfinite(lr) & (lr > 0)
    if n < MIN_POINTS or ok_lr.sum() < MIN_POINTS:
        out["reason"] = f"too few points ({n}) for a range test"
        return out
    lr, loss = lr[ok_lr], loss[ok_lr]
    log_lr = np.log10(lr)
    steps = np.diff(log_lr)
    out["is_range_test"] = bool((steps >= -1e-12).mean() > 0.9 and log_lr[-1] - log_lr[0] >= 1.0)
    if not out["is_range_test"]:
        out["reason"] = "the LR does not rise geometrically over at least a decade"
        return out
    sm = _smooth(loss, _weight(len(loss)))
    stop = len(sm)
    best = math.inf
    for i, v in enumerate(sm):
        if not math.isfinite(v):
            stop = i
            break
        best = min(best, v)
        if i > 0 and v > stop_factor * best and best > 0:
            stop = i + 1
            break
    out["stop_lr"] = float(lr[stop - 1]) if stop < len(sm) else None
    sm, x, raw = sm[:stop], log_lr[:stop], loss[:stop]
    out["smoothed"] = [float(v) for v in sm]
    out["points_used"] = int(stop)
    if stop < MIN_POINTS:
        out["reason"] = f"the loss blew up after {stop} points: start the sweep lower"
        return out
    i_min = int(np.argmin(sm))
    burn = max(2, int(round(BURN_IN * stop)))
    head = float(np.median(sm[burn: burn + max(3, stop // 20)])) if stop > burn + 3 else float(sm[0])
    drop = head - float(sm[i_min])
    d = np.diff(raw[np.isfinite(raw)])
    noise = float(1.4826 * np.median(np.abs(d - np.median(d))) / math.sqrt(2)) if len(d) > 2 else 0.0
    scale = max(abs(head), 1e-12)
    if drop < MIN_DROP * scale or drop < NOISE_MULT * noise or i_min <= burn:
        out["reason"] = (f"not informative: the smoothed loss falls only {100 * max(drop, 0) / scale:.1f}% below "
                         f"its start (noise {100 * noise / scale:.1f}%); no clear descent to read an LR from")
        return out
    grads = np.gradient(sm[: i_min + 1], x[: i_min + 1])
    i_steep = burn + int(np.argmin(grads[burn:])) if i_min + 1 > burn else i_min
    i_valley = _valley(sm[: i_min + 1] if i_min >= 2 else sm)
    steep, valley = float(lr[i_steep]), float(lr[i_valley])
    min10 = float(lr[i_min]) / 10.0
    picks = [steep, valley, min10]
    out.update(informative=True, suggested_lr=steep, valley_lr=valley, min_lr_over_10=min10,
               min_loss_lr=float(lr[i_min]), agreement=float(max(picks) / min(picks)))
    spread = "they agree" if out["agreement"] <= 3 else ("roughly" if out["agreement"] <= 10 else "they disagree")
    out["reason"] = (f"the loss falls {100 * drop / scale:.0f}% to its minimum at LR {lr[i_min]:.3g}; "
                     f"{spread} (max/min {out['agreement']:.2g})")
    return out


def run_lr_find(entry: Callable[..., Any], config: dict[str, Any], seed: int = 0, start_lr: float = 1e-5,
                end_lr: float = 10.0, steps: int = 200, device: str = "cpu") -> dict[str, Any]:
    """Run a sweep with an entry shaped like `builtins.lr_range_test` and analyse what it logged."""
    from advisor.verify.logwriters import Recorder

    rec = Recorder()
    entry(dict(config), seed=seed, log=rec, start_lr=start_lr, end_lr=end_lr, steps=steps, device=device)
    lsteps, lrs = rec.series("lr")
    tsteps, losses = rec.series("train/loss")
    if len(lrs) == 0 or len(losses) == 0:
        raise ValueError("the sweep logged no `lr` or no `train/loss`")
    lr_at = dict(zip(lsteps.tolist(), lrs.tolist()))
    pairs = [(lr_at[s], v) for s, v in zip(tsteps.tolist(), losses.tolist()) if s in lr_at]
    result = analyse_range_test(np.array([p[0] for p in pairs]), np.array([p[1] for p in pairs]))
    result["lrs"] = [p[0] for p in pairs]
    result["losses"] = [p[1] for p in pairs]
    return result


def text_report(result: dict[str, Any]) -> str:
    """Plain-text summary of a sweep's analysis."""
    lines = []
    if not result.get("informative"):
        lines.append(f"LR range test: {result.get('reason') or 'not informative'}")
        lines.append("suggestion: none (not informative) - widen the sweep, use more steps, or check the data")
        return "\n".join(lines) + "\n"
    lines.append(f"LR range test over {result['points_used']} points: {result['reason']}")
    lines.append(f"  steepest descent   {result['suggested_lr']:.3g}")
    lines.append(f"  valley             {result['valley_lr']:.3g}")
    lines.append(f"  minimum / 10       {result['min_lr_over_10']:.3g}")
    lines.append(f"  agreement (max/min) {result['agreement']:.2g}")
    if result.get("stop_lr"):
        lines.append(f"  stopped at LR {result['stop_lr']:.3g} (smoothed loss > {STOP_FACTOR:g}x its best)")
    lines.append(f"suggestion: lr = {result['suggested_lr']:.3g}")
    return "\n".join(lines) + "\n"
