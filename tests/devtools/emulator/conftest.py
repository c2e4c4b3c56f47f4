"""A real emulator process per test module, reset to its seeded data before every test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.devtools.emulator.helpers import DATA_ARGS, EmulatorClient, start, stop


@pytest.fixture(scope="module")
def emulator_process(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmulatorClient]:
    run_dir: Path = tmp_path_factory.mktemp("emulator")
    process, url = start(run_dir, DATA_ARGS)
    try:
        yield EmulatorClient(url)
    finally:
        stop(process)


@pytest.fixture()
def emu(emulator_process: EmulatorClient) -> Iterator[EmulatorClient]:
    """The module's emulator with fresh data, default limits, no faults, empty journal."""
    emulator_process.admin_post("reset")
    yield emulator_process
    emulator_process.close_session()
