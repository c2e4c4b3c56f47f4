"""What every task process of the project imports, imported once ahead of the tasks.

Airflow runs each task in a process forked from an executor worker (LocalExecutor: from the
scheduler's worker processes; the supervisor forks the task runner) and that process imports
what the worker had not: Airflow's task runner and DAG bag, the OpenLineage listener and client,
the project's modules the DAG file and the task body need, pyarrow, boto3/botocore. On a loaded
2-core machine that was about 3 s of every task (docs/benchmarks.md, `extract_task_phases`).

With the scheduler's multiprocessing start method set to `forkserver` and this module in its
preload list (`[scheduler] mp_start_method = forkserver`, `[scheduler] mp_forkserver_preload =
airflow.executors.local_executor,include.inventory_lake.task_preload`; docs/deployment.md), the
forkserver imports all of it once and every worker and task process inherits it copy-on-write.
Only imports run here (and one cache of `inspect` is filled): no client, connection, thread or
file is created, so nothing unsafe to fork is carried into the tasks. A module that fails to
import here is imported again by the task that needs it (multiprocessing ignores a failed
preload), so a slip costs time, not a task.
"""

# ruff: noqa: F401 (imported for their side effect: being in sys.modules)
from __future__ import annotations

import inspect

# Airflow's side of a task process: the runner, the DAG bag it parses the DAG file with, the
# lineage listener (its events and facets) and the lake's connection hook.
import airflow.dag_processing.dagbag
import airflow.providers.amazon.aws.hooks.s3
import airflow.providers.openlineage.plugins.adapter
import airflow.providers.openlineage.plugins.listener
import airflow.sdk.definitions.decorators
import airflow.sdk.execution_time.task_runner
import openlineage.client.event_v2
import openlineage.client.facet_v2

# The project's side: what the DAG files import (each task process parses its DAG file), and
# the extract and facts task bodies (pyarrow, boto3, HTTP), the tasks a first load runs most.
import include.inventory_lake.dag_defaults
import include.inventory_lake.extract.tasks
import include.inventory_lake.facts.tasks
import include.inventory_lake.lineage.operators
import include.inventory_lake.push.approval
import include.inventory_lake.push.options
import include.inventory_lake.tags

__all__: list[str] = []

# The AWS hook puts its caller in the S3 client's user agent through inspect.stack(), whose
# first call in a process maps the file of every loaded module (about 25,000 stat calls once
# all of the above is loaded, 0.3 s idle, more under load): mapped here once, for every task.
inspect.getmodule(inspect.currentframe())
