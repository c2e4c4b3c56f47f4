"""Handles on the server processes the tests run against, with the calls tests make on them."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import boto3
import pytest
import requests

from devtools.devstack.processes import ServerProcess

TIMEOUT_S = 30.0


@dataclass(frozen=True)
class S3Server:
    server: ServerProcess
    bucket: str
    region: str = "us-east-1"
    access_key: str = "test-access-key"
    secret_key: str = "test-secret-key"

    @property
    def url(self) -> str:
        return self.server.url

    def client(self) -> Any:
        return boto3.client(
            "s3",
            endpoint_url=self.url,
            region_name=self.region,
            aws_access_key_id=self.access_key,
            aws_secret_access_key=self.secret_key,
        )

    def keys(self, prefix: str = "") -> list[str]:
        paginator = self.client().get_paginator("list_objects_v2")
        return [
            obj["Key"]
            for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix)
            for obj in page.get("Contents", [])
        ]

    def empty_bucket(self) -> None:
        client = self.client()
        for key in self.keys():
            client.delete_object(Bucket=self.bucket, Key=key)


@dataclass(frozen=True)
class Emulator:
    server: ServerProcess
    haravan_token: str
    stocky_store: str
    stocky_key: str
    data_knobs: dict[str, Any]

    @property
    def url(self) -> str:
        return self.server.url

    def admin_get(self, path: str, **params: Any) -> Any:
        response = requests.get(f"{self.url}/_admin/{path}", params=params, timeout=TIMEOUT_S)
        response.raise_for_status()
        return response.json()

    def admin_post(self, path: str, body: dict[str, Any] | None = None) -> Any:
        response = requests.post(f"{self.url}/_admin/{path}", json=body or {}, timeout=TIMEOUT_S)
        response.raise_for_status()
        return response.json()

    def reset(self, **knobs: Any) -> None:
        """Back to the session's seeded data (or other knobs), no faults, empty journal."""
        self.admin_post("reset", {**self.data_knobs, **knobs})

    def set_faults(self, **config: Any) -> None:
        self.admin_post("faults", config)

    def journal(self) -> dict[str, Any]:
        result: dict[str, Any] = self.admin_get("journal")
        return result

    def haravan_truth(self) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self.admin_get("truth/haravan/adjustments")
        return result


def exact_json(response: requests.Response) -> Any:
    """Parse a body keeping decimals exact, as the pipeline does."""
    return json.loads(response.text, parse_float=Decimal)


def truth(emulator: Emulator, name: str) -> list[dict[str, Any]]:
    """The emulator's full dataset `name` (e.g. `haravan/adjustments`), decimals exact."""
    response = requests.get(f"{emulator.url}/_admin/truth/{name}", timeout=TIMEOUT_S)
    response.raise_for_status()
    result: list[dict[str, Any]] = exact_json(response)
    return result


def on_day(records: list[dict[str, Any]], field: str, day: date) -> list[dict[str, Any]]:
    """The records whose ISO timestamp `field` falls on the UTC day `day`, in their order."""
    start = datetime(day.year, day.month, day.day, tzinfo=UTC)
    end = start + timedelta(days=1)
    return [record for record in records if start <= datetime.fromisoformat(record[field]) < end]


def small_pages(
    monkeypatch: pytest.MonkeyPatch,
    emulator: Emulator,
    page_size: int = 10,
    *,
    api: str = "haravan",
) -> None:
    """Point `<api>_default` at the emulator with small pages: many requests per day, so that
    faults and inserts land in the middle of paging."""
    conn: dict[str, Any] = {"conn_type": "http", "host": emulator.url,
                            "extra": {"page_size": page_size}}  # fmt: skip
    if api == "stocky":
        conn.update(login=emulator.stocky_store, password=emulator.stocky_key)
    else:
        conn.update(password=emulator.haravan_token)
    monkeypatch.setenv(f"AIRFLOW_CONN_{api.upper()}_DEFAULT", json.dumps(conn))


class AirflowApi:
    """Airflow's REST API (what the UI calls) on a running `airflow standalone`."""

    def __init__(
        self,
        url: str,
        password: str,
        user: str = "admin",
        metadata_db: str | None = None,
        env: dict[str, str] | None = None,
    ) -> None:
        self.url = url
        self.metadata_db = metadata_db  # its SQLAlchemy URL, when the test world started it
        self.env = env  # the environment its processes run with, when the test world started it
        self.passwords_file: Path | None = None  # SimpleAuthManager's, when the tests started it
        self.user = user
        self.password = password
        response = requests.post(
            f"{url}/auth/token", json={"username": user, "password": password}, timeout=TIMEOUT_S
        )
        response.raise_for_status()
        self.headers = {"Authorization": f"Bearer {response.json()['access_token']}"}

    def call(
        self,
        method: str,
        path: str,
        body: dict[str, Any] | None = None,
        params: dict[str, Any] | None = None,
        prefix: str = "api/v2",
    ) -> Any:
        """One call of the public API, or (prefix `ui`) of the routes the UI itself calls."""
        response = requests.request(
            method,
            f"{self.url}/{prefix}/{path}",
            json=body,
            params=params,
            headers=self.headers,
            timeout=TIMEOUT_S,
        )
        if not response.ok:
            raise AssertionError(f"{method} {path}: HTTP {response.status_code} {response.text}")
        return response.json() if response.content else None

    def as_user(self, user: str) -> AirflowApi:
        """The same API, logged in as another SimpleAuthManager user of this standalone."""
        assert self.passwords_file is not None, "not a standalone the tests started"
        password = json.loads(self.passwords_file.read_text())[user]
        other = AirflowApi(
            self.url, password, user=user, metadata_db=self.metadata_db, env=self.env
        )
        other.passwords_file = self.passwords_file
        return other

    def request(
        self, method: str, path: str, body: dict[str, Any] | None = None, **params: Any
    ) -> requests.Response:
        """`call` without the status check: for a test that expects a refusal."""
        return requests.request(
            method,
            f"{self.url}/api/v2/{path}",
            json=body,
            params=params or None,
            headers=self.headers,
            timeout=TIMEOUT_S,
        )

    def variable(self, key: str) -> Any | None:
        """The JSON value of Variable `key`, or None while it does not exist."""
        response = self.request("GET", f"variables/{key}")
        if response.status_code == 404:
            return None
        assert response.ok, f"GET variables/{key}: HTTP {response.status_code} {response.text}"
        return json.loads(response.json()["value"])

    def set_paused(self, dag_id: str, paused: bool) -> None:
        self.call("PATCH", f"dags/{dag_id}", {"is_paused": paused})

    def create_backfill(
        self, dag_id: str, first: date, last: date, max_active_runs: int = 3
    ) -> dict[str, Any]:
        """What the UI's Trigger → Backfill dialog posts: every day from `first` to `last`."""
        backfill: dict[str, Any] = self.call(
            "POST",
            "backfills",
            {
                "dag_id": dag_id,
                "from_date": f"{first}T00:00:00Z",
                "to_date": f"{last}T00:00:00Z",
                "max_active_runs": max_active_runs,
                "reprocess_behavior": "completed",
            },
        )
        return backfill

    def runs(self, dag_id: str = "~", **params: Any) -> list[dict[str, Any]]:
        """Runs of one DAG (or of all, `~`), filtered by the API's query parameters."""
        runs: list[dict[str, Any]] = self.call(
            "GET", f"dags/{dag_id}/dagRuns", params={"limit": 1000, **params}
        )["dag_runs"]
        return runs

    def wait_until(self, what: str, done: Any, timeout_s: float = 600) -> Any:
        """Poll `done()` until it returns something truthy; fail naming `what` after the
        timeout, a bound on a hung scheduler, not an expectation of how long it takes."""
        deadline = time.monotonic() + timeout_s
        while not (result := done()):
            assert time.monotonic() < deadline, f"{what}: not within {timeout_s:.0f}s"
            time.sleep(0.5)
        return result

    def wait_for_backfill(self, backfill_id: int) -> dict[str, Any]:
        """The backfill once the scheduler marked it completed (every run of it ended)."""
        backfill: dict[str, Any] = self.wait_until(
            f"backfill {backfill_id}",
            lambda: (b := self.call("GET", f"backfills/{backfill_id}"))["completed_at"] and b,
        )
        return backfill

    def wait_until_idle(self) -> None:
        """Until no run of any DAG is queued or running."""
        self.wait_until("every run ended", lambda: not self.active_runs())

    def active_runs(self) -> list[dict[str, Any]]:
        return self.runs(state=["queued", "running"])


@contextmanager
def noisy_neighbour(emulator: Emulator, pause_s: float = 0.2) -> Iterator[None]:
    """Another app on the same shop's bucket: it calls until refused, pauses, and again."""
    stop = threading.Event()

    def hammer() -> None:
        with requests.Session() as session:
            while not stop.is_set():
                response = session.get(
                    f"{emulator.url}/com/inventories/adjustments/count.json",
                    headers={"Authorization": f"Bearer {emulator.haravan_token}"},
                    timeout=5,
                )
                if response.status_code == 429:
                    stop.wait(pause_s)

    thread = threading.Thread(target=hammer, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=10)
