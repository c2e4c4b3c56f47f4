"""MERGE a facts partition into a DuckDB table with one current row per (`shop`, `line_key`).

The rule is the contract's: insert unknown keys; replace a known key only with a version at
least as new (`updated_at >=`), so loading a partition twice changes nothing and loading an
old partition after a newer one never brings back an old version. Each load is one
transaction (MERGE plus a row in the loads table), so a failure leaves the table as it was.

A warehouse file created under contract 1.x (no `shop` column, key `line_key`) is upgraded when
it is opened: its rows take the shop id the lake's migration gave the old partitions
(`legacy_shop`, `default` unless said otherwise), and the key becomes (`shop`, `line_key`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from include.inventory_lake.schemas import facts
from include.inventory_lake.shops import DEFAULT_SHOP_ID

TABLE = "inventory_adjustment_lines"
LOADS_TABLE = "inventory_adjustment_line_loads"
# One row per load from the Iceberg table: the snapshot it reached and what it read.
SNAPSHOT_LOADS_TABLE = "inventory_adjustment_line_snapshot_loads"
FILLED_VIEW = "inventory_adjustment_lines_filled"


def duckdb_type(type_: pa.DataType) -> str:
    if pa.types.is_string(type_):
        return "VARCHAR"
    if pa.types.is_int64(type_):
        return "BIGINT"
    if pa.types.is_boolean(type_):
        return "BOOLEAN"
    if pa.types.is_decimal(type_):
        return f"DECIMAL({type_.precision}, {type_.scale})"
    if pa.types.is_timestamp(type_) and type_.tz == "UTC":
        return "TIMESTAMPTZ"
    raise NotImplementedError(f"no DuckDB type for {type_}")


def _columns_ddl() -> str:
    columns = [
        f"{field.name} {duckdb_type(field.type)}{'' if field.nullable else ' NOT NULL'}"
        for field in facts.LINES
    ]
    columns += ["dt DATE NOT NULL", "loaded_at TIMESTAMPTZ NOT NULL"]
    return ",\n    ".join(columns)


CREATE_TABLES = f"""
CREATE TABLE IF NOT EXISTS {TABLE} (
    {_columns_ddl()},
    PRIMARY KEY (shop, line_key)
);
CREATE TABLE IF NOT EXISTS {LOADS_TABLE} (
    shop VARCHAR NOT NULL,
    dt DATE NOT NULL,
    uri VARCHAR NOT NULL,
    sha256 VARCHAR,
    rows BIGINT NOT NULL,
    inserted BIGINT NOT NULL,
    updated BIGINT NOT NULL,
    facts_run_id VARCHAR,
    loaded_at TIMESTAMPTZ NOT NULL,
    deleted BIGINT,
    snapshot_id BIGINT
);
CREATE TABLE IF NOT EXISTS {SNAPSHOT_LOADS_TABLE} (
    snapshot_id BIGINT,
    since_snapshot_id BIGINT,
    mode VARCHAR NOT NULL,
    reason VARCHAR,
    partitions BIGINT NOT NULL,
    rows_read BIGINT NOT NULL,
    data_files_read BIGINT NOT NULL,
    lookup_rows_read BIGINT NOT NULL,
    lookup_data_files_read BIGINT NOT NULL,
    inserted BIGINT NOT NULL,
    updated BIGINT NOT NULL,
    deleted BIGINT NOT NULL,
    loaded_at TIMESTAMPTZ NOT NULL
);
"""
# A loads table of a file created before the facts were read from the Iceberg table: a load
# from the table has no file checksum, and records the lines it deleted and the snapshot.
UPGRADE_LOADS_TABLE = f"""
ALTER TABLE {LOADS_TABLE} ALTER COLUMN sha256 DROP NOT NULL;
ALTER TABLE {LOADS_TABLE} ADD COLUMN IF NOT EXISTS deleted BIGINT;
ALTER TABLE {LOADS_TABLE} ADD COLUMN IF NOT EXISTS snapshot_id BIGINT;
"""

# Stocky items flagged `adjustment_missing` take the adjustment's columns from the newest row
# of the same adjustment of the same shop that has them (the contract's recipe, verbatim).
CREATE_FILLED_VIEW = f"""
CREATE OR REPLACE VIEW {FILLED_VIEW} AS
SELECT line.* REPLACE (
    coalesce(line.adjustment_number, adjustment.adjustment_number) AS adjustment_number,
    coalesce(line.location_id, adjustment.location_id) AS location_id,
    coalesce(line.location_shopify_id, adjustment.location_shopify_id) AS location_shopify_id,
    coalesce(line.reason, adjustment.reason) AS reason,
    coalesce(line.created_at, adjustment.created_at) AS created_at,
    coalesce(line.note, adjustment.note) AS note,
    coalesce(line.archived, adjustment.archived) AS archived
)
FROM {TABLE} AS line
LEFT JOIN (
    SELECT shop, adjustment_id, adjustment_number, location_id, location_shopify_id, reason,
        created_at, note, archived
    FROM {TABLE}
    WHERE source = 'stocky' AND NOT adjustment_missing
    QUALIFY row_number() OVER (PARTITION BY shop, adjustment_id ORDER BY updated_at DESC) = 1
) AS adjustment
    ON line.source = 'stocky' AND line.adjustment_missing
    AND adjustment.shop = line.shop AND adjustment.adjustment_id = line.adjustment_id
"""

_NAMES = [field.name for field in facts.LINES] + ["dt", "loaded_at"]
KEY = ("shop", "line_key")


def merge_sql(incoming: str) -> str:
    """The MERGE of the rows of the query `incoming` (the contract's columns and `dt`, at most
    one row per key) into the table, with the contract's rule; returns each row's action and
    the partition (`shop`, `dt`) of the row it merged."""
    return f"""
MERGE INTO {TABLE} AS current
USING (SELECT *, now() AS loaded_at FROM ({incoming})) AS incoming
ON current.shop = incoming.shop AND current.line_key = incoming.line_key
WHEN MATCHED AND incoming.updated_at >= current.updated_at THEN UPDATE SET
    {", ".join(f"{name} = incoming.{name}" for name in _NAMES if name not in KEY)}
WHEN NOT MATCHED THEN INSERT ({", ".join(_NAMES)})
    VALUES ({", ".join(f"incoming.{name}" for name in _NAMES)})
RETURNING merge_action, shop, dt
"""


MERGE = merge_sql("SELECT *, $dt::DATE AS dt FROM read_parquet($path)")


@dataclass(frozen=True)
class MergeResult:
    shop: str
    dt: date
    rows: int
    inserted: int
    updated: int

    @property
    def kept_newer(self) -> int:
        """Rows of the partition older than the version already in the table."""
        return self.rows - self.inserted - self.updated


def _columns(connection: duckdb.DuckDBPyConnection, table: str) -> list[str]:
    rows = connection.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_name = $table "
        "ORDER BY ordinal_position",
        {"table": table},
    ).fetchall()
    return [row[0] for row in rows]


def upgrade_from_1x(connection: duckdb.DuckDBPyConnection, legacy_shop: str) -> bool:
    """Give a contract 1.x warehouse the `shop` column (value `legacy_shop`) and the key
    (`shop`, `line_key`), in one transaction; False when there is nothing to upgrade. DuckDB
    cannot change a primary key in place: the table is rebuilt."""
    columns = _columns(connection, TABLE)
    if not columns or "shop" in columns:
        return False
    connection.execute("BEGIN TRANSACTION")
    try:
        connection.execute(f"DROP VIEW IF EXISTS {FILLED_VIEW}")
        connection.execute(f"ALTER TABLE {TABLE} RENAME TO {TABLE}_1x")
        connection.execute(f"ALTER TABLE {LOADS_TABLE} RENAME TO {LOADS_TABLE}_1x")
        connection.execute(CREATE_TABLES)
        connection.execute(
            f"INSERT INTO {TABLE} BY NAME SELECT $shop AS shop, * FROM {TABLE}_1x",
            {"shop": legacy_shop},
        )
        connection.execute(
            f"INSERT INTO {LOADS_TABLE} BY NAME SELECT $shop AS shop, * FROM {LOADS_TABLE}_1x",
            {"shop": legacy_shop},
        )
        connection.execute(f"DROP TABLE {TABLE}_1x")
        connection.execute(f"DROP TABLE {LOADS_TABLE}_1x")
        connection.execute("COMMIT")
    except BaseException:
        connection.execute("ROLLBACK")
        raise
    return True


def connect(path: Path, legacy_shop: str = DEFAULT_SHOP_ID) -> duckdb.DuckDBPyConnection:
    """Open (or create) the warehouse file; a 1.x one is upgraded (`upgrade_from_1x`)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    connection = duckdb.connect(str(path))
    upgrade_from_1x(connection, legacy_shop)
    connection.execute(CREATE_TABLES)
    connection.execute(UPGRADE_LOADS_TABLE)
    connection.execute(CREATE_FILLED_VIEW)
    return connection


def merge_partition(
    connection: duckdb.DuckDBPyConnection,
    parquet_path: Path,
    shop: str,
    dt: date,
    marker: dict[str, Any],
    uri: str,
) -> MergeResult:
    """MERGE one partition of one shop; its rows must all belong to that shop."""
    connection.execute("BEGIN TRANSACTION")
    try:
        strays = connection.execute(
            "SELECT count(*) FROM read_parquet($path) WHERE shop IS DISTINCT FROM $shop",
            {"path": str(parquet_path), "shop": shop},
        ).fetchone()
        if strays and strays[0]:
            raise ValueError(f"{uri}: {strays[0]} row(s) of another shop than {shop!r}")
        actions = [
            row[0]
            for row in connection.execute(MERGE, {"dt": dt, "path": str(parquet_path)}).fetchall()
        ]
        result = MergeResult(
            shop=shop,
            dt=dt,
            rows=int(marker["rows"]),
            inserted=actions.count("INSERT"),
            updated=actions.count("UPDATE"),
        )
        connection.execute(
            f"INSERT INTO {LOADS_TABLE} BY NAME SELECT $shop AS shop, $dt AS dt, $uri AS uri, "
            "$sha AS sha256, $rows AS rows, $ins AS inserted, $upd AS updated, "
            "$run AS facts_run_id, now() AS loaded_at",
            {
                "shop": shop,
                "dt": dt,
                "uri": uri,
                "sha": marker["sha256"],
                "rows": result.rows,
                "ins": result.inserted,
                "upd": result.updated,
                "run": marker.get("run_id"),
            },
        )
        connection.execute("COMMIT")
    except BaseException:
        connection.execute("ROLLBACK")
        raise
    return result
