"""Arrow types shared by every dataset."""

from __future__ import annotations

import pyarrow as pa

# VND amounts have up to 12 integer digits and two decimals; 18 digits leave room for totals
# and fit Parquet's INT64-backed decimal that every warehouse reads.
MONEY = pa.decimal128(18, 2)
TIMESTAMP = pa.timestamp("us", tz="UTC")
ID = pa.int64()
QUANTITY = pa.int64()

EXTRA_JSON_COLUMN = "_extra_json"
"""Fields the API sent that the schema does not know yet, as JSON keyed by path, else null."""
