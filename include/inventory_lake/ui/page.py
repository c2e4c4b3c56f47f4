"""The page: gather what the lake holds for a window of days and every shop, then render it as
HTML.

Rendering uses Jinja2 with autoescaping on, so text from the lake and the configuration (file
names, report cells, notes, shop ids) is always shown as text, never run as markup; a shop id in
a link is URL-encoded as well.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import cache, partial
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlencode

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup, escape

from include.inventory_lake.push.layout import PushLake
from include.inventory_lake.ui.chart_series import ChartData, facts_series
from include.inventory_lake.ui.lake_status import (
    DatasetStatus,
    LakeShop,
    ShopStatus,
    audit_status,
    daily_specs,
    lake_shops,
    lake_status,
    shops_in_lake,
)
from include.inventory_lake.ui.lake_status import newest_partition_day as newest_day
from include.inventory_lake.ui.push_batches import PushOverview, push_overview
from include.inventory_lake.ui.shop_config import ShopConfig
from include.inventory_lake.ui.svg_chart import Line, color, line_chart
from include.inventory_lake.ui.table_snapshots import TableSnapshots
from include.inventory_lake.ui.window import DEFAULT_DAYS, MAX_DAYS, DayWindow, default_end

if TYPE_CHECKING:
    pass

TEMPLATES = Path(__file__).parent / "templates"
NO_VALUE = "\N{EN DASH}"


@dataclass(frozen=True)
class PageData:
    lake_uri: str
    window: DayWindow
    end_was_given: bool
    newest_partition: date | None
    # Per shop (configured ones first, then those only the lake has), its daily datasets.
    shops: list[ShopStatus]
    # Why the shops configuration was not used (then every shop found in the lake is shown).
    shops_problem: str | None
    # The push audit: one for the whole lake.
    audit: list[DatasetStatus]
    chart: ChartData
    # The `shop` asked for, when it is known (links on the page keep it).
    shop_param: str | None
    # A `shop` asked for that is neither configured nor in the lake.
    unknown_chart_shop: str | None
    push: PushOverview
    generated_at: datetime
    # The facts table's latest commits (None: not read).
    table_snapshots: TableSnapshots | None = None

    @property
    def shop_ids(self) -> list[str]:
        return [status.shop.id for status in self.shops]


def chart_shop(shops: Sequence[LakeShop], wanted: str | None) -> str | None:
    """The shop the chart shows: the one asked for when it is known, else the first shop."""
    ids = [shop.id for shop in shops]
    if wanted in ids:
        return wanted
    return ids[0] if ids else None


def gather(
    lake: PushLake,
    *,
    end: date | None,
    days: int,
    shop_config: ShopConfig,
    shop: str | None = None,
    today: date | None = None,
    table_snapshots: TableSnapshots | None = None,
) -> PageData:
    daily = daily_specs()
    shops = lake_shops(shop_config.shops, shops_in_lake(lake, daily))
    in_lake = [lake_shop.id for lake_shop in shops if lake_shop.in_lake]
    newest = newest_day(lake, daily, in_lake)
    window = DayWindow(end or default_end(today or datetime.now(UTC).date(), newest), days)
    charted = chart_shop(shops, shop)
    chart = (
        facts_series(lake, charted, window.days)
        if charted is not None
        else ChartData(tuple(window.days), (), tuple(window.days))
    )
    return PageData(
        lake_uri=lake.root.uri(),
        window=window,
        end_was_given=end is not None,
        newest_partition=newest,
        shops=lake_status(lake, window, shops),
        shops_problem=shop_config.problem,
        audit=audit_status(lake, window),
        chart=chart,
        shop_param=shop if shop and shop == charted else None,
        unknown_chart_shop=shop if shop and shop != charted else None,
        push=push_overview(lake),
        generated_at=datetime.now(UTC),
        table_snapshots=table_snapshots,
    )


def page_link(data: PageData, *, end: date | None = None, shop: str | None = None) -> str:
    """A query string for this page: the window and chart shop shown, with some changed."""
    params: dict[str, str] = {}
    end = end or (data.window.end if data.end_was_given else None)
    if end is not None:
        params["end"] = end.isoformat()
    params["days"] = str(data.window.length)
    shop = shop or data.shop_param
    if shop:
        params["shop"] = shop
    return "?" + urlencode(params)


def human_size(size: int | None) -> str:
    if size is None:
        return NO_VALUE
    value = float(size)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:,.0f} {unit}" if unit == "B" else f"{value:,.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


def when(value: object) -> str:
    """A time in UTC; a value that is not a time (a hand-edited ledger) is shown as it is."""
    if value is None or value == "":
        return NO_VALUE
    try:
        moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    except ValueError:
        return str(value)
    if not isinstance(moment, datetime):
        return str(value)
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")


def day_ranges(days: Sequence[date]) -> str:
    """Days as runs of consecutive days: "2026-01-05, 2026-01-09 to 2026-01-12"."""
    runs: list[list[date]] = []
    for day in sorted(days):
        if runs and day - runs[-1][-1] == timedelta(days=1):
            runs[-1].append(day)
        else:
            runs.append([day])
    return ", ".join(str(run[0]) if len(run) == 1 else f"{run[0]} to {run[-1]}" for run in runs)


def number(value: int | None) -> str:
    return NO_VALUE if value is None else f"{value:,}"


def charts(chart: ChartData) -> dict[str, Markup]:
    missing = set(chart.days_without_facts)

    def values(series: tuple[int, ...]) -> list[int | None]:
        return [None if day in missing else v for day, v in zip(chart.days, series, strict=True)]

    def lines(metric: str) -> list[Line]:
        return [
            Line(s.label, values(getattr(s, metric)), color(index))
            for index, s in enumerate(chart.series)
        ]

    return {
        "lines": line_chart("Adjustment lines per day", chart.days, lines("lines")),
        "quantity": line_chart("Net quantity per day", chart.days, lines("quantity")),
    }


@cache
def _environment() -> Environment:
    environment = Environment(
        loader=FileSystemLoader(TEMPLATES), autoescape=True, undefined=StrictUndefined
    )
    environment.filters.update(size=human_size, when=when, number=number, days=day_ranges)
    environment.globals.update(color=color)
    return environment


def render(data: PageData, query_errors: Mapping[str, str] | None = None) -> str:
    """The page; `query_errors` (by query field) are shown next to the form's fields."""
    template = _environment().get_template("page.html.j2")
    return template.render(
        data=data,
        query_errors=query_errors or {},
        link=partial(page_link, data),
        charts=charts(data.chart) if data.chart.series else None,
        max_days=MAX_DAYS,
        default_days=DEFAULT_DAYS,
    )


def error_page(error_type: str) -> str:
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'><title>Inventory lake</title>"
        "</head><body style='font: 14px system-ui, sans-serif; padding: 24px'>"
        "<h1>Inventory lake</h1><p>The lake could not be read "
        f"(<code>{escape(error_type)}</code>). Check the <code>aws_default</code> connection "
        "and the <code>inventory_lake_uri</code> variable; the API server log has the details."
        "</p></body></html>"
    )
