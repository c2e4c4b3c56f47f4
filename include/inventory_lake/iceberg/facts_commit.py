"""A facts build's rows committed to the facts table: the catalog opened from
`iceberg_default`, the table ensured, the shop|day replaced, the table recorded for lineage."""

from __future__ import annotations

from datetime import date

import pyarrow as pa

from include.inventory_lake.iceberg.catalog import open_catalog
from include.inventory_lake.iceberg.facts_table import ensure_table
from include.inventory_lake.iceberg.lineage import wrote_iceberg_table
from include.inventory_lake.iceberg.replace import ReplacedPartition, replace_partition
from include.inventory_lake.settings import ICEBERG_CONN_ID


def commit_facts(
    shop: str, dt: date, lines: pa.Table, run_id: str, conn_id: str = ICEBERG_CONN_ID
) -> ReplacedPartition:
    catalog = open_catalog(conn_id)
    table = ensure_table(catalog)
    replaced = replace_partition(table, shop, dt, lines, run_id=run_id)
    wrote_iceberg_table(catalog, table, replaced.rows)
    return replaced
