"""Parse the DAG folder in a fresh interpreter and print what a policy test needs, as JSON."""

from __future__ import annotations

import json
import sys
import time
from datetime import timedelta

from airflow.dag_processing.dagbag import DagBag

before = set(sys.modules)
started = time.perf_counter()
bag = DagBag(dag_folder=sys.argv[1])
elapsed = time.perf_counter() - started
imported = sorted({name.split(".")[0] for name in set(sys.modules) - before})


def seconds(delta: timedelta | None) -> float | None:
    return None if delta is None else delta.total_seconds()


dags = {
    dag_id: {
        "tags": sorted(dag.tags),
        "doc_md": dag.doc_md or "",
        "catchup": dag.catchup,
        "timetable": type(dag.timetable).__name__,
        "start_date": dag.start_date.isoformat() if dag.start_date else None,
        "deadlines": [
            {
                "reference": type(alert.reference).__name__,
                "interval_s": seconds(alert.interval),
                "callback": getattr(alert.callback, "path", None),
            }
            for alert in (dag.deadline if isinstance(dag.deadline, list) else [dag.deadline])
            if alert is not None
        ],
        "tasks": {
            task.task_id: {
                "retries": task.retries,
                "retry_delay_s": seconds(task.retry_delay),
                "retry_exponential_backoff": task.retry_exponential_backoff,
                "execution_timeout_s": seconds(task.execution_timeout),
                "owner": task.owner,
                "pool": task.pool,
            }
            for task in dag.tasks
        },
    }
    for dag_id, dag in bag.dags.items()
}
errors = {path: str(error) for path, error in bag.import_errors.items()}
print(json.dumps({"dags": dags, "errors": errors, "imported": imported, "seconds": elapsed}))
