"""A backfill created the way the UI creates it (the REST API behind the Trigger → Backfill
dialog) on a real `airflow standalone`: scheduler, LocalExecutor, several runs at once."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from include.inventory_lake.settings import HARAVAN_ADJUSTMENTS_PATH
from tests.lake_reads import read_partition
from tests.servers import AirflowApi, Emulator, S3Server, truth

DAG_ID = "haravan_adjustments_extract"
DAYS = [date(2026, 1, 11), date(2026, 1, 12), date(2026, 1, 13)]


@pytest.mark.timeout(900)  # starting airflow standalone is part of this test's setup
def test_a_three_day_backfill_from_the_ui_lands_three_exact_partitions(
    airflow_standalone: AirflowApi, emulator: Emulator, s3_server: S3Server
) -> None:
    emulator.reset()
    s3_server.empty_bucket()
    assert DAG_ID in {d["dag_id"] for d in airflow_standalone.call("GET", "dags")["dags"]}
    airflow_standalone.call("PATCH", f"dags/{DAG_ID}", {"is_paused": False})
    backfill = airflow_standalone.call(
        "POST",
        "backfills",
        {
            "dag_id": DAG_ID,
            "from_date": f"{DAYS[0]}T00:00:00Z",
            "to_date": f"{DAYS[-1]}T00:00:00Z",
            "max_active_runs": 3,
            "reprocess_behavior": "completed",
        },
    )
    deadline = time.monotonic() + 300
    runs: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        runs = [
            run
            for run in airflow_standalone.call("GET", f"dags/{DAG_ID}/dagRuns")["dag_runs"]
            if run["run_type"] == "backfill"
        ]
        if len(runs) == len(DAYS) and all(r["state"] in {"success", "failed"} for r in runs):
            break
        time.sleep(2)
    assert sorted(r["state"] for r in runs) == ["success"] * len(DAYS), (backfill, runs)
    assert sorted(r["data_interval_start"][:10] for r in runs) == [d.isoformat() for d in DAYS]

    records = truth(emulator, "haravan/adjustments")
    for day in DAYS:
        start = datetime(day.year, day.month, day.day, tzinfo=UTC)
        expected = sorted(
            r["id"]
            for r in records
            if start <= datetime.fromisoformat(r["created_at"]) < start + timedelta(days=1)
        )
        table = read_partition(s3_server, HARAVAN_ADJUSTMENTS_PATH, day)
        assert sorted(table.column("id").to_pylist()) == expected
