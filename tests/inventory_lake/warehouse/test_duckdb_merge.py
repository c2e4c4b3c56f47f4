"""MERGE into DuckDB keeps exactly one current row per line_key: reloads, late updates and
out-of-order loads included; a failed load changes nothing."""

from __future__ import annotations

import hashlib
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from include.inventory_lake.facts import flatten
from include.inventory_lake.schemas import facts, haravan, stocky
from include.inventory_lake.warehouse.duckdb_merge import (
    FILLED_VIEW,
    LOADS_TABLE,
    TABLE,
    MergeResult,
    connect,
    merge_partition,
)
from tests.inventory_lake.facts.raw_builders import (
    at,
    batch,
    haravan_adjustment,
    haravan_line,
    stocky_adjustment,
    stocky_item,
)

DAY = date(2026, 1, 10)
NEXT = DAY + timedelta(days=1)


def facts_file(
    directory: Path, day: date, *tables: pa.RecordBatch | pa.Table
) -> tuple[Path, dict[str, Any]]:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"facts-{day.isoformat()}.parquet"
    pq.write_table(pa.concat_tables([pa.table(t) for t in tables]), path)
    marker = {
        "rows": sum(t.num_rows for t in tables),
        "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
        "run_id": f"facts-{day}",
    }
    return path, marker


def haravan_facts(day: date) -> pa.RecordBatch:
    raw = haravan_adjustment(
        1,
        at(day, 8),
        [haravan_line(11, -11, "-11000000.00"), haravan_line(12, 50000, "150000000000.00")],
    )
    return flatten.haravan_lines(batch([raw], haravan.ADJUSTMENTS))


def stocky_facts(day: date, *items: dict[str, Any]) -> pa.RecordBatch:
    lookup = flatten.stocky_adjustment_lookup(
        pa.Table.from_batches(
            [batch([stocky_adjustment(101, at(day, 9))], stocky.STOCK_ADJUSTMENTS)]
        )
    )
    return flatten.stocky_lines(batch(list(items), stocky.STOCK_ADJUSTMENT_ITEMS), lookup)


def load(
    db: duckdb.DuckDBPyConnection, file: tuple[Path, dict[str, Any]], day: date
) -> MergeResult:
    path, marker = file
    return merge_partition(db, path, day, marker, f"s3://lake/facts/dt={day}/")


def current(db: duckdb.DuckDBPyConnection, table: str = TABLE) -> dict[str, dict[str, Any]]:
    cursor = db.execute(f"SELECT * FROM {table} ORDER BY line_key")
    names = [column[0] for column in cursor.description]
    return {
        row[names.index("line_key")]: dict(zip(names, row, strict=True))
        for row in cursor.fetchall()
    }


@pytest.fixture()
def db(tmp_path: Path) -> duckdb.DuckDBPyConnection:
    return connect(tmp_path / "warehouse" / "inventory.duckdb")


def test_loading_a_partition_twice_leaves_one_row_per_line_key(
    db: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    file = facts_file(
        tmp_path, DAY, haravan_facts(DAY), stocky_facts(DAY, stocky_item(1001, 101, -4, at(DAY, 9)))
    )
    first = load(db, file, DAY)
    rows_after_first = current(db)
    second = load(db, file, DAY)

    assert (first.inserted, first.updated) == (3, 0)
    assert (second.inserted, second.updated, second.kept_newer) == (0, 3, 0)
    rows = current(db)
    assert list(rows) == ["haravan:11", "haravan:12", "stocky:1001"]
    assert {k: {**r, "loaded_at": None} for k, r in rows.items()} == {
        k: {**r, "loaded_at": None} for k, r in rows_after_first.items()
    }
    assert db.execute(f"SELECT count(*) FROM {LOADS_TABLE}").fetchone() == (2,)


def test_a_late_update_replaces_the_line_and_an_older_load_never_brings_it_back(
    db: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    early = facts_file(
        tmp_path,
        DAY,
        stocky_facts(
            DAY,
            stocky_item(1001, 101, 5, at(DAY, 9), status="not adjusted", new_quantity=None),
            stocky_item(1002, 101, 1, at(DAY, 9)),
        ),
    )
    late = facts_file(tmp_path, NEXT, stocky_facts(NEXT, stocky_item(1001, 101, 5, at(NEXT, 2))))

    load(db, early, DAY)
    update = load(db, late, NEXT)
    assert (update.inserted, update.updated) == (0, 1)
    replay = load(db, early, DAY)
    assert (replay.inserted, replay.updated, replay.kept_newer) == (0, 1, 1)

    rows = current(db)
    assert list(rows) == ["stocky:1001", "stocky:1002"]
    assert rows["stocky:1001"]["status"] == "adjusted"
    assert rows["stocky:1001"]["new_quantity"] == 8
    assert rows["stocky:1001"]["updated_at"] == at(NEXT, 2)
    assert rows["stocky:1001"]["dt"] == NEXT
    assert rows["stocky:1002"]["dt"] == DAY


def test_values_arrive_with_their_exact_types(
    db: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    load(db, facts_file(tmp_path, DAY, haravan_facts(DAY)), DAY)
    row = current(db)["haravan:12"]
    assert row["cost_amount"] == Decimal("150000000000.00")
    assert row["note"] == "hàng hư hỏng do nhà sản xuất"
    assert row["updated_at"] == at(DAY, 8)
    assert row["adjustment_missing"] is False and row["status"] is None
    types = dict(db.execute(f"SELECT column_name, column_type FROM (DESCRIBE {TABLE})").fetchall())
    assert types["cost_amount"] == "DECIMAL(18,2)"
    assert types["updated_at"] == "TIMESTAMP WITH TIME ZONE"
    assert types["line_id"] == "BIGINT"


def test_a_failed_load_changes_nothing(db: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    good = facts_file(tmp_path, DAY, haravan_facts(DAY))
    load(db, good, DAY)
    lines = pa.Table.from_batches([haravan_facts(NEXT)])
    loose = facts.LINES.set(1, facts.LINES.field("line_key").with_nullable(True))
    keys = pa.array([None, "haravan:13"], pa.string())
    broken = lines.cast(loose).set_column(1, loose.field(1), keys)  # a writer that lost a key
    with pytest.raises(duckdb.ConstraintException):
        load(db, facts_file(tmp_path, NEXT, broken), NEXT)
    assert list(current(db)) == ["haravan:11", "haravan:12"]
    assert current(db)["haravan:11"]["dt"] == DAY
    assert db.execute(f"SELECT count(*) FROM {LOADS_TABLE}").fetchone() == (1,)


def test_the_filled_view_gives_flagged_items_their_adjustment_from_another_day(
    db: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    orphan_day = pa.Table.from_batches(
        [
            flatten.stocky_lines(
                batch([stocky_item(1001, 101, 5, at(DAY, 9))], stocky.STOCK_ADJUSTMENT_ITEMS),
                flatten.stocky_adjustment_lookup(stocky.STOCK_ADJUSTMENTS.empty_table()),
            )
        ]
    )
    load(db, facts_file(tmp_path, DAY, orphan_day), DAY)
    load(
        db,
        facts_file(tmp_path, NEXT, stocky_facts(NEXT, stocky_item(1002, 101, 1, at(NEXT, 1)))),
        NEXT,
    )
    load(db, facts_file(tmp_path / "h", DAY, haravan_facts(DAY)), DAY)

    table, filled = current(db), current(db, FILLED_VIEW)
    assert table["stocky:1001"]["adjustment_missing"] is True
    assert table["stocky:1001"]["location_id"] is None
    orphan = filled["stocky:1001"]
    assert orphan["adjustment_missing"] is True, "the flag still says where the values came from"
    assert (orphan["location_id"], orphan["location_shopify_id"]) == (11, 61234567890)
    assert (orphan["reason"], orphan["adjustment_number"]) == ("Damaged", "1")
    assert orphan["created_at"] == at(NEXT, 9) and orphan["note"] == "kiểm kê cuối ngày"
    assert filled["stocky:1002"] == table["stocky:1002"]
    assert filled["haravan:11"] == table["haravan:11"]
