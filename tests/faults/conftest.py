"""The fault suite's ledger: every scenario records how often it ran and what was lost, and
the session ends with the reliability table docs/reliability.md carries."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from tests.servers import S3Server
from tests.tcp_proxy import CuttableProxy


@dataclass
class ScenarioTally:
    runs: int = 0
    lost: int = 0
    duplicated: int = 0
    notes: set[str] = field(default_factory=set)


TALLY: dict[str, ScenarioTally] = defaultdict(ScenarioTally)


def record(scenario: str, *, lost: int = 0, duplicated: int = 0, note: str = "") -> None:
    tally = TALLY[scenario]
    tally.runs += 1
    tally.lost += lost
    tally.duplicated += duplicated
    if note:
        tally.notes.add(note)


@pytest.fixture()
def lake_behind_proxy(
    airflow_db: Any,
    airflow_connections: Any,
    s3_server: S3Server,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[CuttableProxy]:
    """An empty lake that Airflow's tasks reach through a proxy the test can cut or stall;
    the test itself reads the lake directly."""
    s3_server.empty_bucket()
    with CuttableProxy("127.0.0.1", int(s3_server.url.rsplit(":", 1)[1])) as proxy:
        aws = json.loads(airflow_connections["AIRFLOW_CONN_AWS_DEFAULT"])
        aws["extra"]["endpoint_url"] = proxy.url
        monkeypatch.setenv("AIRFLOW_CONN_AWS_DEFAULT", json.dumps(aws))
        yield proxy
    s3_server.empty_bucket()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/faults/" in str(item.fspath):
            item.add_marker(pytest.mark.faults)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not TALLY:
        return
    write = terminalreporter.write_line
    write("")
    write("| scenario | runs | records lost | records duplicated | notes |")
    write("|----------|------|--------------|--------------------|-------|")
    for scenario, tally in sorted(TALLY.items()):
        notes = "; ".join(sorted(tally.notes))
        write(f"| {scenario} | {tally.runs} | {tally.lost} | {tally.duplicated} | {notes} |")
