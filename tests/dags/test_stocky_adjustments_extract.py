"""stocky_adjustments_extract, run through Airflow against the emulator and the S3 server."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from include.inventory_lake.settings import STOCKY_ADJUSTMENTS_PATH, STOCKY_ITEMS_PATH
from tests.airflow_runs import asset_events, run_dag, run_task_process
from tests.lake_reads import read_marker, read_partition
from tests.servers import Emulator, S3Server, on_day, truth

DAG_ID = "stocky_adjustments_extract"
TASK_ID = "extract_adjustments_and_items"
DAY = date(2026, 1, 9)
TIMESTAMPS = {"created_at", "updated_at", "adjusted_at"}


def updated_on(records: list[dict[str, Any]], day: date) -> list[dict[str, Any]]:
    return sorted(on_day(records, "updated_at", day), key=lambda record: record["id"])


def assert_rows_equal_records(rows: list[dict[str, Any]], records: list[dict[str, Any]]) -> None:
    rows = sorted(rows, key=lambda row: row["id"])
    assert [row["id"] for row in rows] == [record["id"] for record in records]
    for row, record in zip(rows, records, strict=True):
        for field, value in record.items():
            if field in TIMESTAMPS and value is not None:
                value = datetime.fromisoformat(value).astimezone(UTC)
            assert row[field] == value, f"id {record['id']} {field}"


def test_a_day_of_adjustments_and_items_equals_the_api_field_by_field(
    world: tuple[Emulator, S3Server],
) -> None:
    emulator, s3 = world
    assert run_dag(DAG_ID, DAY).state == "success"

    adjustments = updated_on(truth(emulator, "stocky/stock_adjustments"), DAY)
    items = updated_on(truth(emulator, "stocky/stock_adjustment_items"), DAY)
    assert adjustments and items
    assert_rows_equal_records(
        read_partition(s3, STOCKY_ADJUSTMENTS_PATH, DAY).to_pylist(), adjustments
    )
    assert_rows_equal_records(read_partition(s3, STOCKY_ITEMS_PATH, DAY).to_pylist(), items)
    assert read_marker(s3, STOCKY_ITEMS_PATH, DAY)["rows"] == len(items)
    events = {e["dt"]: e for e in asset_events("raw_stocky_stock_adjustment_items")}
    assert events[DAY.isoformat()]["rows"] == len(items)


def test_an_item_adjusted_later_lands_again_in_the_partition_of_its_update(
    world: tuple[Emulator, S3Server],
) -> None:
    emulator, s3 = world
    pending = [
        item
        for item in truth(emulator, "stocky/stock_adjustment_items")
        if item["status"] == "not adjusted"
    ]
    assert pending, "the seeded data has items not adjusted yet"
    item = pending[0]
    first_day = datetime.fromisoformat(item["updated_at"]).date()
    assert run_dag(DAG_ID, first_day).state == "success"
    before = {r["id"]: r for r in read_partition(s3, STOCKY_ITEMS_PATH, first_day).to_pylist()}
    assert before[item["id"]]["status"] == "not adjusted"
    assert before[item["id"]]["new_quantity"] is None

    emulator.admin_post("stocky/perform", {"item_ids": [item["id"]]})
    performed = next(
        i for i in truth(emulator, "stocky/stock_adjustment_items") if i["id"] == item["id"]
    )
    update_day = datetime.fromisoformat(performed["updated_at"]).date()
    assert update_day > first_day
    assert run_dag(DAG_ID, update_day).state == "success"
    after = {r["id"]: r for r in read_partition(s3, STOCKY_ITEMS_PATH, update_day).to_pylist()}
    assert after[item["id"]]["status"] == "adjusted"
    assert after[item["id"]]["new_quantity"] == performed["new_quantity"]
    assert after[item["id"]]["updated_at"] > before[item["id"]]["updated_at"]


def test_a_retired_api_fails_the_task_at_once_and_writes_nothing(
    world: tuple[Emulator, S3Server],
) -> None:
    emulator, s3 = world
    emulator.set_faults(script=[{"kind": "status", "status": 410, "path": "/api/v2/", "times": -1}])
    attempt = run_task_process(DAG_ID, TASK_ID, DAY)
    assert attempt.state == "failed", "no retries against a retired API"
    assert "410" in attempt.output and "retired" in attempt.output
    assert s3.keys("raw/stocky") == []


def test_a_day_without_records_gets_empty_typed_partitions_for_both_datasets(
    world: tuple[Emulator, S3Server],
) -> None:
    _, s3 = world
    empty_day = date(2025, 12, 1)
    assert run_dag(DAG_ID, empty_day).state == "success"
    for dataset in (STOCKY_ADJUSTMENTS_PATH, STOCKY_ITEMS_PATH):
        assert read_partition(s3, dataset, empty_day).num_rows == 0
        assert read_marker(s3, dataset, empty_day)["rows"] == 0
