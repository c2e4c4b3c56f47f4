"""What a replace of the facts table writes into its snapshots' summaries, and the one reader
of it: which shop|days a snapshot replaced, with how many rows, for which Airflow run.

- `inventory-lake.partitions` (contract 3.2): a JSON object, one entry per shop|day the
  snapshot replaced (`<shop>|<YYYY-MM-DD>`: `{"rows": n, "run-id": …, "request": …}`). One
  commit may replace several shop|days: facts builds running at once share a commit
  (`group_commit`). `request` names the build's commit request; `superseded` lists requests
  of the same shop|day that a newer build replaced before they were committed.
- `inventory-lake.partition`, `inventory-lake.rows`, `inventory-lake.run-id` (contract 3.0):
  the same, written only when the snapshot replaced exactly one shop|day.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pyiceberg.table.snapshots import Snapshot

PARTITIONS_PROPERTY = "inventory-lake.partitions"
PARTITION_PROPERTY = "inventory-lake.partition"
RUN_ID_PROPERTY = "inventory-lake.run-id"
ROWS_PROPERTY = "inventory-lake.rows"


def partition_key(shop: str, dt: date) -> str:
    return f"{shop}|{dt.isoformat()}"


@dataclass(frozen=True)
class PartitionSummary:
    """One shop|day a snapshot replaced."""

    key: str
    rows: int | None = None
    run_id: str | None = None
    request: str | None = None
    superseded: tuple[str, ...] = ()

    def requests(self) -> tuple[str, ...]:
        """The commit requests this replace settled: its own and those it superseded."""
        return ((self.request,) if self.request else ()) + self.superseded


def summary_properties(
    partitions: Iterable[PartitionSummary], extra: Mapping[str, str] | None = None
) -> dict[str, str]:
    """The summary properties of a replace of `partitions` (see the module doc)."""
    replaced = list(partitions)
    entries = {
        p.key: {
            name: value
            for name, value in (
                ("rows", p.rows),
                ("run-id", p.run_id),
                ("request", p.request),
                ("superseded", list(p.superseded)),
            )
            if value not in (None, [])
        }
        for p in replaced
    }
    properties = {**(extra or {}), PARTITIONS_PROPERTY: json.dumps(entries, sort_keys=True)}
    if len(replaced) == 1:
        (only,) = replaced
        properties[PARTITION_PROPERTY] = only.key
        if only.rows is not None:
            properties[ROWS_PROPERTY] = str(only.rows)
        if only.run_id:
            properties[RUN_ID_PROPERTY] = only.run_id
    return properties


def summary_of(snapshot: Snapshot) -> dict[str, str]:
    """A snapshot's own summary properties (those pyiceberg does not compute)."""
    return dict(snapshot.summary.additional_properties) if snapshot.summary else {}


def replaced_partitions(properties: Mapping[str, str] | None) -> dict[str, PartitionSummary]:
    """The shop|days a snapshot's summary says it replaced, by key (either shape, see the
    module doc); empty for a snapshot of any other writer, or a summary that is not JSON."""
    properties = properties or {}
    written = properties.get(PARTITIONS_PROPERTY)
    if written is not None:
        try:
            entries = json.loads(written)
        except ValueError:
            entries = None
        if isinstance(entries, dict):
            return {
                key: PartitionSummary(
                    key,
                    rows=_int(entry.get("rows")),
                    run_id=entry.get("run-id"),
                    request=entry.get("request"),
                    superseded=tuple(entry.get("superseded", ())),
                )
                for key, entry in entries.items()
                if isinstance(entry, dict)
            }
    key = properties.get(PARTITION_PROPERTY)
    if key is None:
        return {}
    return {
        key: PartitionSummary(
            key, rows=_int(properties.get(ROWS_PROPERTY)), run_id=properties.get(RUN_ID_PROPERTY)
        )
    }


def partition_view(properties: Mapping[str, str], key: str) -> dict[str, str]:
    """A snapshot's summary as seen by one shop|day it replaced: the shared properties, and
    that shop|day's own in the one-partition shape (`inventory-lake.partition`, `…rows`,
    `…run-id`)."""
    shared = {
        name: value
        for name, value in properties.items()
        if name not in (PARTITIONS_PROPERTY, PARTITION_PROPERTY, ROWS_PROPERTY, RUN_ID_PROPERTY)
    }
    replaced = replaced_partitions(properties).get(key)
    if replaced is None:
        return shared
    view = {**shared, PARTITION_PROPERTY: key}
    if replaced.rows is not None:
        view[ROWS_PROPERTY] = str(replaced.rows)
    if replaced.run_id:
        view[RUN_ID_PROPERTY] = replaced.run_id
    return view


def _int(value: object) -> int | None:
    try:
        return int(str(value)) if value is not None else None
    except ValueError:
        return None
