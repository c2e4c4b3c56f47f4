"""Extraction benchmarks (issue 3): the same path the Haravan extract task runs (client →
typed conversion → Parquet → atomic partition on the S3 server), minus Airflow's glue.

Figures:
- extract_rate_vs_bucket_ideal: calls/s achieved ÷ the leaky bucket's ideal
  (N calls need at least (N - size) / leak seconds), with 429s counted.
- extract_peak_rss: peak RSS extracting one day of 20k and of 200k adjustments, and the ratio.
- backfill_requests_per_day: requests to extract one old day against the size of the history,
  with and without the previous day's marker as a hint.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from datetime import UTC, date, datetime, timedelta
from typing import Any

import boto3

from include.inventory_lake.extract.stream import stream_pages
from include.inventory_lake.lake.lake import Lake
from include.inventory_lake.lake.location import LakeRoot, Partition
from include.inventory_lake.lake.partition_writer import PartitionWriter
from include.inventory_lake.schemas.haravan import ADJUSTMENTS
from include.inventory_lake.settings import HARAVAN_ADJUSTMENTS_PATH
from include.inventory_lake.sources.haravan import HaravanClient
from tests.bench import harness

TOKEN = "bench-token"
END = datetime(2026, 1, 15, tzinfo=UTC)
BUCKET = "bench-lake"


def _journal(url: str) -> dict[str, Any]:
    import requests

    response = requests.get(f"{url}/_admin/journal", timeout=30)
    response.raise_for_status()
    result: dict[str, Any] = response.json()
    return result


def extract_day(emulator_url: str, s3_url: str, day: date, page_size: int, **client: Any) -> int:
    start = datetime(day.year, day.month, day.day, tzinfo=UTC)
    return extract_window(
        emulator_url, s3_url, start, start + timedelta(days=1), page_size, **client
    )


def extract_window(
    emulator_url: str, s3_url: str, start: datetime, end: datetime, page_size: int, **client: Any
) -> int:
    """Adjustments created in [start, end) into one partition, as the extract task does."""
    s3 = boto3.client(
        "s3",
        endpoint_url=s3_url,
        region_name="us-east-1",
        aws_access_key_id="bench",
        aws_secret_access_key="bench",
    )
    existing = {b["Name"] for b in s3.list_buckets().get("Buckets", [])}
    if BUCKET not in existing:
        s3.create_bucket(Bucket=BUCKET)
    partition = Partition(LakeRoot(BUCKET), HARAVAN_ADJUSTMENTS_PATH, "default", start.date())
    with (
        HaravanClient(emulator_url, TOKEN, page_size=page_size, **client) as haravan,
        PartitionWriter(Lake(s3, partition.root), partition, ADJUSTMENTS, "bench") as writer,
    ):
        pages = haravan.iter_adjustments_created_between(start, end)
        stats = stream_pages(pages, writer, ADJUSTMENTS, "adjustments")
        writer.commit()
    return stats.rows


def rate_vs_ideal() -> None:
    size, leak, page_size, per_day = 80, 100.0, 10, 30_000
    with (
        harness.emulator(
            "--haravan-token", TOKEN, "--days", "1", "--end", END.isoformat(),
            "--haravan-per-day", str(per_day), "--max-lines", "3",
            "--bucket-size", str(size), "--leak-rate", str(leak),
        ) as emulator,
        harness.s3_server() as s3,
    ):  # fmt: skip
        started = time.perf_counter()
        rows = extract_day(emulator.url, s3.url, (END - timedelta(days=1)).date(), page_size,
                           bucket_size=size, leak_rate=leak)  # fmt: skip
        elapsed = time.perf_counter() - started
        counts = _journal(emulator.url)["counts"]
    calls = counts["total"]
    ideal_s = max(calls - size, 0) / leak
    harness.emit(
        "extract_rate_vs_bucket_ideal",
        f"one day of {per_day} Haravan adjustments, pages of {page_size}, "
        f"bucket {size} leaking {leak}/s (scaled from 80 @ 4/s)",
        calls=calls,
        rows=rows,
        seconds=round(elapsed, 2),
        ideal_seconds=round(ideal_s, 2),
        calls_per_s=round(calls / elapsed, 1),
        ideal_calls_per_s=round(calls / ideal_s, 1) if ideal_s else None,
        efficiency=round(ideal_s / elapsed, 3),
        throttled_429=counts.get("throttled", 0),
    )


def rss_child(per_day: int) -> None:
    """Runs in its own process so that ru_maxrss is this extraction's alone."""
    with (
        harness.emulator(
            "--haravan-token", TOKEN, "--days", "1", "--end", END.isoformat(),
            "--haravan-per-day", str(per_day), "--max-lines", "5",
            "--bucket-size", "100000", "--leak-rate", "100000",
        ) as emulator,
        harness.s3_server() as s3,
    ):  # fmt: skip
        baseline = harness.peak_rss_mb()
        started = time.perf_counter()
        rows = extract_day(emulator.url, s3.url, (END - timedelta(days=1)).date(), 250,
                           bucket_size=100000, leak_rate=100000.0)  # fmt: skip
        elapsed = time.perf_counter() - started
    print(json.dumps({"rows": rows, "peak_rss_mb": harness.peak_rss_mb(),
                      "baseline_rss_mb": baseline, "seconds": elapsed}))  # fmt: skip


def peak_rss() -> None:
    results = {}
    for per_day in (20_000, 200_000):
        output = subprocess.run(
            [sys.executable, "-m", "tests.bench.bench_extract", "rss-child", str(per_day)],
            capture_output=True, text=True, check=True,
        ).stdout  # fmt: skip
        results[per_day] = json.loads(output.strip().splitlines()[-1])
    small, large = results[20_000], results[200_000]
    harness.emit(
        "extract_peak_rss",
        "one day of 20k vs 200k Haravan adjustments (1-5 lines each), pages of 250, "
        "row groups of 100k, into the local S3 server",
        rss_20k_mb=round(small["peak_rss_mb"], 1),
        rss_200k_mb=round(large["peak_rss_mb"], 1),
        ratio_200k_over_20k=round(large["peak_rss_mb"] / small["peak_rss_mb"], 2),
        rows_per_s_200k=round(large["rows"] / large["seconds"]),
    )


def backfill_requests() -> None:
    rows = []
    for days in (30, 365, 1825):
        with harness.emulator(
            "--haravan-token", TOKEN, "--days", str(days), "--end", END.isoformat(),
            "--haravan-per-day", "40", "--bucket-size", "100000", "--leak-rate", "100000",
        ) as emulator:  # fmt: skip
            day = (END - timedelta(days=days // 2)).date()
            start = datetime(day.year, day.month, day.day, tzinfo=UTC)
            for hinted in (False, True):
                with HaravanClient(emulator.url, TOKEN, bucket_size=100000,
                                   leak_rate=100000.0) as haravan:  # fmt: skip
                    hint = None
                    if hinted:
                        previous = start - timedelta(days=1)
                        hint = max(r["id"] for page in haravan.iter_adjustments_created_between(
                            previous, start) for r in page)  # fmt: skip
                    before = _journal(emulator.url)["counts"]["total"]
                    found = sum(len(page) for page in haravan.iter_adjustments_created_between(
                        start, start + timedelta(days=1), hint_id=hint))  # fmt: skip
                    requests_used = _journal(emulator.url)["counts"]["total"] - before
                rows.append({"history_days": days, "history_adjustments": days * 40,
                             "hint_from_previous_marker": hinted, "requests": requests_used,
                             "records": found})  # fmt: skip
    harness.emit(
        "backfill_requests_per_day",
        "extract one day from the middle of the history, 40 adjustments/day, pages of 250",
        runs=rows,
    )


def main() -> None:
    if sys.argv[1:2] == ["rss-child"]:
        rss_child(int(sys.argv[2]))
        return
    rate_vs_ideal()
    peak_rss()
    backfill_requests()


if __name__ == "__main__":
    main()
