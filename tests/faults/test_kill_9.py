"""kill -9 of the extract task at several points of its run, then another attempt of the same
task for the same day (what Airflow's retry runs): nothing of the killed attempt is visible, the
next attempt is exact."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from datetime import date

import pytest

from include.inventory_lake.settings import HARAVAN_ADJUSTMENTS_PATH
from tests.airflow_runs import run_dag, task_command
from tests.faults.conftest import record
from tests.lake_reads import read_marker, read_partition
from tests.servers import Emulator, S3Server, on_day, small_pages, truth

DAG_ID, TASK_ID = "haravan_adjustments_extract", "extract_adjustments"


@pytest.fixture()
def slow_world(
    world: tuple[Emulator, S3Server], monkeypatch: pytest.MonkeyPatch
) -> tuple[Emulator, S3Server]:
    """Pages of 3, 100 ms each: a run long enough to be killed at a chosen request."""
    small_pages(monkeypatch, world[0], page_size=3)
    world[0].set_faults(latency_ms=100, apis=["haravan"])
    return world


@pytest.mark.parametrize("kill_after_requests", [2, 12])
def test_kill_9_at_any_point_then_retry_is_exact(
    slow_world: tuple[Emulator, S3Server], kill_after_requests: int
) -> None:
    emulator, s3 = slow_world
    day = date(2026, 1, 4 + kill_after_requests % 7)
    process = subprocess.Popen(
        task_command(DAG_ID, TASK_ID, day),
        env=dict(os.environ),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 180
    while emulator.journal()["counts"]["total"] < kill_after_requests:
        assert process.poll() is None and time.monotonic() < deadline
        time.sleep(0.05)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=30)
    assert s3.keys(HARAVAN_ADJUSTMENTS_PATH) == []

    emulator.set_faults()
    assert run_dag(DAG_ID, day).state == "success", "the next attempt (in-process: no startup)"
    records = truth(emulator, "haravan/adjustments")
    expected = sorted(r["id"] for r in on_day(records, "created_at", day))
    got = read_partition(s3, HARAVAN_ADJUSTMENTS_PATH, day).column("id").to_pylist()
    record(
        "Haravan extract killed -9, then retried",
        lost=len(set(expected) - set(got)),
        duplicated=len(got) - len(set(got)),
        note="killed after 2 or 12 requests",
    )
    assert sorted(got) == expected
    assert read_marker(s3, HARAVAN_ADJUSTMENTS_PATH, day)["rows"] == len(expected)
