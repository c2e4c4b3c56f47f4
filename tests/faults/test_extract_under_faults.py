"""20+ extraction runs through Airflow under mixed faults: nothing lost, nothing duplicated,
compared with the emulator's truth."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from include.inventory_lake.settings import HARAVAN_ADJUSTMENTS_PATH, STOCKY_ITEMS_PATH
from tests.airflow_runs import run_dag
from tests.faults.conftest import record
from tests.lake_reads import read_partition
from tests.servers import Emulator, S3Server, noisy_neighbour, on_day, small_pages, truth

RANDOM_FAULTS: dict[str, dict[str, Any]] = {
    "5% server errors": {"error_rate": 0.05},
    "dropped connections": {"drop_rate": 0.05, "truncate_rate": 0.03},
    "latency spikes": {"latency_spike_rate": 0.2, "latency_spike_ms": 400},
    "inserts while paging": {"insert_during_paging": {"every_pages": 1, "count": 2}},
    "everything at once": {
        "error_rate": 0.05,
        "drop_rate": 0.03,
        "html_502_rate": 0.02,
        "latency_spike_rate": 0.1,
        "latency_spike_ms": 200,
        "insert_during_paging": {"every_pages": 2, "count": 2},
    },
}
SEEDS = [11, 12, 13, 14]


@pytest.fixture()
def world(
    world: tuple[Emulator, S3Server], monkeypatch: pytest.MonkeyPatch
) -> tuple[Emulator, S3Server]:
    """The shared world, with pages of 5 from both APIs."""
    for api in ("haravan", "stocky"):
        small_pages(monkeypatch, world[0], page_size=5, api=api)
    return world


def compare(scenario: str, got: list[int], expected: list[int]) -> None:
    lost = len(set(expected) - set(got))
    duplicated = len(got) - len(set(got))
    record(scenario, lost=lost, duplicated=duplicated)
    assert lost == 0 and duplicated == 0 and sorted(got) == sorted(expected)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("scenario", sorted(RANDOM_FAULTS))
def test_haravan_extract_is_exact_under(
    world: tuple[Emulator, S3Server], scenario: str, seed: int
) -> None:
    emulator, s3 = world
    day = date(2026, 1, 2 + seed % 10)
    expected = [r["id"] for r in on_day(truth(emulator, "haravan/adjustments"), "created_at", day)]
    emulator.set_faults(seed=seed, apis=["haravan"], **RANDOM_FAULTS[scenario])
    assert run_dag("haravan_adjustments_extract", day).state == "success"
    got = read_partition(s3, HARAVAN_ADJUSTMENTS_PATH, day).column("id").to_pylist()
    compare(f"Haravan extract, {scenario}", got, expected)


@pytest.mark.parametrize("seed", SEEDS[:2])
def test_haravan_extract_is_exact_in_a_429_storm(
    world: tuple[Emulator, S3Server], seed: int
) -> None:
    emulator, s3 = world
    day = date(2026, 1, 3 + seed % 10)
    expected = [r["id"] for r in on_day(truth(emulator, "haravan/adjustments"), "created_at", day)]
    emulator.admin_post("config", {"bucket_size": 8, "leak_rate": 15.0})
    with noisy_neighbour(emulator, pause_s=0.1 + 0.1 * (seed % 3)):
        assert run_dag("haravan_adjustments_extract", day).state == "success"
    got = read_partition(s3, HARAVAN_ADJUSTMENTS_PATH, day).column("id").to_pylist()
    throttled = emulator.journal()["counts"]["throttled"]
    compare("Haravan extract, 429 storm from another app", got, expected)
    assert throttled > 0


@pytest.mark.parametrize("seed", SEEDS[:2])
def test_stocky_extract_is_exact_under_mixed_faults(
    world: tuple[Emulator, S3Server], seed: int
) -> None:
    emulator, s3 = world
    day = date(2026, 1, 5 + seed % 5)
    items = truth(emulator, "stocky/stock_adjustment_items")
    expected = [r["id"] for r in on_day(items, "updated_at", day)]
    emulator.set_faults(seed=seed, apis=["stocky"], **RANDOM_FAULTS["everything at once"])
    assert run_dag("stocky_adjustments_extract", day).state == "success"
    got = read_partition(s3, STOCKY_ITEMS_PATH, day).column("id").to_pylist()
    compare("Stocky extract, everything at once", got, expected)
