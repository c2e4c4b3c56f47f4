"""No secret leaves the Airflow connections: after a day of every DAG (both extracts, the
facts, a push), neither the runs' output and task logs, nor any XCom, nor any file in the lake,
nor any OpenLineage event holds the Haravan token, the Stocky key, the S3 secret key or a
password written into an API connection's host (`https://user:secret@…`)."""

from __future__ import annotations

import json
import logging
import os
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from include.inventory_lake.push.options import DEFAULTS
from tests.airflow_runs import interval_end, xcom_values
from tests.conftest import LINEAGE_EVENTS
from tests.inventory_lake.facts.dag_runs import load_dag
from tests.inventory_lake.push.support import APPROVED, csv_text, put, set_lines
from tests.servers import Emulator, S3Server

DAY = date(2026, 1, 12)
HOST_PASSWORD = "host-password-1c9e-never-sent"
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
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    emulator, s3 = world
    caplog.set_level(logging.INFO)  # what a deployment logs
    secrets = {
        "Haravan token": emulator.haravan_token,
        "Stocky key": emulator.stocky_key,
        "S3 secret key": s3.secret_key,
        "password in a connection's host": HOST_PASSWORD,
    }
    # Both API connections with user info in their host, as pasted from a password manager.
    host = emulator.url.replace("://", f"://inventory:{HOST_PASSWORD}@", 1)
    for name in ("AIRFLOW_CONN_HARAVAN_DEFAULT", "AIRFLOW_CONN_STOCKY_DEFAULT"):
        monkeypatch.setenv(name, json.dumps({**json.loads(os.environ[name]), "host": host}))
    lineage_before = LINEAGE_EVENTS.read_text() if LINEAGE_EVENTS.exists() else ""
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
    places["the OpenLineage events"] = LINEAGE_EVENTS.read_text()[len(lineage_before) :]
    logs = [text for place, text in places.items() if not place.startswith("s3://")]
    assert any("committed s3://" in text for text in logs), "the tasks' logs were captured"
    events = [json.loads(line) for line in places["the OpenLineage events"].splitlines()]
    namespaces = {
        d["namespace"] for e in events for d in e.get("inputs", []) + e.get("outputs", [])
    }
    assert emulator.url.rstrip("/") in namespaces, "the events name the API's datasets"

    leaks = [
        f"{name} in {place}"
        for place, text in places.items()
        for name, secret in secrets.items()
        if secret in text
    ]
    assert leaks == []
