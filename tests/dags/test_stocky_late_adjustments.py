"""A Stocky adjustment that lands the day after its items (its `updated_at` follows theirs):
the later extract brings it into the lake's index and names the earlier day in its asset
events, and the facts run those events trigger rebuilds that day with location and reason."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta
from typing import Any

from include.inventory_lake import assets
from include.inventory_lake.settings import FACTS_LINES_PATH
from tests.airflow_runs import asset_events, run_dag
from tests.inventory_lake.facts.dag_runs import (
    create_asset_triggered_run,
    extract,
    run_existing,
    run_manual,
    start_listening,
    task_states,
)
from tests.lake_reads import read_marker, read_partition
from tests.servers import Emulator, S3Server, truth

FACTS_DAG = "inventory_adjustment_facts"


def day_of(timestamp: str) -> date:
    return datetime.fromisoformat(timestamp).astimezone(UTC).date()


def built_days(run: Any) -> list[str]:
    """The days a facts run built (its partition keys are `default|<day>`)."""
    keys = [ti.rendered_map_index for ti in run.get_task_instances() if ti.map_index >= 0]
    assert all(key.startswith("default|") for key in keys), keys
    return [key.removeprefix("default|") for key in keys]


def facts_rows(s3: S3Server, day: date) -> dict[int, dict[str, Any]]:
    table = read_partition(s3, FACTS_LINES_PATH, day)
    return {row["line_id"]: row for row in table.to_pylist() if row["source"] == "stocky"}


def test_an_adjustment_landing_the_next_day_completes_the_facts_of_its_items_day(
    world: tuple[Emulator, S3Server],
) -> None:
    emulator, s3 = world
    adjustments = {a["id"]: a for a in truth(emulator, "stocky/stock_adjustments")}
    late = [
        item
        for item in truth(emulator, "stocky/stock_adjustment_items")
        if day_of(adjustments[item["stock_adjustment_id"]]["updated_at"])
        == day_of(item["updated_at"]) + timedelta(days=1)
    ]
    assert late, "the demo data has items whose adjustment changes the next day"
    day = Counter(day_of(item["updated_at"]) for item in late).most_common(1)[0][0]
    late_items = {item["id"]: item for item in late if day_of(item["updated_at"]) == day}
    next_day = day + timedelta(days=1)

    start_listening(FACTS_DAG)
    extract(day)
    first = run_existing(FACTS_DAG, create_asset_triggered_run(FACTS_DAG))
    assert first.state == "success" and built_days(first) == [day.isoformat()], task_states(first)
    before = facts_rows(s3, day)
    assert all(before[item_id]["adjustment_missing"] for item_id in late_items)
    assert all(before[item_id]["location_id"] is None for item_id in late_items)
    missing_before = read_marker(s3, FACTS_LINES_PATH, day)["sources"]["stocky"][
        "adjustment_missing"
    ]

    extract(next_day)
    for asset in (assets.STOCKY_ADJUSTMENTS_RAW, assets.STOCKY_ITEMS_RAW):
        event = asset_events(asset.name)[-1]
        assert event["dt"] == next_day.isoformat() and {"uri", "rows"} <= event.keys()
        assert event[assets.FACTS_REBUILD_DTS] == [day.isoformat()], event
    later = run_existing(FACTS_DAG, create_asset_triggered_run(FACTS_DAG))
    assert later.state == "success", task_states(later)
    assert built_days(later) == [day.isoformat(), next_day.isoformat()]

    after = facts_rows(s3, day)
    for item_id, item in late_items.items():
        adjustment = adjustments[item["stock_adjustment_id"]]
        row = after[item_id]
        reason = adjustment["stock_adjustment_reason"]
        assert row["adjustment_missing"] is False, item_id
        assert row["location_id"] == adjustment["location"]["id"]
        assert row["location_shopify_id"] == adjustment["location"]["shopify_id"]
        assert row["reason"] == (reason["reason"] if reason else None)
        assert row["adjustment_number"] == str(adjustment["sequential_id"])
    stocky_source = read_marker(s3, FACTS_LINES_PATH, day)["sources"]["stocky"]
    assert stocky_source["adjustment_missing"] == missing_before - len(late_items)
    assert stocky_source["adjustment_from_index"] >= len(late_items)


def facts_dag_is_due() -> bool:
    """What the scheduler asks on its loop: does the facts DAG need an asset-triggered run?"""
    from airflow.models.dag import DagModel
    from airflow.utils.session import create_session

    with create_session() as session:
        _, triggered = DagModel.dags_needing_dagruns(session)
        return FACTS_DAG in triggered


def test_a_stocky_re_extract_alone_starts_the_rebuild_of_its_day(
    world: tuple[Emulator, S3Server],
) -> None:
    """A day's facts are rebuilt when one of its sources is re-extracted: Stocky's events alone
    make the facts DAG due, without waiting for a Haravan event."""
    _, s3 = world
    day = date(2026, 1, 9)
    extract(day)
    start_listening(FACTS_DAG)
    assert not facts_dag_is_due()

    run_dag("stocky_adjustments_extract", day)

    assert facts_dag_is_due(), "the Stocky events alone are enough"
    run = run_existing(FACTS_DAG, create_asset_triggered_run(FACTS_DAG))
    assert run.state == "success" and built_days(run) == [day.isoformat()], task_states(run)
    marker = read_marker(s3, FACTS_LINES_PATH, day)
    assert marker["run_id"] == run.run_id, "the day was rebuilt by that run"


def test_an_adjustment_moved_after_its_items_facts_were_built_rebuilds_them_at_its_new_location(
    world: tuple[Emulator, S3Server],
) -> None:
    """Adjustment A is at location `old` on d0, items of d1 reference it, d1's facts are built;
    A moves to `new` on d2. Fails with an index that only asks for the days that awaited an
    adjustment: d1's facts keep `old`, and nothing asks for their rebuild."""
    emulator, s3 = world
    d1 = date(2026, 1, 7)
    d0, d2 = d1 - timedelta(days=1), d1 + timedelta(days=1)
    items = truth(emulator, "stocky/stock_adjustment_items")
    adjustment_id = next(i for i in items if day_of(i["updated_at"]) == d1)["stock_adjustment_id"]
    d1_items = {
        i["id"]
        for i in items
        if i["stock_adjustment_id"] == adjustment_id and day_of(i["updated_at"]) == d1
    }
    adjustment = next(
        a for a in truth(emulator, "stocky/stock_adjustments") if a["id"] == adjustment_id
    )
    old = adjustment["location"]
    new = next(
        location
        for location in emulator.admin_get("catalog")["locations"]
        if location["stocky_id"] != old["id"]
    )

    def move(location_id: int, day: date) -> None:
        change = {"id": adjustment_id, "location_id": location_id, "updated_at": f"{day}T12:00Z"}
        emulator.admin_post("stocky/move", change)

    move(old["id"], d0)  # A's version in the lake: d0's, at its location
    extract(d0)
    extract(d1)
    first = run_manual(FACTS_DAG, d1)
    assert first.state == "success", task_states(first)
    built = facts_rows(s3, d1)
    assert {built[item_id]["location_id"] for item_id in d1_items} == {old["id"]}

    move(new["stocky_id"], d2)
    start_listening(FACTS_DAG)
    extract(d2)
    for asset in (assets.STOCKY_ADJUSTMENTS_RAW, assets.STOCKY_ITEMS_RAW):
        assert d1.isoformat() in asset_events(asset.name)[-1][assets.FACTS_REBUILD_DTS]
    later = run_existing(FACTS_DAG, create_asset_triggered_run(FACTS_DAG))
    assert later.state == "success", task_states(later)
    assert d1.isoformat() in built_days(later)

    lines = [
        row
        for day in (d0, d1, d2)
        for row in facts_rows(s3, day).values()
        if row["adjustment_id"] == adjustment_id
    ]
    assert d1_items <= {row["line_id"] for row in lines}
    stale = [
        row["line_id"]
        for row in lines
        if (row["location_id"], row["location_shopify_id"]) != (new["stocky_id"], new["shopify_id"])
    ]
    assert stale == [], "facts lines with a stale location after a move"
