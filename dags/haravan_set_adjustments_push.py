"""
### Approved bulk set-adjustments → Haravan stock, exactly once

Operations staff correct stock in bulk with a file of new on-hand quantities (CSV or Parquet,
format and samples in `docs/set-adjustments.md`). **Placing the file in
`<inventory_lake_uri>/staging/set_adjustments/approved/shop=<shop id>/` approves it for that
shop** (Variable `inventory_lake_shops`); with a single shop, `approved/` itself works too. A
file directly in `approved/` when several shops are configured, or in the folder of a shop
that is not configured, is rejected with a report saying where it belongs; files anywhere else
are never sent.

Every 10 minutes (or on a manual trigger) each approved file is handled on its own (one
mapped task group instance per file, so a bad file never blocks a good one):

1. **prepare**: validate the whole file (nothing is sent if any row is wrong: the file goes to
   `rejected/` with a row-by-row report), derive the batch id from its content (the same
   content is never pushed twice unless `force`), claim the batch in the ledger, read the
   current `qty_onhand` from the file's shop's Haravan and write the plan (current → new,
   delta; one request per location and ≤ `chunk_size` lines) to
   `staging/set_adjustments/ledger/<batch_id>/`.
2. **approve**: when the plan crosses a guard threshold (`guard_*` params), a person approves
   or rejects it in the UI (Required actions), seeing the plan's summary; otherwise skipped.
3. **push**: `POST /com/inventories/adjustorset.json` (`type: set`) per request through the
   file's shop's Haravan connection (`haravan_default` for a single shop), paced by that
   shop's leaky bucket, in the `haravan_api` pool;
   each request's outcome is written to the ledger before the next is sent, and a retry looks
   requests up by their note before sending anything again. Before the first request (and on
   every resume) the file must still be in `approved/` unchanged, else the batch is
   `withdrawn` and nothing is sent, and the shop is read again from `inventory_lake_shops`: a
   shop removed or re-pointed to another connection since planning gets nothing.
4. **record**: audit rows (one per line, with the shop) to `audit/set_adjustments/dt=YYYY-MM-DD/`
   and the file moved to `staging/set_adjustments/processed/` (`processed/shop=<id>/` for a
   shop other than `default`).

The same content approved for two shops is two batches, each sent once to its own shop. A
shop whose connection fails (e.g. a revoked token) fails its own files only.

`dry_run` writes the plan to `staging/set_adjustments/dry_run/<batch_id>/` and sends nothing.
Owner: data engineering (ask them before changing the guard defaults).
"""

from __future__ import annotations

from typing import Any, cast

from airflow.sdk import dag, task_group

from include.inventory_lake import dag_defaults, settings, tags
from include.inventory_lake.lineage.operators import lake_task
from include.inventory_lake.push.approval import PlanApprovalOperator
from include.inventory_lake.push.options import dag_params


@dag(
    schedule=dag_defaults.every_ten_minutes(),
    start_date=dag_defaults.START_DATE,
    catchup=False,
    max_active_runs=3,
    default_args=dag_defaults.default_args(),
    params=dag_params(),
    tags=[tags.PUSH, tags.HARAVAN],
    doc_md=__doc__,
)
def haravan_set_adjustments_push() -> None:
    @lake_task
    def discover() -> list[dict[str, Any]]:
        from include.inventory_lake.push.tasks import discover

        return discover()

    # A chain of typed hand-offs (push/handoffs.py): each task takes only the XComArg of the
    # one before it. Extra edges (e.g. `push` also taking `prepare`'s value) are avoided on
    # purpose: on Airflow 3.3.2 a run whose first file is bad was then marked failed before the
    # good files' approvals ran (their task instances, created by the same expansion pass, are
    # not counted as unfinished by DagRun.task_instance_scheduling_decisions).
    @task_group(group_id="each_file")
    def each_file(staged: dict[str, Any]) -> None:
        @lake_task(pool=settings.HARAVAN_POOL, execution_timeout=dag_defaults.API_TASK_TIMEOUT)
        def prepare(staged: dict[str, Any]) -> dict[str, Any]:
            from include.inventory_lake.push.tasks import prepare

            return prepare(staged)

        @lake_task(pool=settings.HARAVAN_POOL, execution_timeout=dag_defaults.API_TASK_TIMEOUT)
        def push(decision: dict[str, Any]) -> dict[str, Any]:
            from include.inventory_lake.push.tasks import push

            return push(decision)

        @lake_task
        def record(pushed: dict[str, Any]) -> dict[str, Any]:
            from include.inventory_lake.push.tasks import record

            return record(pushed)

        approve = PlanApprovalOperator(task_id="approve", prepared=prepare(staged))
        # Each hand-off is an XComArg while the DAG is wired; the task gets its value at run
        # time (a task's call is typed as taking the values themselves).
        decision = cast("dict[str, Any]", approve.output)
        record(cast("dict[str, Any]", push(decision)))

    each_file.expand(staged=discover())


dag_object = haravan_set_adjustments_push()

if __name__ == "__main__":
    dag_object.test()
