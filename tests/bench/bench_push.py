"""Push benchmark (issue 5): a 10,000-line set-adjustments file through the same path the push
DAG's tasks run (S3 file → validation → current stock → plan → ledger claim → send with the
ledger written per request → audit + move), minus Airflow's glue, against the emulator with
its leaky bucket scaled tenfold so the run takes seconds.

Figures:
- push_rate_vs_bucket_ideal: API calls per second achieved ÷ the bucket's ideal (N calls need
  at least (N - size) / leak seconds), from the first API call to the last (stock read, plan
  and ledger writes, sending) and for the whole push including the file read and the audit.
- push_requests_per_location_chunk: requests sent ÷ Σ ceil(lines per location / 100) (1.0 is
  the minimum possible), and the ledger's S3 writes per request.
"""

from __future__ import annotations

import hashlib
import math
import time
from collections import Counter
from datetime import UTC, datetime
from typing import Any

import boto3
import requests

from include.inventory_lake.lake.location import LakeRoot
from include.inventory_lake.push.batch import batch_id_for, content_sha256
from include.inventory_lake.push.claim import SourceFile, claim_batch
from include.inventory_lake.push.finalize import ClosingBatch
from include.inventory_lake.push.layout import PushLake, PushLayout
from include.inventory_lake.push.ledger import Ledger
from include.inventory_lake.push.options import PushOptions
from include.inventory_lake.push.plan_store import read_plan, write_plan
from include.inventory_lake.push.planning import build_plan
from include.inventory_lake.push.reading import read_staged
from include.inventory_lake.push.sending import send_batch
from include.inventory_lake.push.stock import read_current_stock
from include.inventory_lake.push.validation import validate
from include.inventory_lake.sources.haravan import HaravanClient
from tests.bench import harness

TOKEN = "bench-token"
BUCKET = "bench-lake"
END = datetime(2026, 1, 15, tzinfo=UTC)
LOCATIONS, VARIANTS = 10, 1_000
SIZE, LEAK = 20, 40.0  # Haravan's 80 calls leaking 4/s, scaled: ten times faster
RUN_ID = "bench__push"


def _admin(url: str, path: str) -> Any:
    response = requests.get(f"{url}/_admin/{path}", timeout=60)
    response.raise_for_status()
    return response.json()


def _file(emulator_url: str) -> bytes:
    catalog = _admin(emulator_url, "catalog")
    stock = {
        (r["location_id"], r["variant_id"]): r["qty_onhand"] for r in _admin(emulator_url, "stock")
    }
    rows = ["location_id,product_id,product_variant_id,quantity,sku,reason"]
    for location in catalog["locations"]:
        for index, variant in enumerate(catalog["variants"]):
            now = stock[(location["haravan_id"], variant["haravan_id"])]
            rows.append(
                f"{location['haravan_id']},{variant['product_id']},{variant['haravan_id']},"
                f"{max(0, now + index % 7 - 3)},{variant['sku'] or ''},shrinkage"
            )
    return ("\ufeff" + "\r\n".join(rows) + "\r\n").encode()


def _s3(url: str) -> Any:
    client = boto3.client(
        "s3",
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id="bench",
        aws_secret_access_key="bench",
    )
    client.create_bucket(Bucket=BUCKET)
    return client


def push_file(emulator_url: str, s3_url: str) -> dict[str, Any]:
    s3 = _s3(s3_url)
    layout = PushLayout(LakeRoot(BUCKET))
    body = _file(emulator_url)
    key = layout.approved_prefix + "count.csv"
    s3.put_object(Bucket=BUCKET, Key=key, Body=body)
    options = PushOptions.from_params({"max_lines": 10_000})
    phases: dict[str, float] = {}

    started = time.perf_counter()
    obj = s3.get_object(Bucket=BUCKET, Key=key)
    data = obj["Body"].read()
    source = SourceFile(key, "count.csv", obj["ETag"].strip('"'), hashlib.sha256(data).hexdigest())
    lines = validate(read_staged(source.name, data), max_lines=options.max_lines).lines
    content = content_sha256(lines)
    batch_id = batch_id_for(content)
    phases["read_validate_s"] = time.perf_counter() - started

    with HaravanClient(emulator_url, TOKEN, bucket_size=SIZE, leak_rate=LEAK) as client:
        mark = time.perf_counter()
        stock = read_current_stock(client, lines)
        assert not stock.problems, stock.problems[:3]
        plan = build_plan(
            batch_id,
            lines,
            stock.on_hand,
            lines_per_request=options.lines_per_request,
            limits=options.limits,
        )
        phases["stock_plan_s"] = time.perf_counter() - mark

        mark = time.perf_counter()
        ledger = Ledger(PushLake(s3, layout.root), batch_id)
        claim = claim_batch(
            ledger, source, content_sha256=content, forced=False, lines=len(lines),
            lines_per_request=options.lines_per_request, run_id=RUN_ID,
            run_is_active=lambda _: False,
        )  # fmt: skip
        assert claim.stored is not None
        write_plan(PushLake(s3, layout.root), plan, dry_run=False)
        planned = claim.stored.batch.plan(
            RUN_ID, lines=len(plan.lines), requests=len(plan.requests),
            lines_per_request=options.lines_per_request, needs_approval=False, guard_reasons=(),
        )  # fmt: skip
        stored = ledger.save(claim.stored, planned)
        phases["claim_write_plan_s"] = time.perf_counter() - mark

        mark = time.perf_counter()
        stored, report = send_batch(client, ledger, stored, plan, run_id=RUN_ID, attempt="bench")
        phases["send_s"] = time.perf_counter() - mark
        api = client.summary()

    mark = time.perf_counter()
    stored_plan = read_plan(PushLake(s3, layout.root), batch_id)
    stored = ClosingBatch(
        PushLake(s3, layout.root), ledger, stored, stored_plan, RUN_ID
    ).finish_done()
    phases["audit_move_s"] = time.perf_counter() - mark
    phases["total_s"] = time.perf_counter() - started
    assert report.refused is None and stored.status == "done"
    per_location = Counter(line.location_id for line in lines)
    outcomes = s3.list_objects_v2(Bucket=BUCKET, Prefix=layout.requests_prefix(batch_id))
    return {
        "expected": {line.pair: line.quantity for line in lines},
        "chunk_outcome_objects": outcomes.get("KeyCount", 0),
        "lines": len(lines),
        "requests_sent": report.requests_sent,
        "chunk_minimum": sum(math.ceil(n / 100) for n in per_location.values()),
        "api": api,
        "phases": {name: round(seconds, 2) for name, seconds in phases.items()},
    }


def main() -> None:
    with (
        harness.emulator(
            "--haravan-token", TOKEN, "--days", "1", "--end", END.isoformat(),
            "--haravan-per-day", "20", "--locations", str(LOCATIONS), "--variants", str(VARIANTS),
            "--bucket-size", str(SIZE), "--leak-rate", str(LEAK),
        ) as emulator,
        harness.s3_server() as s3,
    ):  # fmt: skip
        result = push_file(emulator.url, s3.url)
        journal = _admin(emulator.url, "journal")
        stock = {(r["location_id"], r["variant_id"]): r["qty_onhand"]
                 for r in _admin(emulator.url, "stock")}  # fmt: skip
    counts = journal["counts"]
    haravan_calls = sum(1 for r in journal["requests"] if r["api"] == "haravan")
    phases = result["phases"]
    # From the first API call to the last: the bucket leaks through the plan's S3 writes too.
    api_seconds = phases["stock_plan_s"] + phases["claim_write_plan_s"] + phases["send_s"]
    ideal_s = max(haravan_calls - SIZE, 0) / LEAK
    harness.emit(
        "push_rate_vs_bucket_ideal",
        f"{result['lines']} lines over {LOCATIONS} locations, bucket {SIZE} leaking {LEAK}/s "
        "(Haravan's 80 @ 4/s scaled tenfold); first to last API call, then the whole push",
        calls=haravan_calls,
        seconds_first_to_last_call=round(api_seconds, 2),
        ideal_seconds=round(ideal_s, 2),
        calls_per_s=round(haravan_calls / api_seconds, 1),
        ideal_calls_per_s=round(haravan_calls / ideal_s, 1) if ideal_s else None,
        efficiency=round(ideal_s / api_seconds, 3),
        efficiency_whole_push=round(ideal_s / phases["total_s"], 3),
        throttled_429=counts.get("throttled", 0),
        phases=phases,
        stock_equals_file=all(stock[pair] == qty for pair, qty in result["expected"].items()),
    )
    harness.emit(
        "push_requests_per_location_chunk",
        f"{result['lines']} lines, {LOCATIONS} locations x {VARIANTS} variants, chunks of 100",
        requests_sent=result["requests_sent"],
        minimum_requests=result["chunk_minimum"],
        ratio=round(result["requests_sent"] / result["chunk_minimum"], 3),
        get_calls=haravan_calls - result["requests_sent"],
        ledger_outcomes_per_request=round(
            result["chunk_outcome_objects"] / result["requests_sent"], 3
        ),
        peak_rss_mb=round(harness.peak_rss_mb(), 1),
    )


if __name__ == "__main__":
    main()
