"""Alerts through a real scheduler and triggerer (`airflow_standalone_alerts`: a 5 s freshness
deadline, users alice and bob): a failing extract misses its deadline and the notifier's record
says so; a push plan waiting for approval names its approvers, and only they may answer; an
answer given the moment the request exists is kept, and nobody is asked twice."""

from __future__ import annotations

import os
import threading
from typing import Any

import pytest
import sqlalchemy

from include.inventory_lake import settings
from tests.inventory_lake.push.support import (
    APPROVED,
    STAGING,
    applied_requests,
    audit_rows,
    csv_text,
    ledger_doc,
    posts,
    put,
    set_lines,
)
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


def answer_path(detail: dict[str, Any]) -> str:
    ti = detail["task_instance"]
    return (
        f"dags/{PUSH}/dagRuns/{ti['dag_run_id']}/taskInstances/{APPROVE_TASK}/"
        f"{ti['map_index']}/hitlDetails"
    )


def answer_as(api: AirflowApi, user: str, detail: dict[str, Any], answer: dict[str, Any]) -> Any:
    """`user`'s answer to a waiting approval, given at once."""
    return api.as_user(user).request("PATCH", answer_path(detail), answer)


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


# How many plans in a row the quick-answer test approves: `make test` a few, `make
# test-approvals` 20.
QUICK_ANSWER_REPEATS = int(os.environ.get("INVENTORY_LAKE_APPROVAL_REPEATS", "3"))


def ledger_of(s3_server: S3Server, file_name: str) -> dict[str, Any] | None:
    """The ledger document of the batch read from `file_name`, once there is one."""
    for key in s3_server.keys(f"{STAGING}/ledger/"):
        if key.endswith("/batch.json"):
            doc = ledger_doc(s3_server, key.split("/")[-2])
            if doc["source_name"] == file_name:
                return doc
    return None


def ended_without_asking_again(api: AirflowApi, detail: dict[str, Any]) -> Any:
    """The answered run once it ended; fails as soon as any plan waits for approval again."""
    again = waiting_approval(api)
    assert again is None, f"asked again: {again}"
    run = api.call("GET", f"dags/{PUSH}/dagRuns/{detail['task_instance']['dag_run_id']}")
    return run if run["state"] in ("success", "failed") else None


@pytest.mark.timeout(900 + 120 * QUICK_ANSWER_REPEATS)
def test_an_approval_given_at_once_is_kept_and_never_asked_again(
    airflow_standalone_alerts: AirflowApi, emulator: Emulator, s3_server: S3Server
) -> None:
    """Plans approved as fast as the REST API allows (the answer sent the moment the request
    exists, which on Airflow 3.3.2 raced the scheduler and lost the answer), one after
    another: each is asked once, its answer honoured once, its request sent once."""
    api = airflow_standalone_alerts
    emulator.reset()
    s3_server.empty_bucket()
    api.call("POST", "variables", {"key": settings.PUSH_APPROVERS_VARIABLE, "value": "alice"})
    api.set_paused(PUSH, False)
    try:
        api.wait_until_idle(timeout_s=300, dag_id=PUSH)  # the scheduled run unpausing started
        for i in range(QUICK_ANSWER_REPEATS):
            name = f"quick-{i}.csv"
            # 5,000 above the stock of the moment: every plan crosses the guard, each differs.
            lines = set_lines(emulator, locations=1, per_location=5, close_to_current=False)
            put(s3_server, APPROVED + name, csv_text(lines))
            api.call("POST", f"dags/{PUSH}/dagRuns", {"logical_date": None})
            detail = api.wait_until(
                f"plan {i} waiting for approval", lambda: waiting_approval(api), interval_s=0.1
            )
            answer = {"chosen_options": ["Approve"], "params_input": {}}
            accepted = answer_as(api, "alice", detail, answer)
            assert accepted.status_code == 200, accepted.text

            run = api.wait_until(
                f"plan {i} pushed",
                lambda: ended_without_asking_again(api, detail),  # noqa: B023 (called at once)
                timeout_s=600,
            )
            assert run["state"] == "success", run
            asked = api.call("GET", answer_path(detail).removesuffix("/hitlDetails"))
            assert asked["try_number"] == 1, f"plan {i}: the approval task ran again: {asked}"
            held = api.call("GET", answer_path(detail))
            assert held["responded_by_user"]["id"] == "alice", held
            doc = ledger_of(s3_server, name)
            assert doc is not None and doc["status"] == "done", doc
            assert (doc["approval"]["decision"], doc["approval"]["by"]) == ("approved", "alice")
            assert sum(event["detail"].startswith("approval asked") for event in doc["events"]) == 1
            assert applied_requests(emulator)[(doc["batch_id"], 1)] == 1, "sent once"
            rows = [row for row in audit_rows(s3_server) if row["file_name"] == name]
            assert {(row["answered_by"], row["status"]) for row in rows} == {("alice", "applied")}
        assert len(posts(emulator)) == QUICK_ANSWER_REPEATS, "one request per plan, no more"
    finally:
        end_active_runs(api, PUSH)
        api.request("DELETE", f"variables/{settings.PUSH_APPROVERS_VARIABLE}")
        emulator.reset()


class MetadataDb:
    """Connections to the standalone's metadata database, each its own transaction: a test
    holds rows with them to order what Airflow's processes do."""

    def __init__(self, api: AirflowApi) -> None:
        assert api.metadata_db is not None, "not a standalone the tests started"
        self.engine = sqlalchemy.create_engine(api.metadata_db)
        self.holds: list[sqlalchemy.Connection] = []

    def waiting(self, statement_start: str) -> int:
        """How many statements starting with `statement_start` wait for a row lock now."""
        with self.engine.connect() as db:
            count = db.execute(
                sqlalchemy.text(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                    " AND wait_event_type = 'Lock' AND query LIKE :start"
                ),
                {"start": statement_start + "%"},
            ).scalar()
        return int(count or 0)

    def hold(self, sql: str, **params: Any) -> sqlalchemy.Connection:
        """A transaction holding the rows `sql` (a SELECT ... FOR ...) locks; close it to let
        them go."""
        db = self.engine.connect()
        self.holds.append(db)
        assert db.execute(sqlalchemy.text(sql), params).all(), f"nothing to hold: {sql} {params}"
        return db

    def close(self) -> None:
        """Let go of every hold (a failed test must not leave Airflow waiting on a row)."""
        for db in self.holds:
            db.close()
        self.engine.dispose()


# The statements that wait for the approval task's row: the execution API parking the task
# (`ti_update_state`), and the core API's answer (`update_hitl_detail`, `session.get(TI)`).
PARK = "SELECT task_instance.state, task_instance.try_number"
ANSWER = "SELECT task_instance.id, "
NOTICE = "INSERT INTO variable "  # the approval notifier's record (an upsert)


@pytest.mark.timeout(900)
def test_an_approval_answered_while_the_task_parks_resumes_it_once(
    airflow_standalone_alerts: AirflowApi, emulator: Emulator, s3_server: S3Server
) -> None:
    """The interleaving that stranded an answer on Airflow 3.3.2, made exact with row locks: the
    question exists and the task is still running when the answer is read; the task's park to
    `awaiting_input` takes the task's row first, the answer next, stores the response and (having
    read `running`) resumes nothing. The plan must still be sent on that answer, once, and
    nobody asked again."""
    api = airflow_standalone_alerts
    emulator.reset()
    s3_server.empty_bucket()
    api.call("POST", "variables", {"key": settings.PUSH_APPROVERS_VARIABLE, "value": "alice"})
    api.request("DELETE", f"variables/{APPROVAL_RECORD}")  # an earlier test's record
    api.call("POST", "variables", {"key": APPROVAL_RECORD, "value": "{}"})
    api.set_paused(PUSH, False)
    db = MetadataDb(api)
    answered: list[Any] = []
    try:
        api.wait_until_idle(timeout_s=300, dag_id=PUSH)
        name = "raced.csv"
        lines = set_lines(emulator, locations=1, per_location=5, close_to_current=False)
        put(s3_server, APPROVED + name, csv_text(lines))
        # 1. Stop the task between asking and parking: its notifier's record write waits.
        notice = db.hold(
            "SELECT key FROM variable WHERE key = :key FOR UPDATE", key=APPROVAL_RECORD
        )
        api.call("POST", f"dags/{PUSH}/dagRuns", {"logical_date": None})
        detail = api.wait_until("the question asked", lambda: waiting_approval(api), interval_s=0.1)
        api.wait_until("the task stopped after asking", lambda: db.waiting(NOTICE) or None)
        # 2. Hold the task's row (not its key: the worker's reads pass), let the task go on: its
        # park waits for the row, then the answer does, read while the task still runs.
        task_row = db.hold(
            "SELECT id FROM task_instance WHERE id = :id AND state = 'running' FOR NO KEY UPDATE",
            id=detail["task_instance"]["id"],
        )
        notice.close()
        api.wait_until("the park waiting for the row", lambda: db.waiting(PARK) or None)
        answer = {"chosen_options": ["Approve"], "params_input": {}}
        answering = threading.Thread(
            target=lambda: answered.append(answer_as(api, "alice", detail, answer))
        )
        answering.start()
        api.wait_until("the answer waiting behind it", lambda: db.waiting(ANSWER) or None)
        # 3. The park goes first, then the answer.
        task_row.close()
        answering.join(timeout=120)
        assert answered and answered[0].status_code == 200, answered and answered[0].text

        run = api.wait_until(
            "the answered plan pushed",
            lambda: ended_without_asking_again(api, detail),
            timeout_s=300,
        )
        assert run["state"] == "success", run
        asked = api.call("GET", answer_path(detail).removesuffix("/hitlDetails"))
        assert asked["try_number"] == 1, f"the approval task ran again: {asked}"
        doc = ledger_of(s3_server, name)
        assert doc is not None and doc["status"] == "done", doc
        assert (doc["approval"]["decision"], doc["approval"]["by"]) == ("approved", "alice")
        assert sum(event["detail"].startswith("approval asked") for event in doc["events"]) == 1
        assert applied_requests(emulator)[(doc["batch_id"], 1)] == 1, "sent once"
        assert len(posts(emulator)) == 1
    finally:
        db.close()
        end_active_runs(api, PUSH)
        api.request("DELETE", f"variables/{settings.PUSH_APPROVERS_VARIABLE}")
        emulator.reset()
