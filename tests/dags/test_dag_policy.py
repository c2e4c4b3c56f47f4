"""Every DAG file parses cleanly, cheaply and without side effects, and follows house rules."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from include.inventory_lake import settings, tags
from tests.fresh_interpreter import json_report

ROOT = Path(__file__).resolve().parents[2]
PARSE_REPORT = ROOT / "tests" / "dags" / "parse_report.py"
EXPECTED_DAGS = {
    "haravan_adjustments_extract",
    "stocky_adjustments_extract",
    "haravan_set_adjustments_push",
    "inventory_adjustment_facts",
    "inventory_facts_warehouse_load",
}
HEAVY_MODULES = {"pyarrow", "boto3", "botocore", "requests", "tenacity", "duckdb", "pandas"}


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
    for task_id, task in dag["tasks"].items():
        assert task["retries"] >= 1, task_id
        assert task["owner"] == settings.OWNER, task_id


@pytest.mark.parametrize("dag_id", ["haravan_adjustments_extract", "stocky_adjustments_extract"])
def test_extract_dags_use_a_data_interval_timetable_and_their_api_pool(
    parsed: dict[str, Any], dag_id: str
) -> None:
    dag = parsed["dags"][dag_id]
    assert dag["timetable"] == "CronDataIntervalTimetable"
    pool = settings.HARAVAN_POOL if "haravan" in dag_id else settings.STOCKY_POOL
    assert {task["pool"] for task in dag["tasks"].values()} == {pool}


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
