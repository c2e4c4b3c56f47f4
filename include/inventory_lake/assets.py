"""Assets the DAGs emit, one per dataset; downstream DAGs schedule on them.

Each event's extra carries `dt`, the partition `uri` and its row counts. The Stocky extract's
events also carry `facts_rebuild_dts`: other days whose facts lack an adjustment that has
landed since, or carry an older version of one that changed (the facts DAG rebuilds them too).
"""

from __future__ import annotations

from airflow.sdk import Asset

GROUP = "inventory_lake"
FACTS_REBUILD_DTS = "facts_rebuild_dts"
"""Event extra key: a list of other days (YYYY-MM-DD) whose facts partitions must be rebuilt."""

HARAVAN_ADJUSTMENTS_RAW = Asset(name="raw_haravan_inventory_adjustments", group=GROUP)
STOCKY_ADJUSTMENTS_RAW = Asset(name="raw_stocky_stock_adjustments", group=GROUP)
STOCKY_ITEMS_RAW = Asset(name="raw_stocky_stock_adjustment_items", group=GROUP)
FACTS_ADJUSTMENT_LINES = Asset(name="facts_inventory_adjustment_lines", group=GROUP)
WAREHOUSE_ADJUSTMENT_LINES = Asset(name="warehouse_inventory_adjustment_lines", group=GROUP)
