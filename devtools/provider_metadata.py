"""The project's package metadata, built into the checkout: how Airflow, with the repository
root on PYTHONPATH, finds the `apache_airflow_provider` entry point of pyproject.toml and so
the `haravan` and `stocky` connection types.

It is deliberately not installed into the venv: one venv may serve several checkouts, and an
entry point registered there would make every Airflow command of a checkout without
`include/inventory_lake/provider_info.py` fail at start. A deployment installs the package
(`pip install .`) instead.

    python -m devtools.provider_metadata    # what `make run` and `make test` do
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ENTRY_POINTS = Path("inventory_lake.egg-info") / "entry_points.txt"


def ensure(root: Path = ROOT) -> Path:
    """(Re)build the metadata when it is missing or older than pyproject.toml."""
    entry_points = root / ENTRY_POINTS
    pyproject = root / "pyproject.toml"
    if entry_points.exists() and entry_points.stat().st_mtime >= pyproject.stat().st_mtime:
        return entry_points
    subprocess.run(
        [sys.executable, "-c", "from setuptools import setup; setup()", "--quiet", "egg_info"],
        cwd=root,
        check=True,
        capture_output=True,
        timeout=120,
    )
    entry_points.touch()
    return entry_points


if __name__ == "__main__":
    print(ensure())
