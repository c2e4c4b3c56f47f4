"""The project's notifiers: a day's partition that missed its freshness deadline, and a push
plan waiting for a person's approval.

Both are Airflow `BaseNotifier`s. `FreshnessNotifier` is the callback of the extracts'
Deadline Alert (`dag_defaults.freshness_deadline`): the scheduler queues it when the deadline
passes and the triggerer awaits it (`async_notify`). `ApprovalRequestNotifier` is one of the
approval step's `notifiers=`: the task calls it (`notify`) before it waits for an answer.

Every alert is written to the log it runs in (the triggerer's for a deadline, the task's for an
approval) and recorded as the Variable `inventory_lake_alert__<kind>__<dag_id>` (a JSON object:
the last alert of that kind for that DAG), which a person or a test reads through the REST API
(`GET /api/v2/variables/<key>`). `settings.ALERT_CHANNEL` adds a channel: `smtp` (an email
through `smtp_default`) or `slack` (a Slack incoming webhook through `slack_alerts`); the message
is the same everywhere. See docs/set-adjustments.md, "Alerts and approvers".

Importing this module is cheap (it is imported when DAG files are parsed): providers are
imported only when an alert is sent.
"""

from __future__ import annotations

import asyncio
import html
import importlib
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from airflow.sdk.bases.notifier import BaseNotifier

from include.inventory_lake import settings

if TYPE_CHECKING:
    from airflow.sdk import Context
    from airflow.sdk.execution_time.hitl import HITLUser

FRESHNESS = "freshness"
APPROVAL = "approval"


@dataclass(frozen=True)
class Approver:
    """A person who may answer a push approval: `id` as the auth manager knows the user
    (SimpleAuthManager: the user name), and an address for the `smtp` channel if known."""

    id: str
    email: str | None = None

    def as_hitl_user(self) -> HITLUser:
        return {"id": self.id, "name": self.id}


def parse_approvers(raw: str | None) -> list[Approver]:
    """`alice, bob:bob@shop.vn` → [Approver("alice"), Approver("bob", "bob@shop.vn")]; a JSON
    list of the same strings is accepted too. Duplicates keep their first place."""
    text = (raw or "").strip()
    if text.startswith("["):
        entries = [str(entry) for entry in json.loads(text)]
    else:
        entries = text.split(",")
    approvers: dict[str, Approver] = {}
    for entry in entries:
        user_id, _, email = entry.strip().partition(":")
        user_id, email = user_id.strip(), email.strip()
        if user_id and user_id not in approvers:
            approvers[user_id] = Approver(user_id, email or None)
    return list(approvers.values())


@dataclass(frozen=True)
class Alert:
    kind: str
    dag_id: str
    run_id: str
    subject: str
    body: str
    # Email addresses of the people the alert is for (`smtp` channel; else ALERT_EMAILS).
    recipients: tuple[str, ...] = ()
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def record_key(self) -> str:
        return f"{settings.ALERT_RECORD_PREFIX}__{self.kind}__{self.dag_id}"

    def as_record(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "dag_id": self.dag_id,
            "run_id": self.run_id,
            "subject": self.subject,
            "body": self.body,
            **self.details,
        }


def as_datetime(value: Any) -> datetime | None:
    """A datetime from the callback context, which may carry it as an ISO string."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        moment = value
    else:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def duration_text(seconds: float) -> str:
    """3725 → `1h 02m 05s`; 65 → `1m 05s`; 4 → `4s`."""
    total = max(0, round(seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h {minutes:02d}m {secs:02d}s"
    if minutes:
        return f"{minutes}m {secs:02d}s"
    return f"{secs}s"


def _iso(moment: datetime | None) -> str | None:
    return moment.astimezone(UTC).isoformat() if moment else None


def freshness_alert(dag_run: Mapping[str, Any], deadline_time: datetime, now: datetime) -> Alert:
    """What a missed freshness deadline says: which DAG, which day's partition, how late."""
    dag_id = str(dag_run["dag_id"])
    run_id = str(dag_run.get("dag_run_id") or dag_run.get("run_id"))
    day_start = as_datetime(dag_run.get("data_interval_start"))
    day_end = as_datetime(dag_run.get("data_interval_end"))
    queued_at = as_datetime(dag_run.get("queued_at"))
    day = day_start.astimezone(UTC).date().isoformat() if day_start else "unknown"
    overdue_s = max(0.0, (now - deadline_time).total_seconds())
    allowed_s = (deadline_time - queued_at).total_seconds() if queued_at else None
    state = str(dag_run.get("state") or "unknown")
    subject = (
        f"[inventory-lake] {dag_id}: partition dt={day} has not landed, "
        f"{duration_text(overdue_s)} past its deadline"
    )
    lines = [
        f"DAG: {dag_id}",
        f"Day (partition): dt={day}",
        f"Run: {run_id} ({dag_run.get('run_type') or 'unknown'} run, now {state})",
        f"Day ended: {_iso(day_end) or 'unknown'}",
        f"Run queued: {_iso(queued_at) or 'unknown'}",
        f"Deadline: {_iso(deadline_time)}"
        + (f" ({duration_text(allowed_s)} after the run was queued)" if allowed_s else ""),
        f"Late by: {duration_text(overdue_s)} (at {_iso(now)})",
    ]
    if day_end is not None:
        lines.append(f"Time since the day ended: {duration_text((now - day_end).total_seconds())}")
    lines.append(
        "Look at the run's task logs in the Airflow UI; a failed run can be cleared once the "
        "cause is fixed."
    )
    return Alert(
        kind=FRESHNESS,
        dag_id=dag_id,
        run_id=run_id,
        subject=subject,
        body="\n".join(lines),
        recipients=settings.ALERT_EMAILS,
        details={
            "dt": day,
            "run_state": state,
            "run_type": dag_run.get("run_type"),
            "deadline": _iso(deadline_time),
            "queued_at": _iso(queued_at),
            "day_end": _iso(day_end),
            "late_s": round(overdue_s, 3),
            "deadline_after_queued_s": allowed_s,
            "alerted_at": _iso(now),
        },
    )


def approval_alert(
    *,
    dag_id: str,
    run_id: str,
    task_id: str,
    map_index: int,
    subject: str,
    body: str | None,
    approvers: Sequence[Approver],
    link: str | None,
    timeout_at: str | None,
) -> Alert:
    """What a plan waiting for approval says: who is asked, where to answer, by when."""
    names = ", ".join(a.id for a in approvers)
    who = names or "anyone allowed to answer required actions (no approvers configured)"
    lines = [
        f"A bulk stock overwrite waits for approval ({dag_id}, run {run_id}, file {map_index}).",
        f"Approvers: {who}",
        f"Answer in the Airflow UI (Required actions): {link or 'see the task ' + task_id}",
        f"Without an answer by {timeout_at or 'its timeout'} the plan is rejected.",
        "",
        body or "",
    ]
    return Alert(
        kind=APPROVAL,
        dag_id=dag_id,
        run_id=run_id,
        subject=f"[inventory-lake] approval needed: {subject}",
        body="\n".join(lines).rstrip(),
        recipients=tuple(a.email for a in approvers if a.email) or settings.ALERT_EMAILS,
        details={
            "task_id": task_id,
            "map_index": map_index,
            "approvers": [a.id for a in approvers],
            "link": link,
            "timeout_at": timeout_at,
        },
    )


def record_alert(alert: Alert) -> None:
    """The local record of the alert: a Variable (through the task or triggerer's supervisor)."""
    from airflow.sdk import Variable

    Variable.set(
        alert.record_key,
        alert.as_record(),
        description=f"Last {alert.kind} alert of {alert.dag_id} (include/inventory_lake/alerts.py)",
        serialize_json=True,
    )


def channel_notifier(alert: Alert, channel: str) -> BaseNotifier | None:
    """The provider notifier that carries `alert` on `channel` (`log` needs none)."""
    if channel == "smtp":
        from airflow.providers.smtp.notifications.smtp import SmtpNotifier

        if not alert.recipients:
            raise ValueError("smtp alert channel: set INVENTORY_LAKE_ALERT_EMAILS")
        return SmtpNotifier(
            to=list(alert.recipients),
            subject=alert.subject,
            html_content=f"<pre>{html.escape(alert.body)}</pre>",
            smtp_conn_id=settings.SMTP_CONN_ID,
        )
    if channel == "slack":
        # apache-airflow-providers-slack is not a dependency: only a deployment that picks this
        # channel installs it.
        module = importlib.import_module("airflow.providers.slack.notifications.slack_webhook")
        notifier: BaseNotifier = module.SlackWebhookNotifier(
            slack_webhook_conn_id=settings.SLACK_WEBHOOK_CONN_ID,
            text=f"*{alert.subject}*\n```{alert.body}```",
        )
        return notifier
    return None


class LakeNotifier(BaseNotifier):
    """Writes an alert to the log, records it (`record_alert`) and sends it on the configured
    channel. Subclasses say what the alert is (`alert`)."""

    def __init__(
        self,
        *,
        channel: str | None = None,
        recorder: Callable[[Alert], None] | None = None,
        context: Context | None = None,
    ) -> None:
        super().__init__(context=context)
        self.channel = channel or settings.ALERT_CHANNEL
        self.recorder = recorder or record_alert

    def alert(self, context: Mapping[str, Any]) -> Alert:
        raise NotImplementedError

    def _channel(self) -> str:
        if self.channel in settings.ALERT_CHANNELS:
            return self.channel
        self.log.error("unknown alert channel %r: the alert goes to the log only", self.channel)
        return "log"

    def _write(self, alert: Alert) -> None:
        self.log.warning("%s\n%s", alert.subject, alert.body)

    def notify(self, context: Context) -> None:
        alert = self.alert(context)
        self._write(alert)
        self.recorder(alert)
        notifier = channel_notifier(alert, self._channel())
        if notifier is not None:
            notifier(context)

    async def async_notify(self, context: Context) -> None:
        alert = self.alert(context)
        self._write(alert)
        # Sync SDK calls from a thread reach the triggerer's supervisor without blocking its loop.
        await asyncio.to_thread(self.recorder, alert)
        notifier = channel_notifier(alert, self._channel())
        if notifier is not None:
            notifier.context = context
            await notifier


class FreshnessNotifier(LakeNotifier):
    """The extracts' Deadline Alert callback. Its context is the one a deadline callback gets
    on Airflow 3.3: `dag_run` (the REST API's DAG run, as JSON) and `deadline`
    (`deadline_time`)."""

    def __init__(
        self,
        *,
        channel: str | None = None,
        recorder: Callable[[Alert], None] | None = None,
        now: Callable[[], datetime] | None = None,
        context: Context | None = None,
    ) -> None:
        super().__init__(channel=channel, recorder=recorder, context=context)
        self.now = now or (lambda: datetime.now(UTC))

    def alert(self, context: Mapping[str, Any]) -> Alert:
        deadline_time = as_datetime(context["deadline"]["deadline_time"])
        if deadline_time is None:
            raise ValueError("deadline callback context without a deadline_time")
        return freshness_alert(context["dag_run"], deadline_time, self.now())


class ApprovalRequestNotifier(LakeNotifier):
    """Called by the approval task (`PlanApprovalOperator`) once it has asked: tells the
    approvers (`task.approvers`) what waits, where to answer and by when."""

    def alert(self, context: Mapping[str, Any]) -> Alert:
        task = context["task"]
        ti = context["task_instance"]
        link: str | None
        try:
            link = task.generate_link_to_ui(task_instance=ti)
        except (ValueError, AttributeError):
            link = None
        timeout_at = task.hitl_summary_extra.get("timeout_datetime")
        return approval_alert(
            dag_id=ti.dag_id,
            run_id=ti.run_id,
            task_id=ti.task_id,
            map_index=ti.map_index,
            subject=str(task.subject),
            body=task.body,
            approvers=list(getattr(task, "approvers", [])),
            link=link,
            timeout_at=timeout_at,
        )
