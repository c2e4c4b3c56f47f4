"""Per shop and dataset, one status per day of a window: what each partition holds and who
wrote it.

The raw datasets and the facts hold one folder per shop and, in it, one per day
(`<dataset>/shop=<id>/dt=YYYY-MM-DD/`). A daily partition is *complete* when its `_SUCCESS`
marker is there (rows, bytes, run id from the marker), *incomplete* when files are there without
a marker (being written, or the write failed), and *missing* when the day has nothing: a gap.
A day with nothing is *not expected* (not a gap) for a dataset the shop does not feed: the
Stocky datasets of a shop without a Stocky connection, and every dataset of a shop that is in
the lake but no longer configured. A partition whose marker or audit file cannot be read is
*unreadable*, with the reason; the rest of the page is still shown. The push audit has one file
per batch, no shop folder and no marker; a day without a push is normal there.

The shops shown are the configured ones (in their configured order) plus every `shop=` folder
found in the lake that is not configured, so the data of a removed shop stays visible. Listing
costs one call per dataset to find the shops, then per dataset and shop one call for the newest
day and one windowed listing (`start_after`) for the window's files.
"""

from __future__ import annotations

import io
import logging
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Literal

from include.inventory_lake.lake.lake import Lake
from include.inventory_lake.lake.location import (
    DATA_FILE,
    MARKER_FILE,
    LakeRoot,
    Partition,
    day_of_folder,
    shop_of_folder,
    shop_prefix,
)
from include.inventory_lake.lake.store import StoredObject
from include.inventory_lake.push.layout import batch_of_audit_file
from include.inventory_lake.settings import (
    FACTS_LINES_PATH,
    HARAVAN_ADJUSTMENTS_PATH,
    SET_ADJUSTMENTS_AUDIT_PATH,
    STOCKY_ADJUSTMENTS_PATH,
    STOCKY_ITEMS_PATH,
)
from include.inventory_lake.ui.parallel_reads import parallel_map
from include.inventory_lake.ui.unreadable import unreadable_reason
from include.inventory_lake.ui.window import DayWindow

if TYPE_CHECKING:
    from include.inventory_lake.shops import Shop

log = logging.getLogger(__name__)

DatasetKind = Literal["daily", "audit"]
PartitionState = Literal[
    "complete", "incomplete", "missing", "no_push", "not_expected", "unreadable"
]
# Whether a shop is in the shops configuration; "unknown" when the configuration can't be read.
ShopConfigState = Literal["configured", "not_configured", "unknown"]


@dataclass(frozen=True)
class DatasetSpec:
    path: str
    title: str
    kind: DatasetKind = "daily"
    # Written only for shops with a Stocky connection.
    stocky: bool = False


DATASETS = (
    DatasetSpec(HARAVAN_ADJUSTMENTS_PATH, "Haravan adjustments (raw)"),
    DatasetSpec(STOCKY_ADJUSTMENTS_PATH, "Stocky adjustments (raw)", stocky=True),
    DatasetSpec(STOCKY_ITEMS_PATH, "Stocky adjustment items (raw)", stocky=True),
    DatasetSpec(FACTS_LINES_PATH, "Adjustment lines (facts)"),
    DatasetSpec(SET_ADJUSTMENTS_AUDIT_PATH, "Set-adjustment audit (push)", "audit"),
)


def daily_specs(specs: Iterable[DatasetSpec] = DATASETS) -> list[DatasetSpec]:
    return [spec for spec in specs if spec.kind == "daily"]


@dataclass(frozen=True)
class LakeShop:
    """A shop as the page shows it: from the configuration, from the lake, or both."""

    id: str
    config: ShopConfigState = "configured"
    in_lake: bool = True
    # False for a configured shop without a Stocky connection (its Stocky days are not gaps).
    stocky: bool = True

    @property
    def configured(self) -> bool:
        return self.config == "configured"

    def expects(self, spec: DatasetSpec) -> bool:
        """Whether a day with nothing in this dataset is a gap for this shop."""
        if self.config == "not_configured":
            return False
        return not spec.stocky or self.stocky

    @property
    def note(self) -> str:
        if self.config == "not_configured":
            return "not configured: data found in the lake (a removed or renamed shop?)"
        if not self.in_lake:
            return "configured, nothing in the lake yet"
        if self.config == "unknown":
            return "found in the lake (the shops configuration could not be read)"
        return "" if self.stocky else "no Stocky connection: Haravan only"


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
    # Audit only: how many lines ended applied, refused, not_sent, declined or withdrawn.
    line_statuses: tuple[tuple[str, int], ...] = ()
    problem: str | None = None


@dataclass(frozen=True)
class DatasetStatus:
    spec: DatasetSpec
    uri: str
    partitions: tuple[PartitionStatus, ...]
    # The shop whose folder this is; None for the push audit (one for the whole lake).
    shop: str | None = None

    @property
    def gaps(self) -> list[date]:
        return [p.dt for p in self.partitions if p.state == "missing"]

    @property
    def incomplete(self) -> list[date]:
        return [p.dt for p in self.partitions if p.state == "incomplete"]

    @property
    def rows(self) -> int:
        return sum(p.rows or 0 for p in self.partitions)


DayState = Literal["complete", "incomplete", "missing", "warn", "not_expected"]


@dataclass(frozen=True)
class ShopDayStatus:
    """One shop's day over all its daily datasets: the worst state, and the datasets in it."""

    dt: date
    state: DayState
    missing: tuple[str, ...] = ()
    incomplete: tuple[str, ...] = ()
    problems: tuple[str, ...] = ()


@dataclass(frozen=True)
class ShopStatus:
    shop: LakeShop
    datasets: tuple[DatasetStatus, ...]

    @property
    def gaps(self) -> int:
        return sum(len(ds.gaps) for ds in self.datasets)

    @property
    def incomplete(self) -> int:
        return sum(len(ds.incomplete) for ds in self.datasets)

    @property
    def days(self) -> list[ShopDayStatus]:
        """Per day, at a glance: a gap in any dataset makes the day missing, then a partition
        without marker makes it incomplete, then a marker that disagrees with its file."""
        if not self.datasets:
            return []
        result = []
        for index, day in enumerate(p.dt for p in self.datasets[0].partitions):
            cells = [(ds.spec.title, ds.partitions[index]) for ds in self.datasets]
            missing = tuple(title for title, p in cells if p.state == "missing")
            incomplete = tuple(title for title, p in cells if p.state == "incomplete")
            problems = tuple(
                f"{title}: {p.problem}"
                for title, p in cells
                if p.problem and p.state in ("complete", "unreadable")
            )
            state: DayState
            if missing:
                state = "missing"
            elif incomplete:
                state = "incomplete"
            elif problems:
                state = "warn"
            elif all(p.state == "not_expected" for _, p in cells):
                state = "not_expected"
            else:
                state = "complete"
            result.append(ShopDayStatus(day, state, missing, incomplete, problems))
        return result


@dataclass
class _Day:
    files: dict[str, StoredObject] = field(default_factory=dict)


def dataset_prefix(root: LakeRoot, spec: DatasetSpec) -> str:
    return root.key(spec.path) + "/"


def _partition_prefix(root: LakeRoot, spec: DatasetSpec, shop: str | None) -> str:
    """Where a dataset's `dt=` folders are: under the shop's folder, or (the audit) directly."""
    return dataset_prefix(root, spec) if shop is None else shop_prefix(root, spec.path, shop)


def shops_in_lake(lake: Lake, specs: Iterable[DatasetSpec] = DATASETS) -> list[str]:
    """The `shop=` folders of the daily datasets, sorted (one listing call per dataset)."""
    prefixes = [dataset_prefix(lake.root, spec) for spec in daily_specs(specs)]
    store = lake
    found: set[str] = set()
    for names in parallel_map(store.child_prefixes, prefixes):
        found.update(shop for shop in map(shop_of_folder, names) if shop)
    return sorted(found)


def lake_shops(configured: Sequence[Shop] | None, found: Iterable[str]) -> list[LakeShop]:
    """The configured shops in their order, then the shops only the lake has, sorted. With
    `configured` None (the configuration could not be read) every shop found is shown."""
    found = set(found)
    if configured is None:
        return [LakeShop(shop, "unknown") for shop in sorted(found)]
    shops = [
        LakeShop(shop.id, "configured", shop.id in found, shop.stocky_conn_id is not None)
        for shop in configured
    ]
    known = {shop.id for shop in configured}
    shops += [LakeShop(shop, "not_configured") for shop in sorted(found - known)]
    return shops


def newest_partition_day(
    lake: Lake, specs: Iterable[DatasetSpec], shops: Iterable[str]
) -> date | None:
    """The newest `dt=` of the given daily datasets over the given shops (one listing call per
    dataset and shop)."""
    store = lake
    prefixes = [shop_prefix(lake.root, spec.path, shop) for spec in specs for shop in shops]
    newest: date | None = None
    for names in parallel_map(store.child_prefixes, prefixes):
        days = [day for day in map(day_of_folder, names) if day is not None]
        if days and (newest is None or max(days) > newest):
            newest = max(days)
    return newest


def _files_by_day(
    lake: Lake, spec: DatasetSpec, shop: str | None, window: DayWindow
) -> dict[date, _Day]:
    prefix = _partition_prefix(lake.root, spec, shop)
    by_day: dict[date, _Day] = defaultdict(_Day)
    start_after = f"{prefix}dt={window.first.isoformat()}"
    for obj in lake.list_objects(prefix, start_after=start_after):
        folder, _, name = obj.key[len(prefix) :].partition("/")
        day = day_of_folder(folder)
        if day is None or not name:
            continue
        if day > window.end:
            break
        by_day[day].files[name] = obj
    return by_day


def _daily_status(
    lake: Lake,
    spec: DatasetSpec,
    shop: LakeShop,
    day: date,
    found: _Day,
) -> PartitionStatus:
    if not found.files:
        return PartitionStatus(day, "missing" if shop.expects(spec) else "not_expected")
    data = found.files.get(DATA_FILE)
    data_files = len([name for name in found.files if name != MARKER_FILE])
    marker = (
        lake.read_marker(Partition(lake.root, spec.path, shop.id, day))
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


def _audit_status(lake: Lake, day: date, found: _Day) -> PartitionStatus:
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
        body = lake.read_bytes(obj.key)
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
    lake: Lake,
    spec: DatasetSpec,
    window: DayWindow,
    shop: LakeShop | str | None = None,
) -> DatasetStatus:
    """A daily dataset's days for one shop (a `LakeShop`, or a shop id taken as configured);
    the audit's days for the whole lake (no shop)."""
    if spec.kind == "daily" and shop is None:
        raise ValueError(f"{spec.path} is kept per shop: name the shop")
    lake_shop = LakeShop(shop) if isinstance(shop, str) else shop
    shop_id = None if spec.kind == "audit" or lake_shop is None else lake_shop.id
    # A shop with no folder in any dataset (configured, never extracted) needs no listing.
    listed = spec.kind == "audit" or lake_shop is None or lake_shop.in_lake
    by_day = _files_by_day(lake, spec, shop_id, window) if listed else {}

    def status(day: date) -> PartitionStatus:
        found = by_day.get(day, _Day())
        try:
            if spec.kind == "audit" or lake_shop is None:
                return _audit_status(lake, day, found)
            return _daily_status(lake, spec, lake_shop, day, found)
        except Exception as error:  # whatever one partition holds, the rest of the page is shown
            log.warning(
                "the Inventory lake page could not read %s %s", spec.path, day, exc_info=True
            )
            return PartitionStatus(
                day,
                "unreadable",
                bytes=sum(obj.size for obj in found.files.values()) or None,
                files=len(found.files),
                problem=f"could not be read: {unreadable_reason(error)}",
            )

    partitions = tuple(parallel_map(status, window.days))
    return DatasetStatus(
        spec,
        f"s3://{lake.root.bucket}/{_partition_prefix(lake.root, spec, shop_id)}",
        partitions,
        shop_id,
    )


def shop_status(
    lake: Lake,
    shop: LakeShop,
    window: DayWindow,
    specs: Sequence[DatasetSpec] = DATASETS,
) -> ShopStatus:
    """One shop's daily datasets over the window."""
    return ShopStatus(
        shop, tuple(dataset_status(lake, spec, window, shop) for spec in daily_specs(specs))
    )


def lake_status(
    lake: Lake,
    window: DayWindow,
    shops: Sequence[LakeShop],
    specs: Sequence[DatasetSpec] = DATASETS,
) -> list[ShopStatus]:
    """Every shop's daily datasets (the push audit, kept for the whole lake: `audit_status`)."""
    return [shop_status(lake, shop, window, specs) for shop in shops]


def audit_status(
    lake: Lake, window: DayWindow, specs: Sequence[DatasetSpec] = DATASETS
) -> list[DatasetStatus]:
    return [dataset_status(lake, spec, window) for spec in specs if spec.kind == "audit"]
