"""Registers the stopgap for Airflow 3.3.2's stale-success race (a task resumed at once, e.g.
an approval answered within seconds, failed as killed externally and retried):
`include/inventory_lake/upstream_fixes/stale_resume_fix.py` says what it does and when it can
go. A listener, so that it acts in the scheduler only, when the scheduler job starts."""

from __future__ import annotations

from airflow.plugins_manager import AirflowPlugin

from include.inventory_lake.upstream_fixes import stale_resume_fix


class InventoryLakeStaleResumeFixPlugin(AirflowPlugin):
    name = "inventory_lake_stale_resume_fix"
    listeners = [stale_resume_fix]  # noqa: RUF012 (read by Airflow)
