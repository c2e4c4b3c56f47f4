"""A dry run of one file: its plan and summary under `dry_run/<batch_id>/`, nothing sent,
nothing claimed, no file moved."""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING, Any

from include.inventory_lake.push.claim import pushed_before
from include.inventory_lake.push.layout import PushLake
from include.inventory_lake.push.options import PushOptions
from include.inventory_lake.push.plan_store import write_plan
from include.inventory_lake.push.planning import Plan
from include.inventory_lake.push.summary import summarise

if TYPE_CHECKING:
    pass

log = logging.getLogger(__name__)


def write_dry_run(
    lake: PushLake,
    plan: Plan,
    *,
    file_name: str,
    options: PushOptions,
    shop: str | None = None,
) -> dict[str, Any]:
    """Write the plan and its summary (saying whether the content was pushed before)."""
    _, csv_key = write_plan(lake, plan, dry_run=True)
    summary = summarise(plan, file_name=file_name, plan_uri=lake.uri(csv_key), shop=shop)
    earlier = None if options.force else pushed_before(lake, plan.batch_id)
    summary["pushed_before_as"] = earlier.batch_id if earlier else None
    lake.put_json(lake.layout.dry_run_summary_key(plan.batch_id), summary, indent=1)
    log.info("dry run of %s: %s", file_name, json.dumps(summary)[:2000])
    return summary
