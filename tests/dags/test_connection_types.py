"""The `haravan` and `stocky` connection types, through Airflow's own machinery: the running
API server's connection form lists them with their labelled fields, and a `haravan`
connection created through the REST API (as the UI's form saves it) drives the extract."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest

from include.inventory_lake.settings import HARAVAN_ADJUSTMENTS_PATH, HARAVAN_CONN_ID
from tests.airflow_runs import TaskAttempt, task_command
from tests.lake_reads import read_marker, read_partition
from tests.servers import AirflowApi, Emulator, S3Server, on_day, truth

DAG_ID = "haravan_adjustments_extract"
DAY = date(2026, 1, 9)


@pytest.fixture(scope="module")
def hook_meta(airflow_standalone: AirflowApi) -> dict[str, dict[str, Any]]:
    """What the UI's Admin -> Connections -> + form is built from, by connection type."""
    metadata = airflow_standalone.call("GET", "connections/hook_meta", prefix="ui")
    return {entry["connection_type"]: entry for entry in metadata}


def extra_fields(meta: dict[str, Any]) -> dict[str, tuple[str, list[str], Any]]:
    """Per extra field: its label, JSON types and default."""
    return {
        name: (field["schema"]["title"], field["schema"]["type"], field["value"])
        for name, field in (meta["extra_fields"] or {}).items()
    }


def shown_fields(meta: dict[str, Any]) -> dict[str, tuple[bool, str | None]]:
    """Per standard field the form customises: hidden, and its label."""
    return {
        name: (field["hidden"], field["title"])
        for name, field in meta["standard_fields"].items()
        if field is not None
    }


def test_the_connection_form_offers_haravan_with_its_fields(
    hook_meta: dict[str, dict[str, Any]],
) -> None:
    haravan = hook_meta["haravan"]
    assert haravan["hook_name"] == "Haravan"
    assert haravan["hook_class_name"] == "include.inventory_lake.hooks.HaravanHook"
    assert shown_fields(haravan) == {
        "url_schema": (True, None),
        "port": (True, None),
        "login": (True, None),
        "host": (False, "Base URL"),
        "password": (False, "Access token"),
    }
    assert haravan["standard_fields"]["host"]["placeholder"] == "https://apis.haravan.com"
    assert extra_fields(haravan) == {
        "page_size": ("Page size", ["integer", "null"], 250),
        "bucket_size": ("Bucket size", ["integer", "null"], 80),
        "leak_rate": ("Leak rate (calls/s)", ["number", "null"], 4.0),
        "max_retry_after_s": ("Max Retry-After wait (s)", ["number", "null"], 120.0),
    }


def test_the_connection_form_offers_stocky_with_its_fields(
    hook_meta: dict[str, dict[str, Any]],
) -> None:
    stocky = hook_meta["stocky"]
    assert stocky["hook_name"] == "Stocky"
    assert stocky["hook_class_name"] == "include.inventory_lake.hooks.StockyHook"
    assert shown_fields(stocky) == {
        "url_schema": (True, None),
        "port": (True, None),
        "host": (False, "Base URL"),
        "login": (False, "Store name"),
        "password": (False, "API key"),
    }
    assert stocky["standard_fields"]["login"]["placeholder"] == "your-shop.myshopify.com"
    assert extra_fields(stocky) == {
        "page_size": ("Page size", ["integer", "null"], 250),
        "max_retry_after_s": ("Max Retry-After wait (s)", ["number", "null"], 120.0),
    }
    assert "http" in hook_meta, "the old type is still there for existing connections"


@pytest.fixture()
def haravan_connection_in_the_db(
    airflow_standalone: AirflowApi, fresh_emulator: Emulator
) -> Iterator[dict[str, Any]]:
    """`haravan_default` created through the REST API in the standalone's metadata DB, with
    the fields of the form (an empty one saved as null); deleted afterwards."""
    body = {
        "connection_id": HARAVAN_CONN_ID,
        "conn_type": "haravan",
        "host": fresh_emulator.url,
        "password": fresh_emulator.haravan_token + "\n",  # pasted with its line break
        "extra": '{"page_size": 7, "bucket_size": 80, "leak_rate": null, "max_retry_after_s": 30}',
    }
    airflow_standalone.call("POST", "connections", body)
    try:
        yield body
    finally:
        airflow_standalone.call("DELETE", f"connections/{HARAVAN_CONN_ID}")


def test_a_haravan_connection_created_through_the_api_drives_the_extract(
    airflow_standalone: AirflowApi,
    haravan_connection_in_the_db: dict[str, Any],
    fresh_emulator: Emulator,
    s3_server: S3Server,
) -> None:
    """The task runs with the standalone's metadata DB and configuration, and without the
    `AIRFLOW_CONN_HARAVAN_DEFAULT` variable (which would win over the DB): the connection it
    reads is the one the API stored."""
    assert airflow_standalone.env is not None
    stored = airflow_standalone.call("GET", f"connections/{HARAVAN_CONN_ID}")
    assert stored["conn_type"] == "haravan" and stored["password"] != fresh_emulator.haravan_token
    airflow_standalone.set_paused(DAG_ID, True)  # the scheduler leaves the test's run alone
    env = {
        key: value
        for key, value in airflow_standalone.env.items()
        if key != "AIRFLOW_CONN_HARAVAN_DEFAULT"
    }
    s3_server.empty_bucket()
    try:
        result = subprocess.run(
            task_command(DAG_ID, "extract_adjustments", DAY, env=env),
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        attempt = TaskAttempt(result.stdout + result.stderr)
        assert attempt.state == "success", attempt.output[-3000:]
        assert fresh_emulator.haravan_token not in attempt.output

        expected = on_day(truth(fresh_emulator, "haravan/adjustments"), "created_at", DAY)
        rows = read_partition(s3_server, HARAVAN_ADJUSTMENTS_PATH, DAY).to_pylist()
        assert len(expected) > 7, "more than one page of the connection's page size"
        assert sorted(row["id"] for row in rows) == sorted(r["id"] for r in expected)
        assert read_marker(s3_server, HARAVAN_ADJUSTMENTS_PATH, DAY)["rows"] == len(expected)
        limits = {
            entry["query"].get("limit")
            for entry in fresh_emulator.journal()["requests"]
            if entry["path"] == "/com/inventories/adjustments.json"
        }
        assert "7" in limits and "250" not in limits, "pages of the connection's page size"
    finally:
        s3_server.empty_bucket()
    assert os.environ.get("AIRFLOW_CONN_HARAVAN_DEFAULT"), "the session's own is untouched"
