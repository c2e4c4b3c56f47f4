"""The fault suite's ledger: every scenario records how often it ran and what was lost, and
the session ends with the reliability table the README carries."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

import pytest


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
