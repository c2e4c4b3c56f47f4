"""Airflow loads the plugin from `plugins/` without errors, registers its app and menu entry,
and importing it stays cheap: no FastAPI, no lake libraries, no connection or variable."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.fresh_interpreter import json_report

ROOT = Path(__file__).resolve().parents[2]
# Built on the page's first request in the API server, never when a component loads plugins.
HEAVY_MODULES = {
    "fastapi", "starlette", "pyarrow", "boto3", "botocore", "requests", "duckdb", "pandas",
    "airflow.api_fastapi.core_api.security", "include.inventory_lake.ui.app",
    "include.inventory_lake.ui.page",
}  # fmt: skip


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return json_report(
        ROOT / "tests" / "plugins" / "plugin_report.py",
        AIRFLOW_HOME=str(tmp_path_factory.mktemp("plugin-home")),
        AIRFLOW__CORE__PLUGINS_FOLDER=str(ROOT / "plugins"),
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
    )


def test_the_plugin_registers_its_app_and_menu_entry(loaded: dict[str, Any]) -> None:
    assert loaded["errors"] == {}
    (plugin,) = [p for p in loaded["plugins"] if p["name"] == "inventory_lake_ui"]
    assert loaded["apps"] == [{"url_prefix": "/inventory-lake", "name": "Inventory lake"}]
    assert plugin["external_views"] == [
        {
            "name": "Inventory lake",
            "href": "/inventory-lake/",
            "url_route": "inventory-lake",
            "destination": "nav",
            "category": "browse",
        }
    ]


def test_the_quick_answer_fixes_listen_for_the_scheduler_starting(loaded: dict[str, Any]) -> None:
    (plugin,) = [p for p in loaded["plugins"] if p["name"] == "inventory_lake_stale_resume_fix"]
    assert plugin["listeners"] == [
        "include.inventory_lake.upstream_fixes.stale_resume_fix",
        "include.inventory_lake.upstream_fixes.parked_answer_fix",
    ]


def test_loading_the_plugin_imports_nothing_heavy(loaded: dict[str, Any]) -> None:
    imported = set(loaded["imported"])
    assert "include.inventory_lake.ui.lazy_asgi" in imported, "the plugin was not loaded"
    heavy = {name for name in imported if name.split(".")[0] in HEAVY_MODULES} | (
        imported & HEAVY_MODULES
    )
    assert heavy == set()
