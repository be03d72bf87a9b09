"""The report's charts as inline SVG, drawn here: no script, no external file, no fetch.

Both the browser and WeasyPrint render inline SVG, so the HTML and the PDF show the same
picture. Text in the SVG is escaped; sizes are in user units with a viewBox, so a chart
scales to the page (and to a phone).
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from report.data import DayFigure, SubsystemFigure
from tierwatch.core.i18n import Translator

WIDTH = 720
MET = "#2e7d32"
MISSED = "#c62828"
NODATA = "#b0b0b0"
GRID = "#dddddd"
TIER_COLOURS = {4: "#1b5e20", 3: "#43a047", 2: "#f9a825", 1: "#ef6c00", 0: "#c62828"}


def _text(x: float, y: float, text: str, size: int = 10, anchor: str = "start",
          fill: str = "#333") -> str:
    return (f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" text-anchor="{anchor}" '
            f'fill="{fill}">{escape(text)}</text>')


def _floor(values: Sequence[float]) -> float:
    """The chart's lowest availability: 99 % unless a day fell below it."""
    low = min(values, default=1.0)
    for floor in (0.99, 0.9, 0.5):
        if low >= floor:
            return floor
    return 0.0


def availability_per_day(days: Sequence[DayFigure], days_in_month: int, target: float,
                         tr: Translator) -> str:
    """One bar per day: the day's availability over its monitored time; grey where the day
    was not monitored at all; a dashed line at the target."""
    left, right, top, height = 52, 10, 14, 150
    plot_w = WIDTH - left - right
    total_h = top + height + 46
    known = [d.availability for d in days if d.availability is not None]
    floor = _floor(known)
    span = 1.0 - floor
    slot = plot_w / max(days_in_month, 1)
    bar_w = max(1.0, slot * 0.72)

    def y_of(value: float) -> float:
        return top + height * (1.0 - (value - floor) / span)

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {total_h}" '
             f'width="100%" role="img" aria-label="{escape(tr("chart_days"))}" '
             f'font-family="DejaVu Sans, sans-serif">']
    for value in (floor, floor + span / 2, 1.0):
        y = y_of(value)
        parts.append(f'<line x1="{left}" y1="{y:.1f}" x2="{WIDTH - right}" y2="{y:.1f}" '
                     f'stroke="{GRID}" stroke-width="1"/>')
        parts.append(_text(left - 4, y + 3, tr.percent(value, 1 if span >= 0.1 else 2), 9,
                           "end"))
    for i, day in enumerate(days):
        x = left + i * slot + (slot - bar_w) / 2
        if day.availability is None:
            parts.append(f'<rect x="{x:.1f}" y="{top}" width="{bar_w:.1f}" height="{height}" '
                         f'fill="{NODATA}" opacity="0.6"/>')
            continue
        value = max(floor, day.availability)
        y = y_of(value)
        colour = MET if day.availability >= target else MISSED
        h = max(top + height - y, 1.0)
        parts.append(f'<rect x="{x:.1f}" y="{top + height - h:.1f}" width="{bar_w:.1f}" '
                     f'height="{h:.1f}" fill="{colour}"><title>{escape(tr.date(day.start))}: '
                     f'{escape(tr.percent(day.availability))}</title></rect>')
        if day.unmonitored > 0 and day.monitored > 0:  # part of the day was not watched
            share = day.unmonitored / (day.unmonitored + day.monitored)
            parts.append(f'<rect x="{x:.1f}" y="{top}" width="{bar_w:.1f}" '
                         f'height="{height * share:.1f}" fill="{NODATA}" opacity="0.6"/>')
    if target > floor:
        y = y_of(target)
        parts.append(f'<line x1="{left}" y1="{y:.1f}" x2="{WIDTH - right}" y2="{y:.1f}" '
                     f'stroke="#1565c0" stroke-width="1" stroke-dasharray="4 3"/>')
    for i in range(days_in_month):
        if i == 0 or (i + 1) % 5 == 0:
            parts.append(_text(left + i * slot + slot / 2, top + height + 13, str(i + 1), 9,
                               "middle"))
    legend_y = top + height + 34
    x = left
    for colour, key in ((MET, "legend_met"), (MISSED, "legend_missed"),
                        (NODATA, "legend_nodata")):
        parts.append(f'<rect x="{x}" y="{legend_y - 9}" width="10" height="10" '
                     f'fill="{colour}"/>')
        label = tr(key)
        parts.append(_text(x + 14, legend_y, label, 10))
        x += 24 + 6.5 * len(label)
    parts.append(f'<line x1="{x}" y1="{legend_y - 4}" x2="{x + 18}" y2="{legend_y - 4}" '
                 f'stroke="#1565c0" stroke-dasharray="4 3"/>')
    parts.append(_text(x + 22, legend_y, tr("target", target=tr.percent(target)), 10))
    parts.append("</svg>")
    return "".join(parts)


def _spare_colour(spare: int) -> str:
    return MET if spare >= 1 else ("#f9a825" if spare == 0 else MISSED)


def redundancy_timeline(subsystems: Sequence[SubsystemFigure], period: tuple[float, float],
                        tr: Translator) -> str:
    """A band per subsystem coloured by its live tier, and one per capacity group coloured
    by its spare (N+1 or better, N, short), across the month; grey while unmonitored."""
    rows: list[tuple[str, list[tuple[float, float, str]]]] = []
    for sub in subsystems:
        bands = [(s.start, s.end, NODATA if s.tier is None else TIER_COLOURS.get(s.tier, MISSED))
                 for s in sub.timeline]
        rows.append((tr(f"Subsystem.{sub.name}"), bands))
        for group in sub.groups:
            group_bands = [
                (s.start, s.end,
                 NODATA if not s.monitored else _spare_colour(s.spares.get(group.id, 1)))
                for s in sub.timeline]
            rows.append((f"  {group.id}", group_bands))
    left, right, top, row_h, gap = 120, 10, 6, 16, 6
    plot_w = WIDTH - left - right
    start, end = period
    length = end - start
    legend_h = 44
    total_h = top + len(rows) * (row_h + gap) + 18 + legend_h
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {total_h}" '
             f'width="100%" role="img" aria-label="{escape(tr("chart_timeline"))}" '
             f'font-family="DejaVu Sans, sans-serif">']
    for i, (label, bands) in enumerate(rows):
        y = top + i * (row_h + gap)
        parts.append(_text(left - 6, y + row_h - 4, label.strip(), 10 if label[0] != " " else 9,
                           "end", "#333" if label[0] != " " else "#555"))
        parts.append(f'<rect x="{left}" y="{y}" width="{plot_w}" height="{row_h}" '
                     f'fill="#fafafa" stroke="{GRID}"/>')
        for a, b, colour in bands:
            x = left + plot_w * (a - start) / length
            w = max(plot_w * (b - a) / length, 0.5)
            parts.append(f'<rect x="{x:.2f}" y="{y}" width="{w:.2f}" height="{row_h}" '
                         f'fill="{colour}"/>')
    axis_y = top + len(rows) * (row_h + gap) + 10
    days = round(length / 86400)
    for d in range(0, days, 5):
        x = left + plot_w * d / max(days, 1)
        parts.append(_text(x, axis_y, str(d + 1), 9, "middle"))
    legend_y = axis_y + 18
    x = float(left)
    for tier in (4, 3, 2, 1, 0):
        parts.append(f'<rect x="{x:.0f}" y="{legend_y - 9}" width="10" height="10" '
                     f'fill="{TIER_COLOURS[tier]}"/>')
        label = tr("tier_n", tier=tr.tier(tier))
        parts.append(_text(x + 13, legend_y, label, 9))
        x += 20 + 6 * len(label)
    x = float(left)
    legend_y += 16
    for colour, key in ((MET, "legend_spare"), ("#f9a825", "legend_nospare"),
                        (MISSED, "legend_short"), (NODATA, "legend_nodata")):
        parts.append(f'<rect x="{x:.0f}" y="{legend_y - 9}" width="10" height="10" '
                     f'fill="{colour}"/>')
        label = tr(key)
        parts.append(_text(x + 13, legend_y, label, 9))
        x += 22 + 5.6 * len(label)
    parts.append("</svg>")
    return "".join(parts)


def pue_per_day(daily: Sequence[tuple[str, float | None]], tr: Translator) -> str:
    """The month's PUE, day by day, as a line (days without a figure leave a gap)."""
    width, height, left, bottom = 640, 160, 40, 24
    known = [v for _, v in daily if v is not None]
    if not known:
        return ""
    low = min(1.0, min(known))
    high = max(known) + 0.1
    n = max(1, len(daily) - 1)

    def xy(i: int, v: float) -> tuple[float, float]:
        return (left + i * (width - left - 10) / n,
                10 + (high - v) * (height - bottom - 10) / (high - low))

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" role="img" aria-label="PUE">']
    for level in (low, (low + high) / 2, high):
        _, y = xy(0, level)
        parts.append(f'<line x1="{left}" x2="{width - 10}" y1="{y:.1f}" y2="{y:.1f}" '
                     f'stroke="{GRID}"/>')
        parts.append(_text(left - 4, y + 3, tr.number(level, 2), 9, "end"))
    segment: list[str] = []
    for i, (_, v) in enumerate(daily):
        if v is None:
            if len(segment) > 1:
                parts.append(f'<polyline points="{" ".join(segment)}" fill="none" '
                             f'stroke="#1565c0" stroke-width="2"/>')
            segment = []
            continue
        x, y = xy(i, v)
        segment.append(f"{x:.1f},{y:.1f}")
    if len(segment) > 1:
        parts.append(f'<polyline points="{" ".join(segment)}" fill="none" stroke="#1565c0" '
                     f'stroke-width="2"/>')
    for i, (day, _) in enumerate(daily):
        if i % 5 == 0:
            x, _ = xy(i, low)
            parts.append(_text(x, height - 6, day[-2:], 9, "middle"))
    parts.append("</svg>")
    return "".join(parts)
