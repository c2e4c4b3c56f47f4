"""Stocky lines without their adjustment (issue 15): a 14-day backfill of the demo data run
through Airflow for real (dag.test per DAG and day, the facts DAG on the asset events the
extracts recorded, as the scheduler would create its runs), then every Stocky facts line read
back from the lake.

Figure `stocky_lines_without_adjustment`: Stocky facts lines with `adjustment_missing = true`
÷ all Stocky facts lines, how many of those lines' adjustments exist somewhere in the lake's
raw partitions (target 0), and the same ratio under the old same-day rule (an item's adjustment
looked up only in its own day's raw partition), computed from the same raw partitions.

The world is the tests' (tests/conftest.py sets Airflow's environment and starts PostgreSQL on
import), with its own S3 server and the emulator's demo data (`--days 14`, fixed end).
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import tests.conftest as world  # sets AIRFLOW_HOME, the metadata DB (PostgreSQL) and PYTHONPATH
from tests.bench import harness

DAYS = 14
END = date(2026, 1, 15)
BUCKET = "bench-lake"
S3_KEYS = {"login": "bench-access-key", "password": "bench-secret-key"}


def _prepare_airflow(s3_url: str, emulator_url: str) -> None:
    airflow = Path(sys.executable).with_name("airflow")
    subprocess.run([str(airflow), "db", "migrate"], check=True, capture_output=True, timeout=900)
    pools = world.ROOT / "include" / "inventory_lake" / "airflow_pools.json"
    subprocess.run([str(airflow), "pools", "import", str(pools)], check=True, capture_output=True)
    os.environ.update(
        {
            "AIRFLOW_CONN_HARAVAN_DEFAULT": json.dumps(
                {"conn_type": "http", "host": emulator_url, "password": "demo-haravan-token"}
            ),
            "AIRFLOW_CONN_STOCKY_DEFAULT": json.dumps(
                {
                    "conn_type": "http",
                    "host": emulator_url,
                    "login": "demo-shop.myshopify.com",
                    "password": "demo-stocky-key",
                }
            ),
            "AIRFLOW_CONN_AWS_DEFAULT": json.dumps(
                {
                    "conn_type": "aws",
                    **S3_KEYS,
                    "extra": {"endpoint_url": s3_url, "region_name": "us-east-1"},
                }
            ),
            "AIRFLOW_VAR_INVENTORY_LAKE_URI": f"s3://{BUCKET}",
        }
    )


def _backfill(days: list[date]) -> dict[str, float]:
    """Each day: both extracts, then the facts run their asset events trigger."""
    from tests.inventory_lake.facts.dag_runs import (
        create_asset_triggered_run,
        extract,
        run_existing,
        start_listening,
    )

    facts_dag = "inventory_adjustment_facts"
    start_listening(facts_dag)
    started = time.perf_counter()
    rebuilt = 0
    for day in days:
        extract(day)
        run = run_existing(facts_dag, create_asset_triggered_run(facts_dag))
        assert run.state == "success", (day, run.state)
        rebuilt += sum(1 for ti in run.get_task_instances() if ti.map_index >= 1)
    return {"seconds": round(time.perf_counter() - started, 1), "facts_rebuilds": rebuilt}


def _read(s3: Any, key: str) -> Any:
    import pyarrow.parquet as pq

    return pq.read_table(io.BytesIO(s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()))


def _measure(s3: Any, days: list[date]) -> dict[str, Any]:
    import pyarrow as pa
    import pyarrow.compute as pc

    from include.inventory_lake.settings import FACTS_LINES_PATH, STOCKY_ADJUSTMENTS_PATH

    def key(dataset: str, day: date) -> str:
        return f"{dataset}/shop=default/dt={day.isoformat()}/part-00000.parquet"

    raw_ids = {day: _read(s3, key(STOCKY_ADJUSTMENTS_PATH, day)).column("id") for day in days}
    in_lake = pa.chunked_array(list(raw_ids.values())).combine_chunks()
    lines = missing = missing_in_lake = missing_same_day = 0
    for day in days:
        facts = _read(s3, key(FACTS_LINES_PATH, day))
        stocky = facts.filter(pc.equal(facts.column("source"), "stocky"))
        adjustment_ids = stocky.column("adjustment_id")
        flagged = stocky.column("adjustment_missing")
        lines += stocky.num_rows
        missing += pc.sum(flagged).as_py() or 0
        flagged_ids = adjustment_ids.filter(flagged)
        missing_in_lake += pc.sum(pc.is_in(flagged_ids, value_set=in_lake)).as_py() or 0
        same_day = pc.is_in(adjustment_ids, value_set=raw_ids[day].combine_chunks())
        missing_same_day += stocky.num_rows - (pc.sum(same_day).as_py() or 0)
    return {
        "stocky_lines": lines,
        "adjustment_missing": missing,
        "ratio": round(missing / lines, 4) if lines else None,
        "missing_but_in_lake": missing_in_lake,
        "old_same_day_rule": {
            "adjustment_missing": missing_same_day,
            "ratio": round(missing_same_day / lines, 4) if lines else None,
        },
    }


def main() -> None:
    # Airflow logs to stdout; keep stdout for the figure (one JSON object) by sending fd 1 to
    # stderr while Airflow runs.
    sys.stdout.flush()
    figure_out = os.dup(1)
    os.dup2(2, 1)
    days = [END - timedelta(days=offset) for offset in range(DAYS, 0, -1)]
    emulator_args = ("--days", str(DAYS), "--end", f"{END.isoformat()}T00:00:00Z")
    with harness.s3_server() as s3_server, harness.emulator(*emulator_args) as emulator:
        import boto3

        s3 = boto3.client(
            "s3",
            endpoint_url=s3_server.url,
            region_name="us-east-1",
            aws_access_key_id=S3_KEYS["login"],
            aws_secret_access_key=S3_KEYS["password"],
        )
        s3.create_bucket(Bucket=BUCKET)
        _prepare_airflow(s3_server.url, emulator.url)
        timing = _backfill(days)
        figures = _measure(s3, days)
    sys.stdout.flush()
    os.dup2(figure_out, 1)
    harness.emit(
        "stocky_lines_without_adjustment",
        f"demo data, {DAYS}-day backfill {days[0]}..{days[-1]}: each day both extract DAGs "
        "then the facts run their asset events trigger (dag.test); every Stocky facts line",
        **figures,
        backfill=timing,
    )


if __name__ == "__main__":
    main()
