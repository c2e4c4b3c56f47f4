"""The emulator's settings: data knobs, rate limits and accepted credentials."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass

from devtools.emulator.timefmt import parse_iso_ticks


def _as_int(name: str, value: object, minimum: int, maximum: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        if isinstance(value, str) and value.strip().lstrip("-").isdigit():
            value = int(value)
        else:
            raise ValueError(f"{name} must be an integer")
    if value < minimum or (maximum is not None and value > maximum):
        bound = f"between {minimum} and {maximum}" if maximum is not None else f">= {minimum}"
        raise ValueError(f"{name} must be {bound}")
    return value


def _as_float(name: str, value: object, minimum: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValueError(f"{name} must be a number")
    try:
        number = float(value)
    except ValueError as exc:
        raise ValueError(f"{name} must be a number") from exc
    if number < minimum or number != number:
        raise ValueError(f"{name} must be >= {minimum}")
    return number


@dataclass(frozen=True)
class DataKnobs:
    """What to generate. ``end`` is in 100 ns ticks since the epoch; None means "now"."""

    seed: int = 42
    days: int = 14
    end: int | None = None
    haravan_per_day: int = 40
    stocky_per_day: int = 20
    max_lines: int = 5
    locations: int = 3
    variants: int = 200

    def updated(self, changes: Mapping[str, object]) -> DataKnobs:
        """A copy with the given JSON-style changes applied; raises ValueError on bad input."""
        unknown = set(changes) - {f.name for f in dataclasses.fields(self)}
        if unknown:
            raise ValueError(f"unknown data knobs: {', '.join(sorted(unknown))}")
        values: dict[str, object] = {}
        for name, value in changes.items():
            if name == "end":
                values[name] = None if value is None else _parse_end(value)
            elif name == "seed":
                values[name] = _as_int(name, value, 0)
            elif name in ("locations",):
                values[name] = _as_int(name, value, 1, 200)
            elif name in ("max_lines", "variants", "days"):
                values[name] = _as_int(name, value, 1)
            else:
                values[name] = _as_int(name, value, 0)
        return dataclasses.replace(self, **values)  # type: ignore[arg-type]


def _parse_end(value: object) -> int:
    if not isinstance(value, str):
        raise ValueError("end must be an ISO 8601 date or datetime string")
    return parse_iso_ticks(value)


@dataclass
class Limits:
    """Rate limits and page-size caps, changeable at runtime through /_admin/config."""

    bucket_size: int = 80
    leak_rate: float = 4.0
    max_limit: int = 250
    stocky_bucket_size: int = 0
    stocky_leak_rate: float = 0.0
    stocky_max_limit: int = 250

    def updated(self, changes: Mapping[str, object]) -> Limits:
        unknown = set(changes) - {f.name for f in dataclasses.fields(self)}
        if unknown:
            raise ValueError(f"unknown limits: {', '.join(sorted(unknown))}")
        values: dict[str, object] = {}
        for name, value in changes.items():
            if name == "leak_rate":
                values[name] = _as_float(name, value, 0.0)
                if values[name] == 0.0:
                    raise ValueError("leak_rate must be > 0")
            elif name == "stocky_leak_rate":
                values[name] = _as_float(name, value, 0.0)
            elif name == "stocky_bucket_size":
                values[name] = _as_int(name, value, 0)
            else:
                values[name] = _as_int(name, value, 1)
        return dataclasses.replace(self, **values)  # type: ignore[arg-type]

    @property
    def stocky_limited(self) -> bool:
        return self.stocky_bucket_size > 0 and self.stocky_leak_rate > 0

    def as_dict(self) -> dict[str, object]:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class Credentials:
    haravan_token: str = "demo-haravan-token"
    stocky_store: str = "demo-shop.myshopify.com"
    stocky_key: str = "demo-stocky-key"
