"""The check that a JSON document read back from the lake holds the fields its readers use,
with their JSON types, so a damaged or foreign document is refused with a reason in a few
words instead of failing deep inside whoever reads it."""

from __future__ import annotations

from typing import Any

Fields = dict[str, type | tuple[type, ...]]


class DocumentInvalid(ValueError):
    """A document that is not what its reader expects; the message says why, in a few words."""


def checked(value: Any, fields: Fields, what: str, *, all_needed: bool = True) -> dict[str, Any]:
    """`value`, a JSON object holding `fields` with their types (or without some of them, when
    not `all_needed`); DocumentInvalid otherwise."""
    if not isinstance(value, dict):
        raise DocumentInvalid(f"{what} is not a JSON object")
    for field, kind in fields.items():
        if field not in value:
            if all_needed:
                raise DocumentInvalid(f"{what} has no {field}")
        elif not isinstance(value[field], kind):
            raise DocumentInvalid(f"{what} has an unexpected {field}")
    return value
