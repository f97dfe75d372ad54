"""Server-side SVG charts: no script, no CDN, no inline style. Colours come from classes
(`s0`..`s5`) that the stylesheet defines for light and dark; every label is escaped, and
each chart has a <title> and <desc> for screen readers (the numbers are also in a table
beside it and in the CSV)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from markupsafe import Markup

from .text import plain

SERIES_CLASSES = 6


@dataclass(frozen=True)
class Series:
    name: str
    points: list[tuple[date, float]]  # (day, value between 0 and 1)


def _svg(width: int, height: int, title: str, desc: str, body: list[str]) -> Markup:
    return Markup(
        '<svg class="chart" viewBox="0 0 {w} {h}" width="{w}" height="{h}" role="img" '
        'aria-label="{t}" xmlns="http://www.w3.org/2000/svg"><title>{t}</title>'
        "<desc>{d}</desc>{b}</svg>"
    ).format(w=width, h=height, t=plain(title), d=plain(desc), b=Markup("").join(body))


def _note(width: int, height: int, text: str) -> Markup:
    """A sentence in the middle of a chart that has nothing to draw."""
    return Markup('<text class="label" x="{}" y="{}" text-anchor="middle">{}</text>').format(
        width / 2, height / 2 + 4, text
    )


def share_line_chart(
    series: list[Series], title: str, width: int = 640, height: int = 260
) -> Markup:
    """Share of helpful ratings (0..100 %) over days, one line per series."""
    left, right, top, bottom = 44, 12, 12, 28
    plot_w, plot_h = width - left - right, height - top - bottom
    days = sorted({d for s in series for d, _ in s.points})
    body: list[str] = []
    for pct in (0, 25, 50, 75, 100):
        y = top + plot_h * (1 - pct / 100)
        body.append(
            Markup('<line class="grid" x1="{}" x2="{}" y1="{:.1f}" y2="{:.1f}"/>').format(
                left, width - right, y, y
            )
        )
        body.append(
            Markup('<text x="{}" y="{:.1f}" text-anchor="end">{}%</text>').format(
                left - 6, y + 4, pct
            )
        )
    if not days:
        body.append(_note(width, height, "No ratings in this period"))
        return _svg(width, height, title, "No data.", body)
    first, last = days[0], days[-1]
    span = max((last - first).days, 1)

    def x_of(day: date) -> float:
        if first == last:
            return left + plot_w / 2
        return left + plot_w * (day - first).days / span

    for label_day in (first, last) if first != last else (first,):
        anchor = "start" if label_day == first and first != last else "end"
        if first == last:
            anchor = "middle"
        body.append(
            Markup('<text x="{:.1f}" y="{}" text-anchor="{}">{}</text>').format(
                x_of(label_day), height - 8, anchor, label_day.isoformat()
            )
        )
    for index, s in enumerate(series):
        cls = f"s{index % SERIES_CLASSES}"
        coords = [(x_of(d), top + plot_h * (1 - v)) for d, v in sorted(s.points)]
        if len(coords) > 1:
            body.append(
                Markup('<polyline class="line {}" points="{}"/>').format(
                    cls, " ".join(f"{x:.1f},{y:.1f}" for x, y in coords)
                )
            )
        for (d, v), (x, y) in zip(sorted(s.points), coords, strict=True):
            body.append(
                Markup(
                    '<circle class="{}" cx="{:.1f}" cy="{:.1f}" r="3.5"><title>{}: {} '
                    "{:.0f}% helpful</title></circle>"
                ).format(cls, x, y, plain(s.name), d.isoformat(), v * 100)
            )
    desc = "; ".join(
        f"{s.name}: " + ", ".join(f"{d.isoformat()} {v * 100:.0f}%" for d, v in sorted(s.points))
        for s in series
    )
    return _svg(width, height, title, desc, body)


def bar_chart(
    items: list[tuple[str, float]],
    title: str,
    unit: str = "",
    width: int = 640,
    bar_height: int = 22,
    series_class: str = "s1",
) -> Markup:
    """Horizontal bars, longest first as given; labels are escaped reader-facing text."""
    label_w, right, gap = 230, 60, 8
    height = max(len(items), 1) * (bar_height + gap) + gap
    top_value = max((v for _, v in items), default=0) or 1
    plot_w = width - label_w - right
    body: list[str] = []
    if not items:
        body.append(_note(width, height, "Nothing to show"))
    for i, (label, value) in enumerate(items):
        y = gap + i * (bar_height + gap)
        shown = plain(label)
        short = shown if len(shown) <= 34 else shown[:33] + "…"
        w = plot_w * value / top_value
        body.append(
            Markup(
                '<text class="label" x="{}" y="{:.1f}" text-anchor="end">{}<title>{}</title></text>'
                '<rect class="bar {}" x="{}" y="{}" width="{:.1f}" height="{}" rx="3"/>'
                '<text x="{:.1f}" y="{:.1f}">{}{}</text>'
            ).format(
                label_w - 8,
                y + bar_height * 0.7,
                short,
                shown,
                series_class,
                label_w,
                y,
                max(w, 1),
                bar_height,
                label_w + max(w, 1) + 6,
                y + bar_height * 0.7,
                _number(value),
                unit,
            )
        )
    desc = "; ".join(f"{plain(label)}: {_number(v)}{unit}" for label, v in items)
    return _svg(width, height, title, desc or "No data.", body)


def before_after_chart(
    items: list[tuple[str, float | None, float | None]], title: str, width: int = 640
) -> Markup:
    """For each resolved task, the share helpful before (s0) and after (s2) its fix."""
    label_w, right, bar_h, gap = 230, 60, 12, 12
    row_h = 2 * bar_h + 2 + gap
    height = max(len(items), 1) * row_h + gap
    plot_w = width - label_w - right
    body: list[str] = []
    if not items:
        body.append(_note(width, height, "No resolved tasks in this period"))
    for i, (label, before, after) in enumerate(items):
        y = gap + i * row_h
        shown = plain(label)
        short = shown if len(shown) <= 34 else shown[:33] + "…"
        body.append(
            Markup(
                '<text class="label" x="{}" y="{:.1f}" text-anchor="end">{}<title>{}</title></text>'
            ).format(label_w - 8, y + bar_h + 4, short, shown)
        )
        for j, (value, cls, name) in enumerate(((before, "s0", "before"), (after, "s2", "after"))):
            by = y + j * (bar_h + 2)
            if value is None:
                body.append(
                    Markup('<text x="{}" y="{:.1f}">{}: no ratings yet</text>').format(
                        label_w + 4, by + bar_h - 2, name
                    )
                )
                continue
            w = max(plot_w * value, 1)
            body.append(
                Markup(
                    '<rect class="bar {}" x="{}" y="{}" width="{:.1f}" height="{}" rx="2"/>'
                    '<text x="{:.1f}" y="{:.1f}">{:.0f}%</text>'
                ).format(cls, label_w, by, w, bar_h, label_w + w + 6, by + bar_h - 2, value * 100)
            )
    desc = "; ".join(f"{plain(label)}: before {_pct(b)}, after {_pct(a)}" for label, b, a in items)
    return _svg(width, height, title, desc or "No data.", body)


def _pct(value: float | None) -> str:
    return "no ratings" if value is None else f"{value * 100:.0f}%"


def _number(value: float) -> str:
    return f"{value:.0f}" if float(value).is_integer() else f"{value:.1f}"
