"""Run the project's DAGs for real: `dag.test()` in-process, or `airflow tasks test` as a
separate process (for failures without waiting for retries, and for kill -9)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import cache
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
AIRFLOW = Path(sys.executable).with_name("airflow")


@cache
def _dag_bag() -> Any:
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(ROOT / "dags"))


def interval_end(day: date) -> datetime:
    """Manual runs of a data-interval DAG take the last full interval before their date."""
    from airflow.sdk import timezone

    return datetime.combine(day + timedelta(days=1), time.min, tzinfo=timezone.utc)


def run_dag(dag_id: str, day: date) -> Any:
    """Run the whole DAG for the daily interval `day` with dag.test(); returns the DagRun."""
    dag = _dag_bag().get_dag(dag_id)
    assert dag is not None, f"DAG {dag_id} not found"
    return dag.test(logical_date=interval_end(day))


def prepare_run(dag_id: str, task_id: str, day: date, env: dict[str, str] | None = None) -> None:
    """A run of `dag_id` for `day` whose other tasks ran (the extracts' `shops` task decided
    the shops) and whose `task_id` instances were only marked done, left for one attempt
    each. A mapped task's instance needs its run's upstream values, which `airflow tasks test`
    alone (a throw-away run) does not have. In this process (its metadata DB), or with `env`
    in another Airflow's (e.g. a standalone's)."""
    if env is None:
        dag = _dag_bag().get_dag(dag_id)
        assert dag is not None, f"DAG {dag_id} not found"
        dag.test(logical_date=interval_end(day), mark_success_pattern=re.escape(task_id))
        return
    command = [str(AIRFLOW), "dags", "test", dag_id, interval_end(day).isoformat()]
    command += ["--mark-success-pattern", re.escape(task_id)]
    subprocess.run(command, env=env, check=True, capture_output=True, timeout=300)


def task_command(
    dag_id: str, task_id: str, day: date, map_index: int = 0, env: dict[str, str] | None = None
) -> list[str]:
    """`airflow tasks test` of one instance of a per-shop task (map index 0: the first shop)
    in a run prepared for it (in `env`'s Airflow when given)."""
    prepare_run(dag_id, task_id, day, env)
    logical_date = interval_end(day).isoformat()
    return [
        str(AIRFLOW),
        "tasks",
        "test",
        dag_id,
        task_id,
        logical_date,
        "--map-index",
        str(map_index),
    ]


@dataclass(frozen=True)
class TaskAttempt:
    output: str

    @property
    def state(self) -> str | None:
        """The state Airflow recorded last for the task instance (success, failed, ...)."""
        states = re.findall(r"new_state=(\w+)", self.output)
        return states[-1] if states else None


def run_task_process(
    dag_id: str, task_id: str, day: date, timeout_s: float = 300, map_index: int = 0
) -> TaskAttempt:
    """One attempt of one (per-shop) task instance in its own process, as a worker would run
    it (no retries).

    `airflow tasks test` exits 0 whatever the task did, so the outcome is read from its log.
    """
    result = subprocess.run(
        task_command(dag_id, task_id, day, map_index),
        env=dict(os.environ),
        capture_output=True,
        text=True,
        timeout=timeout_s,
    )
    return TaskAttempt(result.stdout + result.stderr)


def asset_events(asset_name: str) -> list[dict[str, Any]]:
    """The extras of every event recorded on an Asset, oldest first."""
    from airflow.models.asset import AssetEvent, AssetModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        query = (
            select(AssetEvent.extra)
            .join(AssetModel, AssetEvent.asset_id == AssetModel.id)
            .where(AssetModel.name == asset_name)
            .order_by(AssetEvent.id)
        )
        return [dict(extra) for extra in session.scalars(query)]


def xcom_values(dag_id: str) -> list[Any]:
    """Every XCom value stored for a DAG, deserialised."""
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        return [
            XComModel.deserialize_value(row)
            for row in session.scalars(select(XComModel).where(XComModel.dag_id == dag_id))
        ]


def start_dag_test(
    dag_id: str, logical_date: datetime, conf: dict[str, Any] | None = None
) -> subprocess.Popen[bytes]:
    """A whole run (`airflow dags test`) as a process of its own group, to be killed at will."""
    command = [str(AIRFLOW), "dags", "test", dag_id, logical_date.isoformat()]
    if conf is not None:
        command += ["--conf", json.dumps(conf)]
    return subprocess.Popen(
        command,
        env=dict(os.environ),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def task_state(dag_id: str, run_id: str, task_id: str, map_index: int = -1) -> str | None:
    """The state Airflow recorded for one task instance (None: not scheduled yet)."""
    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        state = session.scalar(
            select(TaskInstance.state).where(
                TaskInstance.dag_id == dag_id,
                TaskInstance.run_id == run_id,
                TaskInstance.task_id == task_id,
                TaskInstance.map_index == map_index,
            )
        )
    return None if state is None else str(state)


def retry_task(dag_id: str, task_id: str, run_id: str, map_index: int = -1) -> str | None:
    """Airflow's retry of one task of an existing run: another attempt with `airflow tasks
    test`, in this process to spare an interpreter start. Returns the state it recorded."""
    from unittest import mock

    from airflow.cli import cli_parser

    command = ["tasks", "test", dag_id, task_id, run_id, "--map-index", str(map_index)]
    with mock.patch.dict(os.environ):  # the command sets AIRFLOW_TEST_MODE
        args = cli_parser.get_parser().parse_args(command)
        args.func(args)
    return task_state(dag_id, run_id, task_id, map_index)


def run_id_at(dag_id: str, logical_date: datetime) -> str:
    """The id of the run of `dag_id` with this logical date."""
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        query = select(DagRun.run_id).where(
            DagRun.dag_id == dag_id, DagRun.logical_date == logical_date
        )
        run_id: str = session.scalars(query).one()
    return run_id
