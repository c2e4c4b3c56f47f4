"""haravan_adjustments_extract, run through Airflow against the emulator and the S3 server."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from include.inventory_lake.settings import HARAVAN_ADJUSTMENTS_PATH
from tests.airflow_runs import run_dag, run_task_process
from tests.lake_reads import read_marker, read_partition
from tests.servers import Emulator, S3Server, truth

DAG_ID = "haravan_adjustments_extract"
DAY = date(2026, 1, 10)


@pytest.fixture()
def world(
    airflow_db: Any, airflow_connections: Any, fresh_emulator: Emulator, s3_server: S3Server
) -> Iterator[tuple[Emulator, S3Server]]:
    s3_server.empty_bucket()
    yield fresh_emulator, s3_server


def created_on(emulator: Emulator, day: date) -> list[dict[str, Any]]:
    start = datetime(day.year, day.month, day.day, tzinfo=UTC)
    end = start + timedelta(days=1)
    return [
        record
        for record in truth(emulator, "haravan/adjustments")
        if start <= datetime.fromisoformat(record["created_at"]) < end
    ]


def expected_value(value: Any, field: str) -> Any:
    timestamps = {"created_at", "updated_at", "tran_date"}
    if field in timestamps and value is not None:
        return datetime.fromisoformat(value).astimezone(UTC)
    return value


def test_a_day_lands_typed_and_equal_to_the_api_field_by_field(
    world: tuple[Emulator, S3Server],
) -> None:
    emulator, s3 = world
    run = run_dag(DAG_ID, DAY)
    assert run.state == "success"

    table = read_partition(s3, HARAVAN_ADJUSTMENTS_PATH, DAY)
    rows = sorted(table.to_pylist(), key=lambda row: row["id"])
    expected = created_on(emulator, DAY)
    assert len(expected) > 10
    assert [row["id"] for row in rows] == [record["id"] for record in expected]
    for row, record in zip(rows, expected, strict=True):
        for field, value in record.items():
            if field == "line_items":
                assert row["line_items"] == value, f"id {record['id']} line_items"
            else:
                assert row[field] == expected_value(value, field), f"id {record['id']} {field}"
        assert row["_extra_json"] is None
    marker = read_marker(s3, HARAVAN_ADJUSTMENTS_PATH, DAY)
    assert marker["rows"] == len(expected)
    assert marker["interval_start"] == "2026-01-10T00:00:00+00:00"


def test_wrong_token_fails_loudly_and_writes_nothing(
    world: tuple[Emulator, S3Server], monkeypatch: pytest.MonkeyPatch
) -> None:
    emulator, s3 = world
    monkeypatch.setenv(
        "AIRFLOW_CONN_HARAVAN_DEFAULT",
        f'{{"conn_type": "http", "host": "{emulator.url}", "password": "revoked-token-123"}}',
    )
    attempt = run_task_process(DAG_ID, "extract_adjustments", DAY)
    output = attempt.output
    assert attempt.state == "failed", "no retries for refused credentials"
    assert "haravan_default" in output and "401" in output, output[-3000:]
    assert "revoked-token-123" not in output
    assert s3.keys(HARAVAN_ADJUSTMENTS_PATH) == []
    assert emulator.journal()["counts"]["total"] <= 2
