"""Names shared with schedulers, warehouses and other teams: keep them exactly as they are."""

from __future__ import annotations

import os

HARAVAN_CONN_ID = "haravan_default"
STOCKY_CONN_ID = "stocky_default"
AWS_CONN_ID = "aws_default"
# The Iceberg catalog holding the facts table (include/inventory_lake/iceberg/catalog.py): the
# provider's `iceberg` connection type; its extra `type` picks sql, rest, glue, ...
ICEBERG_CONN_ID = "iceberg_default"
LAKE_URI_VARIABLE = "inventory_lake_uri"
# The shops this deployment serves (include/inventory_lake/shops.py); unset: one shop, `default`.
SHOPS_VARIABLE = "inventory_lake_shops"
# The extract DAGs' param: a backfill extracts a shop's committed day again (backfill_gaps).
REPROCESS_PARAM_NAME = "reprocess"

HARAVAN_POOL = "haravan_api"
STOCKY_POOL = "stocky_api"

OWNER = "data-engineering"

# Lake paths, relative to the lake root held by the `inventory_lake_uri` variable. Each dataset
# holds one folder per shop and, in it, one per day: `<path>/shop=<id>/dt=YYYY-MM-DD/`.
HARAVAN_ADJUSTMENTS_PATH = "raw/haravan/inventory_adjustments"
STOCKY_ADJUSTMENTS_PATH = "raw/stocky/stock_adjustments"
STOCKY_ITEMS_PATH = "raw/stocky/stock_adjustment_items"
# Current state of every Stocky adjustment the lake holds, whichever raw day it landed in.
STOCKY_ADJUSTMENT_INDEX_PATH = "index/stocky_adjustments"
FACTS_LINES_PATH = "facts/inventory_adjustment_lines"
SET_ADJUSTMENTS_STAGING_PATH = "staging/set_adjustments"
SET_ADJUSTMENTS_AUDIT_PATH = "audit/set_adjustments"
# Not a dataset: the facts builds' shared Iceberg commits (`iceberg/group_commit.py`), one
# folder per table.
ICEBERG_COMMIT_REQUESTS_PATH = "state/iceberg_commit_requests"

# --- Alerts (docs/set-adjustments.md, "Alerts and approvers") -------------------------------
# Read from the environment of the Airflow processes, never from the metadata DB: the freshness
# deadline is part of the DAG definition, so it is known when the DAG file is parsed. (Airflow's
# own `VariableInterval` would read a Variable instead, but on Airflow 3.3.2 a missing or
# malformed Variable makes the scheduler refuse to create the run at all: "Failed creating
# DagRun". An alerting knob must never be able to stop the extract it watches.)
#
# INVENTORY_LAKE_FRESHNESS_DEADLINE_S: how long after a day's run is queued (the scheduler
#   queues it when the day ends) its partition must have landed, in seconds. Default 3 hours;
#   0 turns the deadline off. (`dag.test()` and `airflow dags test` run without it:
#   upstream_fixes/dag_test_deadline.py.)
# INVENTORY_LAKE_ALERT_CHANNEL: where alerts go besides the log: `log` (default: the callback or
#   task log plus the `inventory_lake_alert__<kind>__<dag_id>` Variable), `smtp` (also an
#   email through the `smtp_default` connection) or `slack` (also a message through the
#   `slack_alerts` Slack incoming-webhook connection; needs apache-airflow-providers-slack).
# INVENTORY_LAKE_ALERT_EMAILS: comma-separated addresses of the data engineers (`smtp` channel).
_FRESHNESS_DEADLINE_DEFAULT_S = 3 * 60 * 60
FRESHNESS_DEADLINE_S = int(
    os.environ.get("INVENTORY_LAKE_FRESHNESS_DEADLINE_S", "") or _FRESHNESS_DEADLINE_DEFAULT_S
)
ALERT_CHANNEL = os.environ.get("INVENTORY_LAKE_ALERT_CHANNEL", "") or "log"
ALERT_CHANNELS = ("log", "smtp", "slack")
ALERT_EMAILS = tuple(
    address.strip()
    for address in os.environ.get("INVENTORY_LAKE_ALERT_EMAILS", "").split(",")
    if address.strip()
)
SMTP_CONN_ID = "smtp_default"
SLACK_WEBHOOK_CONN_ID = "slack_alerts"
ALERT_RECORD_PREFIX = "inventory_lake_alert"

# Who may answer a push approval: a Variable read by the approval task when it asks (never at
# parse time), comma-separated user ids as the auth manager knows them (SimpleAuthManager: the
# user name), each optionally `id:email` for the `smtp` channel. Unset or empty: any user
# allowed to answer required actions may answer (the previous behaviour), with a warning.
PUSH_APPROVERS_VARIABLE = "inventory_lake_push_approvers"

# --- The facts table's maintenance (include/inventory_lake/iceberg/maintenance.py) -------------
# Variables read by the `inventory_lake_iceberg_maintenance` DAG's task when it runs (unset or
# empty: the default). Snapshots older than the audit window are expired (time travel reaches
# back that far); an unreferenced file is deleted only once older than the safety age (a commit
# in flight has written its files but not published them yet; at least 1 hour).
SNAPSHOT_AUDIT_DAYS_VARIABLE = "inventory_lake_snapshot_audit_days"
SNAPSHOT_AUDIT_DAYS_DEFAULT = 30
ORPHAN_MIN_AGE_HOURS_VARIABLE = "inventory_lake_orphan_min_age_hours"
ORPHAN_MIN_AGE_HOURS_DEFAULT = 24
