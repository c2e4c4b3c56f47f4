"""How long the API emulator takes from process start to its ready file (default data), next
to a bare interpreter's start on the same machine in the same run. A timed assertion in a
test would fail on a loaded machine; here it is a figure."""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from devtools.devstack.processes import free_port, start_emulator, stop_pid_group
from tests.bench.harness import emit

ROUNDS = 5


def _emulator_start_s() -> float:
    with tempfile.TemporaryDirectory(prefix="bench-emulator-start-") as tmp:
        started = time.perf_counter()
        server = start_emulator(free_port(), Path(tmp), Path(tmp) / "emulator.log")
        elapsed = time.perf_counter() - started
        stop_pid_group(server.pid)
    return elapsed


def _bare_interpreter_s() -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", "pass"], check=True)
    return time.perf_counter() - started


def main() -> None:
    emulator = statistics.median(_emulator_start_s() for _ in range(ROUNDS))
    bare = statistics.median(_bare_interpreter_s() for _ in range(ROUNDS))
    emit(
        "emulator_startup",
        f"API emulator, default data, median of {ROUNDS} starts",
        startup_s=round(emulator, 3),
        bare_interpreter_s=round(bare, 3),
        startup_over_bare_interpreter=round(emulator / bare, 1),
    )


if __name__ == "__main__":
    main()
