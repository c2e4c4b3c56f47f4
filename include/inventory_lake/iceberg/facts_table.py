"""The facts table `inventory_lake.inventory_adjustment_lines`: its Iceberg schema, partitioning
and properties, created (or brought up to the contract's columns) by `ensure_table`.

Columns are the warehouse contract's (`schemas.facts.LINES`) plus the partition's day `dt`
(a date), each with the field id of `FIELD_IDS`. Iceberg readers match columns by id, not by
name or position, so an id is part of the contract (docs/warehouse-contract.md): it never
changes and is never reused. A new column takes the next free id (the table's
`last-column-id` + 1, which is what Iceberg itself assigns to an added column); a dropped
column's id goes to `RETIRED_FIELD_IDS`.

Partitioning: identity on `shop` and identity on `dt`. `dt` is a date already, so a `day`
transform would add nothing but indirection; with identity, a partition value is exactly the
day, the overwrite filter `shop = … AND dt = …` projects strictly onto whole data files (the
replace drops them without reading them), and every engine prunes on `dt = DATE '…'` as is.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import pyarrow as pa

from include.inventory_lake.schemas import facts

if TYPE_CHECKING:
    from pyiceberg.catalog import Catalog
    from pyiceberg.partitioning import PartitionSpec
    from pyiceberg.schema import Schema
    from pyiceberg.table import Table
    from pyiceberg.types import IcebergType

log = logging.getLogger(__name__)

NAMESPACE = "inventory_lake"
TABLE_NAME = "inventory_adjustment_lines"
IDENTIFIER = (NAMESPACE, TABLE_NAME)
QUALIFIED_NAME = f"{NAMESPACE}.{TABLE_NAME}"

SHOP_COLUMN = "shop"
DT_COLUMN = "dt"
DT_DESCRIPTION = (
    "The day of the partition (UTC), as the 2.0 lake's `dt=` folder: the day the source's "
    "extract assigned the line to. Partition column with `shop`. Never null (every row has "
    "its partition's day), although the schema marks it optional."
)

# The contract's field ids. Append only: never change or reuse one.
FIELD_IDS: dict[str, int] = {
    "shop": 1,
    "dt": 2,
    "source": 3,
    "line_key": 4,
    "line_id": 5,
    "adjustment_id": 6,
    "adjustment_number": 7,
    "location_id": 8,
    "location_shopify_id": 9,
    "product_id": 10,
    "variant_id": 11,
    "variant_shopify_id": 12,
    "sku": 13,
    "barcode": 14,
    "variant_title": 15,
    "quantity": 16,
    "cost_amount": 17,
    "adjustment_type": 18,
    "reason": 19,
    "status": 20,
    "previous_quantity": 21,
    "new_quantity": 22,
    "adjusted_at": 23,
    "created_at": 24,
    "updated_at": 25,
    "note": 26,
    "tags": 27,
    "archived": 28,
    "adjustment_missing": 29,
}
# Ids of columns dropped from the contract (none yet): never given to another column.
RETIRED_FIELD_IDS: dict[int, str] = {}
PARTITION_FIELD_IDS = {SHOP_COLUMN: 1000, DT_COLUMN: 1001}

TABLE_PROPERTIES = {
    "format-version": "2",
    "write.parquet.compression-codec": "zstd",
    # Exact bounds for the partition columns (strings are truncated to 16 characters by
    # default), so a file's metrics always prove it lies in one shop|day.
    f"write.metadata.metrics.column.{SHOP_COLUMN}": "full",
    f"write.metadata.metrics.column.{DT_COLUMN}": "full",
    # Concurrent commits (a backfill's parallel facts tasks): pyiceberg retries a commit that
    # lost the race on the refreshed metadata, keeping the data files it wrote.
    "commit.retry.num-retries": "10",
    "commit.retry.min-wait-ms": "100",
    "commit.retry.max-wait-ms": "5000",
    # Old metadata.json files are deleted after each commit beyond the newest 100.
    "write.metadata.delete-after-commit.enabled": "true",
    "write.metadata.previous-versions-max": "100",
    # Each replace appends one small manifest; with merging, the append that finds 100 of
    # them bin-packs them into manifests of up to 8 MB, so a snapshot lists at most ~100
    # manifests however many partitions the table has (iceberg/maintenance.py applies this to
    # a table created before it).
    "commit.manifest-merge.enabled": "true",
    "commit.manifest.min-count-to-merge": "100",
}


class FieldIdMismatch(RuntimeError):
    """The table's columns do not carry the contract's field ids."""


def contract_columns() -> pa.Schema:
    """The table's columns as Arrow fields, in field-id order: the contract's, then `dt`."""
    # Optional (contract 3.1): the facts build's data files have no `dt` column (replace.py),
    # and pyiceberg 0.12 fills a column a file lacks from the identity partition's value only
    # for an optional field (ArrowProjectionVisitor.struct); a required one fails the read.
    dt = pa.field(DT_COLUMN, pa.date32(), nullable=True, metadata={"description": DT_DESCRIPTION})
    fields = {field.name: field for field in facts.LINES}
    fields[DT_COLUMN] = dt
    missing = set(fields) - set(FIELD_IDS)
    if missing:
        raise FieldIdMismatch(
            f"contract columns without a field id in FIELD_IDS: {sorted(missing)}"
        )
    return pa.schema(
        [fields[name] for name in sorted(fields, key=FIELD_IDS.__getitem__)],
        metadata=facts.LINES.metadata,
    )


def iceberg_type(type_: pa.DataType) -> IcebergType:
    from pyiceberg import types

    if pa.types.is_string(type_) or pa.types.is_large_string(type_):
        return types.StringType()
    if pa.types.is_int64(type_):
        return types.LongType()
    if pa.types.is_int32(type_):
        return types.IntegerType()
    if pa.types.is_boolean(type_):
        return types.BooleanType()
    if pa.types.is_date32(type_):
        return types.DateType()
    if pa.types.is_decimal(type_):
        return types.DecimalType(type_.precision, type_.scale)
    if pa.types.is_timestamp(type_) and type_.unit == "us":
        return types.TimestamptzType() if type_.tz else types.TimestampType()
    if pa.types.is_floating(type_):
        return types.DoubleType()
    raise TypeError(f"no Iceberg type for the Arrow type {type_}")


def table_schema(columns: pa.Schema | None = None) -> Schema:
    """The Iceberg schema of `columns` (default: the contract's), with the contract's ids."""
    from pyiceberg.schema import Schema
    from pyiceberg.types import NestedField

    columns = columns if columns is not None else contract_columns()
    return Schema(
        *(
            NestedField(
                field_id=FIELD_IDS[field.name],
                name=field.name,
                field_type=iceberg_type(field.type),
                required=not field.nullable,
                doc=(field.metadata or {}).get(b"description", b"").decode() or None,
            )
            for field in columns
        )
    )


def partition_spec() -> PartitionSpec:
    from pyiceberg.partitioning import PartitionField, PartitionSpec
    from pyiceberg.transforms import IdentityTransform

    return PartitionSpec(
        *(
            PartitionField(
                source_id=FIELD_IDS[name],
                field_id=field_id,
                transform=IdentityTransform(),
                name=name,
            )
            for name, field_id in PARTITION_FIELD_IDS.items()
        )
    )


def ensure_table(catalog: Catalog, columns: pa.Schema | None = None) -> Table:
    """The facts table, created if absent, with every column of `columns` (default: the
    contract's). Idempotent, and safe when several tasks run it at once: the one that loses a
    create race loads the winner's table. A column the table lacks is added as an optional
    column (schema evolution: metadata only, no data file is rewritten); the ids are checked
    against the contract's."""
    from pyiceberg.exceptions import (
        CommitFailedException,
        NamespaceAlreadyExistsError,
        NoSuchTableError,
        TableAlreadyExistsError,
    )

    columns = columns if columns is not None else contract_columns()
    if not catalog.namespace_exists(NAMESPACE):
        try:
            catalog.create_namespace(NAMESPACE)
        except NamespaceAlreadyExistsError:
            pass
        except Exception:
            # Some catalogs (SQL) report a concurrent create as their own integrity error.
            if not catalog.namespace_exists(NAMESPACE):
                raise
    try:
        table = catalog.load_table(IDENTIFIER)
    except NoSuchTableError:
        try:
            table = catalog.create_table(
                IDENTIFIER,
                schema=table_schema(columns),
                partition_spec=partition_spec(),
                properties=TABLE_PROPERTIES,
            )
            log.info("created the Iceberg table %s at %s", QUALIFIED_NAME, table.location())
        except TableAlreadyExistsError:
            table = catalog.load_table(IDENTIFIER)
    for _ in range(10):
        try:
            table = ensure_name_mapping(evolve_schema(table, columns))
            break
        except CommitFailedException:
            table.refresh()
    else:
        raise CommitFailedException(f"could not evolve the schema of {QUALIFIED_NAME}")
    check_field_ids(table.schema())
    return table


def evolve_schema(table: Table, columns: pa.Schema) -> Table:
    """Add the columns of `columns` the table lacks (union by name; optional columns only:
    a required one is refused, as existing rows have no value for it)."""
    known = {field.name for field in table.schema().fields}
    new = [field for field in columns if field.name not in known]
    relax = [
        field.name
        for field in columns
        if field.nullable and field.name in known and table.schema().find_field(field.name).required
    ]
    if not new and not relax:
        return table
    with table.update_schema() as update:
        if new:
            update.union_by_name(pa.schema(new))
        for name in relax:  # a table made before contract 3.1 (`dt` required)
            update.make_column_optional(name)
    log.info(
        "added column(s) %s, made %s optional in %s", [f.name for f in new], relax, QUALIFIED_NAME
    )
    return table


NAME_MAPPING_PROPERTY = "schema.name-mapping.default"


def ensure_name_mapping(table: Table) -> Table:
    """Give the table a name mapping (column name → field id), once: the facts build's data
    files are its 2.0 partition files, written without field ids (replace.py); readers map
    their columns by name through it. pyiceberg keeps it current as the schema evolves."""
    if table.properties.get(NAME_MAPPING_PROPERTY) is None:
        with table.transaction() as transaction:
            transaction.set_properties(
                {NAME_MAPPING_PROPERTY: table.schema().name_mapping.model_dump_json()}
            )
        log.info("set the name mapping of %s", QUALIFIED_NAME)
    return table


def check_field_ids(schema: Schema) -> None:
    wrong = {
        field.name: field.field_id
        for field in schema.fields
        if field.name in FIELD_IDS and FIELD_IDS[field.name] != field.field_id
    }
    reused = {
        field.name: field.field_id
        for field in schema.fields
        if RETIRED_FIELD_IDS.get(field.field_id, field.name) != field.name
    }
    if wrong or reused:
        raise FieldIdMismatch(
            f"{QUALIFIED_NAME}: columns whose field id is not the contract's (FIELD_IDS): "
            f"{wrong or reused}; a new column must take the next free id"
        )
