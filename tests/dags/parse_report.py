"""Parse the DAG folder in a fresh interpreter and print what a policy test needs, as JSON."""

from __future__ import annotations

import json
import sys
import time

from airflow.dag_processing.dagbag import DagBag

before = set(sys.modules)
started = time.perf_counter()
bag = DagBag(dag_folder=sys.argv[1])
elapsed = time.perf_counter() - started
imported = sorted({name.split(".")[0] for name in set(sys.modules) - before})
dags = {
    dag_id: {
        "tags": sorted(dag.tags),
        "doc_md": dag.doc_md or "",
        "catchup": dag.catchup,
        "timetable": type(dag.timetable).__name__,
        "tasks": {
            task.task_id: {"retries": task.retries, "owner": task.owner, "pool": task.pool}
            for task in dag.tasks
        },
    }
    for dag_id, dag in bag.dags.items()
}
errors = {path: str(error) for path, error in bag.import_errors.items()}
print(json.dumps({"dags": dags, "errors": errors, "imported": imported, "seconds": elapsed}))
