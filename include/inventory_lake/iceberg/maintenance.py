"""Keep the facts table small: expire old snapshots, remove orphan files, keep the table's
metadata properties the contract's (the `inventory_lake_iceberg_maintenance` DAG, daily).

- **Snapshots** older than the audit window (Variable `inventory_lake_snapshot_audit_days`,
  default 30) are expired: removed from the table's metadata, so time travel reaches back that
  far and no further. Always kept: every snapshot newer than the window, the current snapshot
  and the head of every branch and tag (pyiceberg never expires a ref's snapshot). A consumer
  that needs an older snapshot (a warehouse load that fell behind by more than the window)
  tags it (`table.manage_snapshots().create_tag(snapshot_id, "<consumer>").commit()`), and
  drops the tag when done.
- **Orphan files** are files under the table's location that no live metadata references: the
  current metadata file, the files of its metadata log, and, for every snapshot kept, its
  manifest list, its manifests and every data or delete file they list (deleted entries
  included: a file is removed once no kept snapshot mentions it), plus statistics files.
  Expiring a snapshot frees its files this way (pyiceberg's expiry deletes none). A file is
  removed only when it is also older than the safety age (Variable
  `inventory_lake_orphan_min_age_hours`, default 24): the files of a commit in flight are
  written before the catalog publishes them, so they look orphaned until then, and they are
  always younger than that. The references are read completely before anything is deleted: a
  manifest that cannot be read fails the task and deletes nothing.
- **Properties**: a table created before a property joined `facts_table.TABLE_PROPERTIES`
  (manifest merging, the metadata log's length) gets it here, so the bounds hold for it too.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

from include.inventory_lake.iceberg.facts_table import QUALIFIED_NAME, TABLE_PROPERTIES
from include.inventory_lake.lake.lake import Lake
from include.inventory_lake.lake.location import LakeRoot
from include.inventory_lake.settings import (
    ORPHAN_MIN_AGE_HOURS_DEFAULT,
    ORPHAN_MIN_AGE_HOURS_VARIABLE,
    SNAPSHOT_AUDIT_DAYS_DEFAULT,
    SNAPSHOT_AUDIT_DAYS_VARIABLE,
)

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
    from pyiceberg.table import Table

log = logging.getLogger(__name__)

# Below this, a slow commit's files could be taken for orphans.
MIN_ORPHAN_AGE = timedelta(hours=1)
_S3_SCHEMES = ("s3", "s3a", "s3n")
_READERS = 8


class MaintenanceSettingsError(ValueError):
    """A maintenance Variable the task cannot use (a permanent error: not retried)."""


@dataclass(frozen=True)
class MaintenanceSettings:
    audit_window: timedelta
    orphan_min_age: timedelta


def parse_settings(audit_days: str | None, orphan_hours: str | None) -> MaintenanceSettings:
    """The settings from the Variables' text; None or blank means the default."""

    def number(name: str, text: str | None, default: float) -> float:
        if text is None or not text.strip():
            return default
        try:
            return float(text)
        except ValueError:
            raise MaintenanceSettingsError(
                f"Variable {name!r} must be a number, got {text!r}"
            ) from None

    days = number(SNAPSHOT_AUDIT_DAYS_VARIABLE, audit_days, SNAPSHOT_AUDIT_DAYS_DEFAULT)
    hours = number(ORPHAN_MIN_AGE_HOURS_VARIABLE, orphan_hours, ORPHAN_MIN_AGE_HOURS_DEFAULT)
    if days < 1:
        raise MaintenanceSettingsError(
            f"Variable {SNAPSHOT_AUDIT_DAYS_VARIABLE!r} must be at least 1 (days), got {days:g}"
        )
    if timedelta(hours=hours) < MIN_ORPHAN_AGE:
        raise MaintenanceSettingsError(
            f"Variable {ORPHAN_MIN_AGE_HOURS_VARIABLE!r} must be at least "
            f"{MIN_ORPHAN_AGE.total_seconds() / 3600:g} (hours), got {hours:g}: younger files "
            "may belong to a commit in flight"
        )
    return MaintenanceSettings(timedelta(days=days), timedelta(hours=hours))


def read_settings() -> MaintenanceSettings:
    """The settings from their Variables (call inside tasks only)."""
    from airflow.sdk import Variable

    return parse_settings(
        Variable.get(SNAPSHOT_AUDIT_DAYS_VARIABLE, default=None),
        Variable.get(ORPHAN_MIN_AGE_HOURS_VARIABLE, default=None),
    )


# --- properties --------------------------------------------------------------------------


def apply_table_properties(table: Table) -> dict[str, str]:
    """Set the contract's properties the table lacks or holds otherwise; the ones set."""
    current = table.metadata.properties
    changed = {
        key: value
        for key, value in TABLE_PROPERTIES.items()
        if key != "format-version" and current.get(key) != value
    }
    if changed:
        with table.transaction() as transaction:
            transaction.set_properties(changed)
        log.info("set the properties %s on %s", changed, QUALIFIED_NAME)
    return changed


# --- snapshots ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ExpiredSnapshots:
    expired: int
    kept: int


def expire_snapshots(table: Table, older_than: datetime) -> ExpiredSnapshots:
    """Expire the snapshots committed before `older_than`, except the current one and the
    head of every branch and tag (see the module doc)."""
    current = table.current_snapshot()
    protected = {ref.snapshot_id for ref in table.metadata.refs.values()}
    protected |= {current.snapshot_id} if current else set()
    cutoff_ms = int(older_than.timestamp() * 1000)
    expired = [
        snapshot.snapshot_id
        for snapshot in table.metadata.snapshots
        if snapshot.timestamp_ms < cutoff_ms and snapshot.snapshot_id not in protected
    ]
    if expired:
        table.maintenance.expire_snapshots().by_ids(expired).commit()
        log.info(
            "expired %d snapshot(s) of %s older than %s", len(expired), QUALIFIED_NAME, older_than
        )
    return ExpiredSnapshots(len(expired), len(table.metadata.snapshots))


# --- orphan files ------------------------------------------------------------------------


def object_path(uri: str) -> str:
    """`bucket/key` of an S3 URI, whichever of the S3 schemes a writer used."""
    parts = urlparse(uri)
    if parts.scheme not in _S3_SCHEMES:
        raise ValueError(f"{QUALIFIED_NAME}: a file outside S3 ({uri!r}) is not handled here")
    return f"{parts.netloc}/{parts.path.lstrip('/')}"


def referenced_files(table: Table) -> set[str]:
    """Every file the table's live metadata references, as `bucket/key` (see the module doc)."""
    metadata = table.metadata
    io = table.io
    files = {table.metadata_location, *(entry.metadata_file for entry in metadata.metadata_log)}
    files |= {statistics.statistics_path for statistics in metadata.statistics}
    files |= {statistics.statistics_path for statistics in metadata.partition_statistics}
    manifests = {}
    for snapshot in metadata.snapshots:
        files.add(snapshot.manifest_list)
        for manifest in snapshot.manifests(io):
            manifests[manifest.manifest_path] = manifest
    files |= set(manifests)

    def listed(manifest: Any) -> list[str]:
        entries = manifest.fetch_manifest_entry(io, discard_deleted=False)
        return [entry.data_file.file_path for entry in entries]

    with ThreadPoolExecutor(_READERS) as pool:
        for paths in pool.map(listed, manifests.values()):
            files.update(paths)
    return {object_path(uri) for uri in files}


@dataclass(frozen=True)
class OrphanFiles:
    listed: int
    referenced: int
    removed: list[str] = field(default_factory=list)
    # Unreferenced but younger than the safety age: perhaps a commit in flight.
    kept_young: int = 0
    removed_bytes: int = 0


def remove_orphan_files(table: Table, s3: S3Client, older_than: datetime) -> OrphanFiles:
    """Delete the files under the table's location that no live metadata references and that
    were last modified before `older_than` (see the module doc)."""
    location = object_path(table.location().rstrip("/") + "/")
    bucket, _, prefix = location.partition("/")
    # The table's own bucket (the lake's, unless the catalog's warehouse is elsewhere).
    table_lake = Lake(s3, LakeRoot(bucket), records_lineage=False)
    # Listed first, references read after: a file committed in between is young, so kept.
    listing = list(table_lake.list_objects(prefix))
    references = referenced_files(table)
    unreferenced = [obj for obj in listing if f"{bucket}/{obj.key}" not in references]
    old = [obj for obj in unreferenced if obj.modified < older_than]
    try:
        table_lake.delete_many([obj.key for obj in old])
    except RuntimeError as error:
        raise RuntimeError(f"{QUALIFIED_NAME}: orphan files not all removed: {error}") from error
    result = OrphanFiles(
        listed=len(listing),
        referenced=len(references),
        removed=[f"s3://{bucket}/{obj.key}" for obj in old],
        kept_young=len(unreferenced) - len(old),
        removed_bytes=sum(obj.size for obj in old),
    )
    log.info(
        "%s: %d file(s) under its location, %d orphan(s) removed (%d bytes), %d unreferenced "
        "kept (younger than %s)",
        QUALIFIED_NAME, result.listed, len(result.removed), result.removed_bytes,
        result.kept_young, older_than,
    )  # fmt: skip
    return result


# --- the whole run -----------------------------------------------------------------------


@dataclass(frozen=True)
class MaintenanceResult:
    properties_set: Mapping[str, str]
    snapshots: ExpiredSnapshots
    orphans: OrphanFiles

    def summary(self) -> dict[str, Any]:
        return {
            "table": QUALIFIED_NAME,
            "properties_set": dict(self.properties_set),
            "snapshots_expired": self.snapshots.expired,
            "snapshots_kept": self.snapshots.kept,
            "files_listed": self.orphans.listed,
            "orphans_removed": len(self.orphans.removed),
            "orphan_bytes_removed": self.orphans.removed_bytes,
            "unreferenced_kept_young": self.orphans.kept_young,
        }


def maintain(
    table: Table,
    s3: S3Client,
    settings: MaintenanceSettings,
    now: datetime | None = None,
) -> MaintenanceResult:
    """Properties, then snapshot expiry, then orphan removal (which frees the expired
    snapshots' files), on the table as it is now."""
    now = now or datetime.now(UTC)
    properties = apply_table_properties(table)
    snapshots = expire_snapshots(table, now - settings.audit_window)
    table.refresh()
    orphans = remove_orphan_files(table, s3, now - settings.orphan_min_age)
    return MaintenanceResult(properties, snapshots, orphans)


def run_maintenance() -> dict[str, Any]:
    """The DAG task: the settings from their Variables, the table from `iceberg_default`, the
    lake's S3 through `aws_default`. No table yet (no facts built): nothing to do."""
    from pyiceberg.exceptions import NoSuchTableError

    from include.inventory_lake.failures import fail_fast_on
    from include.inventory_lake.iceberg.catalog import open_catalog
    from include.inventory_lake.iceberg.facts_table import IDENTIFIER
    from include.inventory_lake.lake.connection import s3_client

    with fail_fast_on(MaintenanceSettingsError):
        settings = read_settings()
    try:
        table = open_catalog().load_table(IDENTIFIER)
    except NoSuchTableError:
        log.info("%s does not exist yet (no facts built): nothing to maintain", QUALIFIED_NAME)
        return {"table": QUALIFIED_NAME, "exists": False}
    return {"exists": True, **maintain(table, s3_client(), settings).summary()}
