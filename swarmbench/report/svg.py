"""Small hand-written SVG charts for the offline report: grouped bars, time lines, log percentiles.

Why not a plotting library: the report must be one self-contained file that renders offline.
JavaScript chart libraries need a CDN or a bundled script; matplotlib and plotly are heavy
dependencies (numpy, fonts, a renderer) for three simple chart kinds. Inline SVG strings need
nothing and every browser draws them.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from html import escape

#: Colour-blind-safe palette (Okabe-Ito); series keep their colour across every chart.
PALETTE = (
    "#0072b2",
    "#e69f00",
    "#009e73",
    "#cc79a7",
    "#56b4e9",
    "#d55e00",
    "#f0e442",
    "#000000",
)
FONT = "font-family='system-ui, sans-serif' font-size='11'"
MARGIN_L, MARGIN_R, MARGIN_T, MARGIN_B = 64, 12, 28, 48


def colour(index: int) -> str:
    return PALETTE[index % len(PALETTE)]


def nice_ticks(top: float, count: int = 5) -> list[float]:
    """Round tick values from 0 to at least `top`."""
    if top <= 0:
        return [0.0, 1.0]
    raw = top / count
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    n = math.ceil(top / step - 1e-9)
    return [i * step for i in range(n + 1)]


def tick_label(value: float) -> str:
    if value == 0:
        return "0"
    for suffix, size in (("M", 1e6), ("k", 1e3)):
        if abs(value) >= size:
            return f"{value / size:g}{suffix}"
    return f"{value:g}"


def _open(width: int, height: int, title: str, kind: str) -> list[str]:
    return [
        f"<svg xmlns='http://www.w3.org/2000/svg' class='chart {kind}' width='{width}' "
        f"height='{height}' viewBox='0 0 {width} {height}' role='img' "
        f"aria-label='{escape(title, quote=True)}'>",
        f"<text x='{MARGIN_L}' y='16' {FONT} font-size='13' font-weight='600'>"
        f"{escape(title)}</text>",
    ]


def _empty(out: list[str], width: int, height: int, text: str) -> str:
    """A chart with nothing to draw says so in its middle."""
    out.append(
        f"<text x='{width / 2}' y='{height / 2}' text-anchor='middle' {FONT} fill='#999'>"
        f"{text}</text></svg>"
    )
    return "\n".join(out)


def _y_axis(
    ticks: Sequence[float], y_of: Callable[[float], float], width: int, unit: str
) -> list[str]:
    out = []
    for t in ticks:
        y = y_of(t)
        out.append(
            f"<line x1='{MARGIN_L}' x2='{width - MARGIN_R}' y1='{y:.1f}' y2='{y:.1f}' "
            "stroke='#e3e3e3'/>"
        )
        out.append(
            f"<text x='{MARGIN_L - 6}' y='{y + 4:.1f}' text-anchor='end' {FONT}>"
            f"{tick_label(t)}</text>"
        )
    out.append(f"<text x='12' y='{MARGIN_T - 8}' {FONT} fill='#555'>{escape(unit)}</text>")
    return out


def _legend(names: Sequence[str], x: float, y: float) -> list[str]:
    out = []
    for i, name in enumerate(names):
        lx = x + i * 130
        out.append(
            f"<rect x='{lx:.1f}' y='{y - 9:.1f}' width='10' height='10' fill='{colour(i)}'/>"
        )
        out.append(f"<text x='{lx + 14:.1f}' y='{y:.1f}' {FONT}>{escape(name)}</text>")
    return out


#: Per series, per category: the interval (low, high) around a bar, or None.
Intervals = Sequence[Sequence[tuple[float, float] | None]]
#: Per series, per category: True where the bar is a lower bound (generator-bound).
LowerBounds = Sequence[Sequence[bool]]


def bar_chart(
    categories: Sequence[str],
    series: Sequence[tuple[str, Sequence[float | None]]],
    title: str,
    unit: str,
    *,
    width: int = 640,
    height: int = 280,
    intervals: Intervals | None = None,
    lower_bounds: LowerBounds | None = None,
) -> str:
    """Bars grouped by category, one colour per series; a missing value is marked n/a.

    An interval is drawn as a whisker over its bar; a lower bound as an open, dashed bar with
    "≥" over it, since the true value may be anywhere above it.
    """
    values = [v for _, vs in series for v in vs if v is not None]
    values += [iv[1] for ivs in intervals or () for iv in ivs if iv is not None]
    ticks = nice_ticks(max(values, default=0.0))
    top = ticks[-1]
    plot_h = height - MARGIN_T - MARGIN_B
    plot_w = width - MARGIN_L - MARGIN_R

    def y_of(v: float) -> float:
        return MARGIN_T + plot_h * (1 - v / top)

    out = _open(width, height, title, "bars")
    out += _y_axis(ticks, y_of, width, unit)
    group_w = plot_w / max(1, len(categories))
    bar_w = group_w * 0.8 / max(1, len(series))
    base = y_of(0)
    for ci, cat in enumerate(categories):
        gx = MARGIN_L + ci * group_w + group_w * 0.1
        for si, (name, vs) in enumerate(series):
            x = gx + si * bar_w
            v = vs[ci] if ci < len(vs) else None
            if v is None:
                out.append(
                    f"<text x='{x + bar_w / 2:.1f}' y='{base - 3:.1f}' text-anchor='middle' "
                    f"{FONT} font-size='9' fill='#999'>n/a</text>"
                )
                continue
            y = y_of(v)
            bound = bool(lower_bounds and lower_bounds[si][ci])
            style = (
                f"fill='white' stroke='{colour(si)}' stroke-width='1.5' stroke-dasharray='3,2'"
                if bound
                else f"fill='{colour(si)}'"
            )
            kind = "bar lower-bound" if bound else "bar"
            what = "at least " if bound else ""
            out.append(
                f"<rect class='{kind}' x='{x:.1f}' y='{y:.1f}' width='{bar_w * 0.92:.1f}' "
                f"height='{max(base - y, 0.5):.1f}' {style}>"
                f"<title>{escape(cat)} {escape(name)}: {what}{v:,.4g} {escape(unit)}</title></rect>"
            )
            mid = x + bar_w * 0.46
            if bound:
                out.append(
                    f"<text class='lower-bound-mark' x='{mid:.1f}' y='{y - 3:.1f}' "
                    f"text-anchor='middle' {FONT} font-size='10'>≥</text>"
                )
            interval = intervals[si][ci] if intervals and ci < len(intervals[si]) else None
            if interval is not None and not bound:
                out += _whisker(mid, y_of(interval[0]), y_of(interval[1]))
        out.append(
            f"<text x='{gx + group_w * 0.4:.1f}' y='{base + 14:.1f}' text-anchor='middle' "
            f"{FONT}>{escape(cat)}</text>"
        )
    out += _legend([name for name, _ in series], MARGIN_L, height - 10)
    if lower_bounds and any(any(row) for row in lower_bounds):
        out.append(
            f"<text x='{width - MARGIN_R}' y='{height - 10}' text-anchor='end' {FONT} "
            "fill='#555'>dashed ≥: lower bound (generator-bound)</text>"
        )
    out.append("</svg>")
    return "\n".join(out)


def _whisker(x: float, y_low: float, y_high: float) -> list[str]:
    return [
        f"<line class='interval' x1='{x:.1f}' x2='{x:.1f}' y1='{y_low:.1f}' y2='{y_high:.1f}' "
        "stroke='#333' stroke-width='1'/>",
        f"<line x1='{x - 3:.1f}' x2='{x + 3:.1f}' y1='{y_high:.1f}' y2='{y_high:.1f}' "
        "stroke='#333' stroke-width='1'/>",
        f"<line x1='{x - 3:.1f}' x2='{x + 3:.1f}' y1='{y_low:.1f}' y2='{y_low:.1f}' "
        "stroke='#333' stroke-width='1'/>",
    ]


def xy_chart(
    lines: Sequence[tuple[str, Sequence[tuple[float, float]]]],
    title: str,
    x_unit: str,
    y_unit: str,
    *,
    width: int = 480,
    height: int = 280,
) -> str:
    """One line of points per series (x, y): e.g. CPU % against requests/s served."""
    points = [p for _, pts in lines for p in pts]
    out = _open(width, height, title, "xy")
    if not points:
        return _empty(out, width, height, "no figures")
    x_ticks = nice_ticks(max(x for x, _ in points))
    y_ticks = nice_ticks(max(y for _, y in points))
    plot_h = height - MARGIN_T - MARGIN_B
    plot_w = width - MARGIN_L - MARGIN_R - 110

    def x_of(v: float) -> float:
        return MARGIN_L + plot_w * v / x_ticks[-1]

    def y_of(v: float) -> float:
        return MARGIN_T + plot_h * (1 - v / y_ticks[-1])

    out += _y_axis(y_ticks, y_of, width - 110, y_unit)
    for tick in x_ticks:
        out.append(
            f"<text x='{x_of(tick):.1f}' y='{MARGIN_T + plot_h + 14:.1f}' text-anchor='middle' "
            f"{FONT}>{tick_label(tick)}</text>"
        )
    out.append(
        f"<text x='{MARGIN_L + plot_w / 2:.1f}' y='{height - 12}' text-anchor='middle' {FONT} "
        f"fill='#555'>{escape(x_unit)}</text>"
    )
    for si, (name, pts) in enumerate(lines):
        ordered = sorted(pts)
        if ordered:
            d = " ".join(
                f"{'M' if n == 0 else 'L'}{x_of(x):.1f},{y_of(y):.1f}"
                for n, (x, y) in enumerate(ordered)
            )
            out.append(
                f"<path class='line' d='{d}' fill='none' stroke='{colour(si)}' stroke-width='2'/>"
            )
            out += [
                f"<circle cx='{x_of(x):.1f}' cy='{y_of(y):.1f}' r='3' fill='{colour(si)}'/>"
                for x, y in ordered
            ]
        ly = MARGIN_T + 14 * si + 4
        lx = width - MARGIN_R - 100
        out.append(f"<rect x='{lx}' y='{ly - 9}' width='10' height='10' fill='{colour(si)}'/>")
        out.append(f"<text x='{lx + 14}' y='{ly}' {FONT}>{escape(name)}</text>")
    out.append("</svg>")
    return "\n".join(out)


def line_chart(
    lines: Sequence[tuple[str, Sequence[Sequence[float]]]],
    title: str,
    unit: str,
    *,
    width: int = 320,
    height: int = 180,
    window: Sequence[float] | None = None,
) -> str:
    """Values over time; x in seconds from the first sample; the measured window shaded."""
    points = [(t, v) for _, vals in lines for t, v in vals if math.isfinite(v)]
    out = _open(width, height, title, "lines")
    if not points:
        return _empty(out, width, height, "no samples")
    t0 = min(t for t, _ in points)
    span = max(max(t for t, _ in points) - t0, 1.0)
    ticks = nice_ticks(max(v for _, v in points))
    top = ticks[-1]
    plot_h = height - MARGIN_T - MARGIN_B + 20
    plot_w = width - MARGIN_L - MARGIN_R

    def x_of(t: float) -> float:
        return MARGIN_L + plot_w * (t - t0) / span

    def y_of(v: float) -> float:
        return MARGIN_T + plot_h * (1 - v / top)

    if window and len(window) == 2:
        x1, x2 = x_of(window[0]), x_of(window[1])
        out.append(
            f"<rect class='window' x='{x1:.1f}' y='{MARGIN_T}' width='{max(x2 - x1, 0):.1f}' "
            f"height='{plot_h:.1f}' fill='#f3f6fa'/>"
        )
    out += _y_axis(ticks, y_of, width, unit)
    for tick in nice_ticks(span, 4):
        if tick <= span:
            out.append(
                f"<text x='{x_of(t0 + tick):.1f}' y='{MARGIN_T + plot_h + 14:.1f}' "
                f"text-anchor='middle' {FONT}>{tick:g} s</text>"
            )
    for i, (_, vals) in enumerate(lines):
        good = [(t, v) for t, v in vals if math.isfinite(v)]
        if not good:
            continue
        d = " ".join(
            f"{'M' if n == 0 else 'L'}{x_of(t):.1f},{y_of(v):.1f}" for n, (t, v) in enumerate(good)
        )
        out.append(
            f"<path class='line' d='{d}' fill='none' stroke='{colour(i)}' stroke-width='2'/>"
        )
    out.append("</svg>")
    return "\n".join(out)


def percentile_chart(
    labels: Sequence[str],
    lines: Sequence[tuple[str, Sequence[float | None]]],
    title: str,
    unit: str,
    *,
    width: int = 640,
    height: int = 280,
) -> str:
    """Latency at each percentile, one line per system, on a log axis (decades labelled)."""
    values = [v for _, vs in lines for v in vs if v is not None and v > 0]
    out = _open(width, height, title, "percentiles")
    if not values:
        return _empty(out, width, height, "no latency figures")
    lo = 10 ** math.floor(math.log10(min(values)))
    hi = 10 ** math.ceil(math.log10(max(values)))
    hi = hi * 10 if hi == lo else hi
    plot_h = height - MARGIN_T - MARGIN_B
    plot_w = width - MARGIN_L - MARGIN_R - 110  # room for the legend on the right

    def y_of(v: float) -> float:
        return MARGIN_T + plot_h * (1 - math.log10(v / lo) / math.log10(hi / lo))

    def x_of(i: int) -> float:
        return MARGIN_L + plot_w * (i / max(1, len(labels) - 1))

    decades = [lo * 10**k for k in range(round(math.log10(hi / lo)) + 1)]
    out += _y_axis(decades, y_of, width - 110, unit)
    for i, label in enumerate(labels):
        out.append(
            f"<text x='{x_of(i):.1f}' y='{MARGIN_T + plot_h + 16:.1f}' text-anchor='middle' "
            f"{FONT}>{escape(label)}</text>"
        )
    for si, (name, vs) in enumerate(lines):
        pts = [(x_of(i), y_of(v)) for i, v in enumerate(vs) if v is not None and v > 0]
        if pts:
            d = " ".join(f"{'M' if n == 0 else 'L'}{x:.1f},{y:.1f}" for n, (x, y) in enumerate(pts))
            out.append(
                f"<path class='line' d='{d}' fill='none' stroke='{colour(si)}' stroke-width='2'/>"
            )
            out += [
                f"<circle cx='{x:.1f}' cy='{y:.1f}' r='3' fill='{colour(si)}'/>" for x, y in pts
            ]
        ly = MARGIN_T + 14 * si + 4
        lx = width - MARGIN_R - 100
        out.append(f"<rect x='{lx}' y='{ly - 9}' width='10' height='10' fill='{colour(si)}'/>")
        out.append(f"<text x='{lx + 14}' y='{ly}' {FONT}>{escape(name)}</text>")
    out.append("</svg>")
    return "\n".join(out)
