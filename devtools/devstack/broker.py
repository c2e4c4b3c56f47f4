"""Redis from the OS package as the Celery broker, run in the foreground as one of the
project's own processes (no system service): loopback only, nothing persisted to disk."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

from devtools.devstack.postgres import PACKAGE_HINT
from devtools.devstack.processes import (
    ProcessStartError,
    ServerProcess,
    spawn,
    stop_pid_group,
)


def start_redis(port: int, work_dir: Path, log_path: Path, timeout_s: float = 30) -> ServerProcess:
    binary = shutil.which("redis-server")
    if binary is None:
        raise SystemExit(f"redis-server was not found: {PACKAGE_HINT}")
    work_dir.mkdir(parents=True, exist_ok=True)
    args = [
        binary, "--bind", "127.0.0.1", "--port", str(port), "--dir", str(work_dir),
        "--save", "", "--appendonly", "no", "--daemonize", "no",
    ]  # fmt: skip
    process = spawn(args, log_path)
    url = f"redis://127.0.0.1:{port}/0"
    deadline = time.monotonic() + timeout_s
    while not _answers_ping(port):
        if process.poll() is not None or time.monotonic() > deadline:
            stop_pid_group(process.pid)
            raise ProcessStartError(f"redis-server did not start on port {port}; log: {log_path}")
        time.sleep(0.1)
    return ServerProcess("redis", process, url, log_path)


def _answers_ping(port: int) -> bool:
    import redis

    try:
        return bool(redis.Redis(host="127.0.0.1", port=port, socket_timeout=1).ping())
    except redis.RedisError:
        return False
