"""Chart geometry for server-rendered SVG: these helpers place the bars, templates/stats/_chart.html draws them.

The SVGs have no ``viewBox``: they fill the width of the page and their text keeps its size in CSS
pixels whatever that width (a scaled drawing would shrink the labels on a phone and blow them up on
a wide screen). Horizontal positions and lengths are percentages of the chart's width
(``Chart.x_unit``), vertical ones pixels. Horizontal bars put each label above its bar and the value
just after its end, so long labels need no room beside the bars and nothing scrolls on a phone.

Every bar carries its value and a tooltip title, so the drawing can be read without guessing lengths.
Bars that are compared share one scale: the largest value given as ``top`` (by default the largest
of the chart) spans ``BAR_SPAN`` percent of the width.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from flask_babel import format_number

BAR_SPAN = 82.0  # percent of the width the largest bar spans; the rest holds its value
ROW_HEIGHT = 50  # px: a label line, then the bar
LABEL_BASELINE = 17  # px from the top of a row
BAR_TOP = 24
BAR_THICKNESS = 18
VALUE_GAP = 6  # px between a bar's end and its value
MAX_LABEL_CHARS = 42
COLUMNS_HEIGHT = 220  # px, for vertical bars
COLUMNS_TOP_ROOM, COLUMNS_BOTTOM_ROOM = 24, 30
AXIS_EVERY = 3  # on narrow screens, one axis label in three is kept (the last one included)


@dataclass(frozen=True)
class Bar:
    x: float  # in the chart's x_unit
    y: float  # px
    width: float  # in the chart's x_unit
    height: float  # px
    value: int
    label: str  # what the bar counts, e.g. "Planned" or "Mar 2025"
    title: str  # the tooltip: label and value
    css_class: str
    series: str = ""  # in a stacked chart, the segment's series (e.g. "Planned")


@dataclass(frozen=True)
class Label:
    x: float  # in the chart's x_unit
    y: float  # px
    text: str
    anchor: str = "start"  # SVG text-anchor
    css_class: str = "chart-label"
    dx: float = 0  # px, added to x


@dataclass(frozen=True)
class Chart:
    height: int  # px; the width is the page's
    bars: list[Bar] = field(default_factory=list)
    labels: list[Label] = field(default_factory=list)
    x_unit: str = "%"

    @property
    def description(self) -> str:
        """The figures in words, for screen readers: every bar's tooltip."""
        return "; ".join(bar.title for bar in self.bars)


def _shorten(text: str) -> str:
    return text if len(text) <= MAX_LABEL_CHARS else text[: MAX_LABEL_CHARS - 1].rstrip() + "…"


def _scale(top: int, length: float):
    return (lambda value: value / top * length) if top > 0 else (lambda value: 0.0)


def horizontal_bars(items: list[tuple[str, int, str]], top: int | None = None) -> Chart:
    """One bar per (label, value, css_class), the label above it and the value after it.

    ``top``: the value that spans the whole bar area (the largest one by default); charts read
    side by side pass the same ``top`` so that their bars share one scale.
    """
    top = max([value for _, value, _ in items], default=0) if top is None else top
    length = _scale(top, BAR_SPAN)
    chart = Chart(height=ROW_HEIGHT * len(items))
    for row, (label, value, css_class) in enumerate(items):
        y = row * ROW_HEIGHT
        bar_length = length(value)
        chart.bars.append(Bar(0, y + BAR_TOP, bar_length, BAR_THICKNESS, value, label, f"{label}: {value}", css_class))
        chart.labels.append(Label(0, y + LABEL_BASELINE, _shorten(label)))
        chart.labels.append(Label(bar_length, y + BAR_TOP + BAR_THICKNESS - 4, format_number(value),
                                  css_class="chart-value", dx=VALUE_GAP))
    return chart


def vertical_bars(items: list[tuple[str, int, str]], css_class: str, height: int = COLUMNS_HEIGHT) -> Chart:
    """One column per (label, value, axis label), the short axis label below, the value above.

    Zero values keep their slot (a bar of height 0), so the columns line up with a time axis. On
    narrow screens the stylesheet hides the labels marked ``chart-minor``: all axis labels but one
    in AXIS_EVERY (the last one kept), and all values but the largest and the last.
    """
    area = height - COLUMNS_TOP_ROOM - COLUMNS_BOTTOM_ROOM
    values = [value for _, value, _ in items]
    length = _scale(max(values, default=0), area)
    slot = 100 / max(len(items), 1)
    baseline = height - COLUMNS_BOTTOM_ROOM
    largest = values.index(max(values)) if values else -1
    last = len(items) - 1
    chart = Chart(height=height)
    for index, (label, value, axis_label) in enumerate(items):
        bar_length = length(value)
        center = slot * index + slot / 2
        chart.bars.append(Bar(
            slot * index + slot * 0.15, baseline - bar_length, slot * 0.7, bar_length, value, label,
            f"{label}: {value}", css_class,
        ))
        minor_value = "" if index in (largest, last) else " chart-minor"
        minor_axis = "" if (last - index) % AXIS_EVERY == 0 else " chart-minor"
        # The labels of the first and last columns line up with their bar's outer edge, so that
        # they never stick out of the chart on a narrow screen.
        if index == last and last > 0:
            x, anchor = slot * index + slot * 0.85, "end"
        elif index == 0 and last > 0:
            x, anchor = slot * 0.15, "start"
        else:
            x, anchor = center, "middle"
        chart.labels.append(Label(x, baseline - bar_length - 6, format_number(value), anchor=anchor,
                                  css_class=f"chart-value{minor_value}"))
        chart.labels.append(Label(x, height - 8, axis_label, anchor=anchor,
                                  css_class=f"chart-label chart-axis{minor_axis}"))
    return chart


def stacked_bars(rows: list[tuple[str, list[tuple[str, int, str]]]]) -> Chart:
    """One bar per row, as long as the row's total on a scale shared by every row, split into its
    (series, value, css_class) shares; zero shares are not drawn. The total is printed after the bar."""
    totals = [sum(value for _, value, _ in segments) for _, segments in rows]
    length = _scale(max(totals, default=0), BAR_SPAN)
    chart = Chart(height=ROW_HEIGHT * len(rows))
    for row, ((label, segments), total) in enumerate(zip(rows, totals)):
        y = row * ROW_HEIGHT
        chart.labels.append(Label(0, y + LABEL_BASELINE, _shorten(label)))
        chart.labels.append(Label(length(total), y + BAR_TOP + BAR_THICKNESS - 4, format_number(total),
                                  css_class="chart-value", dx=VALUE_GAP))
        x = 0.0
        for series, value, css_class in segments:
            if not value:
                continue
            share = value / total
            chart.bars.append(Bar(
                x, y + BAR_TOP, length(value), BAR_THICKNESS, value, label,
                f"{label}, {series}: {value} ({share:.0%})", css_class, series,
            ))
            x += length(value)
    return chart
