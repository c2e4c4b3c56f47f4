"""A Stocky adjustment that lands the day after its items (its `updated_at` follows theirs):
the later extract brings it into the lake's index and names the earlier day in its asset
events, and the facts run those events trigger rebuilds that day with location and reason."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest

from include.inventory_lake import assets
from include.inventory_lake.lake import stocky_index
from include.inventory_lake.lake.location import LakeRoot, ShopLake
from include.inventory_lake.lake.stocky_index import read_index
from include.inventory_lake.settings import FACTS_LINES_PATH
from tests.airflow_runs import (
    asset_events,
    interval_end,
    prepare_run,
    retry_task,
    run_dag,
    run_id_at,
)
from tests.inventory_lake.facts.dag_runs import (
    create_asset_triggered_run,
    extract,
    run_existing,
    run_manual,
    start_listening,
    task_states,
)
from tests.lake_reads import read_marker, read_partition
from tests.servers import Emulator, S3Server, late_adjustments, truth, utc_day

FACTS_DAG = "inventory_adjustment_facts"
EXTRACT_DAG, EXTRACT_TASK = "stocky_adjustments_extract", "extract_adjustments_and_items"


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
    late = late_adjustments(emulator)
    day, late_items, adjustments = late.day, late.items, late.adjustments
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
    items = truth(emulator, "stocky/stock_adjustment_items")
    adjustments = {a["id"]: a for a in truth(emulator, "stocky/stock_adjustments")}
    d1 = date(2026, 1, 7)
    d0, d2 = d1 - timedelta(days=1), d1 + timedelta(days=1)
    adjustment_id = next(i for i in items if utc_day(i["updated_at"]) == d1)["stock_adjustment_id"]
    d1_items = {
        i["id"]
        for i in items
        if i["stock_adjustment_id"] == adjustment_id and utc_day(i["updated_at"]) == d1
    }
    old = adjustments[adjustment_id]["location"]
    new = next(
        location
        for location in emulator.admin_get("catalog")["locations"]
        if location["stocky_id"] != old["id"]
    )

    def move(moved_id: int, location_id: int, day: date) -> None:
        change = {"id": moved_id, "location_id": location_id, "updated_at": f"{day}T12:00Z"}
        emulator.admin_post("stocky/move", change)

    move(adjustment_id, old["id"], d0)  # A's version in the lake: d0's, at its location
    # d1's other adjustments that would land on d2 land on d1: only A asks d1 to rebuild.
    for other in {i["stock_adjustment_id"] for i in items if utc_day(i["updated_at"]) == d1}:
        if utc_day(adjustments[other]["updated_at"]) == d2 and other != adjustment_id:
            move(other, adjustments[other]["location"]["id"], d1)
    extract(d0)
    extract(d1)
    first = run_manual(FACTS_DAG, d1)
    assert first.state == "success", task_states(first)
    built = facts_rows(s3, d1)
    assert {built[item_id]["location_id"] for item_id in d1_items} == {old["id"]}

    move(adjustment_id, new["stocky_id"], d2)
    start_listening(FACTS_DAG)
    extract(d2)
    for asset in (assets.STOCKY_ADJUSTMENTS_RAW, assets.STOCKY_ITEMS_RAW):
        assert d1.isoformat() in asset_events(asset.name)[-1][assets.FACTS_REBUILD_DTS]
    later = run_existing(FACTS_DAG, create_asset_triggered_run(FACTS_DAG))
    assert later.state == "success", task_states(later)
    assert d1.isoformat() in built_days(later)

    lines = [
        row
        for day in built_days(later)
        for row in facts_rows(s3, date.fromisoformat(day)).values()
        if row["adjustment_id"] == adjustment_id
    ]
    assert d1_items <= {row["line_id"] for row in lines}
    stale = [
        row["line_id"]
        for row in lines
        if (row["location_id"], row["location_shopify_id"]) != (new["stocky_id"], new["shopify_id"])
    ]
    assert stale == [], "facts lines with a stale location after a move"


def crash_after_the_index_write(monkeypatch: pytest.MonkeyPatch) -> None:
    """The index is written, then the task dies before it names its events."""
    from include.inventory_lake.extract import tasks

    def written_then_crash(*args: Any, **kwargs: Any) -> Any:
        stocky_index.update_index(*args, **kwargs)
        raise RuntimeError("crashed after writing the index")

    monkeypatch.setattr(tasks, "update_index", written_then_crash)


def crash_before_the_events_are_recorded(monkeypatch: pytest.MonkeyPatch) -> None:
    """The task body returned with its events; they never reach Airflow's database."""
    from airflow.sdk.execution_time import task_runner

    def crash(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("crashed before the asset events were recorded")

    monkeypatch.setattr(task_runner, "_handle_current_task_success", crash)


CRASH_POINTS = {
    "after the index write": crash_after_the_index_write,
    "before the events are recorded": crash_before_the_events_are_recorded,
}


@pytest.mark.parametrize("point", list(CRASH_POINTS))
def test_a_crash_between_the_index_write_and_the_events_still_rebuilds_the_waiting_day(
    world: tuple[Emulator, S3Server], monkeypatch: pytest.MonkeyPatch, point: str
) -> None:
    """Fails when the merge forgets the waiting day as it writes the index: the retry finds
    the adjustment known and asks for nothing, and the day keeps adjustment_missing."""
    emulator, s3 = world
    late = late_adjustments(emulator)
    day, next_day = late.day, late.day + timedelta(days=1)
    extract(day)
    assert run_manual(FACTS_DAG, day).state == "success"
    assert all(facts_rows(s3, day)[item_id]["adjustment_missing"] for item_id in late.items)

    start_listening(FACTS_DAG)
    prepare_run(EXTRACT_DAG, EXTRACT_TASK, next_day)
    run_id = run_id_at(EXTRACT_DAG, interval_end(next_day))
    events_before = len(asset_events(assets.STOCKY_ITEMS_RAW.name))
    with monkeypatch.context() as crashing:
        CRASH_POINTS[point](crashing)
        assert retry_task(EXTRACT_DAG, EXTRACT_TASK, run_id, map_index=0) != "success"
    index = read_index(s3.lake(), ShopLake(LakeRoot(s3.bucket), "default"))
    known = set(index.known().column("id").to_pylist())
    assert {item["stock_adjustment_id"] for item in late.items.values()} <= known, "written"
    assert len(asset_events(assets.STOCKY_ITEMS_RAW.name)) == events_before, "none recorded"

    assert retry_task(EXTRACT_DAG, EXTRACT_TASK, run_id, map_index=0) == "success"
    for asset in (assets.STOCKY_ADJUSTMENTS_RAW, assets.STOCKY_ITEMS_RAW):
        event = asset_events(asset.name)[-1]
        assert event["dt"] == next_day.isoformat()
        assert event[assets.FACTS_REBUILD_DTS] == [day.isoformat()], event
    rebuild = run_existing(FACTS_DAG, create_asset_triggered_run(FACTS_DAG))
    assert rebuild.state == "success", task_states(rebuild)
    assert built_days(rebuild) == [day.isoformat(), next_day.isoformat()]
    after = facts_rows(s3, day)
    assert [i for i in late.items if after[i]["adjustment_missing"]] == [], point
    index = read_index(s3.lake(), ShopLake(LakeRoot(s3.bucket), "default"))
    requests = index.table.column("rebuild_dts").to_pylist()
    assert [day for days in requests for day in days or []] == [], "cleared once rebuilt"
