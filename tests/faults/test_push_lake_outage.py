"""The S3 server goes away in the middle of a push, then comes back: the task fails and
Airflow's retry finishes the batch. While the lake is gone, the approved file is never lost
(it stays in approved/, and is there or in processed/ after a half-done move); once back,
every request is applied exactly once, the file is in processed/ once, and the audit holds
one row per line."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.exc import NoResultFound

from include.inventory_lake.push.options import DEFAULTS
from tests.airflow_runs import retry_task, run_id_at, start_dag_test, task_state
from tests.faults.conftest import record
from tests.inventory_lake.push.support import (
    APPROVED,
    applied_requests,
    assert_stock_is,
    audit_rows,
    csv_text,
    ledger_doc,
    posts,
    put,
    request_docs,
    set_lines,
    staged,
)
from tests.servers import Emulator, S3Server
from tests.tcp_proxy import CuttableProxy

DAG_ID = "haravan_set_adjustments_push"
TASKS = ("each_file.push", "each_file.record")
CHUNK_SIZE, REQUESTS = 20, 4  # 2 locations x 40 lines


@dataclass(frozen=True)
class Outage:
    """S3 is cut at the request after `method` `path` and `then` more; `failing` is the task
    that then fails, `approved` / `processed` whether the file is in each folder while the lake
    is gone."""

    method: str
    path: str
    failing: str
    approved: bool
    processed: bool
    then: int = 0


OUTAGES = {
    # Request 2's outcome, then request 3's claim in batch.json are written; request 3 goes
    # out and lands, and its outcome is the first write the lake refuses.
    "between two requests (after request 2's outcome)": Outage(
        "PUT", "/chunks/00002.json", "each_file.push", approved=True, processed=False, then=1
    ),
    "mid-move (copied to processed/, not yet deleted)": Outage(
        "PUT", "/processed/", "each_file.record", approved=True, processed=True
    ),
}


def wait_until_up_for_retry(process: subprocess.Popen[bytes], when: datetime, task: str) -> str:
    """The run's id, once `task` failed and Airflow scheduled its retry."""
    deadline = time.monotonic() + 240
    while True:
        assert process.poll() is None, "the run ended instead of waiting to retry"
        assert time.monotonic() < deadline, f"{task} never failed"
        try:
            run_id = run_id_at(DAG_ID, when)
        except NoResultFound:  # the run is not created yet
            run_id = ""
        if run_id and task_state(DAG_ID, run_id, task, map_index=0) == "up_for_retry":
            return run_id
        time.sleep(0.2)


@pytest.mark.parametrize("outage_name", list(OUTAGES))
def test_s3_lost_mid_push_then_back_loses_no_file_and_applies_every_request_once(
    lake_behind_proxy: CuttableProxy,
    fresh_emulator: Emulator,
    s3_server: S3Server,
    outage_name: str,
) -> None:
    proxy, outage, emulator = lake_behind_proxy, OUTAGES[outage_name], fresh_emulator
    lines = set_lines(emulator, locations=2, per_location=40, seed=5)
    put(s3_server, APPROVED + "outage.csv", csv_text(lines))
    when = datetime(2026, 4, 1, tzinfo=UTC) + timedelta(minutes=list(OUTAGES).index(outage_name))
    proxy.cut_after_request(outage.method, outage.path, then=outage.then)
    process = start_dag_test(DAG_ID, when, {**DEFAULTS, "chunk_size": CHUNK_SIZE})
    try:
        run_id = wait_until_up_for_retry(process, when, outage.failing)
    finally:
        os.killpg(process.pid, signal.SIGKILL)  # it would wait out the retry delay
        process.wait(timeout=30)
    assert proxy.is_cut

    assert ("outage.csv" in staged(s3_server, "approved")) == outage.approved
    assert any(staged(s3_server, "processed")) == outage.processed, "no file is lost"
    if outage.failing == "each_file.push":
        assert audit_rows(s3_server) == [], "nothing is audited before the batch is sent"

    proxy.restore()
    for task in TASKS[TASKS.index(outage.failing) :]:
        assert retry_task(DAG_ID, task, run_id, map_index=0) == "success", task

    counts = applied_requests(emulator)
    (batch,) = {batch for batch, _ in counts}
    assert counts == {(batch, n): 1 for n in range(1, REQUESTS + 1)}
    assert len(posts(emulator)) == REQUESTS, "nothing that landed was sent again"
    if outage.failing == "each_file.push":
        assert request_docs(s3_server, batch)[3]["found_by"] == "lookup", (
            "request 3 landed while the lake was gone: the retry found it, did not resend it"
        )
    assert_stock_is(emulator, lines)
    assert staged(s3_server, "approved") == []
    assert len(staged(s3_server, "processed")) == 1
    assert ledger_doc(s3_server, batch)["status"] == "done"
    audit = audit_rows(s3_server)
    assert len(audit) == len(lines) and {row["status"] for row in audit} == {"applied"}
    record(
        "Push with S3 lost mid-run, then back",
        lost=len(lines) - len(audit),
        duplicated=sum(counts.values()) - REQUESTS,
        note="cut between two requests, and mid-move to processed/; file kept, retry exact",
    )
