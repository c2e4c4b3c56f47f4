"""Every access to the lake's bucket goes through the bound lake (`lake/lake.py`, over the S3
layer `lake/store.py`): no other module of include/, dags/ or plugins/ calls an S3 client's
object methods or builds a `LakeStore` of its own, so every read and write is formatted by
`lake.location` and recorded as lineage by the lake. Read from the source with `ast`."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FOLDERS = ("include", "dags", "plugins")
GATEWAY = frozenset({"include/inventory_lake/lake/lake.py", "include/inventory_lake/lake/store.py"})
RAW_CALLS = frozenset(
    {
        "put_object",
        "get_object",
        "list_objects_v2",
        "head_object",
        "copy_object",
        "delete_object",
        "get_paginator",
        "upload_file",
        "download_file",
    }
)


def raw_accesses(source: str) -> Iterator[tuple[int, str]]:
    """(line, what) for each raw S3 object call and each `LakeStore(...)` in `source`."""
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call):
            continue
        function = node.func
        if isinstance(function, ast.Attribute) and function.attr in RAW_CALLS:
            yield node.lineno, f".{function.attr}()"
        name = function.attr if isinstance(function, ast.Attribute) else getattr(function, "id", "")
        if name == "LakeStore":
            yield node.lineno, "LakeStore()"


def outside_the_gateway() -> list[str]:
    found = []
    for folder in FOLDERS:
        for path in sorted((ROOT / folder).rglob("*.py")):
            relative = path.relative_to(ROOT).as_posix()
            if relative in GATEWAY:
                continue
            for line, what in raw_accesses(path.read_text(encoding="utf-8")):
                found.append(f"{relative}:{line}: {what}")
    return found


def test_only_the_lake_gateway_touches_the_bucket() -> None:
    assert outside_the_gateway() == []


def test_the_rule_sees_raw_calls_and_stores_of_their_own() -> None:
    source = (
        "def f(s3, bucket):\n"
        "    s3.put_object(Bucket=bucket, Key='k', Body=b'')\n"
        "    pages = s3.get_paginator('list_objects_v2')\n"
        "    LakeStore(s3, bucket).read_bytes('k')\n"
        "    store.LakeStore(s3, bucket)\n"
        "    lake.read_bytes('k')\n"
    )
    assert sorted(raw_accesses(source)) == [
        (2, ".put_object()"),
        (3, ".get_paginator()"),
        (4, "LakeStore()"),
        (5, "LakeStore()"),
    ]
