"""The process contract: ready file, signals, credentials from flags and environment."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from tests.devtools.emulator.helpers import (
    ADJUSTMENTS,
    DATA_ARGS,
    ROOT,
    STOCKY_ITEMS,
    TIMEOUT,
    start,
    stop,
)


def _wait_ready(path: Path, process: subprocess.Popen[bytes]) -> dict[str, object]:
    deadline = time.monotonic() + 60  # a bound on a hung start, not an expected time
    while not path.exists():
        assert process.poll() is None, "emulator exited early"
        assert time.monotonic() < deadline, "emulator did not become ready"
        time.sleep(0.01)
    data: dict[str, object] = json.loads(path.read_text())
    return data


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_ready_file_then_clean_exit_on_signal(tmp_path: Path, signum: int) -> None:
    ready = tmp_path / "sub" / "ready.json"
    process = subprocess.Popen(
        [sys.executable, "-m", "devtools.emulator", "--ready-file", str(ready)],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stderr=subprocess.DEVNULL,
    )
    try:
        data = _wait_ready(ready, process)
        session = requests.Session()  # a keep-alive connection stays open during shutdown
        health = session.get(f"{data['url']}/_admin/health", timeout=TIMEOUT)
        process.send_signal(signum)
        code = process.wait(timeout=5)
    finally:
        if process.poll() is None:
            process.kill()
    assert data == {
        "port": data["port"],
        "pid": process.pid,
        "url": f"http://127.0.0.1:{data['port']}",
    }
    assert health.json() == {"ok": True}
    assert code == 0
    assert [p.name for p in ready.parent.iterdir()] == ["ready.json"]


def test_credentials_flags_override_env_override_defaults(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "EMULATOR_HARAVAN_TOKEN": "env-token",
        "EMULATOR_STOCKY_KEY": "env-key",
    }
    process, url = start(tmp_path, [*DATA_ARGS, "--stocky-key", "flag-key"], env=env)
    try:

        def haravan(token: str) -> int:
            headers = {"Authorization": f"Bearer {token}"}
            return requests.get(url + ADJUSTMENTS, headers=headers, timeout=TIMEOUT).status_code

        def stocky(key: str) -> int:
            headers = {"Store-Name": "demo-shop.myshopify.com", "Authorization": f"API KEY={key}"}
            return requests.get(url + STOCKY_ITEMS, headers=headers, timeout=TIMEOUT).status_code

        assert (haravan("env-token"), haravan("demo-haravan-token")) == (200, 401)
        assert (stocky("flag-key"), stocky("env-key"), stocky("demo-stocky-key")) == (200, 401, 401)
    finally:
        assert stop(process) == 0


def test_end_as_a_date_and_limits_from_flags(tmp_path: Path) -> None:
    args = ["--end", "2026-01-15", "--days", "1", "--max-limit", "7", "--bucket-size", "2"]
    process, url = start(tmp_path, args)
    try:
        info = requests.get(url + "/_admin/info", timeout=TIMEOUT).json()
        headers = {"Authorization": "Bearer demo-haravan-token"}
        page = requests.get(url + ADJUSTMENTS, headers=headers, timeout=TIMEOUT)
    finally:
        stop(process)
    assert info["knobs"]["end"] == "2026-01-15T00:00:00Z"
    assert info["limits"]["max_limit"] == 7
    assert len(page.json()["adjustments"]) == 7
    assert page.headers["X-Haravan-Api-Call-Limit"] == "1/2"


def test_bad_arguments_exit_non_zero(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "devtools.emulator", "--end", "soon"],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        timeout=30,
    )
    assert result.returncode == 2 and b"--end" in result.stderr


def test_verbose_logs_one_line_per_request(tmp_path: Path) -> None:
    process, url = start(tmp_path, [*DATA_ARGS, "--verbose"])
    headers = {"Authorization": "Bearer demo-haravan-token"}
    requests.get(url + ADJUSTMENTS, params={"limit": 1}, headers=headers, timeout=TIMEOUT)
    requests.get(url + ADJUSTMENTS, timeout=TIMEOUT)
    stop(process)
    [log] = tmp_path.glob("*.log")
    lines = [line for line in log.read_text().splitlines() if ADJUSTMENTS in line]
    assert len(lines) == 2
    assert " 200 " in lines[0] and " 401 " in lines[1]
    assert "demo-haravan-token" not in log.read_text()
