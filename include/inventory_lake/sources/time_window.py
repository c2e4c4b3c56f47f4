"""The records of a time window [start, end) out of pages read in ascending id order."""

from __future__ import annotations

import logging
from collections.abc import Generator, Iterable
from dataclasses import dataclass
from datetime import datetime

from include.inventory_lake.sources.pages import Record
from include.inventory_lake.sources.timestamps import parse_api_timestamp

log = logging.getLogger(__name__)


@dataclass
class WindowTally:
    """What the pages held: pages read, records kept, records from before the window."""

    pages: int = 0
    kept: int = 0
    before_start: int = 0


def records_in_window(
    pages: Iterable[list[Record]],
    *,
    what: str,
    timestamp_field: str,
    start: datetime,
    end: datetime,
    ids_follow_timestamp: bool,
) -> Generator[list[Record], None, WindowTally]:
    """Per page, its records with start <= `timestamp_field` < end not seen before (by id);
    pages with none are left out. Returns the tally.

    With `ids_follow_timestamp` (ids grow with the timestamp), a record at or after `end` means
    no later page holds one of the window: reading stops after its page. Logs each page and the
    total, naming them by `what` (e.g. "Haravan adjustments").
    """
    seen: set[int] = set()
    tally = WindowTally()
    for page in pages:
        tally.pages += 1
        in_window: list[Record] = []
        reached_end = False
        for record in page:
            timestamp = parse_api_timestamp(record[timestamp_field])
            if timestamp < start:
                tally.before_start += 1
            elif timestamp >= end:
                reached_end = True
            elif record["id"] not in seen:
                seen.add(record["id"])
                in_window.append(record)
        tally.kept += len(in_window)
        log.info(
            "%s page %d: %d records, %d in the window (%d so far)",
            what,
            tally.pages,
            len(page),
            len(in_window),
            tally.kept,
        )
        if in_window:
            yield in_window
        if reached_end and ids_follow_timestamp:
            break
    log.info(
        "%s %s in [%s, %s): %d records in %d pages",
        what,
        timestamp_field.removesuffix("_at"),
        start.isoformat(),
        end.isoformat(),
        tally.kept,
        tally.pages,
    )
    return tally
