"""Charts for the HTML report: matplotlib (Agg/SVG canvas) to inline SVG, plus hand-built sparklines.

Why matplotlib to SVG: it is well kept, exact, already a dependency, and an inline SVG needs no
JavaScript and no network, so the report stays one inert file. Why not pyplot: the pyplot state
machine is global; we build `Figure` objects directly and never touch the user's backend.

What a chart shows, per run: one panel per family of roles sharing the x-axis — losses (train and
val together), accuracy/metric, gradient norm, reward — with the learning rate at the bottom.
Each curve is drawn twice: the raw points faint, and TensorBoard's debiased EMA (weight 0.6) on
top, so people see the curve they know from TensorBoard. NaN/inf points are marked along the top
(bottom for -inf) of their panel; each finding's step range is shaded and labelled with its rule
id, its onset marked by a dashed line.

Size and fidelity: a curve of a million points is decimated for drawing to the min and max of
each x-bucket (about one bucket per pixel column at 1,000 px), which keeps every spike visible
while bounding the SVG; with many runs the caller lowers the bucket count so a 500-run report stays
small. Path coordinates are rounded to 0.1 px, text is SVG `<text>` (not glyph outlines), and
element ids get a per-chart prefix so several charts can live in one HTML document.

Untrusted text: no string from a log is ever handed to matplotlib. Legends use role names from
this module, region labels are rule ids reduced to `[A-Za-z0-9_.-]`; tag names appear only in
the HTML around the chart, where jinja2 escapes them. As a last guard `_sanitize_svg` refuses any
SVG containing script, event-handler attributes, foreignObject or external references.
"""
from __future__ import annotations

import io
import math
import re
from typing import Iterable

import numpy as np

from advisor import units
from advisor.model import Curve, Finding, RunReport
from advisor.numbers import readable

from advisor.signals.robust import tb_smooth as _tb_smooth_signals

SMOOTHING = 0.6
WIDTH_PX = 1000
DPI = 100

PANELS: tuple[tuple[str, tuple[str, ...], float], ...] = (
    ("loss", ("train_loss", "val_loss"), 3.0),
    ("accuracy / metric", ("train_acc", "val_acc", "val_metric"), 1.7),
    ("grad norm", ("grad_norm",), 1.3),
    ("reward", ("reward",), 1.7),
    ("learning rate", ("lr",), 1.2),
)
COLORS = {
    "train_loss": "#1f6fb4", "val_loss": "#e0661a", "train_acc": "#1f6fb4", "val_acc": "#e0661a",
    "val_metric": "#8a3fb0", "grad_norm": "#2a8a5a", "reward": "#2a8a5a", "lr": "#5a6570",
}
LABELS = {
    "train_loss": "train loss", "val_loss": "val loss", "train_acc": "train acc", "val_acc": "val acc",
    "val_metric": "val metric", "grad_norm": "grad norm", "reward": "reward", "lr": "lr",
}
SEVERITY_COLORS = {"error": "#d62728", "warning": "#e6a100", "info": "#3a8fd6"}
STATUS_COLORS = {"fail": "#d62728", "error": "#9b3dbd", "warn": "#e6a100", "ok": "#2a8a5a"}


# ----------------------------------------------------------------------------- numbers


def tb_smooth(y, weight: float = SMOOTHING) -> np.ndarray:
    """TensorBoard's debiased EMA at the chart's weight: the signals' own implementation
    (advisor.signals.robust.tb_smooth), so charts and signals cannot drift apart."""
    return _tb_smooth_signals(y, weight)


def decimate(x: np.ndarray, y: np.ndarray, buckets: int = WIDTH_PX) -> tuple[np.ndarray, np.ndarray]:
    """Min/max per x-bucket, in x order, with NaN inserted where non-finite points were skipped
    (so the line breaks there instead of bridging a divergence). Short series pass through.

    Every bucket keeps its extreme values, so a one-point spike survives any decimation: the
    drawn envelope is exactly the envelope of the data at the chosen resolution.
    """
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    finite = np.isfinite(y) & np.isfinite(x)
    if len(x) <= 2 * buckets:
        keep = np.flatnonzero(finite)
    else:
        idx = np.flatnonzero(finite)
        if len(idx) == 0:
            return np.array([]), np.array([])
        xf, yf = x[idx], y[idx]
        lo, hi = xf[0], xf[-1]
        span = hi - lo if hi > lo else 1.0
        b = np.minimum(((xf - lo) / span * buckets).astype(np.int64), buckets - 1)
        # x is ascending, so buckets are contiguous runs; order within a bucket by value.
        order = np.lexsort((yf, b))
        bs = b[order]
        starts = np.flatnonzero(np.r_[True, bs[1:] != bs[:-1]])
        ends = np.r_[starts[1:], len(bs)] - 1
        keep = idx[np.unique(np.concatenate([order[starts], order[ends]]))]
    if len(keep) == 0:
        return np.array([]), np.array([])
    # Break the line where skipped points were non-finite.
    nonfinite_before = np.cumsum(~finite)
    gaps = np.flatnonzero(nonfinite_before[keep[1:]] - nonfinite_before[keep[:-1]] > 0)
    xs, ys = x[keep], y[keep]
    if len(gaps):
        xs = np.insert(xs, gaps + 1, np.nan)
        ys = np.insert(ys, gaps + 1, np.nan)
    return xs, ys


def bucket_means(x: np.ndarray, y: np.ndarray, buckets: int = WIDTH_PX) -> tuple[np.ndarray, np.ndarray]:
    """One point per x-bucket (mean x, mean y) for an already smoothed curve: its trend is the
    point, so half the points of `decimate` suffice. Breaks at non-finite points like `decimate`."""
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if len(x) <= buckets:
        return decimate(x, y, buckets)
    finite = np.isfinite(y) & np.isfinite(x)
    idx = np.flatnonzero(finite)
    if len(idx) == 0:
        return np.array([]), np.array([])
    lo, hi = x[idx[0]], x[idx[-1]]
    span = hi - lo if hi > lo else 1.0
    b = np.minimum(((x[idx] - lo) / span * buckets).astype(np.int64), buckets - 1)
    # A bucket also splits where non-finite points interrupt it, so gaps stay gaps.
    nonfinite_before = np.cumsum(~finite)[idx]
    key = b * (int(nonfinite_before.max()) + 1) + nonfinite_before
    starts = np.flatnonzero(np.r_[True, key[1:] != key[:-1]])
    counts = np.diff(np.r_[starts, len(key)])
    mx = np.add.reduceat(x[idx], starts) / counts
    my = np.add.reduceat(y[idx], starts) / counts
    gap = np.flatnonzero(np.diff(nonfinite_before[starts]) > 0)
    if len(gap):
        mx = np.insert(mx, gap + 1, np.nan)
        my = np.insert(my, gap + 1, np.nan)
    return mx, my


def nonfinite_points(x: np.ndarray, y: np.ndarray, buckets: int = WIDTH_PX) -> dict[str, np.ndarray]:
    """x positions of NaN, +inf and -inf points, at most one per x-bucket each (for markers)."""
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    out = {}
    if len(x) == 0:
        return out
    lo, hi = np.nanmin(x), np.nanmax(x)
    span = hi - lo if hi > lo else 1.0
    for kind, mask in (("nan", np.isnan(y)), ("+inf", np.isposinf(y)), ("-inf", np.isneginf(y))):
        if mask.any():
            xs = x[mask]
            b = ((xs - lo) / span * buckets).astype(np.int64)
            _, first = np.unique(b, return_index=True)
            out[kind] = xs[np.sort(first)]
    return out


def nonfinite_runs(x: np.ndarray, y: np.ndarray) -> list[tuple[str, float, float, int]]:
    """Contiguous stretches of NaN / +inf / -inf as (kind, first x, last x, count): a run that
    diverges to inf for its last 10,000 steps is one marked stretch, not 10,000 markers."""
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    kind = np.zeros(len(y), dtype=np.int8)
    kind[np.isnan(y)] = 1
    kind[np.isposinf(y)] = 2
    kind[np.isneginf(y)] = 3
    if not kind.any():
        return []
    change = np.flatnonzero(np.r_[True, kind[1:] != kind[:-1]])
    ends = np.r_[change[1:], len(kind)] - 1
    names = {1: "nan", 2: "+inf", 3: "-inf"}
    return [(names[int(kind[a])], float(x[a]), float(x[b]), int(b - a + 1))
            for a, b in zip(change, ends) if kind[a]]


def _use_log(values: Iterable[np.ndarray]) -> bool:
    vals = [v[np.isfinite(v)] for v in values]
    vals = [v for v in vals if len(v)]
    if not vals:
        return False
    allv = np.concatenate(vals)
    return bool(np.all(allv > 0) and np.log10(allv.max()) - np.log10(allv.min()) > math.log10(50))


# ----------------------------------------------------------------------------- sparkline


def sparkline_svg(curve: Curve | None, status: str = "ok", width: int = 120, height: int = 26) -> str:
    """A tiny inline SVG of a curve (numbers only, no text) for the overview table."""
    color = STATUS_COLORS.get(status, "#555")
    empty = (f'<svg class="spark" xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" role="img" aria-label="no curve"></svg>')
    if curve is None or len(curve) == 0:
        return empty
    sm = tb_smooth(curve.y)
    xs, ys = bucket_means(curve.x, sm, buckets=width // 2)
    ok = np.isfinite(xs) & np.isfinite(ys)
    if not ok.any():
        return empty
    log = _use_log([ys])
    yv = np.log10(ys) if log else ys.copy()
    x0, x1 = np.nanmin(xs[ok]), np.nanmax(xs[ok])
    y0, y1 = np.nanmin(yv[ok]), np.nanmax(yv[ok])
    px = 1 + (xs - x0) / ((x1 - x0) or 1.0) * (width - 2)
    py = height - 2 - (yv - y0) / ((y1 - y0) or 1.0) * (height - 4)
    parts, pen_down = [], False
    for a, b in zip(px, py):
        if not (math.isfinite(a) and math.isfinite(b)):
            pen_down = False
            continue
        parts.append(f"{'L' if pen_down else 'M'}{a:.1f} {b:.1f}")
        pen_down = True
    marks = ""
    nf = nonfinite_points(curve.x, curve.y, buckets=width // 4)
    for kind, xs_nf in nf.items():
        for xv in xs_nf[:8]:
            cx = 1 + (xv - x0) / ((x1 - x0) or 1.0) * (width - 2)
            cx = min(max(cx, 2.0), width - 2.0)
            cy = height - 3 if kind == "-inf" else 3
            marks += f'<circle cx="{cx:.1f}" cy="{cy}" r="2" fill="#d62728"/>'
    return (f'<svg class="spark" xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}" role="img" aria-label="curve">'
            f'<path d="{"".join(parts)}" fill="none" stroke="{color}" stroke-width="1.3"/>{marks}</svg>')


# ----------------------------------------------------------------------------- run chart

_SAFE_LABEL = re.compile(r"[^A-Za-z0-9_.\-]")


def safe_label(text: str, limit: int = 16) -> str:
    """A rule id fit to be drawn by matplotlib: letters, digits, `_.-` only."""
    return _SAFE_LABEL.sub("", str(text))[:limit]


def is_constant(c: Curve) -> bool:
    """A curve with one finite value throughout (a constant LR gets a caption, not a panel)."""
    y = c.y[np.isfinite(c.y)]
    return len(y) > 0 and len(y) == len(c.y) and bool(np.all(y == y[0]))


OTHER_COLORS = ("#1f6fb4", "#e0661a", "#2a8a5a", "#8a3fb0", "#b03a5a", "#5a6570")
MAX_OTHER = len(OTHER_COLORS)


def unmapped_curves(report: RunReport) -> list[Curve]:
    """When no tag of a run got a role, its longest series (up to six) as curves `other1..6`,
    so the report still shows what the log holds. Their tag names go to the HTML caption,
    never into the SVG (the legend says `tag 1`, `tag 2`, …)."""
    if report.curves is not None and any(len(c) for c in report.curves.by_role.values()):
        return []
    series = sorted((s for s in report.run.series.values() if len(s)), key=lambda s: (-len(s), s.tag))
    out = []
    for i, s in enumerate(series[:MAX_OTHER], start=1):
        order = np.argsort(s.step, kind="stable")
        out.append(Curve(role=f"other{i}", tag=s.tag, x=s.step[order].astype(np.float64), y=s.value[order]))
    return out


def panels_for(report: RunReport) -> list[tuple[str, list[Curve], float]]:
    curves = report.curves.by_role if report.curves is not None else {}
    out = []
    for title, roles, ratio in PANELS:
        cs = [curves[r] for r in roles if r in curves and len(curves[r]) and not (r == "lr" and is_constant(curves[r]))]
        if cs:
            out.append((title, cs, ratio))
    others = [c for r, c in curves.items() if r.startswith("other") and len(c)]
    if not out and others:
        out.append(("logged tags (no role recognised)", others, 2.5))
    return out


_PLAIN_NAME = re.compile(r"^[A-Za-z0-9_./ -]{1,40}$")


def unmapped_label(curve: Curve) -> str:
    """How a curve without a role is named in the legend and the caption: its own tag when that
    is a plain metric name (a W&B export's "Loss/pretraining" reads better than "tag 1"), else
    "tag N" — a tag from the log with markup or odd characters never reaches the SVG."""
    return curve.tag if _PLAIN_NAME.match(curve.tag) else f"tag {curve.role[5:]}"


def _label(curve: Curve) -> str:
    role = curve.role
    if role.startswith("other") and role[5:].isdigit():
        return unmapped_label(curve)
    return LABELS.get(role, "curve")


def _color(role: str) -> str:
    if role.startswith("other") and role[5:].isdigit():
        return OTHER_COLORS[(int(role[5:]) - 1) % len(OTHER_COLORS)]
    return COLORS.get(role, "#444")


def x_axis_label(run, kinds: set[str]) -> str:
    """The x axis in the run's own unit (advisor.units, the same words as the findings): epochs for
    epoch-level logs, environment timesteps for Stable-Baselines3 runs (their "step" is
    `num_timesteps`, the env steps taken so far, not an update count), wall time or point index
    where the log had no step. Mixed kinds: "x"."""
    if len(kinds) != 1:
        return "x"
    return units.axis_label(units.unit_of(next(iter(kinds)), units.step_unit(run)))


def run_chart_svg(report: RunReport, chart_id: str, buckets: int = WIDTH_PX) -> str | None:
    """The run's curves as one inline SVG (None when the run has no curves)."""
    panels = panels_for(report)
    if not panels:
        return None
    import matplotlib
    from matplotlib.backends.backend_svg import FigureCanvasSVG
    from matplotlib.figure import Figure

    rc = {
        "svg.fonttype": "none", "svg.hashsalt": "advisor", "font.size": 9, "axes.titlesize": 9,
        "axes.spines.top": False, "axes.spines.right": False, "axes.grid": True, "grid.alpha": 0.25,
        "legend.fontsize": 8, "font.family": "sans-serif",
    }
    with matplotlib.rc_context(rc):
        ratios = [p[2] for p in panels]
        height = 0.55 + 0.95 * sum(ratios)
        fig = Figure(figsize=(WIDTH_PX / DPI, height), dpi=DPI)
        FigureCanvasSVG(fig)
        kinds = {c.x_kind for _, cs, _ in panels for c in cs}
        axes = fig.subplots(len(panels), 1, sharex=len(kinds) == 1, squeeze=False,
                            gridspec_kw={"height_ratios": ratios, "hspace": 0.42})[:, 0]
        tags_in_panel = []
        for ax, (title, cs, _) in zip(axes, panels):
            _draw_panel(ax, title, cs, buckets)
            tags_in_panel.append({c.tag for c in cs})
        _draw_findings(axes, tags_in_panel, report.findings)
        axes[-1].set_xlabel(x_axis_label(report.run, kinds))
        from matplotlib.ticker import FuncFormatter, MaxNLocator

        ticks = FuncFormatter(lambda v, _pos: readable(float(v)))  # the report's one number format
        for ax in axes:
            ax.xaxis.set_major_formatter(ticks)
            ax.yaxis.set_major_formatter(ticks)
            if kinds == {"epoch"}:  # whole epochs: no "2.5" tick
                ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        fig.subplots_adjust(left=0.07, right=0.985, top=1 - 0.22 / height, bottom=0.42 / height)
        buf = io.StringIO()
        fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": None, "Format": None, "Type": None})
    return _sanitize_svg(buf.getvalue(), chart_id)


def _draw_panel(ax, title: str, cs: list[Curve], buckets: int) -> None:
    ys_all = []
    for c in cs:
        color = _color(c.role)
        x, y = decimate(c.x, c.y, buckets)
        ax.plot(x, y, color=color, alpha=0.22, linewidth=0.8)
        sx, sy = bucket_means(c.x, tb_smooth(c.y), buckets)
        ax.plot(sx, sy, color=color, linewidth=1.4, label=_label(c))
        ys_all.append(y)
        tr = ax.get_xaxis_transform()  # x in data units, y in axes units
        stretches = nonfinite_runs(c.x, c.y)
        labelled: set[str] = set()
        for kind, x0, x1, _count in stretches[:200]:
            yy = 0.04 if kind == "-inf" else 0.96
            marker = {"nan": "x", "+inf": "^", "-inf": "v"}[kind]
            label = f"{kind} ({_label(c)})" if kind not in labelled else None
            labelled.add(kind)
            ax.plot([x0], [yy], linestyle="none", marker=marker, markersize=6, color="#d62728",
                    transform=tr, clip_on=False, label=label)
            if x1 > x0:
                ax.plot([x0, x1], [yy, yy], color="#d62728", linewidth=3, alpha=0.6, transform=tr,
                        clip_on=False, solid_capstyle="butt")
    if _use_log(ys_all):
        ax.set_yscale("log")
        # Minor log ticks are a third of the drawing time and most of the tick markup.
        ax.minorticks_off()
    # A plain text, not set_title: matplotlib re-measures every tick label to place a title.
    ax.text(0.0, 1.02, title, transform=ax.transAxes, ha="left", va="bottom", fontsize=9)
    # Above the plot area, right-aligned: inside it would cover the NaN marks and the curves.
    ax.legend(loc="lower right", bbox_to_anchor=(1.0, 1.0), frameon=False, ncol=6, borderaxespad=0.1,
              handlelength=1.6, columnspacing=1.2)


def _draw_findings(axes, tags_in_panel: list[set[str]], findings: list[Finding]) -> None:
    stacked: dict[int, int] = {}
    for f in sorted(findings, key=lambda f: (f.start_step is None, f.start_step or 0)):
        if f.start_step is None or not math.isfinite(float(f.start_step)):
            continue
        start = float(f.start_step)
        targets = [i for i, tags in enumerate(tags_in_panel) if f.metric in tags] or [0]
        color = SEVERITY_COLORS.get(f.severity, "#888")
        for i in targets:
            ax = axes[i]
            end = float(f.end_step) if f.end_step is not None and math.isfinite(float(f.end_step)) else ax.get_xlim()[1]
            if end > start:
                ax.axvspan(start, end, color=color, alpha=0.12, linewidth=0)
            ax.axvline(start, color=color, linestyle="--", linewidth=1.0)
            k = stacked.get(i, 0)
            stacked[i] = k + 1
            ax.text(start, 0.98 - 0.11 * (k % 6), " " + safe_label(f.rule), transform=ax.get_xaxis_transform(),
                    color=color, fontsize=8, va="top", ha="left", fontweight="bold")


_HEADER = re.compile(r"^.*?(?=<svg\b)", re.S)
_COMMENT = re.compile(r"<!--.*?-->", re.S)
_METADATA = re.compile(r"<metadata>.*?</metadata>\s*", re.S)
_NUMBER = re.compile(r"-?\d+\.\d{2,}")
_PATH_D = re.compile(r'(\sd=")([^"]*)(")')
_ID = re.compile(r'\bid="([^"]+)"')
_FORBIDDEN = re.compile(r"<script|<foreignObject|\son[a-z]+\s*=|javascript:|href=\"(?!#)|url\((?!#)", re.I)


def _round_str(text: str) -> str:
    v = f"{float(text):.1f}"
    return v[:-2] if v.endswith(".0") else v


def _round(m: re.Match) -> str:
    return _round_str(m.group(0))


# The CSS every chart shares (matplotlib writes it into each SVG; the page carries it once).
CHART_CSS = "svg.chart * { stroke-linejoin: round; stroke-linecap: butt; }"
_STYLE_ATTR = re.compile(r'\sstyle="([^"]*)"')
_SAFE_CSS = re.compile(r"^[#%(),.\-:;\w\s']*$")


class StylePool:
    """Turns the `style="…"` attributes matplotlib repeats on every tick, grid line and label
    into classes defined once for the whole page: a third of a chart's bytes. Styles come from
    matplotlib (no log text), and each is checked against a conservative character set anyway."""

    def __init__(self) -> None:
        self.classes: dict[str, str] = {}

    def apply(self, svg: str) -> str:
        def repl(m: re.Match) -> str:
            style = m.group(1).strip()
            if not _SAFE_CSS.match(style) or "url(" in style.replace("url(#", ""):
                raise ValueError("refusing an unexpected SVG style")
            cls = self.classes.get(style)
            if cls is None:
                cls = self.classes[style] = f"s{len(self.classes)}"
            return f' class="{cls}"'

        return _STYLE_ATTR.sub(repl, svg)

    def css(self) -> str:
        return "\n".join(f"svg.chart .{c} {{ {s} }}" for s, c in self.classes.items())


def _compact_path(d: str) -> str:
    d = _NUMBER.sub(_round, d)
    d = re.sub(r"\s*([MLCQZzmlcqz])\s*", r"\1", d)
    return re.sub(r"\s+", " ", d).strip()


def _sanitize_svg(svg: str, chart_id: str) -> str:
    """Strip the XML prologue, comments and metadata; round path coordinates to 0.1 px; prefix
    ids with `chart_id`; make it scale with the page; refuse anything active."""
    svg = _HEADER.sub("", svg, count=1)
    svg = _COMMENT.sub("", svg)
    svg = _METADATA.sub("", svg)
    svg = _PATH_D.sub(lambda m: m.group(1) + _compact_path(m.group(2)) + m.group(3), svg)
    svg = re.sub(r">\s+<", "><", svg)
    svg = re.sub(r'(\s(?:x|y|width|height)=")(-?\d+\.\d{2,})"', lambda m: m.group(1) + _round_str(m.group(2)) + '"', svg)
    svg = re.sub(r'\stransform="rotate\(-?0 [^"]*\)"', "", svg)
    svg = re.sub(r"<defs><style[^>]*>.*?</style></defs>", "", svg, flags=re.S)  # the page's CSS has it
    # Drop the ids nothing refers to (every <g> has one), keep and prefix the rest.
    referenced = set(re.findall(r'(?:href="#|url\(#)([^")]+)', svg))
    svg = _ID.sub(lambda m: m.group(0) if m.group(1) in referenced else "", svg)
    svg = re.sub(r"<g\s*>", "<g>", svg)
    # Attribute-less groups around a single element are matplotlib bookkeeping: unwrap them.
    while True:
        unwrapped = re.sub(r"<g>(<(?:path|use|text)\b[^>]*?(?:/>|>[^<]*</text>))</g>", r"\1", svg)
        if unwrapped == svg:
            break
        svg = unwrapped
    svg = re.sub(r"<g></g>", "", svg)
    ids = set(_ID.findall(svg))
    if ids:
        prefix = re.sub(r"[^A-Za-z0-9_-]", "", chart_id) + "-"
        svg = _ID.sub(lambda m: f'id="{prefix}{m.group(1)}"', svg)
        svg = re.sub(r'(href="#|url\(#)([^")]+)', lambda m: m.group(1) + (prefix + m.group(2) if m.group(2) in ids else m.group(2)), svg)
    svg = re.sub(r'<svg\b([^>]*?)\swidth="[^"]*"\s+height="[^"]*"', r'<svg\1 class="chart" preserveAspectRatio="xMinYMin meet"', svg, count=1)
    if _FORBIDDEN.search(svg):
        raise ValueError("refusing to embed an SVG with active content")
    return svg.strip()
