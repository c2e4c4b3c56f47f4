"""No secret leaves the Airflow connections: after a day of every DAG (both extracts, the
facts, a push), neither the runs' output and task logs, nor any XCom, nor any file in the lake
holds the Haravan token, the Stocky key or the S3 secret key."""

from __future__ import annotations

import json
import logging
import os
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from include.inventory_lake.push.options import DEFAULTS
from tests.airflow_runs import interval_end, xcom_values
from tests.inventory_lake.facts.dag_runs import load_dag
from tests.inventory_lake.push.support import APPROVED, csv_text, put, set_lines
from tests.servers import Emulator, S3Server

DAY = date(2026, 1, 12)
DAG_IDS = (
    "haravan_adjustments_extract",
    "stocky_adjustments_extract",
    "inventory_adjustment_facts",
    "haravan_set_adjustments_push",
)


def test_no_secret_in_any_dags_output_logs_xcom_or_lake_files(
    world: tuple[Emulator, S3Server],
    capfd: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    emulator, s3 = world
    caplog.set_level(logging.INFO)  # what a deployment logs
    secrets = {
        "Haravan token": emulator.haravan_token,
        "Stocky key": emulator.stocky_key,
        "S3 secret key": s3.secret_key,
    }
    put(
        s3,
        APPROVED + "secrets.csv",
        csv_text(set_lines(emulator, locations=1, per_location=5, seed=9)),
    )
    for dag_id in DAG_IDS:
        if dag_id == "haravan_set_adjustments_push":
            when = datetime(2026, 4, 2, tzinfo=UTC)
            run = load_dag(dag_id).test(logical_date=when, run_conf=dict(DEFAULTS))
        else:
            run = load_dag(dag_id).test(logical_date=interval_end(DAY))
        assert run.state == "success", dag_id
    assert len(s3.keys("audit/")) == 1, "the push ran to its audit"

    captured = capfd.readouterr()
    places: dict[str, str] = {
        "the runs' output": captured.out + captured.err + caplog.text,
        "XCom": json.dumps([xcom_values(dag_id) for dag_id in DAG_IDS], default=str),
    }
    for log_file in Path(os.environ["AIRFLOW_HOME"]).rglob("*.log"):
        places[str(log_file)] = log_file.read_text(errors="replace")
    client = s3.client()
    for key in s3.keys(prefix=""):
        body = client.get_object(Bucket=s3.bucket, Key=key)["Body"].read()
        places[f"s3://{s3.bucket}/{key}"] = body.decode("latin-1")
    logs = [text for place, text in places.items() if not place.startswith("s3://")]
    assert any("committed s3://" in text for text in logs), "the tasks' logs were captured"

    leaks = [
        f"{name} in {place}"
        for place, text in places.items()
        for name, secret in secrets.items()
        if secret in text
    ]
    assert leaks == []
