"""Typed conversion of API records (parsed JSON, money as Decimal) into an Arrow schema.

Values are checked, never coerced: a quantity sent as "5a" or a timestamp without a zone is an
error naming the record and the field, not a null. Fields the schema does not know are kept in
the record's `_extra_json` column and counted, so an API change is visible and loses nothing.
"""

from __future__ import annotations

import functools
import json
import re
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import pyarrow as pa

from include.inventory_lake.schemas.types import EXTRA_JSON_COLUMN


class RecordTypeError(ValueError):
    """A record's field does not have the type the dataset declares."""


@dataclass
class TypedBatch:
    batch: pa.RecordBatch
    unknown_fields: Counter[str] = field(default_factory=Counter)


def parse_timestamp(text: str) -> datetime:
    """ISO 8601 with 0-7 fractional digits (the APIs send all of them) and an explicit zone."""
    parsed = datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        raise ValueError(f"timestamp {text!r} has no time zone")
    return parsed.astimezone(UTC)


def _int(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"expected an integer, got {value!r}")
    return value


def _decimal(value: Any, scale: int) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | Decimal):
        raise TypeError(f"expected a number, got {value!r}")
    exact = Decimal(value)
    try:
        quantized = exact.quantize(Decimal(1).scaleb(-scale))
    except InvalidOperation as error:
        raise TypeError(f"{value!r} does not fit a decimal with scale {scale}") from error
    if quantized != exact:
        raise TypeError(f"{value!r} has more than {scale} decimal places")
    return quantized


def _string(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError(f"expected a string, got {value!r}")
    return value


def _bool(value: Any) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"expected true/false, got {value!r}")
    return value


_INDEX = re.compile(r"\[\d+\]")


# Converts one value of a field: (extras of the record, the value, the field's path) -> value.
_Convert = Callable[[dict[str, Any], Any, str], Any]


def _scalar(type_: pa.DataType) -> Callable[[Any], Any] | None:
    if pa.types.is_integer(type_):
        return _int
    if pa.types.is_timestamp(type_):
        return lambda value: parse_timestamp(_string(value))
    if pa.types.is_decimal(type_):
        scale = type_.scale
        return lambda value: _decimal(value, scale)
    if pa.types.is_string(type_):
        return _string
    if pa.types.is_boolean(type_):
        return _bool
    return None


@functools.cache
def _converter(type_: pa.DataType) -> _Convert:
    """The conversion of a value of `type_`, worked out once per type (a task converts
    thousands of records of the same few types); a wrong value raises RecordTypeError naming
    its path, unknown fields of an object go to the record's extras under their path."""
    if pa.types.is_struct(type_):
        fields = [
            (type_.field(i).name, _converter(type_.field(i).type)) for i in range(type_.num_fields)
        ]
        names = frozenset(name for name, _ in fields)

        def struct(extras: dict[str, Any], value: Any, path: str) -> Any:
            if value is None:
                return None
            if not isinstance(value, Mapping):
                raise RecordTypeError(f"{path}: expected an object, got {value!r}")
            for key in value.keys() - names:
                extras[f"{path}.{key}"] = value[key]
            return {
                name: convert(extras, value.get(name), f"{path}.{name}") for name, convert in fields
            }

        return struct
    if pa.types.is_list(type_):
        item = _converter(type_.value_type)

        def list_(extras: dict[str, Any], value: Any, path: str) -> Any:
            if value is None:
                return None
            if not isinstance(value, list):
                raise RecordTypeError(f"{path}: expected a list, got {type(value).__name__}")
            return [item(extras, element, f"{path}[{i}]") for i, element in enumerate(value)]

        return list_
    check = _scalar(type_)

    def scalar(extras: dict[str, Any], value: Any, path: str) -> Any:
        if value is None:
            return None
        if check is None:
            raise NotImplementedError(f"no conversion for {type_} at {path}")
        try:
            return check(value)
        except (TypeError, ValueError) as error:
            raise RecordTypeError(f"{path}: {error}") from None

    return scalar


@functools.cache
def _record_fields(schema: pa.Schema) -> tuple[tuple[str, bool, _Convert], ...]:
    return tuple(
        (field_.name, field_.nullable, _converter(field_.type))
        for field_ in schema
        if field_.name != EXTRA_JSON_COLUMN
    )


def _record_row(
    record: Any, schema: pa.Schema, label: str, unknown: Counter[str]
) -> dict[str, Any]:
    if not isinstance(record, Mapping):
        raise RecordTypeError(f"{label}: expected an object, got {record!r:.80}")
    extras: dict[str, Any] = {}
    row: dict[str, Any] = {}
    for name, nullable, convert in _record_fields(schema):
        value = convert(extras, record.get(name), f"{label}.{name}")
        if value is None and not nullable:
            raise RecordTypeError(f"{label}.{name}: required, but missing or null")
        row[name] = value
    for key in record.keys() - set(schema.names):
        extras[f"{label}.{key}"] = record[key]
    extras = {path.removeprefix(label + "."): v for path, v in extras.items()}
    unknown.update(_INDEX.sub("[]", path) for path in extras)
    row[EXTRA_JSON_COLUMN] = (
        json.dumps(extras, ensure_ascii=False, sort_keys=True, default=str) if extras else None
    )
    return row


def to_typed_batch(records: Sequence[Any], schema: pa.Schema, what: str) -> TypedBatch:
    """Convert records of one API page; errors name `what`, the record's id and the field."""
    unknown: Counter[str] = Counter()
    rows = []
    for index, record in enumerate(records):
        record_id = record.get("id") if isinstance(record, Mapping) else None
        label = f"{what}[id={record_id}]" if record_id is not None else f"{what}[{index}]"
        rows.append(_record_row(record, schema, label, unknown))
    return TypedBatch(pa.RecordBatch.from_pylist(rows, schema=schema), unknown)
