"""Several shops in one deployment (`shop_world`): `hanoi` and `saigon` on their own APIs with
their own data, `danang` with a token Haravan refuses. Run through Airflow (dag.test) against
the emulators and the S3 server."""

from __future__ import annotations

from datetime import date
from typing import Any

from include.inventory_lake.schemas import facts
from include.inventory_lake.settings import (
    FACTS_LINES_PATH,
    HARAVAN_ADJUSTMENTS_PATH,
    STOCKY_ITEMS_PATH,
)
from tests.airflow_runs import asset_events, run_dag
from tests.conftest import ShopWorld
from tests.inventory_lake.facts.dag_runs import (
    complete_backfills,
    create_backfill,
    run_existing,
    run_manual,
    start_queued_runs,
    sync_dags,
)
from tests.lake_reads import partition_prefix, read_marker, read_partition
from tests.servers import Emulator, S3Server, on_day, truth

HARAVAN = "haravan_adjustments_extract"
STOCKY = "stocky_adjustments_extract"
FACTS = "inventory_adjustment_facts"
DAY = date(2026, 1, 10)


def states_by_shop(dag_id: str, run_id: str, task_id: str) -> dict[str, str]:
    """The state of each per-shop instance of a task, by its name in the UI (the shop id)."""
    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        instances = session.scalars(
            select(TaskInstance).where(
                TaskInstance.dag_id == dag_id,
                TaskInstance.run_id == run_id,
                TaskInstance.task_id == task_id,
            )
        ).all()
        return {str(ti.rendered_map_index): str(ti.state) for ti in instances}


def created_ids(world: ShopWorld, shop: str, day: date) -> list[int]:
    emulator = world.hanoi if shop == "hanoi" else world.saigon
    records = on_day(truth(emulator, "haravan/adjustments"), "created_at", day)
    return sorted(record["id"] for record in records)


def test_each_shop_lands_its_own_data_and_a_refused_shop_fails_alone(
    shop_world: ShopWorld,
) -> None:
    s3 = shop_world.s3
    # danang's partition of the day from an earlier run: a failed run must leave it as it was.
    earlier = partition_prefix(HARAVAN_ADJUSTMENTS_PATH, DAY, "danang")
    for name, body in (("part-00000.parquet", b"earlier data"), ("_SUCCESS", b'{"rows": 7}')):
        s3.client().put_object(Bucket=s3.bucket, Key=earlier + name, Body=body)

    events_before = len(asset_events("raw_haravan_inventory_adjustments"))
    run = run_dag(HARAVAN, DAY)

    assert run.state == "failed", "one shop failed: the run says so"
    assert states_by_shop(HARAVAN, run.run_id, "extract_adjustments") == {
        "hanoi": "success",
        "saigon": "success",
        "danang": "failed",
    }
    for shop in ("hanoi", "saigon"):
        ids = sorted(
            read_partition(s3, HARAVAN_ADJUSTMENTS_PATH, DAY, shop).column("id").to_pylist()
        )
        assert ids == created_ids(shop_world, shop, DAY), shop
        assert read_marker(s3, HARAVAN_ADJUSTMENTS_PATH, DAY, shop)["rows"] == len(ids)
    assert created_ids(shop_world, "hanoi", DAY) != created_ids(shop_world, "saigon", DAY)
    kept = {key: s3.client().get_object(Bucket=s3.bucket, Key=key)["Body"].read()
            for key in s3.keys(earlier)}  # fmt: skip
    assert kept == {
        earlier + "part-00000.parquet": b"earlier data",
        earlier + "_SUCCESS": b'{"rows": 7}',
    }
    events = asset_events("raw_haravan_inventory_adjustments")[events_before:]
    assert {event["dt"] for event in events} == {DAY.isoformat()}
    assert sorted(event["shop"] for event in events) == ["hanoi", "saigon"]
    for event in events:
        assert event["uri"].endswith(f"/shop={event['shop']}/dt={DAY.isoformat()}/")


def facts_rows(world: ShopWorld, shop: str) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = read_partition(world.s3, FACTS_LINES_PATH, DAY, shop).to_pylist()
    return rows


def test_facts_are_built_per_shop_with_the_shop_column_and_a_shop_without_raw_data_fails_alone(
    shop_world: ShopWorld,
) -> None:
    s3 = shop_world.s3
    run_dag(HARAVAN, DAY)  # danang fails (refused token): no raw data for it
    assert run_dag(STOCKY, DAY).state == "success", "shops without Stocky are not extracted"
    assert not s3.keys(partition_prefix(STOCKY_ITEMS_PATH, DAY, "danang"))

    run = run_manual(FACTS, DAY, {"dt_start": DAY.isoformat(), "dt_end": None, "shops": []})

    assert states_by_shop(FACTS, run.run_id, "build_partition") == {
        f"hanoi|{DAY}": "success",
        f"saigon|{DAY}": "success",
        f"danang|{DAY}": "failed",
    }
    for shop in ("hanoi", "saigon"):
        rows = facts_rows(shop_world, shop)
        assert rows and {row["shop"] for row in rows} == {shop}
        raw_haravan = read_partition(s3, HARAVAN_ADJUSTMENTS_PATH, DAY, shop)
        raw_items = read_partition(s3, STOCKY_ITEMS_PATH, DAY, shop)
        haravan_lines = sum(len(items) for items in raw_haravan.column("line_items").to_pylist())
        by_source = {source: [r for r in rows if r["source"] == source] for source in facts.SOURCES}
        assert len(by_source[facts.HARAVAN]) == haravan_lines, shop
        assert len(by_source[facts.STOCKY]) == len(set(raw_items.column("id").to_pylist())), shop
    hanoi_keys = {row["line_key"] for row in facts_rows(shop_world, "hanoi")}
    saigon_keys = {row["line_key"] for row in facts_rows(shop_world, "saigon")}
    assert hanoi_keys != saigon_keys
    assert not s3.keys(partition_prefix(FACTS_LINES_PATH, DAY, "danang"))


def priority_weights(run_id: str) -> dict[str, int]:
    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        instances = session.scalars(select(TaskInstance).where(TaskInstance.run_id == run_id))
        return {f"{ti.task_id}[{ti.map_index}]": ti.priority_weight for ti in instances}


def test_a_daily_run_takes_the_next_api_slot_before_a_backfill(
    world: tuple[Emulator, S3Server],
) -> None:
    """The scheduler hands a free pool slot to the heaviest ready task, then the oldest run: a
    backfill's tasks weigh less than any other run's, so one shop's long backfill cannot hold
    the `haravan_api` pool while the daily runs wait."""
    sync_dags()
    # A day no other test runs this DAG for: a backfill leaves days with a run alone.
    (backfill_run_id,) = create_backfill(HARAVAN, date(2025, 10, 3), date(2025, 10, 3))
    try:
        backfilled = run_existing(HARAVAN, backfill_run_id)
        daily = run_dag(HARAVAN, DAY)
        assert backfilled.state == daily.state == "success"
        behind, ahead = priority_weights(backfill_run_id), priority_weights(daily.run_id)
        assert set(behind) == set(ahead) == {"shops[-1]", "extract_adjustments[0]"}
        assert max(behind.values()) < min(ahead.values()), (behind, ahead)
    finally:
        complete_backfills(HARAVAN)


def test_a_reprocessed_day_runs_behind_the_daily_run_too(
    world: tuple[Emulator, S3Server],
) -> None:
    """A backfill that reprocesses a day with a run (reprocess *completed*) makes that run a
    backfill run by its type alone: the id stays `manual__…`. Its tasks, weighed when they were
    cleared, must weigh like a backfill's by the time the scheduler starts the run."""
    sync_dags()
    day = date(2025, 10, 4)  # a day no other test runs this DAG for
    earlier = run_dag(HARAVAN, day)
    try:
        same = earlier.logical_date.date()
        (reprocessed,) = create_backfill(HARAVAN, same, same, reprocess_behavior="completed")
        assert reprocessed == earlier.run_id and reprocessed.startswith("manual__")
        start_queued_runs(HARAVAN)
        daily = run_dag(HARAVAN, DAY)
        behind, ahead = priority_weights(reprocessed), priority_weights(daily.run_id)
        assert set(behind) == set(ahead) == {"shops[-1]", "extract_adjustments[0]"}
        assert max(behind.values()) < min(ahead.values()), (behind, ahead)
        assert run_existing(HARAVAN, reprocessed).state == "success"
    finally:
        complete_backfills(HARAVAN)
