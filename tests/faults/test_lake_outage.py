"""The S3 server goes away in the middle of publishing a partition, then comes back: the task
fails (Airflow retries it), no half partition is ever visible, and the retry is exact."""

from __future__ import annotations

from datetime import date

from include.inventory_lake.settings import HARAVAN_ADJUSTMENTS_PATH
from tests.airflow_runs import run_dag, run_task_process
from tests.faults.conftest import record
from tests.lake_reads import partition_prefix, read_marker, read_partition
from tests.servers import Emulator, S3Server, on_day, truth
from tests.tcp_proxy import CuttableProxy

DAG_ID, TASK_ID = "haravan_adjustments_extract", "extract_adjustments"
DAY = date(2026, 1, 8)


def test_s3_lost_between_marker_removal_and_upload_then_back(
    lake_behind_proxy: CuttableProxy, fresh_emulator: Emulator, s3_server: S3Server
) -> None:
    proxy = lake_behind_proxy
    assert run_dag(DAG_ID, DAY).state == "success"
    before = read_partition(s3_server, HARAVAN_ADJUSTMENTS_PATH, DAY)

    proxy.cut_after_request("DELETE")  # the marker is removed, then S3 is gone
    failed = run_task_process(DAG_ID, TASK_ID, DAY)
    assert proxy.is_cut
    assert failed.state == "up_for_retry"
    assert "EndpointConnectionError" in failed.output or "ConnectionClosedError" in failed.output

    keys = s3_server.keys(partition_prefix(HARAVAN_ADJUSTMENTS_PATH, DAY))
    assert keys == [partition_prefix(HARAVAN_ADJUSTMENTS_PATH, DAY) + "part-00000.parquet"]
    assert read_partition(s3_server, HARAVAN_ADJUSTMENTS_PATH, DAY).equals(before), (
        "readers still see the whole previous partition, and no marker claims it is current"
    )

    proxy.restore()
    retried = run_task_process(DAG_ID, TASK_ID, DAY)
    assert retried.state == "success"
    records = truth(fresh_emulator, "haravan/adjustments")
    expected = sorted(r["id"] for r in on_day(records, "created_at", DAY))
    got = read_partition(s3_server, HARAVAN_ADJUSTMENTS_PATH, DAY).column("id").to_pylist()
    assert sorted(got) == expected
    assert read_marker(s3_server, HARAVAN_ADJUSTMENTS_PATH, DAY)["rows"] == len(expected)
    record("S3 server lost mid-publish, then back", lost=len(set(expected) - set(got)),
           duplicated=len(got) - len(set(got)), note="task failed, retry exact")  # fmt: skip
