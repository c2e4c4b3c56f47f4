"""Set-adjustment files built from the emulator's catalog, and what the emulator saw."""

from __future__ import annotations

import random
from collections import Counter
from typing import Any

from include.inventory_lake.push.batch import find_marker
from include.inventory_lake.settings import SET_ADJUSTMENTS_STAGING_PATH
from tests.servers import Emulator, S3Server

HEADER = ("location_id", "product_id", "product_variant_id", "quantity")
APPROVED = f"{SET_ADJUSTMENTS_STAGING_PATH}/approved/"
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


def applied_chunks(emulator: Emulator) -> Counter[tuple[str, int]]:
    """How many times each (batch id, chunk) was applied, from the POST bodies the API took."""
    counts: Counter[tuple[str, int]] = Counter()
    for post in posts(emulator):
        ref = find_marker(post["body"]["inventory"]["note"])
        if post["applied"] and ref is not None:
            counts[(ref.batch_id, ref.chunk)] += 1
    return counts


def expected_stock(lines: list[dict[str, Any]]) -> dict[tuple[int, int], int]:
    return {(line["location_id"], line["product_variant_id"]): line["quantity"] for line in lines}
