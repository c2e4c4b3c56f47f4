"""Facts benchmark (issue 4): raw Parquet on the local S3 server → facts Parquet on S3.

For 1M and 5M lines (half Haravan lines nested 10 per adjustment, half Stocky items joined to
their adjustment; 0.1% repeated line ids; 10% of Stocky items whose adjustment is absent), the
raw partitions are generated with Arrow (not through the API) into one S3 server, then two
engines build the same facts partition from them, each in its own process so that its peak
RSS is its own:

- ours: `build_facts_partition`, exactly what the DAG task runs (download + sha256 check,
  key pass, vectorised Arrow flatten, checks, atomic commit);
- peer: DuckDB, the same flatten in SQL (`UNNEST`, `LEFT JOIN`, `QUALIFY row_number()`),
  with the same download before and the same upload and marker after.

Both outputs are compared row for row (EXCEPT ALL both ways) before any figure is printed.
Figure `facts_lines_per_second`: lines/s of each engine, ours ÷ DuckDB, peak RSS of each.

Usage: python -m tests.bench.bench_facts [lines ...]
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

import boto3

from include.inventory_lake.facts.build import build_facts_partition, raw_partitions
from include.inventory_lake.lake.lake import Lake
from include.inventory_lake.lake.location import LakeRoot, ShopLake
from include.inventory_lake.lake.partition_reader import fetch_partition, read_markers
from include.inventory_lake.schemas import haravan, stocky
from include.inventory_lake.settings import FACTS_LINES_PATH
from tests.bench import harness
from tests.inventory_lake.facts.raw_generator import write_generated_day

SIZES = (1_000_000, 5_000_000)
DAY = date(2026, 1, 10)
BUCKET = "bench-lake"
LAKE = ShopLake(LakeRoot(BUCKET), "default")
PEER_PATH = "bench/facts_duckdb"


def s3_client(url: str) -> Any:
    return boto3.client(
        "s3",
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id="bench",
        aws_secret_access_key="bench",
    )


def generate(s3_url: str, lines: int) -> None:
    s3 = s3_client(s3_url)
    s3.create_bucket(Bucket=BUCKET)
    write_generated_day(s3, LAKE, DAY, lines, run_id="bench")


# --- the two engines, each run in its own process ------------------------------------------


def ours(s3_url: str) -> dict[str, Any]:
    started = time.perf_counter()
    committed, report = build_facts_partition(
        Lake(s3_client(s3_url), LAKE.root), LAKE, DAY, "bench"
    )
    seconds = time.perf_counter() - started
    lines = sum(report.sources[source]["lines"] for source in report.sources)
    return {"seconds": seconds, "raw_lines": lines, "rows": committed.rows}


PEER_SQL = """
COPY (
  WITH haravan_lines AS (
    SELECT a.*, UNNEST(a.line_items) AS li, generate_subscripts(a.line_items, 1) AS pos
    FROM read_parquet($haravan, file_row_number = true) AS a
  ), stocky_adjustments AS (
    SELECT * FROM read_parquet($stocky_adjustments)
    QUALIFY row_number() OVER (PARTITION BY id ORDER BY updated_at DESC) = 1
  ), stocky_items AS (
    SELECT * FROM read_parquet($stocky_items, file_row_number = true)
  )
  SELECT 'default' AS shop, 'haravan' AS source, 'haravan:' || li.id AS line_key, li.id AS line_id,
    id AS adjustment_id, adjust_number AS adjustment_number, location_id,
    NULL::BIGINT AS location_shopify_id, li.product_id, li.product_variant_id AS variant_id,
    NULL::BIGINT AS variant_shopify_id, li.sku, li.barcode, NULL::VARCHAR AS variant_title,
    li.quantity, li.cost_amount, type AS adjustment_type, reason, NULL::VARCHAR AS status,
    NULL::BIGINT AS previous_quantity, NULL::BIGINT AS new_quantity, tran_date AS adjusted_at,
    created_at, coalesce(updated_at, created_at) AS updated_at, note, tags,
    NULL::BOOLEAN AS archived, false AS adjustment_missing
  FROM haravan_lines
  QUALIFY row_number() OVER (
    PARTITION BY li.id
    ORDER BY coalesce(updated_at, created_at) DESC, file_row_number DESC, pos DESC) = 1
  UNION ALL
  SELECT 'default', 'stocky', 'stocky:' || i.id, i.id, i.stock_adjustment_id,
    a.sequential_id::VARCHAR, a.location.id, a.location.shopify_id, NULL::BIGINT,
    i.variant.id, i.variant.shopify_id, i.variant.sku, i.variant.barcode, i.variant.title,
    i.quantity, NULL::DECIMAL(18, 2), NULL::VARCHAR, a.stock_adjustment_reason.reason,
    i.status, i.previous_quantity, i.new_quantity, i.adjusted_at, a.created_at, i.updated_at,
    a.note, NULL::VARCHAR, a.archived, a.id IS NULL
  FROM stocky_items AS i LEFT JOIN stocky_adjustments AS a ON a.id = i.stock_adjustment_id
  QUALIFY row_number() OVER (
    PARTITION BY i.id ORDER BY i.updated_at DESC, i.file_row_number DESC) = 1
) TO '{output}' (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 100000)
"""


def peer(s3_url: str) -> dict[str, Any]:
    import hashlib

    import duckdb

    started = time.perf_counter()
    s3 = s3_client(s3_url)
    inputs = raw_partitions(LAKE, DAY)
    schemas = (haravan.ADJUSTMENTS, stocky.STOCK_ADJUSTMENTS, stocky.STOCK_ADJUSTMENT_ITEMS)
    with tempfile.TemporaryDirectory(prefix="bench-duckdb-") as tmp:
        paths = [
            fetch_partition(Lake(s3, LAKE.root), partition, marker, schema, Path(tmp)).path
            for partition, marker, schema in zip(
                inputs, read_markers(Lake(s3, LAKE.root), list(inputs)), schemas, strict=True
            )
        ]
        output = Path(tmp) / "facts.parquet"
        with duckdb.connect() as db:
            db.execute(
                PEER_SQL.format(output=output),
                dict(
                    zip(
                        ("haravan", "stocky_adjustments", "stocky_items"),
                        map(str, paths),
                        strict=True,
                    )
                ),
            )
            rows = db.execute(f"SELECT count(*) FROM read_parquet('{output}')").fetchone()
        target = LAKE.partition(PEER_PATH, DAY)
        s3.upload_file(str(output), BUCKET, target.data_key)
        with output.open("rb") as handle:
            digest = hashlib.file_digest(handle, "sha256").hexdigest()
        marker = {"rows": rows[0] if rows else 0, "sha256": digest}
        s3.put_object(Bucket=BUCKET, Key=target.marker_key, Body=json.dumps(marker).encode())
    return {"seconds": time.perf_counter() - started, "rows": marker["rows"]}


def child(step: str, s3_url: str, *args: str) -> None:
    """One step in this process: `generate` the raw partitions, run `ours` or `peer`, or
    `compare` their outputs. The parent stays small: on Linux a child's ru_maxrss starts
    at its parent's high-water mark (it is carried across fork and exec)."""
    baseline = harness.peak_rss_mb()
    result: dict[str, Any] = {}
    if step == "generate":
        generate(s3_url, int(args[0]))
    elif step == "compare":
        result = {"identical": outputs_identical(s3_url)}
    else:
        result = {"ours": ours, "peer": peer}[step](s3_url)
    print(json.dumps({**result, "peak_rss_mb": harness.peak_rss_mb(), "baseline": baseline}))


def in_process(step: str, s3_url: str, *args: str) -> dict[str, Any]:
    output = subprocess.run(
        [sys.executable, "-m", "tests.bench.bench_facts", "child", step, s3_url, *args],
        stdout=subprocess.PIPE,
        text=True,
        check=True,
    ).stdout
    result: dict[str, Any] = json.loads(output.strip().splitlines()[-1])
    return result


def outputs_identical(s3_url: str) -> bool:
    """The two facts files hold the same rows (as multisets), column by column."""
    import duckdb

    s3 = s3_client(s3_url)
    with tempfile.TemporaryDirectory(prefix="bench-compare-") as tmp, duckdb.connect() as db:
        files = []
        for dataset in (FACTS_LINES_PATH, PEER_PATH):
            path = Path(tmp) / (dataset.replace("/", "_") + ".parquet")
            s3.download_file(BUCKET, LAKE.partition(dataset, DAY).data_key, str(path))
            files.append(f"read_parquet('{path}')")
        ours_file, peer_file = files
        differences = db.execute(
            f"SELECT (SELECT count(*) FROM (FROM {ours_file} EXCEPT ALL FROM {peer_file})) + "
            f"(SELECT count(*) FROM (FROM {peer_file} EXCEPT ALL FROM {ours_file}))"
        ).fetchone()
    return differences == (0,)


def measure(lines: int) -> None:
    with harness.s3_server() as server:
        in_process("generate", server.url, str(lines))
        ours_result = in_process("ours", server.url)
        peer_result = in_process("peer", server.url)
        identical = in_process("compare", server.url)["identical"]
    if not identical or ours_result["rows"] != peer_result["rows"]:
        raise SystemExit(f"the engines disagree: ours {ours_result}, DuckDB {peer_result}")
    raw_lines = ours_result["raw_lines"]
    ours_rate = raw_lines / ours_result["seconds"]
    peer_rate = raw_lines / peer_result["seconds"]
    harness.emit(
        "facts_lines_per_second",
        f"{raw_lines:,} raw lines (half Haravan, 10 per adjustment; half Stocky items, 10% "
        "without their adjustment; 0.1% repeated ids) from raw Parquet on the local S3 server "
        "to one facts Parquet partition on it; ours = the DAG task's build_facts_partition "
        "(Arrow), peer = DuckDB UNNEST/JOIN/QUALIFY with the same download and upload; "
        "outputs compared row for row",
        lines=raw_lines,
        facts_rows=ours_result["rows"],
        ours_lines_per_s=round(ours_rate),
        duckdb_lines_per_s=round(peer_rate),
        ratio_ours_over_duckdb=round(ours_rate / peer_rate, 2),
        ours_seconds=round(ours_result["seconds"], 2),
        duckdb_seconds=round(peer_result["seconds"], 2),
        ours_peak_rss_mb=round(ours_result["peak_rss_mb"], 1),
        duckdb_peak_rss_mb=round(peer_result["peak_rss_mb"], 1),
        outputs_identical=identical,
    )


def main() -> None:
    if sys.argv[1:2] == ["child"]:
        child(*sys.argv[2:])
        return
    for lines in [int(arg) for arg in sys.argv[1:]] or SIZES:
        measure(lines)


if __name__ == "__main__":
    main()
