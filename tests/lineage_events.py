"""The OpenLineage events the tests' tasks emitted (the provider's file transport, configured
in tests/conftest.py), read back as a data platform's lineage backend would receive them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.conftest import LINEAGE_EVENTS
from tests.servers import S3Server


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


def event_count(path: Path = LINEAGE_EVENTS) -> int:
    """How many events the file holds now: `events_since` reads what came after."""
    return len(path.read_text().splitlines()) if path.exists() else 0


def events_since(count: int, path: Path = LINEAGE_EVENTS) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines()[count:]]


def unreported_writes(
    s3: S3Server, before: dict[str, str], events: list[dict[str, Any]]
) -> list[str]:
    """The keys written since the bucket was `before` (`S3Server.versions()`: new keys and new
    versions) whose dataset (`PushLake.dataset_key`, the lake's naming rule, or the table whose
    location holds it) is among no event's outputs: a write nobody reported."""
    lake = s3.push_lake()
    written = [key for key, etag in s3.versions().items() if before.get(key) != etag]
    outputs = {
        (dataset["namespace"], dataset["name"])
        for event in events
        for dataset in event.get("outputs", [])
    }
    namespace = f"s3://{s3.bucket}"
    # A table (an output with a `symlinks` facet, e.g. the Iceberg facts table) is written by
    # its own format library, not by the lake: every file under its location is that dataset.
    tables = [
        dataset["name"] + "/"
        for event in events
        for dataset in event.get("outputs", [])
        if dataset["namespace"] == namespace and "symlinks" in dataset.get("facets", {})
    ]
    return [
        key
        for key in written
        if (namespace, lake.dataset_key(key)) not in outputs
        and not any(key.startswith(table) for table in tables)
    ]
