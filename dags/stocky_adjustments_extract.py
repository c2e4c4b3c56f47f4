"""
### Stocky stock adjustments and items → raw Parquet

For each shop with a Stocky connection (Variable `inventory_lake_shops`; without it one shop,
`default`, on `stocky_default`; see docs/shops.md), reads every Stocky stock adjustment and
stock adjustment item whose `updated_at` (UTC) falls in the run's data interval from the Stocky
v2 API (`updated_since` + keyset `since_id` paging): one instance per shop, failing alone.
Param `shops` (shop ids; empty: all) limits a run or a backfill to some shops; a backfill
leaves out a shop whose day is already committed unless param `reprocess` is on (docs/shops.md).
An item that
turns "adjusted" later lands again in the partition of that update; the facts DAG keeps the
latest version.

Writes two typed Parquet partitions per shop, each replaced atomically on every run:
`<inventory_lake_uri>/raw/stocky/stock_adjustments/shop=<shop>/dt=YYYY-MM-DD/` and
`<inventory_lake_uri>/raw/stocky/stock_adjustment_items/shop=<shop>/dt=YYYY-MM-DD/` (each
`part-00000.parquet` plus a `_SUCCESS` marker), and events on the
`raw_stocky_stock_adjustments` and `raw_stocky_stock_adjustment_items` Assets.

Then merges the day's adjustments into
`<inventory_lake_uri>/index/stocky_adjustments/shop=<shop>/current.parquet` (newest version of every
Stocky adjustment in the lake, by id, and the days whose items use it; a conditional write,
retried when another run wrote first). The days whose facts are stale (their items waited for
an adjustment that has landed since, or use one whose location, reason or other facts column
changed) are named in both events' extra as `facts_rebuild_dts`, so the facts DAG rebuilds
them; they stay in the index until that rebuild, so a run that dies before its events are
recorded loses none (its retry, or the next run, names them again).

A Stocky API that stops answering (it is being retired) fails the task loudly and writes
nothing. Owner: data engineering.
"""

from __future__ import annotations

from typing import Any

from airflow.sdk import dag

from include.inventory_lake import assets, dag_defaults, settings, tags
from include.inventory_lake.lineage.operators import lake_task


@dag(
    schedule=dag_defaults.daily_utc_interval(),
    start_date=dag_defaults.START_DATE,
    catchup=False,
    # What the Trigger → Backfill dialog allows at most (its Max Active Runs); the API pools
    # bound the tasks that call an API (docs/shops.md, adding a shop).
    max_active_runs=8,
    default_args=dag_defaults.default_args(),
    deadline=dag_defaults.freshness_deadline(),
    params=dag_defaults.extract_params(),
    tags=[tags.EXTRACT, tags.STOCKY],
    doc_md=__doc__,
)
def stocky_adjustments_extract() -> None:
    @lake_task
    def shops(**context: Any) -> list[dict[str, Any]]:
        from include.inventory_lake.extract.tasks import shops_to_extract

        return shops_to_extract(context, stocky=True)

    # One task instance per shop, each with its own connection and rate-limit bucket: shops
    # run in parallel, and a shop that fails (a refused token) fails alone.
    @lake_task(
        pool=settings.STOCKY_POOL,
        execution_timeout=dag_defaults.API_TASK_TIMEOUT,
        outlets=[assets.STOCKY_ADJUSTMENTS_RAW, assets.STOCKY_ITEMS_RAW],
        map_index_template="{{ task.op_kwargs.shop.id }}",
    )
    def extract_adjustments_and_items(shop: dict[str, Any], **context: Any) -> dict[str, Any]:
        from include.inventory_lake.extract.tasks import extract_stocky

        return extract_stocky(shop, context)

    extract_adjustments_and_items.expand(shop=shops())


dag_object = stocky_adjustments_extract()

if __name__ == "__main__":
    dag_object.test()
