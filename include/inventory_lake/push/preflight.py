"""What `push` checks before it sends a batch's first request, and again whenever an attempt
resumes one (after the wait for approval, a retry delay or a takeover), so that nothing is sent
for a file that was withdrawn or through a shop that was reconfigured in the meantime.

- The file: the object the batch was read from is still in `approved/` with the same ETag.
  Deleted, moved (e.g. to another shop's folder, where it is a new file for that shop, planned
  and approved on its own) or replaced: the batch is withdrawn and nothing more is sent.
- The shop: it is read again from the Variable `inventory_lake_shops` rather than trusted from
  the hand-off made when the file was planned. A shop that is no longer configured, or whose
  Haravan connection id changed, gets nothing from this run.
"""

from __future__ import annotations

from collections.abc import Sequence

from include.inventory_lake.lake.lake import Lake
from include.inventory_lake.push.lifecycle import SourceFile
from include.inventory_lake.settings import SHOPS_VARIABLE
from include.inventory_lake.shops import Shop, by_id


def file_withdrawn(lake: Lake, source: SourceFile) -> str | None:
    """Why the batch's file is no longer the one planned, or None when it still is."""
    now = lake.etag(source.key)
    if now is None:
        return (
            f"{source.key} was removed from approved/ (deleted, or moved to another folder) "
            "after it was planned"
        )
    if now != source.etag.strip('"'):
        return (
            f"{source.key} was replaced after it was planned (ETag {source.etag} planned, "
            f"{now} now); the new file is planned on its own by the next run"
        )
    return None


def shop_changed(planned: Shop, configured: Sequence[Shop]) -> str | None:
    """Why the file's shop may not be sent to as planned, or None when it is configured as it
    was: same id, same Haravan connection."""
    current = by_id(configured, planned.id)
    if current is None:
        known = ", ".join(shop.id for shop in configured)
        return (
            f"shop {planned.id} is no longer configured (Variable {SHOPS_VARIABLE!r} lists "
            f"{known}); the file stays in approved/ and the next run rejects it with a report, "
            "unless the shop is configured again"
        )
    if current.haravan_conn_id != planned.haravan_conn_id:
        return (
            f"shop {planned.id}'s Haravan connection changed from {planned.haravan_conn_id} to "
            f"{current.haravan_conn_id} after the file was planned; the next run takes the "
            "batch over through the new connection (planned and approved afresh if nothing "
            "was sent yet)"
        )
    return None
