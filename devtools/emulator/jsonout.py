"""JSON rendering that writes money with exactly two decimals, as the real API does.

``json.dumps`` would turn 150000000000.00 into ``150000000000.0`` (or lose precision for larger
amounts), so money is kept as integer cents in ``Money`` and written as raw number text.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from json.encoder import encode_basestring
from typing import Any


@dataclass(frozen=True, slots=True)
class Money:
    cents: int

    @classmethod
    def from_units(cls, units: int) -> Money:
        return cls(units * 100)

    def __add__(self, other: Money) -> Money:
        return Money(self.cents + other.cents)

    @property
    def text(self) -> str:
        sign = "-" if self.cents < 0 else ""
        whole, part = divmod(abs(self.cents), 100)
        return f"{sign}{whole}.{part:02d}"


def _write(value: Any, out: Callable[[str], None]) -> None:
    if value is None:
        out("null")
    elif value is True:
        out("true")
    elif value is False:
        out("false")
    elif isinstance(value, str):
        out(encode_basestring(value))
    elif isinstance(value, Money):
        out(value.text)
    elif isinstance(value, int):
        out(int.__repr__(value))
    elif isinstance(value, float):
        out(json.dumps(value))
    elif isinstance(value, Mapping):
        out("{")
        first = True
        for key, item in value.items():
            if not first:
                out(", ")
            first = False
            out(encode_basestring(str(key)))
            out(": ")
            _write(item, out)
        out("}")
    elif isinstance(value, list | tuple):
        out("[")
        for index, item in enumerate(value):
            if index:
                out(", ")
            _write(item, out)
        out("]")
    else:
        raise TypeError(f"cannot render {type(value).__name__} as JSON")


def dumps(value: Any) -> str:
    parts: list[str] = []
    _write(value, parts.append)
    return "".join(parts)


def dumps_bytes(value: Any) -> bytes:
    return dumps(value).encode("utf-8")
