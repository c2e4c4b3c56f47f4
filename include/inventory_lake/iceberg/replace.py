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

`replace_partition_with_file` is the same replace for a Parquet file the caller already wrote
(the facts build's partition file): the file itself becomes the partition's data file (copied
to the table's data location, its statistics read from its footer), so the rows are not
encoded a second time. The file has no `dt` column (the 2.0 layout keeps it in the path): an
identity partition's value comes from the data file's partition tuple, as the Iceberg spec
says readers must resolve a column a file lacks; and no field ids: the table's name mapping
(`schema.name-mapping.default`, facts_table.ensure_table) gives them.

A caller that must not replace rows newer than its own (the 2.0 migration,
migrations/facts_iceberg.py) passes a `precondition`: it runs on the table before each
attempt, the retries' fresh table included, and raises to call the replace off.
"""

from __future__ import annotations

import logging
import random
import shutil
import time
import uuid
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

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
    rows = partition_rows(table, shop, dt, lines)

    def overwrite(table: Table, summary: dict[str, str]) -> None:
        table.overwrite(
            rows, overwrite_filter=partition_filter(shop, dt), snapshot_properties=summary
        )

    return _replace(table, shop, dt, rows.num_rows, overwrite, run_id, properties, precondition)


def replace_partition_with_file(
    table: Table,
    shop: str,
    dt: date,
    parquet_file: Path,
    *,
    run_id: str | None = None,
    properties: Mapping[str, str] | None = None,
) -> ReplacedPartition:
    """Make the rows of the local Parquet file `parquet_file` (every row of `shop`, no `dt`
    column) the rows of partition `shop`|`dt`, in one commit (see the module doc)."""
    import pyarrow.parquet as pq

    metadata = pq.read_metadata(parquet_file)
    _check_partition_file(table, shop, dt, parquet_file, metadata)
    # Copied once, reused by every attempt; an empty partition is only the delete.
    data_file = (
        _add_data_file(table, shop, dt, parquet_file, metadata) if metadata.num_rows else None
    )

    def overwrite(table: Table, summary: dict[str, str]) -> None:
        _overwrite_with_data_file(table, shop, dt, data_file, summary)

    return _replace(table, shop, dt, metadata.num_rows, overwrite, run_id, properties, None)


def _replace(
    table: Table,
    shop: str,
    dt: date,
    rows: int,
    overwrite: Callable[[Table, dict[str, str]], None],
    run_id: str | None,
    properties: Mapping[str, str] | None,
    precondition: Callable[[Table], None] | None,
) -> ReplacedPartition:
    """Run `overwrite` with the snapshot summary, retried on a lost race (the module doc)."""
    from pyiceberg.exceptions import CommitFailedException, ValidationException

    summary = {
        **(properties or {}),
        PARTITION_PROPERTY: partition_key(shop, dt),
        ROWS_PROPERTY: str(rows),
    }
    if run_id:
        summary[RUN_ID_PROPERTY] = run_id
    for attempt in range(1, REPLACE_ATTEMPTS + 1):
        if precondition is not None:
            precondition(table)
        try:
            overwrite(table, summary)
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
            shop, dt, ".".join(table.name()), rows, snapshot.snapshot_id,
        )  # fmt: skip
        return ReplacedPartition(shop, dt, rows, snapshot.snapshot_id, attempt)
    raise AssertionError("unreachable")


def _check_partition_file(
    table: Table, shop: str, dt: date, parquet_file: Path, metadata: Any
) -> None:
    """The file's columns are the table's (but `dt`), and every row is of `shop`."""
    import pyarrow.parquet as pq

    columns = set(metadata.schema.names)
    known = {field.name for field in table.schema().fields} - {DT_COLUMN}
    if DT_COLUMN in columns:
        raise PartitionRowsError(f"{parquet_file}: a partition file carries no {DT_COLUMN!r}")
    if columns - known:
        raise PartitionRowsError(
            f"columns {sorted(columns - known)} are not in the table: evolve its schema first "
            "(facts_table.ensure_table)"
        )
    if metadata.num_rows:
        shops = pc.unique(pq.read_table(parquet_file, columns=[SHOP_COLUMN])[SHOP_COLUMN])
        if shops.to_pylist() != [shop]:
            raise PartitionRowsError(
                f"rows of shop(s) {shops.to_pylist()} handed to the replace of {shop}|{dt}"
            )


def _add_data_file(table: Table, shop: str, dt: date, parquet_file: Path, metadata: Any) -> Any:
    """Copy `parquet_file` to a new data file of partition `shop`|`dt`; its `DataFile`, the
    statistics taken from the footer (what pyiceberg's own writer records)."""
    from pyiceberg.io.pyarrow import (
        compute_statistics_plan,
        data_file_statistics_from_parquet_metadata,
        parquet_path_to_id_mapping,
    )
    from pyiceberg.manifest import DataFile, DataFileContent, FileFormat
    from pyiceberg.partitioning import PartitionFieldValue, PartitionKey
    from pyiceberg.table.locations import load_location_provider

    schema, spec = table.schema(), table.spec()
    values = {SHOP_COLUMN: shop, DT_COLUMN: dt}
    key = PartitionKey(
        field_values=[
            PartitionFieldValue(field, values[schema.find_column_name(field.source_id) or ""])
            for field in spec.fields
        ],
        partition_spec=spec,
        schema=schema,
    )
    provider = load_location_provider(table.location(), table.properties)
    path = provider.new_data_location(f"{uuid.uuid4()}.parquet", partition_key=key)
    output = table.io.new_output(path)
    with parquet_file.open("rb") as source, output.create(overwrite=False) as target:
        shutil.copyfileobj(source, target, length=8 << 20)
    statistics = data_file_statistics_from_parquet_metadata(
        parquet_metadata=metadata,
        stats_columns=compute_statistics_plan(schema, table.properties),
        parquet_column_mapping=parquet_path_to_id_mapping(schema),
    )
    return DataFile.from_args(
        content=DataFileContent.DATA,
        file_path=path,
        file_format=FileFormat.PARQUET,
        partition=key.partition,
        file_size_in_bytes=parquet_file.stat().st_size,
        sort_order_id=None,
        spec_id=spec.spec_id,
        equality_ids=None,
        key_metadata=None,
        **_with_dt_metrics(statistics.to_serialized_dict(), schema, dt, metadata.num_rows),
    )


def _with_dt_metrics(metrics: dict[str, Any], schema: Any, dt: date, rows: int) -> dict[str, Any]:
    """The file's metrics, plus those of `dt`, which the file lacks but every row reads as the
    partition's day. Without them an engine's metrics evaluation (pyiceberg's commit
    validation among them: a concurrent commit of another day would look like one of this
    day) cannot tell the file from another day's."""
    from pyiceberg.conversions import to_bytes

    field = schema.find_field(DT_COLUMN)
    day = to_bytes(field.field_type, (dt - date(1970, 1, 1)).days)
    return {
        **metrics,
        "value_counts": {**metrics["value_counts"], field.field_id: rows},
        "null_value_counts": {**metrics["null_value_counts"], field.field_id: 0},
        "lower_bounds": {**metrics["lower_bounds"], field.field_id: day},
        "upper_bounds": {**metrics["upper_bounds"], field.field_id: day},
    }


def _overwrite_with_data_file(
    table: Table, shop: str, dt: date, data_file: Any, summary: dict[str, str]
) -> None:
    """`Table.overwrite` (pyiceberg 0.12) with a data file already written: the partition's
    files deleted (whole files: the filter is the partition) and `data_file` appended, one
    transaction, one catalog commit. pyiceberg has no public overwrite taking data files
    (`add_files` reads each footer from storage again and takes the partition from the file's
    own column bounds, which a file without `dt` lacks), hence its transaction's own steps."""
    from pyiceberg.table.snapshots import Operation

    with table.transaction() as transaction:
        transaction.delete(
            delete_filter=partition_filter(shop, dt),
            snapshot_properties=summary,
            _isolation_operation=Operation.OVERWRITE,
        )
        with transaction._append_snapshot_producer(summary) as append:
            if data_file is not None:
                append.append_data_file(data_file)
