"""Move a single-shop lake (layout 1.x: `<dataset>/dt=…/`) to the per-shop layout of warehouse
contract 2.0 (`<dataset>/shop=<id>/dt=…/`), in one command:

    python -m include.inventory_lake.migrations.shops_v2 [--shop default] [--dry-run]

It reaches the lake as the tasks do: the `aws_default` connection and the `inventory_lake_uri`
Variable, from AIRFLOW_CONN_AWS_DEFAULT / AIRFLOW_VAR_INVENTORY_LAKE_URI, a secrets backend or
the metadata DB (read like `airflow connections get` does). Pause the project's DAGs while it
runs and deploy the 2.0 code before unpausing them.

What moves: every `dt=` partition of the raw Haravan adjustments, the raw Stocky adjustments
and items, and the facts, with its `_SUCCESS` marker; and the Stocky adjustment index
(`index/stocky_adjustments/current.parquet` to `…/shop=<id>/current.parquet`). Raw files are
copied byte for byte inside S3; facts files are rewritten with the `shop` column first and
`contract_version` 2.0 (every other column, field description and file metadata kept). The
push's `staging/` and `audit/` are not sharded by shop and stay where they are.

Readers never see half a partition as complete: at the destination the data file is written
first and the marker last (only if none exists); at the source the marker is deleted first,
then the data. Every partition is independent, and what a rerun does with it depends only on
what the lake holds, so a run killed at any point is completed by running it again, and a
second run of a finished migration changes nothing:

- source complete, destination without a marker: move it (a half-copied destination is
  overwritten);
- destination complete with this source's data (its marker's `migrated_from` names the
  source and its sha256, or a raw file with the same sha256): only remove the source;
- source without a marker (a write that never completed before the migration) and no
  destination marker: move the objects as they are, still without a marker;
- destination complete with other data for the same day: a conflict. The plan is made before
  anything is written, and any conflict stops the run with nothing changed.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.parquet as pq

from include.inventory_lake.checksums import bytes_sha256, file_sha256
from include.inventory_lake.lake.lake import Lake
from include.inventory_lake.lake.location import (
    DATA_FILE,
    DAY_FOLDER_PREFIX,
    MARKER_FILE,
    LakeRoot,
    Partition,
    day_folder,
    day_of_folder,
    shop_folder,
    shop_of_folder,
)
from include.inventory_lake.lake.partition_writer import ROW_GROUP_ROWS
from include.inventory_lake.lake.store import WriteConflict, is_missing
from include.inventory_lake.schemas import facts
from include.inventory_lake.settings import (
    FACTS_LINES_PATH,
    HARAVAN_ADJUSTMENTS_PATH,
    STOCKY_ADJUSTMENT_INDEX_PATH,
    STOCKY_ADJUSTMENTS_PATH,
    STOCKY_ITEMS_PATH,
)
from include.inventory_lake.shops import DEFAULT_SHOP_ID, ShopConfigError, check_shop_id

if TYPE_CHECKING:
    pass

log = logging.getLogger(__name__)

DATASETS = (HARAVAN_ADJUSTMENTS_PATH, STOCKY_ADJUSTMENTS_PATH, STOCKY_ITEMS_PATH, FACTS_LINES_PATH)
INDEX_FILE = "current.parquet"
V1_CONTRACT_VERSION = "1.0"
V1_LINES = facts.LINES.remove(facts.LINES.get_field_index("shop")).with_metadata(
    {**(facts.LINES.metadata or {}), b"contract_version": V1_CONTRACT_VERSION.encode()}
)
"""The facts schema of contract 1.x: the 2.0 columns without `shop`."""


SOMEONE_ELSE = "is another migration running, or a DAG writing to the lake? pause the DAGs"


class MigrationError(RuntimeError):
    """The migration stopped; the message says where and why. Partitions moved before stay
    moved: run the command again once the cause is fixed."""


class MigrationConflict(MigrationError):
    """The destination already holds other data for days of the lake: nothing was changed."""

    def __init__(self, conflicts: Sequence[str]) -> None:
        self.conflicts = list(conflicts)
        listed = "\n  ".join(self.conflicts)
        super().__init__(
            f"{len(self.conflicts)} destination(s) already hold different data, so nothing was "
            f"changed:\n  {listed}\nDecide which version to keep (delete the other one), then "
            "run the migration again."
        )


class Action(StrEnum):
    MOVE = "move"
    FINISH = "remove source (already at the destination)"
    MOVE_INCOMPLETE = "move incomplete (no _SUCCESS marker: stays incomplete)"


@dataclass(frozen=True)
class PartitionStep:
    dataset: str
    dt: date
    action: Action
    source_prefix: str
    source_keys: tuple[str, ...]
    source_marker: dict[str, Any] | None
    destination: Partition

    @property
    def source_uri(self) -> str:
        return f"s3://{self.destination.root.bucket}/{self.source_prefix}"

    @property
    def rows(self) -> int:
        return int((self.source_marker or {}).get("rows", 0))

    def describe(self) -> str:
        rows = f", {self.rows} rows" if self.source_marker else ""
        return f"{self.action.value}: {self.source_uri} -> {self.destination.uri}{rows}"


@dataclass(frozen=True)
class IndexStep:
    action: Action
    source_key: str
    destination_key: str

    def describe(self, bucket: str) -> str:
        return (
            f"{self.action.value}: s3://{bucket}/{self.source_key} -> "
            f"s3://{bucket}/{self.destination_key}"
        )


@dataclass
class MigrationPlan:
    root: LakeRoot
    shop: str
    partitions: list[PartitionStep] = field(default_factory=list)
    index: IndexStep | None = None
    conflicts: list[str] = field(default_factory=list)
    left_alone: list[str] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not self.partitions and self.index is None

    def lines(self) -> list[str]:
        bucket = self.root.bucket
        found = [step.describe() for step in self.partitions]
        if self.index is not None:
            found.append(self.index.describe(bucket))
        found += [f"left alone (not a dt= partition): s3://{bucket}/{p}" for p in self.left_alone]
        return found or ["nothing to migrate: the lake has no 1.x partitions left"]


@dataclass
class DatasetSummary:
    moved: int = 0
    finished: int = 0
    incomplete: int = 0
    rows: int = 0

    def as_dict(self) -> dict[str, int]:
        return {
            "partitions_moved": self.moved,
            "partitions_finished": self.finished,
            "incomplete_moved": self.incomplete,
            "rows": self.rows,
        }


@dataclass
class Summary:
    shop: str
    dry_run: bool
    datasets: dict[str, DatasetSummary]
    index: str = "none"

    def as_dict(self) -> dict[str, Any]:
        return {
            "shop": self.shop,
            "dry_run": self.dry_run,
            "datasets": {name: s.as_dict() for name, s in self.datasets.items()},
            "index": self.index,
        }

    def lines(self) -> list[str]:
        verb = "would move" if self.dry_run else "moved"
        out = [f"summary ({'dry run' if self.dry_run else 'done'}), shop={self.shop}:"]
        for name, s in self.datasets.items():
            out.append(
                f"  {name}: {verb} {s.moved} partition(s), {s.rows} rows; "
                f"{s.finished} already at the destination (source removed); "
                f"{s.incomplete} incomplete (without marker)"
            )
        out.append(f"  {STOCKY_ADJUSTMENT_INDEX_PATH}: {self.index}")
        return out


# --- addresses ------------------------------------------------------------------------------


def v1_prefix(root: LakeRoot, dataset: str, dt: date) -> str:
    return root.key(dataset, day_folder(dt)) + "/"


def v1_index_key(root: LakeRoot) -> str:
    return root.key(STOCKY_ADJUSTMENT_INDEX_PATH, INDEX_FILE)


def v2_index_key(root: LakeRoot, shop: str) -> str:
    return root.key(STOCKY_ADJUSTMENT_INDEX_PATH, shop_folder(shop), INDEX_FILE)


def uri_relocator(root: LakeRoot, shop: str) -> Callable[[str], str]:
    """Maps a 1.x URI of a migrated object (partition or index) to its 2.0 URI; any other
    string is returned as it is."""
    prefixes = [
        (
            root.uri(dataset) + "/" + DAY_FOLDER_PREFIX,
            root.uri(dataset, shop_folder(shop)) + "/" + DAY_FOLDER_PREFIX,
        )
        for dataset in DATASETS
    ]
    index_old = f"s3://{root.bucket}/{v1_index_key(root)}"
    index_new = f"s3://{root.bucket}/{v2_index_key(root, shop)}"

    def relocate(value: str) -> str:
        if value == index_old:
            return index_new
        for old, new in prefixes:
            if value.startswith(old):
                return new + value[len(old) :]
        return value

    return relocate


def relocate_uris(document: Any, relocate: Callable[[str], str]) -> Any:
    """A copy of a marker (any JSON value) with every 1.x URI it holds moved to 2.0."""
    if isinstance(document, str):
        return relocate(document)
    if isinstance(document, list):
        return [relocate_uris(item, relocate) for item in document]
    if isinstance(document, dict):
        return {key: relocate_uris(value, relocate) for key, value in document.items()}
    return document


# --- plan -----------------------------------------------------------------------------------


def _v1_days(lake: Lake, dataset: str, left_alone: list[str]) -> list[date]:
    root = lake.root
    parent = root.key(dataset) + "/"
    days = []
    for name in lake.child_prefixes(parent):
        if shop_of_folder(name) is not None:
            continue
        day = day_of_folder(name)
        if day is None:
            left_alone.append(parent + name + "/")
        else:
            days.append(day)
    return days


def _migrated_from(marker: dict[str, Any] | None) -> dict[str, Any]:
    origin = (marker or {}).get("migrated_from")
    return origin if isinstance(origin, dict) else {}


def _classify(
    dataset: str,
    source_uri: str,
    source_marker: dict[str, Any] | None,
    destination_marker: dict[str, Any] | None,
) -> Action | None:
    """What to do with one day; None: a conflict."""
    origin = _migrated_from(destination_marker)
    if destination_marker is None:
        return Action.MOVE if source_marker is not None else Action.MOVE_INCOMPLETE
    if origin.get("uri") == source_uri and (
        source_marker is None or origin.get("sha256") == source_marker.get("sha256")
    ):
        return Action.FINISH
    same_bytes = (
        source_marker is not None
        and dataset != FACTS_LINES_PATH
        and destination_marker.get("sha256") == source_marker.get("sha256")
    )
    return Action.FINISH if same_bytes else None


def plan_migration(lake: Lake, shop: str) -> MigrationPlan:
    """What the migration would do, from what the lake holds now; writes nothing."""
    root = lake.root
    plan = MigrationPlan(root, shop)
    for dataset in DATASETS:
        for dt in _v1_days(lake, dataset, plan.left_alone):
            prefix = v1_prefix(root, dataset, dt)
            keys = tuple(lake.list_keys(prefix))
            if not keys:
                continue
            destination = Partition(root, dataset, shop, dt)
            source_marker = lake.read_json(prefix + MARKER_FILE)
            destination_marker = lake.read_marker(destination)
            source_uri = f"s3://{root.bucket}/{prefix}"
            action = _classify(dataset, source_uri, source_marker, destination_marker)
            if action is None:
                plan.conflicts.append(
                    f"{dataset} {dt}: {destination.uri} holds a complete partition "
                    f"(sha256 {str((destination_marker or {}).get('sha256'))[:12]}…, committed "
                    f"{(destination_marker or {}).get('committed_at')}) that is not the migration "
                    f"of {source_uri} (sha256 {str((source_marker or {}).get('sha256'))[:12]}…)"
                )
                continue
            plan.partitions.append(
                PartitionStep(dataset, dt, action, prefix, keys, source_marker, destination)
            )
    source_key, destination_key = v1_index_key(root), v2_index_key(root, shop)
    source = lake.read_bytes(source_key)
    if source is not None:
        moved = lake.read_bytes(destination_key)
        if moved is None:
            plan.index = IndexStep(Action.MOVE, source_key, destination_key)
        elif bytes_sha256(moved) == bytes_sha256(source):
            plan.index = IndexStep(Action.FINISH, source_key, destination_key)
        else:
            plan.conflicts.append(
                f"index: s3://{root.bucket}/{destination_key} exists and differs from "
                f"s3://{root.bucket}/{source_key}"
            )
    return plan


# --- execution ------------------------------------------------------------------------------


def v2_lines_schema(file_metadata: dict[bytes, bytes] | None) -> pa.Schema:
    """The 2.0 facts schema, keeping the 1.x file's other file-level metadata."""
    kept = {k: v for k, v in (file_metadata or {}).items() if k != b"ARROW:schema"}
    return facts.LINES.with_metadata({**kept, **(facts.LINES.metadata or {})})


def rewrite_facts_file(source: Path, destination: Path, shop: str) -> int:
    """Write `destination`: the 1.x facts file `source` with the `shop` column first and the
    2.0 schema metadata; returns its rows. Memory is bounded by one row group."""
    parquet = pq.ParquetFile(source)
    schema = parquet.schema_arrow
    if "shop" in schema.names:
        raise MigrationError(f"{source.name}: already has a `shop` column (not a 1.x file)")
    if not schema.equals(V1_LINES, check_metadata=False):
        raise MigrationError(
            f"{source.name}: its columns are not those of facts contract 1.x "
            f"({sorted(set(schema.names) ^ set(V1_LINES.names)) or 'types or order differ'})"
        )
    target = v2_lines_schema(schema.metadata)
    rows = 0
    with pq.ParquetWriter(destination, target, compression="zstd") as writer:
        for batch in parquet.iter_batches(batch_size=ROW_GROUP_ROWS):
            shops = pa.array([shop] * batch.num_rows, pa.string())
            lines = pa.RecordBatch.from_arrays([shops, *batch.columns], schema=target)
            writer.write_table(pa.Table.from_batches([lines]), row_group_size=ROW_GROUP_ROWS)
            rows += batch.num_rows
    return rows


class _Migrator:
    def __init__(self, lake: Lake, plan: MigrationPlan) -> None:
        self.lake = lake
        self.plan = plan
        self.relocate = uri_relocator(plan.root, plan.shop)
        self.now = datetime.now(UTC).isoformat()

    def partition(self, step: PartitionStep) -> None:
        if step.action is Action.MOVE:
            self._move_complete(step)
        elif step.action is Action.MOVE_INCOMPLETE:
            for key in step.source_keys:
                self.lake.copy(key, self._destination_key(step, key))
        self._remove_source(step)

    def _destination_key(self, step: PartitionStep, key: str) -> str:
        return step.destination.prefix + key[len(step.source_prefix) :]

    def _move_complete(self, step: PartitionStep) -> None:
        assert step.source_marker is not None
        marker = relocate_uris(step.source_marker, self.relocate)
        marker["migrated_from"] = {
            "uri": step.source_uri,
            "sha256": step.source_marker.get("sha256"),
            "bytes": step.source_marker.get("bytes"),
            "migrated_at": self.now,
        }
        data_key = step.source_prefix + DATA_FILE
        others = [
            k for k in step.source_keys if k not in (data_key, step.source_prefix + MARKER_FILE)
        ]
        for key in others:
            self.lake.copy(key, self._destination_key(step, key))
        if step.dataset == FACTS_LINES_PATH:
            marker.update(self._rewrite_facts(step))
            marker["migrated_from"]["contract_version"] = V1_CONTRACT_VERSION
        else:
            self._copy_raw(step, data_key)
        if self.lake.read_json(step.source_prefix + MARKER_FILE) != step.source_marker:
            raise MigrationError(
                f"{step.source_uri} changed while it was being migrated ({SOMEONE_ELSE}); "
                "run the migration again"
            )
        # The marker last, and only where none appeared meanwhile (WriteConflict otherwise).
        self.lake.put_json(step.destination.marker_key, marker, indent=2, if_none_match=True)
        log.info("moved %s to %s", step.source_uri, step.destination.uri)

    def _missing_data(self, step: PartitionStep) -> MigrationError:
        """Why the data file that the source's marker (as planned) names is not there."""
        if self.lake.read_json(step.source_prefix + MARKER_FILE) is None:
            # Sources are removed marker first, then data: someone removed this one meanwhile.
            return MigrationError(
                f"{step.source_uri}: marker present when planned but no {DATA_FILE} now, and "
                f"the marker is gone too: another migration is running ({SOMEONE_ELSE}). Let "
                "it finish, then run the migration again: it completes whatever is left"
            )
        return MigrationError(
            f"{step.source_uri}: marker present but no {DATA_FILE}: the partition is damaged. "
            "Restore its data file, or delete the partition (and extract or rebuild the day "
            "after the migration), then run the migration again"
        )

    def _copy_raw(self, step: PartitionStep, data_key: str) -> None:
        etag = self.lake.etag(data_key)
        if etag is None:
            raise self._missing_data(step)
        self.lake.copy(data_key, step.destination.data_key, source_etag=etag)
        copied = next(iter(self.lake.list_objects(step.destination.data_key)), None)
        expected = (step.source_marker or {}).get("bytes")
        if copied is None or (expected is not None and copied.size != expected):
            raise MigrationError(
                f"{step.destination.uri}: copied {DATA_FILE} has "
                f"{copied.size if copied else 'no'} bytes, the marker says {expected}"
            )

    def _rewrite_facts(self, step: PartitionStep) -> dict[str, Any]:
        marker = step.source_marker or {}
        with tempfile.TemporaryDirectory(prefix="shop-migration-") as tmp:
            source, destination = Path(tmp) / "v1.parquet", Path(tmp) / "v2.parquet"
            try:
                self.lake.download(step.source_prefix + DATA_FILE, source)
            except Exception as error:
                if is_missing(error):
                    raise self._missing_data(step) from None
                raise
            if file_sha256(source) != marker.get("sha256"):
                raise MigrationError(
                    f"{step.source_uri}: {DATA_FILE} does not match its marker's sha256 (being "
                    "rewritten? pause the DAGs); run the migration again"
                )
            rows = rewrite_facts_file(source, destination, self.plan.shop)
            if rows != marker.get("rows"):
                raise MigrationError(
                    f"{step.source_uri}: {rows} rows, its marker says {marker.get('rows')}"
                )
            self.lake.upload(destination, step.destination.data_key)
            return {"bytes": destination.stat().st_size, "sha256": file_sha256(destination)}

    def _remove_source(self, step: PartitionStep) -> None:
        """Marker first: from then on no reader takes the source for a complete partition."""
        marker_key = step.source_prefix + MARKER_FILE
        if marker_key in step.source_keys:
            self.lake.delete(marker_key)
        for key in self.lake.list_keys(step.source_prefix):
            self.lake.delete(key)

    def index(self, step: IndexStep) -> None:
        if step.action is Action.MOVE:
            stored = self.lake.read_versioned(step.source_key)
            if stored is None:
                raise MigrationError(f"{step.source_key} disappeared during the migration")
            self.lake.put_bytes(step.destination_key, stored.body, if_none_match=True)
            if self.lake.etag(step.source_key) != stored.etag.strip('"'):
                raise MigrationError(
                    f"{step.source_key} changed while being moved (pause the DAGs); run the "
                    "migration again"
                )
        self.lake.delete(step.source_key)
        log.info("moved the Stocky adjustment index to %s", step.destination_key)


def migrate(
    lake: Lake,
    shop: str = DEFAULT_SHOP_ID,
    *,
    dry_run: bool = False,
    echo: Callable[[str], None] = print,
) -> Summary:
    """Plan, refuse on any conflict (nothing changed), then move partition after partition."""
    check_shop_id(shop, "--shop")
    root = lake.root
    plan = plan_migration(lake, shop)
    echo(f"lake s3://{root.bucket}/{root.prefix}: migration to shop={shop}, plan:")
    for line in plan.lines():
        echo(f"  {line}")
    if plan.conflicts:
        raise MigrationConflict(plan.conflicts)
    summary = Summary(shop, dry_run, {dataset: DatasetSummary() for dataset in DATASETS})
    migrator = _Migrator(lake, plan)
    for step in plan.partitions:
        if not dry_run:
            migrator.partition(step)
        counts = summary.datasets[step.dataset]
        if step.action is Action.MOVE:
            counts.moved += 1
            counts.rows += step.rows
        elif step.action is Action.FINISH:
            counts.finished += 1
        else:
            counts.incomplete += 1
    if plan.index is not None:
        if not dry_run:
            migrator.index(plan.index)
        summary.index = "moved" if plan.index.action is Action.MOVE else "source removed"
    for line in summary.lines():
        echo(line)
    return summary


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m include.inventory_lake.migrations.shops_v2",
        description="Move a single-shop lake (contract 1.x) to the per-shop layout (2.0).",
    )
    parser.add_argument(
        "--shop",
        default=DEFAULT_SHOP_ID,
        help=f"the shop id the existing data belongs to (default: {DEFAULT_SHOP_ID})",
    )
    parser.add_argument("--dry-run", action="store_true", help="print the plan, change nothing")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    # Outside a task Airflow reads connections and Variables from the environment and secrets
    # backends only; as a server-side process (what `airflow connections get` declares) it
    # reads the metadata DB too.
    os.environ.setdefault("_AIRFLOW_PROCESS_CONTEXT", "server")
    from include.inventory_lake.lake.connection import lake_root, s3_client

    try:
        migrate(
            Lake(s3_client(), lake_root(), records_lineage=False), args.shop, dry_run=args.dry_run
        )
    except MigrationConflict as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except (MigrationError, ShopConfigError, WriteConflict) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
