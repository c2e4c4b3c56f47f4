"""inventory_adjustment_facts, run through Airflow on partitions the extract DAGs wrote from the
emulator (checked line by line against the emulator's own data), on asset events as the
scheduler creates them, on param ranges, and on raw data that fails the checks."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from include.inventory_lake import assets, dag_defaults
from include.inventory_lake.iceberg import facts_table
from include.inventory_lake.iceberg.catalog import open_catalog
from include.inventory_lake.lake.location import LakeRoot, ShopLake
from include.inventory_lake.schemas import facts
from include.inventory_lake.settings import FACTS_LINES_PATH, HARAVAN_ADJUSTMENTS_PATH
from include.inventory_lake.shops import DEFAULT_SHOP_ID as DEFAULT_SHOP
from tests.airflow_runs import asset_events, run_dag
from tests.inventory_lake.facts.dag_runs import (
    create_asset_triggered_run,
    create_backfill,
    extract,
    load_dag,
    run_existing,
    run_manual,
    start_listening,
    sync_dags,
    task_states,
)
from tests.inventory_lake.facts.raw_builders import (
    at,
    haravan_adjustment,
    haravan_line,
    stocky_adjustment,
    stocky_item,
    write_raw_day,
)
from tests.lake_reads import assert_table_holds_the_partition, read_marker, read_partition
from tests.servers import Emulator, S3Server, on_day, truth

DAG_ID = "inventory_adjustment_facts"
DAY = date(2026, 1, 10)


def run_facts(day: date, conf: dict[str, Any] | None = None) -> Any:
    return run_manual(DAG_ID, day, conf)


def facts_event_extras() -> list[dict[str, Any]]:
    return asset_events(assets.FACTS_ADJUSTMENT_LINES.name)


def ts(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text).astimezone(UTC)


def test_a_day_of_both_sources_becomes_one_exact_row_per_line(
    world: tuple[Emulator, S3Server],
) -> None:
    emulator, s3 = world
    extract(DAY)
    run = run_facts(DAY)
    assert run.state == "success", task_states(run)

    table = read_partition(s3, FACTS_LINES_PATH, DAY)
    assert table.schema.equals(facts.LINES, check_metadata=False)
    rows = {row["line_key"]: row for row in table.to_pylist()}
    assert len(rows) == table.num_rows, "one row per line_key"

    haravan_adjustments = on_day(truth(emulator, "haravan/adjustments"), "created_at", DAY)
    expected_haravan = {
        f"haravan:{line['id']}": (adjustment, line)
        for adjustment in haravan_adjustments
        for line in adjustment["line_items"]
    }
    stocky_adjustments = {a["id"]: a for a in truth(emulator, "stocky/stock_adjustments")}
    adjustments_on_day = {
        a["id"] for a in on_day(list(stocky_adjustments.values()), "updated_at", DAY)
    }
    expected_stocky = {
        f"stocky:{item['id']}": item
        for item in on_day(truth(emulator, "stocky/stock_adjustment_items"), "updated_at", DAY)
    }
    assert len(expected_haravan) > 50 and len(expected_stocky) > 20
    assert rows.keys() == expected_haravan.keys() | expected_stocky.keys()

    for key, (adjustment, line) in expected_haravan.items():
        row = rows[key]
        assert row["source"] == "haravan" and row["line_id"] == line["id"]
        assert row["adjustment_id"] == adjustment["id"]
        assert row["adjustment_number"] == adjustment["adjust_number"]
        assert row["location_id"] == adjustment["location_id"]
        assert row["product_id"] == line["product_id"]
        assert row["variant_id"] == line["product_variant_id"]
        assert (row["sku"], row["barcode"]) == (line["sku"], line["barcode"])
        assert row["quantity"] == line["quantity"]
        assert row["cost_amount"] == Decimal(line["cost_amount"])
        assert row["adjustment_type"] == adjustment["type"]
        assert (row["reason"], row["note"], row["tags"]) == (
            adjustment["reason"],
            adjustment["note"],
            adjustment["tags"],
        )
        assert row["adjusted_at"] == ts(adjustment["tran_date"])
        assert row["created_at"] == ts(adjustment["created_at"])
        assert row["updated_at"] == ts(adjustment["updated_at"])
        assert row["adjustment_missing"] is False
        assert row["status"] is row["variant_title"] is row["location_shopify_id"] is None

    missing = 0
    for key, item in expected_stocky.items():
        row = rows[key]
        adjustment = stocky_adjustments[item["stock_adjustment_id"]]
        assert row["source"] == "stocky" and row["adjustment_id"] == adjustment["id"]
        assert row["variant_id"] == item["variant"]["id"]
        assert row["variant_shopify_id"] == item["variant"]["shopify_id"]
        assert row["variant_title"] == item["variant"]["title"]
        assert (row["quantity"], row["previous_quantity"], row["new_quantity"]) == (
            item["quantity"],
            item["previous_quantity"],
            item["new_quantity"],
        )
        assert row["status"] == item["status"]
        assert row["updated_at"] == ts(item["updated_at"])
        assert row["adjusted_at"] == ts(item["adjusted_at"])
        assert row["cost_amount"] is None and row["product_id"] is None
        if adjustment["id"] in adjustments_on_day:
            assert row["adjustment_missing"] is False
            assert row["location_id"] == adjustment["location"]["id"]
            assert row["location_shopify_id"] == adjustment["location"]["shopify_id"]
            reason = adjustment["stock_adjustment_reason"]
            assert row["reason"] == (reason["reason"] if reason else None)
            assert row["adjustment_number"] == str(adjustment["sequential_id"])
            assert row["created_at"] == ts(adjustment["created_at"])
        else:
            missing += 1
            assert row["adjustment_missing"] is True, key
            assert row["location_id"] is row["reason"] is row["adjustment_number"] is None
    assert missing > 0, "the day should include items whose adjustment changed on a later day"

    marker = read_marker(s3, FACTS_LINES_PATH, DAY)
    assert marker["rows"] == table.num_rows
    assert marker["sources"]["stocky"]["adjustment_missing"] == missing
    assert marker["sources"]["haravan"]["superseded_duplicates"] == 0
    assert facts_event_extras()[-1] == {
        "shop": "default",
        "dt": DAY.isoformat(),
        "uri": f"s3://{s3.bucket}/{FACTS_LINES_PATH}/shop=default/dt={DAY.isoformat()}/",
        "rows": table.num_rows,
        "haravan_rows": len(expected_haravan),
        "stocky_rows": len(expected_stocky),
        "stocky_adjustment_missing": missing,
        "iceberg_table": "inventory_lake.inventory_adjustment_lines",
        "iceberg_snapshot_id": table_snapshot_id(),
    }
    assert_table_holds_the_partition(s3, DEFAULT_SHOP, DAY)


def table_snapshot_id() -> int:
    snapshot = facts_table.ensure_table(open_catalog()).current_snapshot()
    assert snapshot is not None
    return snapshot.snapshot_id


def test_asset_events_decide_the_days_and_a_half_extracted_day_waits_for_its_late_source(
    world: tuple[Emulator, S3Server],
    capfd: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    _, s3 = world
    first, second, third = DAY - timedelta(days=3), DAY, DAY + timedelta(days=1)
    start_listening(DAG_ID)
    run_dag("haravan_adjustments_extract", first)
    extract(second)
    run_id = create_asset_triggered_run(DAG_ID)

    run = run_existing(DAG_ID, run_id)
    assert run.run_id == run_id and run.run_type == "asset_triggered"
    assert run.state == "success", "a day still extracting is no failure"
    assert task_states(run) == {
        ("partitions", -1): "success",
        ("build_partition", 0): "skipped",  # Stocky has not extracted 2026-01-07 yet
        ("build_partition", 1): "success",
    }
    assert [ti.rendered_map_index for ti in run.get_task_instances() if ti.map_index >= 0] == [
        "default|2026-01-07",
        "default|2026-01-10",
    ]
    output = capfd.readouterr().out + caplog.text
    for dataset in ("raw/stocky/stock_adjustments", "raw/stocky/stock_adjustment_items"):
        assert f"s3://{s3.bucket}/{dataset}/shop=default/dt=2026-01-07/" in output
    assert "its asset event will trigger the run that builds this day" in output
    assert s3.keys(f"{FACTS_LINES_PATH}/shop=default/dt=2026-01-07/") == []
    assert read_marker(s3, FACTS_LINES_PATH, second)["rows"] > 0
    assert facts_event_extras()[-1]["dt"] == "2026-01-10"

    manual = run_facts(first)
    assert task_states(manual)[("build_partition", 0)] == "failed", "asked for, it fails at once"

    run_dag("stocky_adjustments_extract", first)  # the late source completes the day
    extract(third)
    later = run_existing(DAG_ID, create_asset_triggered_run(DAG_ID))
    assert later.state == "success", task_states(later)
    assert [ti.rendered_map_index for ti in later.get_task_instances() if ti.map_index >= 0] == [
        "default|2026-01-07",
        "default|2026-01-11",
    ]
    assert read_marker(s3, FACTS_LINES_PATH, first)["rows"] > 0


def test_a_manual_run_with_params_builds_each_day_of_the_range(
    airflow_db: Any, airflow_connections: Any, s3_server: S3Server
) -> None:
    s3_server.empty_bucket()
    lake = ShopLake(LakeRoot(s3_server.bucket), DEFAULT_SHOP)
    days = [DAY + timedelta(days=offset) for offset in range(3)]
    for number, day in enumerate(days, start=1):
        write_raw_day(
            s3_server.client(),
            lake,
            day,
            [haravan_adjustment(number, at(day, 8), [haravan_line(10 + number, -1, "-1.50")])],
            [stocky_adjustment(100 + number, at(day, 9))],
            [stocky_item(1000 + number, 100 + number, 2, at(day, 9))],
        )
    run = run_facts(days[0], {"dt_start": "2026-01-10", "dt_end": "2026-01-12"})
    assert run.state == "success", task_states(run)
    assert task_states(run) == {
        ("partitions", -1): "success",
        ("build_partition", 0): "success",
        ("build_partition", 1): "success",
        ("build_partition", 2): "success",
    }
    for number, day in enumerate(days, start=1):
        table = read_partition(s3_server, FACTS_LINES_PATH, day)
        assert sorted(table.column("line_key").to_pylist()) == [
            f"haravan:{10 + number}",
            f"stocky:{1000 + number}",
        ]
    # Mapped tasks finish in any order; each day must have its own event.
    assert sorted(extra["dt"] for extra in facts_event_extras()[-3:]) == [
        d.isoformat() for d in days
    ]


def test_a_backfill_builds_one_day_per_run(
    airflow_db: Any, airflow_connections: Any, s3_server: S3Server
) -> None:
    s3_server.empty_bucket()
    days = [date(2025, 12, 1), date(2025, 12, 2)]  # no other run of this DAG has these dates
    for number, day in enumerate(days, start=1):
        write_raw_day(
            s3_server.client(),
            ShopLake(LakeRoot(s3_server.bucket), DEFAULT_SHOP),
            day,
            [haravan_adjustment(number, at(day, 8), [haravan_line(20 + number, 4, "4.00")])],
        )
    sync_dags()
    run_ids = create_backfill(DAG_ID, days[0], days[-1])
    assert len(run_ids) == 2
    for run_id, day in zip(run_ids, days, strict=True):
        run = run_existing(DAG_ID, run_id)
        assert run.run_type == "backfill" and run.state == "success", task_states(run)
        assert [ti.rendered_map_index for ti in run.get_task_instances() if ti.map_index >= 0] == [
            f"default|{day.isoformat()}"
        ]
        table = read_partition(s3_server, FACTS_LINES_PATH, day)
        assert table.column("line_key").to_pylist() == [f"haravan:{20 + days.index(day) + 1}"]


def test_a_failed_check_fails_the_run_naming_check_count_and_keys(
    airflow_db: Any,
    airflow_connections: Any,
    s3_server: S3Server,
    capfd: pytest.CaptureFixture[str],
) -> None:
    s3_server.empty_bucket()
    lines = [haravan_line(None, 1, "1.00"), haravan_line(None, 2, "2.00")]
    write_raw_day(
        s3_server.client(),
        ShopLake(LakeRoot(s3_server.bucket), DEFAULT_SHOP),
        DAY,
        [haravan_adjustment(4242, at(DAY, 8), lines)],
    )
    run = run_facts(DAY)
    assert run.state == "failed"
    assert task_states(run) == {
        ("partitions", -1): "success",
        ("build_partition", 0): "failed",
    }
    [build] = [ti for ti in run.get_task_instances() if ti.task_id == "build_partition"]
    assert build.try_number == 1 and build.max_tries == dag_defaults.RETRIES, (
        "failed at once, retries unused"
    )
    output = capfd.readouterr().out
    assert "line_key_not_null: 2 row(s) (haravan lines without an id)" in output
    assert "e.g. haravan adjustment 4242" in output
    assert s3_server.keys(FACTS_LINES_PATH) == []
    assert not open_catalog().table_exists(facts_table.IDENTIFIER), "no commit to the table"
    assert s3_server.keys(HARAVAN_ADJUSTMENTS_PATH), "the raw input is untouched"


def test_the_dag_runs_on_the_raw_assets_and_backfills_by_day() -> None:
    from airflow.sdk import AssetAny, AssetOrTimeSchedule, CronDataIntervalTimetable

    dag = load_dag(DAG_ID)
    timetable = dag.timetable
    assert isinstance(timetable, AssetOrTimeSchedule)
    assert isinstance(timetable.timetable, CronDataIntervalTimetable)
    condition = timetable.asset_condition
    assert isinstance(condition, AssetAny)
    assert {asset.name for asset in condition.objects} == {
        assets.HARAVAN_ADJUSTMENTS_RAW.name,
        assets.STOCKY_ADJUSTMENTS_RAW.name,
        assets.STOCKY_ITEMS_RAW.name,
    }
    assert {str(run_type.value) for run_type in dag.allowed_run_types} == {
        "asset_triggered",
        "manual",
        "backfill",
    }, "no time-scheduled runs: they would race the extracts"
    assert dag.get_task("build_partition").outlets == [assets.FACTS_ADJUSTMENT_LINES]
    assert facts.LINES.field("line_key").nullable is False
