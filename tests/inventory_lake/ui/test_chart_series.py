"""Daily lines and net quantities per source and location of one shop, from its facts
partitions on the S3 server; days without a complete partition, many locations folded into
"other", and another shop's facts kept out."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from include.inventory_lake.lake.location import LakeRoot, Partition
from include.inventory_lake.push.layout import PushLake
from include.inventory_lake.settings import FACTS_LINES_PATH
from include.inventory_lake.shops import DEFAULT_SHOP_ID
from include.inventory_lake.ui.chart_series import OTHER_LOCATIONS, facts_series
from tests.inventory_lake.ui.lake_content import fact_line, write_facts

DAYS = [date(2026, 1, 8), date(2026, 1, 9), date(2026, 1, 10)]


def test_lines_and_quantities_per_day_source_and_location(s3: Any, root: LakeRoot) -> None:
    write_facts(
        s3,
        root,
        DAYS[0],
        [
            fact_line("haravan", 100, -3, 1),
            fact_line("haravan", 100, 5, 2),
            fact_line("haravan", 200, 1, 3),
            fact_line("stocky", 11, -2, 4),
            fact_line("stocky", None, 4, 5),  # an item whose adjustment was not found
        ],
    )
    write_facts(s3, root, DAYS[2], [fact_line("haravan", 100, -10, 6)])
    # 01-09 has a data file but no marker: it is not read (it may be half-written).
    write_facts(s3, root, DAYS[1], [fact_line("haravan", 100, 999, 7)])
    partition = Partition(root, FACTS_LINES_PATH, DEFAULT_SHOP_ID, DAYS[1])
    s3.delete_object(Bucket=root.bucket, Key=partition.marker_key)

    chart = facts_series(PushLake(s3, root), DEFAULT_SHOP_ID, DAYS)

    assert chart.days == tuple(DAYS) and chart.shop == DEFAULT_SHOP_ID
    assert chart.days_without_facts == (DAYS[1],)
    got = {(s.source, s.location_id): (s.lines, s.quantity) for s in chart.series}
    assert got == {
        ("haravan", 100): ((2, 0, 1), (2, 0, -10)),
        ("haravan", 200): ((1, 0, 0), (1, 0, 0)),
        ("stocky", 11): ((1, 0, 0), (-2, 0, 0)),
        ("stocky", None): ((1, 0, 0), (4, 0, 0)),
    }
    labels = [s.label for s in chart.series]
    assert labels == [
        "haravan · location 100",
        "haravan · location 200",
        "stocky · location 11",
        "stocky · no location",
    ]


def test_quiet_locations_are_summed_per_source_beyond_the_series_limit(
    s3: Any, root: LakeRoot
) -> None:
    lines = []
    line_id = 0
    for location in range(1, 7):  # location n has n lines of quantity 1
        for _ in range(location):
            line_id += 1
            lines.append(fact_line("haravan", location, 1, line_id))
    line_id += 1
    lines.append(fact_line("stocky", 50, 3, line_id))
    write_facts(s3, root, DAYS[0], lines)

    chart = facts_series(PushLake(s3, root), DEFAULT_SHOP_ID, DAYS[:1], max_series=5)

    got = {(s.source, s.location_id): (s.lines, s.quantity) for s in chart.series}
    # 5 series at most, one "other" kept per source: the 3 busiest locations stay.
    assert got == {
        ("haravan", 6): ((6,), (6,)),
        ("haravan", 5): ((5,), (5,)),
        ("haravan", 4): ((4,), (4,)),
        ("haravan", OTHER_LOCATIONS): ((6,), (6,)),
        ("stocky", 50): ((1,), (3,)),
    }
    assert sum(s.total_lines for s in chart.series) == len(lines)
    assert "haravan · other locations" in [s.label for s in chart.series]


def test_each_shop_has_its_own_series(s3: Any, root: LakeRoot) -> None:
    write_facts(s3, root, DAYS[0], [fact_line("haravan", 100, 2, 1)])
    write_facts(s3, root, DAYS[0], [fact_line("haravan", 300, -5, 1)], shop="saigon")
    write_facts(s3, root, DAYS[1], [fact_line("stocky", 7, 1, 2)], shop="saigon")

    default = facts_series(PushLake(s3, root), DEFAULT_SHOP_ID, DAYS[:2])
    saigon = facts_series(PushLake(s3, root), "saigon", DAYS[:2])

    assert {(s.source, s.location_id): s.lines for s in default.series} == {
        ("haravan", 100): (1, 0)
    }
    assert default.days_without_facts == (DAYS[1],)
    assert {(s.source, s.location_id): (s.lines, s.quantity) for s in saigon.series} == {
        ("haravan", 300): ((1, 0), (-5, 0)),
        ("stocky", 7): ((0, 1), (0, 1)),
    }
    assert saigon.days_without_facts == () and saigon.shop == "saigon"


def test_an_empty_lake_gives_no_series(s3: Any, root: LakeRoot) -> None:
    chart = facts_series(
        PushLake(s3, root), DEFAULT_SHOP_ID, [DAYS[0] + timedelta(days=n) for n in range(3)]
    )
    assert chart.series == ()
    assert len(chart.days_without_facts) == 3
