"""The warehouse load DAG's task body: fetch each facts partition the run names, one per shop
and day (`facts/inventory_adjustment_lines/shop=<id>/dt=…/`, checked against its `_SUCCESS`
marker), and MERGE it into the DuckDB file on (`shop`, `line_key`).

Which partitions: `facts.run_dates` decides, as for the facts DAG: the days of the params or
the data interval for the run's `shops` param (else every configured shop), or, in a run
started by facts events, the shop and day each event names.

The file's path comes from the `inventory_warehouse_duckdb` Airflow variable, else
`$AIRFLOW_HOME/warehouse/inventory_lake.duckdb`. DuckDB allows one writer per file, so the DAG
runs one load at a time.
"""

from __future__ import annotations

import logging
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from include.inventory_lake import assets
from include.inventory_lake.facts.run_dates import RunDatesError, context_run_partitions
from include.inventory_lake.failures import fail_fast_on
from include.inventory_lake.lake.connection import connect_lake
from include.inventory_lake.lake.partition_reader import (
    PartitionNotReady,
    PartitionSchemaMismatch,
    fetch_partition,
    read_markers,
)
from include.inventory_lake.lineage.recorder import RECORDER, schema_fields
from include.inventory_lake.schemas import facts
from include.inventory_lake.settings import FACTS_LINES_PATH
from include.inventory_lake.shops import (
    DEFAULT_SHOP_ID,
    Shop,
    ShopConfigError,
    configured_shops,
)
from include.inventory_lake.warehouse.duckdb_merge import TABLE, connect, merge_partition

log = logging.getLogger(__name__)

WAREHOUSE_PATH_VARIABLE = "inventory_warehouse_duckdb"


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


def load_partitions(context: Mapping[str, Any]) -> dict[str, Any]:
    with fail_fast_on(RunDatesError, ShopConfigError, PartitionNotReady, PartitionSchemaMismatch):
        wanted = context_run_partitions(context)
        configured = configured_shops()
        lake = connect_lake()
        partitions = [lake.partition(FACTS_LINES_PATH, p.shop, p.dt) for p in wanted]
        markers = read_markers(lake, partitions)
        path = warehouse_path()
        loads: list[dict[str, Any]] = []
        loaded_rows = 0
        with (
            tempfile.TemporaryDirectory(prefix="warehouse-") as tmp,
            connect(path, _legacy_shop(configured)) as db,
        ):
            for partition, marker in zip(partitions, markers, strict=True):
                fetched = fetch_partition(lake, partition, marker, facts.LINES, Path(tmp))
                result = merge_partition(
                    db, fetched.path, partition.shop, partition.dt, marker, partition.uri
                )
                log.info(
                    "merged %s: %d rows, %d inserted, %d updated, %d older than the table's",
                    partition.uri,
                    result.rows,
                    result.inserted,
                    result.updated,
                    result.kept_newer,
                )
                loaded_rows += result.rows
                loads.append(
                    {
                        "shop": partition.shop,
                        "dt": partition.dt.isoformat(),
                        "rows": result.rows,
                        "inserted": result.inserted,
                        "updated": result.updated,
                    }
                )
                fetched.path.unlink()
            row = db.execute(f"SELECT count(*) FROM {TABLE}").fetchone()
    summary = {"warehouse": str(path), "table": TABLE, "current_rows": row[0] if row else 0}
    RECORDER.record(
        "output",
        f"duckdb://{path}",
        TABLE,
        fields=schema_fields(facts.LINES),
        rows=loaded_rows,
    )
    context["outlet_events"][assets.WAREHOUSE_ADJUSTMENT_LINES].extra = {
        **summary,
        "dts": sorted({load["dt"] for load in loads}),
        "shops": sorted({load["shop"] for load in loads}),
    }
    return {**summary, "loads": loads}
