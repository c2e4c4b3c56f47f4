"""Replace one shop|day of the facts table in one commit.

`replace_partition` is one Iceberg transaction: a delete of the partition's data files (the
filter `shop = … AND dt = …` matches whole files, so none is rewritten) and an append of the
new rows, published by one catalog commit. A reader sees the snapshot before it (the old rows)
or after it (the new rows), never both, never neither.

Concurrent commits (a backfill's facts tasks, each its own shop|day): a commit that loses the
race (`CommitFailedException`) is retried by pyiceberg on the refreshed metadata, with the
table's `commit.retry.*` backoff, reusing the data files it wrote; the snapshot id stays the
same across attempts, so a commit that landed although its answer was lost is not applied
twice. Two commits of the *same* shop|day at once: the later one's validation sees files added
to its partition since it started (`ValidationException`), and the whole replace runs again on
the fresh table, so the partition ends with one writer's rows, never both. When pyiceberg's
retries run out, the replace is retried here too (`REPLACE_ATTEMPTS`, with backoff), then the
error is raised: the task fails and its retry builds the day again. Nothing is ever lost: a
failed attempt leaves the table as it was.

A caller that must not replace rows newer than its own (the 2.0 migration,
migrations/facts_iceberg.py) passes a `precondition`: it runs on the table before each
attempt, the retries' fresh table included, and raises to call the replace off.
"""

from __future__ import annotations

import logging
import random
import time
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

import pyarrow as pa
import pyarrow.compute as pc

from include.inventory_lake.iceberg.facts_table import DT_COLUMN, SHOP_COLUMN

if TYPE_CHECKING:
    from pyiceberg.expressions import BooleanExpression
    from pyiceberg.table import Table

log = logging.getLogger(__name__)

# The first replace of a shop|day has nothing to delete: normal here, not worth a warning.
warnings.filterwarnings(
    "ignore", message="Delete operation did not match any records", category=UserWarning
)

REPLACE_ATTEMPTS = 5
_BACKOFF_S = 0.2
_MAX_BACKOFF_S = 5.0

# Snapshot summary properties of a replace: which partition, which Airflow run.
PARTITION_PROPERTY = "inventory-lake.partition"
RUN_ID_PROPERTY = "inventory-lake.run-id"
ROWS_PROPERTY = "inventory-lake.rows"


class PartitionRowsError(ValueError):
    """Rows handed to a replace that do not belong to its shop|day."""


@dataclass(frozen=True)
class ReplacedPartition:
    shop: str
    dt: date
    rows: int
    snapshot_id: int
    attempts: int


def partition_filter(shop: str, dt: date) -> BooleanExpression:
    from pyiceberg.expressions import And, EqualTo, Reference
    from pyiceberg.expressions.literals import literal

    return And(
        EqualTo(term=Reference(SHOP_COLUMN), value=literal(shop)),
        EqualTo(term=Reference(DT_COLUMN), value=literal(dt.isoformat())),
    )


def partition_key(shop: str, dt: date) -> str:
    return f"{shop}|{dt.isoformat()}"


def partition_rows(table: Table, shop: str, dt: date, lines: pa.Table) -> pa.Table:
    """`lines` as the table's columns: `dt` added, in the table's order, each cast to the
    table's type. Every line must be of `shop` (a line of another shop would land in another
    partition and never be replaced by that one); `dt`, if present, must be `dt`."""
    from pyiceberg.io.pyarrow import schema_to_pyarrow

    shops = pc.unique(lines.column(SHOP_COLUMN)).to_pylist() if lines.num_rows else []
    if shops and shops != [shop]:
        raise PartitionRowsError(f"rows of shop(s) {shops} handed to the replace of {shop}|{dt}")
    day = pa.array([dt] * lines.num_rows, type=pa.date32())
    if DT_COLUMN in lines.column_names:
        if not pc.all(pc.equal(lines.column(DT_COLUMN), day)).as_py() and lines.num_rows:
            raise PartitionRowsError(f"rows of another day handed to the replace of {shop}|{dt}")
        lines = lines.drop_columns([DT_COLUMN])
    lines = lines.append_column(pa.field(DT_COLUMN, pa.date32(), nullable=False), day)
    target = schema_to_pyarrow(table.schema(), include_field_ids=False)
    unknown = set(lines.column_names) - set(target.names)
    if unknown:
        raise PartitionRowsError(
            f"columns {sorted(unknown)} are not in the table: evolve its schema first "
            "(facts_table.ensure_table)"
        )
    columns = [
        lines.column(field.name).cast(field.type)
        if field.name in lines.column_names
        else pa.nulls(lines.num_rows, type=field.type)
        for field in target
    ]
    return pa.Table.from_arrays(columns, schema=target)


def replace_partition(
    table: Table,
    shop: str,
    dt: date,
    lines: pa.Table,
    *,
    run_id: str | None = None,
    properties: Mapping[str, str] | None = None,
    precondition: Callable[[Table], None] | None = None,
) -> ReplacedPartition:
    """Make `lines` the rows of partition `shop`|`dt`, in one commit (see the module doc).
    `properties` go into the snapshot summary beside the partition, rows and run id."""
    from pyiceberg.exceptions import CommitFailedException, ValidationException

    rows = partition_rows(table, shop, dt, lines)
    properties = {
        **(properties or {}),
        PARTITION_PROPERTY: partition_key(shop, dt),
        ROWS_PROPERTY: str(rows.num_rows),
    }
    if run_id:
        properties[RUN_ID_PROPERTY] = run_id
    for attempt in range(1, REPLACE_ATTEMPTS + 1):
        if precondition is not None:
            precondition(table)
        try:
            table.overwrite(
                rows, overwrite_filter=partition_filter(shop, dt), snapshot_properties=properties
            )
        except (CommitFailedException, ValidationException) as error:
            if attempt == REPLACE_ATTEMPTS:
                raise
            wait = min(_BACKOFF_S * 2 ** (attempt - 1), _MAX_BACKOFF_S) * random.uniform(1, 1.5)
            log.warning(
                "replace of %s|%s lost to a concurrent commit (%s), attempt %d of %d: again "
                "on the fresh table in %.2f s",
                shop, dt, error, attempt, REPLACE_ATTEMPTS, wait,
            )  # fmt: skip
            time.sleep(wait)
            table.refresh()
            continue
        snapshot = table.current_snapshot()
        assert snapshot is not None
        log.info(
            "replaced %s|%s in %s: %d rows, snapshot %d",
            shop, dt, ".".join(table.name()), rows.num_rows, snapshot.snapshot_id,
        )  # fmt: skip
        return ReplacedPartition(shop, dt, rows.num_rows, snapshot.snapshot_id, attempt)
    raise AssertionError("unreachable")
