"""/stats: the funnel and activity over time, as charts and tables."""

from __future__ import annotations

from datetime import date, timedelta

from flask import Blueprint
from flask_babel import format_date, ngettext, pgettext
from flask_babel import gettext as _

from ..cache import cached
from ..i18n import status_label
from ..web import render
from . import charts
from .services import FunnelStage, Stats, compute_stats

bp = Blueprint("stats", __name__)


def stage_label(status: str) -> str:
    """A funnel stage's name: the first stage is every submitted idea."""
    return pgettext("funnel stage", "Submitted") if status == "new" else status_label(status)


def stage_rows(stages: list[FunnelStage]) -> list[tuple[str, int]]:
    return [(stage_label(s.status), s.count) for s in stages]


def month_label(month: date) -> str:
    return format_date(month, "MMM yyyy")


def short_month(month: date) -> str:
    return format_date(month, "MMM yy")


def duration(value: timedelta) -> str:
    """'2 days, 3 hours' (minutes only under a day), rounded down to the minute."""
    minutes = int(value.total_seconds()) // 60
    days, hours, minutes = minutes // 1440, minutes % 1440 // 60, minutes % 60
    parts = [ngettext("%(num)d day", "%(num)d days", days)] if days else []
    if hours:
        parts.append(ngettext("%(num)d hour", "%(num)d hours", hours))
    if not days and (minutes or not hours):
        parts.append(ngettext("%(num)d minute", "%(num)d minutes", minutes))
    return ", ".join(parts)


def build_charts(stats: Stats) -> dict[str, charts.Chart]:
    def stages(items: list[FunnelStage]):
        return [(label, count, f"chart-status-{s.status}") for s, (label, count) in zip(items, stage_rows(items))]

    def months(attribute: str):
        return [(month_label(m.month), getattr(m, attribute), short_month(m.month)) for m in stats.months]

    # Declined and duplicates are drawn on the funnel's scale: every status is compared with the same bar.
    top = max(s.count for s in (*stats.funnel, *stats.out_of_funnel))
    return {
        "funnel": charts.horizontal_bars(stages(stats.funnel), top=top),
        "out_of_funnel": charts.horizontal_bars(stages(stats.out_of_funnel), top=top),
        "ideas": charts.vertical_bars(months("ideas"), "chart-ideas"),
        "votes": charts.vertical_bars(months("votes"), "chart-votes"),
        "categories": charts.stacked_bars([
            (c.label or _("No category"), [(status_label(s), n, f"chart-status-{s}") for s, n in c.counts.items()])
            for c in stats.categories
        ]),
    }


@bp.get("/stats")
def index():
    result = cached("stats", compute_stats)
    return render(
        "stats/index.html", stats=result.value, computed_at=result.computed_at, charts=build_charts(result.value),
        stage_rows=stage_rows, month_label=month_label, duration=duration,
    )
