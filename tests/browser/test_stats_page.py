"""/stats in Chromium: the charts are drawn, and their bars say what the tables say."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.test_stats import dataset  # noqa: F401  (the known dataset, a fixture)

pytestmark = pytest.mark.browser

CHARTS = ["chart-funnel", "chart-closed", "chart-ideas", "chart-votes", "chart-categories"]

READ_BARS = """svg => [...svg.querySelectorAll('rect.chart-bar')].map(bar => {
    const box = bar.getBoundingClientRect();
    return {label: bar.dataset.label, series: bar.dataset.series || '', value: Number(bar.dataset.value),
            title: bar.querySelector('title').textContent, width: box.width, height: box.height,
            fill: getComputedStyle(bar).fill};
})"""
READ_ROWS = """table => [...table.querySelectorAll('tbody tr')].map(row =>
    [row.querySelector('th').textContent.trim(), ...[...row.querySelectorAll('td')].map(td => Number(td.textContent))])"""


def _bars(page, chart_id):
    return page.locator(f"#{chart_id}").evaluate(READ_BARS)


def _rows(page, table_id):
    return {row[0]: row[1:] for row in page.locator(f"#{table_id}").evaluate(READ_ROWS)}


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_charts_render_and_match_the_tables(new_context, dataset, scheme):  # noqa: F811
    page = new_context(color_scheme=scheme).new_page()
    page.goto("/stats")
    expect(page.get_by_role("heading", level=1, name="Stats")).to_be_visible()

    for chart_id in CHARTS:
        chart = page.locator(f"#{chart_id}")
        expect(chart).to_be_visible()
        expect(chart).to_have_attribute("role", "img")
        box = chart.bounding_box()
        assert box["width"] > 100 and box["height"] > 20, chart_id
        for bar in _bars(page, chart_id):
            if bar["value"] > 0:
                assert bar["width"] > 0 and bar["height"] > 0, (chart_id, bar)
            assert bar["title"].endswith(str(bar["value"])) or f": {bar['value']} (" in bar["title"]

    for chart_id, table_id in [("chart-funnel", "table-funnel"), ("chart-closed", "table-closed")]:
        bars = {bar["label"]: bar["value"] for bar in _bars(page, chart_id)}
        assert bars == {label: values[0] for label, values in _rows(page, table_id).items()}
    funnel = _bars(page, "chart-funnel")
    assert [bar["value"] for bar in funnel] == [8, 4, 3, 2, 1]
    per_idea = funnel[0]["width"] / funnel[0]["value"]
    assert all(bar["width"] == pytest.approx(bar["value"] * per_idea, abs=1) for bar in funnel)

    activity = _rows(page, "table-activity")
    assert len(activity) == 12
    for column, chart_id in enumerate(["chart-ideas", "chart-votes"]):
        bars = _bars(page, chart_id)
        assert {bar["label"]: bar["value"] for bar in bars} == {month: row[column] for month, row in activity.items()}
        tallest = max(bars, key=lambda bar: bar["value"])
        assert all(bar["height"] == pytest.approx(bar["value"] / tallest["value"] * tallest["height"], abs=1)
                   for bar in bars)

    statuses = page.locator("#table-categories thead th").all_text_contents()[1:-1]
    categories = _rows(page, "table-categories")
    expected = {(name, status): n for name, row in categories.items()
                for status, n in zip(statuses, row[:-1]) if n}
    stacked = _bars(page, "chart-categories")
    assert {(bar["label"], bar["series"]): bar["value"] for bar in stacked} == expected
    # Every category's bar has the same length, split in proportion to its counts.
    lengths = {}
    for bar in stacked:
        lengths[bar["label"]] = lengths.get(bar["label"], 0) + bar["width"]
    assert max(lengths.values()) - min(lengths.values()) < 2
    # Each status has a color of its own, the same in the chart and the legend.
    fills = {bar["series"]: bar["fill"] for bar in stacked}
    assert len(set(fills.values())) == len(fills)
    swatch = page.locator(".chart-legend .chart-status-implemented")
    assert swatch.evaluate("el => getComputedStyle(el).backgroundColor") == fills["Implemented"]

    expect(page.locator("#median-answer")).to_have_text("1 day, 12 hours")
    # Labels are drawn in the page's text color, whichever theme is on.
    label_fill = page.locator("#chart-funnel text").first.evaluate("el => getComputedStyle(el).fill")
    body_color = page.locator("body").evaluate("el => getComputedStyle(el).color")
    assert label_fill == body_color
