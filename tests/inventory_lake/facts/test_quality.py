"""Each failing check is named, counted and illustrated by example keys."""

from __future__ import annotations

from datetime import date

import pyarrow as pa
import pytest

from include.inventory_lake.facts import flatten
from include.inventory_lake.facts.quality import (
    EXAMPLES,
    DataQualityError,
    LineChecks,
    NullLineIds,
)
from include.inventory_lake.schemas import haravan
from tests.inventory_lake.facts.raw_builders import at, batch, haravan_adjustment, haravan_line

DAY = date(2026, 1, 10)


def haravan_batch(line_ids: list[int]) -> pa.RecordBatch:
    lines = [haravan_line(line_id, 1, "1.00") for line_id in line_ids]
    return flatten.haravan_lines(
        batch([haravan_adjustment(5, at(DAY, 1), lines)], haravan.ADJUSTMENTS), "default"
    )


def test_clean_batches_pass_every_check() -> None:
    checks = LineChecks()
    checks.observe("haravan", haravan_batch([1, 2]))
    checks.observe("haravan", haravan_batch([3]))
    assert checks.failures({"haravan": 3, "stocky": 0}) == []


def test_repeated_keys_name_the_keys_and_count_the_extra_rows() -> None:
    checks = LineChecks()
    checks.observe("haravan", haravan_batch([1, 2, 2]))
    checks.observe("haravan", haravan_batch([2, 9, 1]))
    [failure] = checks.failures({"haravan": 6})
    assert failure.check == "line_key_unique"
    assert failure.count == 3
    assert sorted(failure.examples) == ["haravan:1", "haravan:2"]


def test_a_lost_or_multiplied_row_fails_the_row_count() -> None:
    checks = LineChecks()
    checks.observe("haravan", haravan_batch([1, 2]))
    [failure] = checks.failures({"haravan": 3, "stocky": 0})
    assert failure.check == "row_count" and failure.count == 1
    assert "haravan: wrote 2 rows" in str(failure) and "are 3" in str(failure)


def test_nulls_in_required_columns_name_the_column_and_the_rows() -> None:
    lines = haravan_batch([1, 2])
    updated = pa.array(
        [None, lines.column("updated_at")[1].as_py()], lines.schema.field("updated_at").type
    )
    broken = lines.set_column(lines.schema.get_field_index("updated_at"), "updated_at", updated)
    checks = LineChecks()
    checks.observe("haravan", broken)
    [failure] = checks.failures({"haravan": 2})
    assert (failure.check, failure.count, failure.detail) == ("required_not_null", 1, "updated_at")
    assert failure.examples == ["haravan:1"]


def test_lines_without_ids_name_their_adjustments_and_examples_are_few() -> None:
    nulls = NullLineIds("haravan")
    nulls.observe(pa.array([1, 2], pa.int64()), pa.array([90, 91], pa.int64()))
    assert nulls.failure() is None
    nulls.observe(pa.array([None, 4, None], pa.int64()), pa.array([100, 101, 102], pa.int64()))
    nulls.observe(pa.array([None] * 6, pa.int64()), pa.array(range(103, 109), pa.int64()))
    failure = nulls.failure()
    assert failure is not None
    assert (failure.check, failure.count) == ("line_key_not_null", 8)
    assert (
        failure.examples
        == [f"haravan adjustment {n}" for n in (100, 102, 103, 104, 105)][:EXAMPLES]
    )


def test_the_error_message_lists_every_failure() -> None:
    checks = LineChecks()
    checks.observe("haravan", haravan_batch([7, 7]))
    error = DataQualityError(DAY, checks.failures({"haravan": 3}))
    message = str(error)
    assert "dt=2026-01-10 failed 2 data-quality check(s); nothing was published" in message
    assert "line_key_unique: 1 row(s) (1 haravan keys repeated); e.g. haravan:7" in message
    assert "row_count: 1 row(s)" in message
    with pytest.raises(DataQualityError):
        raise error
