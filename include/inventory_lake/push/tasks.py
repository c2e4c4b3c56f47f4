"""The push DAG's task bodies: orchestration only. Each step is done by its own module (reading
and validation, claiming, planning against current stock, sending, finalising); these functions
put them in order, say why a file is refused or skipped, and hand the next task a small typed
value (`push/handoffs.py`).

Per approved file (one mapped task group instance each): `prepare` (validate, claim the
batch, read current stock, plan), `approve` (a person, only when the guard asks), `push`
(send, ledger first), `record` (audit, move the file). Each file is for one shop (its folder,
`push/discovery.py`): its stock is read and its requests sent through that shop's Haravan
connection, so a shop whose connection fails fails its own files only.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, NoReturn

from include.inventory_lake.checksums import bytes_sha256
from include.inventory_lake.failures import fail_fast_on
from include.inventory_lake.http.errors import ApiPermanentError, MalformedResponseError
from include.inventory_lake.push.batch import batch_id_for, content_sha256
from include.inventory_lake.push.claim import (
    Claim,
    claim_batch,
    duplicate_problem,
    pushed_already,
    pushed_before,
)
from include.inventory_lake.push.discovery import StagedFile, discover_approved
from include.inventory_lake.push.dry_run import write_dry_run
from include.inventory_lake.push.finalize import (
    ClosingBatch,
    SourceNotMoved,
    reject_file,
    rejection_message,
    withdrawn_problems,
)
from include.inventory_lake.push.handoffs import Decision, Prepared, Pushed
from include.inventory_lake.push.layout import PushLake, archive_folder, connect
from include.inventory_lake.push.ledger import Ledger, LedgerConflict, StoredBatch
from include.inventory_lake.push.lifecycle import IllegalTransition, SourceFile
from include.inventory_lake.push.options import PushOptions
from include.inventory_lake.push.owner_runs import owner_run_is_active
from include.inventory_lake.push.plan_store import read_plan, write_plan
from include.inventory_lake.push.planning import Plan
from include.inventory_lake.push.preflight import file_withdrawn, shop_changed
from include.inventory_lake.push.reading import MAX_FILE_BYTES
from include.inventory_lake.push.sending import send_batch
from include.inventory_lake.push.stock import plan_from_current_stock
from include.inventory_lake.push.summary import summarise
from include.inventory_lake.push.validation import Problem, SetLine, read_and_validate
from include.inventory_lake.shop_stores import refuse_shops_sharing_a_store
from include.inventory_lake.shops import Shop, configured_shops

if TYPE_CHECKING:
    from airflow.sdk import Context

log = logging.getLogger(__name__)


def _context() -> Context:
    from airflow.sdk import get_current_context

    return get_current_context()


def _fail(message: str) -> NoReturn:
    from airflow.sdk.exceptions import AirflowFailException

    raise AirflowFailException(message)


def _skip(message: str) -> NoReturn:
    from airflow.sdk.exceptions import AirflowSkipException

    raise AirflowSkipException(message)


# Refused credentials, a malformed answer, a lost batch, a move the batch's state does not
# allow or a file that cannot be moved to processed/ will not heal within the retries: fail now
# (`fail_fast_on`).
PERMANENT_FAILURES = (
    ApiPermanentError,  # refused credentials, retired API, bad connection, too long a wait
    MalformedResponseError,
    LedgerConflict,
    IllegalTransition,
    SourceNotMoved,
)


def _plan(
    shop: Shop, lines: list[SetLine], batch_id: str, options: PushOptions
) -> tuple[Plan | None, list[Problem]]:
    from include.inventory_lake.hooks import haravan_client

    with haravan_client(shop.haravan_conn_id) as client:
        return plan_from_current_stock(client, lines, batch_id, options)


def _reject(
    lake: PushLake,
    source: SourceFile,
    problems: list[Problem],
    *,
    dry_run: bool,
    sub: str,
) -> NoReturn:
    uri = reject_file(lake, source, problems, dry_run=dry_run, sub=sub)
    _fail(rejection_message(source, problems, uri, dry_run=dry_run))


def _attempt(context: Context) -> str:
    """This attempt of the task, unique even when two processes run the same try."""
    return f"{context['run_id']}/try-{context['ti'].try_number}/{uuid.uuid4().hex[:8]}"


# discover


def discover() -> list[dict[str, Any]]:
    shops = configured_shops()
    # Two shops on one store would send a file for both to it twice.
    refuse_shops_sharing_a_store(shops)
    lake = connect()
    return [staged.as_xcom() for staged in discover_approved(lake, shops)]


# prepare


def prepare(staged: Mapping[str, Any]) -> dict[str, Any]:
    with fail_fast_on(*PERMANENT_FAILURES):
        return _prepare(StagedFile.from_xcom(dict(staged)), _context()).as_xcom()


def _prepare(staged: StagedFile, context: Context) -> Prepared:
    options = PushOptions.from_params(context["params"])
    run_id = context["run_id"]
    lake = connect()
    shop = staged.shop
    # A file without a shop is kept in the sub-folder it was found in; a shop's in its own.
    sub = staged.folder if shop is None else archive_folder(shop.id)
    placement = [] if staged.misplaced is None else [Problem(None, None, None, staged.misplaced)]
    if staged.size > MAX_FILE_BYTES:  # refused unread: a huge file must not exhaust the worker
        stand_in = bytes_sha256(f"{staged.key}:{staged.etag}".encode())
        source = SourceFile(staged.key, staged.name, staged.etag, stand_in)
        too_big = f"the file has {staged.size:,} bytes; files above {MAX_FILE_BYTES:,} are not read"
        problems = [*placement, Problem(None, None, None, too_big)]
        _reject(lake, source, problems, dry_run=options.dry_run, sub=sub)
    read = lake.read_versioned(staged.key)
    if read is None:
        _skip(f"{staged.key} is gone (moved by another run or by a person)")
    body = read.body
    source = SourceFile(staged.key, staged.name, read.etag.strip('"'), bytes_sha256(body))
    checked = read_and_validate(source.name, body, max_lines=options.max_lines)
    if placement or checked.problems:  # all at once: the place, then what the file holds
        problems = [*placement, *checked.problems]
        _reject(lake, source, problems, dry_run=options.dry_run, sub=sub)
    assert shop is not None, "a file without a shop is misplaced"
    lines = list(checked.lines)
    content = content_sha256(lines, shop.id)
    batch_id = batch_id_for(content, forced_by_run=run_id if options.force else None)
    log.info("%s: %d valid lines for shop %s, batch %s", source.key, len(lines), shop.id, batch_id)

    if options.dry_run:
        plan, problems = _plan(shop, lines, batch_id, options)
        if plan is None:
            _reject(lake, source, problems, dry_run=True, sub=sub)
        summary = write_dry_run(lake, plan, file_name=source.name, options=options, shop=shop.id)
        return Prepared.of(source, batch_id, summary, shop=shop, dry_run=True)

    if not options.force and (earlier := pushed_before(lake, batch_id)) is not None:
        problem = duplicate_problem(pushed_already(earlier))
        _reject(lake, source, [problem], dry_run=False, sub=sub)
    ledger = Ledger(lake, batch_id)
    claim: Claim = claim_batch(
        ledger,
        source,
        content_sha256=content,
        forced=options.force,
        lines=len(lines),
        lines_per_request=options.lines_per_request,
        run_id=run_id,
        run_is_active=owner_run_is_active(context["ti"].get_dagrun_state, context["dag"].dag_id),
        shop=shop.id,
    )
    if claim.outcome == "busy":
        _skip(f"{source.key}: {claim.detail}; left for that run")
    if claim.outcome == "duplicate":
        _reject(lake, source, [duplicate_problem(claim.detail)], dry_run=False, sub=sub)
    stored = claim.stored
    assert stored is not None
    if stored.batch.shop != shop.id:  # a batch id is one shop's (push/batch.py): never here
        _fail(f"batch {batch_id} is shop {stored.batch.shop}'s, not {shop.id}'s: nothing sent")
    if stored.batch.plan_locked:
        log.info(
            "batch %s resumes (%s): stored plan, approval given before", batch_id, claim.detail
        )
        return Prepared.of(source, batch_id, None, shop=shop, resumed=True)

    plan, stock_problems = _plan(shop, lines, batch_id, options)
    if plan is None:
        ledger.save(stored, stored.batch.reject(run_id, "Haravan stock check failed"))
        _reject(lake, source, stock_problems, dry_run=False, sub=sub)
    _, csv_key = write_plan(lake, plan, dry_run=False)
    summary = summarise(plan, file_name=source.name, plan_uri=lake.uri(csv_key), shop=shop.id)
    planned = stored.batch.plan(
        run_id,
        lines=len(plan.lines),
        requests=len(plan.requests),
        lines_per_request=options.lines_per_request,
        needs_approval=plan.needs_approval,
        guard_reasons=tuple(plan.guard_reasons),
    )
    ledger.save(stored, planned)
    return Prepared.of(source, batch_id, summary, shop=shop)


# push


def push(decision: Mapping[str, Any]) -> dict[str, Any]:
    with fail_fast_on(*PERMANENT_FAILURES):
        return _push(Decision.from_xcom(decision), _context()).as_xcom()


def _push(decision: Decision, context: Context) -> Pushed:
    prepared = decision.prepared
    if prepared.dry_run:
        _skip("dry run: nothing sent")
    if decision.declined:
        _skip(f"declined by {decision.who}: nothing sent")
    run_id = context["run_id"]
    shop = prepared.shop
    lake = connect()
    ledger = Ledger(lake, prepared.batch_id)
    stored = ledger.read_owned(run_id)
    batch = stored.batch
    if batch.shop != shop.id:
        _fail(f"batch {ledger.batch_id} is shop {batch.shop}'s, not {shop.id}'s: nothing sent")
    if batch.status in ("sent", "done"):
        log.info("batch %s: every request was applied before", ledger.batch_id)
        return Pushed(ledger.batch_id, batch.status, 0, shop=shop)
    if batch.status == "withdrawn":  # a retry finishing a withdrawal: its report, once more
        _withdrawn(lake, ledger, stored, run_id)
    if batch.status == "planned" and not batch.cleared_to_send:
        _fail(f"batch {ledger.batch_id} needs approval and none is recorded: refusing to send")
    if batch.status not in ("planned", "sending"):
        _fail(f"batch {ledger.batch_id} is {batch.status}: nothing to send")
    if (gone := file_withdrawn(lake, batch.source)) is not None:
        _withdrawn(lake, ledger, ledger.save(stored, batch.withdraw(run_id, gone)), run_id)
    if (changed := shop_changed(shop, configured_shops())) is not None:
        ledger.save(stored, batch.hold(run_id, changed))
        _fail(f"batch {ledger.batch_id}: nothing sent: {changed}")
    plan = read_plan(lake, ledger.batch_id, list(batch.guard_reasons))
    from include.inventory_lake.hooks import haravan_client

    with haravan_client(shop.haravan_conn_id) as client:
        stored, report = send_batch(
            client, ledger, stored, plan, run_id=run_id, attempt=_attempt(context)
        )
        api = client.summary()
    log.info(
        "push of batch %s to shop %s: %s, api %s", ledger.batch_id, shop.id, report.as_dict(), api
    )
    if report.refused is not None:
        ClosingBatch(lake, ledger, stored, plan, run_id).reject_refused()
        _fail(
            f"batch {ledger.batch_id}: Haravan refused request {report.refused['chunk']}/"
            f"{len(plan.requests)} ({report.refused['error']}); earlier requests stay applied, "
            "later ones were not sent; file moved to rejected/ with a report"
        )
    return Pushed(
        ledger.batch_id,
        stored.status,
        report.requests_sent,
        {**report.as_dict(), "api": api},
        shop=shop,
    )


def _withdrawn(lake: PushLake, ledger: Ledger, stored: StoredBatch, run_id: str) -> NoReturn:
    """Audit and report a withdrawn batch, then fail the task saying so."""
    batch = stored.batch
    plan = read_plan(lake, ledger.batch_id, list(batch.guard_reasons))
    ClosingBatch(lake, ledger, stored, plan, run_id).report_withdrawn()
    (why,) = withdrawn_problems(batch, plan, ledger.request_outcomes())
    report = lake.layout.report_key(
        batch.source.name, batch.source.sha256, archive_folder(batch.shop)
    )
    _fail(f"batch {ledger.batch_id} {why.problem}; report: {lake.uri(report)}")


# record


def record(pushed: Mapping[str, Any]) -> dict[str, Any]:
    with fail_fast_on(*PERMANENT_FAILURES):
        return _record(Pushed.from_xcom(pushed), _context()["run_id"])


def _record(pushed: Pushed, run_id: str) -> dict[str, Any]:
    lake = connect()
    ledger = Ledger(lake, pushed.batch_id)
    stored = ledger.read_owned(run_id)
    if stored.batch.shop != pushed.shop.id:
        _fail(f"batch {ledger.batch_id} is shop {stored.batch.shop}'s, not {pushed.shop.id}'s")
    if stored.status == "done":
        return {"batch_id": ledger.batch_id, "shop": pushed.shop.id, "status": "done"}
    if stored.status != "sent":
        _fail(f"batch {ledger.batch_id} is {stored.status}, not sent: nothing to record")
    plan = read_plan(lake, ledger.batch_id, list(stored.batch.guard_reasons))
    stored = ClosingBatch(lake, ledger, stored, plan, run_id).finish_done()
    return {
        "batch_id": ledger.batch_id,
        "shop": pushed.shop.id,
        "status": stored.status,
        "lines": len(plan.lines),
        "requests": len(plan.requests),
    }
