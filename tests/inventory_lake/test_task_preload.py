"""The forkserver's preload (include/inventory_lake/task_preload.py) leaves a task process
nothing heavy to import, starts no thread and looks nothing up; the local stack schedules
tasks from it."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from devtools.devstack.stack import TASK_STARTUP_SETTINGS
from tests.fresh_interpreter import json_report

ROOT = Path(__file__).resolve().parents[2]
REPORT = ROOT / "tests" / "task_preload_report.py"
# What a task process imported by itself before the preload, and took seconds on a busy machine.
HEAVY = (
    "airflow.sdk.execution_time.task_runner",
    "airflow.dag_processing.dagbag",
    "airflow.providers.openlineage.plugins.listener",
    "airflow.providers.amazon.aws.hooks.s3",
    "openlineage.client",
    "pyarrow.parquet",
    "boto3",
    "botocore.client",
    "requests",
    "include.inventory_lake.extract.tasks",
    "include.inventory_lake.facts.tasks",
)


def test_preload_leaves_a_task_process_nothing_heavy_to_import() -> None:
    # A secrets backend refusing every lookup: the forkserver has no connection to look up.
    report = json_report(REPORT, str(ROOT), PYTHONPATH=str(ROOT))
    assert report["threads_after_preload"] == 1  # nothing running that a fork would cut off
    assert set(HEAVY) <= set(report["preloaded"])
    # Every DAG file and the extract and facts task bodies: nothing left for a task to import
    # (a module named here belongs in task_preload.py).
    assert report["left_to_import"] == []


def test_the_local_stack_forks_tasks_from_the_preloaded_forkserver() -> None:
    assert TASK_STARTUP_SETTINGS["AIRFLOW__SCHEDULER__MP_START_METHOD"] == "forkserver"
    preload = TASK_STARTUP_SETTINGS["AIRFLOW__SCHEDULER__MP_FORKSERVER_PRELOAD"].split(",")
    assert "include.inventory_lake.task_preload" in preload
    # multiprocessing skips a preload module that fails to import, silently: each must exist.
    assert all(importlib.util.find_spec(module) for module in preload)
