"""Names shared with schedulers, warehouses and other teams: keep them exactly as they are."""

from __future__ import annotations

HARAVAN_CONN_ID = "haravan_default"
STOCKY_CONN_ID = "stocky_default"
AWS_CONN_ID = "aws_default"
LAKE_URI_VARIABLE = "inventory_lake_uri"

HARAVAN_POOL = "haravan_api"
STOCKY_POOL = "stocky_api"

OWNER = "data-engineering"

# Lake paths, relative to the lake root held by the `inventory_lake_uri` variable.
HARAVAN_ADJUSTMENTS_PATH = "raw/haravan/inventory_adjustments"
STOCKY_ADJUSTMENTS_PATH = "raw/stocky/stock_adjustments"
STOCKY_ITEMS_PATH = "raw/stocky/stock_adjustment_items"
# Current state of every Stocky adjustment the lake holds, whichever raw day it landed in.
STOCKY_ADJUSTMENT_INDEX_PATH = "index/stocky_adjustments"
FACTS_LINES_PATH = "facts/inventory_adjustment_lines"
SET_ADJUSTMENTS_STAGING_PATH = "staging/set_adjustments"
SET_ADJUSTMENTS_AUDIT_PATH = "audit/set_adjustments"
