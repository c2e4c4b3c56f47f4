"""What every benchmark shares: the local servers, the machine description, figure output."""

from __future__ import annotations

import json
import os
import platform
import resource
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from devtools.devstack.processes import (
    ServerProcess,
    free_port,
    start_emulator,
    start_s3_server,
    stop_pid_group,
)


def machine() -> dict[str, Any]:
    return {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
    }


def emit(figure: str, workload: str, **values: Any) -> None:
    """One JSON object per figure on stdout: what was measured, on what, and the numbers."""
    print(json.dumps({"figure": figure, "workload": workload, **values, "machine": machine()}))
    sys.stdout.flush()


def peak_rss_mb() -> float:
    """Peak resident set size of this process so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@contextmanager
def s3_server() -> Iterator[ServerProcess]:
    with tempfile.TemporaryDirectory(prefix="bench-s3-") as tmp:
        server = start_s3_server(free_port(), Path(tmp) / "s3.log")
        try:
            yield server
        finally:
            stop_pid_group(server.pid)


@contextmanager
def emulator(*args: str) -> Iterator[ServerProcess]:
    with tempfile.TemporaryDirectory(prefix="bench-emulator-") as tmp:
        server = start_emulator(free_port(), Path(tmp), Path(tmp) / "emulator.log", args)
        try:
            yield server
        finally:
            stop_pid_group(server.pid)
