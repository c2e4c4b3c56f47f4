"""The OpenLineage events the tests' tasks emitted (the provider's file transport, configured
in tests/conftest.py), read back as a data platform's lineage backend would receive them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.conftest import LINEAGE_EVENTS


def lineage_events(job: str, run_id: str, path: Path = LINEAGE_EVENTS) -> list[dict[str, Any]]:
    """Events of one task (`<dag_id>.<task_id>`) in one Dag run, oldest first."""
    if not path.exists():
        return []
    events = []
    for line in path.read_text().splitlines():
        event = json.loads(line)
        dag_run = event["run"].get("facets", {}).get("airflow", {}).get("dagRun", {})
        if event["job"]["name"] == job and dag_run.get("run_id") == run_id:
            events.append(event)
    return events


def final_event(job: str, run_id: str) -> dict[str, Any]:
    """The task's last event (COMPLETE or FAIL), after its START."""
    events = lineage_events(job, run_id)
    kinds = [event["eventType"] for event in events]
    assert kinds and kinds[0] == "START" and kinds[-1] in ("COMPLETE", "FAIL"), kinds
    return events[-1]


def datasets(event: dict[str, Any], side: str) -> dict[tuple[str, str], dict[str, Any]]:
    """An event's inputs or outputs by (namespace, name)."""
    return {(d["namespace"], d["name"]): d for d in event.get(side, [])}
