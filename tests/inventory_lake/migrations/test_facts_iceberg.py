"""The one-command migration of a 2.0 lake's facts into the Iceberg table, on a lake of two
shops written as the facts DAG writes it (PartitionWriter), against the S3 server and the
session's SQL catalog: every committed shop|day lands in the table exactly; a second run, a
run after a crash, a dry run, an incomplete or damaged partition and a day the facts DAG
rebuilt into the table all leave the table as they should."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pyarrow as pa
import pytest

from include.inventory_lake.iceberg import facts_table
from include.inventory_lake.iceberg.catalog import open_catalog
from include.inventory_lake.iceberg.partition_history import latest_replace
from include.inventory_lake.iceberg.replace import partition_filter, replace_partition
from include.inventory_lake.lake.lake import Lake
from include.inventory_lake.lake.location import LakeRoot, Partition
from include.inventory_lake.lake.partition_writer import CommittedPartition
from include.inventory_lake.migrations import facts_iceberg
from include.inventory_lake.migrations.facts_iceberg import PartitionStep, migrate
from include.inventory_lake.schemas.facts import LINES
from include.inventory_lake.settings import FACTS_LINES_PATH
from tests.inventory_lake.ui.lake_content import fact_line, write_facts
from tests.lake_reads import assert_table_holds_the_partition, read_partition
from tests.servers import S3Server

SHOPS = ("hanoi", "saigon")
DAYS = [date(2026, 1, 10) + timedelta(days=n) for n in range(3)]
EMPTY = ("saigon", DAYS[1])  # a day without adjustments: a zero-row file and its marker
INCOMPLETE = ("hanoi", date(2026, 1, 13))  # a write that never completed: no marker
COMMITTED = [(shop, day) for shop in SHOPS for day in DAYS]


@dataclass(frozen=True)
class TwoShopLake:
    s3: S3Server
    root: LakeRoot

    def client(self) -> Any:
        return self.s3.client()

    def store(self) -> Lake:
        """The bound lake the migration is given."""
        return Lake(self.client(), self.root)

    def objects(self) -> dict[str, str | None]:
        """Every object of the bucket (the table's files too) by key, with its ETag."""
        store = self.store()
        return {key: store.etag(key) for key in self.s3.keys(prefix="")}

    def partition(self, shop: str, day: date) -> Partition:
        return Partition(self.root, FACTS_LINES_PATH, shop, day)


def day_lines(shop: str, day: date, version: int = 1) -> list[dict[str, Any]]:
    """A few facts lines of the shop's day, each with its quantity and cost."""
    if (shop, day) == EMPTY:
        return []
    count = 2 + day.day % 3 + SHOPS.index(shop) + version
    return [
        {
            **fact_line("haravan", 1000 + n, -(n + version), day.day * 100 + n),
            "cost_amount": Decimal(f"{n + 1}.25") * version,
        }
        for n in range(count)
    ]


def rows(shop: str, day: date, version: int) -> pa.Table:
    """The day's lines as the facts build hands them to the table."""
    return pa.Table.from_pylist(
        [{"shop": shop, **line} for line in day_lines(shop, day, version)], schema=LINES
    )


def build(lake: TwoShopLake, shop: str, day: date, version: int = 1) -> CommittedPartition:
    """The shop's day as the facts DAG writes it (run id as a scheduled run's)."""
    run_id = f"scheduled__{day}-v{version}"
    return write_facts(lake.client(), lake.root, day, day_lines(shop, day, version), run_id, shop)


@pytest.fixture()
def lake(airflow_connections: Any, s3_server: S3Server) -> Iterator[TwoShopLake]:
    """Two shops' facts for three days (one day empty), an unfinished partition and a folder
    the project does not write; the catalog without the table."""
    s3_server.empty_bucket()
    lake = TwoShopLake(s3_server, LakeRoot(s3_server.bucket))
    for shop, day in COMMITTED:
        build(lake, shop, day)
    build(lake, *INCOMPLETE)
    lake.store().delete(lake.partition(*INCOMPLETE).marker_key)
    lake.store().put_bytes(f"{FACTS_LINES_PATH}/shop=hanoi/dt=20260112/x.parquet", b"foreign")
    yield lake
    s3_server.empty_bucket()


def table() -> Any:
    return facts_table.ensure_table(open_catalog())


def snapshot_count() -> int:
    return len(table().snapshots())


def run(lake: TwoShopLake, lines: list[str] | None = None, **options: Any) -> facts_iceberg.Summary:
    echo = lines.append if lines is not None else lambda _: None
    return migrate(lake.store(), open_catalog(), echo=echo, **options)


def assert_table_holds(lake: TwoShopLake, partitions: Iterable[tuple[str, date]]) -> None:
    """Each shop|day of the table equals its Parquet partition (rows, sums, distinct keys)."""
    iceberg = table()
    for shop, day in partitions:
        empty = (shop, day) == EMPTY
        assert_table_holds_the_partition(lake.s3, shop, day, empty=empty, table=iceberg)


def assert_table_holds_the_lake(lake: TwoShopLake) -> None:
    assert_table_holds(lake, COMMITTED)
    assert table().scan().to_arrow().num_rows == sum(
        read_partition(lake.s3, FACTS_LINES_PATH, day, shop).num_rows for shop, day in COMMITTED
    )


def test_one_command_fills_the_table_and_a_second_run_changes_nothing(
    lake: TwoShopLake, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("_AIRFLOW_PROCESS_CONTEXT", "server")  # what main() sets, undone after

    assert facts_iceberg.main([]) == 0

    assert_table_holds_the_lake(lake)
    out = capsys.readouterr().out
    incomplete = lake.partition(*INCOMPLETE).uri
    assert f"left alone: no _SUCCESS marker (incomplete, or being rewritten): {incomplete}" in out
    foreign = f"s3://{lake.root.bucket}/{FACTS_LINES_PATH}/shop=hanoi/dt=20260112/"
    assert f"left alone (not a shop=/dt= partition): {foreign}" in out
    assert "shop=hanoi: rewrote 3 partition(s)" in out
    assert "shop=saigon: rewrote 3 partition(s)" in out
    assert "1 incomplete (no marker), left alone" in out
    iceberg = table()
    for shop, day in COMMITTED:
        replaced = latest_replace(iceberg, shop, day)
        assert replaced is not None
        marker = lake.store().read_marker(lake.partition(shop, day))
        assert marker is not None
        assert replaced.properties[facts_iceberg.SOURCE_SHA256_PROPERTY] == marker["sha256"]
        assert (
            replaced.properties[facts_iceberg.SOURCE_URI_PROPERTY] == lake.partition(shop, day).uri
        )
    assert iceberg.scan(row_filter=partition_filter(*INCOMPLETE)).to_arrow().num_rows == 0
    snapshots = snapshot_count()
    assert snapshots == len(COMMITTED)

    assert facts_iceberg.main([]) == 0

    assert snapshot_count() == snapshots
    out = capsys.readouterr().out
    assert "shop=hanoi: rewrote 0 partition(s), 0 rows; 3 already in the table" in out
    assert "shop=saigon: rewrote 0 partition(s), 0 rows; 3 already in the table" in out


def test_a_run_that_crashed_after_two_partitions_is_completed_by_the_next(
    lake: TwoShopLake,
) -> None:
    migrated: list[PartitionStep] = []

    def crash_after_two(step: PartitionStep) -> None:
        migrated.append(step)
        if len(migrated) == 2:
            raise KeyboardInterrupt("killed")

    with pytest.raises(KeyboardInterrupt):
        run(lake, on_migrated=crash_after_two)
    assert snapshot_count() == 2

    summary = run(lake)

    assert summary.totals() == {"rewritten": 4, "same": 2, "incomplete": 1}
    assert snapshot_count() == len(COMMITTED), "one replace per shop|day, none twice"
    assert_table_holds_the_lake(lake)


def test_a_dry_run_prints_the_plan_and_writes_nothing(lake: TwoShopLake) -> None:
    before = lake.objects()
    lines: list[str] = []

    summary = run(lake, lines, dry_run=True)

    assert summary.totals() == {"rewritten": 6, "incomplete": 1}
    for shop, day in COMMITTED:
        assert any(
            line.startswith(f"  rewrite into the table: {lake.partition(shop, day).uri}")
            for line in lines
        ), (shop, day)
    assert not open_catalog().table_exists(facts_table.IDENTIFIER)
    assert lake.objects() == before


def test_a_partition_rebuilt_after_its_migration_is_rewritten(lake: TwoShopLake) -> None:
    """The facts DAG rebuilt a day after the migration but its commit to the table failed
    (the task failed after the Parquet): the newer marker wins at the next run."""
    run(lake)
    build(lake, "hanoi", DAYS[2], version=2)

    summary = run(lake)

    assert summary.totals() == {"rewritten": 1, "same": 5, "incomplete": 1}
    assert_table_holds_the_lake(lake)


def test_a_day_the_facts_dag_committed_to_the_table_is_never_overwritten(lake: TwoShopLake) -> None:
    """Three days newer in the table than in the lake's Parquet: one its facts build committed
    (same run as the marker), one another commit replaced after the marker, before the run,
    and one a facts build replaced while the migration ran (after the plan)."""
    newer = {("hanoi", DAYS[0]), ("saigon", DAYS[0]), ("saigon", DAYS[2])}
    iceberg = table()
    # The facts build of hanoi's first day: the Parquet, then the table, in one run.
    built = build(lake, "hanoi", DAYS[0], version=2)
    replace_partition(
        iceberg, "hanoi", DAYS[0], rows("hanoi", DAYS[0], 2), run_id=built.marker["run_id"]
    )
    replace_partition(iceberg, "saigon", DAYS[0], rows("saigon", DAYS[0], 3), run_id="manual__x")
    late = rows("saigon", DAYS[2], 3)

    def facts_build_meanwhile(step: PartitionStep) -> None:
        if step.partition.shop == "hanoi" and step.partition.dt == DAYS[1]:
            replace_partition(table(), "saigon", DAYS[2], late, run_id="manual__meanwhile")

    lines: list[str] = []
    summary = run(lake, lines, on_migrated=facts_build_meanwhile)

    assert summary.totals() == {"rewritten": 3, "same": 1, "table_newer": 2, "incomplete": 1}
    assert any("left alone: the table holds a newer build" in line for line in lines)
    expected = {
        ("hanoi", DAYS[0]): 2,
        ("saigon", DAYS[0]): 3,
        ("saigon", DAYS[2]): 3,
    }
    for (shop, day), version in expected.items():
        held = table().scan(row_filter=partition_filter(shop, day)).to_arrow()
        assert sorted(held.column("quantity").to_pylist()) == sorted(
            line["quantity"] for line in day_lines(shop, day, version)
        ), (shop, day)
    assert_table_holds(lake, set(COMMITTED) - newer)


def test_a_damaged_partition_is_named_and_the_others_are_migrated(
    lake: TwoShopLake, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("_AIRFLOW_PROCESS_CONTEXT", "server")
    damaged = lake.partition("saigon", DAYS[0])
    lake.store().put_bytes(damaged.data_key, b"not the file its marker describes")

    assert facts_iceberg.main([]) == 1

    captured = capsys.readouterr()
    assert f"failed, left for the next run: {damaged.uri}: data file sha256" in captured.out
    assert "1 partition(s) not migrated" in captured.err
    assert table().scan(row_filter=partition_filter("saigon", DAYS[0])).to_arrow().num_rows == 0
    assert_table_holds(lake, set(COMMITTED) - {("saigon", DAYS[0])})
