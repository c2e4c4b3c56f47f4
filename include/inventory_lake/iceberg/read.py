"""Read rows of the facts table through pyiceberg, counting what was read.

pyiceberg plans the scan from the catalog (partition pruning on `shop` and `dt`, then the
files' column bounds) and reads the planned data files into Arrow. The scan is planned once
and its files counted, so a caller can prove what it read (the warehouse load reports rows and
data files per run).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pyarrow as pa

from include.inventory_lake.iceberg.facts_table import SHOP_COLUMN
from include.inventory_lake.iceberg.replace import partition_filter
from include.inventory_lake.lake.location import ShopDay

if TYPE_CHECKING:
    from pyiceberg.expressions import BooleanExpression
    from pyiceberg.table import Table

LINE_KEY_COLUMN = "line_key"


@dataclass(frozen=True)
class ScanResult:
    rows: pa.Table
    data_files: int


def scan(table: Table, row_filter: BooleanExpression, snapshot_id: int | None) -> ScanResult:
    """The rows matching `row_filter` at `snapshot_id` (None: the current snapshot)."""
    from pyiceberg.io.pyarrow import ArrowScan, schema_to_pyarrow

    table_scan = table.scan(row_filter=row_filter, snapshot_id=snapshot_id)
    tasks = list(table_scan.plan_files())
    if not tasks:
        empty = schema_to_pyarrow(table_scan.projection(), include_field_ids=False)
        return ScanResult(empty.empty_table(), 0)
    rows = ArrowScan(
        table_scan.table_metadata,
        table_scan.io,
        table_scan.projection(),
        table_scan.row_filter,
        table_scan.case_sensitive,
    ).to_table(tasks)
    return ScanResult(rows, len(tasks))


def no_rows(table: Table) -> pa.Table:
    """An empty table of the table's columns (what a load with nothing new stages)."""
    from pyiceberg.io.pyarrow import schema_to_pyarrow

    return schema_to_pyarrow(table.schema(), include_field_ids=False).empty_table()


def partitions_filter(partitions: Iterable[ShopDay]) -> BooleanExpression:
    """`(shop = … AND dt = …) OR …` over `partitions` (none: a filter matching nothing)."""
    from pyiceberg.expressions import AlwaysFalse, Or

    expression: BooleanExpression = AlwaysFalse()
    for partition in sorted(set(partitions)):
        expression = Or(expression, partition_filter(partition.shop, partition.dt))
    return expression


def read_partitions(
    table: Table, partitions: Iterable[ShopDay] | None, snapshot_id: int | None = None
) -> ScanResult:
    """The rows of `partitions` (None: of every partition) at `snapshot_id`."""
    from pyiceberg.expressions import AlwaysTrue

    row_filter = AlwaysTrue() if partitions is None else partitions_filter(partitions)
    return scan(table, row_filter, snapshot_id)


def read_lines(
    table: Table, keys: dict[str, list[str]], snapshot_id: int | None = None
) -> ScanResult:
    """Every version, in any partition, of the lines `keys` (shop -> line keys). Pruned to the
    shops' partitions, and within them by the files' `line_key` bounds."""
    from pyiceberg.expressions import AlwaysFalse, And, EqualTo, In, Or, Reference
    from pyiceberg.expressions.literals import literal

    expression: BooleanExpression = AlwaysFalse()
    for shop, line_keys in sorted(keys.items()):
        if line_keys:
            expression = Or(
                expression,
                And(
                    EqualTo(term=Reference(SHOP_COLUMN), value=literal(shop)),
                    In(
                        term=Reference(LINE_KEY_COLUMN),
                        values={literal(key) for key in line_keys},
                    ),
                ),
            )
    return scan(table, expression, snapshot_id)
