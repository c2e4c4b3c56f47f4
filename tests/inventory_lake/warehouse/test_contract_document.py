"""docs/warehouse-contract.md says what the code does: the column table is the schema, the DDL
lists every column with its mapped type, and the SQL it recommends runs and merges correctly."""

from __future__ import annotations

import re
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pytest

from include.inventory_lake import assets
from include.inventory_lake.facts import flatten
from include.inventory_lake.facts.build import CHECKS
from include.inventory_lake.schemas import facts, stocky
from include.inventory_lake.settings import FACTS_LINES_PATH
from include.inventory_lake.warehouse.duckdb_merge import CREATE_FILLED_VIEW
from tests.inventory_lake.facts.raw_builders import (
    at,
    batch,
    stocky_adjustment,
    stocky_item,
)

DOCUMENT = Path(__file__).resolve().parents[3] / "docs" / "warehouse-contract.md"
TEXT = DOCUMENT.read_text(encoding="utf-8")
SQL_BLOCKS = re.findall(r"```sql\n(.*?)```", TEXT, flags=re.DOTALL)
DAY = date(2026, 1, 10)


def doc_type(type_: pa.DataType) -> str:
    if pa.types.is_decimal(type_):
        return f"decimal({type_.precision},{type_.scale})"
    if pa.types.is_timestamp(type_):
        return f"timestamp[{type_.unit}, {type_.tz}]"
    return {"string": "string", "int64": "int64", "bool": "bool"}[str(type_)]


ENGINE_TYPES = {
    "athena": {"string": "string", "int64": "bigint", "bool": "boolean"},
    "snowflake": {"string": "VARCHAR", "int64": "NUMBER(19,0)", "bool": "BOOLEAN"},
    "bigquery": {"string": "STRING", "int64": "INT64", "bool": "BOOL"},
}
ENGINE_SPECIAL = {
    "athena": ("decimal(18,2)", "timestamp"),
    "snowflake": ("NUMBER(18,2)", "TIMESTAMP_TZ"),
    "bigquery": ("NUMERIC", "TIMESTAMP"),
}


def engine_type(engine: str, type_: pa.DataType) -> str:
    decimal, timestamp = ENGINE_SPECIAL[engine]
    if pa.types.is_decimal(type_):
        return decimal
    if pa.types.is_timestamp(type_):
        return timestamp
    return ENGINE_TYPES[engine][str(type_)]


def block(starting: str) -> str:
    [found] = [sql for sql in SQL_BLOCKS if sql.lstrip().startswith(starting)]
    return found


def test_the_column_table_is_the_schema() -> None:
    rows = re.findall(r"^\| `(\w+)` \| ([^|]+) \| ([^|]+) \| (.+) \|$", TEXT, flags=re.MULTILINE)
    assert [row[0] for row in rows] == facts.LINES.names
    for (name, type_text, nullable, meaning), field in zip(rows, facts.LINES, strict=True):
        assert type_text.strip() == doc_type(field.type), name
        assert (nullable.strip() == "yes") == field.nullable, name
        assert meaning.strip() == field.metadata[b"description"].decode(), name


def test_version_path_assets_and_checks_match_the_code() -> None:
    assert f"**Version {facts.CONTRACT_VERSION}.**" in TEXT
    assert re.search(rf"^\| {re.escape(facts.CONTRACT_VERSION)} \|", TEXT, flags=re.MULTILINE)
    assert facts.LINES.metadata[b"contract_version"].decode() == facts.CONTRACT_VERSION
    assert f"s3://<lake>/{FACTS_LINES_PATH}/dt=YYYY-MM-DD/" in TEXT
    for asset in (assets.FACTS_ADJUSTMENT_LINES, assets.WAREHOUSE_ADJUSTMENT_LINES):
        assert f"`{asset.name}`" in TEXT
    for check in CHECKS:
        assert f"| `{check}` |" in TEXT


@pytest.mark.parametrize(
    ("engine", "starting"),
    [
        ("athena", "CREATE EXTERNAL TABLE inventory_adjustment_lines_raw"),
        ("snowflake", "CREATE FILE FORMAT"),
        ("bigquery", "CREATE EXTERNAL TABLE `"),
    ],
)
def test_each_ddl_declares_every_column_with_its_mapped_type(engine: str, starting: str) -> None:
    ddl = block(starting)
    declared = re.findall(r"^  (\w+) (\w+(?:\(\d+,\d+\))?)", ddl, flags=re.MULTILINE)
    columns = [(name, type_) for name, type_ in declared if name in facts.LINES.names]
    assert columns == [(f.name, engine_type(engine, f.type)) for f in facts.LINES]


def test_the_filled_view_in_the_document_is_the_one_the_example_creates() -> None:
    def words(sql: str) -> list[str]:
        return sql.split()

    assert words(block("CREATE OR REPLACE VIEW")) == words(CREATE_FILLED_VIEW)


def staged(db: duckdb.DuckDBPyConnection, name: str, rows: list[tuple[Any, ...]]) -> None:
    """A staging table of facts rows: (item id, updated hour, status, dt)."""
    items = [
        stocky_item(item_id, 101, 1, at(DAY, 0) + timedelta(hours=hour), status=status)
        for item_id, hour, status, _ in rows
    ]
    lookup = flatten.stocky_adjustment_lookup(
        pa.Table.from_batches(
            [batch([stocky_adjustment(101, at(DAY, 1))], stocky.STOCK_ADJUSTMENTS)]
        )
    )
    lines = pa.Table.from_batches(
        [flatten.stocky_lines(batch(items, stocky.STOCK_ADJUSTMENT_ITEMS), lookup)]
    )
    lines = lines.append_column("dt", pa.array([row[3] for row in rows], pa.date32()))
    db.register("incoming", lines)
    db.execute(f"CREATE OR REPLACE TABLE {name} AS SELECT * FROM incoming")
    db.unregister("incoming")


def current(db: duckdb.DuckDBPyConnection) -> list[tuple[str, str, date]]:
    return db.execute(
        "SELECT line_key, status, dt FROM inventory_adjustment_lines ORDER BY line_key"
    ).fetchall()


def test_the_documented_merge_keeps_one_newest_row_per_line_key() -> None:
    merge = block("MERGE INTO inventory_adjustment_lines")
    with duckdb.connect() as db:
        staged(db, "staged_lines", [(1, 9, "not adjusted", DAY)])
        db.execute("CREATE TABLE inventory_adjustment_lines AS FROM staged_lines LIMIT 0")
        nxt = DAY + timedelta(days=1)
        # two partitions at once, one line in both: the newer version wins
        staged(
            db,
            "staged_lines",
            [(1, 9, "not adjusted", DAY), (2, 9, "adjusted", DAY), (1, 30, "adjusted", nxt)],
        )
        db.execute(merge)
        assert current(db) == [("stocky:1", "adjusted", nxt), ("stocky:2", "adjusted", DAY)]
        db.execute(merge)  # the same load again
        staged(db, "staged_lines", [(1, 9, "not adjusted", DAY)])
        db.execute(merge)  # an older partition loaded late
        assert current(db) == [("stocky:1", "adjusted", nxt), ("stocky:2", "adjusted", DAY)]


def test_the_documented_athena_query_gives_the_current_rows() -> None:
    query = block("SELECT * FROM (")
    with duckdb.connect() as db:
        nxt = DAY + timedelta(days=1)
        rows = [(1, 9, "not adjusted", DAY), (2, 9, "adjusted", DAY), (1, 30, "adjusted", nxt)]
        staged(db, "inventory_adjustment_lines_raw", rows)
        result = db.execute(query.rstrip().rstrip(";") + " ORDER BY line_key").fetchall()
    names = [field.name for field in facts.LINES]
    assert [(row[names.index("line_key")], row[names.index("status")]) for row in result] == [
        ("stocky:1", "adjusted"),
        ("stocky:2", "adjusted"),
    ]
