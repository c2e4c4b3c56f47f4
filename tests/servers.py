"""Handles on the server processes the tests run against, with the calls tests make on them."""

from __future__ import annotations

import json
import threading
from collections import Counter
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

from devtools.airflow_rest import AirflowRest, wait_until
from devtools.devstack.iceberg import empty_catalog
from devtools.devstack.postgres import PostgresLogin
from devtools.devstack.processes import LOCAL_HTTP_TIMEOUT_S as TIMEOUT_S
from devtools.devstack.processes import ServerProcess
from include.inventory_lake.lake.lake import Lake
from include.inventory_lake.lake.location import LakeRoot
from include.inventory_lake.push.layout import PushLake


@dataclass(frozen=True)
class S3Server:
    server: ServerProcess
    bucket: str
    region: str = "us-east-1"
    access_key: str = "test-access-key"
    secret_key: str = "test-secret-key"
    # The Iceberg catalog whose warehouse is in the bucket: emptied with it.
    iceberg_catalog: PostgresLogin | None = None

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

    def lake(self, prefix: str = "") -> Lake:
        """The bound lake on this server's bucket (recording lineage, as a task does)."""
        return Lake(self.client(), LakeRoot(self.bucket, prefix))

    def push_lake(self, prefix: str = "") -> PushLake:
        return PushLake(self.client(), LakeRoot(self.bucket, prefix))

    def keys(self, prefix: str = "") -> list[str]:
        paginator = self.client().get_paginator("list_objects_v2")
        return [
            obj["Key"]
            for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix)
            for obj in page.get("Contents", [])
        ]

    def versions(self) -> dict[str, str]:
        """Every object's key and ETag."""
        paginator = self.client().get_paginator("list_objects_v2")
        return {
            obj["Key"]: obj["ETag"]
            for page in paginator.paginate(Bucket=self.bucket)
            for obj in page.get("Contents", [])
        }

    def empty_bucket(self) -> None:
        """No object in the bucket and, as the table files were in it, no table in the
        Iceberg catalog."""
        client = self.client()
        for key in self.keys():
            client.delete_object(Bucket=self.bucket, Key=key)
        if self.iceberg_catalog is not None:
            empty_catalog(self.iceberg_catalog)


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


def utc_day(timestamp: str) -> date:
    return datetime.fromisoformat(timestamp).astimezone(UTC).date()


@dataclass(frozen=True)
class LateAdjustments:
    """The demo day with the most Stocky items whose adjustment lands the next day."""

    day: date
    items: dict[int, dict[str, Any]]
    """Those items of `day`, by id."""
    adjustments: dict[int, dict[str, Any]]
    """Every Stocky adjustment, by id."""


def late_adjustments(emulator: Emulator) -> LateAdjustments:
    adjustments = {a["id"]: a for a in truth(emulator, "stocky/stock_adjustments")}
    late = [
        item
        for item in truth(emulator, "stocky/stock_adjustment_items")
        if utc_day(adjustments[item["stock_adjustment_id"]]["updated_at"])
        == utc_day(item["updated_at"]) + timedelta(days=1)
    ]
    assert late, "the demo data has items whose adjustment changes the next day"
    day = Counter(utc_day(item["updated_at"]) for item in late).most_common(1)[0][0]
    items = {item["id"]: item for item in late if utc_day(item["updated_at"]) == day}
    return LateAdjustments(day, items, adjustments)


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


class AirflowApi(AirflowRest):
    """Airflow's REST API (what the UI calls) on a `airflow standalone` the tests started."""

    def __init__(
        self,
        url: str,
        password: str,
        user: str = "admin",
        metadata_db: str | None = None,
        env: dict[str, str] | None = None,
    ) -> None:
        super().__init__(url, password, user)
        self.metadata_db = metadata_db  # its SQLAlchemy URL, when the test world started it
        self.env = env  # the environment its processes run with, when the test world started it
        self.passwords_file: Path | None = None  # SimpleAuthManager's, when the tests started it

    def as_user(self, user: str) -> AirflowApi:
        """The same API, logged in as another SimpleAuthManager user of this standalone."""
        assert self.passwords_file is not None, "not a standalone the tests started"
        password = json.loads(self.passwords_file.read_text())[user]
        other = AirflowApi(
            self.url, password, user=user, metadata_db=self.metadata_db, env=self.env
        )
        other.passwords_file = self.passwords_file
        return other

    def variable(self, key: str) -> Any | None:
        """The JSON value of Variable `key`, or None while it does not exist."""
        response = self.request("GET", f"variables/{key}")
        if response.status_code == 404:
            return None
        assert response.ok, f"GET variables/{key}: HTTP {response.status_code} {response.text}"
        return json.loads(response.json()["value"])

    def wait_until(
        self, what: str, done: Any, timeout_s: float = 600, interval_s: float = 0.5
    ) -> Any:
        return wait_until(what, done, timeout_s, interval_s)

    def task_log(self, dag_id: str, run_id: str, task_id: str) -> str:
        """The log of a (not mapped) task instance's latest try, as the UI shows it: one line
        per event."""
        path = f"dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}"
        try_number = self.call("GET", path)["try_number"]
        content = self.call("GET", f"{path}/logs/{try_number}", params={"full_content": True})
        lines = content["content"]
        return "\n".join(str(line.get("event", "")) for line in lines)


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
