"""Iceberg benchmarks (issue 23), on the real moto_server and a PostgreSQL SQL catalog:

- `facts_iceberg_commit`: one facts partition built from raw Parquet (the DAG task's
  `build_facts_partition`) and committed to the table as the task does (its own partition
  file made the day's data file, `commit_partition_file`), ÷ the same build with only
  today's plain Parquet write.
- `iceberg_parallel_commits`: a backfill of 2 shops x 30 days by 8 processes at once, each a
  build + commit, ÷ the same backfill with builds only; commits, conflicts retried, rows lost
  and duplicated (every partition scanned: its rows and distinct line keys).
- `iceberg_metadata_after_365_days`: 365 simulated days, each replacing the day of two shops
  and then running the maintenance (30-day audit window, 1-day safety age, mapped onto the
  real commit times of the simulated days); then the files and bytes under `metadata/`.

Shrink with env vars: ICEBERG_BENCH_LINES (default 1,000,000), ICEBERG_BENCH_BACKFILL_DAYS
(30), ICEBERG_BENCH_BACKFILL_LINES (lines per partition, 20,000), ICEBERG_BENCH_DAYS (365).

Usage: python -m tests.bench.bench_iceberg [facts_iceberg_commit|parallel|metadata ...]
"""

from __future__ import annotations

import logging
import os
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pyarrow.compute as pc

from devtools.devstack.iceberg import catalog_connection, create_catalog_database
from devtools.devstack.postgres import start_postgres, stop_postgres
from devtools.devstack.processes import free_port
from include.inventory_lake.facts.build import build_facts_partition
from include.inventory_lake.iceberg import facts_table
from include.inventory_lake.iceberg.catalog import catalog_properties, load_catalog
from include.inventory_lake.iceberg.group_commit import commit_partition_file
from include.inventory_lake.iceberg.maintenance import MaintenanceSettings, maintain, object_path
from include.inventory_lake.iceberg.replace import replace_partition
from include.inventory_lake.lake.lake import Lake
from include.inventory_lake.lake.location import LakeRoot, ShopLake
from include.inventory_lake.lake.store import LakeStore
from tests.bench import harness
from tests.bench.bench_facts import s3_client
from tests.inventory_lake.facts.raw_generator import write_generated_day
from tests.inventory_lake.iceberg.test_facts_table import lines as facts_lines

BUCKET = "bench-lake"
ROOT = LakeRoot(BUCKET)
SHOPS = ("hanoi", "saigon")
FIRST_DAY = date(2025, 1, 1)
COMMITTERS = 8


def machine_load() -> str:
    """What else the machine was doing as a figure was taken (the ratios depend on it)."""
    return f"{os.cpu_count()}-core machine, 1-minute load average {os.getloadavg()[0]:.1f}"


def env_int(name: str, default: int) -> int:
    return int(os.environ.get(name, "") or default)


@dataclass(frozen=True)
class World:
    s3_url: str
    catalog: dict[str, str]


@contextmanager
def world() -> Iterator[World]:
    """moto_server with the lake's bucket, PostgreSQL with the catalog's database."""
    with harness.s3_server() as s3, tempfile.TemporaryDirectory(prefix="bench-pg-") as tmp:
        postgres, login = start_postgres(
            Path(tmp) / "pg", free_port(), Path(tmp) / "pg.log", durable=False
        )
        try:
            s3_client(s3.url).create_bucket(Bucket=BUCKET)
            connection = catalog_connection(create_catalog_database(login), f"s3://{BUCKET}")
            connection["extra"] |= {
                "aws_conn_id": None,
                "s3.endpoint": s3.url,
                "s3.region": "us-east-1",
                "s3.access-key-id": "bench",
                "s3.secret-access-key": "bench",
            }
            fields = {k: v for k, v in connection.items() if k != "extra"}
            properties = catalog_properties(
                SimpleNamespace(extra_dejson=connection["extra"], **fields)
            )
            yield World(s3.url, properties)
        finally:
            stop_postgres(postgres.pid)


def open_table(world: World) -> Any:
    return facts_table.ensure_table(load_catalog("bench", world.catalog))


def build(world: World, shop: str, day: date, commit: bool) -> dict[str, Any]:
    """One facts task: the build (plain Parquet), then, with `commit`, what the task commits:
    the build's own file made the partition's data file, in a commit shared with the builds
    committing at the same time (`commit_partition_file`)."""
    s3 = s3_client(world.s3_url)
    shop_lake = ShopLake(ROOT, shop)
    counter = ConflictCounter()
    replaced: list[Any] = []

    def commit_file(parquet_file: Path, data_uri: str) -> None:
        pyiceberg_log = logging.getLogger("pyiceberg")
        pyiceberg_log.addHandler(counter)
        try:
            replaced.append(
                commit_partition_file(
                    Lake(s3, ROOT), open_table(world), shop, day, parquet_file, source_uri=data_uri
                )
            )
        finally:
            pyiceberg_log.removeHandler(counter)

    started = time.perf_counter()
    committed, _ = build_facts_partition(
        Lake(s3, ROOT), shop_lake, day, "bench", on_commit=commit_file if commit else None
    )
    seconds = time.perf_counter() - started
    result: dict[str, Any] = {"rows": committed.rows, "attempts": 1, "conflicts": 0}
    if replaced:
        result |= {
            "attempts": replaced[0].attempts,
            "conflicts": counter.count,
            "snapshot_id": replaced[0].snapshot_id,
        }
    result["seconds"] = seconds
    return result


class ConflictCounter(logging.Handler):
    """pyiceberg's retries of a commit that lost the race, as it logs them."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        self.count += "Commit failed due to a concurrent update" in record.getMessage()


# --- facts_iceberg_commit ----------------------------------------------------------------


def facts_iceberg_commit() -> None:
    lines = env_int("ICEBERG_BENCH_LINES", 1_000_000)
    with world() as w:
        write_generated_day(s3_client(w.s3_url), ShopLake(ROOT, "hanoi"), FIRST_DAY, lines)
        open_table(w)
        # Alternated, best of three each: the machine is shared, and a build's own time
        # varies by more than the commit costs.
        runs = {"plain": [], "iceberg": []}  # type: dict[str, list[dict[str, Any]]]
        for _ in range(3):
            runs["plain"].append(build(w, "hanoi", FIRST_DAY, commit=False))
            runs["iceberg"].append(build(w, "hanoi", FIRST_DAY, commit=True))
        table = open_table(w)
        in_table = table.scan().to_arrow().num_rows
    plain = min(r["seconds"] for r in runs["plain"])
    iceberg = min(r["seconds"] for r in runs["iceberg"])
    rows = runs["plain"][0]["rows"]
    if in_table != rows:
        raise SystemExit(f"the table holds {in_table} rows, the build {rows}")
    harness.emit(
        "facts_iceberg_commit",
        f"{lines:,} raw lines → one facts partition ({rows:,} rows): build_facts_partition "
        "(plain Parquet on moto_server) vs the same + its file committed to the Iceberg table "
        "(commit_partition_file; PostgreSQL SQL catalog, files on moto_server); best of 3, "
        f"alternated; {machine_load()}",
        rows=rows,
        plain_seconds=round(plain, 2),
        iceberg_seconds=round(iceberg, 2),
        ratio_iceberg_over_plain=round(iceberg / plain, 3),
        target_ratio=1.2,
    )


# --- iceberg_parallel_commits ------------------------------------------------------------


def backfill(w: World, partitions: list[tuple[str, date]], commit: bool) -> tuple[float, list]:
    started = time.perf_counter()
    with ProcessPoolExecutor(COMMITTERS) as pool:
        futures = [pool.submit(build, w, shop, day, commit) for shop, day in partitions]
        results = [future.result() for future in futures]
    return time.perf_counter() - started, results


def iceberg_parallel_commits() -> None:
    days = env_int("ICEBERG_BENCH_BACKFILL_DAYS", 30)
    per_partition = env_int("ICEBERG_BENCH_BACKFILL_LINES", 20_000)
    partitions = [(shop, FIRST_DAY + timedelta(days=d)) for shop in SHOPS for d in range(days)]
    with world() as w:
        s3 = s3_client(w.s3_url)
        for shop, day in partitions:
            write_generated_day(s3, ShopLake(ROOT, shop), day, per_partition)
        open_table(w)
        plain_wall, _ = backfill(w, partitions, commit=False)
        iceberg_wall, results = backfill(w, partitions, commit=True)
        table = open_table(w)
        scanned = table.scan(selected_fields=("shop", "dt", "line_key")).to_arrow()
    expected = {p: r["rows"] for p, r in zip(partitions, results, strict=True)}
    lost = duplicated = 0
    for (shop, day), rows in expected.items():
        mask = pc.and_(pc.equal(scanned["shop"], shop), pc.equal(scanned["dt"], day))
        found = scanned.filter(mask)
        distinct = pc.count_distinct(found["line_key"]).as_py()
        lost += max(rows - distinct, 0)
        duplicated += found.num_rows - distinct
    if scanned.num_rows != sum(expected.values()):
        duplicated += max(scanned.num_rows - sum(expected.values()), 0)
    harness.emit(
        "iceberg_parallel_commits",
        f"backfill of {len(SHOPS)} shops x {days} days ({per_partition:,} raw lines per "
        f"partition) by {COMMITTERS} processes at once, each a facts build + "
        "commit_partition_file (commits shared), vs the same builds writing plain Parquet "
        f"only; every partition scanned afterwards; {machine_load()}",
        partitions=len(partitions),
        builds=len(results),
        commits=len({r["snapshot_id"] for r in results}),
        conflicts_retried=sum(r["conflicts"] for r in results),
        replaces_redone=sum(r["attempts"] - 1 for r in results),
        rows=sum(expected.values()),
        rows_lost=lost,
        rows_duplicated=duplicated,
        plain_wall_seconds=round(plain_wall, 2),
        iceberg_wall_seconds=round(iceberg_wall, 2),
        ratio_iceberg_over_plain=round(iceberg_wall / plain_wall, 3),
        target_ratio=1.3,
    )


# --- iceberg_metadata_after_365_days -----------------------------------------------------

AUDIT_DAYS = 30


def metadata_after_days() -> None:
    days = env_int("ICEBERG_BENCH_DAYS", 365)
    with world() as w:
        s3 = s3_client(w.s3_url)
        table = open_table(w)
        starts: list[datetime] = []
        maintenance_s = 0.0
        for d in range(days):
            starts.append(datetime.now(UTC))
            day = FIRST_DAY + timedelta(days=d)
            for shop in SHOPS:
                replace_partition(
                    table, shop, day, facts_lines(shop, range(d * 100, d * 100 + 100))
                )
            # The simulated day d is over: the window reaches back to the start of day
            # d - 29, the safety age to the start of day d.
            now = datetime.now(UTC)
            window_start = starts[max(d - AUDIT_DAYS + 1, 0)]
            started = time.perf_counter()
            maintain(table, s3, MaintenanceSettings(now - window_start, now - starts[d]), now)
            maintenance_s += time.perf_counter() - started
            table.refresh()
        bucket, _, prefix = object_path(table.location() + "/metadata/").partition("/")
        objects = list(LakeStore(s3, bucket).list_objects(prefix))
        current = table.current_snapshot()
        manifests = current.manifests(table.io) if current else []
        rows = table.scan().to_arrow().num_rows
        metadata_json = [o for o in objects if o.key.endswith(".metadata.json")]
        manifest_lists = [o for o in objects if o.key.rsplit("/", 1)[-1].startswith("snap-")]
        manifest_files = [o for o in objects if o.key.endswith(".avro") and o not in manifest_lists]
    if rows != days * len(SHOPS) * 100:
        raise SystemExit(f"the table holds {rows} rows, expected {days * len(SHOPS) * 100}")
    harness.emit(
        "iceberg_metadata_after_365_days",
        f"{days} simulated days, each replacing the day of {len(SHOPS)} shops (100 rows each) "
        f"then running the maintenance ({AUDIT_DAYS}-day audit window, 1-day safety age, "
        "mapped onto the simulated days' commit times); then every file under metadata/; "
        f"{machine_load()}",
        days=days,
        commits=days * len(SHOPS),
        rows=rows,
        snapshots_kept=len(table.metadata.snapshots),
        metadata_json_files=len(metadata_json),
        manifest_lists=len(manifest_lists),
        manifests=len(manifest_files),
        manifests_in_current_snapshot=len(manifests),
        metadata_bytes=sum(o.size for o in objects),
        largest_metadata_json_bytes=max((o.size for o in metadata_json), default=0),
        maintenance_seconds_per_day=round(maintenance_s / days, 3),
    )


FIGURES = {
    "facts_iceberg_commit": facts_iceberg_commit,
    "parallel": iceberg_parallel_commits,
    "metadata": metadata_after_days,
}


def main() -> None:
    wanted = sys.argv[1:] or list(FIGURES)
    for name in wanted:
        FIGURES[name]()


if __name__ == "__main__":
    main()
