"""`line_key`: the facts' merge key, `<source>:<line id>` (e.g. `stocky:1001`).

Line ids are unique within a source, never across sources, hence the prefix. The key is text
so that every warehouse can join on it without composite keys.
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc


def line_keys(source: str, line_ids: pa.Array) -> pa.Array:
    """One key per id, null where the id is null (the quality checks reject those)."""
    return pc.binary_join_element_wise(source, pc.cast(line_ids, pa.string()), ":")
