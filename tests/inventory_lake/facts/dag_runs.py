"""Run the facts and warehouse DAGs the way the scheduler would: on the asset events the
upstream runs recorded, or manually with params. Shared by their DAG tests."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from tests.airflow_runs import ROOT, interval_end, run_dag


def extract(day: date) -> None:
    """Both extract DAGs for `day`, against the emulator."""
    for dag_id in ("haravan_adjustments_extract", "stocky_adjustments_extract"):
        assert run_dag(dag_id, day).state == "success", dag_id


def load_dag(dag_id: str) -> Any:
    """A freshly parsed DAG: dag.test(run_conf=…) leaves the conf in the DAG object's params,
    so a parsed DAG is never reused across runs."""
    from airflow.dag_processing.dagbag import DagBag

    dag = DagBag(dag_folder=str(ROOT / "dags" / f"{dag_id}.py")).get_dag(dag_id)
    assert dag is not None, dag_id
    return dag


def run_manual(dag_id: str, day: date, conf: dict[str, Any] | None = None) -> Any:
    """A manual run for the daily interval `day`, with optional params."""
    return load_dag(dag_id).test(logical_date=interval_end(day), run_conf=conf)


def task_states(run: Any) -> dict[tuple[str, int], str]:
    return {(ti.task_id, ti.map_index): ti.state for ti in run.get_task_instances()}


def sync_dags() -> None:
    """What the DAG processor does: the DAG files, parsed, into the metadata database."""
    from airflow.dag_processing.bundles.manager import DagBundlesManager
    from airflow.dag_processing.dagbag import BundleDagBag, sync_bag_to_db

    manager = DagBundlesManager()
    manager.sync_bundles_to_db()
    for bundle in manager.get_all_dag_bundles():
        bundle.initialize()
        bag = BundleDagBag(dag_folder=bundle.path, bundle_path=bundle.path, bundle_name=bundle.name)
        sync_bag_to_db(bag, bundle.name, bundle.version)


def start_listening(dag_id: str) -> None:
    """Deploy `dag_id` now: unpaused (a paused DAG gets no asset-triggered runs) and scheduling
    on its Assets from now on, so asset events of earlier tests are not in its first run (nor
    the events they left queued for it)."""
    from airflow.models.asset import AssetDagRunQueue, DagScheduleAssetReference
    from airflow.models.dag import DagModel
    from airflow.models.dagrun import DagRun
    from airflow.sdk import timezone
    from airflow.utils.session import create_session
    from sqlalchemy import delete, update

    sync_dags()
    with create_session() as session:
        unpaused = session.execute(
            update(DagModel).where(DagModel.dag_id == dag_id).values(is_paused=False)
        )
        assert unpaused.rowcount == 1, f"{dag_id} is not in the metadata database"
        session.execute(
            update(DagScheduleAssetReference)
            .where(DagScheduleAssetReference.dag_id == dag_id)
            .values(created_at=timezone.utcnow())
        )
        session.execute(delete(AssetDagRunQueue).where(AssetDagRunQueue.target_dag_id == dag_id))
        # The scheduler takes a run's events from after the previous asset-triggered run;
        # those of earlier tests would otherwise count as new ones.
        session.execute(
            delete(DagRun).where(DagRun.dag_id == dag_id, DagRun.run_type == "asset_triggered")
        )


def create_asset_triggered_run(dag_id: str) -> str:
    """What the scheduler does on its loop: turn the queued asset events into a run."""
    from airflow.jobs.job import Job
    from airflow.jobs.scheduler_job_runner import SchedulerJobRunner
    from airflow.models.dag import DagModel
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        dag_model = session.scalar(select(DagModel).where(DagModel.dag_id == dag_id))
        SchedulerJobRunner(job=Job())._create_dag_runs_asset_triggered(
            dag_models=[dag_model], session=session
        )
        session.flush()
        runs = session.scalars(
            select(DagRun).where(
                DagRun.dag_id == dag_id,
                DagRun.run_type == "asset_triggered",
                DagRun.state == "queued",
            )
        ).all()
        assert len(runs) == 1, runs
        return str(runs[0].run_id)


def create_backfill(
    dag_id: str,
    first: date,
    last: date,
    reprocess_behavior: str | None = None,
    conf: dict[str, Any] | None = None,
) -> list[str]:
    """What Trigger → Backfill in the UI does (the same function behind the REST API and
    CLI), with the dialog's Reprocess Behavior (`completed`: All Runs) and run configuration
    (None: "Override parameters on existing runs" unticked); returns the run ids it queued,
    oldest first."""
    from airflow.models.backfill import ReprocessBehavior, _create_backfill
    from airflow.models.dagrun import DagRun
    from airflow.sdk import timezone
    from airflow.utils.session import create_session
    from sqlalchemy import select

    start = timezone.datetime(first.year, first.month, first.day)
    end = timezone.datetime(last.year, last.month, last.day)
    backfill = _create_backfill(
        dag_id=dag_id,
        from_date=start,
        to_date=end,
        max_active_runs=2,
        reverse=False,
        dag_run_conf=conf,
        triggering_user_name="test",
        reprocess_behavior=ReprocessBehavior(reprocess_behavior) if reprocess_behavior else None,
    )
    with create_session() as session:
        runs = session.scalars(
            select(DagRun)
            .where(DagRun.dag_id == dag_id, DagRun.backfill_id == backfill.id)
            .order_by(DagRun.logical_date)
        ).all()
        return [str(run.run_id) for run in runs]


def complete_backfills(dag_id: str) -> None:
    """What the scheduler does once a backfill's runs ended: mark it completed (Airflow allows
    one running backfill per DAG, so the next test's backfill needs it)."""
    from airflow.models.backfill import Backfill
    from airflow.sdk import timezone
    from airflow.utils.session import create_session
    from sqlalchemy import update

    with create_session() as session:
        session.execute(
            update(Backfill)
            .where(Backfill.dag_id == dag_id, Backfill.completed_at.is_(None))
            .values(completed_at=timezone.utcnow())
        )


def start_queued_runs(dag_id: str) -> None:
    """What the scheduler does on its loop for `dag_id`, as if unpaused: start its queued runs
    (and tell the listeners)."""
    from airflow.jobs.job import Job
    from airflow.jobs.scheduler_job_runner import SchedulerJobRunner
    from airflow.models.dag import DagModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        dag = session.scalar(select(DagModel).where(DagModel.dag_id == dag_id))
        assert dag is not None, f"{dag_id} is not in the metadata database"
        paused, dag.is_paused = dag.is_paused, False
        session.flush()
        SchedulerJobRunner(job=Job())._start_queued_dagruns(session)
        dag.is_paused = paused


def run_existing(dag_id: str, run_id: str) -> Any:
    """Execute a run the scheduler created with dag.test()'s in-process loop (dag.test only
    creates manual runs itself, so it is handed this one instead)."""
    from unittest import mock

    from airflow.models.dagrun import DagRun
    from airflow.utils.state import DagRunState
    from sqlalchemy import select

    def the_scheduled_run(*, dag: Any, session: Any, start_date: datetime, **_: Any) -> DagRun:
        run = session.scalar(select(DagRun).where(DagRun.run_id == run_id))
        run.dag, run.state, run.start_date = dag, DagRunState.RUNNING, start_date
        session.commit()
        return run

    with mock.patch("airflow.models.dagrun.get_or_create_dagrun", the_scheduled_run):
        return load_dag(dag_id).test()
