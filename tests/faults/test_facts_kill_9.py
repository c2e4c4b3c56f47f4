"""kill -9 of the facts task at exact and at random points of a build, then Airflow's retry:
readers only ever see the whole previous partition or the whole new one (a marker, when there
is one, describes the file beside it), and the retry builds exactly what an uninterrupted build
of the same raw data builds."""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import random
import signal
import subprocess
import time
from dataclasses import dataclass
from datetime import date
from typing import Any

import pyarrow.parquet as pq
import pytest

from include.inventory_lake.facts.build import build_facts_partition
from include.inventory_lake.lake.lake import Lake
from include.inventory_lake.lake.location import LakeRoot, Partition, ShopLake
from include.inventory_lake.settings import FACTS_LINES_PATH, STOCKY_ITEMS_PATH
from include.inventory_lake.shops import DEFAULT_SHOP_ID
from tests.airflow_runs import interval_end, retry_task, run_id_at, start_dag_test
from tests.faults.conftest import record
from tests.inventory_lake.facts.raw_generator import write_generated_day
from tests.servers import S3Server
from tests.tcp_proxy import CuttableProxy

DAG_ID, TASK_ID = "inventory_adjustment_facts", "build_partition"
OLD_LINES, NEW_LINES = 20_000, 600_000
REFERENCE = "reference"


@dataclass(frozen=True)
class Visible:
    """What a reader of the facts partition finds: the data file's digest and the marker."""

    data_sha256: str | None
    marker: dict[str, Any] | None
    rows: int | None


def visible(s3: S3Server, partition: Partition) -> Visible:
    client, keys = s3.client(), set(s3.keys(partition.prefix))
    assert keys <= {partition.data_key, partition.marker_key}, keys
    data_sha256 = rows = marker = None
    if partition.data_key in keys:
        body = client.get_object(Bucket=s3.bucket, Key=partition.data_key)["Body"].read()
        data_sha256 = hashlib.sha256(body).hexdigest()
        rows = pq.read_metadata(io.BytesIO(body)).num_rows
    if partition.marker_key in keys:
        marker = json.loads(
            client.get_object(Bucket=s3.bucket, Key=partition.marker_key)["Body"].read()
        )
    return Visible(data_sha256, marker, rows)


@dataclass(frozen=True)
class KillPoint:
    """Kill while the S3 request `method` `path` is held (never sent), or when `seed` is set
    at a random moment of the build; `leaves` is the data file a reader then finds."""

    method: str = ""
    path: str = ""
    leaves: str = "either"
    marker_kept: bool = False
    seed: int | None = None


# The three steps of the commit, each held at the S3 server's door ({facts}: the partition
# being replaced), and a random moment after the last raw download began.
POINTS = {
    "before the marker is removed": KillPoint("DELETE", "{facts}_SUCCESS", "old", True),
    "uploading the data file": KillPoint("PUT", "{facts}part-00000.parquet", "old", False),
    "before the marker is written": KillPoint("PUT", "{facts}_SUCCESS", "new", False),
    "random moment": KillPoint(seed=7),
}


def wait_for(event: Any, process: subprocess.Popen[bytes], what: str) -> None:
    deadline = time.monotonic() + 180
    while not event.wait(0.05):
        assert process.poll() is None, f"the run ended before {what}"
        assert time.monotonic() < deadline, f"never reached: {what}"


# `make test` kills at the data upload and at a random moment; `make test-faults` (and
# INVENTORY_LAKE_ALL_KILL_POINTS=1) at every point.
KILLED_IN_MAKE_TEST = ("uploading the data file", "random moment")
RUN_POINTS = (
    list(POINTS) if os.environ.get("INVENTORY_LAKE_ALL_KILL_POINTS") else list(KILLED_IN_MAKE_TEST)
)


@pytest.mark.parametrize("point_name", RUN_POINTS)
def test_facts_killed_9_then_retried_is_exact_and_never_half_visible(
    lake_behind_proxy: CuttableProxy, s3_server: S3Server, point_name: str
) -> None:
    proxy, point = lake_behind_proxy, POINTS[point_name]
    day = date(2026, 2, 1 + list(POINTS).index(point_name))
    s3 = s3_server.client()
    lake = ShopLake(LakeRoot(s3_server.bucket), DEFAULT_SHOP_ID)
    reference_lake = ShopLake(LakeRoot(s3_server.bucket, REFERENCE), DEFAULT_SHOP_ID)
    target = lake.partition(FACTS_LINES_PATH, day)

    write_generated_day(s3, lake, day, OLD_LINES)
    old, _ = build_facts_partition(Lake(s3, lake.root), lake, day, "old-run")
    write_generated_day(s3, lake, day, NEW_LINES)
    write_generated_day(s3, reference_lake, day, NEW_LINES)
    started = time.perf_counter()
    reference, _ = build_facts_partition(Lake(s3, reference_lake.root), reference_lake, day, "ref")
    build_seconds = time.perf_counter() - started
    digests = {"old": old.marker["sha256"], "new": reference.marker["sha256"]}

    process = start_dag_test(DAG_ID, interval_end(day))
    if point.seed is None:
        path = point.path.format(facts=target.prefix)
        wait_for(proxy.stall_request(point.method, path), process, point_name)
    else:
        raw_items = lake.partition(STOCKY_ITEMS_PATH, day)
        wait_for(proxy.watch_request("GET", raw_items.data_key), process, "the raw download")
        time.sleep(random.Random(point.seed).uniform(0, build_seconds))
    with contextlib.suppress(ProcessLookupError):  # a random moment may come after the end
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=30)

    after_kill = visible(s3_server, target)
    assert after_kill.data_sha256 in digests.values(), "the data file is a whole build's file"
    if after_kill.marker is not None:
        assert after_kill.marker["sha256"] == after_kill.data_sha256
        assert after_kill.marker["rows"] == after_kill.rows
    if point.leaves != "either":
        assert after_kill.data_sha256 == digests[point.leaves]
        assert (after_kill.marker is not None) == point.marker_kept

    run_id = run_id_at(DAG_ID, interval_end(day))
    assert retry_task(DAG_ID, TASK_ID, run_id, map_index=0) == "success"
    retried = visible(s3_server, target)
    assert retried.marker is not None and retried.rows == reference.rows
    assert retried.data_sha256 == retried.marker["sha256"] == digests["new"]
    record(
        "Facts killed -9, then retried",
        lost=max(reference.rows - (retried.rows or 0), 0),
        duplicated=max((retried.rows or 0) - reference.rows, 0),
        note="held at marker removal, data upload, marker write; and at a random moment",
    )
