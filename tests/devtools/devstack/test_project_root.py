"""`make run`, `make stop` and `make status` find the checkout they belong to (a move of the
devstack package once sent them looking for `.env` and `dags/` one folder too high)."""

from __future__ import annotations

from pathlib import Path

from devtools.devstack.processes import project_root

ROOT = Path(__file__).resolve().parents[3]


def test_the_stack_finds_the_repository_it_runs_from() -> None:
    root = project_root()
    assert root == ROOT
    assert (root / "dags").is_dir() and (root / ".env.example").is_file()
