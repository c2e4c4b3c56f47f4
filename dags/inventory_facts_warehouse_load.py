"""
### Facts → warehouse (example load, DuckDB)

An example of a warehouse load that follows `docs/warehouse-contract.md`, kept runnable so the
contract stays proven. Reads each new facts partition, one per shop and day,
`<inventory_lake_uri>/facts/inventory_adjustment_lines/shop=<id>/dt=YYYY-MM-DD/` (only with its
`_SUCCESS` marker, checked by sha256) and MERGEs it on (`shop`, `line_key`) into the table
`inventory_adjustment_lines` of a DuckDB file (variable `inventory_warehouse_duckdb`, default
`$AIRFLOW_HOME/warehouse/inventory_lake.duckdb`): a newer `updated_at` replaces the current
row, an older one never does, so loading a partition twice or out of order is harmless. Every
load is recorded in `inventory_adjustment_line_loads`; then an event on the
`warehouse_inventory_adjustment_lines` Asset.

**When it runs.** On every event of the `facts_inventory_adjustment_lines` Asset, for the
shop and `dt` of each event; backfill a range from the UI, or trigger with params `dt_start` /
`dt_end` and `shops` (shop ids; empty = all configured shops). One run at a time (DuckDB has
one writer per file). Owner: data engineering.
"""

from __future__ import annotations

from typing import Any

from airflow.sdk import AssetOrTimeSchedule, dag

from include.inventory_lake import assets, dag_defaults, tags
from include.inventory_lake.lineage.operators import lake_task


@dag(
    schedule=AssetOrTimeSchedule(
        timetable=dag_defaults.daily_utc_interval(),
        assets=[assets.FACTS_ADJUSTMENT_LINES],
    ),
    # The timetable only gives backfills and manual runs their day; loads follow the Asset.
    allowed_run_types=dag_defaults.ASSET_DRIVEN_RUN_TYPES,
    start_date=dag_defaults.START_DATE,
    catchup=False,
    max_active_runs=1,
    default_args=dag_defaults.default_args(),
    params={**dag_defaults.day_range_params("load"), **dag_defaults.shops_param()},
    tags=[tags.FACTS, tags.LAKE],
    doc_md=__doc__,
)
def inventory_facts_warehouse_load() -> None:
    @lake_task(outlets=[assets.WAREHOUSE_ADJUSTMENT_LINES])
    def merge_partitions(**context: Any) -> dict[str, Any]:
        from include.inventory_lake.warehouse.load import load_changes

        return load_changes(context)

    merge_partitions()


dag_object = inventory_facts_warehouse_load()

if __name__ == "__main__":
    dag_object.test()
