"""Replace shop|days of the facts table, each replace one commit.

`replace_partition` is one Iceberg transaction: a delete of the partition's data files (the
filter `shop = … AND dt = …` matches whole files, so none is rewritten) and an append of the
new rows, published by one catalog commit. A reader sees the snapshot before it (the old rows)
or after it (the new rows), never both, never neither.

Concurrent commits (a backfill's facts tasks): a commit that loses the race
(`CommitFailedException`) is retried by pyiceberg on the refreshed metadata, with the table's
`commit.retry.*` backoff, reusing the data files it wrote; the snapshot id stays the same
across attempts, so a commit that landed although its answer was lost is not applied twice.
Two commits of the *same* shop|day at once: the later one's validation sees files added to
its partition since it started (`ValidationException`), and the whole replace runs again on
the fresh table, so the partition ends with one writer's rows, never both. When pyiceberg's
retries run out, the replace is retried here too (`REPLACE_ATTEMPTS`, with backoff), then the
error is raised: the task fails and its retry builds the day again. Nothing is ever lost: a
failed attempt leaves the table as it was.

`stage_partition_file` + `replace_staged` is the same replace for Parquet files the caller
already wrote (the facts build's partition file), for one shop|day or several in one commit
(`group_commit`: facts builds running at once share a commit). Each file itself becomes its
partition's data file (copied to the table's data location, its statistics read from its
footer), so the rows are not encoded a second time. The file has no `dt` column (the 2.0
layout keeps it in the path): an identity partition's value comes from the data file's
partition tuple, as the Iceberg spec says readers must resolve a column a file lacks; and no
field ids: the table's name mapping (`schema.name-mapping.default`, facts_table.ensure_table)
gives them.

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
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.compute as pc

from include.inventory_lake.iceberg.facts_table import DT_COLUMN, SHOP_COLUMN
from include.inventory_lake.iceberg.snapshot_summary import (
    PartitionSummary,
    partition_key,
    summary_properties,
)
from include.inventory_lake.upstream_fixes import pyiceberg_metadata_memo

if TYPE_CHECKING:
    from pyiceberg.expressions import BooleanExpression
    from pyiceberg.manifest import DataFile
    from pyiceberg.table import Table

log = logging.getLogger(__name__)

# The first replace of a shop|day has nothing to delete: normal here, not worth a warning.
warnings.filterwarnings(
    "ignore", message="Delete operation did not match any records", category=UserWarning
)

REPLACE_ATTEMPTS = 5
_BACKOFF_S = 0.2
_MAX_BACKOFF_S = 5.0

# Which attempt of its replace a snapshot is (1 unless it lost to a concurrent commit of one
# of its shop|days and was made again on the fresh table).
ATTEMPT_PROPERTY = "inventory-lake.attempt"

# The DataFile statistics whose values are bytes (the rest are counts, or a list of offsets).
_BOUNDS = ("lower_bounds", "upper_bounds")


class PartitionRowsError(ValueError):
    """Rows handed to a replace that do not belong to its shop|day."""


@dataclass(frozen=True)
class ReplacedPartition:
    shop: str
    dt: date
    rows: int
    snapshot_id: int
    attempts: int


@dataclass(frozen=True)
class StagedDataFile:
    """A shop|day's Parquet file copied to the table's data location, with what a commit
    needs to make it the partition's data file; `path` None: the shop|day has no rows (the
    replace only deletes). JSON-serialisable (`to_json`): a shared commit's request carries
    it to the process that commits."""

    shop: str
    dt: date
    rows: int
    path: str | None = None
    size: int = 0
    metrics: Mapping[str, Any] | None = None

    @property
    def key(self) -> str:
        return partition_key(self.shop, self.dt)

    def to_json(self) -> dict[str, Any]:
        metrics = {
            name: {
                str(field): value.hex() if name in _BOUNDS else value for field, value in v.items()
            }
            if isinstance(v, dict)
            else v
            for name, v in (self.metrics or {}).items()
        }
        return {
            "shop": self.shop,
            "dt": self.dt.isoformat(),
            "rows": self.rows,
            "path": self.path,
            "size": self.size,
            "metrics": metrics,
        }

    @classmethod
    def from_json(cls, document: Mapping[str, Any]) -> StagedDataFile:
        metrics = {
            name: {
                int(field): bytes.fromhex(value) if name in _BOUNDS else value
                for field, value in v.items()
            }
            if isinstance(v, dict)
            else v
            for name, v in (document.get("metrics") or {}).items()
        }
        return cls(
            shop=document["shop"],
            dt=date.fromisoformat(document["dt"]),
            rows=int(document["rows"]),
            path=document.get("path"),
            size=int(document.get("size", 0)),
            metrics=metrics,
        )

    def data_file(self, table: Table) -> DataFile | None:
        """The file as a `DataFile` of the table's current partition spec (None: no rows)."""
        from pyiceberg.manifest import DataFile, DataFileContent, FileFormat

        if self.path is None:
            return None
        spec = table.spec()
        return DataFile.from_args(
            content=DataFileContent.DATA,
            file_path=self.path,
            file_format=FileFormat.PARQUET,
            partition=_partition_key(table, self.shop, self.dt).partition,
            file_size_in_bytes=self.size,
            sort_order_id=None,
            spec_id=spec.spec_id,
            equality_ids=None,
            key_metadata=None,
            **dict(self.metrics or {}),
        )


def partition_filter(shop: str, dt: date) -> BooleanExpression:
    from pyiceberg.expressions import And, EqualTo, Reference
    from pyiceberg.expressions.literals import literal

    return And(
        EqualTo(term=Reference(SHOP_COLUMN), value=literal(shop)),
        EqualTo(term=Reference(DT_COLUMN), value=literal(dt.isoformat())),
    )


def partitions_filter(partitions: Sequence[tuple[str, date]]) -> BooleanExpression:
    """Rows of any of `partitions` (shop, day)."""
    from functools import reduce

    from pyiceberg.expressions import Or

    filters = [partition_filter(shop, dt) for shop, dt in partitions]
    return reduce(Or, filters[1:], filters[0])


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

    replaced = PartitionSummary(partition_key(shop, dt), rows=rows.num_rows, run_id=run_id)
    snapshot_id, attempts = _replace(
        table, [replaced], overwrite, summary_properties([replaced], properties), precondition
    )
    return ReplacedPartition(shop, dt, rows.num_rows, snapshot_id, attempts)


def stage_partition_file(
    table: Table, shop: str, dt: date, parquet_file: Path, *, source_uri: str | None = None
) -> StagedDataFile:
    """Check `parquet_file` (the table's columns but `dt`, every row of `shop`) and copy it to
    a new data file of partition `shop`|`dt`; its statistics from the footer (what pyiceberg's
    own writer records). An empty file is not copied: its replace only deletes.

    `source_uri`: an object holding the same bytes (the facts build's 2.0 partition file).
    The copy is then made inside the object store, no byte uploaded again, when the table's
    file IO can reach it; the copy's footer must equal the local file's (a newer build of the
    shop|day may have replaced the source since), else the local file is uploaded."""
    import pyarrow.parquet as pq
    from pyiceberg.io.pyarrow import (
        compute_statistics_plan,
        data_file_statistics_from_parquet_metadata,
        parquet_path_to_id_mapping,
    )
    from pyiceberg.table.locations import load_location_provider

    metadata = pq.read_metadata(parquet_file)
    _check_partition_file(table, shop, dt, parquet_file, metadata)
    if not metadata.num_rows:
        return StagedDataFile(shop, dt, 0)
    schema = table.schema()
    provider = load_location_provider(table.location(), table.properties)
    path = provider.new_data_location(
        f"{uuid.uuid4()}.parquet", partition_key=_partition_key(table, shop, dt)
    )
    if source_uri is None or not _copied_in_store(table, source_uri, path, metadata):
        output = table.io.new_output(path)
        # A new uuid name: no existence check (a HEAD request) before the write.
        with parquet_file.open("rb") as source, output.create(overwrite=True) as target:
            shutil.copyfileobj(source, target, length=8 << 20)
    statistics = data_file_statistics_from_parquet_metadata(
        parquet_metadata=metadata,
        stats_columns=compute_statistics_plan(schema, table.properties),
        parquet_column_mapping=parquet_path_to_id_mapping(schema),
    )
    return StagedDataFile(
        shop,
        dt,
        metadata.num_rows,
        path,
        parquet_file.stat().st_size,
        _with_dt_metrics(statistics.to_serialized_dict(), schema, dt, metadata.num_rows),
    )


def _copied_in_store(table: Table, source_uri: str, destination: str, metadata: Any) -> bool:
    """Copy `source_uri` to `destination` inside the object store (S3 `CopyObject` through the
    table's own file IO); True when the copy is the file `metadata` describes."""
    import pyarrow.parquet as pq
    from pyiceberg.io.pyarrow import PyArrowFileIO

    io = table.io
    if not isinstance(io, PyArrowFileIO):
        return False
    source_scheme, _, source_path = io.parse_location(source_uri)
    scheme, netloc, path = io.parse_location(destination)
    if source_scheme != scheme or scheme not in ("s3", "s3a", "s3n"):
        return False
    try:
        io.fs_by_scheme(scheme, netloc).copy_file(source_path, path)
        with io.new_input(destination).open() as copied:
            same = pq.read_metadata(copied).equals(metadata)
    except OSError as error:  # the table's credentials cannot read the lake, say
        log.info("no copy of %s inside the store (%s): uploading it", source_uri, error)
        return False
    if not same:
        log.warning("%s changed since this build wrote it: uploading the build's own", source_uri)
        io.delete(destination)
    return bool(same)


def replace_staged(
    table: Table,
    staged: Sequence[tuple[StagedDataFile, PartitionSummary]],
    properties: Mapping[str, str] | None = None,
    *,
    precondition: Callable[[Table], None] | None = None,
) -> tuple[int, int]:
    """Make each staged file the rows of its shop|day (each shop|day at most once), all in one
    commit whose summary names each with its `PartitionSummary`; returns the snapshot id and
    the attempts it took (see the module doc)."""
    keys = [file.key for file, _ in staged]
    if len(set(keys)) != len(keys):
        raise ValueError(f"one commit replaces each shop|day once, got {sorted(keys)}")
    files = [file for file, _ in staged]

    def overwrite(table: Table, summary: dict[str, str]) -> None:
        _overwrite_with_data_files(table, files, summary)

    summaries = [summary for _, summary in staged]
    return _replace(
        table, summaries, overwrite, summary_properties(summaries, properties), precondition
    )


def _replace(
    table: Table,
    partitions: Sequence[PartitionSummary],
    overwrite: Callable[[Table, dict[str, str]], None],
    summary: dict[str, str],
    precondition: Callable[[Table], None] | None,
) -> tuple[int, int]:
    """Run `overwrite` with the snapshot summary, retried on a lost race (the module doc);
    the snapshot id and the attempts it took."""
    from pyiceberg.exceptions import CommitFailedException, ValidationException

    pyiceberg_metadata_memo.install()
    named = ", ".join(p.key for p in partitions)
    for attempt in range(1, REPLACE_ATTEMPTS + 1):
        if precondition is not None:
            precondition(table)
        try:
            overwrite(table, {**summary, ATTEMPT_PROPERTY: str(attempt)})
        except (CommitFailedException, ValidationException) as error:
            if attempt == REPLACE_ATTEMPTS:
                raise
            wait = min(_BACKOFF_S * 2 ** (attempt - 1), _MAX_BACKOFF_S) * random.uniform(1, 1.5)
            log.warning(
                "replace of %s lost to a concurrent commit (%s), attempt %d of %d: again "
                "on the fresh table in %.2f s",
                named, error, attempt, REPLACE_ATTEMPTS, wait,
            )  # fmt: skip
            time.sleep(wait)
            table.refresh()
            continue
        snapshot = table.current_snapshot()
        assert snapshot is not None
        log.info(
            "replaced %s in %s (%d rows), snapshot %d",
            named, ".".join(table.name()), sum(p.rows or 0 for p in partitions),
            snapshot.snapshot_id,
        )  # fmt: skip
        return snapshot.snapshot_id, attempt
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


def _partition_key(table: Table, shop: str, dt: date) -> Any:
    from pyiceberg.partitioning import PartitionFieldValue, PartitionKey

    schema, spec = table.schema(), table.spec()
    values = {SHOP_COLUMN: shop, DT_COLUMN: dt}
    return PartitionKey(
        field_values=[
            PartitionFieldValue(field, values[schema.find_column_name(field.source_id) or ""])
            for field in spec.fields
        ],
        partition_spec=spec,
        schema=schema,
    )


def _current_data_files(table: Table, partitions: Sequence[tuple[str, date]]) -> list[DataFile]:
    """The data files of `partitions` in the current snapshot, from the manifests whose
    partition ranges can hold them (a scan's planning would also evaluate every file's
    residual filter: 3 times the cost, for files a partition match already decides)."""
    from pyiceberg.expressions.visitors import inclusive_projection, manifest_evaluator
    from pyiceberg.manifest import ManifestContent

    snapshot = table.current_snapshot()
    if snapshot is None:
        return []
    schema, spec = table.schema(), table.spec()
    wanted = {_values(_partition_key(table, shop, dt).partition) for shop, dt in partitions}
    projected = inclusive_projection(schema, spec)(partitions_filter(partitions))
    may_hold = manifest_evaluator(spec, schema, projected)
    return [
        entry.data_file
        for manifest in snapshot.manifests(table.io)
        if manifest.content == ManifestContent.DATA
        and manifest.partition_spec_id == spec.spec_id
        and may_hold(manifest)
        for entry in manifest.fetch_manifest_entry(table.io, discard_deleted=True)
        if _values(entry.data_file.partition) in wanted
    ]


def _values(partition: Any) -> tuple[Any, ...]:
    """A partition tuple's values (a pyiceberg `Record`), to compare and hash."""
    return tuple(partition[position] for position in range(len(partition)))


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


def _overwrite_with_data_files(
    table: Table, files: Sequence[StagedDataFile], summary: dict[str, str]
) -> None:
    """An overwrite with data files already written, one snapshot, one catalog commit: the
    partitions' current files deleted (whole files: the filter is the partitions) and the
    new files appended. pyiceberg 0.12 has no public overwrite taking data files (`add_files`
    reads each footer from storage again and takes the partition from the file's own column
    bounds, which a file without `dt` lacks; `Table.overwrite` writes two snapshots, a delete
    and an append, each costing a full pass over the table's metadata), hence its snapshot
    producer. The filter is also the producer's conflict filter: under the table's
    serializable isolation, a concurrent commit that added or deleted files of these
    partitions fails this one's validation (`ValidationException`, see the module doc)."""
    condition = partitions_filter([(file.shop, file.dt) for file in files])
    current = _current_data_files(table, [(file.shop, file.dt) for file in files])
    with table.transaction() as transaction:
        update = transaction.update_snapshot(snapshot_properties=summary)
        with update.overwrite() as overwrite:
            overwrite.delete_by_predicate(condition)
            for data_file in current:
                overwrite.delete_data_file(data_file)
            for file in files:
                new_file = file.data_file(table)
                if new_file is not None:
                    overwrite.append_data_file(new_file)
