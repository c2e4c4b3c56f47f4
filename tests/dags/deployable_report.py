"""Load the DAGs and plugins from a folder holding only `dags/`, `include/` and `plugins/`
(run with that folder as the working directory and nothing else on the path), and print as
JSON what parsed, what failed and which top-level modules got imported."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

from airflow.dag_processing.dagbag import DagBag

root = Path(sys.argv[1])
before = set(sys.modules)
bag = DagBag(dag_folder=str(root / "dags"))
plugins: dict[str, list[str]] = {}
errors = {path: str(error) for path, error in bag.import_errors.items()}
for path in sorted((root / "plugins").glob("*.py")):
    try:
        spec = importlib.util.spec_from_file_location(f"deployable_plugin_{path.stem}", path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        plugins[path.name] = [
            name
            for name, value in vars(module).items()
            if getattr(value, "name", None)
            and isinstance(value, type)
            and value.__module__ == module.__name__
        ]
    except Exception as error:  # every failure is reported, not raised
        errors[str(path)] = f"{type(error).__name__}: {error}"
imported = sorted({name.split(".")[0] for name in set(sys.modules) - before})
print(
    json.dumps(
        {
            "dags": sorted(bag.dags),
            "plugins": plugins,
            "errors": errors,
            "imported": imported,
            "path": sys.path,
        }
    )
)
