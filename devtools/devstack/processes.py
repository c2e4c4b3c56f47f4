"""Start, wait for and stop the local server processes the stack and the tests rely on."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import requests

# (connect, read) timeouts of a call to one of the local servers the stack and the tests start
# (Airflow's API, the emulator). A server that is not listening refuses at once, and one whose
# process is alive accepts in well under the connect timeout however busy the machine is (the
# kernel accepts). Its answer then comes when the process gets the CPU: a call that takes a
# second on an idle machine takes tens of seconds at a load average of 10-20 on 2 cores (a GET
# of Airflow's backfills/<id> went past 30 s at 18), so the read timeout is only a cap on a hung
# server, not an expectation of how fast it answers.
LOCAL_HTTP_TIMEOUT_S = (30.0, 300.0)


class ProcessStartError(RuntimeError):
    """A server process died or did not become ready in time."""


@dataclass(frozen=True)
class ServerProcess:
    name: str
    process: subprocess.Popen[bytes]
    url: str
    log_path: Path

    @property
    def pid(self) -> int:
        return self.process.pid


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_is_open(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def spawn(
    args: Sequence[str],
    log_path: Path,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
) -> subprocess.Popen[bytes]:
    """Start a process in its own session so that stopping it also stops its children."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("ab") as log:
        return subprocess.Popen(
            list(args),
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            cwd=cwd,
            start_new_session=True,
        )


def _tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def wait_for_http(
    process: subprocess.Popen[bytes], url: str, log_path: Path, timeout_s: float = 60.0
) -> None:
    """Until `url` answers (any status) while `process` lives. Before the server listens, a
    probe is refused at once; once it listens, the probe waits for its answer, however late a
    busy machine makes it, within the deadline (a cap on a hung start)."""
    deadline = time.monotonic() + timeout_s
    while (remaining := deadline - time.monotonic()) > 0:
        if process.poll() is not None:
            raise ProcessStartError(
                f"{process.args!r} exited with {process.returncode} before {url} answered; "
                f"last log lines:\n{_tail(log_path)}"
            )
        try:
            requests.get(url, timeout=(1.0, remaining))
            return
        except requests.RequestException:
            time.sleep(0.1)
    raise ProcessStartError(f"{url} did not answer within {timeout_s:.0f}s; log: {log_path}")


def wait_for_ready_file(
    process: subprocess.Popen[bytes], ready_file: Path, log_path: Path, timeout_s: float = 60.0
) -> dict[str, object]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if ready_file.exists():
            data: dict[str, object] = json.loads(ready_file.read_text())
            return data
        if process.poll() is not None:
            raise ProcessStartError(
                f"{process.args!r} exited with {process.returncode} before it was ready; "
                f"last log lines:\n{_tail(log_path)}"
            )
        time.sleep(0.05)
    raise ProcessStartError(f"{ready_file} did not appear within {timeout_s:.0f}s; log: {log_path}")


def start_s3_server(port: int, log_path: Path) -> ServerProcess:
    """moto's standalone S3-protocol server, as a separate process on loopback."""
    moto_server = Path(sys.executable).with_name("moto_server")
    process = spawn([str(moto_server), "-H", "127.0.0.1", "-p", str(port)], log_path)
    url = f"http://127.0.0.1:{port}"
    wait_for_http(process, f"{url}/moto-api/", log_path)
    return ServerProcess("s3", process, url, log_path)


def start_emulator(
    port: int, run_dir: Path, log_path: Path, extra_args: Sequence[str] = ()
) -> ServerProcess:
    ready_file = run_dir / f"emulator-{port}.ready.json"
    ready_file.unlink(missing_ok=True)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(project_root()), env.get("PYTHONPATH")]))
    process = spawn(
        [
            sys.executable,
            "-m",
            "devtools.emulator",
            "--port",
            str(port),
            "--ready-file",
            str(ready_file),
            *extra_args,
        ],
        log_path,
        env=env,
    )
    ready = wait_for_ready_file(process, ready_file, log_path)
    return ServerProcess("emulator", process, str(ready["url"]), log_path)


def stop_pid_group(pid: int, timeout_s: float = 15.0) -> bool:
    """SIGTERM the process group led by pid, then SIGKILL what is left. True if it was running."""
    try:
        os.killpg(pid, signal.SIGTERM)
    except ProcessLookupError:
        return False
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            os.killpg(pid, 0)
        except ProcessLookupError:
            return True
        _reap(pid)
        time.sleep(0.1)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGKILL)
    _reap(pid)
    return True


def _reap(pid: int) -> None:
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)


def project_root() -> Path:
    return Path(__file__).resolve().parents[2]
