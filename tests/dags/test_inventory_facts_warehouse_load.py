"""inventory_facts_warehouse_load through Airflow: facts partitions built from the emulator
(one with a late update of Stocky lines: pending items performed later land in a later day),
loaded by an asset-triggered run, then an older partition loaded again."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any

import duckdb
import pytest

from include.inventory_lake import assets
from include.inventory_lake.settings import FACTS_LINES_PATH
from include.inventory_lake.warehouse.duckdb_merge import LOADS_TABLE, TABLE
from tests.airflow_runs import asset_events
from tests.inventory_lake.facts.dag_runs import (
    create_asset_triggered_run,
    extract,
    run_existing,
    run_manual,
    start_listening,
    task_states,
)
from tests.lake_reads import read_partition
from tests.servers import Emulator, S3Server, truth

DAG_ID = "inventory_facts_warehouse_load"
FACTS_DAG_ID = "inventory_adjustment_facts"
LAST_DAY = date(2026, 1, 14)  # the emulator's data ends 2026-01-15: recent items are pending


@pytest.fixture()
def world(
    airflow_db: Any,
    airflow_connections: Any,
    fresh_emulator: Emulator,
    s3_server: S3Server,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[tuple[Emulator, S3Server, Path]]:
    s3_server.empty_bucket()
    warehouse = tmp_path / "warehouse.duckdb"
    monkeypatch.setenv("AIRFLOW_VAR_INVENTORY_WAREHOUSE_DUCKDB", str(warehouse))
    yield fresh_emulator, s3_server, warehouse


def build_facts(day: date) -> None:
    extract(day)
    run = run_manual(FACTS_DAG_ID, day)
    assert run.state == "success", task_states(run)


def perform_pending_items_of(emulator: Emulator, day: date) -> tuple[set[int], date]:
    """Perform now the items still pending from `day`; returns their ids and the day they
    were performed (today)."""
    pending = [
        item
        for item in truth(emulator, "stocky/stock_adjustment_items")
        if item["status"] == "not adjusted"
        and datetime.fromisoformat(item["updated_at"]).date() == day
    ]
    adjustment_ids = sorted({item["stock_adjustment_id"] for item in pending})
    performed = set(emulator.admin_post("stocky/perform", {"ids": adjustment_ids})["item_ids"])
    assert performed == {item["id"] for item in pending}
    days = {
        datetime.fromisoformat(item["updated_at"]).date()
        for item in truth(emulator, "stocky/stock_adjustment_items")
        if item["id"] in performed
    }
    assert len(days) == 1, days
    return performed, days.pop()


def table_rows(warehouse: Path) -> dict[str, dict[str, Any]]:
    with duckdb.connect(str(warehouse), read_only=True) as db:
        cursor = db.execute(f"SELECT * EXCLUDE (loaded_at) FROM {TABLE}")
        names = [column[0] for column in cursor.description]
        return {row[1]: dict(zip(names, row, strict=True)) for row in cursor.fetchall()}


def test_reloads_and_late_updates_leave_one_current_row_per_line_key(
    world: tuple[Emulator, S3Server, Path],
) -> None:
    emulator, s3, warehouse = world
    start_listening(DAG_ID)
    build_facts(LAST_DAY)
    first = run_existing(DAG_ID, create_asset_triggered_run(DAG_ID))
    assert first.state == "success", task_states(first)
    performed, today = perform_pending_items_of(emulator, LAST_DAY)
    assert len(performed) >= 3, "the emulator's last day should have pending items"
    build_facts(today)
    second = run_existing(DAG_ID, create_asset_triggered_run(DAG_ID))
    assert second.state == "success", task_states(second)

    early = read_partition(s3, FACTS_LINES_PATH, LAST_DAY).to_pylist()
    late = read_partition(s3, FACTS_LINES_PATH, today).to_pylist()
    late_updates = {f"stocky:{item_id}" for item_id in performed}
    assert late_updates <= {r["line_key"] for r in early} & {r["line_key"] for r in late}
    rows = table_rows(warehouse)
    assert rows.keys() == {r["line_key"] for r in early} | {r["line_key"] for r in late}
    for key in late_updates:
        assert rows[key]["status"] == "adjusted" and rows[key]["dt"] == today
        assert rows[key]["new_quantity"] is not None
    events = asset_events(assets.WAREHOUSE_ADJUSTMENT_LINES.name)
    assert [event["dts"] for event in events[-2:]] == [[LAST_DAY.isoformat()], [today.isoformat()]]
    assert events[-1]["current_rows"] == len(rows)

    again = run_manual(DAG_ID, LAST_DAY, {"dt_start": LAST_DAY.isoformat()})
    assert again.state == "success", task_states(again)
    assert table_rows(warehouse) == rows, "an older partition never brings back old versions"
    with duckdb.connect(str(warehouse), read_only=True) as db:
        loads = db.execute(f"SELECT dt, rows, inserted, updated FROM {LOADS_TABLE}").fetchall()
    assert [load[0] for load in loads] == [LAST_DAY, today, LAST_DAY]
    reload_rows, reload_inserted, reload_updated = loads[-1][1:]
    assert reload_inserted == 0
    assert reload_rows - reload_updated == len(late_updates), "only the newer rows were kept"


def test_a_missing_facts_partition_fails_the_load_and_names_it(
    world: tuple[Emulator, S3Server, Path], capfd: pytest.CaptureFixture[str]
) -> None:
    _, s3, warehouse = world
    run = run_manual(DAG_ID, LAST_DAY, {"dt_start": "2026-01-13", "dt_end": "2026-01-14"})
    assert run.state == "failed"
    output = capfd.readouterr().out
    for day in ("2026-01-13", "2026-01-14"):
        assert f"s3://{s3.bucket}/{FACTS_LINES_PATH}/dt={day}/" in output
    assert not warehouse.exists(), "nothing loaded, not even an empty warehouse"
