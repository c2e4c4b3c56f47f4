"""A retried approval task never asks twice: it finds the answer recorded in the ledger, or
that this run asked already (and so waits on that request)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from include.inventory_lake.lake.location import LakeRoot
from include.inventory_lake.push.claim import SourceFile, claim_batch
from include.inventory_lake.push.decisions import asked_before, earlier_decision, record_asked
from include.inventory_lake.push.handoffs import Decision, Prepared
from include.inventory_lake.push.layout import PushLake, PushLayout
from include.inventory_lake.push.ledger import Ledger, StoredBatch
from include.inventory_lake.push.plan_store import write_plan
from include.inventory_lake.push.planning import GuardLimits, build_plan
from include.inventory_lake.push.validation import SetLine
from tests.inventory_lake.push.support import APPROVED, put
from tests.servers import S3Server

RUN = "manual__decisions"
BATCH = "0123456789abcdef0123"
LIMITS = GuardLimits(max_line_delta=1, max_relative_change=0.1, relative_min_delta=1, max_lines=1)


@pytest.fixture()
def planned(airflow_connections: Any, s3_server: S3Server) -> Iterator[tuple[Ledger, StoredBatch]]:
    s3_server.empty_bucket()
    s3 = s3_server.client()
    layout = PushLayout(LakeRoot(s3_server.bucket))
    put(s3_server, APPROVED + "big.csv", "location_id,product_id,product_variant_id,quantity\n")
    etag = s3.head_object(Bucket=s3_server.bucket, Key=APPROVED + "big.csv")["ETag"].strip('"')
    source = SourceFile(APPROVED + "big.csv", "big.csv", etag, "a" * 64)
    lines = [SetLine(2, 1, 2, 3, 900, "shrinkage", None, None, None)]
    plan = build_plan(BATCH, lines, {(1, 3): 10}, lines_per_request=100, limits=LIMITS)
    ledger = Ledger(PushLake(s3, layout.root), BATCH)
    claim = claim_batch(
        ledger, source, content_sha256="c" * 64, forced=False, lines=1, lines_per_request=100,
        run_id=RUN, run_is_active=lambda _: False,
    )  # fmt: skip
    assert claim.stored is not None
    write_plan(PushLake(s3, layout.root), plan, dry_run=False)
    planned = claim.stored.batch.plan(
        RUN, lines=1, requests=1, lines_per_request=100, needs_approval=True,
        guard_reasons=tuple(plan.guard_reasons),
    )  # fmt: skip
    stored = ledger.save(claim.stored, planned)
    yield ledger, stored
    s3_server.empty_bucket()


PREPARED = Prepared(APPROVED + "big.csv", "big.csv", "a" * 64, BATCH, dry_run=False, resumed=False)


def test_no_answer_yet_means_ask(planned: tuple[Ledger, StoredBatch]) -> None:
    assert earlier_decision(PREPARED, RUN) is None


def test_an_approval_recorded_before_is_returned(planned: tuple[Ledger, StoredBatch]) -> None:
    ledger, stored = planned
    ledger.save(stored, stored.batch.approve(RUN, by="ops-lan", at="2026-03-01T10:00:00+00:00"))
    assert earlier_decision(PREPARED, RUN) == Decision(
        PREPARED, "approved", "ops-lan", "2026-03-01T10:00:00+00:00"
    )
    assert earlier_decision(PREPARED, "another_run") is None


def test_a_half_closed_rejection_is_finished(
    planned: tuple[Ledger, StoredBatch], s3_server: S3Server
) -> None:
    """Declined in the ledger, then the worker died before the file was moved."""
    ledger, stored = planned
    ledger.save(stored, stored.batch.decline(RUN, by="ops-lan", at="2026-03-01T10:00:00+00:00"))
    answer = earlier_decision(PREPARED, RUN)
    assert answer is not None and answer.declined and answer.by == "ops-lan"
    assert s3_server.keys(APPROVED) == []
    rejected = s3_server.keys("staging/set_adjustments/rejected/")
    assert [key.rsplit("/", 1)[-1] for key in rejected] == [
        "aaaaaaaaaaaa_big.csv",
        "aaaaaaaaaaaa_big.csv.report.csv",
    ]
    assert len(s3_server.keys("audit/set_adjustments/")) == 1


def test_a_run_that_asked_finds_it_asked_until_an_answer_is_recorded(
    planned: tuple[Ledger, StoredBatch],
) -> None:
    ledger, _ = planned
    assert asked_before(PREPARED, RUN) is None
    record_asked(PREPARED, RUN, of=["ops-lan"])
    stored = ledger.read()
    assert stored is not None and stored.batch.events[-1].detail == "approval asked of ops-lan"
    assert stored.batch.approval_asked_at is not None
    assert asked_before(PREPARED, RUN) == stored.batch.approval_asked_at
    assert asked_before(PREPARED, "another_run") is None
    ledger.save(stored, stored.batch.approve(RUN, by="ops-lan", at="2026-03-01T10:00:00+00:00"))
    assert asked_before(PREPARED, RUN) is None, "answered: the answer is what counts"
    assert earlier_decision(PREPARED, RUN) is not None
