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
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any

import boto3
import pyarrow as pa
import pyarrow.compute as pc

from include.inventory_lake.facts.build import build_facts_partition, raw_partitions
from include.inventory_lake.facts.dedupe import row_numbers
from include.inventory_lake.facts.raw_partition import fetch_partition, read_markers
from include.inventory_lake.lake.location import LakeRoot, Partition
from include.inventory_lake.lake.partition_writer import PartitionWriter
from include.inventory_lake.schemas import haravan, stocky
from include.inventory_lake.schemas.types import MONEY, TIMESTAMP
from include.inventory_lake.settings import FACTS_LINES_PATH
from tests.bench import harness

SIZES = (1_000_000, 5_000_000)
DAY = date(2026, 1, 10)
BUCKET = "bench-lake"
PEER_PATH = "bench/facts_duckdb"
LINES_PER_ADJUSTMENT = 10
CHUNK_ADJUSTMENTS = 50_000
DAY_START_US = 1_768_003_200_000_000  # 2026-01-10T00:00:00Z
NOTES = ["hàng hư hỏng do nhà sản xuất", "kiểm kê cuối tháng", "Điều chỉnh tồn kho", None]
REASONS = ["damaged", "shrinkage", "returned", "productionofgoods"]


def s3_client(url: str) -> Any:
    return boto3.client(
        "s3",
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id="bench",
        aws_secret_access_key="bench",
    )


# --- synthetic raw partitions, built column at a time -------------------------------------


def _mod(values: pa.Array, divisor: int) -> pa.Array:
    return pc.modulo(values, divisor)


def _text(prefix: str, values: pa.Array) -> pa.Array:
    return pc.binary_join_element_wise(prefix, pc.cast(values, pa.string()), "")


def _pick(options: Sequence[str | None], values: pa.Array) -> pa.Array:
    return pa.array(options, pa.string()).take(_mod(values, len(options)))


def _timestamps(micros: pa.Array) -> pa.Array:
    return pc.cast(pc.add(micros, DAY_START_US), TIMESTAMP)


def _repeat_every_thousandth(ids: pa.Array, positions: pa.Array) -> pa.Array:
    """Every 1000th id repeats the previous one: duplicated line keys to deduplicate."""
    return pc.subtract(ids, pc.cast(pc.equal(_mod(positions, 1000), 999), pa.int64()))


def haravan_chunk(first: int, count: int) -> pa.RecordBatch:
    adjustments = pc.add(row_numbers(count), first)
    lines = pc.add(row_numbers(count * LINES_PER_ADJUSTMENT), first * LINES_PER_ADJUSTMENT)
    variants = _mod(lines, 5_000)
    quantity = pc.subtract(_mod(lines, 61), 30)
    cost = pc.cast(pc.cast(pc.multiply(quantity, 1_234_500), pa.int32()), MONEY)
    items = pa.StructArray.from_arrays(
        [
            _repeat_every_thousandth(pc.add(lines, 1_100_000_000), lines),
            pc.add(pc.divide(variants, 3), 1_031_000_000),
            pc.add(variants, 1_068_000_000),
            quantity,
            cost,
            pc.if_else(pc.equal(_mod(lines, 7), 0), None, _text("SKU-", variants)),
            _text("893", pc.add(variants, 1_000_000)),
        ],
        fields=list(haravan.LINE_ITEM),
    )
    offsets = pc.cast(pc.multiply(row_numbers(count + 1), LINES_PER_ADJUSTMENT), pa.int32())
    created = _timestamps(pc.multiply(_mod(adjustments, 86_000), 1_000_000))
    columns = {
        "id": pc.add(adjustments, 1_200_000_000),
        "created_at": created,
        "updated_at": _timestamps(pc.multiply(_mod(adjustments, 86_000), 1_000_500)),
        "adjust_number": _text("IA", pc.add(adjustments, 100_000)),
        "tran_date": created,
        "location_id": pc.add(_mod(adjustments, 20), 963_400),
        "type": _pick(["adjust", "set", None], adjustments),
        "total_quantity": pa.nulls(count, pa.int64()),
        "reason": _pick(REASONS, adjustments),
        "note": _pick(NOTES, adjustments),
        "total_cost": pa.nulls(count, MONEY),
        "tags": _pick(["Hư hỏng", None, "kiểm kê"], adjustments),
        "line_items": pa.ListArray.from_arrays(offsets, items),
        "_extra_json": pa.nulls(count, pa.string()),
    }
    return pa.RecordBatch.from_pydict(columns, schema=haravan.ADJUSTMENTS)


def stocky_adjustments(count: int) -> pa.RecordBatch:
    """Every 10th adjustment is left out: its items land in another day's partition."""
    adjustments = pc.filter(row_numbers(count), pc.not_equal(_mod(row_numbers(count), 10), 9))
    rows = len(adjustments)
    at = _timestamps(pc.multiply(_mod(adjustments, 86_000), 1_000_000))
    columns = {
        "id": pc.add(adjustments, 101),
        "sequential_id": pc.add(adjustments, 1),
        "adjusted_at": at,
        "created_at": at,
        "updated_at": at,
        "archived": pc.equal(_mod(adjustments, 20), 0),
        "note": _pick(NOTES, adjustments),
        "stock_adjustment_reason": pa.StructArray.from_arrays(
            [_mod(adjustments, 5), _pick(["Hư hỏng", "Stolen", "Damaged"], adjustments)],
            names=["id", "reason"],
        ),
        "location": pa.StructArray.from_arrays(
            [_mod(adjustments, 8), pc.add(_mod(adjustments, 8), 6_512_347_900_000)],
            names=["id", "shopify_id"],
        ),
        "_extra_json": pa.nulls(rows, pa.string()),
    }
    return pa.RecordBatch.from_pydict(columns, schema=stocky.STOCK_ADJUSTMENTS)


def stocky_items(first: int, count: int) -> pa.RecordBatch:
    items = pc.add(row_numbers(count), first)
    variants = _mod(items, 4_000)
    quantity = pc.subtract(_mod(items, 41), 20)
    previous = _mod(items, 300)
    updated = pc.multiply(_mod(pc.divide(items, LINES_PER_ADJUSTMENT), 86_000), 1_000_000)
    columns = {
        "id": _repeat_every_thousandth(pc.add(items, 1_001), items),
        "quantity": quantity,
        "updated_at": _timestamps(pc.add(updated, _mod(items, 1000))),
        "status": _pick(["adjusted", "adjusted", "not adjusted"], items),
        "previous_quantity": previous,
        "new_quantity": pc.add(previous, quantity),
        "stock_adjustment_id": pc.add(pc.divide(items, LINES_PER_ADJUSTMENT), 101),
        "adjusted_at": _timestamps(updated),
        "variant": pa.StructArray.from_arrays(
            [
                variants,
                pc.add(variants, 35_671_800_000_000),
                _pick(["Default Title", "Áo thun cổ tròn / Đỏ", "Size M"], variants),
                _text("SKU-", variants),
                pc.if_else(pc.equal(_mod(items, 5), 0), None, _text("893", variants)),
            ],
            fields=list(stocky.VARIANT),
        ),
        "_extra_json": pa.nulls(count, pa.string()),
    }
    return pa.RecordBatch.from_pydict(columns, schema=stocky.STOCK_ADJUSTMENT_ITEMS)


def generate(s3_url: str, lines: int) -> None:
    s3 = s3_client(s3_url)
    s3.create_bucket(Bucket=BUCKET)
    haravan_raw, stocky_adjustments_raw, stocky_items_raw = raw_partitions(LakeRoot(BUCKET), DAY)
    adjustments = lines // 2 // LINES_PER_ADJUSTMENT
    with PartitionWriter(s3, haravan_raw, haravan.ADJUSTMENTS, "bench") as writer:
        for first in range(0, adjustments, CHUNK_ADJUSTMENTS):
            writer.write(haravan_chunk(first, min(CHUNK_ADJUSTMENTS, adjustments - first)))
        writer.commit()
    items = lines - adjustments * LINES_PER_ADJUSTMENT
    with PartitionWriter(s3, stocky_adjustments_raw, stocky.STOCK_ADJUSTMENTS, "bench") as writer:
        writer.write(stocky_adjustments(items // LINES_PER_ADJUSTMENT + 1))
        writer.commit()
    chunk = CHUNK_ADJUSTMENTS * LINES_PER_ADJUSTMENT
    with PartitionWriter(s3, stocky_items_raw, stocky.STOCK_ADJUSTMENT_ITEMS, "bench") as writer:
        for first in range(0, items, chunk):
            writer.write(stocky_items(first, min(chunk, items - first)))
        writer.commit()


# --- the two engines, each run in its own process ------------------------------------------


def ours(s3_url: str) -> dict[str, Any]:
    started = time.perf_counter()
    committed, report = build_facts_partition(s3_client(s3_url), LakeRoot(BUCKET), DAY, "bench")
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
  SELECT 'haravan' AS source, 'haravan:' || li.id AS line_key, li.id AS line_id,
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
  SELECT 'stocky', 'stocky:' || i.id, i.id, i.stock_adjustment_id,
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
    s3, root = s3_client(s3_url), LakeRoot(BUCKET)
    inputs = raw_partitions(root, DAY)
    schemas = (haravan.ADJUSTMENTS, stocky.STOCK_ADJUSTMENTS, stocky.STOCK_ADJUSTMENT_ITEMS)
    with tempfile.TemporaryDirectory(prefix="bench-duckdb-") as tmp:
        paths = [
            fetch_partition(s3, partition, marker, schema, Path(tmp)).path
            for partition, marker, schema in zip(
                inputs, read_markers(s3, list(inputs)), schemas, strict=True
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
        target = Partition(root, PEER_PATH, DAY)
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
            s3.download_file(BUCKET, Partition(LakeRoot(BUCKET), dataset, DAY).data_key, str(path))
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
