"""Keep one row per key: the newest version, vectorised.

Repeated keys are found by sorting (8 bytes of index per row; a hash table over millions of
int64 keys costs several times more memory). Duplicates are rare (a record fetched twice while
the source changed under the extract, or an id the source repeated), so only the rows of
repeated keys are ordered by version; all other rows are kept. Ties on the version go to the
row read last, the later fetch.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc


def row_numbers(rows: int) -> pa.Array:
    """0, 1, …, rows - 1 as int64, without a Python loop."""
    return pc.subtract(pc.cumulative_sum(pa.repeat(pa.scalar(1, pa.int64()), rows)), 1)


@dataclass(frozen=True)
class Repeats:
    values: pa.Array
    """Each key that occurs more than once, once."""
    extra_rows: int
    """Rows beyond the first of each repeated key."""
    positions: pa.Array
    """Positions (in the input) of every row whose key repeats."""


def find_repeats(keys: pa.Array) -> Repeats:
    """Keys occurring more than once; null keys are never counted as repeats."""
    rows = len(keys)
    if rows < 2:
        return Repeats(keys.slice(0, 0), 0, pa.array([], pa.uint64()))
    order = pc.sort_indices(keys)
    sorted_keys = keys.take(order)
    same_as_next = pc.fill_null(
        pc.equal(sorted_keys.slice(0, rows - 1), sorted_keys.slice(1)), False
    )
    extra_rows = pc.sum(same_as_next).as_py() or 0
    if not extra_rows:
        return Repeats(keys.slice(0, 0), 0, pa.array([], pa.uint64()))
    no = pa.array([False])
    in_repeat = pc.or_(pa.concat_arrays([same_as_next, no]), pa.concat_arrays([no, same_as_next]))
    return Repeats(
        values=pc.unique(sorted_keys.slice(1).filter(same_as_next)),
        extra_rows=extra_rows,
        positions=order.filter(in_repeat),
    )


def latest_per_key(keys: pa.Array, versions: pa.Array) -> pa.BooleanArray:
    """A mask over the rows: True for the row that wins its key (newest version, then last)."""
    rows = len(keys)
    repeats = find_repeats(keys)
    if not repeats.extra_rows:
        return pa.repeat(pa.scalar(True), rows)
    positions = repeats.positions
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
