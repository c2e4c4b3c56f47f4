"""Keep one row per key: the newest version, vectorised.

Duplicates are rare (a record fetched twice while the source changed under the extract, or an
id the source repeated), so only the repeated keys are sorted; all other rows are kept as they
are. Ties on the version go to the row read last, the later fetch.
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc


def row_numbers(rows: int) -> pa.Array:
    """0, 1, …, rows - 1 as int64, without a Python loop."""
    return pc.subtract(pc.cumulative_sum(pa.repeat(pa.scalar(1, pa.int64()), rows)), 1)


def latest_per_key(keys: pa.Array, versions: pa.Array) -> pa.BooleanArray:
    """A mask over the rows: True for the row that wins its key (newest version, then last)."""
    rows = len(keys)
    counts = pc.value_counts(keys)
    repeated = counts.field("values").filter(pc.greater(counts.field("counts"), 1))
    if len(repeated) == 0:
        return pa.repeat(pa.scalar(True), rows)
    positions = pc.indices_nonzero(pc.is_in(keys, value_set=repeated))
    candidates = pa.table(
        {
            "key": keys.take(positions),
            "version": versions.take(positions),
            "position": pc.cast(positions, pa.int64()),
        }
    )
    order = pc.sort_indices(
        candidates,
        sort_keys=[
            ("key", "ascending", "at_end"),
            ("version", "descending", "at_end"),
            ("position", "descending", "at_end"),
        ],
    )
    sorted_keys = candidates["key"].take(order).combine_chunks()
    same_as_previous = pc.equal(sorted_keys.slice(1), sorted_keys.slice(0, len(sorted_keys) - 1))
    losers = candidates["position"].take(order).combine_chunks().slice(1).filter(same_as_previous)
    return pc.invert(pc.is_in(row_numbers(rows), value_set=losers))
