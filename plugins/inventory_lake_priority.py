"""Registers the project's priority weight strategy (`include/inventory_lake/priority.py`):
Airflow only accepts a custom `weight_rule` that a plugin registered; and its listener, which
weighs a run's tasks again when the scheduler starts the run (a reprocessed run's type changes
after its tasks were weighed)."""

from __future__ import annotations

from airflow.plugins_manager import AirflowPlugin

from include.inventory_lake.priority import RunsBeforeBackfills, RunStartReweigher


class InventoryLakePriorityPlugin(AirflowPlugin):
    name = "inventory_lake_priority"
    priority_weight_strategies = [RunsBeforeBackfills]  # noqa: RUF012 (read by Airflow)
    listeners = [RunStartReweigher()]  # noqa: RUF012 (read by Airflow)
