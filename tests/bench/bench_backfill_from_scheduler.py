"""A multi-shop backfill through a real scheduler, exactly as the UI starts one.

Two shops, each on its own API emulator process (its own seed, data and token) whose bucket is
Haravan's real one (80 calls, leaking 4/s), 60 days of 2,000 adjustments a day each (1-5 lines).
`airflow standalone` (scheduler, LocalExecutor, PostgreSQL) is configured like the tests'
standalone: the shops Variable and one Haravan connection per shop. The Haravan extract is
backfilled over the 60 days by POST /api/v2/backfills with the UI's default max_active_runs=10.

Figures (one JSON object, `backfill_from_scheduler`):
- wall_s: POST of the backfill to the scheduler marking it completed.
- calls, data_pages (per shop): requests in each emulator's journal, and Σ over days of
  (ceil(adjustments / page_size) + 1), the least a keyset client must ask.
- floor_s: (data_pages - 80) / 4, shops in parallel (the max over shops); wall_over_floor.
- calls_over_data_pages (the worst shop), throttled_429, exact (every partition of every shop
  holds exactly that emulator's records of the day).

`INVENTORY_LAKE_BENCH_DAYS` / `INVENTORY_LAKE_BENCH_PER_DAY` shrink the workload (a quick look).
"""

from __future__ import annotations

import io
import json
import math
import os
import shutil
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager, redirect_stdout
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import requests

from devtools.airflow_rest import AirflowRest, wait_until
from devtools.devstack.postgres import create_database, start_postgres, stop_postgres
from devtools.devstack.processes import (
    ServerProcess,
    free_port,
    start_emulator,
    start_s3_server,
    stop_pid_group,
)
from devtools.devstack.stack import StackPaths, airflow_env, down, start_airflow
from include.inventory_lake.lake.location import LakeRoot, Partition
from include.inventory_lake.settings import HARAVAN_ADJUSTMENTS_PATH
from tests.bench import harness

ROOT = Path(__file__).resolve().parents[2]
DAG_ID = "haravan_adjustments_extract"
BUCKET = "bench-lake"
END = datetime(2026, 1, 15, tzinfo=UTC)
PAGE_SIZE = 250  # the connection's default page size
BUCKET_SIZE, LEAK_RATE = 80, 4.0  # Haravan's real bucket
UI_MAX_ACTIVE_RUNS = 10  # the Trigger -> Backfill dialog's default
S3_KEYS = {"access_key": "bench", "secret_key": "bench", "region": "us-east-1"}


@dataclass(frozen=True)
class ShopServer:
    id: str
    seed: int
    token: str
    server: ServerProcess

    @property
    def url(self) -> str:
        return self.server.url

    def admin(self, method: str, path: str, **params: Any) -> Any:
        response = requests.request(
            method, f"{self.url}/_admin/{path}", params=params or None, timeout=120
        )
        response.raise_for_status()
        return response.json()


@dataclass(frozen=True)
class Workload:
    shops: Sequence[tuple[str, int]] = (("north", 101), ("south", 202))
    days: int = 60
    per_day: int = 2000
    max_lines: int = 5

    @property
    def first_day(self) -> date:
        return (END - timedelta(days=self.days)).date()

    @property
    def last_day(self) -> date:
        return (END - timedelta(days=1)).date()

    def day_list(self) -> list[date]:
        return [self.first_day + timedelta(days=i) for i in range(self.days)]

    def describe(self) -> str:
        return (
            f"{len(self.shops)} shops x {self.days} days x {self.per_day} Haravan adjustments "
            f"(1-{self.max_lines} lines), each shop on its own emulator with bucket "
            f"{BUCKET_SIZE} @ {LEAK_RATE:g}/s; backfill POSTed as the UI does "
            f"(max_active_runs={UI_MAX_ACTIVE_RUNS}) to airflow standalone (LocalExecutor, "
            "PostgreSQL)"
        )


def _s3_client(url: str) -> Any:
    import boto3

    return boto3.client(
        "s3",
        endpoint_url=url,
        region_name=S3_KEYS["region"],
        aws_access_key_id=S3_KEYS["access_key"],
        aws_secret_access_key=S3_KEYS["secret_key"],
    )


@contextmanager
def _servers(
    run_dir: Path, workload: Workload
) -> Iterator[tuple[ServerProcess, list[ShopServer], str]]:
    """The S3 server (with the lake bucket), one emulator per shop, PostgreSQL."""
    with ExitStack() as stack:
        s3 = start_s3_server(free_port(), run_dir / "logs" / "s3.log")
        stack.callback(stop_pid_group, s3.pid)
        _s3_client(s3.url).create_bucket(Bucket=BUCKET)
        shops = []
        for shop_id, seed in workload.shops:
            token = f"bench-token-{shop_id}"
            args = [
                "--seed", str(seed), "--days", str(workload.days), "--end", END.isoformat(),
                "--haravan-per-day", str(workload.per_day),
                "--max-lines", str(workload.max_lines), "--haravan-token", token,
                "--bucket-size", str(BUCKET_SIZE), "--leak-rate", str(LEAK_RATE),
            ]  # fmt: skip
            log = run_dir / "logs" / f"emulator-{shop_id}.log"
            server = start_emulator(free_port(), run_dir, log, args)
            stack.callback(stop_pid_group, server.pid)
            shops.append(ShopServer(shop_id, seed, token, server))
        postgres, login = start_postgres(
            run_dir / "postgres", free_port(), run_dir / "logs" / "postgres.log", durable=False
        )
        stack.callback(stop_postgres, postgres.pid)
        metadata_db = create_database(login, "bench_backfill").url("postgresql+psycopg2")
        yield s3, shops, metadata_db


def _airflow_settings(s3: ServerProcess, shops: Sequence[ShopServer]) -> dict[str, str]:
    """What the tests' standalone gets, with the shops Variable and a connection per shop."""
    env = {
        f"AIRFLOW_CONN_HARAVAN_{shop.id.upper()}": json.dumps(
            {"conn_type": "haravan", "host": shop.url, "password": shop.token}
        )
        for shop in shops
    }
    env["AIRFLOW_VAR_INVENTORY_LAKE_SHOPS"] = json.dumps(
        [{"id": shop.id, "haravan_conn_id": f"haravan_{shop.id}"} for shop in shops]
    )
    env["AIRFLOW_CONN_AWS_DEFAULT"] = json.dumps(
        {
            "conn_type": "aws",
            "login": S3_KEYS["access_key"],
            "password": S3_KEYS["secret_key"],
            "extra": {"endpoint_url": s3.url, "region_name": S3_KEYS["region"]},
        }
    )
    env["AIRFLOW_VAR_INVENTORY_LAKE_URI"] = f"s3://{BUCKET}"
    # As in the tests (conftest.py): no freshness deadline on these runs of old days.
    env["INVENTORY_LAKE_FRESHNESS_DEADLINE_S"] = "0"
    env["AIRFLOW__API__PORT"] = str(free_port())
    env["AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT"] = str(free_port())
    env["AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT"] = str(free_port())
    return env


def _truth_by_day(shop: ShopServer) -> dict[date, list[int]]:
    """The emulator's adjustment ids per UTC day of created_at, read in chunks."""
    by_day: dict[date, list[int]] = {}
    since_id = 0
    while True:
        chunk = shop.admin("GET", "truth/haravan/adjustments", since_id=since_id, limit=10_000)
        if not chunk:
            return by_day
        for record in chunk:
            day = datetime.fromisoformat(record["created_at"]).astimezone(UTC).date()
            by_day.setdefault(day, []).append(int(record["id"]))
        since_id = int(chunk[-1]["id"])


def _lake_ids(s3_url: str, shop_id: str, day: date) -> list[int] | None:
    """The ids of a committed partition (marker present), or None when it is not committed."""
    client = _s3_client(s3_url)
    partition = Partition(LakeRoot(BUCKET), HARAVAN_ADJUSTMENTS_PATH, shop_id, day)
    try:
        client.head_object(Bucket=BUCKET, Key=partition.marker_key)
        body = client.get_object(Bucket=BUCKET, Key=partition.data_key)["Body"].read()
    except client.exceptions.ClientError:
        return None
    ids: list[int] = pq.read_table(io.BytesIO(body), columns=["id"]).column("id").to_pylist()
    return ids


def measure(workload: Workload, run_dir: Path) -> dict[str, Any]:
    with (
        _servers(run_dir, workload) as (s3, shops, metadata_db),
        standalone(run_dir, _airflow_settings(s3, shops), metadata_db) as api,
    ):
        # Unpausing starts the latest scheduled run (a day after the history): let it end,
        # then count from an empty journal.
        api.set_paused(DAG_ID, False)
        api.wait_until_idle(timeout_s=600, dag_id=DAG_ID)
        for shop in shops:
            shop.admin("POST", "journal/reset")
        started = time.monotonic()
        backfill = api.create_backfill(
            DAG_ID, workload.first_day, workload.last_day, max_active_runs=UI_MAX_ACTIVE_RUNS
        )
        done = api.wait_for_backfill(backfill["id"], timeout_s=3600)
        wall_s = time.monotonic() - started
        states = run_states(api, workload)
        task_timings = _task_timings(api, workload)
        journals, truths, lake = observed(s3.url, shops, workload)
    figures = _figures(workload, wall_s, done, states, journals, truths, lake)
    return {**figures, "task_s": task_timings, "load_average_1m": round(os.getloadavg()[0], 1)}


@contextmanager
def standalone(run_dir: Path, settings: dict[str, str], metadata_db: str) -> Iterator[AirflowRest]:
    """`airflow standalone` on the benchmark's servers, once the extract DAG is parsed; stopped
    on the way out."""
    paths = StackPaths(ROOT, local_dir=run_dir / "stack")
    env = airflow_env(paths, settings, metadata_db)
    with redirect_stdout(sys.stderr):  # stdout carries the figures only
        url = start_airflow(paths, env)
    try:
        api = AirflowRest(url, json.loads(paths.passwords_file.read_text())["admin"])
        wait_until(
            f"{DAG_ID} parsed",
            lambda: api.request("GET", f"dags/{DAG_ID}").ok or None,
            timeout_s=300,
        )
        yield api
    finally:
        with redirect_stdout(sys.stderr):
            down(paths)


def run_states(api: AirflowRest, workload: Workload) -> Counter[str]:
    """How the extract's runs of the workload's days ended."""
    first, last = workload.first_day.isoformat(), workload.last_day.isoformat()
    return Counter(
        run["state"] for run in api.runs(DAG_ID) if first <= run["data_interval_start"][:10] <= last
    )


def observed(
    s3_url: str, shops: Sequence[ShopServer], workload: Workload
) -> tuple[
    dict[str, Any], dict[str, dict[date, list[int]]], dict[tuple[str, date], list[int] | None]
]:
    """What each shop's emulator received and holds, and what the lake holds, per shop and day."""
    journals = {shop.id: shop.admin("GET", "journal") for shop in shops}
    truths = {shop.id: _truth_by_day(shop) for shop in shops}
    lake = {
        (shop.id, day): _lake_ids(s3_url, shop.id, day)
        for shop in shops
        for day in workload.day_list()
    }
    return journals, truths, lake


def _seconds(start: str | None, end: str | None) -> float | None:
    if not start or not end:
        return None
    return (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds()


def task_instances(api: AirflowRest, dag_id: str, **params: Any) -> list[dict[str, Any]]:
    """Every task instance of a DAG's runs (filtered by the API's query parameters)."""
    instances: list[dict[str, Any]] = []
    while True:  # the API answers at most 100 a page
        page = api.call(
            "GET",
            f"dags/{dag_id}/dagRuns/~/taskInstances",
            params={"limit": 100, "offset": len(instances), **params},
        )["task_instances"]
        instances.extend(page)
        if len(page) < 100:
            return instances


def workload_task_instances(api: AirflowRest, workload: Workload) -> list[dict[str, Any]]:
    """The extract's task instances of the workload's days."""
    return task_instances(
        api,
        DAG_ID,
        logical_date_gte=f"{workload.first_day}T00:00:00Z",
        logical_date_lte=f"{workload.last_day}T00:00:00Z",
    )


def median(values: Sequence[float | None]) -> float | None:
    known = sorted(v for v in values if v is not None)
    return round(known[len(known) // 2], 2) if known else None


def _task_timings(api: AirflowRest, workload: Workload) -> dict[str, Any]:
    """Where the wall time goes: median task durations and waits (queued -> started), and the
    extract tasks' time summed per shop (against wall_s: how busy each shop was)."""
    instances = workload_task_instances(api, workload)
    by_task: dict[str, list[dict[str, Any]]] = {}
    for instance in instances:
        by_task.setdefault(instance["task_id"], []).append(instance)

    timings: dict[str, Any] = {}
    for task_id, rows in by_task.items():
        timings[f"{task_id}_median"] = median([r.get("duration") for r in rows])
        timings[f"{task_id}_queued_to_start_median"] = median(
            [_seconds(r.get("queued_when"), r.get("start_date")) for r in rows]
        )
    extract_sum: dict[str, float] = {}
    for row in by_task.get("extract_adjustments", []):
        shop = str(row.get("rendered_map_index"))
        extract_sum[shop] = extract_sum.get(shop, 0.0) + float(row.get("duration") or 0)
    timings["extract_adjustments_sum_per_shop"] = {k: round(v, 1) for k, v in extract_sum.items()}
    return timings


def _figures(
    workload: Workload,
    wall_s: float,
    backfill: dict[str, Any],
    states: Counter[str],
    journals: dict[str, Any],
    truths: dict[str, dict[date, list[int]]],
    lake: dict[tuple[str, date], list[int] | None],
) -> dict[str, Any]:
    calls = {shop: journal["counts"]["total"] for shop, journal in journals.items()}
    throttled = {shop: journal["counts"].get("throttled", 0) for shop, journal in journals.items()}
    data_pages = {
        shop: sum(math.ceil(len(truth.get(day, [])) / PAGE_SIZE) + 1 for day in workload.day_list())
        for shop, truth in truths.items()
    }
    inexact = [
        f"{shop}/{day}"
        for (shop, day), ids in lake.items()
        if ids is None or sorted(ids) != sorted(truths[shop].get(day, []))
    ]
    floor_s = max(max(0, pages - BUCKET_SIZE) / LEAK_RATE for pages in data_pages.values())
    return {
        "wall_s": round(wall_s, 1),
        "calls": calls,
        "data_pages": data_pages,
        "floor_s": round(floor_s, 1),
        "wall_over_floor": round(wall_s / floor_s, 3) if floor_s else None,
        "calls_over_data_pages": round(
            max(calls[shop] / data_pages[shop] for shop in calls if data_pages[shop]), 3
        ),
        "calls_over_data_pages_per_shop": {
            shop: round(calls[shop] / data_pages[shop], 3) for shop in calls
        },
        "throttled_429": sum(throttled.values()),
        "exact": not inexact,
        "inexact_partitions": inexact[:10],
        "runs": dict(states),
        "backfill_id": backfill["id"],
    }


def main() -> None:
    workload = Workload(
        days=int(os.environ.get("INVENTORY_LAKE_BENCH_DAYS", "60")),
        per_day=int(os.environ.get("INVENTORY_LAKE_BENCH_PER_DAY", "2000")),
    )
    run_dir = Path(tempfile.mkdtemp(prefix="bench-backfill-"))
    figures = measure(workload, run_dir)
    if figures["exact"]:
        shutil.rmtree(run_dir, ignore_errors=True)
    else:
        print(f"logs kept in {run_dir}", file=sys.stderr)
    harness.emit("backfill_from_scheduler", workload.describe(), **figures)


if __name__ == "__main__":
    main()
