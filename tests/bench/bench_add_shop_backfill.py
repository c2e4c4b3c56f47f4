"""Adding a shop, then loading its history exactly as docs/shops.md says.

Three shops, each on its own API emulator (Haravan's real bucket: 80 calls, leaking 4/s), 30
days of 2,000 adjustments a day each (1-5 lines), `airflow standalone` (scheduler,
LocalExecutor, PostgreSQL) configured as in `backfill_from_scheduler`. Two shops are in the
shops Variable and their 30 days are backfilled; then the third is added to the Variable
(REST API, as Admin → Variables does) and the 30 days are backfilled as the docs' clicks post
it: All Runs (`reprocess_behavior: completed`), Max Active Runs as the docs say, "Override
parameters on existing runs" ticked with the form's defaults.

Figures (one JSON object, `add_shop_backfill`):
- calls_to_other_shops: requests the two loaded shops' emulators received during the second
  backfill (target 0).
- wall_s (POST of the second backfill to the scheduler marking it completed), the new shop's
  calls and data_pages (Σ over days of ceil(adjustments / page_size) + 1), floor_s
  ((data_pages - 80) / 4) and wall_over_floor (target ≤ 1.25).
- exact: every partition of every shop holds exactly that emulator's records of the day (the
  loaded shops' markers unchanged by the second backfill); throttled_429.

`INVENTORY_LAKE_BENCH_DAYS` / `INVENTORY_LAKE_BENCH_PER_DAY` shrink the workload (a quick look).
"""

from __future__ import annotations

import json
import math
import os
import shutil
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

from devtools.airflow_rest import AirflowRest
from include.inventory_lake.lake.location import LakeRoot, Partition
from include.inventory_lake.settings import HARAVAN_ADJUSTMENTS_PATH, SHOPS_VARIABLE
from tests.bench import harness
from tests.bench.bench_backfill_from_scheduler import (
    BUCKET,
    BUCKET_SIZE,
    DAG_ID,
    LEAK_RATE,
    PAGE_SIZE,
    ShopServer,
    Workload,
    _airflow_settings,
    _s3_client,
    _servers,
    observed,
    run_states,
    standalone,
)

LOADED_MAX_ACTIVE_RUNS = 8  # the first two shops' load: not what is measured
# docs/shops.md, adding a shop: the clicks and values of the Trigger → Backfill dialog.
DOCS_MAX_ACTIVE_RUNS = 8
DOCS_RUN_CONF: dict[str, Any] = {"shops": [], "reprocess": False}


def _shops_variable(shops: list[ShopServer]) -> str:
    return json.dumps([{"id": shop.id, "haravan_conn_id": f"haravan_{shop.id}"} for shop in shops])


def _set_shops(api: AirflowRest, shops: list[ShopServer]) -> None:
    body = {"key": SHOPS_VARIABLE, "value": _shops_variable(shops)}
    if api.request("GET", f"variables/{SHOPS_VARIABLE}").ok:
        api.call("PATCH", f"variables/{SHOPS_VARIABLE}", body)
    else:
        api.call("POST", "variables", body)


def _markers(s3_url: str, shops: list[ShopServer], workload: Workload) -> dict[str, Any]:
    """Every committed marker of these shops (it names the run and time that committed it)."""
    client = _s3_client(s3_url)
    markers = {}
    for shop in shops:
        for day in workload.day_list():
            partition = Partition(LakeRoot(BUCKET), HARAVAN_ADJUSTMENTS_PATH, shop.id, day)
            body = client.get_object(Bucket=BUCKET, Key=partition.marker_key)["Body"].read()
            markers[f"{shop.id}/{day}"] = json.loads(body)
    return markers


def _backfill(api: AirflowRest, workload: Workload, max_active_runs: int, **body: Any) -> Any:
    backfill = api.create_backfill(
        DAG_ID, workload.first_day, workload.last_day, max_active_runs=max_active_runs, **body
    )
    return api.wait_for_backfill(backfill["id"], timeout_s=3600)


def measure(workload: Workload, run_dir: Path) -> dict[str, Any]:
    with _servers(run_dir, workload) as (s3, shops, metadata_db):
        loaded, new = list(shops[:-1]), shops[-1]
        settings = _airflow_settings(s3, shops)  # a connection per shop, all three
        del settings["AIRFLOW_VAR_INVENTORY_LAKE_SHOPS"]  # the Variable lives in the DB here
        with standalone(run_dir, settings, metadata_db) as api:
            _set_shops(api, loaded)
            api.set_paused(DAG_ID, False)
            api.wait_until_idle(timeout_s=600, dag_id=DAG_ID)
            _backfill(api, workload, LOADED_MAX_ACTIVE_RUNS)
            markers_before = _markers(s3.url, loaded, workload)

            _set_shops(api, shops)
            for shop in shops:
                shop.admin("POST", "journal/reset")
            started = time.monotonic()
            done = _backfill(
                api,
                workload,
                DOCS_MAX_ACTIVE_RUNS,
                reprocess_behavior="completed",
                run_conf=DOCS_RUN_CONF,
            )
            wall_s = time.monotonic() - started
            states = run_states(api, workload)
            journals, truths, lake = observed(s3.url, shops, workload)
            markers_after = _markers(s3.url, loaded, workload)
    unchanged = markers_before == markers_after
    return {
        **_figures(workload, new.id, wall_s, journals, truths, lake),
        "loaded_shops_unchanged": unchanged,
        "runs": dict(states),
        "backfill_id": done["id"],
        "load_average_1m": round(os.getloadavg()[0], 1),
    }


def _figures(
    workload: Workload,
    new_shop: str,
    wall_s: float,
    journals: dict[str, Any],
    truths: dict[str, dict[date, list[int]]],
    lake: dict[tuple[str, date], list[int] | None],
) -> dict[str, Any]:
    calls = {shop: journal["counts"]["total"] for shop, journal in journals.items()}
    throttled = sum(journal["counts"].get("throttled", 0) for journal in journals.values())
    data_pages = sum(
        math.ceil(len(truths[new_shop].get(day, [])) / PAGE_SIZE) + 1 for day in workload.day_list()
    )
    floor_s = max(0, data_pages - BUCKET_SIZE) / LEAK_RATE
    inexact = [
        f"{shop}/{day}"
        for (shop, day), ids in lake.items()
        if ids is None or sorted(ids) != sorted(truths[shop].get(day, []))
    ]
    return {
        "calls_to_other_shops": sum(n for shop, n in calls.items() if shop != new_shop),
        "wall_s": round(wall_s, 1),
        "new_shop_calls": calls[new_shop],
        "new_shop_data_pages": data_pages,
        "floor_s": round(floor_s, 1),
        "wall_over_floor": round(wall_s / floor_s, 3) if floor_s else None,
        "throttled_429": throttled,
        "exact": not inexact,
        "inexact_partitions": inexact[:10],
    }


def main() -> None:
    workload = Workload(
        shops=(("north", 101), ("south", 202), ("west", 303)),
        days=int(os.environ.get("INVENTORY_LAKE_BENCH_DAYS", "30")),
        per_day=int(os.environ.get("INVENTORY_LAKE_BENCH_PER_DAY", "2000")),
    )
    run_dir = Path(tempfile.mkdtemp(prefix="bench-add-shop-"))
    # PostgreSQL runs as an unprivileged user when this runs as root: it must reach its folder.
    run_dir.chmod(0o755)
    figures = measure(workload, run_dir)
    if figures["exact"]:
        shutil.rmtree(run_dir, ignore_errors=True)
    else:
        print(f"logs kept in {run_dir}", file=sys.stderr)
    description = (
        f"3 shops x {workload.days} days x {workload.per_day} Haravan adjustments, each on its "
        f"own emulator (bucket {BUCKET_SIZE} @ {LEAK_RATE:g}/s); 2 shops backfilled, then the "
        "third added and backfilled as docs/shops.md says (All Runs, Max Active Runs "
        f"{DOCS_MAX_ACTIVE_RUNS}, Override parameters ticked with the form's defaults) on "
        "airflow standalone (LocalExecutor, PostgreSQL)"
    )
    harness.emit("add_shop_backfill", description, **figures)


if __name__ == "__main__":
    main()
