"""inventory_lake_iceberg_maintenance through Airflow (dag.test) on the session's catalog: it
gives a table created before a contract property its value, keeps every row and referenced
file, and keeps an unreferenced file younger than the safety age."""

from __future__ import annotations

from datetime import date

import pytest

from include.inventory_lake.iceberg import facts_table
from include.inventory_lake.iceberg.catalog import open_catalog
from include.inventory_lake.iceberg.maintenance import object_path, referenced_files
from include.inventory_lake.iceberg.replace import replace_partition
from include.inventory_lake.settings import SNAPSHOT_AUDIT_DAYS_VARIABLE
from tests.inventory_lake.facts.dag_runs import run_manual, task_states
from tests.inventory_lake.iceberg.test_facts_table import DAY, lines
from tests.servers import Emulator, S3Server

DAG_ID = "inventory_lake_iceberg_maintenance"
MERGE = "commit.manifest-merge.enabled"


def test_the_maintenance_dag_keeps_the_table_whole_and_sets_its_properties(
    world: tuple[Emulator, S3Server], monkeypatch: pytest.MonkeyPatch
) -> None:
    s3_server = world[1]
    monkeypatch.setenv(f"AIRFLOW_VAR_{SNAPSHOT_AUDIT_DAYS_VARIABLE.upper()}", "7")
    table = facts_table.ensure_table(open_catalog())
    with table.transaction() as transaction:  # as a table created before the property
        transaction.set_properties({MERGE: "false"})
    replace_partition(table, "hanoi", DAY, lines("hanoi", range(5)))
    replace_partition(table, "hanoi", DAY, lines("hanoi", range(4)))
    snapshots = len(table.metadata.snapshots)
    referenced = referenced_files(table)
    bucket, _, young = object_path(f"{table.location()}/data/in-flight.parquet").partition("/")
    s3_server.client().put_object(Bucket=bucket, Key=young, Body=b"a commit in flight")

    run = run_manual(DAG_ID, date(2026, 2, 1))

    assert run.state == "success", task_states(run)
    table = facts_table.ensure_table(open_catalog())
    assert table.properties[MERGE] == "true"
    assert len(table.metadata.snapshots) == snapshots, "all inside the 7-day window"
    assert table.scan().to_arrow().num_rows == 4
    keys = set(s3_server.keys(""))
    assert {path.partition("/")[2] for path in referenced} <= keys
    assert young in keys
