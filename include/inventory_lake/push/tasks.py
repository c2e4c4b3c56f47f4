"""The push DAG's task bodies. Everything a task needs comes from the lake, small XComs and the
run's params: no local files or process memory carry state from one task to the next.

Per approved file (one mapped task group instance each): `prepare` (validate, claim the
batch, read current stock, plan), `approve` (a person, only when the guard asks), `push`
(send, ledger first), `record` (audit, move the file).
"""

from __future__ import annotations

import hashlib
import json
import logging
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any, NoReturn

from include.inventory_lake.http.errors import (
    ApiAuthError,
    ApiRetiredError,
    MalformedResponseError,
)
from include.inventory_lake.push.archive import put_bytes
from include.inventory_lake.push.batch import batch_id_for, content_prefix, content_sha256
from include.inventory_lake.push.claim import Claim, claim_batch, pushed_already
from include.inventory_lake.push.discovery import StagedFile, discover_approved
from include.inventory_lake.push.finalize import finalize_batch, reject_file
from include.inventory_lake.push.layout import PushLayout
from include.inventory_lake.push.ledger import (
    Ledger,
    LedgerConflict,
    StoredBatch,
    batch_ids_for_content,
)
from include.inventory_lake.push.lifecycle import Batch, IllegalTransition, SourceFile
from include.inventory_lake.push.options import PushOptions
from include.inventory_lake.push.owner_runs import owner_run_is_active
from include.inventory_lake.push.plan_store import read_plan, write_plan
from include.inventory_lake.push.planning import Plan, build_plan
from include.inventory_lake.push.reading import MAX_FILE_BYTES, UnreadableFile, read_staged
from include.inventory_lake.push.sending import send_batch
from include.inventory_lake.push.stock import read_current_stock
from include.inventory_lake.push.summary import approval_body, approval_subject, summarise
from include.inventory_lake.push.task_ids import APPROVE_TASK, PREPARE_TASK
from include.inventory_lake.push.validation import Problem, SetLine, validate

log = logging.getLogger(__name__)

Context = Mapping[str, Any]


def _fail(message: str) -> NoReturn:
    from airflow.sdk.exceptions import AirflowFailException

    raise AirflowFailException(message)


def _skip(message: str) -> NoReturn:
    from airflow.sdk.exceptions import AirflowSkipException

    raise AirflowSkipException(message)


@contextmanager
def _no_retry_for_permanent_failures() -> Iterator[None]:
    """Refused credentials, a malformed answer, a lost batch or a move the batch's state does
    not allow will not heal within the retries: fail now."""
    try:
        yield
    except (
        ApiAuthError,
        ApiRetiredError,
        MalformedResponseError,
        LedgerConflict,
        IllegalTransition,
    ) as error:
        _fail(str(error))


def _lake() -> tuple[Any, PushLayout]:
    from include.inventory_lake.lake.connection import lake_root, s3_client

    return s3_client(), PushLayout(lake_root())


def _haravan() -> Any:
    from include.inventory_lake.extract.connections import haravan_client

    return haravan_client()


def _mine(context: Context, task_id: str) -> Any:
    """The XCom of `task_id` in this file's task group instance."""
    ti = context["ti"]
    return ti.xcom_pull(task_ids=task_id, map_indexes=ti.map_index)


# discover


def discover(context: Context) -> list[dict[str, Any]]:
    s3, layout = _lake()
    return [staged.as_xcom() for staged in discover_approved(s3, layout)]


# prepare


def _read_lines(name: str, body: bytes, max_lines: int) -> tuple[list[SetLine], list[Problem]]:
    try:  # a file with more rows than allowed is refused before its rows are read
        table = read_staged(name, body, max_rows=max_lines)
    except UnreadableFile as error:
        return [], [Problem(error.row, error.column, None, str(error))]
    checked = validate(table, max_lines=max_lines)
    return list(checked.lines), list(checked.problems)


def _reject(
    s3: Any, layout: PushLayout, source: SourceFile, problems: list[Problem], *, dry_run: bool
) -> NoReturn:
    uri = reject_file(s3, layout, source, problems, dry_run=dry_run)
    verb = "would be rejected (dry run)" if dry_run else "rejected, nothing sent"
    first = problems[0]
    where = f"row {first.row}: " if first.row else ""
    _fail(f"{source.name} {verb}: {len(problems)} problem(s), e.g. {where}{first.problem}; {uri}")


def _attempt(context: Context) -> str:
    """This attempt of the task, unique even when two processes run the same try."""
    return f"{context['run_id']}/try-{context['ti'].try_number}/{uuid.uuid4().hex[:8]}"


def _pushed_before(s3: Any, layout: PushLayout, batch_id: str) -> Batch | None:
    for other in batch_ids_for_content(s3, layout, content_prefix(batch_id)):
        stored = Ledger(s3, layout, other).read()
        if stored is not None and stored.batch.is_done:
            return stored.batch
    return None


def _duplicate_problem(why: str) -> Problem:
    return Problem(
        None,
        None,
        None,
        f"{why}; nothing was sent from this file. To push it again on purpose, put the file "
        "back in approved/ and trigger the DAG with force=true",
    )


def _plan(
    lines: list[SetLine], batch_id: str, options: PushOptions
) -> tuple[Plan | None, list[Problem]]:
    with _haravan() as client:
        stock = read_current_stock(client, lines)
    if stock.problems:
        return None, list(stock.problems)
    plan = build_plan(
        batch_id, lines, stock.on_hand, chunk_size=options.chunk_size, limits=options.limits
    )
    return plan, []


def _prepared(
    source: SourceFile,
    batch_id: str,
    summary: Mapping[str, Any] | None,
    *,
    dry_run: bool,
    resumed: bool,
) -> dict[str, Any]:
    """What the next tasks need to know, small enough for an XCom."""
    return {
        "key": source.key,
        "name": source.name,
        "source_sha256": source.sha256,
        "batch_id": batch_id,
        "dry_run": dry_run,
        "resumed": resumed,
        "needs_approval": bool(summary and summary["needs_approval"]),
        "lines": summary["lines"] if summary else None,
        "requests": summary["requests"] if summary else None,
        "guard_reasons": list(summary["guard_reasons"]) if summary else [],
        "plan_uri": summary["plan_uri"] if summary else None,
        "subject": approval_subject(summary) if summary else "",
        "body": approval_body(summary) if summary else "",
    }


def prepare(staged_xcom: Mapping[str, Any], context: Context) -> dict[str, Any]:
    with _no_retry_for_permanent_failures():
        return _prepare(StagedFile.from_xcom(dict(staged_xcom)), context)


def _prepare(staged: StagedFile, context: Context) -> dict[str, Any]:
    options = PushOptions.from_params(context["params"])
    run_id: str = context["run_id"]
    s3, layout = _lake()
    if staged.size > MAX_FILE_BYTES:  # refused unread: a huge file must not exhaust the worker
        stand_in = hashlib.sha256(f"{staged.key}:{staged.etag}".encode()).hexdigest()
        source = SourceFile(staged.key, staged.name, staged.etag, stand_in)
        too_big = f"the file has {staged.size:,} bytes; files above {MAX_FILE_BYTES:,} are not read"
        _reject(s3, layout, source, [Problem(None, None, None, too_big)], dry_run=options.dry_run)
    try:
        obj = s3.get_object(Bucket=layout.root.bucket, Key=staged.key)
    except s3.exceptions.NoSuchKey:
        _skip(f"{staged.key} is gone (moved by another run or by a person)")
    body: bytes = obj["Body"].read()
    source = SourceFile(
        staged.key, staged.name, str(obj["ETag"]).strip('"'), hashlib.sha256(body).hexdigest()
    )
    lines, problems = _read_lines(source.name, body, options.max_lines)
    if problems:
        _reject(s3, layout, source, problems, dry_run=options.dry_run)
    content = content_sha256(lines)
    batch_id = batch_id_for(content, forced_by_run=run_id if options.force else None)
    log.info("%s: %d valid lines, batch %s", source.key, len(lines), batch_id)

    if options.dry_run:
        return _dry_run(s3, layout, source, lines, batch_id, options)

    if not options.force and (earlier := _pushed_before(s3, layout, batch_id)) is not None:
        _reject(s3, layout, source, [_duplicate_problem(pushed_already(earlier))], dry_run=False)
    ledger = Ledger(s3, layout, batch_id)
    claim: Claim = claim_batch(
        ledger,
        source,
        content_sha256=content,
        forced=options.force,
        lines=len(lines),
        chunk_size=options.chunk_size,
        run_id=run_id,
        run_is_active=owner_run_is_active(context["ti"].get_dagrun_state, context["dag"].dag_id),
    )
    if claim.outcome == "busy":
        _skip(f"{source.key}: {claim.detail}; left for that run")
    if claim.outcome == "duplicate":
        _reject(s3, layout, source, [_duplicate_problem(claim.detail)], dry_run=False)
    stored = claim.stored
    assert stored is not None
    if stored.batch.plan_locked:
        log.info(
            "batch %s resumes (%s): stored plan, approval given before", batch_id, claim.detail
        )
        return _prepared(source, batch_id, None, dry_run=False, resumed=True)

    plan, stock_problems = _plan(lines, batch_id, options)
    if plan is None:
        ledger.save(stored, stored.batch.reject(run_id, "Haravan stock check failed"))
        _reject(s3, layout, source, stock_problems, dry_run=False)
    _, csv_key = write_plan(s3, layout, plan, dry_run=False)
    summary = summarise(plan, file_name=source.name, plan_uri=layout.uri(csv_key))
    planned = stored.batch.plan(
        run_id,
        lines=len(plan.lines),
        chunks=len(plan.chunks),
        chunk_size=options.chunk_size,
        needs_approval=plan.needs_approval,
        guard_reasons=tuple(plan.guard_reasons),
    )
    ledger.save(stored, planned)
    return _prepared(source, batch_id, summary, dry_run=False, resumed=False)


def _dry_run(
    s3: Any,
    layout: PushLayout,
    source: SourceFile,
    lines: list[SetLine],
    batch_id: str,
    options: PushOptions,
) -> dict[str, Any]:
    plan, problems = _plan(lines, batch_id, options)
    if plan is None:
        _reject(s3, layout, source, problems, dry_run=True)
    _, csv_key = write_plan(s3, layout, plan, dry_run=True)
    summary = summarise(plan, file_name=source.name, plan_uri=layout.uri(csv_key))
    earlier = None if options.force else _pushed_before(s3, layout, batch_id)
    summary["pushed_before_as"] = earlier.batch_id if earlier else None
    put_bytes(
        s3,
        layout.root.bucket,
        layout.dry_run_summary_key(batch_id),
        json.dumps(summary, indent=1).encode(),
        "application/json",
    )
    log.info("dry run of %s: %s", source.key, json.dumps(summary)[:2000])
    return _prepared(source, batch_id, summary, dry_run=True, resumed=False)


# approve


def approval_needed(prepared: Mapping[str, Any]) -> str | None:
    """Why no person is asked (dry run, resumed, within the guard), or None to ask."""
    if prepared["dry_run"]:
        return "dry_run"
    if prepared["resumed"]:
        return "approved_before"
    if not prepared["needs_approval"]:
        return "not_needed"
    return None


def earlier_decision(prepared: Mapping[str, Any], context: Context) -> dict[str, Any] | None:
    """The answer this run already recorded: a retried approval task must not ask twice."""
    s3, layout = _lake()
    stored = Ledger(s3, layout, prepared["batch_id"]).read()
    if stored is None or not stored.batch.owned_by(context["run_id"]):
        return None
    approval = stored.batch.approval
    if approval is None:
        return None
    if approval.decision == "declined":  # finish closing it: a crash may have cut in
        return record_decision(
            prepared, context, approved=False, by=approval.by, at=approval.at or ""
        )
    return {"approval": "approved", "by": approval.by, "at": approval.at}


def record_decision(
    prepared: Mapping[str, Any],
    context: Context,
    *,
    approved: bool,
    by: str | None,
    at: str,
) -> dict[str, Any]:
    """Write a person's answer to the ledger; a rejected plan is closed (audit, file moved)."""
    with _no_retry_for_permanent_failures():
        run_id: str = context["run_id"]
        s3, layout = _lake()
        ledger = Ledger(s3, layout, prepared["batch_id"])
        stored = _owned(ledger, run_id)
        who = by or "nobody (no answer in time)"
        if approved:
            ledger.save(stored, stored.batch.approve(run_id, by=by, at=at))
            return {"approval": "approved", "by": by, "at": at}
        if stored.status != "declined":  # a retry finishing a decline records it once
            stored = ledger.save(stored, stored.batch.decline(run_id, by=by, at=at))
        batch = stored.batch
        plan = read_plan(s3, layout, batch.batch_id, list(batch.guard_reasons))
        reasons = [Problem(None, None, None, f"guard: {r}") for r in batch.guard_reasons]
        declined = Problem(None, None, None, f"declined by {who} at {at}: nothing was sent")
        finalize_batch(
            s3, layout, ledger, stored, plan, run_id=run_id, kind="declined",
            problems=[declined, *reasons],
        )  # fmt: skip
        return {"approval": "declined", "by": by, "at": at}


# push


def _owned(ledger: Ledger, run_id: str) -> StoredBatch:
    stored = ledger.read()
    if stored is None:
        _fail(f"batch {ledger.batch_id} has no ledger: prepare did not claim it")
    if not stored.batch.owned_by(run_id):
        _fail(f"batch {ledger.batch_id} is owned by run {stored.batch.owner_run_id} now")
    return stored


def push(context: Context) -> dict[str, Any]:
    with _no_retry_for_permanent_failures():
        return _push(context)


def _push(context: Context) -> dict[str, Any]:
    prepared = _mine(context, PREPARE_TASK)
    approval = _mine(context, APPROVE_TASK)
    if prepared["dry_run"]:
        _skip("dry run: nothing sent")
    if not approval:
        _fail("the approval step left no decision: refusing to send")
    if approval["approval"] == "declined":
        _skip(f"declined by {approval.get('by') or 'nobody in time'}: nothing sent")
    run_id: str = context["run_id"]
    s3, layout = _lake()
    ledger = Ledger(s3, layout, prepared["batch_id"])
    stored = _owned(ledger, run_id)
    batch = stored.batch
    if batch.status in ("sent", "done"):
        log.info("batch %s: every request was applied before", ledger.batch_id)
        return {"batch_id": ledger.batch_id, "status": batch.status, "requests_sent": 0}
    if batch.status == "planned" and not batch.cleared_to_send:
        _fail(f"batch {ledger.batch_id} needs approval and none is recorded: refusing to send")
    if batch.status not in ("planned", "sending"):
        _fail(f"batch {ledger.batch_id} is {batch.status}: nothing to send")
    plan = read_plan(s3, layout, ledger.batch_id, list(batch.guard_reasons))
    with _haravan() as client:
        stored, report = send_batch(
            client, ledger, stored, plan, run_id=run_id, attempt=_attempt(context)
        )
        api = client.summary()
    result = {"batch_id": ledger.batch_id, **report.as_dict(), "api": api}
    log.info("push of batch %s: %s", ledger.batch_id, result)
    if report.refused is not None:
        finalize_batch(s3, layout, ledger, stored, plan, run_id=run_id, kind="failed")
        _fail(
            f"batch {ledger.batch_id}: Haravan refused request {report.refused['chunk']}/"
            f"{len(plan.chunks)} ({report.refused['error']}); earlier requests stay applied, "
            "later ones were not sent; file moved to rejected/ with a report"
        )
    return result


# record


def record(context: Context) -> dict[str, Any]:
    with _no_retry_for_permanent_failures():
        prepared = _mine(context, PREPARE_TASK)
        run_id: str = context["run_id"]
        s3, layout = _lake()
        ledger = Ledger(s3, layout, prepared["batch_id"])
        stored = _owned(ledger, run_id)
        if stored.status == "done":
            return {"batch_id": ledger.batch_id, "status": "done"}
        if stored.status != "sent":
            _fail(f"batch {ledger.batch_id} is {stored.status}, not sent: nothing to record")
        plan = read_plan(s3, layout, ledger.batch_id, list(stored.batch.guard_reasons))
        stored = finalize_batch(s3, layout, ledger, stored, plan, run_id=run_id, kind="done")
        return {
            "batch_id": ledger.batch_id,
            "status": stored.status,
            "lines": len(plan.lines),
            "requests": len(plan.chunks),
        }
