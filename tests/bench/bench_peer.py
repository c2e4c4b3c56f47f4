"""Peer benchmark (issue 6): our Haravan extraction against dlt's `rest_api` source, the most
used Python extraction library, on the same emulator in the same run.

Workload: every adjustment of a 7-day history (20k records, 1-5 lines each) into Parquet,
bucket scaled out of the way so the figure is the clients' own cost. Ours: since_id keyset
paging, typed conversion, one Parquet partition committed to the local S3 server. dlt: the
`page_number` paginator (dlt has no since_id keyset paginator) into its local filesystem
destination as Parquet, with its default normalisation. Each side runs in its own process so
peak RSS is its own.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime

from tests.bench import harness
from tests.bench.bench_extract import END, TOKEN, extract_window

DAYS, PER_DAY = 7, 2_858
EMULATOR_ARGS = (
    "--haravan-token", TOKEN, "--days", str(DAYS), "--end", END.isoformat(),
    "--haravan-per-day", str(PER_DAY), "--max-lines", "5",
    "--bucket-size", "100000", "--leak-rate", "100000",
)  # fmt: skip


def ours(emulator_url: str) -> int:
    with harness.s3_server() as s3:
        return extract_window(
            emulator_url,
            s3.url,
            datetime(2000, 1, 1, tzinfo=UTC),
            datetime(2100, 1, 1, tzinfo=UTC),
            250,
            bucket_size=100000,
            leak_rate=100000.0,
        )


def theirs(emulator_url: str) -> int:
    import dlt
    from dlt.sources.rest_api import rest_api_source

    source = rest_api_source(
        {
            "client": {
                "base_url": emulator_url,
                "auth": {"type": "bearer", "token": TOKEN},
                "paginator": {"type": "page_number", "base_page": 1, "total_path": None},
            },
            "resources": [
                {
                    "name": "adjustments",
                    "endpoint": {
                        "path": "com/inventories/adjustments.json",
                        "params": {"limit": 250},
                        "data_selector": "adjustments",
                    },
                }
            ],
        }
    )
    with tempfile.TemporaryDirectory(prefix="bench-dlt-") as tmp:
        pipeline = dlt.pipeline(
            pipeline_name="bench_peer",
            pipelines_dir=f"{tmp}/pipelines",
            destination=dlt.destinations.filesystem(f"file://{tmp}/lake"),
            dataset_name="haravan",
        )
        info = pipeline.run(source, loader_file_format="parquet")
        rows = pipeline.last_trace.last_normalize_info.row_counts.get("adjustments", 0)
        assert not info.has_failed_jobs
        return int(rows)


def child(side: str) -> None:
    with harness.emulator(*EMULATOR_ARGS) as emulator:
        started = time.perf_counter()
        rows = ours(emulator.url) if side == "ours" else theirs(emulator.url)
        elapsed = time.perf_counter() - started
    print(json.dumps({"rows": rows, "seconds": elapsed, "peak_rss_mb": harness.peak_rss_mb()}))


def main() -> None:
    if sys.argv[1:2] == ["child"]:
        child(sys.argv[2])
        return
    results = {}
    for side in ("ours", "theirs"):
        output = subprocess.run(
            [sys.executable, "-m", "tests.bench.bench_peer", "child", side],
            capture_output=True, text=True, check=True,
        ).stdout  # fmt: skip
        results[side] = json.loads(output.strip().splitlines()[-1])
    ours_r, theirs_r = results["ours"], results["theirs"]
    harness.emit(
        "peer_dlt_rest_api",
        f"all {DAYS * PER_DAY} Haravan adjustments of a {DAYS}-day history into Parquet, "
        "pages of 250, bucket scaled out of the way; ours → local S3 server, dlt → local files",
        ours=ours_r,
        dlt=theirs_r,
        wall_time_ours_over_dlt=round(ours_r["seconds"] / theirs_r["seconds"], 3),
        peak_rss_ours_over_dlt=round(ours_r["peak_rss_mb"] / theirs_r["peak_rss_mb"], 3),
    )


if __name__ == "__main__":
    main()
