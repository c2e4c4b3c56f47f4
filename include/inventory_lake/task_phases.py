"""Where a task's own code spends its time, for the `extract_task_phases` benchmark
(tests/bench/bench_extract_task_phases.py): off unless the environment sets
`INVENTORY_LAKE_TASK_PHASES=1`; on, each phase logs one line `task phase <name>: <seconds> s`,
which the benchmark reads back from the task log next to Airflow's own lines (start-up, DAG
file parse, lineage, XCom). Off, a phase costs one environment lookup."""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager

log = logging.getLogger(__name__)

PHASES_ENV = "INVENTORY_LAKE_TASK_PHASES"
# The benchmark finds the lines by this prefix: `task phase <name>: <seconds> s`.
LINE_PREFIX = "task phase "


@contextmanager
def phase(name: str) -> Iterator[None]:
    """Time the block as phase `name` of the running task (when turned on)."""
    if os.environ.get(PHASES_ENV) != "1":
        yield
        return
    started = time.perf_counter()
    try:
        yield
    finally:
        log.info("%s%s: %.3f s", LINE_PREFIX, name, time.perf_counter() - started)
