"""Backfills created the way the UI creates them (the REST API behind the Trigger → Backfill
dialog) on a real `airflow standalone`: scheduler, LocalExecutor, PostgreSQL metadata DB,
several runs at once."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import pytest

from include.inventory_lake.settings import (
    HARAVAN_ADJUSTMENTS_PATH,
    STOCKY_ADJUSTMENTS_PATH,
    STOCKY_ITEMS_PATH,
)
from tests.lake_reads import read_marker, read_partition
from tests.servers import AirflowApi, Emulator, S3Server, on_day, truth

HARAVAN = "haravan_adjustments_extract"
STOCKY = "stocky_adjustments_extract"
FACTS = "inventory_adjustment_facts"
DAYS = [date(2026, 1, 11), date(2026, 1, 12), date(2026, 1, 13)]
# `make test` runs a representative few; `make test-backfills` the full 20 in a row.
REPEATED_BACKFILLS = int(os.environ.get("INVENTORY_LAKE_BACKFILL_REPEATS", "2"))


@dataclass(frozen=True)
class Dataset:
    lake_path: str
    truth_name: str
    day_field: str


DATASETS = {
    HARAVAN: (Dataset(HARAVAN_ADJUSTMENTS_PATH, "haravan/adjustments", "created_at"),),
    STOCKY: (
        Dataset(STOCKY_ADJUSTMENTS_PATH, "stocky/stock_adjustments", "updated_at"),
        Dataset(STOCKY_ITEMS_PATH, "stocky/stock_adjustment_items", "updated_at"),
    ),
}


def assert_partitions_exact(
    dag_id: str, day: date, emulator: Emulator, s3_server: S3Server, shop: str = "default"
) -> None:
    for dataset in DATASETS[dag_id]:
        expected = sorted(r["id"] for r in on_day(truth(emulator, dataset.truth_name),
                                                  dataset.day_field, day))  # fmt: skip
        table = read_partition(s3_server, dataset.lake_path, day, shop)
        assert sorted(table.column("id").to_pylist()) == expected, (dag_id, dataset, day, shop)


@contextmanager
def scheduler_mid_write(api: AirflowApi) -> Iterator[None]:
    """What the scheduler does many times a second, its heartbeat among it: a write transaction
    on the metadata DB, here held open while the block runs. SQLite locks the whole database for
    it (Airflow then refuses a backfill: "Database is locked"); PostgreSQL locks one row."""
    from sqlalchemy import create_engine, text

    assert api.metadata_db is not None
    engine = create_engine(api.metadata_db)
    try:
        with engine.begin() as connection:
            written = connection.execute(
                text(
                    "UPDATE job SET latest_heartbeat = latest_heartbeat "
                    "WHERE job_type = 'SchedulerJob' AND state = 'running'"
                )
            )
            assert written.rowcount >= 1, "no running scheduler to stand in for"
            yield
    finally:
        engine.dispose()


def runs_on(api: AirflowApi, dag_id: str, day: date) -> list[dict[str, Any]]:
    return [r for r in api.runs(dag_id) if r["data_interval_start"][:10] == day.isoformat()]


@pytest.mark.timeout(900)  # starting airflow standalone is part of this test's setup
def test_a_three_day_backfill_from_the_ui_lands_three_exact_partitions(
    airflow_standalone: AirflowApi, emulator: Emulator, s3_server: S3Server
) -> None:
    emulator.reset()
    s3_server.empty_bucket()
    assert HARAVAN in {d["dag_id"] for d in airflow_standalone.call("GET", "dags")["dags"]}
    airflow_standalone.set_paused(HARAVAN, False)
    backfill = airflow_standalone.create_backfill(HARAVAN, DAYS[0], DAYS[-1])
    airflow_standalone.wait_for_backfill(backfill["id"])
    for day in DAYS:
        assert [r["state"] for r in runs_on(airflow_standalone, HARAVAN, day)] == ["success"]
        assert_partitions_exact(HARAVAN, day, emulator, s3_server)
    airflow_standalone.pause_once_idle(HARAVAN)
    airflow_standalone.wait_until_idle()


# What the Trigger → Backfill dialog posts as dag_run_conf with "Override parameters on existing
# runs" ticked and the extract's form left at its defaults (docs/shops.md, adding a shop).
DIALOG_DEFAULTS: dict[str, Any] = {"shops": [], "reprocess": False}


def extract_instances(api: AirflowApi, dag_id: str, day: date) -> dict[str, str]:
    """The state of each per-shop extract instance of the day's run, by its name in the grid."""
    (run,) = runs_on(api, dag_id, day)
    path = f"dags/{dag_id}/dagRuns/{run['dag_run_id']}/taskInstances"
    return {ti["rendered_map_index"]: ti["state"] for ti in api.call("GET", path)["task_instances"]
            if ti["task_id"] == "extract_adjustments" and ti["state"] != "removed"}  # fmt: skip


@pytest.mark.timeout(900)
def test_a_shop_added_then_backfilled_from_the_ui_as_the_docs_say_reads_only_that_shop(
    airflow_standalone: AirflowApi,
    emulator: Emulator,
    second_shop_emulator: Emulator,
    s3_server: S3Server,
) -> None:
    """docs/shops.md, adding a shop: the days ran for the default shop; `saigon` is added the
    way an operator adds one (a Haravan connection and the shops Variable, through the REST API
    behind Admin), then backfilled as the docs say (All Runs, "Override parameters on existing
    runs" ticked, the form's defaults): every day runs again and only saigon's API is read.
    Then the default shop is extracted again on purpose (`shops` and `reprocess`)."""
    api, saigon = airflow_standalone, second_shop_emulator
    emulator.reset()
    saigon.reset()
    s3_server.empty_bucket()
    days = DAYS[:2]
    try:
        api.set_paused(HARAVAN, False)
        loaded = api.create_backfill(HARAVAN, days[0], days[-1])
        api.wait_for_backfill(loaded["id"])
        markers = {day: read_marker(s3_server, HARAVAN_ADJUSTMENTS_PATH, day) for day in days}

        shops = [
            {"id": "default", "haravan_conn_id": "haravan_default"},
            {"id": "saigon", "haravan_conn_id": "haravan_saigon"},
        ]
        connection = {"connection_id": "haravan_saigon", "conn_type": "haravan",
                      "host": saigon.url, "password": saigon.haravan_token}  # fmt: skip
        api.call("POST", "connections", connection)
        api.call("POST", "variables", {"key": "inventory_lake_shops", "value": json.dumps(shops)})
        emulator.admin_post("journal/reset")
        added = api.create_backfill(
            HARAVAN, days[0], days[-1], reprocess_behavior="completed", run_conf=DIALOG_DEFAULTS
        )
        api.wait_for_backfill(added["id"])
        assert emulator.journal()["counts"]["total"] == 0, "the default shop's API was read"
        for day in days:
            assert read_marker(s3_server, HARAVAN_ADJUSTMENTS_PATH, day) == markers[day]
            assert_partitions_exact(HARAVAN, day, saigon, s3_server, shop="saigon")
            assert extract_instances(api, HARAVAN, day) == {"saigon": "success"}
        (run,) = runs_on(api, HARAVAN, days[0])
        assert f"skipped: shop default, day {days[0]}" in api.task_log(
            HARAVAN, run["dag_run_id"], "shops"
        )

        saigon.admin_post("journal/reset")
        conf = {"shops": ["default"], "reprocess": True}
        again = api.create_backfill(
            HARAVAN, days[0], days[-1], reprocess_behavior="completed", run_conf=conf
        )
        api.wait_for_backfill(again["id"])
        assert saigon.journal()["counts"]["total"] == 0, "saigon was not asked for"
        assert emulator.journal()["counts"]["total"] > 0, "asked to reprocess: read again"
        for day in days:
            marker = read_marker(s3_server, HARAVAN_ADJUSTMENTS_PATH, day)
            assert marker["committed_at"] > markers[day]["committed_at"]
            assert_partitions_exact(HARAVAN, day, emulator, s3_server)
            assert extract_instances(api, HARAVAN, day) == {"default": "success"}
    finally:
        api.pause_once_idle(HARAVAN)
        api.request("DELETE", "variables/inventory_lake_shops")
        api.request("DELETE", "connections/haravan_saigon")
        api.wait_until_idle()


@pytest.mark.timeout(1800)
def test_backfills_posted_right_after_unpausing_while_other_runs_are_active_are_all_accepted(
    airflow_standalone: AirflowApi, emulator: Emulator, s3_server: S3Server
) -> None:
    """Each backfill is posted the moment its DAG is unpaused (the scheduler then writes to the
    metadata DB for that DAG), while a scheduler write transaction is open and runs of other
    DAGs are queued or running: the other extract's backfill, the facts runs the extracts'
    events start. Every one must be accepted and land exact partitions."""
    emulator.reset()
    s3_server.empty_bucket()
    api = airflow_standalone
    api.set_paused(FACTS, False)  # the extracts' events start facts runs: more writers
    # Alternating extracts, one day each (Airflow allows one running backfill per DAG).
    plan = [
        (HARAVAN if i % 2 == 0 else STOCKY, date(2026, 1, 1) + timedelta(days=i // 2 % 14))
        for i in range(REPEATED_BACKFILLS)
    ]
    backfill_ids: list[int] = []
    fillers = 0

    def post(dag_id: str, day: date) -> None:
        nonlocal fillers
        others = {r["dag_run_id"] for r in api.active_runs() if r["dag_id"] != dag_id}
        if not others:  # the other backfill ended already: start a run to compete with
            other = STOCKY if dag_id == HARAVAN else HARAVAN
            empty_day = f"{date(2025, 6, 1) + timedelta(days=fillers)}T00:00:00Z"
            fillers += 1
            others = {api.call("POST", f"dags/{other}/dagRuns",
                               {"logical_date": empty_day})["dag_run_id"]}  # fmt: skip
        api.set_paused(dag_id, True)
        api.set_paused(dag_id, False)
        with scheduler_mid_write(api):
            backfill = api.create_backfill(dag_id, day, day)  # any refusal fails the test
        still_active = {r["dag_run_id"] for r in api.active_runs()} & others
        assert still_active, f"{dag_id} {day}: posted when no other run was active"
        backfill_ids.append(backfill["id"])

    def finish(dag_id: str, day: date, backfill_id: int) -> None:
        api.wait_for_backfill(backfill_id)
        assert [r["state"] for r in runs_on(api, dag_id, day)] == ["success"], (dag_id, day)
        assert_partitions_exact(dag_id, day, emulator, s3_server)

    post(*plan[0])
    for k, (dag_id, day) in enumerate(plan):
        if k + 1 < len(plan):
            post(*plan[k + 1])  # while backfill k runs
        finish(dag_id, day, backfill_ids[k])

    assert len(backfill_ids) == REPEATED_BACKFILLS
    api.pause_once_idle(HARAVAN, STOCKY, FACTS)
    api.wait_until_idle()
