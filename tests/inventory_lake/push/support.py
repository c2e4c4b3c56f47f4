"""Set-adjustment files built from the emulator's catalog, what the emulator saw, and what a
push left in the lake (staging folders, ledger, audit)."""

from __future__ import annotations

import io
import json
import random
from collections import Counter
from typing import Any

import pyarrow.parquet as pq

from include.inventory_lake.push.batch import find_marker
from include.inventory_lake.settings import (
    SET_ADJUSTMENTS_AUDIT_PATH,
    SET_ADJUSTMENTS_STAGING_PATH,
)
from tests.servers import Emulator, S3Server

HEADER = ("location_id", "product_id", "product_variant_id", "quantity")
STAGING = SET_ADJUSTMENTS_STAGING_PATH
APPROVED = f"{STAGING}/approved/"
CREATE_PATH = "/com/inventories/adjustorset.json"


def catalog(emulator: Emulator) -> dict[str, Any]:
    result: dict[str, Any] = emulator.admin_get("catalog")
    return result


def stock(emulator: Emulator) -> dict[tuple[int, int], int]:
    """(location id, variant id) -> qty_onhand, as the emulator holds it now."""
    return {
        (int(row["location_id"]), int(row["variant_id"])): int(row["qty_onhand"])
        for row in emulator.admin_get("stock")
    }


def set_lines(
    emulator: Emulator,
    *,
    locations: int,
    per_location: int,
    seed: int = 1,
    close_to_current: bool = True,
) -> list[dict[str, Any]]:
    """Valid lines: new quantities near the current ones (within the default guard) or not."""
    rng = random.Random(seed)
    cat = catalog(emulator)
    current = stock(emulator)
    lines = []
    for location in cat["locations"][:locations]:
        for variant in cat["variants"][:per_location]:
            now = current[(location["haravan_id"], variant["haravan_id"])]
            quantity = max(0, now + rng.randint(-3, 3)) if close_to_current else now + 5_000
            lines.append(
                {
                    "location_id": location["haravan_id"],
                    "product_id": variant["product_id"],
                    "product_variant_id": variant["haravan_id"],
                    "quantity": quantity,
                    "sku": variant["sku"],
                }
            )
    return lines


def csv_text(lines: list[dict[str, Any]], columns: tuple[str, ...] = (*HEADER, "sku")) -> str:
    rows = [",".join(columns)]
    rows += [
        ",".join("" if line.get(c) is None else str(line[c]) for c in columns) for line in lines
    ]
    return "\ufeff" + "\r\n".join(rows) + "\r\n"


def put(s3: S3Server, key: str, body: str | bytes) -> None:
    data = body.encode("utf-8") if isinstance(body, str) else body
    s3.client().put_object(Bucket=s3.bucket, Key=key, Body=data)


def posts(emulator: Emulator) -> list[dict[str, Any]]:
    return [p for p in emulator.journal()["posts"] if p["path"] == CREATE_PATH]


def applied_requests(emulator: Emulator) -> Counter[tuple[str, int]]:
    """How many times each (batch id, chunk) was applied, from the POST bodies the API took."""
    counts: Counter[tuple[str, int]] = Counter()
    for post in posts(emulator):
        ref = find_marker(post["body"]["inventory"]["note"])
        if post["applied"] and ref is not None:
            counts[(ref.batch_id, ref.request)] += 1
    return counts


def expected_stock(lines: list[dict[str, Any]]) -> dict[tuple[int, int], int]:
    return {(line["location_id"], line["product_variant_id"]): line["quantity"] for line in lines}


# --- what a push left in the lake ----------------------------------------------------------


def staged(s3: S3Server, folder: str) -> list[str]:
    prefix = f"{STAGING}/{folder}/"
    return sorted(key[len(prefix) :] for key in s3.keys(prefix))


def read_text(s3: S3Server, key: str) -> str:
    body: bytes = s3.client().get_object(Bucket=s3.bucket, Key=key)["Body"].read()
    return body.decode("utf-8-sig")


def ledger_doc(s3: S3Server, batch_id: str) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(read_text(s3, f"{STAGING}/ledger/{batch_id}/batch.json"))
    return doc


def request_docs(s3: S3Server, batch_id: str) -> dict[int, dict[str, Any]]:
    prefix = f"{STAGING}/ledger/{batch_id}/chunks/"
    docs = [json.loads(read_text(s3, key)) for key in s3.keys(prefix)]
    return {doc["chunk"]: doc for doc in docs}


def audit_rows(s3: S3Server) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for key in s3.keys(SET_ADJUSTMENTS_AUDIT_PATH + "/"):
        body = s3.client().get_object(Bucket=s3.bucket, Key=key)["Body"].read()
        rows += pq.read_table(io.BytesIO(body)).to_pylist()
    return rows


def batch_ids(emulator: Emulator) -> set[str]:
    return {batch for batch, _ in applied_requests(emulator)}


def assert_stock_is(emulator: Emulator, lines: list[dict[str, Any]]) -> None:
    current = stock(emulator)
    wrong = {
        pair: (current[pair], qty)
        for pair, qty in expected_stock(lines).items()
        if current[pair] != qty
    }
    assert not wrong, f"(now, wanted) for {len(wrong)} lines, e.g. {list(wrong.items())[:3]}"


def outcome_written(s3: S3Server, request: int) -> bool:
    suffix = f"/chunks/{request:05d}.json"
    return any(key.endswith(suffix) for key in s3.keys(f"{STAGING}/ledger/"))
