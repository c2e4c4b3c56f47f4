"""A facts build's partition file committed to the facts table: the catalog opened from
`iceberg_default`, the table ensured, the shop|day replaced by that file (its rows are not
encoded again, nor uploaded again where the table's storage reaches the lake's `data_uri`),
in a commit shared with the builds committing at the same time (`group_commit`), the table
recorded for lineage."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from include.inventory_lake.iceberg.catalog import open_catalog
from include.inventory_lake.iceberg.facts_table import ensure_table
from include.inventory_lake.iceberg.group_commit import commit_partition_file
from include.inventory_lake.iceberg.lineage import wrote_iceberg_table
from include.inventory_lake.iceberg.replace import ReplacedPartition
from include.inventory_lake.settings import ICEBERG_CONN_ID

if TYPE_CHECKING:
    from include.inventory_lake.lake.lake import Lake


def commit_facts(
    lake: Lake,
    shop: str,
    dt: date,
    parquet_file: Path,
    data_uri: str,
    run_id: str,
    conn_id: str = ICEBERG_CONN_ID,
) -> ReplacedPartition:
    catalog = open_catalog(conn_id)
    table = ensure_table(catalog)
    replaced = commit_partition_file(
        lake, table, shop, dt, parquet_file, run_id=run_id, source_uri=data_uri
    )
    wrote_iceberg_table(catalog, table, replaced.rows)
    return replaced
