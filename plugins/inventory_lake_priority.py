"""Registers the project's priority weight strategy (`include/inventory_lake/priority.py`):
Airflow only accepts a custom `weight_rule` that a plugin registered."""

from __future__ import annotations

from airflow.plugins_manager import AirflowPlugin

from include.inventory_lake.priority import RunsBeforeBackfills


class InventoryLakePriorityPlugin(AirflowPlugin):
    name = "inventory_lake_priority"
    priority_weight_strategies = [RunsBeforeBackfills]  # noqa: RUF012 (read by Airflow)
