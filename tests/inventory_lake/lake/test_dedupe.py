"""One row per key survives: the newest version, the last read on a tie."""

from __future__ import annotations

import pyarrow as pa

from include.inventory_lake.lake.dedupe import latest_per_key, row_numbers


def keep(keys: list[int | None], versions: list[int | None]) -> list[bool]:
    mask = latest_per_key(pa.array(keys, pa.int64()), pa.array(versions, pa.int64()))
    return mask.to_pylist()  # type: ignore[no-any-return]


def test_unique_keys_are_all_kept() -> None:
    assert keep([3, 1, 2], [1, 1, 1]) == [True, True, True]
    assert keep([], []) == []


def test_the_newest_version_wins_wherever_it_is() -> None:
    assert keep([7, 8, 7, 7], [5, 1, 9, 2]) == [False, True, True, False]


def test_a_tie_goes_to_the_row_read_last() -> None:
    assert keep([4, 4, 5, 4], [1, 3, 1, 3]) == [False, False, True, True]


def test_a_version_beats_no_version() -> None:
    assert keep([1, 1], [2, None]) == [True, False]
    assert keep([1, 1], [None, 2]) == [False, True]


def test_string_keys_and_timestamps_work_too() -> None:
    keys = pa.array(["stocky:1", "haravan:1", "stocky:1"])
    versions = pa.array([2, 1, 1], pa.timestamp("us", tz="UTC"))
    assert latest_per_key(keys, versions).to_pylist() == [True, True, False]


def test_row_numbers_count_from_zero() -> None:
    assert row_numbers(4).to_pylist() == [0, 1, 2, 3]
    assert row_numbers(0).to_pylist() == []
