"""haravan_adjustments_extract, run through Airflow against the emulator and the S3 server."""

from __future__ import annotations

import os
import subprocess
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from include.inventory_lake import dag_defaults
from include.inventory_lake.schemas.haravan import ADJUSTMENTS
from include.inventory_lake.settings import HARAVAN_ADJUSTMENTS_PATH
from tests.airflow_runs import (
    AIRFLOW,
    TaskAttempt,
    asset_events,
    interval_end,
    run_dag,
    run_task_process,
    task_command,
)
from tests.lake_reads import partition_prefix, read_marker, read_partition
from tests.servers import Emulator, S3Server, noisy_neighbour, on_day, small_pages, truth

DAG_ID = "haravan_adjustments_extract"
DAY = date(2026, 1, 10)


def created_on(emulator: Emulator, day: date) -> list[dict[str, Any]]:
    return on_day(truth(emulator, "haravan/adjustments"), "created_at", day)


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


def test_a_day_long_retry_after_fails_the_task_at_once_without_waiting(
    world: tuple[Emulator, S3Server],
) -> None:
    """Haravan answers 429 with `Retry-After: 86400`: the task neither sleeps a day in its
    pool slot nor goes up for retry; it fails saying how long the API asked to wait."""
    emulator, s3 = world
    emulator.set_faults(
        script=[
            {"kind": "status", "status": 429, "retry_after": "86400", "path": "/com/", "times": -1}
        ]
    )
    attempt = run_task_process(DAG_ID, "extract_adjustments", DAY, timeout_s=120)
    assert attempt.state == "failed", "a wait beyond the cap is not retried"
    assert "86400" in attempt.output and "max_retry_after_s" in attempt.output
    assert emulator.journal()["counts"]["total"] <= 2
    assert s3.keys(HARAVAN_ADJUSTMENTS_PATH) == []


def ids_in(s3: S3Server, day: date) -> list[int]:
    ids: list[int] = read_partition(s3, HARAVAN_ADJUSTMENTS_PATH, day).column("id").to_pylist()
    return ids


def expected_ids(emulator: Emulator, day: date) -> list[int]:
    return [record["id"] for record in created_on(emulator, day)]


def test_three_day_backfill_writes_three_exact_partitions_and_asset_events(
    world: tuple[Emulator, S3Server],
) -> None:
    emulator, s3 = world
    days = [date(2026, 1, 5), date(2026, 1, 6), date(2026, 1, 7)]
    for day in days:
        assert run_dag(DAG_ID, day).state == "success"
    for day in days:
        assert sorted(ids_in(s3, day)) == expected_ids(emulator, day)
    events = asset_events("raw_haravan_inventory_adjustments")
    by_dt = {event["dt"]: event for event in events}
    for day in days:
        assert by_dt[day.isoformat()]["rows"] == len(expected_ids(emulator, day))
        assert by_dt[day.isoformat()]["uri"].endswith(f"shop=default/dt={day.isoformat()}/")


def test_rerun_replaces_the_partition_with_identical_rows(
    world: tuple[Emulator, S3Server],
) -> None:
    _, s3 = world
    assert run_dag(DAG_ID, DAY).state == "success"
    first = read_partition(s3, HARAVAN_ADJUSTMENTS_PATH, DAY)
    first_run = read_marker(s3, HARAVAN_ADJUSTMENTS_PATH, DAY)["run_id"]
    assert run_dag(DAG_ID, DAY).state == "success"
    second = read_partition(s3, HARAVAN_ADJUSTMENTS_PATH, DAY)
    assert second.equals(first)
    assert read_marker(s3, HARAVAN_ADJUSTMENTS_PATH, DAY)["run_id"] != first_run
    prefix = partition_prefix(HARAVAN_ADJUSTMENTS_PATH, DAY)
    assert sorted(s3.keys(prefix)) == [
        f"{prefix}_SUCCESS",
        f"{prefix}part-00000.parquet",
    ]


def test_records_created_while_paging_are_neither_missed_nor_duplicated(
    world: tuple[Emulator, S3Server], monkeypatch: pytest.MonkeyPatch
) -> None:
    emulator, s3 = world
    small_pages(monkeypatch, emulator)
    expected = expected_ids(emulator, DAY)
    records_before = len(truth(emulator, "haravan/adjustments"))
    emulator.set_faults(insert_during_paging={"every_pages": 1, "count": 3})
    assert run_dag(DAG_ID, DAY).state == "success"
    ids = ids_in(s3, DAY)
    assert len(ids) == len(set(ids)), "duplicates"
    assert sorted(ids) == expected
    inserted = len(truth(emulator, "haravan/adjustments")) - records_before
    assert inserted >= 9, "the emulator really did insert records during the run"


def test_server_errors_dropped_connections_and_cut_bodies_are_retried_to_an_exact_partition(
    world: tuple[Emulator, S3Server], monkeypatch: pytest.MonkeyPatch
) -> None:
    emulator, s3 = world
    small_pages(monkeypatch, emulator)
    scripted = [
        {"kind": "status", "status": 503, "path": "adjustments.json"},
        {"kind": "drop", "path": "adjustments.json"},
        {"kind": "truncate", "path": "adjustments.json"},
        {"kind": "html502", "path": "adjustments.json"},
    ]
    emulator.set_faults(seed=3, apis=["haravan"], error_rate=0.05, script=scripted)
    assert run_dag(DAG_ID, DAY).state == "success"
    assert sorted(ids_in(s3, DAY)) == expected_ids(emulator, DAY)
    faults = [r["fault"] for r in emulator.journal()["requests"] if r["fault"]]
    assert {"status", "drop", "truncate", "html502"} <= set(faults), faults


def test_a_429_storm_from_a_client_sharing_the_bucket_is_survived(
    world: tuple[Emulator, S3Server], monkeypatch: pytest.MonkeyPatch
) -> None:
    emulator, s3 = world
    small_pages(monkeypatch, emulator, page_size=5)
    emulator.admin_post("config", {"bucket_size": 10, "leak_rate": 20.0})
    # The neighbour's timing decides whether it beats us to a slot; three refusals of our own
    # calls (429 + Retry-After, as the shop's bucket sends them) make the storm certain.
    emulator.set_faults(
        script=[{"kind": "status", "status": 429, "path": "adjustments.json", "times": 3}]
    )
    with noisy_neighbour(emulator):
        assert run_dag(DAG_ID, DAY).state == "success"
    assert sorted(ids_in(s3, DAY)) == expected_ids(emulator, DAY)
    ours = [r for r in emulator.journal()["requests"] if r["path"].endswith("/adjustments.json")]
    assert any(r["status"] == 429 for r in ours), "the storm reached the extract's own calls"


def test_a_malformed_page_fails_clearly_and_keeps_the_previous_partition(
    world: tuple[Emulator, S3Server],
) -> None:
    emulator, s3 = world
    assert run_dag(DAG_ID, DAY).state == "success"
    before = read_marker(s3, HARAVAN_ADJUSTMENTS_PATH, DAY)
    emulator.set_faults(script=[{"kind": "malformed", "path": "adjustments.json", "times": -1}])
    attempt = run_task_process(DAG_ID, "extract_adjustments", DAY)
    assert attempt.state in {"up_for_retry", "failed"}
    assert "MalformedPageError" in attempt.output and "adjustments" in attempt.output
    assert read_marker(s3, HARAVAN_ADJUSTMENTS_PATH, DAY) == before
    assert sorted(ids_in(s3, DAY)) == expected_ids(emulator, DAY)


def test_a_day_without_adjustments_gets_an_empty_typed_partition_and_a_marker(
    world: tuple[Emulator, S3Server],
) -> None:
    _, s3 = world
    empty_day = date(2025, 12, 20)
    assert run_dag(DAG_ID, empty_day).state == "success"
    table = read_partition(s3, HARAVAN_ADJUSTMENTS_PATH, empty_day)
    assert table.num_rows == 0
    assert table.schema.equals(ADJUSTMENTS)
    assert read_marker(s3, HARAVAN_ADJUSTMENTS_PATH, empty_day)["rows"] == 0


def test_the_previous_days_marker_makes_the_next_day_cheap_to_find(
    world: tuple[Emulator, S3Server],
) -> None:
    emulator, s3 = world
    assert run_dag(DAG_ID, DAY - timedelta(days=1)).state == "success"
    emulator.admin_post("journal/reset")
    assert run_dag(DAG_ID, DAY).state == "success"
    assert sorted(ids_in(s3, DAY)) == expected_ids(emulator, DAY)
    assert emulator.journal()["counts"]["total"] <= 3, "one probe from the hint, then the page"


def test_a_later_day_in_the_lake_bounds_the_search_of_an_earlier_one(
    world: tuple[Emulator, S3Server],
) -> None:
    """A backfill's run whose previous day is not committed yet, but the next one is: the next
    day's min_id (the marker) caps the search, which ends on the day's first page."""
    emulator, s3 = world
    assert run_dag(DAG_ID, DAY + timedelta(days=1)).state == "success"
    emulator.admin_post("journal/reset")
    assert run_dag(DAG_ID, DAY).state == "success"
    assert sorted(ids_in(s3, DAY)) == expected_ids(emulator, DAY)
    # The history's first page (a lower end), then the page holding the day (one page of data).
    assert emulator.journal()["counts"]["total"] <= 3
    marker = read_marker(s3, HARAVAN_ADJUSTMENTS_PATH, DAY)
    assert {"min_id", "max_id", "min_id_created_at", "max_id_created_at"} <= set(marker)


def test_concurrent_backfill_runs_share_one_bucket_and_each_day_is_exact(
    world: tuple[Emulator, S3Server], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Three days at once, as a backfill with several active runs does, on a tight bucket."""
    emulator, s3 = world
    small_pages(monkeypatch, emulator, page_size=4)
    emulator.admin_post("config", {"bucket_size": 6, "leak_rate": 8.0})
    days = [date(2026, 1, 2), date(2026, 1, 3), date(2026, 1, 4)]
    processes = [
        subprocess.Popen(
            task_command(DAG_ID, "extract_adjustments", day),
            env=dict(os.environ),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for day in days
    ]
    outputs = [process.communicate(timeout=600)[0] for process in processes]
    for day, output in zip(days, outputs, strict=True):
        assert TaskAttempt(output).state == "success", output[-3000:]
        assert sorted(ids_in(s3, day)) == expected_ids(emulator, day)
    statuses = [r["status"] for r in emulator.journal()["requests"]]
    assert statuses.count(200) >= 3 * 10


def test_airflow_dags_test_exits_0_after_a_good_day_and_non_zero_after_a_refused_token(
    world: tuple[Emulator, S3Server],
) -> None:
    """The first command a data engineer types to debug the DAG, with the default settings:
    the DAG has its freshness deadline (Airflow 3.3.2 crashed at the end of such a run)."""
    emulator, s3 = world
    assert dag_defaults.freshness_deadline() is not None
    command = [str(AIRFLOW), "dags", "test", DAG_ID, interval_end(DAY).isoformat()]
    good = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert good.returncode == 0, (good.stdout + good.stderr)[-3000:]
    assert read_marker(s3, HARAVAN_ADJUSTMENTS_PATH, DAY)["rows"] == len(created_on(emulator, DAY))

    refused = f'{{"conn_type": "haravan", "host": "{emulator.url}", "password": "revoked-0000"}}'
    env = {**os.environ, "AIRFLOW_CONN_HARAVAN_DEFAULT": refused}
    bad = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert bad.returncode != 0
    assert "DagRun failed" in bad.stdout + bad.stderr, (bad.stdout + bad.stderr)[-3000:]
