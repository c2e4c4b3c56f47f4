"""Where one task's time goes, phase by phase, in real runs on `airflow standalone`.

The world of `backfill_from_scheduler` (two shops, each on its own emulator with Haravan's real
bucket, LocalExecutor, PostgreSQL), shrunk: the Haravan extract backfilled over a few days
(`INVENTORY_LAKE_BENCH_DAYS`, default 6; `INVENTORY_LAKE_BENCH_PER_DAY`, default 2,000;
`INVENTORY_LAKE_BENCH_MAX_ACTIVE_RUNS`, default the UI's 10) with the facts DAG unpaused, so
the extracts' Asset events start its builds. With `INVENTORY_LAKE_TASK_PHASES=1` the tasks log
their own phases (include/inventory_lake/task_phases.py); the rest comes from the timestamps
of Airflow's own task-log lines and the task instances' start and end:

- process_start: TI start (the supervisor asked the API server to run it) -> "Pre Execute"
  (the forked task process imported Airflow's task runner);
- bundle_and_imports: -> "DAG bundles loaded" (the wait for the supervisor's startup message,
  which follows its call to the API server that marks the task running; the DAG bag's imports);
- dag_file_parse: -> "Worker startup parse complete" (the DAG file and what it imports);
- lineage_start: -> end of Pre Execute (listeners' on_running: OpenLineage's START event);
- task_imports: -> the task's first own phase (the task body's imports);
- each `task phase` the task logs (connection and Variable lookups, lake listing and markers,
  API pages into Parquet, upload and commit, ...); api_s: the calls' own time, from the HTTP
  client's lines, and the waits for the shop's bucket, both part of "api pages into parquet";
  the AWS connection lookup, part of "s3 client";
- task_rest: the task's code outside its phases;
  (a task without phases of its own: task_code, the whole body);
- xcom_and_lineage_complete: "Done. Returned value" -> end of Post Execute (XCom push, one
  call to the API server, then OpenLineage's COMPLETE event).

Figures (one JSON object, `extract_task_phases`): extract_task_s_median, shops_task_s_median,
facts_task_s_median (TI durations, as the UI shows them), and per task the median seconds of
each phase with its share of task_process_s (TI start to the end of Post Execute, what holds
the worker; after_reported_end_s of it comes after the TI's reported end).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from devtools.devstack.stack import StackPaths
from include.inventory_lake.task_phases import LINE_PREFIX, PHASES_ENV
from tests.bench import harness
from tests.bench.bench_backfill_from_scheduler import (
    DAG_ID,
    ROOT,
    UI_MAX_ACTIVE_RUNS,
    Workload,
    _airflow_settings,
    _servers,
    median,
    standalone,
    task_instances,
    workload_task_instances,
)

FACTS_DAG_ID = "inventory_adjustment_facts"
# task id -> the name of its figures
TASKS = {"extract_adjustments": "extract", "shops": "shops", "build_partition": "facts"}
CALL_LINE = re.compile(r"^GET \S+ .* -> \d+ in (\d+) ms")
PHASE_LINE = re.compile(rf"^{LINE_PREFIX}(.+): ([0-9.]+) s$")
PACING = re.compile(r"^Haravan extract done: .*'pacing_wait_s': ([0-9.]+)")
# The AWS hook logs this once it has the connection, before it builds the client.
AWS_CONNECTION_LINE = "AWS Connection (conn_id="
MAX_ACTIVE_RUNS_ENV = "INVENTORY_LAKE_BENCH_MAX_ACTIVE_RUNS"


def _when(stamp: str) -> float:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


def _log_path(logs: Path, instance: dict[str, Any]) -> Path:
    folder = (
        logs
        / f"dag_id={instance['dag_id']}"
        / f"run_id={instance['dag_run_id']}"
        / f"task_id={instance['task_id']}"
    )
    if instance["map_index"] >= 0:
        folder /= f"map_index={instance['map_index']}"
    return folder / f"attempt={instance['try_number']}.log"


def phases_of(instance: dict[str, Any], lines: Sequence[dict[str, Any]]) -> dict[str, float]:
    """The phases of one task instance, in seconds, from its log lines and start/end."""

    def first(event: str, after: float = 0.0) -> float:
        return next(
            _when(line["timestamp"])
            for line in lines
            if line["event"].startswith(event) and _when(line["timestamp"]) >= after
        )

    start = _when(instance["start_date"])
    pre_execute = first("::group::Pre Execute")
    bundles = first("DAG bundles loaded")
    parsed = first("Worker startup parse complete")
    task_start = first("::endgroup::")
    done = first("Done. Returned value")
    post_end = first("::endgroup::", after=done)
    own: dict[str, float] = {}
    connection_at: float | None = None
    first_own_start = done
    api_ms, pacing_s, connection_s = 0, 0.0, None
    for line in lines:
        event = str(line["event"])
        if match := PHASE_LINE.match(event):
            name, seconds = match.group(1), float(match.group(2))
            own[name] = own.get(name, 0.0) + seconds
            first_own_start = min(first_own_start, _when(line["timestamp"]) - seconds)
            if name == "s3 client" and connection_at is not None:
                connection_s = connection_at - (_when(line["timestamp"]) - seconds)
        elif match := CALL_LINE.match(event):
            api_ms += int(match.group(1))
        elif match := PACING.search(event):
            pacing_s += float(match.group(1))
        if event.startswith(AWS_CONNECTION_LINE):
            connection_at = _when(line["timestamp"])
    task_code = (
        {
            "task_imports": first_own_start - task_start,
            **own,
            "task_rest": (done - first_own_start) - sum(own.values()),
        }
        if own
        else {"task_code": done - task_start}
    )
    phases = {
        "process_start": pre_execute - start,
        "bundle_and_imports": bundles - pre_execute,
        "dag_file_parse": parsed - bundles,
        "lineage_start": task_start - parsed,
        **task_code,
        "xcom_and_lineage_complete": post_end - done,
    }
    phases["task_process_s"] = post_end - start
    # The runner reports the task's end (the TI's end_date, its duration) before the
    # listeners' COMPLETE event: that part holds the process but not the TI's duration.
    phases["after_reported_end_s"] = post_end - _when(instance["end_date"])
    if connection_s is not None:
        phases["aws connection lookup (within s3 client)"] = connection_s
    if api_ms:
        phases["api calls (within api pages into parquet)"] = api_ms / 1000
        phases["bucket pacing waits (within api pages into parquet)"] = pacing_s
    return phases


def summarize(per_instance: Sequence[dict[str, float]]) -> dict[str, Any]:
    """Median seconds of each phase, and its share of the median task process's time (TI
    start to the end of Post Execute)."""
    names = list(dict.fromkeys(name for phases in per_instance for name in phases))
    total = median([phases["task_process_s"] for phases in per_instance]) or 0.0
    out: dict[str, Any] = {}
    for name in names:
        seconds = median([phases.get(name) for phases in per_instance]) or 0.0
        out[name] = {"s": round(seconds, 3), "share": round(seconds / total, 3) if total else None}
    return out


def measure(workload: Workload, run_dir: Path, max_active_runs: int) -> dict[str, Any]:
    with _servers(run_dir, workload) as (s3, shops, metadata_db):
        settings = {**_airflow_settings(s3, shops), PHASES_ENV: "1"}
        with standalone(run_dir, settings, metadata_db) as api:
            api.set_paused(DAG_ID, False)
            api.wait_until_idle(timeout_s=600, dag_id=DAG_ID)
            api.set_paused(FACTS_DAG_ID, False)
            api.wait_until_idle(timeout_s=600)
            started = time.monotonic()
            backfill = api.create_backfill(
                DAG_ID, workload.first_day, workload.last_day, max_active_runs=max_active_runs
            )
            api.wait_for_backfill(backfill["id"], timeout_s=3600)
            extract_wall_s = time.monotonic() - started
            api.wait_until_idle(timeout_s=1800)
            instances = workload_task_instances(api, workload) + [
                ti
                for ti in task_instances(api, FACTS_DAG_ID)
                if ti["start_date"] and _when(ti["start_date"]) >= time.time() - 7200
            ]
    paths = StackPaths(ROOT, local_dir=run_dir / "stack")
    logs = paths.airflow_home / "logs"
    figures: dict[str, Any] = {
        "extract_backfill_wall_s": round(extract_wall_s, 1),
        "max_active_runs": max_active_runs,
    }
    for task_id, name in TASKS.items():
        done = [ti for ti in instances if ti["task_id"] == task_id and ti["state"] == "success"]
        per_instance = []
        for ti in done:
            path = _log_path(logs, ti)
            lines = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
            per_instance.append(phases_of(ti, lines))
        durations = [float(ti["duration"]) for ti in done]
        figures[f"{name}_task_s_median"] = median(durations)
        figures[f"{name}_tasks"] = len(done)
        figures[f"{name}_phases"] = summarize(per_instance)
    # Every task run still sends its lineage: one COMPLETE event per successful instance.
    completes = Counter(
        event["job"]["name"].rpartition(".")[2]
        for event in map(json.loads, paths.lineage_events.read_text().splitlines())
        if event.get("eventType") == "COMPLETE"
    )
    figures["lineage_complete_events"] = {task_id: completes[task_id] for task_id in TASKS}
    figures["load_average_1m"] = round(os.getloadavg()[0], 1)
    return figures


def main() -> None:
    workload = Workload(
        days=int(os.environ.get("INVENTORY_LAKE_BENCH_DAYS", "6")),
        per_day=int(os.environ.get("INVENTORY_LAKE_BENCH_PER_DAY", "2000")),
    )
    run_dir = Path(tempfile.mkdtemp(prefix="bench-task-phases-"))
    try:
        max_active_runs = int(os.environ.get(MAX_ACTIVE_RUNS_ENV, str(UI_MAX_ACTIVE_RUNS)))
        figures = measure(workload, run_dir, max_active_runs)
    except BaseException:
        print(f"logs kept in {run_dir}", file=sys.stderr)
        raise
    shutil.rmtree(run_dir, ignore_errors=True)
    harness.emit(
        "extract_task_phases",
        f"{workload.describe()}; then the facts builds the extracts' events start",
        **figures,
    )


if __name__ == "__main__":
    main()
