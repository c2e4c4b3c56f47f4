"""Query-string parameter parsing shared by the API handlers."""

from __future__ import annotations

from devtools.emulator.timefmt import parse_iso_ticks


class ParamError(ValueError):
    """An invalid parameter; the message is shown to the client."""


def int_param(
    query: dict[str, str], name: str, default: int | None = None, minimum: int | None = None
) -> int | None:
    raw = query.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw.strip())
    except ValueError as exc:
        raise ParamError(f"{name} must be an integer") from exc
    if minimum is not None and value < minimum:
        raise ParamError(f"{name} must be >= {minimum}")
    return value


def id_list_param(query: dict[str, str], name: str, max_items: int) -> set[int] | None:
    raw = query.get(name)
    if raw is None or raw.strip() == "":
        return None
    try:
        ids = {int(part) for part in raw.split(",") if part.strip()}
    except ValueError as exc:
        raise ParamError(f"{name} must be a comma-separated list of integers") from exc
    if len(ids) > max_items:
        raise ParamError(f"{name} accepts at most {max_items} ids")
    return ids


def time_param(query: dict[str, str], name: str) -> int | None:
    raw = query.get(name)
    if raw is None or raw.strip() == "":
        return None
    try:
        return parse_iso_ticks(raw)
    except ValueError as exc:
        raise ParamError(f"{name} must be an ISO 8601 date or datetime") from exc
