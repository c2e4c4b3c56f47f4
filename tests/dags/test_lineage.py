"""OpenLineage through Airflow's own provider: every task run emits START and COMPLETE (or
FAIL) events naming the real datasets it read and wrote, with schema, statistics and the facts'
quality checks. Read back from the events file, as a lineage backend receives them. Every
object a DAG's runs write to the lake is among the outputs of their events: the lake records
each write itself (`lake.lake`), no task calls lineage by hand."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from include.inventory_lake.facts.build import CHECKS
from include.inventory_lake.schemas import facts, haravan
from include.inventory_lake.settings import (
    FACTS_LINES_PATH,
    HARAVAN_ADJUSTMENTS_PATH,
    STOCKY_ADJUSTMENTS_PATH,
    STOCKY_ITEMS_PATH,
)
from tests.airflow_runs import run_dag, run_task_process
from tests.conftest import ICEBERG_CATALOG_DB
from tests.dags.test_haravan_set_adjustments_push import run_push
from tests.inventory_lake.facts.dag_runs import extract, run_manual
from tests.inventory_lake.push.support import APPROVED, csv_text, put, set_lines
from tests.lake_reads import read_marker
from tests.lineage_events import (
    datasets,
    event_count,
    events_since,
    final_event,
    unreported_writes,
)
from tests.servers import Emulator, S3Server

DAY = date(2026, 1, 10)


def _lake(s3: S3Server, path: str) -> tuple[str, str]:
    return f"s3://{s3.bucket}", path


def _api(emulator: Emulator, conn_id: str, path: str) -> tuple[str, str]:
    return emulator.url.rstrip("/"), f"{conn_id}/{path.lstrip('/')}"


def _statistics(dataset: dict[str, Any], side: str) -> dict[str, Any]:
    key = "outputStatistics" if side == "outputs" else "inputStatistics"
    facet: dict[str, Any] = dataset[f"{side[:-1]}Facets"][key]
    return facet


def test_an_extract_reports_the_endpoint_it_read_and_the_partition_it_wrote(
    world: tuple[Emulator, S3Server],
) -> None:
    emulator, s3 = world
    before, events = s3.versions(), event_count()
    run = run_dag("haravan_adjustments_extract", DAY)
    assert run.state == "success"
    assert unreported_writes(s3, before, events_since(events)) == []
    event = final_event("haravan_adjustments_extract.extract_adjustments", run.run_id)
    assert event["eventType"] == "COMPLETE"
    read = set(datasets(event, "inputs"))
    assert _api(emulator, "haravan_default", "/com/inventories/adjustments.json") in read
    assert {namespace for namespace, _ in read} == {emulator.url.rstrip("/")}
    partition = f"{HARAVAN_ADJUSTMENTS_PATH}/shop=default/dt={DAY.isoformat()}"
    (written,) = datasets(event, "outputs").items()
    assert written[0] == _lake(s3, partition)
    marker = read_marker(s3, HARAVAN_ADJUSTMENTS_PATH, DAY)
    assert _statistics(written[1], "outputs") == {
        **_statistics(written[1], "outputs"),
        "rowCount": marker["rows"],
        "size": marker["bytes"],
    }
    columns = [field["name"] for field in written[1]["facets"]["schema"]["fields"]]
    assert columns == haravan.ADJUSTMENTS.names


def test_a_failed_extract_emits_a_fail_event_and_names_no_output(
    world: tuple[Emulator, S3Server],
) -> None:
    emulator, _ = world
    emulator.set_faults(script=[{"kind": "status", "status": 410, "path": "/api/v2/", "times": -1}])
    before = event_count()
    attempt = run_task_process("stocky_adjustments_extract", "extract_adjustments_and_items", DAY)
    assert attempt.state == "failed"
    events = [
        event
        for event in events_since(before)
        if event["job"]["name"] == "stocky_adjustments_extract.extract_adjustments_and_items"
    ]
    assert [event["eventType"] for event in events] == ["START", "FAIL"]
    assert events[-1].get("outputs", []) == [], "a failed extract wrote nothing"


def test_a_facts_build_reports_its_three_inputs_its_output_and_its_quality_checks(
    world: tuple[Emulator, S3Server],
) -> None:
    _, s3 = world
    before, events = s3.versions(), event_count()
    extract(DAY)
    run = run_manual("inventory_adjustment_facts", DAY)
    assert run.state == "success"
    assert unreported_writes(s3, before, events_since(events)) == [], "both extracts and facts"
    event = final_event("inventory_adjustment_facts.build_partition", run.run_id)
    assert event["eventType"] == "COMPLETE"
    day = f"shop=default/dt={DAY.isoformat()}"
    inputs = datasets(event, "inputs")
    assert set(inputs) == {
        _lake(s3, f"{path}/{day}")
        for path in (HARAVAN_ADJUSTMENTS_PATH, STOCKY_ADJUSTMENTS_PATH, STOCKY_ITEMS_PATH)
    }
    for path in (HARAVAN_ADJUSTMENTS_PATH, STOCKY_ADJUSTMENTS_PATH, STOCKY_ITEMS_PATH):
        read = inputs[_lake(s3, f"{path}/{day}")]
        assert _statistics(read, "inputs")["rowCount"] == read_marker(s3, path, DAY)["rows"]
    outputs = datasets(event, "outputs")
    written = outputs[_lake(s3, f"{FACTS_LINES_PATH}/{day}")]
    assert (
        _statistics(written, "outputs")["rowCount"]
        == read_marker(s3, FACTS_LINES_PATH, DAY)["rows"]
    )
    assert [f["name"] for f in written["facets"]["schema"]["fields"]] == facts.LINES.names
    assertions = written["facets"]["dataQualityAssertions"]["assertions"]
    assert {a["assertion"]: a["success"] for a in assertions} == dict.fromkeys(CHECKS, True)

    # Contract 3.0: the Iceberg table, named by its location and, by symlink, in its catalog.
    table = outputs[_lake(s3, "iceberg/inventory_lake/inventory_adjustment_lines")]
    catalog = table["facets"]["catalog"]
    db = ICEBERG_CATALOG_DB
    catalog_uri = f"postgresql://{db.host}:{db.port}/{db.database}"
    assert {k: catalog[k] for k in ("framework", "type", "name", "metadataUri")} == {
        "framework": "iceberg",
        "type": "sql",
        "name": "iceberg_default",
        "metadataUri": catalog_uri,
    }
    assert catalog["warehouseUri"] == f"s3://{s3.bucket}/iceberg"
    assert table["facets"]["symlinks"]["identifiers"] == [
        {
            "namespace": catalog_uri,
            "name": "inventory_lake.inventory_adjustment_lines",
            "type": "TABLE",
        }
    ]
    assert _statistics(table, "outputs")["rowCount"] == _statistics(written, "outputs")["rowCount"]
    assert [f["name"] for f in table["facets"]["schema"]["fields"]][:3] == ["shop", "dt", "source"]
    assert db.password not in json.dumps(event), "no credential in lineage"


def test_a_push_reports_the_staging_file_it_read_and_the_endpoint_it_wrote(
    world: tuple[Emulator, S3Server],
) -> None:
    emulator, s3 = world
    lines = set_lines(emulator, locations=1, per_location=3)
    put(s3, APPROVED + "lineage.csv", csv_text(lines))
    before, events = s3.versions(), event_count()
    run = run_push()
    assert run.state == "success"
    assert unreported_writes(s3, before, events_since(events)) == []
    prepare = final_event("haravan_set_adjustments_push.each_file.prepare", run.run_id)
    assert _lake(s3, APPROVED + "lineage.csv") in datasets(prepare, "inputs")
    stock = _api(emulator, "haravan_default", "/com/inventory_locations.json")
    assert stock in datasets(prepare, "inputs"), "the current stock read before planning"
    assert any(name.endswith("/plan.parquet") for _, name in datasets(prepare, "outputs"))
    push = final_event("haravan_set_adjustments_push.each_file.push", run.run_id)
    assert _api(emulator, "haravan_default", "/com/inventories/adjustorset.json") in datasets(
        push, "outputs"
    )
    record = final_event("haravan_set_adjustments_push.each_file.record", run.run_id)
    audits = [
        dataset
        for (namespace, name), dataset in datasets(record, "outputs").items()
        if name.startswith("audit/set_adjustments/")
    ]
    assert len(audits) == 1 and _statistics(audits[0], "outputs")["rowCount"] == len(lines)
