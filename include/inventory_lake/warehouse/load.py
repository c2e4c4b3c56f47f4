"""The warehouse load DAG's task body: fetch each facts partition the run names, one per shop
and day (`facts/inventory_adjustment_lines/shop=<id>/dt=…/`, checked against its `_SUCCESS`
marker), and MERGE it into the DuckDB file on (`shop`, `line_key`).

Which shops: the run's `shops` param, else all configured shops (the `inventory_lake_shops`
Variable); a run started by facts events loads, for each event's day, the shop the event names
(its `shop`, or the `shop=` of its `uri`), or every selected shop when it names none.

The file's path comes from the `inventory_warehouse_duckdb` Airflow variable, else
`$AIRFLOW_HOME/warehouse/inventory_lake.duckdb`. DuckDB allows one writer per file, so the DAG
runs one load at a time.
"""

from __future__ import annotations

import logging
import os
import re
import tempfile
from collections.abc import Mapping
from datetime import date
from pathlib import Path
from typing import Any

from include.inventory_lake import assets
from include.inventory_lake.dag_defaults import SHOPS_PARAM_NAME
from include.inventory_lake.facts.run_dates import RunDatesError, context_run_dates
from include.inventory_lake.failures import fail_fast_on
from include.inventory_lake.lake.connection import lake_root, s3_client
from include.inventory_lake.lake.location import Partition
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
    select_shops,
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


_SHOP_IN_URI = re.compile(r"/shop=([^/]+)/")


def _event_shops(context: Mapping[str, Any]) -> dict[date, set[str]] | None:
    """The shops the triggering events name, per day; None when the run is not one of facts
    events that all name their shop (then every selected shop is loaded for each day)."""
    if (context.get("params") or {}).get("dt_start"):
        return None
    triggering = context.get("triggering_asset_events") or {}
    named: dict[date, set[str]] = {}
    for asset_events in triggering.values():
        for event in asset_events:
            extra = event.extra or {}
            found = _SHOP_IN_URI.search(str(extra.get("uri", "")))
            shop = extra.get("shop") or (found.group(1) if found else None)
            if not shop or "dt" not in extra:
                return None
            named.setdefault(date.fromisoformat(str(extra["dt"])), set()).add(str(shop))
    return named or None


def shop_days(
    context: Mapping[str, Any], days: list[date], shops: list[Shop]
) -> list[tuple[str, date]]:
    """The (shop id, day) partitions the run loads, by shop then day."""
    by_event = _event_shops(context)
    selected = [shop.id for shop in shops]
    if by_event is None:
        return [(shop, day) for shop in selected for day in days]
    return [(shop, day) for shop in selected for day in days if shop in by_event.get(day, ())]


def _legacy_shop(shops: list[Shop]) -> str:
    """The shop id rows of a 1.x warehouse file get: the only shop of a single-shop
    deployment, else `default` (the migration's default)."""
    return shops[0].id if len(shops) == 1 else DEFAULT_SHOP_ID


def load_partitions(context: Mapping[str, Any]) -> dict[str, Any]:
    with fail_fast_on(RunDatesError, ShopConfigError, PartitionNotReady, PartitionSchemaMismatch):
        days = context_run_dates(context)
        configured = configured_shops()
        params = context.get("params") or {}
        shops = select_shops(configured, params.get(SHOPS_PARAM_NAME))
        s3, root = s3_client(), lake_root()
        partitions = [
            Partition(root, FACTS_LINES_PATH, shop, day)
            for shop, day in shop_days(context, days, shops)
        ]
        markers = read_markers(s3, partitions)
        path = warehouse_path()
        loads: list[dict[str, Any]] = []
        loaded_rows = 0
        with (
            tempfile.TemporaryDirectory(prefix="warehouse-") as tmp,
            connect(path, _legacy_shop(configured)) as db,
        ):
            for partition, marker in zip(partitions, markers, strict=True):
                fetched = fetch_partition(s3, partition, marker, facts.LINES, Path(tmp))
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
