"""Which daily partitions a run processes, in this order of precedence:

1. the run's params `dt_start` / `dt_end` (inclusive; a manual run for any range);
2. the `dt` in the extra of every asset event that triggered the run (an asset-triggered run
   may consume several events, e.g. after an extract backfill: it processes each day once),
   plus the days listed in an extra's `facts_rebuild_dts` (the Stocky extract names there the
   earlier days whose facts lack an adjustment it just brought into the lake);
3. the UTC days of the run's data interval (backfills and manual runs without params).

An asset event without a valid `dt` fails the run rather than being skipped: a silently ignored
event would leave a day stale.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from include.inventory_lake.assets import FACTS_REBUILD_DTS

MAX_DAYS = 366


class RunDatesError(ValueError):
    """The run does not say which days to process, or says it inconsistently."""


def _parse_day(value: Any, where: str) -> date:
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise RunDatesError(f"{where}: expected a date YYYY-MM-DD, got {value!r}") from None


def _days(first: date, last: date, where: str) -> list[date]:
    if last < first:
        raise RunDatesError(f"{where}: end {last} is before start {first}")
    count = (last - first).days + 1
    if count > MAX_DAYS:
        raise RunDatesError(f"{where}: {count} days is more than {MAX_DAYS}; split the range")
    return [first + timedelta(days=offset) for offset in range(count)]


def days_from_params(params: Mapping[str, Any]) -> list[date]:
    start, end = params.get("dt_start"), params.get("dt_end")
    if not start:
        if end:
            raise RunDatesError("params: dt_end is set without dt_start")
        return []
    first = _parse_day(start, "params.dt_start")
    last = _parse_day(end, "params.dt_end") if end else first
    return _days(first, last, "params")


def days_from_events(events: Iterable[tuple[str, Mapping[str, Any]]]) -> list[date]:
    """`events` are (asset name, event extra) pairs."""
    days = set()
    for asset_name, extra in events:
        if "dt" not in extra:
            raise RunDatesError(
                f"an event on asset {asset_name!r} has no 'dt' in its extra ({dict(extra)!r}); "
                "trigger the DAG with params dt_start/dt_end instead"
            )
        days.add(_parse_day(extra["dt"], f"event on asset {asset_name!r}"))
        rebuild = extra.get(FACTS_REBUILD_DTS) or []
        if not isinstance(rebuild, list):
            raise RunDatesError(
                f"an event on asset {asset_name!r} has {FACTS_REBUILD_DTS}={rebuild!r}, "
                "expected a list of dates YYYY-MM-DD"
            )
        where = f"{FACTS_REBUILD_DTS} of an event on asset {asset_name!r}"
        days.update(_parse_day(day, where) for day in rebuild)
    return sorted(days)


def days_from_interval(start: datetime | None, end: datetime | None) -> list[date]:
    if start is None or end is None or end <= start:
        return []
    start, end = start.astimezone(UTC), end.astimezone(UTC)
    if start.time() != time.min or end.time() != time.min:
        raise RunDatesError(
            f"data interval {start.isoformat()} → {end.isoformat()} is not whole UTC days"
        )
    return _days(start.date(), end.date() - timedelta(days=1), "data interval")


def run_dates(
    params: Mapping[str, Any],
    events: Iterable[tuple[str, Mapping[str, Any]]],
    interval_start: datetime | None,
    interval_end: datetime | None,
) -> list[date]:
    days = (
        days_from_params(params)
        or days_from_events(events)
        or days_from_interval(interval_start, interval_end)
    )
    if not days:
        raise RunDatesError(
            "this run has no days to process: no params dt_start/dt_end, no triggering asset "
            "events and no data interval; trigger it with params dt_start (and dt_end)"
        )
    return days


def context_run_dates(context: Mapping[str, Any]) -> list[date]:
    """`run_dates` from an Airflow task context."""
    triggering = context.get("triggering_asset_events") or {}
    events = [
        (getattr(asset, "name", str(asset)), event.extra or {})
        for asset, asset_events in triggering.items()
        for event in asset_events
    ]
    return run_dates(
        context.get("params") or {},
        events,
        context.get("data_interval_start"),
        context.get("data_interval_end"),
    )
