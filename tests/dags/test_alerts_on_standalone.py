"""Alerts through a real scheduler and triggerer (`airflow_standalone_alerts`: a 5 s freshness
deadline, users alice and bob): a failing extract misses its deadline and the notifier's record
says so; a push plan waiting for approval names its approvers, and only they may answer."""

from __future__ import annotations

from typing import Any

import pytest

from include.inventory_lake import settings
from tests.inventory_lake.push.support import APPROVED, csv_text, posts, put, set_lines
from tests.servers import AirflowApi, Emulator, S3Server

HARAVAN = "haravan_adjustments_extract"
PUSH = "haravan_set_adjustments_push"
FRESHNESS_RECORD = f"{settings.ALERT_RECORD_PREFIX}__freshness__{HARAVAN}"
APPROVAL_RECORD = f"{settings.ALERT_RECORD_PREFIX}__approval__{PUSH}"
APPROVE_TASK = "each_file.approve"


def end_active_runs(api: AirflowApi, dag_id: str) -> None:
    """Pause the DAG (no new runs), then fail every run of it still queued or running: the
    scheduler never moves a paused DAG's run on, so one left running would stay so for ever
    (and a test waiting for an idle Airflow with it)."""
    api.set_paused(dag_id, True)
    for run in api.active_runs(dag_id):
        api.call("PATCH", f"dags/{dag_id}/dagRuns/{run['dag_run_id']}", {"state": "failed"})


@pytest.mark.timeout(900)  # starting airflow standalone is part of this test's setup
def test_an_extract_that_misses_its_deadline_alerts_with_dag_day_and_lateness(
    airflow_standalone_alerts: AirflowApi, emulator: Emulator, s3_server: S3Server
) -> None:
    api = airflow_standalone_alerts
    emulator.reset()
    s3_server.empty_bucket()
    # Every API call fails: the day's run keeps retrying, its partition never lands.
    emulator.set_faults(script=[{"kind": "status", "status": 500, "times": -1}])
    try:
        # Unpaused, the scheduler queues the latest complete day at once (catchup=False): the
        # daily run the deadline is about, 5 s from being queued here.
        api.set_paused(HARAVAN, False)
        run = api.wait_until(
            "the scheduled run of the latest day",
            lambda: next(iter(api.runs(HARAVAN, run_type=["scheduled"])), None),
        )
        record = api.wait_until(
            "the freshness alert of that run",
            lambda: (
                (r := api.variable(FRESHNESS_RECORD)) and r["run_id"] == run["dag_run_id"] and r
            ),
            timeout_s=300,
        )
    finally:
        emulator.reset()
    end_active_runs(api, HARAVAN)

    day = run["data_interval_start"][:10]
    assert (record["kind"], record["dag_id"], record["dt"]) == ("freshness", HARAVAN, day)
    assert record["deadline_after_queued_s"] == 5.0
    assert record["day_end"][:10] == run["data_interval_end"][:10]
    # How late: the scheduler notices a passed deadline within a loop or two.
    assert 0 <= record["late_s"] < 120, record
    assert record["subject"] == (
        f"[inventory-lake] {HARAVAN}: partition dt={day} has not landed, "
        f"{record['subject'].split('landed, ')[1]}"
    )
    assert record["subject"].endswith("past its deadline")
    assert f"Day (partition): dt={day}" in record["body"]
    assert "5s after the run was queued" in record["body"]
    assert not s3_server.keys(settings.HARAVAN_ADJUSTMENTS_PATH), "nothing landed"


def waiting_approval(api: AirflowApi) -> dict[str, Any] | None:
    details = api.call("GET", "dags/~/dagRuns/~/hitlDetails", params={"dag_id": PUSH})
    pending = [d for d in details["hitl_details"] if not d["response_received"]]
    return pending[0] if pending else None


def scheduler_saw_the_asking_attempt_end(api: AirflowApi, ti: dict[str, Any]) -> bool:
    """Whether the scheduler has processed the end of the attempt that asked (it logs
    "TaskInstance Finished: …" with the instance's id and try). Airflow 3.3.2 races there: an
    answer resumes the task at once, and if the scheduler only then processes the asking
    attempt's end (seconds later, on a busy machine), it takes the resumed task for one killed
    externally, marks it up for retry, and the retry asks again, forgetting the answer. A person
    answers after that; a test must wait for it (docs/set-adjustments.md tells operations)."""
    assert api.log_file is not None, "a standalone the tests started"
    ended = ("TaskInstance Finished:", f"ti_id={ti['id']},", f"try_number={ti['try_number']},")
    lines = api.log_file.read_text(errors="replace").splitlines()
    return any(all(part in line for part in ended) for line in lines)


def answer_as(api: AirflowApi, user: str, detail: dict[str, Any], answer: dict[str, Any]) -> Any:
    """`user`'s answer to a waiting approval, given as a person would: once it is settled."""
    ti = detail["task_instance"]
    api.wait_until(
        "the scheduler processed the asking attempt's end",
        lambda: scheduler_saw_the_asking_attempt_end(api, ti) or None,
        timeout_s=120,
    )
    path = (
        f"dags/{PUSH}/dagRuns/{ti['dag_run_id']}/taskInstances/{APPROVE_TASK}/"
        f"{ti['map_index']}/hitlDetails"
    )
    return api.as_user(user).request("PATCH", path, answer)


@pytest.mark.timeout(900)
def test_only_a_named_approver_may_approve_a_held_plan(
    airflow_standalone_alerts: AirflowApi, emulator: Emulator, s3_server: S3Server
) -> None:
    api = airflow_standalone_alerts
    emulator.reset()
    s3_server.empty_bucket()
    api.call("POST", "variables", {"key": settings.PUSH_APPROVERS_VARIABLE, "value": "alice"})
    # Far from the current stock: the guard asks for approval.
    lines = set_lines(emulator, locations=1, per_location=30, close_to_current=False)
    put(s3_server, APPROVED + "big.csv", csv_text(lines))
    # Unpausing also lets the scheduler start the push's latest 10-minute run, next to the
    # manual one: whichever claims the batch asks for approval, the other leaves it alone.
    api.set_paused(PUSH, False)
    try:
        api.call("POST", f"dags/{PUSH}/dagRuns", {"logical_date": None})
        detail = api.wait_until("a plan waiting for approval", lambda: waiting_approval(api))
        ti = detail["task_instance"]
        run_id, map_index = ti["dag_run_id"], ti["map_index"]
        assert [u["id"] for u in detail["assigned_users"]] == ["alice"]

        # The approvers were told, in the task's log and the record.
        note = api.variable(APPROVAL_RECORD)
        assert note is not None and note["run_id"] == run_id, note
        assert note["approvers"] == ["alice"] and "Approvers: alice" in note["body"]
        assert note["subject"].startswith("[inventory-lake] approval needed: Overwrite Haravan")

        path = f"dags/{PUSH}/dagRuns/{run_id}/taskInstances/{APPROVE_TASK}/{map_index}/hitlDetails"
        answer = {"chosen_options": ["Approve"], "params_input": {}}
        refused = api.as_user("bob").request("PATCH", path, answer)
        assert refused.status_code == 403, refused.text
        assert "not a respondent" in refused.text
        assert posts(emulator) == [], "bob's answer sent nothing"
        # Not even the admin: only the named approvers answer.
        assert api.request("PATCH", path, answer).status_code == 403

        accepted = answer_as(api, "alice", detail, answer)
        assert accepted.status_code == 200, accepted.text
        assert accepted.json()["responded_by"]["id"] == "alice"
        # Every push run ends on its own, the DAG still unpaused (a paused DAG's runs stall).
        api.wait_until_idle(timeout_s=300, dag_id=PUSH)
        done = api.call("GET", f"dags/{PUSH}/dagRuns/{run_id}")
        assert done["state"] == "success", done
        assert len(posts(emulator)) == 1, "alice's approval sent the plan, once"
        assert waiting_approval(api) is None, "no other run asked again"
    finally:
        end_active_runs(api, PUSH)
        api.request("DELETE", f"variables/{settings.PUSH_APPROVERS_VARIABLE}")
        emulator.reset()
