"""`make test`'s two workers run each standalone's tests on one worker, so each standalone
starts once (tests/conftest.py groups them; tests/xdist_groups.py says why it must set the
suffix itself)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CONFTEST = """
import os
import pytest
from tests.xdist_groups import in_group

@pytest.fixture(scope="session")
def standalone():
    with open(os.environ["STARTS_FILE"], "a") as starts:
        starts.write(os.environ["PYTEST_XDIST_WORKER"] + "\\n")
    yield

def pytest_collection_modifyitems(config, items):
    for item in items:
        if "standalone" in item.fixturenames:
            in_group(config, item, "standalone")
"""
TESTS = "".join(f"def test_{n}({'standalone' if n % 2 else ''}):\n    pass\n\n" for n in range(12))


def test_a_group_s_session_fixture_starts_on_one_worker_only(tmp_path: Path) -> None:
    (tmp_path / "conftest.py").write_text(CONFTEST)
    (tmp_path / "test_grouped.py").write_text(TESTS)
    starts = tmp_path / "starts"
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-n", "2", "--dist", "loadgroup",
         "-p", "no:cacheprovider", "-c", os.devnull, "--rootdir", str(tmp_path), str(tmp_path)],
        env={**os.environ, "PYTHONPATH": str(ROOT), "STARTS_FILE": str(starts)},
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert run.returncode == 0, run.stdout + run.stderr
    assert "12 passed" in run.stdout
    assert len(starts.read_text().split()) == 1, "the standalone started on each worker"
