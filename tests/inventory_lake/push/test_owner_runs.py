"""Whose batch may be taken over: the Task SDK's own errors, as a worker's task process gets
them (the DAG tests cover `dag.test()`'s in-process form and a real deleted run)."""

from __future__ import annotations

import pytest
from airflow.sdk.exceptions import AirflowRuntimeError, ErrorType
from airflow.sdk.execution_time.comms import ErrorResponse

from include.inventory_lake.push.owner_runs import owner_run_is_active


def answering(state: str | None = None, *, status: int | None = None):  # type: ignore[no-untyped-def]
    def get_dagrun_state(dag_id: str, run_id: str) -> str:
        if status is not None:
            detail = {"status_code": status, "message": "Server returned error", "detail": {}}
            raise AirflowRuntimeError(
                ErrorResponse(error=ErrorType.API_SERVER_ERROR, detail=detail)
            )
        assert state is not None
        return state

    return get_dagrun_state


@pytest.mark.parametrize(
    ("answer", "active"),
    [
        (answering("running"), True),
        (answering("queued"), True),
        (answering("failed"), False),
        (answering("success"), False),
        (answering(status=404), False),  # deleted: `airflow db clean` or a delete in the UI
        (answering(status=500), True),  # unknown: never taken over on a guess
        (answering(status=403), True),
    ],
)
def test_only_an_ended_or_deleted_owner_run_lets_the_batch_go(answer: object, active: bool) -> None:
    assert owner_run_is_active(answer, "haravan_set_adjustments_push")("run-a") is active  # type: ignore[arg-type]
