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
    # One scale for every status: the funnel's and declined and duplicates' bars alike.
    per_idea = funnel[0]["width"] / funnel[0]["value"]
    assert all(bar["width"] == pytest.approx(bar["value"] * per_idea, abs=1)
               for bar in funnel + _bars(page, "chart-closed"))

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
    # Every category's bar is as long as its number of ideas, on one scale, split by status.
    lengths = {}
    for bar in stacked:
        lengths[bar["label"]] = lengths.get(bar["label"], 0) + bar["width"]
    per_idea = lengths["Support & services"] / categories["Support & services"][-1]
    assert all(length == pytest.approx(categories[name][-1] * per_idea, abs=1.5) for name, length in lengths.items())
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
    # The charts span the content's width, and their text is drawn at 14 px or more.
    content = page.locator("main").evaluate("el => el.querySelector('h1').getBoundingClientRect().width")
    assert page.locator("#chart-funnel").bounding_box()["width"] >= content - 2
    sizes = page.evaluate("[...document.querySelectorAll('.chart-svg text')].map(t => parseFloat(getComputedStyle(t).fontSize))")
    assert sizes and min(sizes) >= 14
    # The tables are collapsed under their charts, one click away.
    expect(page.locator("#table-funnel")).to_be_hidden()
    page.locator("#chart-funnel").locator("xpath=../following-sibling::details[1]/summary").click()
    expect(page.locator("#table-funnel")).to_be_visible()


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_a_phone_reads_the_charts_without_scrolling_sideways(new_context, dataset, scheme):  # noqa: F811
    page = new_context(color_scheme=scheme, viewport={"width": 390, "height": 844}).new_page()
    page.goto("/stats")
    expect(page.locator("#chart-categories")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    for chart_id in CHARTS:
        box = page.locator(f"#{chart_id}").bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= 390, chart_id
        # Every label drawn stays inside its chart, at a readable size.
        texts = page.locator(f"#{chart_id}").evaluate("""svg => {
            const frame = svg.getBoundingClientRect();
            return [...svg.querySelectorAll('text')].filter(t => getComputedStyle(t).display !== 'none').map(t => {
                const box = t.getBoundingClientRect();
                return {left: box.left - frame.left, right: frame.right - box.right, size: parseFloat(getComputedStyle(t).fontSize)};
            });
        }""")
        assert texts, chart_id
        assert all(t["left"] >= -0.5 and t["right"] >= -0.5 and t["size"] >= 14 for t in texts), (chart_id, texts)
    # Only staff see when the figures were computed.
    expect(page.locator(".stats-computed")).to_have_count(0)
