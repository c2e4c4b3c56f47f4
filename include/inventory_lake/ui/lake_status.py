"""Per dataset, one status per day of a window: what each partition holds and who wrote it.

A daily dataset's partition (`dt=YYYY-MM-DD/`) is *complete* when its `_SUCCESS` marker is
there (rows, bytes, run id from the marker), *incomplete* when files are there without a
marker (being written, or the write failed), and *missing* when the day has nothing: a gap.
The push audit has one file per batch and no marker; a day without a push is normal there.
"""

from __future__ import annotations

import io
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Literal

from include.inventory_lake.lake.location import DATA_FILE, MARKER_FILE, LakeRoot, Partition
from include.inventory_lake.lake.store import LakeStore, StoredObject
from include.inventory_lake.push.layout import batch_of_audit_file
from include.inventory_lake.settings import (
    FACTS_LINES_PATH,
    HARAVAN_ADJUSTMENTS_PATH,
    SET_ADJUSTMENTS_AUDIT_PATH,
    STOCKY_ADJUSTMENTS_PATH,
    STOCKY_ITEMS_PATH,
)
from include.inventory_lake.ui.parallel_reads import parallel_map
from include.inventory_lake.ui.window import DayWindow

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

DatasetKind = Literal["daily", "audit"]
PartitionState = Literal["complete", "incomplete", "missing", "no_push"]


@dataclass(frozen=True)
class DatasetSpec:
    path: str
    title: str
    kind: DatasetKind = "daily"


DATASETS = (
    DatasetSpec(HARAVAN_ADJUSTMENTS_PATH, "Haravan adjustments (raw)"),
    DatasetSpec(STOCKY_ADJUSTMENTS_PATH, "Stocky adjustments (raw)"),
    DatasetSpec(STOCKY_ITEMS_PATH, "Stocky adjustment items (raw)"),
    DatasetSpec(FACTS_LINES_PATH, "Adjustment lines (facts)"),
    DatasetSpec(SET_ADJUSTMENTS_AUDIT_PATH, "Set-adjustment audit (push)", "audit"),
)


@dataclass(frozen=True)
class PartitionStatus:
    dt: date
    state: PartitionState
    rows: int | None = None
    bytes: int | None = None
    files: int = 0
    run_ids: tuple[str, ...] = ()
    committed_at: str | None = None
    batches: tuple[str, ...] = ()
    # Audit only: how many lines ended applied, refused, not_sent or declined.
    line_statuses: tuple[tuple[str, int], ...] = ()
    problem: str | None = None


@dataclass(frozen=True)
class DatasetStatus:
    spec: DatasetSpec
    uri: str
    partitions: tuple[PartitionStatus, ...]

    @property
    def gaps(self) -> list[date]:
        return [p.dt for p in self.partitions if p.state == "missing"]

    @property
    def incomplete(self) -> list[date]:
        return [p.dt for p in self.partitions if p.state == "incomplete"]

    @property
    def rows(self) -> int:
        return sum(p.rows or 0 for p in self.partitions)


@dataclass
class _Day:
    files: dict[str, StoredObject] = field(default_factory=dict)


def dataset_prefix(root: LakeRoot, spec: DatasetSpec) -> str:
    return root.key(spec.path) + "/"


def _partition_day(name: str) -> date | None:
    if not name.startswith("dt="):
        return None
    try:
        return date.fromisoformat(name[3:])
    except ValueError:
        return None


def newest_partition_day(s3: S3Client, root: LakeRoot, specs: Iterable[DatasetSpec]) -> date | None:
    """The newest `dt=` of the given datasets (one listing call per dataset)."""
    newest: date | None = None
    for spec in specs:
        names = LakeStore(s3, root.bucket).child_prefixes(dataset_prefix(root, spec))
        days = [day for day in map(_partition_day, names) if day is not None]
        if days and (newest is None or max(days) > newest):
            newest = max(days)
    return newest


def _files_by_day(
    s3: S3Client, root: LakeRoot, spec: DatasetSpec, window: DayWindow
) -> dict[date, _Day]:
    prefix = dataset_prefix(root, spec)
    by_day: dict[date, _Day] = defaultdict(_Day)
    start_after = f"{prefix}dt={window.first.isoformat()}"
    for obj in LakeStore(s3, root.bucket).list_objects(prefix, start_after=start_after):
        folder, _, name = obj.key[len(prefix) :].partition("/")
        day = _partition_day(folder)
        if day is None or not name:
            continue
        if day > window.end:
            break
        by_day[day].files[name] = obj
    return by_day


def _daily_status(
    s3: S3Client, root: LakeRoot, spec: DatasetSpec, day: date, found: _Day
) -> PartitionStatus:
    if not found.files:
        return PartitionStatus(day, "missing")
    data = found.files.get(DATA_FILE)
    data_files = len([name for name in found.files if name != MARKER_FILE])
    marker = (
        LakeStore(s3, root.bucket).read_marker(Partition(root, spec.path, day))
        if MARKER_FILE in found.files
        else None
    )
    if marker is None:
        return PartitionStatus(
            day,
            "incomplete",
            bytes=data.size if data else None,
            files=data_files,
            problem="no _SUCCESS marker: the partition is being written, or its write failed",
        )
    problem = None
    if data is None:
        problem = f"the marker is there but {DATA_FILE} is not"
    elif marker.get("bytes") is not None and int(marker["bytes"]) != data.size:
        problem = f"{DATA_FILE} is {data.size} bytes, its marker says {marker['bytes']}"
    return PartitionStatus(
        day,
        "complete",
        rows=int(marker.get("rows", 0)),
        bytes=data.size if data else None,
        files=data_files,
        run_ids=(str(marker["run_id"]),) if marker.get("run_id") else (),
        committed_at=marker.get("committed_at"),
        problem=problem,
    )


def _audit_status(s3: S3Client, root: LakeRoot, day: date, found: _Day) -> PartitionStatus:
    import pyarrow.parquet as pq

    by_batch = {
        batch: obj
        for name, obj in sorted(found.files.items())
        if (batch := batch_of_audit_file(name)) is not None
    }
    files = list(by_batch.values())
    if not files:
        return PartitionStatus(day, "no_push")
    rows = 0
    runs: set[str] = set()
    statuses: Counter[str] = Counter()
    for obj in files:
        body = LakeStore(s3, root.bucket).read_bytes(obj.key)
        if body is None:  # replaced while we read: the listing's size still counts
            continue
        table = pq.read_table(io.BytesIO(body), columns=["run_id", "status"])
        rows += table.num_rows
        runs.update(str(run) for run in table.column("run_id").unique().to_pylist())
        statuses.update(str(status) for status in table.column("status").to_pylist())
    batches = tuple(by_batch)
    return PartitionStatus(
        day,
        "complete",
        rows=rows,
        bytes=sum(obj.size for obj in files),
        files=len(files),
        run_ids=tuple(sorted(runs)),
        batches=batches,
        line_statuses=tuple(sorted(statuses.items())),
    )


def dataset_status(
    s3: S3Client, root: LakeRoot, spec: DatasetSpec, window: DayWindow
) -> DatasetStatus:
    by_day = _files_by_day(s3, root, spec, window)

    def status(day: date) -> PartitionStatus:
        found = by_day.get(day, _Day())
        if spec.kind == "audit":
            return _audit_status(s3, root, day, found)
        return _daily_status(s3, root, spec, day, found)

    partitions = tuple(parallel_map(status, window.days))
    return DatasetStatus(spec, root.uri(spec.path) + "/", partitions)


def lake_status(
    s3: S3Client, root: LakeRoot, window: DayWindow, specs: Sequence[DatasetSpec] = DATASETS
) -> list[DatasetStatus]:
    return [dataset_status(s3, root, spec, window) for spec in specs]
