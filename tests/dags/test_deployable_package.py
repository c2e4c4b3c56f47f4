"""The deployable package is `dags/`, `include/` and `plugins/` alone: they parse and load
without the local tooling (`devtools/`) or the tests, and never import either."""

from __future__ import annotations

import ast
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from tests.dags.test_dag_policy import EXPECTED_DAGS

ROOT = Path(__file__).resolve().parents[2]
DEPLOYED = ("dags", "include", "plugins")
LOCAL_ONLY = ("devtools", "tests")


def test_dags_and_plugins_load_from_the_three_deployed_folders_alone(tmp_path: Path) -> None:
    for folder in DEPLOYED:
        shutil.copytree(
            ROOT / folder, tmp_path / folder, ignore=shutil.ignore_patterns("__pycache__")
        )
    report_script = tmp_path / "deployable_report.py"
    shutil.copy(ROOT / "tests" / "dags" / "deployable_report.py", report_script)
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("AIRFLOW_CONN_", "AIRFLOW_VAR_", "PYTHONPATH"))
        and key != "AIRFLOW__SECRETS__BACKEND"
    }
    result = subprocess.run(
        [sys.executable, "-P", str(report_script), str(tmp_path)],
        cwd=tmp_path,
        env={**env, "PYTHONPATH": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert str(ROOT) not in report["path"], "the repository leaked onto the path"
    assert report["errors"] == {}
    assert set(report["dags"]) == EXPECTED_DAGS
    assert report["plugins"] == {
        "inventory_lake_priority.py": ["InventoryLakePriorityPlugin"],
        "inventory_lake_stale_resume_fix.py": ["InventoryLakeStaleResumeFixPlugin"],
        "inventory_lake_ui.py": ["InventoryLakeUiPlugin"],
    }
    assert set(LOCAL_ONLY).isdisjoint(report["imported"]), report["imported"]


def _imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_no_deployed_module_imports_the_local_tooling_or_the_tests() -> None:
    """Also imports inside functions (task bodies), which parsing alone never runs."""
    offenders = {
        str(path.relative_to(ROOT)): sorted(
            name for name in _imported_modules(path) if name.split(".")[0] in LOCAL_ONLY
        )
        for folder in DEPLOYED
        for path in (ROOT / folder).rglob("*.py")
    }
    assert {path: names for path, names in offenders.items() if names} == {}
    assert not (ROOT / "include" / "inventory_lake" / "emulator").exists()
    assert not (ROOT / "include" / "inventory_lake" / "devstack").exists()
