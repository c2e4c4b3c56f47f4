"""What the running task read and wrote, recorded by the code that does the reading and writing
(the lake writer and reader, the HTTP client, the push) and reported by the task's operator to
the OpenLineage provider when the task ends.

One recorder per process: a task runs in its own process (or, under `dag.test()`, one task at a
time), and the operator clears it when a task starts. Recording never raises: lineage must not
fail a task.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import urlsplit

from include.inventory_lake.http.urls import origin

Direction = Literal["input", "output"]


@dataclass
class DatasetUse:
    """One dataset a task read or wrote, with what is known about it."""

    namespace: str
    name: str
    fields: list[tuple[str, str]] | None = None
    rows: int | None = None
    bytes: int | None = None
    assertions: list[tuple[str, bool, str | None]] = field(default_factory=list)
    # Further OpenLineage dataset facets by key (e.g. a table's `catalog` and `symlinks`).
    facets: dict[str, Any] = field(default_factory=dict)


@dataclass
class Recorded:
    inputs: list[DatasetUse]
    outputs: list[DatasetUse]


class LineageRecorder:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._uses: dict[tuple[Direction, str, str], DatasetUse] = {}

    def clear(self) -> None:
        with self._lock:
            self._uses.clear()

    def record(
        self,
        direction: Direction,
        namespace: str,
        name: str,
        *,
        fields: list[tuple[str, str]] | None = None,
        rows: int | None = None,
        size: int | None = None,
        facets: dict[str, Any] | None = None,
    ) -> None:
        with self._lock:
            use = self._uses.setdefault((direction, namespace, name), DatasetUse(namespace, name))
            use.facets.update(facets or {})
            if fields is not None:
                use.fields = fields
            if rows is not None:
                use.rows = (use.rows or 0) + rows if direction == "input" else rows
            if size is not None:
                use.bytes = (use.bytes or 0) + size if direction == "input" else size

    def assert_on(
        self, namespace: str, name: str, assertion: str, success: bool, column: str | None = None
    ) -> None:
        with self._lock:
            use = self._uses.setdefault(("output", namespace, name), DatasetUse(namespace, name))
            use.assertions.append((assertion, success, column))

    def recorded(self) -> Recorded:
        with self._lock:
            uses = list(self._uses.items())
        return Recorded(
            inputs=[use for (direction, _, _), use in uses if direction == "input"],
            outputs=[use for (direction, _, _), use in uses if direction == "output"],
        )


RECORDER = LineageRecorder()


def s3_dataset(uri: str) -> tuple[str, str]:
    """OpenLineage's naming for S3: namespace `s3://<bucket>`, name the key (no trailing /)."""
    return origin(uri), urlsplit(uri).path.strip("/")


def api_dataset(base_url: str, conn_id: str, path: str) -> tuple[str, str]:
    """An API endpoint as a dataset: namespace the API's origin, name the endpoint under the
    connection (one connection per shop): `haravan_default/com/inventories/adjustments.json`."""
    return origin(base_url), f"{conn_id}/{path.lstrip('/')}"


def read_s3(
    uri: str,
    *,
    fields: list[tuple[str, str]] | None = None,
    rows: int | None = None,
    size: int | None = None,
) -> None:
    RECORDER.record("input", *s3_dataset(uri), fields=fields, rows=rows, size=size)


def wrote_s3(
    uri: str,
    *,
    fields: list[tuple[str, str]] | None = None,
    rows: int | None = None,
    size: int | None = None,
) -> None:
    RECORDER.record("output", *s3_dataset(uri), fields=fields, rows=rows, size=size)


def wrote_table(
    namespace: str,
    name: str,
    *,
    facets: dict[str, Any],
    fields: list[tuple[str, str]] | None = None,
    rows: int | None = None,
) -> None:
    """A table (e.g. Iceberg) the task committed to, named by its location, with the facets
    that name it in its catalog."""
    RECORDER.record("output", namespace, name, fields=fields, rows=rows, facets=facets)


def checked_s3(uri: str, assertion: str, success: bool, column: str | None = None) -> None:
    RECORDER.assert_on(*s3_dataset(uri), assertion, success, column)


def called_api(base_url: str, conn_id: str, method: str, path: str) -> None:
    """A read (GET) is an input of the task; a write (POST, PUT) an output."""
    direction: Direction = "input" if method.upper() == "GET" else "output"
    RECORDER.record(direction, *api_dataset(base_url, conn_id, path))


def schema_fields(schema: Any) -> list[tuple[str, str]]:
    """A pyarrow schema's columns as (name, type) pairs for the schema facet."""
    return [(f.name, str(f.type)) for f in schema]
