"""The facts DAG's task bodies: which shops' days to build, then one partition per shop and
day."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from include.inventory_lake import assets
from include.inventory_lake.facts.build import CHECKS, build_facts_partition
from include.inventory_lake.facts.quality import DataQualityError
from include.inventory_lake.facts.run_dates import RunDatesError, context_run_partitions
from include.inventory_lake.failures import fail_fast_on
from include.inventory_lake.iceberg.facts_commit import commit_facts
from include.inventory_lake.iceberg.facts_table import QUALIFIED_NAME
from include.inventory_lake.iceberg.replace import PartitionRowsError, ReplacedPartition
from include.inventory_lake.lake.connection import connect_lake
from include.inventory_lake.lake.location import ShopDay
from include.inventory_lake.lake.partition_reader import PartitionNotReady, PartitionSchemaMismatch
from include.inventory_lake.lineage.recorder import checked_s3
from include.inventory_lake.schemas import facts
from include.inventory_lake.settings import FACTS_LINES_PATH
from include.inventory_lake.shops import ShopConfigError, by_id, configured_shops

log = logging.getLogger(__name__)


def partition_keys(context: Mapping[str, Any]) -> list[str]:
    """The run's partitions as keys `<shop>|<YYYY-MM-DD>`."""
    with fail_fast_on(RunDatesError):
        keys = [partition.key for partition in context_run_partitions(context)]
    log.info("building facts for %d partition(s): %s", len(keys), keys)
    return keys


@contextmanager
def skip_days_still_extracting(context: Mapping[str, Any]) -> Iterator[None]:
    """In a run started by asset events, a day whose other source is still extracting is
    skipped, not failed: the missing extract's own event will start the run that builds it.
    Any other run asked for that day explicitly, so there the day fails at once."""
    from airflow.sdk.exceptions import AirflowFailException, AirflowSkipException

    try:
        yield
    except PartitionNotReady as error:
        run_type = getattr(context["dag_run"].run_type, "value", context["dag_run"].run_type)
        if run_type != "asset_triggered":
            raise AirflowFailException(str(error)) from error
        log.warning("%s", error)
        raise AirflowSkipException(
            "skipped: this day's other extract has not completed yet; its asset event will "
            "trigger the run that builds this day"
        ) from error


@contextmanager
def checks_reported_to_lineage(uri: str) -> Iterator[None]:
    """Each data-quality check's outcome on the facts partition, as lineage assertions."""
    try:
        yield
    except DataQualityError as error:
        failed = {failure.check for failure in error.failures}
        for check in CHECKS:
            checked_s3(uri, check, check not in failed)
        raise
    for check in CHECKS:
        checked_s3(uri, check, True)


def build_partition(key: str, context: Mapping[str, Any]) -> dict[str, Any]:
    partition = ShopDay.parse(key)
    lake = connect_lake()
    shop_lake = lake.shop(partition.shop)
    with fail_fast_on(ShopConfigError):
        shop = by_id(configured_shops(), partition.shop)
        if shop is None:
            raise ShopConfigError(
                f"shop {partition.shop!r} is not configured (Variable inventory_lake_shops): "
                "add it back to build its facts"
            )
    replaced: list[ReplacedPartition] = []

    def commit_to_table(parquet_file: Path, data_uri: str) -> None:
        # Contract 3.0: the table; the 2.0 Parquet partition is kept beside it (deprecated).
        replaced.append(
            commit_facts(
                lake, partition.shop, partition.dt, parquet_file, data_uri, context["run_id"]
            )
        )

    with (
        skip_days_still_extracting(context),
        fail_fast_on(PartitionSchemaMismatch, DataQualityError, PartitionRowsError),
        checks_reported_to_lineage(shop_lake.partition(FACTS_LINES_PATH, partition.dt).uri),
    ):
        committed, report = build_facts_partition(
            lake,
            shop_lake,
            partition.dt,
            context["run_id"],
            with_stocky=shop.stocky_conn_id is not None,
            on_commit=commit_to_table,
        )
    summary = {
        "shop": partition.shop,
        "dt": partition.dt.isoformat(),
        "uri": committed.uri,
        "rows": committed.rows,
        "haravan_rows": report.rows(facts.HARAVAN),
        "stocky_rows": report.rows(facts.STOCKY),
        "stocky_adjustment_missing": report.sources[facts.STOCKY]["adjustment_missing"],
        "iceberg_table": QUALIFIED_NAME,
        "iceberg_snapshot_id": replaced[0].snapshot_id,
    }
    context["outlet_events"][assets.FACTS_ADJUSTMENT_LINES].extra = summary
    return summary
