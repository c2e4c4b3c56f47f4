"""A backfill created the way the UI creates it (the REST API behind the Trigger → Backfill
dialog) on a real `airflow standalone`: scheduler, LocalExecutor, several runs at once."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests

from include.inventory_lake.devstack.processes import free_port
from include.inventory_lake.devstack.stack import StackPaths, airflow_env, down, start_airflow
from include.inventory_lake.settings import HARAVAN_ADJUSTMENTS_PATH
from tests.airflow_runs import ROOT
from tests.lake_reads import read_partition
from tests.servers import Emulator, S3Server, truth

DAG_ID = "haravan_adjustments_extract"
DAYS = [date(2026, 1, 11), date(2026, 1, 12), date(2026, 1, 13)]


class AirflowApi:
    def __init__(self, url: str, password: str) -> None:
        self.url = url
        response = requests.post(
            f"{url}/auth/token", json={"username": "admin", "password": password}, timeout=30
        )
        response.raise_for_status()
        self.headers = {"Authorization": f"Bearer {response.json()['access_token']}"}

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        response = requests.request(
            method, f"{self.url}/api/v2/{path}", json=body, headers=self.headers, timeout=30
        )
        response.raise_for_status()
        return response.json()


@pytest.fixture(scope="module")
def standalone(
    tmp_path_factory: pytest.TempPathFactory,
    airflow_connections: dict[str, str],
    emulator: Emulator,
    s3_server: S3Server,
) -> Iterator[AirflowApi]:
    paths = StackPaths(ROOT, local_dir=tmp_path_factory.mktemp("standalone"))
    env = airflow_env(paths, {**airflow_connections, "AIRFLOW__API__PORT": str(free_port())})
    url = start_airflow(paths, env)
    try:
        password = json.loads(Path(paths.passwords_file).read_text())["admin"]
        yield AirflowApi(url, password)
    finally:
        down(paths)


def test_a_three_day_backfill_from_the_ui_lands_three_exact_partitions(
    standalone: AirflowApi, emulator: Emulator, s3_server: S3Server
) -> None:
    emulator.reset()
    s3_server.empty_bucket()
    assert DAG_ID in {d["dag_id"] for d in standalone.call("GET", "dags")["dags"]}
    standalone.call("PATCH", f"dags/{DAG_ID}", {"is_paused": False})
    backfill = standalone.call(
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
            for run in standalone.call("GET", f"dags/{DAG_ID}/dagRuns")["dag_runs"]
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
