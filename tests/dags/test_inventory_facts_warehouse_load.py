"""inventory_facts_warehouse_load through Airflow, on facts partitions of the 2.0 layout
(`facts/inventory_adjustment_lines/shop=<id>/dt=…/`, written by the producer's own
PartitionWriter): a load, a late update of lines in a later day, then the older partition loaded
again; the `shops` param; a missing partition fails the run and names it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pytest

from include.inventory_lake import assets
from include.inventory_lake.lake.lake import Lake
from include.inventory_lake.lake.location import LakeRoot, Partition
from include.inventory_lake.lake.partition_writer import PartitionWriter
from include.inventory_lake.schemas import facts
from include.inventory_lake.settings import FACTS_LINES_PATH
from include.inventory_lake.shops import DEFAULT_SHOP_ID
from include.inventory_lake.warehouse.duckdb_merge import LOADS_TABLE, TABLE
from tests.airflow_runs import asset_events
from tests.inventory_lake.facts.dag_runs import run_manual, task_states
from tests.servers import S3Server

DAG_ID = "inventory_facts_warehouse_load"
DAY = date(2026, 1, 13)
LATER = DAY + timedelta(days=1)


@pytest.fixture()
def world(
    airflow_db: Any,
    airflow_connections: Any,
    s3_server: S3Server,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[tuple[S3Server, Path]]:
    s3_server.empty_bucket()
    warehouse = tmp_path / "warehouse.duckdb"
    monkeypatch.setenv("AIRFLOW_VAR_INVENTORY_WAREHOUSE_DUCKDB", str(warehouse))
    monkeypatch.delenv("AIRFLOW_VAR_INVENTORY_LAKE_SHOPS", raising=False)
    yield s3_server, warehouse
    s3_server.empty_bucket()


def lines(day: date, versions: dict[int, tuple[int, str]], shop: str) -> pa.Table:
    """Stocky facts rows: item id -> (hour updated on `day`, status)."""
    return pa.Table.from_pylist(
        [
            {
                "shop": shop,
                "source": "stocky",
                "line_key": f"stocky:{item}",
                "line_id": item,
                "quantity": 2,
                "status": status,
                "updated_at": datetime(day.year, day.month, day.day, hour, tzinfo=UTC),
                "adjustment_missing": False,
            }
            for item, (hour, status) in versions.items()
        ],
        schema=facts.LINES,
    )


def write_facts(s3: S3Server, day: date, table: pa.Table, shop: str = DEFAULT_SHOP_ID) -> None:
    partition = Partition(LakeRoot(s3.bucket), FACTS_LINES_PATH, shop, day)
    with PartitionWriter(
        Lake(s3.client(), partition.root), partition, facts.LINES, f"facts-{shop}-{day}"
    ) as writer:
        for batch in table.to_batches():
            writer.write(batch)
        writer.commit()


def table_rows(warehouse: Path) -> dict[tuple[str, str], dict[str, Any]]:
    with duckdb.connect(str(warehouse), read_only=True) as db:
        cursor = db.execute(f"SELECT * EXCLUDE (loaded_at) FROM {TABLE}")
        names = [column[0] for column in cursor.description]
        return {
            (row[names.index("shop")], row[names.index("line_key")]): dict(
                zip(names, row, strict=True)
            )
            for row in cursor.fetchall()
        }


def load(day: date, last: date | None = None, shops: list[str] | None = None) -> Any:
    conf: dict[str, Any] = {"dt_start": day.isoformat()}
    if last is not None:
        conf["dt_end"] = last.isoformat()
    if shops is not None:
        conf["shops"] = shops
    return run_manual(DAG_ID, last or day, conf)


def test_reloads_and_late_updates_leave_one_current_row_per_shop_and_line_key(
    world: tuple[S3Server, Path],
) -> None:
    s3, warehouse = world
    write_facts(s3, DAY, lines(DAY, {1: (9, "not adjusted"), 2: (9, "adjusted")}, "default"))
    write_facts(s3, LATER, lines(LATER, {1: (2, "adjusted")}, "default"))

    first = load(DAY)
    assert first.state == "success", task_states(first)
    second = load(LATER)
    assert second.state == "success", task_states(second)
    rows = table_rows(warehouse)
    assert set(rows) == {("default", "stocky:1"), ("default", "stocky:2")}
    assert rows["default", "stocky:1"]["status"] == "adjusted"
    assert rows["default", "stocky:1"]["dt"] == LATER
    event = asset_events(assets.WAREHOUSE_ADJUSTMENT_LINES.name)[-1]
    assert event["dts"] == [LATER.isoformat()] and event["shops"] == ["default"]
    assert event["current_rows"] == 2

    again = load(DAY)
    assert again.state == "success", task_states(again)
    assert table_rows(warehouse) == rows, "an older partition never brings back old versions"
    with duckdb.connect(str(warehouse), read_only=True) as db:
        loads = db.execute(f"SELECT shop, dt, inserted, updated FROM {LOADS_TABLE}").fetchall()
    assert loads == [("default", DAY, 2, 0), ("default", LATER, 0, 1), ("default", DAY, 0, 1)]


def test_the_shops_param_names_configured_shops_and_each_loads_its_own_partitions(
    world: tuple[S3Server, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    s3, warehouse = world
    monkeypatch.setenv(
        "AIRFLOW_VAR_INVENTORY_LAKE_SHOPS",
        '[{"id": "hanoi", "haravan_conn_id": "haravan_default"},'
        ' {"id": "saigon", "haravan_conn_id": "haravan_saigon"}]',
    )
    write_facts(s3, DAY, lines(DAY, {1: (9, "adjusted")}, "hanoi"), "hanoi")
    write_facts(s3, DAY, lines(DAY, {1: (10, "adjusted")}, "saigon"), "saigon")

    only = load(DAY, shops=["saigon"])
    assert only.state == "success", task_states(only)
    assert set(table_rows(warehouse)) == {("saigon", "stocky:1")}
    every = load(DAY)
    assert every.state == "success", task_states(every)
    assert set(table_rows(warehouse)) == {("hanoi", "stocky:1"), ("saigon", "stocky:1")}
    unknown = load(DAY, shops=["danang"])
    assert unknown.state == "failed"


def test_a_missing_facts_partition_fails_the_load_and_names_it(
    world: tuple[S3Server, Path], capfd: pytest.CaptureFixture[str]
) -> None:
    s3, warehouse = world
    run = load(date(2026, 1, 13), date(2026, 1, 14))
    assert run.state == "failed"
    output = capfd.readouterr().out
    for day in ("2026-01-13", "2026-01-14"):
        assert f"s3://{s3.bucket}/{FACTS_LINES_PATH}/shop=default/dt={day}/" in output
    assert not warehouse.exists(), "nothing loaded, not even an empty warehouse"
