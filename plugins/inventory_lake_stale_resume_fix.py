"""Registers the stopgaps for two Airflow 3.3.2 races that lose an approval answered at once:
- the stale-success race (a task resumed at once failed as killed externally and retried):
  `include/inventory_lake/upstream_fixes/stale_resume_fix.py`;
- the parked-answer race (an answer given while the task parks is stored but never resumes
  it): `include/inventory_lake/upstream_fixes/parked_answer_fix.py`.
Each module says what it does and when it can go. Listeners, so that they act in the scheduler
only, when the scheduler job starts."""

from __future__ import annotations

from airflow.plugins_manager import AirflowPlugin

from include.inventory_lake.upstream_fixes import parked_answer_fix, stale_resume_fix


class InventoryLakeStaleResumeFixPlugin(AirflowPlugin):
    name = "inventory_lake_stale_resume_fix"
    listeners = [stale_resume_fix, parked_answer_fix]  # noqa: RUF012 (read by Airflow)
