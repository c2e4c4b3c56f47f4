"""Every DAG file parses cleanly, cheaply and without side effects, and follows house rules."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from include.inventory_lake import dag_defaults, settings, tags
from tests.fresh_interpreter import json_report

ROOT = Path(__file__).resolve().parents[2]
PARSE_REPORT = ROOT / "tests" / "dags" / "parse_report.py"
EXPECTED_DAGS = {
    "haravan_adjustments_extract",
    "stocky_adjustments_extract",
    "haravan_set_adjustments_push",
    "inventory_adjustment_facts",
    "inventory_facts_warehouse_load",
    "inventory_lake_iceberg_maintenance",
}
HEAVY_MODULES = {"pyarrow", "boto3", "botocore", "requests", "tenacity", "duckdb", "pandas"}


API_POOLS = {settings.HARAVAN_POOL, settings.STOCKY_POOL}


def defaults_violations(report: dict[str, Any]) -> dict[str, list[str]]:
    """Per DAG id of a parse report, every way its DAG or its tasks bypass dag_defaults: start
    date, retries, retry delay and backoff, owner, and a time limit on each API task."""
    defaults = dag_defaults.default_args()
    expected = {
        "retries": defaults["retries"],
        "retry_delay_s": defaults["retry_delay"].total_seconds(),
        "retry_exponential_backoff": defaults["retry_exponential_backoff"],
        "owner": defaults["owner"],
    }
    violations: dict[str, list[str]] = {}
    for dag_id, dag in report["dags"].items():
        found = []
        if dag["start_date"] != dag_defaults.START_DATE.isoformat():
            found.append(f"start_date {dag['start_date']} is not dag_defaults.START_DATE")
        for task_id, task in dag["tasks"].items():
            found += [
                f"{task_id}: {field} {task[field]!r}, expected {value!r}"
                for field, value in expected.items()
                if task[field] != value
            ]
            if task["pool"] in API_POOLS and task["execution_timeout_s"] is None:
                found.append(f"{task_id}: no execution_timeout in API pool {task['pool']}")
        if found:
            violations[dag_id] = found
    return violations


@pytest.fixture(scope="module")
def parsed() -> dict[str, Any]:
    """Parse in a fresh interpreter with a secrets backend that fails any lookup."""
    return json_report(PARSE_REPORT, str(ROOT / "dags"))


def test_dag_folder_has_no_import_errors(parsed: dict[str, Any]) -> None:
    assert parsed["errors"] == {}


def test_the_contracted_dag_ids_exist(parsed: dict[str, Any]) -> None:
    assert set(parsed["dags"]) >= EXPECTED_DAGS


def test_parsing_imports_nothing_heavy(parsed: dict[str, Any]) -> None:
    assert HEAVY_MODULES.isdisjoint(parsed["imported"]), parsed["imported"]


@pytest.mark.parametrize("dag_id", sorted(EXPECTED_DAGS))
def test_dag_follows_house_rules(parsed: dict[str, Any], dag_id: str) -> None:
    dag = parsed["dags"][dag_id]
    assert dag["tags"] and set(dag["tags"]) <= tags.APPROVED
    assert len(dag["doc_md"]) > 200, "doc_md must say what the DAG reads, writes and who owns it"
    assert dag["catchup"] is False


def test_every_dag_uses_the_project_defaults(parsed: dict[str, Any]) -> None:
    assert defaults_violations(parsed) == {}


@pytest.mark.parametrize("dag_id", ["haravan_adjustments_extract", "stocky_adjustments_extract"])
def test_extract_dags_use_a_data_interval_timetable_and_their_api_pool(
    parsed: dict[str, Any], dag_id: str
) -> None:
    dag = parsed["dags"][dag_id]
    assert dag["timetable"] == "CronDataIntervalTimetable"
    pool = settings.HARAVAN_POOL if "haravan" in dag_id else settings.STOCKY_POOL
    pools = {task_id: task["pool"] for task_id, task in dag["tasks"].items()}
    # `shops` only reads the shops Variable; every task that calls the API takes the pool.
    assert pools.pop("shops") == "default_pool"
    assert pools and set(pools.values()) == {pool}


def test_a_parse_time_lookup_would_be_caught(tmp_path: Path) -> None:
    """The policy above has teeth: a DAG file reading a Variable at top level fails to parse."""
    bad = tmp_path / "bad_dag.py"
    bad.write_text(
        "from airflow.sdk import Variable, dag\n"
        "LAKE = Variable.get('inventory_lake_uri')\n"
        "@dag(schedule=None)\n"
        "def bad():\n    pass\n"
        "bad()\n"
    )
    # Without the AIRFLOW_VAR_* that earlier tests export, which would answer the lookup first.
    report = json_report(PARSE_REPORT, str(tmp_path))
    errors = " ".join(report["errors"].values())
    assert "inventory_lake_uri" in errors
    assert report["dags"] == {}


# A DAG file with its own retries, delay, owner and start date, and an API task without a
# time limit; its `local_work` repeats the default values itself, which is allowed.
DRIFTING_DAG = f"""
from datetime import datetime, timedelta

from airflow.sdk import dag, task


@dag(
    schedule=None,
    start_date=datetime(2024, 6, 1),
    catchup=False,
    default_args={{"owner": "someone-else", "retries": 2, "retry_delay": timedelta(minutes=2)}},
    tags=["extract"],
)
def drifting():
    @task(pool="haravan_api")
    def call_the_api():
        pass

    @task(
        retries={dag_defaults.RETRIES!r},
        retry_exponential_backoff={dag_defaults.RETRY_EXPONENTIAL_BACKOFF!r},
        retry_delay=timedelta(seconds={dag_defaults.RETRY_DELAY.total_seconds()!r}),
    )
    def local_work():
        pass

    call_the_api() >> local_work()


drifting()
"""


def test_a_dag_bypassing_the_defaults_is_reported(tmp_path: Path) -> None:
    """The defaults policy has teeth: the same check on a DAG with its own retries, start date,
    owner and an API task without a time limit names each of them."""
    (tmp_path / "drifting_dag.py").write_text(DRIFTING_DAG)
    report = json_report(PARSE_REPORT, str(tmp_path))
    assert report["errors"] == {}
    violations = defaults_violations(report)
    assert set(violations) == {"drifting"}
    found = "\n".join(violations["drifting"])
    assert "start_date 2024-06-01T00:00:00+00:00 is not dag_defaults.START_DATE" in found
    assert f"call_the_api: retries 2, expected {dag_defaults.RETRIES}" in found
    assert (
        f"call_the_api: retry_delay_s 120.0, expected {dag_defaults.RETRY_DELAY.total_seconds()}"
    ) in found
    assert (
        "call_the_api: retry_exponential_backoff 0, "
        f"expected {dag_defaults.RETRY_EXPONENTIAL_BACKOFF}"
    ) in found
    assert f"call_the_api: owner 'someone-else', expected {settings.OWNER!r}" in found
    assert "call_the_api: no execution_timeout in API pool haravan_api" in found
    assert "local_work: owner 'someone-else'" in found
    assert not any(
        v.startswith("local_work:") and "owner" not in v for v in violations["drifting"]
    ), "a task that sets the default values itself passes"


def test_the_extracts_ship_with_a_three_hour_freshness_deadline() -> None:
    """As deployed (the setting unset): both extracts alert through the project's notifier
    when a day's run has not succeeded 3 hours after it was queued; no other DAG has one."""
    shipped = json_report(PARSE_REPORT, str(ROOT / "dags"), INVENTORY_LAKE_FRESHNESS_DEADLINE_S="")
    deadline = {
        "reference": "DagRunQueuedAtDeadline",
        "interval_s": 3 * 60 * 60,
        "callback": "include.inventory_lake.alerts.FreshnessNotifier",
    }
    assert {dag_id: dag["deadlines"] for dag_id, dag in shipped["dags"].items()} == {
        dag_id: [deadline] if dag_id.endswith("_extract") else [] for dag_id in EXPECTED_DAGS
    }
