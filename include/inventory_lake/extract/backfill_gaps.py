"""A backfill loads what the lake lacks: in a backfill run, a shop whose partitions of the run's
day are all committed is left out of the run (logged), unless the run's `reprocess` param asks
for it. So re-running every day of a range (the backfill dialog's *All Runs*) after adding a
shop reads only the new shop's API. Scheduled and manual runs always extract: they name a day
on purpose, and a retried extract instance never re-decides (the `shops` task did, once)."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from include.inventory_lake.lake.lake import Lake
from include.inventory_lake.settings import REPROCESS_PARAM_NAME
from include.inventory_lake.shops import Shop

log = logging.getLogger(__name__)


def is_backfill(context: Mapping[str, Any]) -> bool:
    from airflow.sdk.api.datamodels._generated import DagRunType

    run_type = getattr(context.get("dag_run"), "run_type", None)
    return str(getattr(run_type, "value", run_type)) == DagRunType.BACKFILL.value


def reprocess_requested(context: Mapping[str, Any]) -> bool:
    return bool((context.get("params") or {}).get(REPROCESS_PARAM_NAME))


def _committed_description(lake: Lake, shop: Shop, datasets: Sequence[str], dt: date) -> str | None:
    """How the shop's partitions of `dt` were committed, or None when one of them is not."""
    parts = []
    for dataset in datasets:
        partition = lake.partition(dataset, shop.id, dt)
        marker = lake.read_marker(partition)
        if marker is None:
            return None
        parts.append(
            f"{partition.prefix} committed at {marker.get('committed_at')} "
            f"by run {marker.get('run_id')}"
        )
    return "; ".join(parts)


def shops_missing_the_day(
    shops: Sequence[Shop], datasets: Sequence[str], dt: date, lake: Lake
) -> list[Shop]:
    """The shops that lack a committed partition of `dt` in one of `datasets`; each shop left
    out is logged with when and by which run its partitions were committed."""
    missing = []
    for shop in shops:
        committed = _committed_description(lake, shop, datasets, dt)
        if committed is None:
            missing.append(shop)
        else:
            log.info(
                "skipped: shop %s, day %s: %s; a backfill loads only what is missing "
                "(%s=false; set it to true to extract committed days again)",
                shop.id,
                dt,
                committed,
                REPROCESS_PARAM_NAME,
            )
    return missing
