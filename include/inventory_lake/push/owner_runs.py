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


def _run_was_deleted(error: Exception) -> bool:
    """The Task SDK raises `AirflowRuntimeError` carrying the API server's status."""
    detail = getattr(getattr(error, "error", None), "detail", None)
    return isinstance(detail, dict) and detail.get("status_code") in GONE_STATUSES


def owner_run_is_active(
    get_dagrun_state: Callable[[str, str], Any], dag_id: str
) -> Callable[[str], bool]:
    """`run_is_active(run_id)` for `claim_batch`, from the task instance's `get_dagrun_state`."""
    from airflow.sdk.exceptions import AirflowRuntimeError

    def active(run_id: str) -> bool:
        try:
            state = get_dagrun_state(dag_id, run_id)
        except AirflowRuntimeError as error:
            if _run_was_deleted(error):
                log.info("owner run %s of %s no longer exists: it has ended", run_id, dag_id)
                return False
            log.warning("state of owner run %s unknown (%s): treated as busy", run_id, error)
            return True
        return str(getattr(state, "value", state)) in ACTIVE_RUN_STATES

    return active
