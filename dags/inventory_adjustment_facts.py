"""
### Raw adjustments → line-item facts (the warehouse's input)

Reads, for each shop and day (`<shop>|<YYYY-MM-DD>`, one `build_partition` instance each), the
raw partitions of both sources under `<inventory_lake_uri>/`: `raw/haravan/inventory_adjustments/`,
`raw/stocky/stock_adjustments/` and `raw/stocky/stock_adjustment_items/`
(`shop=<shop>/dt=YYYY-MM-DD/`, each must carry its `_SUCCESS` marker; Haravan only for a shop
without a Stocky connection).

Writes one flat row per adjustment line to
`<inventory_lake_uri>/facts/inventory_adjustment_lines/shop=<shop>/dt=YYYY-MM-DD/` (one Parquet
file and a `_SUCCESS` marker, replaced atomically; one row per `line_key`, newest `updated_at`
wins; a `shop` column), then an event on the `facts_inventory_adjustment_lines` Asset with
`shop`, `dt`, `uri` and `rows`.
Contract for warehouse loads: `docs/warehouse-contract.md`.

**When it runs.** After the extracts: on each new event of any of the three raw Assets, for
every shop and `dt` named in the events and every day in their `facts_rebuild_dts` (days of
that shop whose Stocky items lacked an adjustment that has landed since, or use one that
changed), so a day is built once its three raw partitions have landed and rebuilt whenever one
of them is re-extracted. A Stocky item takes its adjustment's latest version in the lake: the
newer of the same day's raw partition and the shop's
`index/stocky_adjustments/shop=<shop>/current.parquet`.
**Backfill** any range from the UI (Trigger → Backfill: one run per
UTC day), or trigger with params `dt_start` / `dt_end` (inclusive) for a range in one run; a
manual run without params builds yesterday (UTC). Backfills and manual runs cover every
configured shop, or those in param `shops`. There are no time-scheduled runs: they
would race the extracts.

**A day whose raw partition has no `_SUCCESS` marker** (its extract has not completed) is
skipped in an asset-triggered run, since that extract's event will start the run that builds
it; in a manual run or backfill it **fails without retrying**, naming the partition. A failed
data-quality check fails too (the message names the check, the count and example keys).
Either way nothing is written and the previous facts partition stays.
Owner: data engineering.
"""

from __future__ import annotations

from typing import Any

from airflow.sdk import AssetAny, AssetOrTimeSchedule, dag

from include.inventory_lake import assets, dag_defaults, tags
from include.inventory_lake.lineage.operators import lake_task


@dag(
    schedule=AssetOrTimeSchedule(
        timetable=dag_defaults.daily_utc_interval(),
        # Any raw Asset: a day is rebuilt as soon as one of its sources is re-extracted (a
        # Stocky-only re-extract, or the late adjustments it names in `facts_rebuild_dts`, do
        # not wait for a Haravan event). A day whose other source has not landed yet is
        # skipped; that source's own event starts the run that builds it.
        assets=AssetAny(
            assets.HARAVAN_ADJUSTMENTS_RAW, assets.STOCKY_ADJUSTMENTS_RAW, assets.STOCKY_ITEMS_RAW
        ),
    ),
    # The daily timetable gives backfills and manual runs their day; the runs themselves come
    # from the Assets, so time-scheduled runs are not allowed.
    allowed_run_types=dag_defaults.ASSET_DRIVEN_RUN_TYPES,
    start_date=dag_defaults.START_DATE,
    catchup=False,
    max_active_runs=4,
    default_args=dag_defaults.default_args(),
    params={**dag_defaults.day_range_params("build"), **dag_defaults.shops_param()},
    tags=[tags.FACTS, tags.LAKE],
    doc_md=__doc__,
)
def inventory_adjustment_facts() -> None:
    @lake_task
    def partitions(**context: Any) -> list[str]:
        from include.inventory_lake.facts.tasks import partition_keys

        return partition_keys(context)

    # One task instance per shop and day, named by its key `<shop>|<YYYY-MM-DD>`.
    @lake_task(
        outlets=[assets.FACTS_ADJUSTMENT_LINES], map_index_template="{{ task.op_kwargs.key }}"
    )
    def build_partition(key: str, **context: Any) -> dict[str, Any]:
        from include.inventory_lake.facts.tasks import build_partition

        return build_partition(key, context)

    build_partition.expand(key=partitions())


dag_object = inventory_adjustment_facts()

if __name__ == "__main__":
    dag_object.test()
