"""
### Haravan inventory adjustments → raw Parquet

For each shop (Variable `inventory_lake_shops`; without it one shop, `default`, on
`haravan_default`; see docs/shops.md), reads every Haravan inventory adjustment whose
`created_at` (UTC) falls in the run's data interval from the Omni API
(`GET /com/inventories/adjustments.json`, keyset-paged with `since_id`, paced by the shop's
leaky bucket) through the shop's Haravan connection: one `extract_adjustments` instance per
shop, named after it. A shop that fails (refused token) fails alone; the others commit.

Writes one typed Parquet partition per shop, replaced atomically on every run:
`<inventory_lake_uri>/raw/haravan/inventory_adjustments/shop=<shop>/dt=YYYY-MM-DD/`
(`part-00000.parquet` plus a `_SUCCESS` marker with the row count; an empty day still gets
both), and an event on the `raw_haravan_inventory_adjustments` Asset with `shop`, `dt` and
`rows` in its extra.

Backfill any range from the UI (Trigger → backfill); each day is an independent partition.
Param `shops` (a list of shop ids; empty: all) limits a run or a backfill to some shops. A
backfill leaves out a shop whose day is already committed (the `shops` task logs it) unless
param `reprocess` is on, so loading a new shop's history (All Runs) reads only that shop; see
docs/shops.md. Owner: data engineering.
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
    tags=[tags.EXTRACT, tags.HARAVAN],
    doc_md=__doc__,
)
def haravan_adjustments_extract() -> None:
    @lake_task
    def shops(**context: Any) -> list[dict[str, Any]]:
        from include.inventory_lake.extract.tasks import shops_to_extract

        return shops_to_extract(context, stocky=False)

    # One task instance per shop, each with its own connection and rate-limit bucket: shops
    # run in parallel, and a shop that fails (a refused token) fails alone.
    @lake_task(
        pool=settings.HARAVAN_POOL,
        execution_timeout=dag_defaults.API_TASK_TIMEOUT,
        outlets=[assets.HARAVAN_ADJUSTMENTS_RAW],
        map_index_template="{{ task.op_kwargs.shop.id }}",
    )
    def extract_adjustments(shop: dict[str, Any], **context: Any) -> dict[str, Any]:
        from include.inventory_lake.extract.tasks import extract_haravan

        return extract_haravan(shop, context)

    extract_adjustments.expand(shop=shops())


dag_object = haravan_adjustments_extract()

if __name__ == "__main__":
    dag_object.test()
