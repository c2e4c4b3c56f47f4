"""MERGE into DuckDB keeps exactly one current row per (shop, line_key): reloads, late updates
and out-of-order loads included; shops never mix; a failed load changes nothing; a 1.x
warehouse file is upgraded in place."""

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
from include.inventory_lake.lake.stocky_lookup import stocky_adjustment_lookup
from include.inventory_lake.schemas import facts, haravan, stocky
from include.inventory_lake.shops import DEFAULT_SHOP_ID
from include.inventory_lake.warehouse.duckdb_merge import (
    FILLED_VIEW,
    LOADS_TABLE,
    TABLE,
    MergeResult,
    connect,
    duckdb_type,
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


def in_shop(lines: pa.RecordBatch | pa.Table, shop: str = DEFAULT_SHOP_ID) -> pa.Table:
    """Facts rows of `shop` (the `shop` column set on every row)."""
    table = pa.table(lines)
    shops = pa.array([shop] * table.num_rows, pa.string())
    return table.set_column(table.schema.get_field_index("shop"), facts.LINES.field("shop"), shops)


def facts_file(
    directory: Path, day: date, *tables: pa.RecordBatch | pa.Table, shop: str = DEFAULT_SHOP_ID
) -> tuple[Path, dict[str, Any]]:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"facts-{shop}-{day.isoformat()}.parquet"
    pq.write_table(pa.concat_tables([in_shop(t, shop) for t in tables]), path)
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
    return flatten.haravan_lines(batch([raw], haravan.ADJUSTMENTS), DEFAULT_SHOP_ID)


def stocky_facts(day: date, *items: dict[str, Any]) -> pa.RecordBatch:
    lookup = stocky_adjustment_lookup(
        pa.Table.from_batches(
            [batch([stocky_adjustment(101, at(day, 9))], stocky.STOCK_ADJUSTMENTS)]
        )
    )
    return flatten.stocky_lines(
        batch(list(items), stocky.STOCK_ADJUSTMENT_ITEMS), lookup, DEFAULT_SHOP_ID
    )


def load(
    db: duckdb.DuckDBPyConnection,
    file: tuple[Path, dict[str, Any]],
    day: date,
    shop: str = DEFAULT_SHOP_ID,
) -> MergeResult:
    path, marker = file
    return merge_partition(db, path, shop, day, marker, f"s3://lake/facts/shop={shop}/dt={day}/")


def current(
    db: duckdb.DuckDBPyConnection, table: str = TABLE, shop: str = DEFAULT_SHOP_ID
) -> dict[str, dict[str, Any]]:
    cursor = db.execute(
        f"SELECT * FROM {table} WHERE shop = $shop ORDER BY line_key", {"shop": shop}
    )
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
    lines = in_shop(haravan_facts(NEXT))
    at_key = facts.LINES.get_field_index("line_key")
    loose = facts.LINES.set(at_key, facts.LINES.field("line_key").with_nullable(True))
    keys = pa.array([None, "haravan:13"], pa.string())
    broken = lines.cast(loose).set_column(at_key, loose.field(at_key), keys)  # a lost key
    with pytest.raises(duckdb.ConstraintException):
        load(db, facts_file(tmp_path, NEXT, broken), NEXT)
    assert list(current(db)) == ["haravan:11", "haravan:12"]
    assert current(db)["haravan:11"]["dt"] == DAY
    assert db.execute(f"SELECT count(*) FROM {LOADS_TABLE}").fetchone() == (1,)


def test_the_filled_view_gives_flagged_items_their_adjustment_from_another_day(
    db: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    orphan_day = in_shop(
        pa.Table.from_batches(
            [
                flatten.stocky_lines(
                    batch([stocky_item(1001, 101, 5, at(DAY, 9))], stocky.STOCK_ADJUSTMENT_ITEMS),
                    stocky_adjustment_lookup(stocky.STOCK_ADJUSTMENTS.empty_table()),
                    DEFAULT_SHOP_ID,
                )
            ]
        )
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


def test_the_same_line_key_in_two_shops_is_two_lines(
    db: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    load(db, facts_file(tmp_path, DAY, haravan_facts(DAY)), DAY)
    hanoi = load(db, facts_file(tmp_path, DAY, haravan_facts(DAY), shop="hanoi"), DAY, "hanoi")
    assert (hanoi.inserted, hanoi.updated) == (2, 0), "another shop's keys are new keys"
    assert list(current(db)) == list(current(db, shop="hanoi")) == ["haravan:11", "haravan:12"]
    loads = db.execute(f"SELECT shop, dt FROM {LOADS_TABLE} ORDER BY shop").fetchall()
    assert loads == [("default", DAY), ("hanoi", DAY)]


def test_a_partition_holding_another_shops_rows_is_refused(
    db: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    with pytest.raises(ValueError, match="another shop"):
        load(db, facts_file(tmp_path, DAY, haravan_facts(DAY), shop="hanoi"), DAY, "default")
    assert db.execute(f"SELECT count(*) FROM {TABLE}").fetchone() == (0,)
    assert db.execute(f"SELECT count(*) FROM {LOADS_TABLE}").fetchone() == (0,)


def test_the_filled_view_takes_the_adjustment_of_the_same_shop_only(
    db: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    orphan = flatten.stocky_lines(
        batch([stocky_item(1001, 101, 5, at(DAY, 9))], stocky.STOCK_ADJUSTMENT_ITEMS),
        stocky_adjustment_lookup(stocky.STOCK_ADJUSTMENTS.empty_table()),
        "hanoi",
    )
    load(db, facts_file(tmp_path, DAY, orphan, shop="hanoi"), DAY, "hanoi")
    # adjustment 101 of another shop (another Stocky store: ids are not shared)
    other = stocky_facts(NEXT, stocky_item(1002, 101, 1, at(NEXT, 1)))
    load(db, facts_file(tmp_path, NEXT, other), NEXT)
    assert current(db, FILLED_VIEW, "hanoi")["stocky:1001"]["location_id"] is None


def test_a_warehouse_file_of_contract_1x_is_upgraded_with_the_legacy_shop(tmp_path: Path) -> None:
    path = tmp_path / "old.duckdb"
    old_columns = [  # the 1.x table: the columns without `shop`, keyed on `line_key`
        f"{f.name} {duckdb_type(f.type)}{'' if f.nullable else ' NOT NULL'}"
        for f in facts.LINES
        if f.name != "shop"
    ]
    with duckdb.connect(str(path)) as old:
        old.execute(
            f"CREATE TABLE {TABLE} ({', '.join(old_columns)}, dt DATE NOT NULL, "
            "loaded_at TIMESTAMPTZ NOT NULL, PRIMARY KEY (line_key))"
        )
        old.execute(
            f"INSERT INTO {TABLE} (source, line_key, line_id, updated_at, adjustment_missing, "
            "dt, loaded_at) VALUES ('haravan', 'haravan:11', 11, TIMESTAMPTZ "
            "'2026-01-10 08:00:00+00', false, DATE '2026-01-10', now())"
        )
        old.execute(
            f"CREATE TABLE {LOADS_TABLE} (dt DATE NOT NULL, uri VARCHAR NOT NULL, sha256 VARCHAR "
            "NOT NULL, rows BIGINT NOT NULL, inserted BIGINT NOT NULL, updated BIGINT NOT NULL, "
            "facts_run_id VARCHAR, loaded_at TIMESTAMPTZ NOT NULL)"
        )
        old.execute(
            f"INSERT INTO {LOADS_TABLE} VALUES ('2026-01-10', 's3://x', 'ab', 1, 1, 0, 'r', now())"
        )
    with connect(path, legacy_shop="hanoi") as db:
        kept = db.execute(f"SELECT shop, line_key, line_id, dt FROM {TABLE}").fetchall()
        assert kept == [("hanoi", "haravan:11", 11, DAY)]
        assert db.execute(f"SELECT shop, uri FROM {LOADS_TABLE}").fetchall() == [
            ("hanoi", "s3://x")
        ]
        # the key is (shop, line_key) now: the default shop's line 11 is another line
        load(db, facts_file(tmp_path, DAY, haravan_facts(DAY)), DAY)
        again = load(db, facts_file(tmp_path, DAY, haravan_facts(DAY), shop="hanoi"), DAY, "hanoi")
        assert (again.inserted, again.updated) == (1, 1)
        assert db.execute(f"SELECT count(*) FROM {TABLE}").fetchone() == (4,)
    with connect(path) as reopened:  # upgraded once
        assert reopened.execute(f"SELECT count(*) FROM {TABLE}").fetchone() == (4,)
