"""Import the task preload in a fresh interpreter, then what a task process imports (every DAG
file, the extract and facts task bodies), and print what the preload left to import, as JSON."""

from __future__ import annotations

import importlib
import json
import runpy
import sys
import threading
from pathlib import Path

importlib.import_module("include.inventory_lake.task_preload")
threads_after_preload = threading.active_count()
preloaded = set(sys.modules)
for dag_file in sorted((Path(sys.argv[1]) / "dags").glob("*.py")):
    runpy.run_path(str(dag_file), run_name=f"dag_file_{dag_file.stem}")
for module in ("include.inventory_lake.extract.tasks", "include.inventory_lake.facts.tasks"):
    importlib.import_module(module)
print(
    json.dumps(
        {
            "threads_after_preload": threads_after_preload,
            "preloaded": sorted(preloaded),
            "left_to_import": sorted(set(sys.modules) - preloaded),
        }
    )
)
