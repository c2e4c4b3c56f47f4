"""The same DAGs on PostgreSQL + the CeleryExecutor with two workers (`make run-distributed`),
end to end on loopback: extract (Haravan, Stocky) → facts → push for three days, triggered
through the REST API the UI uses. Tasks land on both workers, their logs are readable from the
API server wherever they ran, and the lake is identical to a single-machine run of the same
days (`dag.test()` on SQLite)."""

from __future__ import annotations

import io
import json
import shutil
import tempfile
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from devtools.devstack.distributed import (
    WORKERS,
    start_distributed,
    stop_distributed,
)
from devtools.devstack.processes import free_port
from devtools.devstack.stack import StackPaths
from include.inventory_lake.push.options import DEFAULTS
from include.inventory_lake.settings import (
    FACTS_LINES_PATH,
    HARAVAN_ADJUSTMENTS_PATH,
    SET_ADJUSTMENTS_AUDIT_PATH,
    SET_ADJUSTMENTS_STAGING_PATH,
    STOCKY_ADJUSTMENTS_PATH,
    STOCKY_ITEMS_PATH,
)
from tests.airflow_runs import interval_end, run_dag
from tests.inventory_lake.push.support import APPROVED, applied_requests, csv_text, put, set_lines
from tests.lake_reads import read_marker, read_partition
from tests.servers import AirflowApi, Emulator, S3Server

pytestmark = [pytest.mark.distributed, pytest.mark.timeout(1800)]

ROOT = Path(__file__).resolve().parents[2]
DAYS = [date(2026, 1, 11), date(2026, 1, 12), date(2026, 1, 13)]
EXTRACTS = ("haravan_adjustments_extract", "stocky_adjustments_extract")
FACTS = "inventory_adjustment_facts"
PUSH = "haravan_set_adjustments_push"
DATASETS = (HARAVAN_ADJUSTMENTS_PATH, STOCKY_ADJUSTMENTS_PATH, STOCKY_ITEMS_PATH, FACTS_LINES_PATH)
SINGLE_BUCKET = "inventory-lake-single"
DISTRIBUTED_BUCKET = "inventory-lake-distributed"
PUSH_FILE = "stock-count.csv"
# Differ from run to run by design: who wrote a partition, when, and how many API calls it took
# (the previous day's marker, which saves calls, may not exist yet when days run in parallel).
VOLATILE = frozenset({"run_id", "committed_at", "recorded_at", "api"})
WAIT_S = 900.0


def bucket(s3_server: S3Server, name: str) -> S3Server:
    lake = replace(s3_server, bucket=name)
    if name not in {b["Name"] for b in lake.client().list_buckets()["Buckets"]}:
        lake.client().create_bucket(Bucket=name)
    lake.empty_bucket()
    return lake


@pytest.fixture(scope="module")
def distributed(
    s3_server: S3Server, emulator: Emulator, airflow_connections: dict[str, str]
) -> Iterator[AirflowApi]:
    """`make run-distributed` on free ports and temporary directories, for the lake bucket
    DISTRIBUTED_BUCKET on the session's S3 server and emulator."""
    local = Path(tempfile.mkdtemp(prefix="inventory-lake-distributed-"))
    paths = StackPaths(ROOT, local_dir=local)
    env = {
        **airflow_connections,
        "AIRFLOW_VAR_INVENTORY_LAKE_URI": f"s3://{DISTRIBUTED_BUCKET}",
        "AIRFLOW__API__PORT": str(free_port()),
    }
    try:
        stack = start_distributed(paths, env)
        yield AirflowApi(stack.url, stack.password)
    finally:
        stop_distributed(paths, quiet=True)
        shutil.rmtree(local, ignore_errors=True)


def push_file(emulator: Emulator) -> str:
    """Two locations, three variants each, each within the guard (no approval asked)."""
    return csv_text(set_lines(emulator, locations=2, per_location=3, seed=8))


@cache
def push_dag() -> Any:
    from airflow.dag_processing.dagbag import DagBag

    dag = DagBag(dag_folder=str(ROOT / "dags" / f"{PUSH}.py")).get_dag(PUSH)
    assert dag is not None
    return dag


def run_single_machine(lake: S3Server, emulator: Emulator, monkeypatch: pytest.MonkeyPatch) -> None:
    """The reference: the same days with dag.test() in this process (SQLite, one machine)."""
    monkeypatch.setenv("AIRFLOW_VAR_INVENTORY_LAKE_URI", f"s3://{lake.bucket}")
    for day in DAYS:
        for dag_id in EXTRACTS:
            assert run_dag(dag_id, day).state == "success", (dag_id, day)
    for day in DAYS:
        assert run_dag(FACTS, day).state == "success", (FACTS, day)
    put(lake, APPROVED + PUSH_FILE, push_file(emulator))
    run = push_dag().test(logical_date=interval_end(DAYS[-1]), run_conf=dict(DEFAULTS))
    assert run.state == "success"


# The distributed run, through the REST API


def wait_for_dags(api: AirflowApi, dag_ids: set[str]) -> None:
    deadline = time.monotonic() + WAIT_S
    while (parsed := {d["dag_id"] for d in api.call("GET", "dags?limit=100")["dags"]}) < dag_ids:
        assert time.monotonic() < deadline, f"DAGs not parsed: {dag_ids - parsed}"
        time.sleep(2)


def backfill(api: AirflowApi, dag_id: str) -> None:
    """What Trigger → Backfill in the UI does, for DAYS (one run per day, three at once)."""
    api.call("PATCH", f"dags/{dag_id}", {"is_paused": False})
    api.call(
        "POST",
        "backfills",
        {
            "dag_id": dag_id,
            "from_date": f"{DAYS[0]}T00:00:00Z",
            "to_date": f"{DAYS[-1]}T00:00:00Z",
            "max_active_runs": 3,
            "reprocess_behavior": "completed",
        },
    )


def runs(api: AirflowApi, dag_id: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = api.call("GET", f"dags/{dag_id}/dagRuns?limit=100")["dag_runs"]
    return found


def wait_for_runs(api: AirflowApi, dag_id: str, run_type: str, count: int) -> list[dict[str, Any]]:
    """The DAG's runs of `run_type`, once there are `count` and none of the DAG's runs (also
    those unpausing it started) is still going."""
    deadline = time.monotonic() + WAIT_S
    while True:
        every = runs(api, dag_id)
        found = [run for run in every if run["run_type"] == run_type]
        if len(found) >= count and all(r["state"] in {"success", "failed"} for r in every):
            return found
        assert time.monotonic() < deadline, f"{dag_id} runs not finished: {every}"
        time.sleep(3)


def run_distributed(api: AirflowApi, lake: S3Server, emulator: Emulator) -> list[dict[str, Any]]:
    """Extract → facts → push on the Celery stack; returns every task instance that ran."""
    put(lake, APPROVED + PUSH_FILE, push_file(emulator))
    wait_for_dags(api, {*EXTRACTS, FACTS, PUSH})
    for dag_id in EXTRACTS:
        backfill(api, dag_id)
    for dag_id in EXTRACTS:
        extract_runs = wait_for_runs(api, dag_id, "backfill", len(DAYS))
        assert [r["state"] for r in extract_runs] == ["success"] * len(DAYS), extract_runs
    backfill(api, FACTS)
    facts_runs = wait_for_runs(api, FACTS, "backfill", len(DAYS))
    assert [r["state"] for r in facts_runs] == ["success"] * len(DAYS), facts_runs
    assert sorted(r["data_interval_start"][:10] for r in facts_runs) == [str(d) for d in DAYS]

    api.call("PATCH", f"dags/{PUSH}", {"is_paused": False})
    api.call("POST", f"dags/{PUSH}/dagRuns", {"logical_date": None, "conf": dict(DEFAULTS)})
    wait_for_runs(api, PUSH, "manual", 1)
    # Unpausing may also start a scheduled run: whichever claims the file, both must succeed.
    assert {r["state"] for r in runs(api, PUSH)} == {"success"}, runs(api, PUSH)

    return [
        ti
        for dag_id in (*EXTRACTS, FACTS, PUSH)
        for ti in api.call("GET", f"dags/{dag_id}/dagRuns/~/taskInstances?limit=200")[
            "task_instances"
        ]
        if ti["state"] == "success"
    ]


def task_log(api: AirflowApi, ti: dict[str, Any]) -> list[str]:
    path = (
        f"dags/{ti['dag_id']}/dagRuns/{ti['dag_run_id']}/taskInstances/{ti['task_id']}"
        f"/logs/{ti['try_number']}?map_index={ti['map_index']}"
    )
    return [str(line.get("event", "")) for line in api.call("GET", path)["content"]]


# Comparing the lakes


def stable(value: Any, lake: S3Server) -> Any:
    """A marker or row without the values that name a run or a time, and with the lake's
    bucket in URIs replaced by a placeholder."""
    if isinstance(value, dict):
        return {k: stable(v, lake) for k, v in value.items() if k not in VOLATILE}
    if isinstance(value, list):
        return [stable(v, lake) for v in value]
    if isinstance(value, str):
        return value.replace(f"s3://{lake.bucket}/", "s3://<lake>/")
    return value


def push_keys(lake: S3Server) -> list[str]:
    return sorted(lake.keys(SET_ADJUSTMENTS_STAGING_PATH + "/"))


def audit_rows(lake: S3Server) -> list[dict[str, Any]]:
    rows = []
    for key in lake.keys(SET_ADJUSTMENTS_AUDIT_PATH + "/"):
        body = lake.client().get_object(Bucket=lake.bucket, Key=key)["Body"].read()
        rows += [stable(row, lake) for row in pq.read_table(io.BytesIO(body)).to_pylist()]
    return sorted(rows, key=lambda row: json.dumps(row, sort_keys=True, default=str))


def test_extract_facts_push_on_celery_workers_match_the_single_machine_run(
    distributed: AirflowApi,
    emulator: Emulator,
    s3_server: S3Server,
    airflow_db: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    single = bucket(s3_server, SINGLE_BUCKET)
    spread = bucket(s3_server, DISTRIBUTED_BUCKET)
    emulator.reset()
    run_single_machine(single, emulator, monkeypatch)
    emulator.reset()  # the same API data and stock for the second run

    ran = run_distributed(distributed, spread, emulator)

    assert {ti["hostname"] for ti in ran} == set(WORKERS), "tasks ran on both workers, only"
    for worker in WORKERS:
        ti = next(ti for ti in ran if ti["hostname"] == worker and ti["operator_name"] == "@task")
        assert any("Returned value was" in line for line in task_log(distributed, ti)), ti

    for dataset in DATASETS:
        rows = 0
        for day in DAYS:
            expected = read_partition(single, dataset, day)
            assert read_partition(spread, dataset, day).equals(expected), (dataset, day)
            marker = stable(read_marker(spread, dataset, day), spread)
            assert marker == stable(read_marker(single, dataset, day), single), (dataset, day)
            rows += expected.num_rows
        assert rows > 0, f"{dataset}: no rows, nothing was compared"

    keys = push_keys(spread)
    assert keys == push_keys(single)
    assert any("/processed/" in key and key.endswith(PUSH_FILE) for key in keys), keys
    assert not any("/approved/" in key or "/rejected/" in key for key in keys), keys
    audit = audit_rows(spread)
    assert audit == audit_rows(single)
    assert {row["status"] for row in audit} == {"applied"} and len(audit) == 6
    sent = applied_requests(emulator)
    assert sent and set(sent.values()) == {1}, f"each request applied exactly once: {sent}"
