"""Sending against the emulator: outcomes in the ledger, lookup before any resend."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

from include.inventory_lake.lake.location import LakeRoot
from include.inventory_lake.push.layout import PushLake, PushLayout
from include.inventory_lake.push.ledger import Ledger, LedgerConflict, StoredBatch
from include.inventory_lake.push.lifecycle import Batch
from include.inventory_lake.push.planning import GuardLimits, Plan, build_plan
from include.inventory_lake.push.sending import (
    RequestOutcomeUnknown,
    RequestSender,
    SendReport,
    send_batch,
)
from include.inventory_lake.push.validation import SetLine
from include.inventory_lake.sources.haravan import HaravanClient
from tests.inventory_lake.push.batches import RUN, SOURCE
from tests.inventory_lake.push.support import (
    applied_requests,
    expected_stock,
    posts,
    set_lines,
    stock,
)
from tests.inventory_lake.sources.emulator_support import haravan
from tests.servers import Emulator, S3Server

LIMITS = GuardLimits(
    max_line_delta=10**9, max_relative_change=1e9, relative_min_delta=0, max_lines=10**9
)
POST_PATH = "/com/inventories/adjustorset.json"


@pytest.fixture()
def world(
    fresh_emulator: Emulator, s3_server: S3Server
) -> Iterator[tuple[Emulator, HaravanClient, Ledger]]:
    s3_server.empty_bucket()
    layout = PushLayout(LakeRoot(s3_server.bucket))
    with haravan(fresh_emulator) as client:
        yield (
            fresh_emulator,
            client,
            Ledger(PushLake(s3_server.client(), layout.root), "feedfacefeedfacefeed"),
        )


def plan_for(emulator: Emulator, ledger: Ledger) -> tuple[Plan, list[dict[str, object]]]:
    raw = set_lines(emulator, locations=2, per_location=25)
    lines = [
        SetLine(i + 2, r["location_id"], r["product_id"], r["product_variant_id"], r["quantity"],  # type: ignore[arg-type]
                "shrinkage", None, None, None)
        for i, r in enumerate(raw)
    ]  # fmt: skip
    current = stock(emulator)
    return build_plan(ledger.batch_id, lines, current, lines_per_request=10, limits=LIMITS), raw


def planned(ledger: Ledger, plan: Plan) -> StoredBatch:
    """The batch as `prepare` leaves it: planned, within the guard, stored in the ledger."""
    claimed = Batch.claim(
        batch_id=ledger.batch_id, content_sha256="c" * 64, forced=False, source=SOURCE,
        run_id=RUN, lines=len(plan.lines), lines_per_request=10,
    )  # fmt: skip
    stored = ledger.create(claimed)
    batch = claimed.plan(
        RUN, lines=len(plan.lines), requests=len(plan.requests), lines_per_request=10,
        needs_approval=False, guard_reasons=(),
    )  # fmt: skip
    return ledger.save(stored, batch)


def attempt(client: HaravanClient, ledger: Ledger, plan: Plan, name: str) -> SendReport:
    """One attempt of the push task on the batch as the ledger holds it now."""
    stored = ledger.read()
    assert stored is not None
    after, report = send_batch(client, ledger, stored, plan, run_id=RUN, attempt=name)
    assert after == ledger.read()
    return report


def test_every_request_sent_once_with_its_outcome_recorded(
    world: tuple[Emulator, HaravanClient, Ledger],
) -> None:
    emulator, client, ledger = world
    plan, raw = plan_for(emulator, ledger)
    assert len(plan.requests) == 6  # 2 locations x ceil(25 / 10)
    planned(ledger, plan)
    report = attempt(client, ledger, plan, "a1")
    assert (report.requests_sent, report.applied_now, report.refused) == (6, 6, None)
    assert set(applied_requests(emulator).values()) == {1} and len(applied_requests(emulator)) == 6
    outcomes = ledger.request_outcomes()
    assert sorted(outcomes) == [1, 2, 3, 4, 5, 6]
    assert all(doc["found_by"] == "response" for doc in outcomes.values())
    current = stock(emulator)
    assert all(current[pair] == qty for pair, qty in expected_stock(raw).items())  # type: ignore[arg-type]
    stored = ledger.read()
    assert stored is not None and stored.status == "sent"
    claims = [e.detail for e in stored.batch.events if e.detail.startswith("sending request")]
    assert claims == [f"sending request {n}/6" for n in range(1, 7)], "each claimed before sent"


@pytest.mark.parametrize("fault", ["apply_then_502", "apply_then_drop"])
def test_an_applied_request_with_a_lost_answer_is_found_not_resent(
    world: tuple[Emulator, HaravanClient, Ledger], fault: str
) -> None:
    emulator, client, ledger = world
    plan, _ = plan_for(emulator, ledger)
    planned(ledger, plan)
    emulator.set_faults(
        script=[
            {"kind": "latency", "ms": 0, "method": "POST", "path": POST_PATH, "times": 2},
            {"kind": fault, "method": "POST", "path": POST_PATH, "times": 1},
        ]
    )
    report = attempt(client, ledger, plan, "a1")
    assert report.requests_sent == 6 and report.found_by_lookup == 1
    assert len(posts(emulator)) == 6
    assert applied_requests(emulator) == {(ledger.batch_id, n): 1 for n in range(1, 7)}
    assert ledger.request_outcomes()[3]["found_by"] == "lookup"


def test_an_unapplied_ambiguous_request_is_not_resent_until_a_retry_looks_again(
    world: tuple[Emulator, HaravanClient, Ledger],
) -> None:
    emulator, client, ledger = world
    plan, raw = plan_for(emulator, ledger)
    planned(ledger, plan)
    emulator.set_faults(
        script=[
            {"kind": "latency", "ms": 0, "method": "POST", "path": POST_PATH, "times": 1},
            {"kind": "status", "status": 502, "method": "POST", "path": POST_PATH, "times": 1},
        ]
    )
    with pytest.raises(RequestOutcomeUnknown, match="chunk 2/6"):
        attempt(client, ledger, plan, "a1")
    assert len(posts(emulator)) == 2 and sorted(ledger.request_outcomes()) == [1]
    retry = attempt(client, ledger, plan, "a2")
    assert (retry.applied_before, retry.found_by_lookup, retry.requests_sent) == (1, 0, 5)
    assert applied_requests(emulator) == {(ledger.batch_id, n): 1 for n in range(1, 7)}
    current = stock(emulator)
    assert all(current[pair] == qty for pair, qty in expected_stock(raw).items())  # type: ignore[arg-type]


def test_a_resumed_batch_finds_requests_that_landed_without_an_outcome(
    world: tuple[Emulator, HaravanClient, Ledger], s3_server: S3Server
) -> None:
    """A crash between a request and its outcome: the retry records it instead of resending."""
    emulator, client, ledger = world
    plan, _ = plan_for(emulator, ledger)
    stored = planned(ledger, plan)
    sending = ledger.save(stored, stored.batch.start_sending(RUN, attempt="a1", watermark=0))
    RequestSender(client, ledger, sending, plan, run_id=RUN, attempt="a1").send({}, resuming=False)
    layout = PushLayout(LakeRoot(s3_server.bucket))
    for request in (3, 4, 5, 6):  # the crash: these outcomes were never written
        s3_server.client().delete_object(
            Bucket=s3_server.bucket, Key=layout.request_key(ledger.batch_id, request)
        )
    emulator.admin_post("journal/reset")
    report = attempt(client, ledger, plan, "a2")
    assert (report.applied_before, report.found_by_lookup, report.requests_sent) == (2, 4, 0)
    assert posts(emulator) == []
    assert sorted(ledger.request_outcomes()) == [1, 2, 3, 4, 5, 6]


@pytest.mark.parametrize("status", [400, 404, 409, 422])
def test_a_refused_request_ends_the_batch_failed_and_is_not_sent_again(
    world: tuple[Emulator, HaravanClient, Ledger], status: int
) -> None:
    emulator, client, ledger = world
    plan, _ = plan_for(emulator, ledger)
    planned(ledger, plan)
    emulator.set_faults(
        script=[
            {"kind": "latency", "ms": 0, "method": "POST", "path": POST_PATH, "times": 3},
            {"kind": "status", "status": status, "method": "POST", "path": POST_PATH, "times": -1},
        ]
    )  # from request 4 on, Haravan refuses every time
    report = attempt(client, ledger, plan, "a1")
    assert report.refused is not None and report.refused["chunk"] == 4
    assert report.requests_sent == 4 and len(posts(emulator)) == 4, "refused once, not retried"
    outcomes = ledger.request_outcomes()
    assert [outcomes[n]["status"] for n in sorted(outcomes)] == ["applied"] * 3 + ["refused"]
    assert "Haravan refused it" in (outcomes[4]["error"] or "")
    assert str(status) in (outcomes[4]["error"] or "") or status == 422
    stored = ledger.read()
    assert stored is not None and stored.status == "failed"
    assert stored.batch.events[-1].detail.startswith("request 4 refused: Haravan refused it")


def test_a_zombie_attempt_is_fenced_off_by_its_retry(
    world: tuple[Emulator, HaravanClient, Ledger],
) -> None:
    """The first attempt still lives (its worker lost touch with Airflow) while request 3 is
    in flight; the retry starts. Neither may send what the other sent or may be sending."""
    emulator, client, ledger = world
    plan, raw = plan_for(emulator, ledger)
    planned(ledger, plan)
    emulator.set_faults(
        script=[
            {"kind": "latency", "ms": 0, "method": "POST", "path": POST_PATH, "times": 2},
            {"kind": "latency", "ms": 3000, "method": "POST", "path": POST_PATH, "times": 1},
        ]
    )
    zombie_error: list[BaseException] = []

    def zombie() -> None:
        with haravan(emulator) as own_client:
            try:
                attempt(own_client, ledger, plan, "zombie")
            except BaseException as error:  # reported to the test's thread
                zombie_error.append(error)

    thread = threading.Thread(target=zombie)
    thread.start()
    deadline = time.monotonic() + 60
    while emulator.admin_get("faults")["script"]:  # request 3 has reached Haravan
        assert time.monotonic() < deadline, "request 3 never went out"
        time.sleep(0.02)
    with pytest.raises(RequestOutcomeUnknown, match="request 3 was claimed by an earlier attempt"):
        attempt(client, ledger, plan, "retry")
    thread.join(timeout=60)
    assert len(zombie_error) == 1 and isinstance(zombie_error[0], LedgerConflict), zombie_error
    assert len(posts(emulator)) == 3, "the zombie sent nothing after the retry fenced it off"

    last = attempt(client, ledger, plan, "retry-2")
    assert (last.applied_before, last.requests_sent) == (3, 3)
    assert applied_requests(emulator) == {(ledger.batch_id, n): 1 for n in range(1, 7)}
    current = stock(emulator)
    assert all(current[pair] == qty for pair, qty in expected_stock(raw).items())  # type: ignore[arg-type]
