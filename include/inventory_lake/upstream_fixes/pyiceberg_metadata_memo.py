"""pyiceberg 0.12: a transaction recomputes its table metadata on every read.

`Transaction.table_metadata` replays every staged update through `update_table_metadata`,
which ends in a deep copy of the whole metadata (every snapshot, the metadata log), and a
single commit reads the property about 30 times. Its cost grows with the table's history, not
with the work: measured here, 25 to 30 % of a facts commit (tests/bench/bench_iceberg.py).
Upstream: apache/iceberg-python#2673 (the issue); #3302 and #3784 (the fix this module
mirrors: the result cached on the identity of its two inputs, the table's metadata and the
staged updates; both are replaced, never mutated, when either changes, so the cache cannot
serve a stale state).

Remove this module, and its `install()` in `iceberg/replace.py`, once the project's pyiceberg
caches `Transaction.table_metadata` itself.
"""

from __future__ import annotations

from typing import Any

_CACHE = "_inventory_lake_metadata_memo"


def install() -> None:
    """Cache `Transaction.table_metadata` per (table metadata, staged updates); once per process."""
    from pyiceberg.table import Transaction
    from pyiceberg.table.update import update_table_metadata

    if getattr(Transaction.table_metadata, _CACHE, False):
        return

    def table_metadata(self: Transaction) -> Any:
        base, updates = self._table.metadata, self._updates
        cached = self.__dict__.get(_CACHE)
        if cached is not None and cached[0] is base and cached[1] is updates:
            return cached[2]
        result = update_table_metadata(base, updates)
        self.__dict__[_CACHE] = (base, updates, result)
        return result

    setattr(table_metadata, _CACHE, True)
    Transaction.table_metadata = property(table_metadata)  # type: ignore[method-assign,assignment]
