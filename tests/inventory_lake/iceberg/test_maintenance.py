"""The facts table's maintenance on the session's catalog and S3 server: snapshots older than
the audit window expire and the table reads the same rows after; an unreferenced file is
removed once older than the safety age, a younger one is kept, a referenced one never goes."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from include.inventory_lake.iceberg import facts_table
from include.inventory_lake.iceberg.catalog import open_catalog
from include.inventory_lake.iceberg.maintenance import (
    MaintenanceSettings,
    MaintenanceSettingsError,
    maintain,
    object_path,
    parse_settings,
    referenced_files,
    remove_orphan_files,
)
from include.inventory_lake.iceberg.replace import replace_partition
from include.inventory_lake.lake.store import StoredObject
from tests.inventory_lake.iceberg.test_facts_table import DAY, lines
from tests.servers import S3Server

DEFAULTS = MaintenanceSettings(timedelta(days=30), timedelta(hours=24))


@pytest.fixture()
def table(airflow_connections: Any, s3_server: S3Server) -> Iterator[Any]:
    """The facts table with two shops' day committed, then the first shop's day replaced."""
    s3_server.empty_bucket()
    table = facts_table.ensure_table(open_catalog())
    replace_partition(table, "hanoi", DAY, lines("hanoi", range(5)))
    replace_partition(table, "saigon", DAY, lines("saigon", range(3)))
    replace_partition(table, "hanoi", DAY, lines("hanoi", range(10, 17)))
    yield table
    s3_server.empty_bucket()


def rows(table: Any) -> list[tuple[str, str]]:
    scanned = table.refresh().scan(selected_fields=("shop", "line_key")).to_arrow()
    return sorted(zip(scanned["shop"].to_pylist(), scanned["line_key"].to_pylist(), strict=True))


def stored(s3_server: S3Server, table: Any) -> dict[str, StoredObject]:
    """Every object under the table's location, by `bucket/key`."""
    from include.inventory_lake.lake.store import LakeStore

    bucket, _, prefix = object_path(table.location() + "/").partition("/")
    return {
        f"{bucket}/{obj.key}": obj
        for obj in LakeStore(s3_server.client(), bucket).list_objects(prefix)
    }


def put(s3_server: S3Server, table: Any, name: str) -> StoredObject:
    bucket, _, prefix = object_path(f"{table.location()}/data/{name}").partition("/")
    s3_server.client().put_object(Bucket=bucket, Key=prefix, Body=b"left by a failed write")
    return stored(s3_server, table)[f"{bucket}/{prefix}"]


def test_snapshots_older_than_the_window_expire_and_the_rows_stay(
    table: Any, s3_server: S3Server
) -> None:
    before = rows(table)
    snapshots = table.metadata.snapshots
    current = table.current_snapshot().snapshot_id
    first_data_files = set(stored(s3_server, table))
    # 31 days on: every snapshot is older than the 30-day window, every unreferenced file
    # older than the safety age.
    later = datetime.now(UTC) + timedelta(days=31)

    result = maintain(table, s3_server.client(), DEFAULTS, now=later)

    table.refresh()
    assert [s.snapshot_id for s in table.metadata.snapshots] == [current]
    assert result.snapshots.expired == len(snapshots) - 1
    assert rows(table) == before
    assert len(before) == 7 + 3
    left = set(stored(s3_server, table))
    assert referenced_files(table) <= left, "a referenced file was removed"
    assert result.orphans.removed and set(map(object_path, result.orphans.removed)).isdisjoint(left)
    # The replaced hanoi file and the expired snapshots' manifest lists went.
    removed = first_data_files - left
    assert any("/data/shop=hanoi/" in path for path in removed)
    assert sum(path.endswith(".avro") and "snap-" in path for path in removed) == len(snapshots) - 1


def test_snapshots_inside_the_window_are_kept(table: Any, s3_server: S3Server) -> None:
    snapshots = [s.snapshot_id for s in table.metadata.snapshots]
    files = set(stored(s3_server, table))

    result = maintain(table, s3_server.client(), DEFAULTS, now=datetime.now(UTC))

    assert [s.snapshot_id for s in table.refresh().metadata.snapshots] == snapshots
    assert result.snapshots.expired == 0
    assert set(stored(s3_server, table)) >= files


def test_an_orphan_older_than_the_safety_age_is_removed_a_younger_one_kept(
    table: Any, s3_server: S3Server
) -> None:
    referenced = referenced_files(table)
    old = put(s3_server, table, "shop=hanoi/dt=2026-01-10/00000-0-abandoned.parquet")
    young = put(s3_server, table, "shop=hanoi/dt=2026-01-10/00000-0-in-flight.parquet")
    while young.modified <= old.modified:  # the server's clock has not moved on yet
        young = put(s3_server, table, "shop=hanoi/dt=2026-01-10/00000-0-in-flight.parquet")
    outside = s3_server.bucket + "/facts/inventory_adjustment_lines/stray.parquet"
    s3_server.client().put_object(Bucket=s3_server.bucket, Key=outside.partition("/")[2], Body=b"")

    # The young file was written at the cutoff: younger than the safety age.
    result = remove_orphan_files(table, s3_server.client(), older_than=young.modified)

    left = stored(s3_server, table)
    assert old.key.rsplit("/", 1)[-1] not in {obj.key.rsplit("/", 1)[-1] for obj in left.values()}
    assert result.removed == [f"s3://{s3_server.bucket}/{old.key}"]
    assert young in left.values() and result.kept_young == 1
    assert referenced <= set(left), "a referenced file was removed"
    assert outside.partition("/")[2] in s3_server.keys("facts/"), "outside the table: untouched"


def test_the_maintenance_settings_refuse_what_they_cannot_use() -> None:
    assert parse_settings(None, "") == DEFAULTS
    assert parse_settings("7", "48") == MaintenanceSettings(timedelta(days=7), timedelta(hours=48))
    with pytest.raises(MaintenanceSettingsError, match="inventory_lake_snapshot_audit_days"):
        parse_settings("thirty", None)
    with pytest.raises(MaintenanceSettingsError, match=r"at least 1 \(hours\)"):
        parse_settings(None, "0.1")
