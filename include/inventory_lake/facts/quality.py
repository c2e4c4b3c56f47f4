"""Data-quality checks that gate a facts partition: a failure publishes nothing.

Every failure names the check, how many rows fail it and a few example keys, so the message
alone says where to look. Checks run on the rows as they are written (before the commit):

- `line_key_not_null`: every source line has an id (checked on the raw lines, before writing);
- `required_not_null`: the columns the contract declares NOT NULL have no nulls;
- `line_key_unique`: one row per `line_key`;
- `row_count`: rows written per source equal the raw lines less the superseded duplicates
  (the only documented drop), so no line is lost or multiplied by the adjustment join.

Schema checks ("types as declared") happen earlier: each raw file must have its dataset's
declared schema (`lake.partition_reader`), and every facts batch is built against `facts.LINES`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date

import pyarrow as pa
import pyarrow.compute as pc

from include.inventory_lake.lake.dedupe import find_repeats
from include.inventory_lake.schemas import facts

EXAMPLES = 5


@dataclass(frozen=True)
class CheckFailure:
    check: str
    count: int
    examples: Sequence[str]
    detail: str = ""

    def __str__(self) -> str:
        detail = f" ({self.detail})" if self.detail else ""
        examples = f"; e.g. {', '.join(self.examples)}" if self.examples else ""
        return f"{self.check}: {self.count} row(s){detail}{examples}"


class DataQualityError(ValueError):
    def __init__(self, dt: date, failures: Sequence[CheckFailure]) -> None:
        self.dt = dt
        self.failures = list(failures)
        listed = "\n".join(f"  - {failure}" for failure in self.failures)
        super().__init__(
            f"facts partition dt={dt.isoformat()} failed {len(self.failures)} data-quality "
            f"check(s); nothing was published:\n{listed}"
        )


def _examples(values: pa.Array) -> list[str]:
    return [str(value) for value in values.slice(0, EXAMPLES).to_pylist()]


class NullLineIds:
    """Lines without an id cannot get a key: counted batch by batch, with the adjustments
    they belong to as examples."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.count = 0
        self.examples: list[str] = []

    def observe(self, line_ids: pa.Array, adjustment_ids: pa.Array) -> None:
        if not line_ids.null_count:
            return
        self.count += line_ids.null_count
        if len(self.examples) < EXAMPLES:
            adjustments = adjustment_ids.filter(pc.is_null(line_ids))
            self.examples.extend(
                f"{self.source} adjustment {value}" for value in _examples(adjustments)
            )
            del self.examples[EXAMPLES:]

    def failure(self) -> CheckFailure | None:
        if not self.count:
            return None
        return CheckFailure(
            "line_key_not_null",
            self.count,
            self.examples,
            detail=f"{self.source} lines without an id",
        )


class LineChecks:
    """Accumulates what the checks need from each written batch (ids, null counts, rows)."""

    def __init__(self) -> None:
        self._line_ids: dict[str, list[pa.Array]] = {source: [] for source in facts.SOURCES}
        self._nulls: Counter[str] = Counter()
        self._null_examples: dict[str, list[str]] = {}
        self.rows: Counter[str] = Counter()

    def observe(self, source: str, batch: pa.RecordBatch) -> bool:
        """Record the batch; False if it breaks NOT NULL (Parquet would refuse to write it)."""
        clean = True
        for name in facts.REQUIRED:
            column = batch.column(name)
            if column.null_count:
                clean = False
                self._nulls[name] += column.null_count
                examples = self._null_examples.setdefault(name, [])
                if len(examples) < EXAMPLES:
                    rows = batch.filter(pc.is_null(column))
                    examples.extend(_row_labels(rows)[: EXAMPLES - len(examples)])
        self._line_ids[source].append(batch.column("line_id"))
        self.rows[source] += batch.num_rows
        return clean

    def failures(self, expected_rows: Mapping[str, int]) -> list[CheckFailure]:
        failures = [
            CheckFailure("required_not_null", count, self._null_examples[name], detail=name)
            for name, count in sorted(self._nulls.items())
        ]
        for source in facts.SOURCES:
            failure = _duplicates(source, self._line_ids[source])
            if failure:
                failures.append(failure)
            expected, written = expected_rows.get(source, 0), self.rows[source]
            if written != expected:
                failures.append(
                    CheckFailure(
                        "row_count",
                        abs(written - expected),
                        [],
                        detail=f"{source}: wrote {written} rows, raw lines less superseded "
                        f"duplicates are {expected}",
                    )
                )
        return failures


def _row_labels(rows: pa.RecordBatch) -> list[str]:
    keys = rows.column("line_key").to_pylist()
    adjustments = rows.column("adjustment_id").to_pylist()
    return [
        key if key is not None else f"adjustment {adjustment}"
        for key, adjustment in zip(keys[:EXAMPLES], adjustments[:EXAMPLES], strict=True)
    ]


def _duplicates(source: str, chunks: list[pa.Array]) -> CheckFailure | None:
    """`line_key` is `<source>:<line_id>`, so per source it is unique iff `line_id` is."""
    if not chunks:
        return None
    repeats = find_repeats(pa.concat_arrays(chunks))
    if not repeats.extra_rows:
        return None
    return CheckFailure(
        "line_key_unique",
        repeats.extra_rows,
        [f"{source}:{value}" for value in _examples(repeats.values)],
        detail=f"{len(repeats.values)} {source} keys repeated",
    )
