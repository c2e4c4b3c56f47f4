"""The one-command migration of a single-shop (1.x) lake to the per-shop layout (2.0), run as
an operator runs it (`python -m include.inventory_lake.migrations.shops_v2`) against the S3
server: every partition lands under `shop=<id>/` with its marker, raw bytes unchanged, facts
rewritten with `shop`; a second run, a run after a kill at any point, a dry run and a conflict
all leave the lake as they should."""

from __future__ import annotations

import hashlib
import io
import json
import os
import subprocess
import sys
from collections.abc import Iterator, Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from include.inventory_lake.lake.lake import Lake
from include.inventory_lake.lake.location import DATA_FILE, LakeRoot, Partition
from include.inventory_lake.lake.partition_reader import fetch_partition
from include.inventory_lake.lake.store import LakeStore
from include.inventory_lake.migrations import shops_v2
from include.inventory_lake.schemas import facts, haravan, stocky
from include.inventory_lake.settings import (
    FACTS_LINES_PATH,
    HARAVAN_ADJUSTMENTS_PATH,
    SET_ADJUSTMENTS_AUDIT_PATH,
    SET_ADJUSTMENTS_STAGING_PATH,
    STOCKY_ADJUSTMENTS_PATH,
    STOCKY_ITEMS_PATH,
)
from tests.inventory_lake.facts.raw_builders import (
    at,
    batch,
    haravan_adjustment,
    haravan_line,
    stocky_adjustment,
    stocky_item,
)
from tests.servers import S3Server

ROOT_DIR = Path(__file__).resolve().parents[3]
PREFIX = "lake"
DAYS = [date(2026, 1, 10), date(2026, 1, 11), date(2026, 1, 12)]
SHOP = "hanoi"
RAW = (HARAVAN_ADJUSTMENTS_PATH, STOCKY_ADJUSTMENTS_PATH, STOCKY_ITEMS_PATH)
INCOMPLETE = (STOCKY_ADJUSTMENTS_PATH, date(2026, 1, 13))  # a v1 write that never completed
UNTOUCHED = [
    f"{PREFIX}/{SET_ADJUSTMENTS_STAGING_PATH}/approved/adjust.csv",
    f"{PREFIX}/{SET_ADJUSTMENTS_AUDIT_PATH}/2026/01/10/batch.json",
]
V1_INDEX = f"{PREFIX}/index/stocky_adjustments/current.parquet"


def parquet_bytes(table: pa.Table) -> bytes:
    sink = io.BytesIO()
    pq.write_table(table, sink, compression="zstd")
    return sink.getvalue()


def v1_key(dataset: str, day: date, name: str = "") -> str:
    return f"{PREFIX}/{dataset}/dt={day.isoformat()}/{name}"


def raw_table(dataset: str, day: date) -> pa.Table:
    if dataset == HARAVAN_ADJUSTMENTS_PATH:
        lines = [haravan_line(day.day * 10 + n, -n, f"-{n}000.00") for n in (1, 2)]
        rows = [haravan_adjustment(day.day, at(day, 8), lines)]
        return pa.Table.from_batches([batch(rows, haravan.ADJUSTMENTS)])
    if dataset == STOCKY_ADJUSTMENTS_PATH:
        return pa.Table.from_batches(
            [batch([stocky_adjustment(100 + day.day, at(day, 9))], stocky.STOCK_ADJUSTMENTS)]
        )
    items = [stocky_item(1000 + day.day * 10 + n, 100 + day.day, n, at(day, 9)) for n in (1, 2)]
    return pa.Table.from_batches([batch(items, stocky.STOCK_ADJUSTMENT_ITEMS)])


def v1_facts(day: date, rows: int) -> pa.Table:
    """Facts as contract 1.0 wrote them: the columns without `shop`, contract_version 1.0."""
    lines = [
        {
            "source": "haravan",
            "line_key": f"haravan:{day.day * 100 + n}",
            "line_id": day.day * 100 + n,
            "quantity": -n,
            "cost_amount": None,
            "note": "hàng hư hỏng",
            "updated_at": datetime(day.year, day.month, day.day, 8, n, tzinfo=UTC),
            "adjustment_missing": False,
        }
        for n in range(rows)
    ]
    return pa.Table.from_pylist(lines, schema=shops_v2.V1_LINES)


def put_v1_partition(
    s3: S3Server, dataset: str, day: date, table: pa.Table, details: dict[str, Any]
) -> dict[str, Any]:
    body = parquet_bytes(table)
    marker = {
        "dataset": dataset,
        "dt": day.isoformat(),
        "rows": table.num_rows,
        "file": "part-00000.parquet",
        "bytes": len(body),
        "sha256": hashlib.sha256(body).hexdigest(),
        "run_id": f"scheduled__{day}",
        "committed_at": f"{day + timedelta(days=1)}T00:04:15+00:00",
        **details,
    }
    client = s3.client()
    client.put_object(Bucket=s3.bucket, Key=v1_key(dataset, day, "part-00000.parquet"), Body=body)
    client.put_object(
        Bucket=s3.bucket, Key=v1_key(dataset, day, "_SUCCESS"), Body=json.dumps(marker)
    )
    return marker


def raw_details(s3: S3Server, dataset: str, day: date, marker: dict[str, Any]) -> dict[str, Any]:
    uri = f"s3://{s3.bucket}/{v1_key(dataset, day)}"
    return {"uri": uri, "rows": marker["rows"], "sha256": marker["sha256"]}


def build_v1_lake(s3: S3Server) -> dict[str, bytes]:
    """Three days of each dataset with their markers, the index, an unfinished partition and
    the push's folders; returns the lake, key by key."""
    client = s3.client()
    for day in DAYS:
        raw = {
            dataset: put_v1_partition(s3, dataset, day, raw_table(dataset, day), {"api": {}})
            for dataset in RAW
        }
        sources = {
            "haravan": {
                "raw": [
                    raw_details(s3, HARAVAN_ADJUSTMENTS_PATH, day, raw[HARAVAN_ADJUSTMENTS_PATH])
                ]
            },
            "stocky": {
                "raw": [
                    raw_details(s3, STOCKY_ITEMS_PATH, day, raw[STOCKY_ITEMS_PATH]),
                    raw_details(s3, STOCKY_ADJUSTMENTS_PATH, day, raw[STOCKY_ADJUSTMENTS_PATH]),
                ],
                "adjustment_index": {"uri": f"s3://{s3.bucket}/{V1_INDEX}", "known": 3},
            },
        }
        rows = 0 if day == DAYS[1] else 3  # an empty day has a zero-row file and a marker
        put_v1_partition(
            s3,
            FACTS_LINES_PATH,
            day,
            v1_facts(day, rows),
            {"sources": sources, "checks_passed": []},
        )
    dataset, day = INCOMPLETE
    client.put_object(
        Bucket=s3.bucket,
        Key=v1_key(dataset, day, "part-00000.parquet"),
        Body=parquet_bytes(raw_table(dataset, day)),
    )
    client.put_object(Bucket=s3.bucket, Key=V1_INDEX, Body=parquet_bytes(pa.table({"id": [1, 2]})))
    for key in UNTOUCHED:
        client.put_object(Bucket=s3.bucket, Key=key, Body=b"left where it is")
    return snapshot(s3)


def snapshot(s3: S3Server) -> dict[str, bytes]:
    client = s3.client()
    return {
        key: client.get_object(Bucket=s3.bucket, Key=key)["Body"].read()
        for key in s3.keys(f"{PREFIX}/")
    }


def v2_key(dataset: str, day: date, name: str, shop: str = SHOP) -> str:
    return f"{PREFIX}/{dataset}/shop={shop}/dt={day.isoformat()}/{name}"


def relocated(value: Any, bucket: str, shop: str) -> Any:
    """A v1 marker's value with its URIs as they must read after the migration."""
    if isinstance(value, str):
        if value == f"s3://{bucket}/{V1_INDEX}":
            return f"s3://{bucket}/{PREFIX}/index/stocky_adjustments/shop={shop}/current.parquet"
        for dataset in (*RAW, FACTS_LINES_PATH):
            old = f"s3://{bucket}/{PREFIX}/{dataset}/dt="
            if value.startswith(old):
                return value.replace("/dt=", f"/shop={shop}/dt=", 1)
        return value
    if isinstance(value, list):
        return [relocated(item, bucket, shop) for item in value]
    if isinstance(value, dict):
        return {k: relocated(v, bucket, shop) for k, v in value.items()}
    return value


def assert_migrated(
    s3: S3Server,
    before: dict[str, bytes],
    tmp_path: Path,
    shop: str = SHOP,
    foreign: Sequence[str] = (),
) -> None:
    """Every 1.x partition and the index moved to `shop`, everything else (and the `foreign`
    keys) as it was."""
    after = snapshot(s3)
    for key in foreign:
        assert after.pop(key) == before[key], key
    root = LakeRoot(s3.bucket, PREFIX)
    v1_left = [k for k in after if ("/dt=" in k and "/shop=" not in k) or k == V1_INDEX]
    assert v1_left == []
    for key in UNTOUCHED:
        assert after[key] == before[key]
    index = f"{PREFIX}/index/stocky_adjustments/shop={shop}/current.parquet"
    assert after[index] == before[V1_INDEX]
    dataset, day = INCOMPLETE
    assert (
        after[v2_key(dataset, day, "part-00000.parquet", shop)]
        == before[v1_key(dataset, day, "part-00000.parquet")]
    )
    assert v2_key(dataset, day, "_SUCCESS", shop) not in after, "still incomplete"
    expected_keys = {*UNTOUCHED, index, v2_key(dataset, day, "part-00000.parquet", shop)}
    for dataset in (*RAW, FACTS_LINES_PATH):
        for day in DAYS:
            data, marker_key = (
                v2_key(dataset, day, "part-00000.parquet", shop),
                v2_key(dataset, day, "_SUCCESS", shop),
            )
            expected_keys |= {data, marker_key}
            old_marker = json.loads(before[v1_key(dataset, day, "_SUCCESS")])
            marker = json.loads(after[marker_key])
            origin = marker.pop("migrated_from")
            assert origin["uri"] == f"s3://{s3.bucket}/{v1_key(dataset, day)}"
            assert origin["sha256"] == old_marker["sha256"]
            if dataset != FACTS_LINES_PATH:
                assert after[data] == before[v1_key(dataset, day, "part-00000.parquet")]
                assert marker == relocated(old_marker, s3.bucket, shop)
                continue
            assert origin["contract_version"] == "1.0"
            new_file = {
                "bytes": len(after[data]),
                "sha256": hashlib.sha256(after[data]).hexdigest(),
            }
            assert marker == {**relocated(old_marker, s3.bucket, shop), **new_file}
            assert all(
                f"/shop={shop}/" in raw["uri"]
                for s in marker["sources"].values()
                for raw in s["raw"]
            )
            fetched = fetch_partition(
                Lake(s3.client(), root),
                Partition(root, dataset, shop, day),
                marker,
                facts.LINES,
                tmp_path,
            )
            table = pq.read_table(fetched.path)
            assert table.schema.equals(facts.LINES, check_metadata=True)
            assert table.schema.metadata[b"contract_version"] == facts.CONTRACT_VERSION.encode()
            assert table.column("shop").to_pylist() == [shop] * table.num_rows
            old = pq.read_table(io.BytesIO(before[v1_key(dataset, day, "part-00000.parquet")]))
            assert table.drop_columns(["shop"]).to_pylist() == old.to_pylist()
            assert table.num_rows == old_marker["rows"]
    assert set(after) == expected_keys


def run_cli(s3: S3Server, *args: str, shop: str | None = SHOP) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT_DIR),
        "AIRFLOW_CONN_AWS_DEFAULT": json.dumps(
            {
                "conn_type": "aws",
                "login": s3.access_key,
                "password": s3.secret_key,
                "extra": {"endpoint_url": s3.url, "region_name": s3.region},
            }
        ),
        "AIRFLOW_VAR_INVENTORY_LAKE_URI": f"s3://{s3.bucket}/{PREFIX}",
    }
    command = [sys.executable, "-m", "include.inventory_lake.migrations.shops_v2", *args]
    if shop is not None:
        command += ["--shop", shop]
    return subprocess.run(
        command, env=env, cwd=ROOT_DIR, capture_output=True, text=True, timeout=120, check=False
    )


@pytest.fixture()
def lake(s3_server: S3Server) -> Iterator[tuple[S3Server, dict[str, bytes]]]:
    s3_server.empty_bucket()
    yield s3_server, build_v1_lake(s3_server)
    s3_server.empty_bucket()


def test_one_command_moves_every_partition_and_a_second_run_changes_nothing(
    lake: tuple[S3Server, dict[str, bytes]], tmp_path: Path
) -> None:
    s3, before = lake
    first = run_cli(s3)
    assert first.returncode == 0, first.stderr
    assert_migrated(s3, before, tmp_path)
    summary = first.stdout
    assert f"{FACTS_LINES_PATH}: moved 3 partition(s), 6 rows" in summary
    assert f"{HARAVAN_ADJUSTMENTS_PATH}: moved 3 partition(s), 3 rows" in summary
    assert f"{STOCKY_ITEMS_PATH}: moved 3 partition(s), 6 rows" in summary
    assert "1 incomplete" in summary and "index/stocky_adjustments: moved" in summary

    migrated = snapshot(s3)
    second = run_cli(s3)
    assert second.returncode == 0, second.stderr
    assert "nothing to migrate" in second.stdout
    assert snapshot(s3) == migrated


def test_the_default_shop_is_default(
    lake: tuple[S3Server, dict[str, bytes]], tmp_path: Path
) -> None:
    s3, before = lake
    result = run_cli(s3, shop=None)
    assert result.returncode == 0, result.stderr
    assert_migrated(s3, before, tmp_path, shop="default")


def test_a_dry_run_prints_the_plan_and_changes_nothing(
    lake: tuple[S3Server, dict[str, bytes]],
) -> None:
    s3, before = lake
    result = run_cli(s3, "--dry-run")
    assert result.returncode == 0, result.stderr
    assert snapshot(s3) == before
    out = result.stdout
    for day in DAYS:
        uri = f"s3://{s3.bucket}/{v1_key(FACTS_LINES_PATH, day)}"
        assert f"move: {uri} -> s3://{s3.bucket}/{v2_key(FACTS_LINES_PATH, day, '')}" in out
    assert "summary (dry run)" in out and f"{FACTS_LINES_PATH}: would move 3 partition(s)" in out


def test_a_different_partition_at_the_destination_is_refused_and_nothing_changes(
    lake: tuple[S3Server, dict[str, bytes]],
) -> None:
    s3, _ = lake
    day = DAYS[1]
    other = v1_facts(day, 5)
    client = s3.client()
    body = parquet_bytes(other)
    client.put_object(
        Bucket=s3.bucket, Key=v2_key(FACTS_LINES_PATH, day, "part-00000.parquet"), Body=body
    )
    marker = {"rows": 5, "sha256": hashlib.sha256(body).hexdigest(), "committed_at": "now"}
    client.put_object(
        Bucket=s3.bucket, Key=v2_key(FACTS_LINES_PATH, day, "_SUCCESS"), Body=json.dumps(marker)
    )
    before = snapshot(s3)
    result = run_cli(s3)
    assert result.returncode == 2
    assert f"{FACTS_LINES_PATH} {day}" in result.stderr and "nothing was changed" in result.stderr
    assert snapshot(s3) == before


def test_a_half_moved_destination_without_marker_is_overwritten(
    lake: tuple[S3Server, dict[str, bytes]], tmp_path: Path
) -> None:
    s3, before = lake
    client = s3.client()
    day = DAYS[0]
    for dataset in (HARAVAN_ADJUSTMENTS_PATH, FACTS_LINES_PATH):
        client.put_object(
            Bucket=s3.bucket, Key=v2_key(dataset, day, "part-00000.parquet"), Body=b"half"
        )
    result = run_cli(s3)
    assert result.returncode == 0, result.stderr
    assert_migrated(s3, before, tmp_path)


class Killed(BaseException):
    """The process dies here (not an Exception: nothing may catch it)."""


@pytest.mark.parametrize(
    ("method", "calls"),
    [
        ("copy", 2),  # inside a raw partition: destination without marker
        ("upload_file", 2),  # a facts partition rewritten, not uploaded
        ("put_json", 4),  # data at the destination, its marker not yet written
        ("delete", 1),  # both partitions complete: the source marker not yet deleted
        ("delete", 2),  # the source marker deleted, its data not
        ("delete", 9),  # a few partitions later
        ("put_bytes", 1),  # every partition moved, the index not
    ],
)
def test_a_run_killed_at_any_point_is_completed_by_the_next(
    lake: tuple[S3Server, dict[str, bytes]],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    method: str,
    calls: int,
) -> None:
    s3, before = lake
    original = getattr(LakeStore, method)
    seen = {"calls": 0}

    def dies_on_call(self: LakeStore, *args: Any, **kwargs: Any) -> Any:
        seen["calls"] += 1
        if seen["calls"] == calls:
            raise Killed(method)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(LakeStore, method, dies_on_call)
    with pytest.raises(Killed):
        shops_v2.migrate(Lake(s3.client(), LakeRoot(s3.bucket, PREFIX)), SHOP, echo=lambda _: None)
    monkeypatch.undo()
    assert snapshot(s3) != before, "the kill came after some changes"

    # The next run (in-process: the command line is the other tests' subject).
    shops_v2.migrate(Lake(s3.client(), LakeRoot(s3.bucket, PREFIX)), SHOP, echo=lambda _: None)
    assert_migrated(s3, before, tmp_path)


def test_a_bad_shop_id_is_refused_before_anything(lake: tuple[S3Server, dict[str, bytes]]) -> None:
    s3, before = lake
    result = run_cli(s3, shop="Ha Noi")
    assert result.returncode == 1 and "shop id 'Ha Noi'" in result.stderr
    assert snapshot(s3) == before


FOREIGN_DAYS = ((HARAVAN_ADJUSTMENTS_PATH, "20260112"), (FACTS_LINES_PATH, "2026-W02-6"))


def test_folders_named_like_a_day_in_another_spelling_are_left_alone(
    lake: tuple[S3Server, dict[str, bytes]], tmp_path: Path
) -> None:
    """Python reads `20260112` and `2026-W02-6` (2026-01-10) as dates: the migration planned
    their day twice, moved the real partition, then failed on its second copy, and never
    touched the foreign folder. Only `dt=YYYY-MM-DD` is a day."""
    s3, _ = lake
    client = s3.client()
    foreign = []
    for dataset, folder in FOREIGN_DAYS:
        for name in ("part-00000.parquet", "_SUCCESS"):
            key = f"{PREFIX}/{dataset}/dt={folder}/{name}"
            client.put_object(Bucket=s3.bucket, Key=key, Body=b"not a partition of the project")
            foreign.append(key)
    before = snapshot(s3)
    printed: list[str] = []

    shops_v2.migrate(Lake(s3.client(), LakeRoot(s3.bucket, PREFIX)), SHOP, echo=printed.append)

    for dataset, folder in FOREIGN_DAYS:
        uri = f"s3://{s3.bucket}/{PREFIX}/{dataset}/dt={folder}/"
        assert f"  left alone (not a dt= partition): {uri}" in printed
    assert_migrated(s3, before, tmp_path, foreign=foreign)


def test_a_facts_marker_without_its_data_file_is_a_clean_error(
    lake: tuple[S3Server, dict[str, bytes]],
) -> None:
    s3, _ = lake
    day = DAYS[0]
    s3.client().delete_object(Bucket=s3.bucket, Key=v1_key(FACTS_LINES_PATH, day, DATA_FILE))

    with pytest.raises(shops_v2.MigrationError) as raised:  # `error: …`, exit code 1
        shops_v2.migrate(Lake(s3.client(), LakeRoot(s3.bucket, PREFIX)), SHOP, echo=lambda _: None)

    uri = f"s3://{s3.bucket}/{v1_key(FACTS_LINES_PATH, day)}"
    assert str(raised.value).startswith(
        f"{uri}: marker present but no {DATA_FILE}: the partition is damaged."
    )
    assert v1_key(FACTS_LINES_PATH, day, "_SUCCESS") in snapshot(s3), "the source is kept"


def test_the_loser_of_two_racing_migrations_says_another_one_is_running(
    lake: tuple[S3Server, dict[str, bytes]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The second migration plans while the first is running; the first finishes before the
    second moves anything (its sources are gone, marker first)."""
    s3, before = lake
    root = LakeRoot(s3.bucket, PREFIX)
    plan = shops_v2.plan_migration

    def planned_then_overtaken(lake: Lake, shop: str) -> Any:
        planned = plan(lake, shop)
        monkeypatch.setattr(shops_v2, "plan_migration", plan)
        shops_v2.migrate(Lake(s3.client(), root), shop, echo=lambda _: None)  # the other one
        return planned

    monkeypatch.setattr(shops_v2, "plan_migration", planned_then_overtaken)
    with pytest.raises(shops_v2.MigrationError) as raised:
        shops_v2.migrate(Lake(s3.client(), root), SHOP, echo=lambda _: None)

    message = str(raised.value)
    assert f"marker present when planned but no {DATA_FILE} now" in message
    assert "another migration is running" in message
    assert_migrated(s3, before, tmp_path)
