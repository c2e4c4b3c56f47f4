"""`dag.test()` and `airflow dags test` of a DAG with a Deadline Alert, on Airflow 3.3.2.

The upstream bug (apache/airflow#73428; the fix proposed in apache/airflow#73430): `DAG.test()`
builds its scheduler DAG by an in-memory serialize/deserialize round trip, so that DAG's
`deadline` holds the encoded alerts instead of the ids of their `deadline_alert` rows. When
the run succeeds, `DagRun.update_state()` looks each one up by id
(`DeadlineAlertModel.get_by_id`) and fails (`'dict' object has no attribute 'hex'` on SQLite,
`can't adapt type 'dict'` on PostgreSQL): the run's work is done and committed, yet
`dag.test()` raises and `airflow dags test` exits 1.

The workaround: `DAG.test()` runs the DAG with its deadlines set aside (put back afterwards),
so its in-memory scheduler DAG has none and the failing lookup is never reached. Such a run
gets no deadline of its own, which suits a debugging run (nobody should be alerted hours after
it). Only `DAG.test()` changes: the scheduler, backfills and the UI never call it, and the DAG
the DAG processor stores keeps its deadline (tests/dags/test_alerts_on_standalone.py).
Remove this module, and its `install()` in `dag_defaults.freshness_deadline`, once the
project's Airflow includes the upstream fix.
"""

from __future__ import annotations

import functools
from typing import Any

from airflow.sdk import DAG

_MARK = "_inventory_lake_sets_deadlines_aside"


def install() -> None:
    """Make `DAG.test()` set the DAG's deadlines aside while it runs (once per process)."""
    if getattr(DAG.test, _MARK, False):
        return
    upstream_test = DAG.test

    @functools.wraps(upstream_test)
    def test_without_deadlines(self: DAG, *args: Any, **kwargs: Any) -> Any:
        deadlines = self.deadline
        if not deadlines:
            return upstream_test(self, *args, **kwargs)
        self.deadline = None
        try:
            return upstream_test(self, *args, **kwargs)
        finally:
            self.deadline = deadlines

    setattr(test_without_deadlines, _MARK, True)
    DAG.test = test_without_deadlines  # type: ignore[method-assign]
