"""haravan_set_adjustments_push, run through Airflow against the emulator and the S3 server."""

from __future__ import annotations

import itertools
import json
import os
import signal
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from include.inventory_lake.push.layout import REPORT_SUFFIX
from include.inventory_lake.push.options import DEFAULTS
from include.inventory_lake.push.reading import MAX_FILE_BYTES, read_csv
from tests.airflow_runs import retry_task, run_id_at, start_dag_test, xcom_values
from tests.inventory_lake.push.support import (
    APPROVED,
    HEADER,
    STAGING,
    applied_requests,
    assert_stock_is,
    audit_rows,
    batch_ids,
    catalog,
    csv_text,
    expected_stock,
    ledger_doc,
    outcome_written,
    posts,
    put,
    read_text,
    request_docs,
    set_lines,
    staged,
    stock,
)
from tests.servers import Emulator, S3Server

DAG_ID = "haravan_set_adjustments_push"
ROOT = Path(__file__).resolve().parents[2]
POST_PATH = "/com/inventories/adjustorset.json"
_logical_dates = itertools.count()


@cache
def push_dag() -> Any:
    from airflow.dag_processing.dagbag import DagBag

    dag = DagBag(dag_folder=str(ROOT / "dags" / f"{DAG_ID}.py")).get_dag(DAG_ID)
    assert dag is not None
    return dag


def next_logical_date() -> datetime:
    """A fresh run per call: runs of earlier tests stay in the shared metadata DB."""
    return datetime(2026, 3, 1, tzinfo=UTC) + timedelta(minutes=next(_logical_dates))


def run_push(**conf: Any) -> Any:
    """One run with every param given: dag.test() keeps the conf of earlier runs otherwise."""
    return push_dag().test(logical_date=next_logical_date(), run_conf={**DEFAULTS, **conf})


def states(run: Any) -> dict[tuple[str, int], str]:
    return {(ti.task_id, ti.map_index): str(ti.state) for ti in run.get_task_instances()}


def test_a_250_line_file_over_two_locations_lands_once_and_is_not_pushed_twice(
    world: tuple[Emulator, S3Server],
) -> None:
    emulator, s3 = world
    lines = set_lines(emulator, locations=2, per_location=125)
    put(s3, APPROVED + "stock count.csv", csv_text(lines))

    run = run_push()
    assert run.state == "success", states(run)
    sent = posts(emulator)
    assert len(sent) == 4, "2 locations x ceil(125 / 100) requests"
    bodies = [post["body"]["inventory"] for post in sent]
    assert sorted(len(body["line_items"]) for body in bodies) == [25, 25, 100, 100]
    assert {body["type"] for body in bodies} == {"set"}
    assert {body["location_id"] for body in bodies} == {line["location_id"] for line in lines}
    (batch,) = batch_ids(emulator)
    assert applied_requests(emulator) == {(batch, n): 1 for n in (1, 2, 3, 4)}
    assert_stock_is(emulator, lines)

    assert staged(s3, "approved") == []
    (processed,) = staged(s3, "processed")
    assert processed.endswith("_stock count.csv")
    assert ledger_doc(s3, batch)["status"] == "done"
    audit = audit_rows(s3)
    assert len(audit) == 250 and {row["status"] for row in audit} == {"applied"}
    by_variant = {(r["location_id"], r["product_variant_id"]): r for r in audit}
    for line in lines:
        row = by_variant[(line["location_id"], line["product_variant_id"])]
        assert row["requested_quantity"] == line["quantity"]
        assert row["previous_quantity"] == row["planned_previous_quantity"]
        assert (
            row["adjustment_id"] and row["adjust_number"] and row["file_name"] == "stock count.csv"
        )
    token = emulator.haravan_token.encode()
    for key in s3.keys(prefix=""):
        assert token not in s3.client().get_object(Bucket=s3.bucket, Key=key)["Body"].read()
    assert emulator.haravan_token not in json.dumps(xcom_values(DAG_ID), default=str)

    # The same content approved again (re-ordered, another name, no BOM) is not pushed.
    emulator.admin_post("journal/reset")
    put(s3, APPROVED + "again.csv", csv_text(lines[::-1]).lstrip("\ufeff"))
    again = run_push()
    assert again.state == "failed"
    assert posts(emulator) == []
    report = next(name for name in staged(s3, "rejected") if name.endswith(REPORT_SUFFIX))
    assert f"pushed already as batch {batch}" in read_text(s3, f"{STAGING}/rejected/{report}")
    assert staged(s3, "approved") == []


def mark_run_failed(run_id: str) -> None:
    """What the scheduler does once a run's tasks have failed for good (e.g. a worker that died
    again and again, retries exhausted)."""
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session
    from airflow.utils.state import DagRunState
    from sqlalchemy import update

    with create_session() as session:
        session.execute(
            update(DagRun).where(DagRun.run_id == run_id).values(state=DagRunState.FAILED)
        )


def delete_run(run_id: str) -> None:
    """What `airflow db clean` or a person deleting the run in the UI does."""
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        session.delete(session.scalars(select(DagRun).where(DagRun.run_id == run_id)).one())


@pytest.mark.parametrize(
    "recovery",
    ["Airflow retries the task", "the next run takes over", "the owner run was deleted"],
)
def test_kill_9_after_the_second_request_then_recovery_applies_every_request_once(
    world: tuple[Emulator, S3Server], recovery: str
) -> None:
    emulator, s3 = world
    lines = set_lines(emulator, locations=2, per_location=60, seed=2)
    put(s3, APPROVED + "kill.csv", csv_text(lines))
    # Request 3 waits 3 s in the API before it is applied: the worker is killed while it is in
    # flight, so it lands without the worker ever learning its outcome.
    emulator.set_faults(
        script=[
            {"kind": "latency", "ms": 0, "method": "POST", "path": POST_PATH, "times": 2},
            {"kind": "latency", "ms": 3000, "method": "POST", "path": POST_PATH, "times": 1},
        ]
    )
    logical_date = next_logical_date()
    process = start_dag_test(DAG_ID, logical_date, {**DEFAULTS, "chunk_size": 20})
    deadline = time.monotonic() + 240
    while not (len(posts(emulator)) >= 2 and outcome_written(s3, 2)):
        assert process.poll() is None, "the run ended before it could be killed"
        assert time.monotonic() < deadline, "the second request never went out"
        time.sleep(0.05)
    # Request 3 has reached the API once its scripted 3 s latency is taken from the script.
    while emulator.admin_get("faults")["script"]:
        assert process.poll() is None, "the run ended before it could be killed"
        assert time.monotonic() < deadline, "request 3 never went out"
        time.sleep(0.02)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=30)
    while len(posts(emulator)) < 3:  # the API applies request 3 after its delay
        assert time.monotonic() < deadline, "request 3 never landed"
        time.sleep(0.1)
    emulator.set_faults()
    assert not outcome_written(s3, 3), "the kill came before request 3 was answered"
    assert staged(s3, "approved") == ["kill.csv"]

    run_id = run_id_at(DAG_ID, logical_date)
    (batch,) = batch_ids(emulator)
    if recovery == "Airflow retries the task":
        for task_id in ("each_file.push", "each_file.record"):
            assert retry_task(DAG_ID, task_id, run_id, map_index=0) == "success", task_id
        owner = run_id
    else:
        while_active = run_push()  # the killed run still counts as running: its file is left
        assert states(while_active)[("each_file.prepare", 0)] == "skipped"
        assert len(posts(emulator)) == 3 and staged(s3, "approved") == ["kill.csv"]
        if recovery == "the owner run was deleted":
            delete_run(run_id)
        else:
            mark_run_failed(run_id)
        taking_over = run_push()
        assert taking_over.state == "success", states(taking_over)
        owner = taking_over.run_id
        events = ledger_doc(s3, batch)["events"]
        assert f"taken over from run {run_id} (sending)" in [e["detail"] for e in events]
        assert [e["status"] for e in events if e["run_id"] == owner][:1] == ["sending"], (
            "the stored plan and its approval are kept: nothing is planned again"
        )

    assert ledger_doc(s3, batch)["owner_run_id"] == owner
    assert len(posts(emulator)) == 6, "nothing that landed was sent again"
    assert applied_requests(emulator) == {(batch, n): 1 for n in range(1, 7)}
    assert_stock_is(emulator, lines)
    outcomes = request_docs(s3, batch)
    assert [outcomes[n]["found_by"] for n in range(1, 7)] == [
        "response", "response", "lookup", "response", "response", "response"
    ]  # fmt: skip
    assert ledger_doc(s3, batch)["status"] == "done"
    assert staged(s3, "processed") and staged(s3, "approved") == []
    audit = audit_rows(s3)
    assert len(audit) == len(lines) and {row["status"] for row in audit} == {"applied"}
    assert {row["run_id"] for row in audit} == {owner}


def test_a_502_after_the_api_applied_a_request_sends_no_duplicate(
    world: tuple[Emulator, S3Server],
) -> None:
    emulator, s3 = world
    lines = set_lines(emulator, locations=2, per_location=30, seed=3)
    put(s3, APPROVED + "flaky.csv", csv_text(lines))
    emulator.set_faults(
        script=[
            {"kind": "latency", "ms": 0, "method": "POST", "path": POST_PATH, "times": 1},
            {"kind": "apply_then_502", "method": "POST", "path": POST_PATH, "times": 1},
        ]
    )
    run = run_push(chunk_size=20)
    assert run.state == "success", states(run)
    (batch,) = batch_ids(emulator)
    assert [post["status"] for post in posts(emulator)] == [200, 502, 200, 200]
    assert applied_requests(emulator) == {(batch, n): 1 for n in (1, 2, 3, 4)}
    assert request_docs(s3, batch)[2]["found_by"] == "lookup"
    assert_stock_is(emulator, lines)
    audit = audit_rows(s3)
    assert len(audit) == 60 and {row["status"] for row in audit} == {"applied"}


BAD_FILES: dict[str, tuple[Callable[[list[dict[str, Any]]], str | bytes], str]] = {
    "missing_column.csv": (
        lambda ls: csv_text(ls, ("location_id", "product_variant_id", "quantity")),
        "required column product_id is missing",
    ),
    "not_integer.csv": (
        lambda ls: csv_text([{**ls[0], "quantity": "12.5"}, *ls[1:]]),
        "quantity is not a whole number",
    ),
    "negative.csv": (
        lambda ls: csv_text([*ls[:3], {**ls[3], "quantity": -4}]),
        "cannot be < 0",
    ),
    "empty_id.csv": (
        lambda ls: csv_text([{**ls[0], "location_id": ""}, *ls[1:]]),
        "location_id is empty",
    ),
    "duplicate.csv": (
        lambda ls: csv_text([*ls, {**ls[0], "quantity": 1}]),
        "duplicate: row 2 already sets variant",
    ),
    "unknown_reason.csv": (
        lambda ls: csv_text(
            [{**ls[0], "reason": "=cmd|' /C calc'!A0"}, *ls[1:]], (*HEADER, "reason")
        ),
        "unknown reason",
    ),
    "empty.csv": (lambda ls: csv_text([]), "the file has no data rows"),
    # A stray quote would swallow every later row into one cell: the file is refused whole.
    "stray_quote.csv": (
        lambda ls: csv_text([*ls[:1], {**ls[1], "sku": '"ABC'}, *ls[2:]]),
        "row 3, column sku: a quote",
    ),
    "unknown_variant.csv": (
        lambda ls: csv_text([{**ls[0], "product_variant_id": 999_999_999}, *ls[1:]]),
        "Haravan has no stock record for variant 999999999",
    ),
    "huge.csv": (  # refused unread: one file must not exhaust the worker's memory
        lambda ls: csv_text(ls).encode() + b"0" * MAX_FILE_BYTES,
        f"files above {MAX_FILE_BYTES:,} are not read",
    ),
    "not_utf8.csv": (
        lambda ls: "location_id;quantité\n".encode("cp1258") + b"\xff",
        "not UTF-8 text",
    ),
}


def test_every_bad_input_is_rejected_with_its_report_and_never_sent(
    world: tuple[Emulator, S3Server],
) -> None:
    emulator, s3 = world
    good = set_lines(emulator, locations=1, per_location=10, seed=4)
    for name, (build, _) in BAD_FILES.items():
        put(s3, APPROVED + name, build(good))
    many = set_lines(emulator, locations=1, per_location=41, seed=5)
    put(s3, APPROVED + "too_many.csv", csv_text(many))
    put(s3, APPROVED + "good.csv", csv_text(good))
    other = set_lines(emulator, locations=1, per_location=5, seed=6)
    put(s3, f"{STAGING}/incoming/elsewhere.csv", csv_text(other))
    put(s3, APPROVED + "team-a/nested.csv", csv_text(other))

    run = run_push(max_lines=40)
    assert run.state == "failed"
    by_task = [(task, state) for (task, _), state in states(run).items()]
    assert by_task.count(("each_file.prepare", "failed")) == len(BAD_FILES) + 1
    assert by_task.count(("each_file.record", "success")) == 1, "good.csv is pushed all the same"
    sent = posts(emulator)
    assert len(sent) == 1 and len(sent[0]["body"]["inventory"]["line_items"]) == 10
    assert_stock_is(emulator, good)

    rejected = staged(s3, "rejected")
    expected = {name: fragment for name, (_, fragment) in BAD_FILES.items()}
    expected["too_many.csv"] = "more than 40 rows; at most 40"
    for name, fragment in expected.items():
        (moved,) = [r for r in rejected if r.endswith("_" + name)]
        report = read_text(s3, f"{STAGING}/rejected/{moved}{REPORT_SUFFIX}")
        assert fragment in report, (name, report)
    formula = next(r for r in rejected if r.endswith("_unknown_reason.csv" + REPORT_SUFFIX))
    table = read_csv(read_text(s3, f"{STAGING}/rejected/{formula}").encode())
    (problem,) = table.rows
    assert problem.values == {
        "row": "2",
        "column": "reason",
        "value": "'=cmd|' /C calc'!A0",
        "problem": problem.values["problem"],
    }
    assert staged(s3, "approved") == ["team-a/nested.csv"]
    assert staged(s3, "incoming") == ["elsewhere.csv"]
    assert len(audit_rows(s3)) == 10


def hitl_responder(
    answers: dict[str, str], checks: Callable[[dict[tuple[str, int], tuple[str, str]]], None]
) -> tuple[threading.Thread, list[BaseException]]:
    """Answer the approval tasks once all are waiting, as a person in the UI would."""
    errors: list[BaseException] = []

    def respond() -> None:
        try:
            from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser
            from airflow.api_fastapi.core_api.datamodels.hitl import UpdateHITLDetailPayload
            from airflow.api_fastapi.core_api.routes.public.hitl import update_hitl_detail
            from airflow.models.hitl import HITLDetail
            from airflow.models.taskinstance import TaskInstance
            from airflow.utils.session import create_session
            from airflow.utils.state import TaskInstanceState
            from sqlalchemy import select

            deadline = time.monotonic() + 240
            while time.monotonic() < deadline:
                with create_session() as session:
                    waiting = session.scalars(
                        select(TaskInstance).where(
                            TaskInstance.dag_id == DAG_ID,
                            TaskInstance.task_id == "each_file.approve",
                            TaskInstance.state == TaskInstanceState.AWAITING_INPUT,
                        )
                    ).all()
                    asked = {
                        (ti.run_id, ti.map_index): session.get(HITLDetail, ti.id) for ti in waiting
                    }
                    requests = {key: (d.subject, d.body) for key, d in asked.items() if d}
                if len(requests) < len(answers):
                    time.sleep(0.5)
                    continue
                try:
                    checks(requests)
                finally:  # answered even when a check fails: the run ends, the test reports it
                    with create_session() as session:
                        for (run_id, map_index), (subject, _) in requests.items():
                            answer = next(a for name, a in answers.items() if name in subject)
                            update_hitl_detail(
                                dag_id=DAG_ID,
                                dag_run_id=run_id,
                                task_id="each_file.approve",
                                update_hitl_detail_payload=UpdateHITLDetailPayload(
                                    chosen_options=[answer], params_input={}
                                ),
                                user=SimpleAuthManagerUser(username="ops-lan", role="admin"),
                                session=session,
                                map_index=map_index,
                            )
                return
            raise AssertionError("the approval tasks never waited for input")
        except BaseException as error:  # reported to the test's thread
            errors.append(error)

    thread = threading.Thread(target=respond, daemon=True)
    thread.start()
    return thread, errors


def test_the_guard_holds_large_changes_until_a_person_answers(
    world: tuple[Emulator, S3Server],
) -> None:
    emulator, s3 = world
    cat = catalog(emulator)
    large = set_lines(emulator, locations=1, per_location=30, close_to_current=False)
    other = [
        {**line, "location_id": cat["locations"][1]["haravan_id"]}
        for line in set_lines(emulator, locations=1, per_location=8, close_to_current=False)
    ]
    put(s3, APPROVED + "a_big_count.csv", csv_text(large))
    put(s3, APPROVED + "b_wrong_count.csv", csv_text(other))
    before = stock(emulator)

    def while_waiting(asked: dict[tuple[str, int], tuple[str, str]]) -> None:
        time.sleep(2)  # held: nothing moves while nobody answers
        assert posts(emulator) == [], "nothing is sent before approval"
        assert staged(s3, "approved") == ["a_big_count.csv", "b_wrong_count.csv"]
        subjects = sorted(subject for subject, _ in asked.values())
        assert subjects[0].startswith("Overwrite Haravan stock from a_big_count.csv: 30 lines")
        body = next(body for subject, body in asked.values() if "a_big_count" in subject)
        assert "30 line(s) change by more than 500 units" in body
        assert "| row | location | variant | sku | now | after | change |" in body

    thread, errors = hitl_responder(
        {"a_big_count.csv": "Approve", "b_wrong_count.csv": "Reject"}, while_waiting
    )
    run = run_push()
    thread.join(timeout=30)
    assert not errors, errors
    assert run.state == "success", states(run)

    (batch,) = batch_ids(emulator)
    assert len(posts(emulator)) == 1
    assert_stock_is(emulator, large)
    after = stock(emulator)
    assert all(after[pair] == before[pair] for pair in expected_stock(other)), "rejected: unsent"
    approved = ledger_doc(s3, batch)
    assert approved["status"] == "done" and approved["approval"]["by"] == "ops-lan"
    assert states(run)[("each_file.push", 1)] == "skipped"
    report = next(n for n in staged(s3, "rejected") if n.endswith("b_wrong_count.csv.report.csv"))
    assert "declined by ops-lan" in read_text(s3, f"{STAGING}/rejected/{report}")
    statuses = {(row["file_name"], row["status"]) for row in audit_rows(s3)}
    assert statuses == {("a_big_count.csv", "applied"), ("b_wrong_count.csv", "declined")}


def test_a_dry_run_writes_the_plan_and_sends_nothing(world: tuple[Emulator, S3Server]) -> None:
    emulator, s3 = world
    lines = set_lines(emulator, locations=2, per_location=30, seed=7)
    put(s3, APPROVED + "preview.csv", csv_text(lines))
    before = stock(emulator)
    run = run_push(dry_run=True)
    assert run.state == "success", states(run)
    assert posts(emulator) == [] and stock(emulator) == before
    assert staged(s3, "approved") == ["preview.csv"], "a dry run moves nothing"
    assert staged(s3, "ledger") == [] and audit_rows(s3) == []
    (plan_csv,) = [n for n in staged(s3, "dry_run") if n.endswith("plan.csv")]
    plan = read_csv(read_text(s3, f"{STAGING}/dry_run/{plan_csv}").encode())
    assert len(plan.rows) == 60
    row = plan.rows[0].values
    current = before[(int(row["location_id"]), int(row["product_variant_id"]))]
    assert int(row["current_quantity"]) == current
    assert int(row["delta"]) == int(row["new_quantity"]) - current
    summary_key = f"{STAGING}/dry_run/{plan_csv.split('/')[0]}/summary.json"
    summary = json.loads(read_text(s3, summary_key))
    assert (summary["lines"], summary["requests"], summary["needs_approval"]) == (60, 2, False)


@pytest.mark.parametrize("status", [422, 400])
def test_a_request_refused_mid_batch_stops_it_and_reports_what_was_applied(
    world: tuple[Emulator, S3Server], status: int
) -> None:
    """Haravan refuses request 3 every time it is sent: it is recorded as refused at once (not
    retried by the task nor resent by a later run), the batch ends failed with its report."""
    emulator, s3 = world
    lines = set_lines(emulator, locations=2, per_location=30, seed=8)
    put(s3, APPROVED + "refused.csv", csv_text(lines))
    before = stock(emulator)
    emulator.set_faults(
        script=[
            {"kind": "latency", "ms": 0, "method": "POST", "path": POST_PATH, "times": 2},
            {"kind": "status", "status": status, "method": "POST", "path": POST_PATH, "times": -1},
        ]
    )
    run = run_push(chunk_size=20)
    assert run.state == "failed"
    assert states(run)[("each_file.push", 0)] == "failed"
    assert len(posts(emulator)) == 3, "nothing after the refused request is sent, nor resent"
    assert staged(s3, "approved") == [], "the file left approved/: no later run sends it again"
    statuses = [row["status"] for row in sorted(audit_rows(s3), key=lambda r: r["chunk"])]
    assert statuses == ["applied"] * 30 + ["refused"] * 20 + ["not_sent"] * 10
    (batch,) = {row["batch_id"] for row in audit_rows(s3)}
    assert ledger_doc(s3, batch)["status"] == "failed"
    report = next(n for n in staged(s3, "rejected") if n.endswith(REPORT_SUFFIX))
    text = read_text(s3, f"{STAGING}/rejected/{report}")
    assert "request 3/4" in text and "requests applied and kept: 1 (" in text
    applied = {
        (r["location_id"], r["product_variant_id"])
        for r in audit_rows(s3)
        if r["status"] == "applied"
    }
    now = stock(emulator)
    for line in lines:
        pair = (line["location_id"], line["product_variant_id"])
        assert now[pair] == (line["quantity"] if pair in applied else before[pair])


def test_the_dag_runs_often_shares_the_haravan_pool_and_asks_for_approval(airflow_db: Any) -> None:
    dag = push_dag()
    from airflow.providers.standard.operators.hitl import ApprovalOperator

    assert type(dag.timetable).__name__ == "CronTriggerTimetable"
    assert dag.timetable.expression == "*/10 * * * *"
    pools = {task.task_id: task.pool for task in dag.tasks}
    assert pools["each_file.prepare"] == pools["each_file.push"] == "haravan_api"
    assert isinstance(dag.task_dict["each_file.approve"], ApprovalOperator)
    assert {"dry_run", "force", "chunk_size", "max_lines"} <= set(dag.params)
