"""The notifiers' messages and delivery, without Airflow running: freshness (the deadline
callback's context as Airflow 3.3 builds it) and approval requests."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest

from include.inventory_lake import alerts, dag_defaults, settings
from include.inventory_lake.alerts import (
    Alert,
    ApprovalRequestNotifier,
    Approver,
    FreshnessNotifier,
    duration_text,
    parse_approvers,
)

DAY_END = datetime(2026, 1, 15, tzinfo=UTC)
DEADLINE = DAY_END + timedelta(hours=3)


def deadline_context(deadline_time: Any = DEADLINE) -> dict[str, Any]:
    """What Deadline.handle_miss gives the callback: the run as the REST API dumps it (JSON)."""
    return {
        "dag_run": {
            "dag_run_id": "scheduled__2026-01-14T00:00:00+00:00",
            "dag_id": "haravan_adjustments_extract",
            "run_type": "scheduled",
            "state": "failed",
            "queued_at": DAY_END.isoformat(),
            "data_interval_start": "2026-01-14T00:00:00Z",
            "data_interval_end": "2026-01-15T00:00:00Z",
        },
        "deadline": {"id": "0199", "deadline_time": deadline_time},
    }


def test_the_freshness_message_names_the_dag_the_day_and_how_late() -> None:
    now = DEADLINE + timedelta(minutes=2, seconds=5)
    alert = FreshnessNotifier(now=lambda: now).alert(deadline_context())
    assert alert.kind == "freshness" and alert.dag_id == "haravan_adjustments_extract"
    assert alert.subject == (
        "[inventory-lake] haravan_adjustments_extract: partition dt=2026-01-14 has not landed, "
        "2m 05s past its deadline"
    )
    assert "Day (partition): dt=2026-01-14" in alert.body
    assert "Deadline: 2026-01-15T03:00:00+00:00 (3h 00m 00s after the run was queued)" in alert.body
    assert "scheduled run, now failed" in alert.body
    assert "Time since the day ended: 3h 02m 05s" in alert.body
    record = alert.as_record()
    assert (record["dt"], record["late_s"], record["deadline_after_queued_s"]) == (
        "2026-01-14",
        125.0,
        3 * 3600.0,
    )
    assert alert.record_key == "inventory_lake_alert__freshness__haravan_adjustments_extract"


def test_the_deadline_time_may_come_as_an_iso_string() -> None:
    now = DEADLINE + timedelta(seconds=4)
    notifier = FreshnessNotifier(now=lambda: now)
    from_text = notifier.alert(deadline_context("2026-01-15T03:00:00+00:00"))
    assert from_text == notifier.alert(deadline_context())
    assert from_text.details["late_s"] == 4.0


def test_the_deadline_callback_logs_and_records_the_alert(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """As the triggerer runs it: constructed with the context, then awaited."""
    recorded: list[Alert] = []
    notifier = FreshnessNotifier(
        recorder=recorded.append,
        now=lambda: DEADLINE + timedelta(seconds=30),
        context=deadline_context(),  # type: ignore[arg-type]
    )

    async def run() -> None:
        await notifier

    asyncio.run(run())
    assert [a.details["late_s"] for a in recorded] == [30.0]
    # Airflow's structlog writes the task, callback or test log to stdout here.
    assert "partition dt=2026-01-14 has not landed" in capsys.readouterr().out


def test_the_extracts_deadline_is_queued_at_plus_the_setting(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(settings, "FRESHNESS_DEADLINE_S", 10800)
    deadline = dag_defaults.freshness_deadline()
    assert deadline is not None
    assert type(deadline.reference).__name__ == "DagRunQueuedAtDeadline"
    assert deadline.interval == timedelta(seconds=10800)
    assert deadline.callback.path == "include.inventory_lake.alerts.FreshnessNotifier"
    monkeypatch.setattr(settings, "FRESHNESS_DEADLINE_S", 0)
    assert dag_defaults.freshness_deadline() is None, "0 turns the deadline off"


@pytest.mark.parametrize(
    ("seconds", "text"), [(0, "0s"), (4.4, "4s"), (65, "1m 05s"), (3725, "1h 02m 05s")]
)
def test_durations_read_like_a_person_writes_them(seconds: float, text: str) -> None:
    assert duration_text(seconds) == text


def test_approvers_come_from_one_comma_separated_setting() -> None:
    assert parse_approvers(" alice, bob:bob@shop.vn ,alice,, ") == [
        Approver("alice"),
        Approver("bob", "bob@shop.vn"),
    ]
    assert parse_approvers('["carol", "dan:dan@shop.vn"]') == [
        Approver("carol"),
        Approver("dan", "dan@shop.vn"),
    ]
    assert parse_approvers(None) == [] and parse_approvers("") == []
    assert Approver("alice").as_hitl_user() == {"id": "alice", "name": "alice"}


def approval_context(approvers: list[Approver]) -> dict[str, Any]:
    task = SimpleNamespace(
        subject="Set 250 lines at 2 locations (net -1,234)",
        body="**Plan** 250 lines",
        approvers=approvers,
        hitl_summary_extra={"timeout_datetime": "2026-01-16T10:00:00+00:00"},
        generate_link_to_ui=lambda task_instance: "http://airflow/required_actions?x=1",
    )
    ti = SimpleNamespace(
        dag_id="haravan_set_adjustments_push",
        run_id="manual__1",
        task_id="each_file.approve",
        map_index=1,
    )
    return {"task": task, "task_instance": ti}


def test_the_approval_request_names_its_approvers_and_where_to_answer() -> None:
    recorded: list[Alert] = []
    approvers = [Approver("alice", "alice@shop.vn"), Approver("bob")]
    ApprovalRequestNotifier(recorder=recorded.append).notify(approval_context(approvers))  # type: ignore[arg-type]
    [alert] = recorded
    assert alert.subject == (
        "[inventory-lake] approval needed: Set 250 lines at 2 locations (net -1,234)"
    )
    assert "Approvers: alice, bob" in alert.body
    assert "http://airflow/required_actions?x=1" in alert.body
    assert "by 2026-01-16T10:00:00+00:00 the plan is rejected" in alert.body
    assert alert.body.endswith("**Plan** 250 lines")
    assert alert.recipients == ("alice@shop.vn",)
    assert alert.as_record()["approvers"] == ["alice", "bob"]
    assert alert.record_key == "inventory_lake_alert__approval__haravan_set_adjustments_push"


def test_without_approvers_the_request_says_anyone_may_answer() -> None:
    recorded: list[Alert] = []
    ApprovalRequestNotifier(recorder=recorded.append).notify(approval_context([]))  # type: ignore[arg-type]
    assert "no approvers configured" in recorded[0].body


def test_the_smtp_channel_sends_the_same_message(monkeypatch: pytest.MonkeyPatch) -> None:
    sent: list[dict[str, Any]] = []

    class FakeSmtp:
        def __init__(self, **kwargs: Any) -> None:
            self.kwargs = kwargs

        def __call__(self, context: Any) -> None:
            sent.append(self.kwargs)

    import airflow.providers.smtp.notifications.smtp as smtp

    monkeypatch.setattr(smtp, "SmtpNotifier", FakeSmtp)
    notifier = ApprovalRequestNotifier(channel="smtp", recorder=lambda alert: None)
    notifier.notify(approval_context([Approver("alice", "alice@shop.vn")]))  # type: ignore[arg-type]
    [mail] = sent
    assert mail["to"] == ["alice@shop.vn"] and mail["smtp_conn_id"] == settings.SMTP_CONN_ID
    assert mail["subject"].startswith("[inventory-lake] approval needed")
    assert "Approvers: alice" in mail["html_content"]


def test_an_unknown_channel_falls_back_to_the_log(capsys: pytest.CaptureFixture[str]) -> None:
    recorded: list[Alert] = []
    notifier = ApprovalRequestNotifier(channel="pager", recorder=recorded.append)
    notifier.notify(approval_context([]))  # type: ignore[arg-type]
    assert len(recorded) == 1 and "unknown alert channel 'pager'" in capsys.readouterr().out
    assert alerts.channel_notifier(recorded[0], "log") is None
