"""inventory_facts_warehouse_load through Airflow, on the facts table (filled with
`replace_partition`, as the facts DAG commits): a first load, a late update of lines in a later
day, then the older partition read again by a manual run; a rerun reads no data file; each
shop's lines stay its own; an unknown shop or a missing table fails the run and says so."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pytest

from include.inventory_lake import assets
from include.inventory_lake.iceberg import facts_table
from include.inventory_lake.iceberg.catalog import open_catalog
from include.inventory_lake.iceberg.replace import replace_partition
from include.inventory_lake.schemas import facts
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


def write_facts(day: date, table: pa.Table, shop: str = DEFAULT_SHOP_ID) -> None:
    """Commit the shop's day to the facts table, as the facts DAG does."""
    replace_partition(facts_table.ensure_table(open_catalog()), shop, day, table)


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


def run_figures(run: Any) -> dict[str, Any]:
    """The load task's return value (its XCom) in `run`."""
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        [row] = session.scalars(
            select(XComModel).where(
                XComModel.dag_id == DAG_ID,
                XComModel.run_id == run.run_id,
                XComModel.key == "return_value",
            )
        ).all()
        figures: dict[str, Any] = XComModel.deserialize_value(row)
    return figures


def load_changes() -> Any:
    """A manual run without days: it loads what changed in the table."""
    return run_manual(DAG_ID, DAY, {})


def load(day: date, last: date | None = None, shops: list[str] | None = None) -> Any:
    """A manual run that also reads the days `day`..`last` of `shops` again."""
    conf: dict[str, Any] = {"dt_start": day.isoformat()}
    if last is not None:
        conf["dt_end"] = last.isoformat()
    if shops is not None:
        conf["shops"] = shops
    return run_manual(DAG_ID, last or day, conf)


def test_reloads_and_late_updates_leave_one_current_row_per_shop_and_line_key(
    world: tuple[S3Server, Path],
) -> None:
    _, warehouse = world
    write_facts(DAY, lines(DAY, {1: (9, "not adjusted"), 2: (9, "adjusted")}, "default"))
    first = load_changes()
    assert first.state == "success", task_states(first)
    write_facts(LATER, lines(LATER, {1: (2, "adjusted")}, "default"))
    second = load_changes()
    assert second.state == "success", task_states(second)
    rows = table_rows(warehouse)
    assert set(rows) == {("default", "stocky:1"), ("default", "stocky:2")}
    assert rows["default", "stocky:1"]["status"] == "adjusted"
    assert rows["default", "stocky:1"]["dt"] == LATER
    event = asset_events(assets.WAREHOUSE_ADJUSTMENT_LINES.name)[-1]
    assert event["dts"] == [LATER.isoformat()] and event["shops"] == ["default"]
    assert event["current_rows"] == 2
    figures = run_figures(second)
    assert (figures["mode"], figures["rows_read"], figures["data_files_read"]) == (
        "incremental",
        1,
        1,
    )

    again = load(DAY)
    assert again.state == "success", task_states(again)
    assert table_rows(warehouse) == rows, "an older partition never brings back old versions"
    with duckdb.connect(str(warehouse), read_only=True) as db:
        loads = db.execute(f"SELECT shop, dt, inserted, updated FROM {LOADS_TABLE}").fetchall()
    assert loads == [("default", DAY, 2, 0), ("default", LATER, 0, 1), ("default", DAY, 0, 1)]

    rerun = load_changes()
    assert rerun.state == "success", task_states(rerun)
    figures = run_figures(rerun)
    assert (figures["mode"], figures["rows_read"], figures["data_files_read"]) == (
        "unchanged",
        0,
        0,
    )
    assert table_rows(warehouse) == rows


def test_each_shop_loads_its_own_lines_and_an_unknown_shop_fails(
    world: tuple[S3Server, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    _, warehouse = world
    monkeypatch.setenv(
        "AIRFLOW_VAR_INVENTORY_LAKE_SHOPS",
        '[{"id": "hanoi", "haravan_conn_id": "haravan_default"},'
        ' {"id": "saigon", "haravan_conn_id": "haravan_saigon"}]',
    )
    write_facts(DAY, lines(DAY, {1: (9, "adjusted")}, "hanoi"), "hanoi")
    write_facts(DAY, lines(DAY, {1: (10, "adjusted")}, "saigon"), "saigon")

    unknown = load(DAY, shops=["danang"])
    assert unknown.state == "failed"
    assert not warehouse.exists(), "nothing loaded"
    every = load_changes()
    assert every.state == "success", task_states(every)
    rows = table_rows(warehouse)
    assert set(rows) == {("hanoi", "stocky:1"), ("saigon", "stocky:1")}
    assert rows["saigon", "stocky:1"]["updated_at"].hour == 10
    only = load(DAY, shops=["saigon"])
    assert only.state == "success", task_states(only)
    assert run_figures(only)["loads"] == [
        {"shop": "saigon", "dt": DAY.isoformat(), "rows": 1, "inserted": 0, "updated": 1,
         "deleted": 0}
    ]  # fmt: skip


def test_no_facts_table_fails_the_load_and_says_so(
    world: tuple[S3Server, Path], capfd: pytest.CaptureFixture[str]
) -> None:
    _, warehouse = world
    run = load_changes()
    assert run.state == "failed"
    output = capfd.readouterr().out
    assert "the Iceberg table inventory_lake.inventory_adjustment_lines does not exist yet" in (
        output
    )
    assert not warehouse.exists(), "nothing loaded, not even an empty warehouse"
