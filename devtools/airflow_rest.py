"""Airflow's REST API as the UI calls it, logged in through SimpleAuthManager: what the local
tooling (`make screenshots`) and the tests drive a running `airflow standalone` with."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import date
from typing import Any, TypeVar

import requests

from devtools.devstack.processes import LOCAL_HTTP_TIMEOUT_S

T = TypeVar("T")


class AirflowRestError(RuntimeError):
    """The API answered a call with an error status."""


def wait_until(
    what: str, done: Callable[[], T | None], timeout_s: float, interval_s: float = 0.5
) -> T:
    """Poll `done()` until it returns something truthy; fail naming `what` after the bound,
    a cap on a hung scheduler, not an expectation of how long it takes."""
    deadline = time.monotonic() + timeout_s
    while not (result := done()):
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what}: not within {timeout_s:.0f}s")
        time.sleep(interval_s)
    return result


class AirflowRest:
    def __init__(self, url: str, password: str, user: str = "admin") -> None:
        self.url = url
        self.user = user
        self.password = password
        response = requests.post(
            f"{url}/auth/token",
            json={"username": user, "password": password},
            timeout=LOCAL_HTTP_TIMEOUT_S,
        )
        response.raise_for_status()
        self.headers = {"Authorization": f"Bearer {response.json()['access_token']}"}

    def request(
        self,
        method: str,
        path: str,
        body: dict[str, Any] | None = None,
        params: dict[str, Any] | None = None,
        prefix: str = "api/v2",
    ) -> requests.Response:
        """One call, whatever its status: for a caller that expects a refusal."""
        return requests.request(
            method,
            f"{self.url}/{prefix}/{path}",
            json=body,
            params=params,
            headers=self.headers,
            timeout=LOCAL_HTTP_TIMEOUT_S,
        )

    def call(
        self,
        method: str,
        path: str,
        body: dict[str, Any] | None = None,
        params: dict[str, Any] | None = None,
        prefix: str = "api/v2",
    ) -> Any:
        """One call of the public API, or (prefix `ui`) of the routes the UI itself calls;
        its JSON answer (None when empty), or AirflowRestError on an error status."""
        response = self.request(method, path, body, params, prefix)
        if not response.ok:
            raise AirflowRestError(f"{method} {path}: HTTP {response.status_code} {response.text}")
        return response.json() if response.content else None

    def set_paused(self, dag_id: str, paused: bool) -> None:
        self.call("PATCH", f"dags/{dag_id}", {"is_paused": paused})

    def create_backfill(
        self,
        dag_id: str,
        first: date,
        last: date,
        max_active_runs: int = 3,
        reprocess_behavior: str = "completed",
        run_conf: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """What the UI's Trigger → Backfill dialog posts: every day from `first` to `last`,
        with the dialog's run configuration (the DAG's params) when given."""
        body: dict[str, Any] = {
            "dag_id": dag_id,
            "from_date": f"{first}T00:00:00Z",
            "to_date": f"{last}T00:00:00Z",
            "max_active_runs": max_active_runs,
            "reprocess_behavior": reprocess_behavior,
        }
        if run_conf is not None:
            body["dag_run_conf"] = run_conf
        backfill: dict[str, Any] = self.call("POST", "backfills", body)
        return backfill

    def wait_for_backfill(self, backfill_id: int, timeout_s: float = 600) -> dict[str, Any]:
        """The backfill once the scheduler marked it completed (every run of it ended)."""

        def completed() -> dict[str, Any] | None:
            backfill: dict[str, Any] = self.call("GET", f"backfills/{backfill_id}")
            return backfill if backfill["completed_at"] else None

        return wait_until(f"backfill {backfill_id}", completed, timeout_s)

    def runs(self, dag_id: str = "~", **params: Any) -> list[dict[str, Any]]:
        """Runs of one DAG (or of all, `~`), filtered by the API's query parameters."""
        runs: list[dict[str, Any]] = self.call(
            "GET", f"dags/{dag_id}/dagRuns", params={"limit": 1000, **params}
        )["dag_runs"]
        return runs

    def active_runs(self, dag_id: str = "~") -> list[dict[str, Any]]:
        """Runs of one DAG (or of all, `~`) still queued or running."""
        return self.runs(dag_id, state=["queued", "running"])

    def pause_once_idle(self, *dag_ids: str, timeout_s: float = 600) -> None:
        """Wait until no run of these DAGs is queued or running, then pause them. In that
        order: the scheduler never moves a paused DAG's runs on, so a run still going when its
        DAG is paused (e.g. the scheduled run unpausing created) would stay running for ever."""
        for dag_id in dag_ids:
            self.wait_until_idle(timeout_s, dag_id)
            self.set_paused(dag_id, True)

    def wait_until_idle(self, timeout_s: float = 600, dag_id: str = "~") -> None:
        """Until no run of any DAG (or of `dag_id`) is queued or running."""
        wait_until(
            f"every run of {'every DAG' if dag_id == '~' else dag_id} ended",
            lambda: not self.active_runs(dag_id) or None,
            timeout_s,
        )
