"""Starting emulator processes and talking to them, for the emulator's own tests."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parents[3]
TIMEOUT = 10.0
END = "2026-01-15T00:00:00Z"
DATA_ARGS = ("--seed", "42", "--end", END, "--days", "5")
HARAVAN_TOKEN = "demo-haravan-token"
STOCKY_STORE = "demo-shop.myshopify.com"
STOCKY_KEY = "demo-stocky-key"
HARAVAN_AUTH = {"Authorization": f"Bearer {HARAVAN_TOKEN}"}
STOCKY_AUTH = {"Store-Name": STOCKY_STORE, "Authorization": f"API KEY={STOCKY_KEY}"}
ADJUSTMENTS = "/com/inventories/adjustments.json"
COUNT = "/com/inventories/adjustments/count.json"
CREATE = "/com/inventories/adjustorset.json"
LOCATIONS = "/com/inventory_locations.json"
STOCKY_ADJUSTMENTS = "/api/v2/stock_adjustments.json"
STOCKY_ITEMS = "/api/v2/stock_adjustment_items.json"


def start(
    run_dir: Path, args: Sequence[str], env: dict[str, str] | None = None
) -> tuple[subprocess.Popen[bytes], str]:
    name = f"emulator-{time.monotonic_ns()}"
    ready = run_dir / f"{name}.ready.json"
    log = run_dir / f"{name}.log"
    environment = dict(os.environ if env is None else env)
    environment["PYTHONPATH"] = str(ROOT)
    command = [sys.executable, "-m", "devtools.emulator", "--port", "0"]
    with log.open("wb") as stderr:
        process = subprocess.Popen(
            [*command, "--ready-file", str(ready), *args],
            cwd=ROOT,
            env=environment,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
        )
    deadline = time.monotonic() + 60  # a bound on a hung start, not an expected time
    while not ready.exists():
        if process.poll() is not None:
            raise RuntimeError(f"emulator exited with {process.returncode}: {log.read_text()}")
        if time.monotonic() > deadline:
            stop(process)
            raise RuntimeError("emulator did not become ready")
        time.sleep(0.02)
    return process, str(json.loads(ready.read_text())["url"])


def stop(process: subprocess.Popen[bytes]) -> int:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    return process.returncode


class EmulatorClient:
    def __init__(self, url: str) -> None:
        self.url = url
        self.session = requests.Session()

    def close_session(self) -> None:
        self.session.close()
        self.session = requests.Session()

    def haravan(self, path: str, **params: Any) -> requests.Response:
        return self.session.get(
            self.url + path, params=params, headers=HARAVAN_AUTH, timeout=TIMEOUT
        )

    def haravan_post(self, body: Any, path: str = CREATE) -> requests.Response:
        return self.session.post(self.url + path, json=body, headers=HARAVAN_AUTH, timeout=TIMEOUT)

    def stocky(self, path: str, **params: Any) -> requests.Response:
        return self.session.get(
            self.url + path, params=params, headers=STOCKY_AUTH, timeout=TIMEOUT
        )

    def admin_get(self, path: str, **params: Any) -> Any:
        response = requests.get(f"{self.url}/_admin/{path}", params=params, timeout=TIMEOUT)
        response.raise_for_status()
        return response.json()

    def admin_post(self, path: str, body: Any = None) -> Any:
        response = requests.post(f"{self.url}/_admin/{path}", json=body or {}, timeout=TIMEOUT)
        response.raise_for_status()
        return response.json()

    def faults(self, **config: Any) -> None:
        self.admin_post("faults", config)

    def truth(self) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self.admin_get("truth/haravan/adjustments")
        return result

    def stock_row(self, location_id: int, variant_id: int) -> dict[str, Any]:
        rows: list[dict[str, Any]] = self.admin_get("stock")
        return next(r for r in rows if (r["loc_id"], r["variant_id"]) == (location_id, variant_id))
