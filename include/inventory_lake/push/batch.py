"""Batch ids and the note marker that ties every created adjustment back to its batch and
request.

The marker leads the note, `[il <batch_id> <k>/<n>]` then the user's note: Haravan cuts long
notes short, and a cut that keeps the marker's ASCII characters (at most 37 plus the digits of
k and n: 46 for a forced batch of 10,000 requests) keeps the marker, whether it counts
characters or bytes. Releases before this one appended
`[inventory-lake set <batch_id> <k>/<n>]` instead; those are still recognised, since a batch in
flight across an upgrade has such notes in Haravan.

The batch id is derived from what would be sent (location, product, variant, quantity, reason,
note of every line, in a canonical order), not from the file's bytes: the same corrections saved
again, re-ordered, with or without a byte-order mark, or as Parquet are the same batch and are
not pushed twice. A forced push gets its own id (content id + a suffix from the run id), so it
is traced and made exactly once on its own.

Where it is sent is part of what is sent: for a shop other than `default`, the shop's id is
hashed with the lines, so the same lines approved for two shops are two batches (each sent
once, to its own shop). The `default` shop's lines are hashed alone, exactly as before shops,
so the ledgers of a lake written before shops keep matching its batches.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass

from include.inventory_lake.checksums import bytes_sha256
from include.inventory_lake.push.validation import LEGACY_MARKER_PREFIX, MARKER_PREFIX, SetLine
from include.inventory_lake.shops import DEFAULT_SHOP_ID

CONTENT_ID_CHARS = 20
_MARKER_BODY = r"(?P<batch>[0-9a-f]+(?:-f[0-9a-f]+)?) (?P<k>\d+)/(?P<n>\d+)\]"
_MARKER = re.compile(re.escape(MARKER_PREFIX) + _MARKER_BODY)
_LEGACY_MARKER = re.compile(re.escape(LEGACY_MARKER_PREFIX) + _MARKER_BODY)


def content_sha256(lines: Iterable[SetLine], shop_id: str = DEFAULT_SHOP_ID) -> str:
    """What a batch is: its lines in a canonical order and, unless `default`, its shop."""
    canonical = sorted(
        (
            line.location_id,
            line.product_id,
            line.product_variant_id,
            line.quantity,
            line.reason,
            line.note or "",
        )
        for line in lines
    )
    content: object = canonical
    if shop_id != DEFAULT_SHOP_ID:
        content = {"shop": shop_id, "lines": canonical}
    return bytes_sha256(json.dumps(content, separators=(",", ":")).encode())


def batch_id_for(content_sha: str, *, forced_by_run: str | None = None) -> str:
    base = content_sha[:CONTENT_ID_CHARS]
    if forced_by_run is None:
        return base
    return f"{base}-f{bytes_sha256(forced_by_run.encode())[:8]}"


def content_prefix(batch_id: str) -> str:
    """The part of a batch id shared by every push (forced or not) of the same content."""
    return batch_id[:CONTENT_ID_CHARS]


def marker(batch_id: str, request: int, requests: int) -> str:
    return f"{MARKER_PREFIX}{batch_id} {request}/{requests}]"


def request_note(user_note: str | None, batch_id: str, request: int, requests: int) -> str:
    """The marker, then the user's note: a note cut short only ever loses the user's part."""
    tag = marker(batch_id, request, requests)
    return f"{tag} {user_note}" if user_note else tag


@dataclass(frozen=True)
class MarkerRef:
    batch_id: str
    request: int
    requests: int


def find_marker(note: str | None) -> MarkerRef | None:
    """The batch marker an adjustment's note starts with or, written by an older release, ends
    with; None if it has neither."""
    text = note or ""
    # Only the start counts: text after the marker is the user's, and could quote a marker.
    match = _MARKER.match(text)
    if match is None:
        match = next(reversed(list(_LEGACY_MARKER.finditer(text))), None)
    if match is None:
        return None
    return MarkerRef(match["batch"], int(match["k"]), int(match["n"]))
