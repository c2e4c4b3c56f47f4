"""Is the run that owns a batch still going? Asked through the Task SDK, from inside a task.

Only an answer that the run has ended (or no longer exists) lets another run take the batch
over. Anything else, an error of the API server, a lost connection, counts as busy: taking over
a batch whose owner may still be sending is how a batch gets sent twice, while leaving it alone
one more cycle only delays it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)

ACTIVE_RUN_STATES = frozenset({"queued", "running"})
GONE_STATUSES = frozenset({404, 410})


def _status_code(error: Exception) -> object:
    """The API server's HTTP status behind an error of the Task SDK: a worker's task process
    gets `AirflowRuntimeError` carrying it in its detail; under `dag.test()` the in-process
    supervisor lets the client's `ServerResponseError` itself through."""
    response = getattr(error, "response", None)
    if response is not None:
        return getattr(response, "status_code", None)
    detail = getattr(getattr(error, "error", None), "detail", None)
    return detail.get("status_code") if isinstance(detail, dict) else None


def owner_run_is_active(
    get_dagrun_state: Callable[[str, str], Any], dag_id: str
) -> Callable[[str], bool]:
    """`run_is_active(run_id)` for `claim_batch`, from the task instance's `get_dagrun_state`."""
    from airflow.sdk.api.client import ServerResponseError
    from airflow.sdk.exceptions import AirflowRuntimeError

    def active(run_id: str) -> bool:
        try:
            state = get_dagrun_state(dag_id, run_id)
        except (AirflowRuntimeError, ServerResponseError) as error:
            if _status_code(error) in GONE_STATUSES:
                log.info("owner run %s of %s no longer exists: it has ended", run_id, dag_id)
                return False
            log.warning("state of owner run %s unknown (%s): treated as busy", run_id, error)
            return True
        return str(getattr(state, "value", state)) in ACTIVE_RUN_STATES

    return active
