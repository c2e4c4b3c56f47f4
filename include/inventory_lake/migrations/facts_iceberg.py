"""Fill the facts table (warehouse contract 3.0, `inventory_lake.inventory_adjustment_lines`)
from the facts partitions a 2.0 lake holds, in one command:

    python -m include.inventory_lake.migrations.facts_iceberg [--dry-run]

It reaches the lake and the catalog as the tasks do: the `aws_default` and `iceberg_default`
connections and the `inventory_lake_uri` Variable (environment, secrets backend or metadata
DB). The DAGs may keep running: a facts build commits its day to the table itself, and the
migration never replaces a day the table holds in a newer build.

Every committed partition (`facts/inventory_adjustment_lines/shop=<id>/dt=YYYY-MM-DD/` with
its `_SUCCESS` marker) is read, checked against its marker (sha256, rows, the facts schema)
and written into the table with `replace_partition`: one commit per shop|day, whose snapshot
summary records the partition's URI, its marker's sha256 and `committed_at`
(`SOURCE_*_PROPERTY`). The rows are rewritten, not registered: the 2.0 files carry no Iceberg
field ids (a reader of the table matches columns by id, so registered files would need a
name mapping forever) and no `dt` column; rewriting gives them the ids and types of the table.

What a run does with a shop|day depends only on what the lake and the table hold, so a run
killed at any point is completed by running it again, and a second run changes nothing:

- no marker (a write that never completed, or one being rewritten right now): reported and
  left alone;
- the table's newest replace of that shop|day came from this marker (same sha256): skipped;
- the table's newest replace was committed after the marker (the facts build that wrote the
  marker commits its rows right after it, a later build after a later marker): skipped, the
  table's rows are this build's or newer;
- otherwise (not in the table, or the marker is newer): rewritten. The replace is called off
  when another commit replaced that shop|day since the plan (`TableChangedMeanwhile`), so an
  older partition never overwrites rows a facts build committed meanwhile.

Once the maintenance has expired the snapshot that replaced a shop|day, its rows still count
as this version when the marker is older than the table's oldest kept snapshot and the row
counts agree.

A partition that fails its checks (damaged, another schema, rewritten while read) is named in
the summary and left for the next run; the others go on, and the command exits with 1.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import tempfile
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

from include.inventory_lake.iceberg.partition_history import (
    PartitionReplace,
    latest_replace,
    latest_replaces,
    live_partition_rows,
    oldest_snapshot_ms,
)
from include.inventory_lake.iceberg.replace import replace_partition
from include.inventory_lake.iceberg.snapshot_summary import RUN_ID_PROPERTY, partition_key
from include.inventory_lake.lake.location import (
    LakeRoot,
    Partition,
    day_of_folder,
    shop_of_folder,
    shop_prefix,
)
from include.inventory_lake.lake.partition_reader import (
    PartitionChanged,
    PartitionSchemaMismatch,
    fetch_partition,
)
from include.inventory_lake.schemas import facts
from include.inventory_lake.settings import FACTS_LINES_PATH
from include.inventory_lake.shops import ShopConfigError, check_shop_id

if TYPE_CHECKING:
    from pyiceberg.catalog import Catalog
    from pyiceberg.table import Table

    from include.inventory_lake.lake.lake import Lake

log = logging.getLogger(__name__)

SOURCE_URI_PROPERTY = "inventory-lake.source-uri"
SOURCE_SHA256_PROPERTY = "inventory-lake.source-sha256"
SOURCE_COMMITTED_AT_PROPERTY = "inventory-lake.source-committed-at"


class MigrationError(RuntimeError):
    """Partitions the run could not migrate; the others were. Run again once fixed."""


class TableChangedMeanwhile(RuntimeError):
    """Another commit replaced the shop|day since the plan: its rows are newer, kept."""


class Action(StrEnum):
    REWRITE = "rewrite into the table"
    SAME = "already in the table"
    TABLE_NEWER = "left alone: the table holds a newer build"
    INCOMPLETE = "left alone: no _SUCCESS marker (incomplete, or being rewritten)"


@dataclass(frozen=True)
class PartitionStep:
    partition: Partition
    action: Action
    reason: str
    marker: dict[str, Any] | None = None
    # The table's newest replace of this shop|day when planned (None: none kept).
    replaced: PartitionReplace | None = None

    @property
    def rows(self) -> int:
        return int((self.marker or {}).get("rows", 0))

    def describe(self) -> str:
        rows = f", {self.rows} rows" if self.marker is not None else ""
        return f"{self.action.value}: {self.partition.uri}{rows} ({self.reason})"


@dataclass
class MigrationPlan:
    root: LakeRoot
    steps: list[PartitionStep] = field(default_factory=list)
    left_alone: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        found = [step.describe() for step in self.steps]
        found += [f"left alone (not a shop=/dt= partition): {uri}" for uri in self.left_alone]
        return found or ["nothing to migrate: the lake holds no facts partition"]


@dataclass
class ShopSummary:
    rewritten: int = 0
    rows: int = 0
    same: int = 0
    table_newer: int = 0
    incomplete: int = 0


@dataclass
class Summary:
    dry_run: bool
    shops: dict[str, ShopSummary] = field(default_factory=dict)
    failed: list[str] = field(default_factory=list)

    def count(self, step: PartitionStep, action: Action | None = None) -> None:
        counts = self.shops.setdefault(step.partition.shop, ShopSummary())
        action = action or step.action
        if action is Action.REWRITE:
            counts.rewritten += 1
            counts.rows += step.rows
        elif action is Action.SAME:
            counts.same += 1
        elif action is Action.TABLE_NEWER:
            counts.table_newer += 1
        else:
            counts.incomplete += 1

    def totals(self) -> Counter[str]:
        """Partitions per outcome, over every shop."""
        totals: Counter[str] = Counter()
        for s in self.shops.values():
            totals.update(
                rewritten=s.rewritten,
                same=s.same,
                table_newer=s.table_newer,
                incomplete=s.incomplete,
            )
        return +totals

    def lines(self) -> list[str]:
        verb = "would rewrite" if self.dry_run else "rewrote"
        out = [f"summary ({'dry run' if self.dry_run else 'done'}):"]
        for shop, s in sorted(self.shops.items()):
            out.append(
                f"  shop={shop}: {verb} {s.rewritten} partition(s), {s.rows} rows; {s.same} "
                f"already in the table; {s.table_newer} newer in the table; {s.incomplete} "
                "incomplete (no marker), left alone"
            )
        out += [f"  failed, left for the next run: {failure}" for failure in self.failed]
        return out


# --- plan -----------------------------------------------------------------------------------


def facts_partitions(lake: Lake) -> tuple[list[Partition], list[str]]:
    """Every `shop=<id>/dt=YYYY-MM-DD/` folder of the facts, and the URIs of other folders."""
    root = lake.root
    partitions: list[Partition] = []
    left_alone: list[str] = []
    parent = root.key(FACTS_LINES_PATH) + "/"
    for name in lake.child_prefixes(parent):
        shop = shop_of_folder(name)
        try:
            check_shop_id(shop, name)
        except ShopConfigError:
            left_alone.append(f"s3://{root.bucket}/{parent}{name}/")
            continue
        assert shop is not None
        days_parent = shop_prefix(root, FACTS_LINES_PATH, shop)
        for day_name in lake.child_prefixes(days_parent):
            day = day_of_folder(day_name)
            if day is None:
                left_alone.append(f"s3://{root.bucket}/{days_parent}{day_name}/")
            else:
                partitions.append(Partition(root, FACTS_LINES_PATH, shop, day))
    return partitions, left_alone


def committed_ms(marker: dict[str, Any]) -> int:
    """The marker's `committed_at` in epoch milliseconds (0 when absent or unreadable)."""
    try:
        return int(datetime.fromisoformat(str(marker["committed_at"])).timestamp() * 1000)
    except (KeyError, ValueError):
        return 0


def classify(
    marker: dict[str, Any] | None,
    replaced: PartitionReplace | None,
    live_rows: int | None,
    oldest_ms: int | None,
) -> tuple[Action, str]:
    """What to do with one partition, and why (see the module doc)."""
    if marker is None:
        return Action.INCOMPLETE, "no marker"
    marker_ms = committed_ms(marker)
    if replaced is not None:
        when = datetime.fromtimestamp(replaced.timestamp_ms / 1000).astimezone().isoformat()
        if replaced.properties.get(SOURCE_SHA256_PROPERTY) == marker.get("sha256"):
            return Action.SAME, f"migrated at {when}"
        if replaced.timestamp_ms >= marker_ms:
            run = replaced.properties.get(RUN_ID_PROPERTY)
            if run is not None and run == marker.get("run_id"):
                return Action.SAME, f"committed by its facts build {run} at {when}"
            return Action.TABLE_NEWER, f"replaced by {run or 'another commit'} at {when}"
        return Action.REWRITE, f"the marker is newer than the table's replace at {when}"
    kept_before_history = oldest_ms is not None and marker_ms <= oldest_ms
    if kept_before_history and live_rows is not None and live_rows == marker.get("rows"):
        return Action.SAME, "in the table since before its oldest kept snapshot"
    if live_rows is not None:
        return Action.REWRITE, "in the table from an expired snapshot, not provably this version"
    return Action.REWRITE, "not in the table"


def plan_migration(lake: Lake, table: Table | None) -> MigrationPlan:
    """What the migration would do, from what the lake and the table hold now; writes nothing."""
    partitions, left_alone = facts_partitions(lake)
    plan = MigrationPlan(lake.root, left_alone=left_alone)
    replaces = latest_replaces(table) if table is not None else {}
    markers = [lake.read_marker(partition) for partition in partitions]
    unknown = [
        p for p, m in zip(partitions, markers, strict=True) if m is not None
        and partition_key(p.shop, p.dt) not in replaces
    ]  # fmt: skip
    # Reading the manifests is needed only for days whose replace is not kept.
    live = live_partition_rows(table) if table is not None and unknown else {}
    oldest_ms = oldest_snapshot_ms(table) if table is not None else None
    for partition, marker in zip(partitions, markers, strict=True):
        key = partition_key(partition.shop, partition.dt)
        replaced = replaces.get(key)
        action, reason = classify(marker, replaced, live.get(key), oldest_ms)
        plan.steps.append(PartitionStep(partition, action, reason, marker, replaced))
    return plan


# --- execution ------------------------------------------------------------------------------


def unchanged_since_plan(step: PartitionStep) -> Callable[[Table], None]:
    """A replace precondition: the table's newest replace of the shop|day is still the one
    the plan saw."""
    planned = step.replaced.snapshot_id if step.replaced is not None else None

    def check(table: Table) -> None:
        now = latest_replace(table, step.partition.shop, step.partition.dt)
        if (now.snapshot_id if now is not None else None) != planned:
            raise TableChangedMeanwhile(
                f"{partition_key(step.partition.shop, step.partition.dt)} was replaced in the "
                "table since the plan (a facts build): its rows are newer, kept"
            )

    return check


def rewrite(lake: Lake, table: Table, step: PartitionStep) -> int:
    """Put the partition's rows into the table in one commit; returns the snapshot id."""
    assert step.marker is not None
    partition = step.partition
    with tempfile.TemporaryDirectory(prefix="facts-to-iceberg-") as tmp:
        fetched = fetch_partition(lake, partition, step.marker, facts.LINES, Path(tmp))
        lines = fetched.open().read()
    table.refresh()
    replaced = replace_partition(
        table,
        partition.shop,
        partition.dt,
        lines,
        run_id=step.marker.get("run_id"),
        properties={
            SOURCE_URI_PROPERTY: partition.uri,
            SOURCE_SHA256_PROPERTY: str(step.marker.get("sha256")),
            SOURCE_COMMITTED_AT_PROPERTY: str(step.marker.get("committed_at")),
        },
        precondition=unchanged_since_plan(step),
    )
    return replaced.snapshot_id


def open_table(catalog: Catalog, *, create: bool) -> Table | None:
    """The facts table: created when absent with `create`, else None when absent."""
    from pyiceberg.exceptions import NoSuchTableError

    from include.inventory_lake.iceberg.facts_table import IDENTIFIER, ensure_table

    if create:
        return ensure_table(catalog)
    try:
        return catalog.load_table(IDENTIFIER)
    except NoSuchTableError:
        return None


def migrate(
    lake: Lake,
    catalog: Catalog,
    *,
    dry_run: bool = False,
    echo: Callable[[str], None] = print,
    on_migrated: Callable[[PartitionStep], None] | None = None,
) -> Summary:
    """Plan, then rewrite partition after partition (`on_migrated` is called after each)."""
    root = lake.root
    table = open_table(catalog, create=not dry_run)
    plan = plan_migration(lake, table)
    echo(f"lake s3://{root.bucket}/{root.prefix}: facts into the Iceberg table, plan:")
    for line in plan.lines():
        echo(f"  {line}")
    summary = Summary(dry_run)
    for step in plan.steps:
        if step.action is not Action.REWRITE or dry_run:
            summary.count(step)
            continue
        assert table is not None
        try:
            snapshot_id = rewrite(lake, table, step)
        except TableChangedMeanwhile as error:
            log.info("%s", error)
            summary.count(step, Action.TABLE_NEWER)
            continue
        except (PartitionChanged, PartitionSchemaMismatch) as error:
            log.error("%s", error)
            summary.failed.append(str(error))
            continue
        log.info("rewrote %s into the table: snapshot %d", step.partition.uri, snapshot_id)
        summary.count(step)
        if on_migrated is not None:
            on_migrated(step)
    for line in summary.lines():
        echo(line)
    return summary


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m include.inventory_lake.migrations.facts_iceberg",
        description="Rewrite a 2.0 lake's facts partitions into the Iceberg table (contract 3.0).",
    )
    parser.add_argument("--dry-run", action="store_true", help="print the plan, change nothing")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    # Read connections and Variables like `airflow connections get` (see shops_v2.main).
    os.environ.setdefault("_AIRFLOW_PROCESS_CONTEXT", "server")
    from include.inventory_lake.iceberg.catalog import open_catalog
    from include.inventory_lake.lake.connection import connect_lake

    summary = migrate(connect_lake(), open_catalog(), dry_run=args.dry_run)
    if summary.failed:
        print(
            f"error: {len(summary.failed)} partition(s) not migrated (listed above); the others "
            "are. Fix or rebuild them, then run the migration again",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
