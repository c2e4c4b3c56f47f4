"""
### The facts table's maintenance (Iceberg)

Keeps the Iceberg table `inventory_lake.inventory_adjustment_lines` (catalog: connection
`iceberg_default`; files: the lake's S3 through `aws_default`) small, once a day:

1. sets the contract's table properties the table lacks (manifest merging, the metadata log's
   length: `facts_table.TABLE_PROPERTIES`);
2. expires the snapshots older than the audit window (Variable
   `inventory_lake_snapshot_audit_days`, default 30): time travel reaches back that far. The
   current snapshot and every branch or tag head are always kept; a consumer that needs an
   older snapshot tags it;
3. deletes orphan files: files under the table's location that no kept snapshot or live
   metadata file references, once older than the safety age (Variable
   `inventory_lake_orphan_min_age_hours`, default 24, at least 1), so a commit in flight
   never loses its files.

Reads and writes nothing else; the 2.0 Parquet facts are not touched. A table that does not
exist yet (no facts built) is nothing to do. A Variable it cannot use fails the run at once,
naming it. One run at a time. Details: docs/facts.md ("The Iceberg table's maintenance").
Owner: data engineering.
"""

from __future__ import annotations

from typing import Any

from airflow.sdk import dag, task

from include.inventory_lake import dag_defaults, tags


@dag(
    schedule=dag_defaults.daily_utc_interval(),
    start_date=dag_defaults.START_DATE,
    catchup=False,
    max_active_runs=1,
    default_args=dag_defaults.default_args(),
    tags=[tags.FACTS, tags.LAKE],
    doc_md=__doc__,
)
def inventory_lake_iceberg_maintenance() -> None:
    @task
    def maintain_facts_table() -> dict[str, Any]:
        from include.inventory_lake.iceberg.maintenance import run_maintenance

        return run_maintenance()

    maintain_facts_table()


dag_object = inventory_lake_iceberg_maintenance()

if __name__ == "__main__":
    dag_object.test()
