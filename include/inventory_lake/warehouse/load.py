"""The warehouse load DAG's task body: MERGE into the DuckDB file, on (`shop`, `line_key`),
the partitions of the facts table (`inventory_lake.inventory_adjustment_lines`, in the catalog
of the `iceberg_default` connection) that changed since the snapshot the warehouse last
loaded, and record the snapshot reached.

What to read comes from the table's metadata (`iceberg.changes`): the partitions of the data
files the newer snapshots added or deleted. Then only those partitions' rows are read, through
pyiceberg (a scan filtered on `shop` and `dt`, pruned to their data files), and merged
(`snapshot_merge`: a line a replaced partition no longer holds takes its newest version
elsewhere in the table, or is deleted). Nothing new: nothing read, 0 data files. No snapshot
loaded yet (a new warehouse file), or the last one expired by the table's maintenance: every
partition is read (a full, exact reload, said in the log).

A manual run with `dt_start` (and `dt_end`, `shops`) reads those partitions again too, with the
changes: a repair after the warehouse was edited by hand. Which run started the load does not
matter otherwise: an asset-triggered run, a manual one and a backfill's each load all changes.

The file's path comes from the `inventory_warehouse_duckdb` Airflow variable, else
`$AIRFLOW_HOME/warehouse/inventory_lake.duckdb`. DuckDB allows one writer per file, so the DAG
runs one load at a time.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb
import pyarrow as pa

from include.inventory_lake import assets
from include.inventory_lake.facts.run_dates import RunDatesError, days_from_params
from include.inventory_lake.failures import fail_fast_on
from include.inventory_lake.iceberg.changes import changes_since
from include.inventory_lake.iceberg.facts_table import IDENTIFIER, QUALIFIED_NAME
from include.inventory_lake.iceberg.read import no_rows, read_lines, read_partitions
from include.inventory_lake.lake.location import ShopDay
from include.inventory_lake.lineage.recorder import RECORDER, schema_fields
from include.inventory_lake.schemas import facts
from include.inventory_lake.settings import ICEBERG_CONN_ID
from include.inventory_lake.shops import (
    DEFAULT_SHOP_ID,
    Shop,
    ShopConfigError,
    configured_shops,
    select_shops,
)
from include.inventory_lake.warehouse.duckdb_merge import TABLE, connect
from include.inventory_lake.warehouse.snapshot_merge import (
    SnapshotLoad,
    last_loaded_snapshot,
    merge_snapshot,
)

if TYPE_CHECKING:
    from pyiceberg.catalog import Catalog
    from pyiceberg.table import Table

log = logging.getLogger(__name__)

WAREHOUSE_PATH_VARIABLE = "inventory_warehouse_duckdb"


class FactsTableMissing(RuntimeError):
    """The catalog has no facts table yet."""


def warehouse_path() -> Path:
    from airflow.sdk import Variable

    default = Path(os.environ.get("AIRFLOW_HOME", "~/airflow")) / "warehouse"
    return Path(
        Variable.get(WAREHOUSE_PATH_VARIABLE, default=str(default / "inventory_lake.duckdb"))
    ).expanduser()


def _legacy_shop(shops: list[Shop]) -> str:
    """The shop id rows of a 1.x warehouse file get: the only shop of a single-shop
    deployment, else `default` (the migration's default)."""
    return shops[0].id if len(shops) == 1 else DEFAULT_SHOP_ID


def facts_table(catalog: Catalog) -> Table:
    from pyiceberg.exceptions import NoSuchNamespaceError, NoSuchTableError

    try:
        return catalog.load_table(IDENTIFIER)
    except (NoSuchTableError, NoSuchNamespaceError):
        raise FactsTableMissing(
            f"the Iceberg table {QUALIFIED_NAME} does not exist yet in the catalog of the "
            f"{ICEBERG_CONN_ID!r} connection: the facts DAG (inventory_adjustment_facts) "
            "creates it with its first partition, or migrate a 2.0 lake into it; nothing "
            "was loaded"
        ) from None


def reload_partitions(params: Mapping[str, Any], shops: list[Shop]) -> list[ShopDay]:
    """The partitions a manual run asks to read again: each of its days in each of its shops."""
    days = days_from_params(params)
    if not days:
        return []
    chosen = select_shops(shops, params.get("shops"))
    return [ShopDay(shop.id, day) for shop in chosen for day in days]


def load_table(
    db: duckdb.DuckDBPyConnection, table: Table, reload: Iterable[ShopDay] = ()
) -> SnapshotLoad:
    """Bring the warehouse to the table's current snapshot (see the module doc)."""
    since = last_loaded_snapshot(db)
    changes = changes_since(table, since)
    source = f"iceberg://{'.'.join(table.name())}"
    snapshot_id = changes.snapshot_id

    def lookup(keys: dict[str, list[str]]) -> tuple[pa.Table, int]:
        found = read_lines(table, keys, snapshot_id)
        return found.rows, found.data_files

    common: dict[str, Any] = {
        "snapshot_id": snapshot_id,
        "since_snapshot_id": since,
        "source_uri": source,
        "run_ids": changes.run_ids,
    }
    if changes.full:
        if since is None:
            log.info("%s: no snapshot loaded yet, reading the whole table", QUALIFIED_NAME)
        else:
            log.warning("%s: %s; reading the whole table again", QUALIFIED_NAME, changes.reason)
        staged = read_partitions(table, None, snapshot_id)
        return merge_snapshot(
            db, staged.rows, None, lookup, mode="full", reason=changes.reason,
            data_files_read=staged.data_files, **common,
        )  # fmt: skip
    partitions = set(changes.partitions) | set(reload)
    if snapshot_id is None or not partitions:
        log.info(
            "%s: nothing new since snapshot %s (%s); nothing read",
            QUALIFIED_NAME, since, changes.reason or "no newer snapshot with changed rows",
        )  # fmt: skip
        empty = no_rows(table)
        return merge_snapshot(db, empty, [], lookup, mode="unchanged", **common)
    staged = read_partitions(table, partitions, snapshot_id)
    log.info(
        "%s: %d snapshot(s) after %s changed %d partition(s) (%d manifest(s) read)%s; "
        "read %d rows in %d data file(s)",
        QUALIFIED_NAME, changes.snapshots, since, len(changes.partitions),
        changes.manifests_read, f", {len(set(reload))} asked to reload" if reload else "",
        staged.rows.num_rows, staged.data_files,
    )  # fmt: skip
    return merge_snapshot(
        db, staged.rows, sorted(partitions), lookup, mode="incremental",
        data_files_read=staged.data_files, **common,
    )  # fmt: skip


def load_changes(context: Mapping[str, Any]) -> dict[str, Any]:
    from include.inventory_lake.iceberg.catalog import open_catalog

    with fail_fast_on(RunDatesError, ShopConfigError, FactsTableMissing):
        configured = configured_shops()
        reload = reload_partitions(context.get("params") or {}, configured)
        table = facts_table(open_catalog())
        path = warehouse_path()
        with connect(path, _legacy_shop(configured)) as db:
            load = load_table(db, table, reload)
            row = db.execute(f"SELECT count(*) FROM {TABLE}").fetchone()
    for partition in load.partitions:
        log.info(
            "merged %s|%s: %d rows, %d inserted, %d updated, %d deleted",
            partition.shop, partition.dt, partition.rows, partition.inserted,
            partition.updated, partition.deleted,
        )  # fmt: skip
    if load.lookup_rows_read or load.restored:
        log.info(
            "lines no longer in their partition: %d took their newest version elsewhere, "
            "%d deleted (%d rows in %d data file(s) read to find them)",
            load.restored, load.deleted, load.lookup_rows_read, load.lookup_data_files_read,
        )  # fmt: skip
    summary = {"warehouse": str(path), "table": TABLE, "current_rows": row[0] if row else 0}
    RECORDER.record(
        "output",
        f"duckdb://{path}",
        TABLE,
        fields=schema_fields(facts.LINES),
        rows=load.rows_read,
    )
    dts = sorted({partition.dt.isoformat() for partition in load.partitions})
    shops = sorted({partition.shop for partition in load.partitions})
    context["outlet_events"][assets.WAREHOUSE_ADJUSTMENT_LINES].extra = {
        **summary,
        "dts": dts,
        "shops": shops,
        "snapshot_id": load.snapshot_id,
    }
    return {**summary, **figures(load)}


def figures(load: SnapshotLoad) -> dict[str, Any]:
    """What the load did and read, for its XCom."""
    return {
        "mode": load.mode,
        "snapshot_id": load.snapshot_id,
        "since_snapshot_id": load.since_snapshot_id,
        "reason": load.reason,
        "rows_read": load.rows_read,
        "data_files_read": load.data_files_read,
        "lookup_rows_read": load.lookup_rows_read,
        "lookup_data_files_read": load.lookup_data_files_read,
        "inserted": load.inserted,
        "updated": load.updated,
        "deleted": load.deleted,
        "restored": load.restored,
        "loads": [
            {
                "shop": partition.shop,
                "dt": partition.dt.isoformat(),
                "rows": partition.rows,
                "inserted": partition.inserted,
                "updated": partition.updated,
                "deleted": partition.deleted,
            }
            for partition in load.partitions
        ],
    }
