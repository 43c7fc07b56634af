"""Chart geometry for server-rendered SVG: these helpers place the bars, templates/stats/_chart.html draws them.

Coordinates are in SVG user units of a ``viewBox`` of ``width`` × ``height``; the SVG scales to
its container. Every bar carries its value and a tooltip title, so the drawing can be read
without guessing lengths.
"""

from __future__ import annotations

from dataclasses import dataclass, field

LABEL_WIDTH = 170  # room for row labels left of horizontal bars
VALUE_ROOM = 60  # room for the value printed after a bar
ROW_HEIGHT = 30
BAR_THICKNESS = 20
MAX_LABEL_CHARS = 24


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    value: int
    label: str  # what the bar counts, e.g. "Planned" or "Mar 2025"
    title: str  # the tooltip: label and value
    css_class: str
    series: str = ""  # in a stacked chart, the segment's series (e.g. "Planned")


@dataclass(frozen=True)
class Label:
    x: float
    y: float
    text: str
    anchor: str = "start"  # SVG text-anchor
    css_class: str = "chart-label"


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    bars: list[Bar] = field(default_factory=list)
    labels: list[Label] = field(default_factory=list)


def _shorten(text: str) -> str:
    return text if len(text) <= MAX_LABEL_CHARS else text[: MAX_LABEL_CHARS - 1].rstrip() + "…"


def _scale(values: list[int], length: float):
    top = max(values, default=0)
    return (lambda value: value / top * length) if top > 0 else (lambda value: 0.0)


def horizontal_bars(items: list[tuple[str, int, str]], width: int = 600) -> Chart:
    """One bar per (label, value, css_class), longest for the largest value, value printed after it."""
    area = width - LABEL_WIDTH - VALUE_ROOM
    length = _scale([value for _, value, _ in items], area)
    chart = Chart(width=width, height=ROW_HEIGHT * len(items) + 4)
    for row, (label, value, css_class) in enumerate(items):
        top = row * ROW_HEIGHT + (ROW_HEIGHT - BAR_THICKNESS) / 2
        middle = row * ROW_HEIGHT + ROW_HEIGHT / 2 + 4
        bar_length = length(value)
        chart.bars.append(Bar(LABEL_WIDTH, top, bar_length, BAR_THICKNESS, value, label, f"{label}: {value}", css_class))
        chart.labels.append(Label(LABEL_WIDTH - 8, middle, _shorten(label), anchor="end"))
        chart.labels.append(Label(LABEL_WIDTH + bar_length + 6, middle, str(value), css_class="chart-value"))
    return chart


def vertical_bars(
    items: list[tuple[str, int, str]], css_class: str, width: int = 600, height: int = 200,
) -> Chart:
    """One column per (label, value, axis label), the short axis label below, the value above.

    Zero values keep their slot (a bar of height 0), so the columns line up with a time axis.
    """
    top_room, bottom_room = 20, 24
    area = height - top_room - bottom_room
    length = _scale([value for _, value, _ in items], area)
    slot = width / max(len(items), 1)
    baseline = height - bottom_room
    chart = Chart(width=width, height=height)
    for index, (label, value, axis_label) in enumerate(items):
        bar_length = length(value)
        center = slot * index + slot / 2
        chart.bars.append(Bar(
            slot * index + slot * 0.15, baseline - bar_length, slot * 0.7, bar_length, value, label,
            f"{label}: {value}", css_class,
        ))
        chart.labels.append(Label(center, baseline - bar_length - 5, str(value), anchor="middle", css_class="chart-value"))
        chart.labels.append(Label(center, height - 6, axis_label, anchor="middle", css_class="chart-label chart-axis"))
    return chart


def stacked_bars(rows: list[tuple[str, list[tuple[str, int, str]]]], width: int = 600) -> Chart:
    """One full-width bar per row, split into its (series, value, css_class) shares; zero shares are not drawn."""
    area = width - LABEL_WIDTH - VALUE_ROOM
    chart = Chart(width=width, height=ROW_HEIGHT * len(rows) + 4)
    for row, (label, segments) in enumerate(rows):
        top = row * ROW_HEIGHT + (ROW_HEIGHT - BAR_THICKNESS) / 2
        middle = row * ROW_HEIGHT + ROW_HEIGHT / 2 + 4
        total = sum(value for _, value, _ in segments)
        chart.labels.append(Label(LABEL_WIDTH - 8, middle, _shorten(label), anchor="end"))
        chart.labels.append(Label(LABEL_WIDTH + (area if total else 0) + 6, middle, str(total), css_class="chart-value"))
        x = float(LABEL_WIDTH)
        for series, value, css_class in segments:
            if not value:
                continue
            share = value / total
            chart.bars.append(Bar(
                x, top, share * area, BAR_THICKNESS, value, label,
                f"{label}, {series}: {value} ({share:.0%})", css_class, series,
            ))
            x += share * area
    return chart
