"""A batch's last step on the S3 server: a done batch's file must reach processed/, and a
withdrawn batch gets its audit and a report saying what was (not) sent."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from include.inventory_lake.lake.location import LakeRoot
from include.inventory_lake.push.finalize import ClosingBatch, SourceNotMoved
from include.inventory_lake.push.layout import PushLake, PushLayout
from include.inventory_lake.push.ledger import Ledger, StoredBatch
from include.inventory_lake.push.lifecycle import Batch, SourceFile
from include.inventory_lake.push.plan_store import write_plan
from include.inventory_lake.push.planning import GuardLimits, Plan, build_plan
from include.inventory_lake.push.sending import applied_outcome
from include.inventory_lake.push.validation import SetLine
from tests.inventory_lake.push.support import APPROVED, STAGING, audit_rows, put, read_text, staged
from tests.servers import S3Server

RUN = "manual__finalize"
BATCH = "fedcba9876543210fedc"
KEY = APPROVED + "count.csv"
LIMITS = GuardLimits(max_line_delta=500, max_relative_change=1, relative_min_delta=10, max_lines=9)
LINES = [
    SetLine(2, 1, 10, 11, 7, "shrinkage", None, None, None),
    SetLine(3, 2, 10, 11, 9, "shrinkage", None, None, None),
]


@dataclass(frozen=True)
class Sending:
    """A two-request batch that has sent request 1 (applied as adjustment 501)."""

    s3: S3Server
    layout: PushLayout
    ledger: Ledger
    stored: StoredBatch
    plan: Plan

    def save(self, batch: Batch) -> StoredBatch:
        return self.ledger.save(self.stored, batch)


@pytest.fixture()
def sending(s3_server: S3Server) -> Iterator[Sending]:
    s3_server.empty_bucket()
    s3 = s3_server.client()
    layout = PushLayout(LakeRoot(s3_server.bucket))
    put(s3_server, KEY, "location_id,product_id,product_variant_id,quantity\r\n")
    etag = s3.head_object(Bucket=s3_server.bucket, Key=KEY)["ETag"].strip('"')
    plan = build_plan(BATCH, LINES, {(1, 11): 5, (2, 11): 5}, lines_per_request=100, limits=LIMITS)
    write_plan(PushLake(s3, layout.root), plan, dry_run=False)
    ledger = Ledger(PushLake(s3, layout.root), BATCH)
    batch = Batch.claim(
        batch_id=BATCH, content_sha256="c" * 64, forced=False,
        source=SourceFile(KEY, "count.csv", etag, "a" * 64), run_id=RUN, lines=2,
        lines_per_request=100,
    ).plan(
        RUN, lines=2, requests=2, lines_per_request=100, needs_approval=False, guard_reasons=()
    ).start_sending(RUN, attempt="a", watermark=500)  # fmt: skip
    stored = ledger.create(batch)
    record = {
        "id": 501,
        "adjust_number": "ADJ501",
        "line_items": [{"product_variant_id": 11, "quantity": 2}],
    }
    ledger.write_request_outcome(applied_outcome(BATCH, 1, record, run_id=RUN, found_by="response"))
    yield Sending(s3_server, layout, ledger, stored, plan)
    s3_server.empty_bucket()


@pytest.mark.parametrize(
    ("change", "why"),
    [
        ("deleted", "it is gone (deleted, or moved to another folder)"),
        ("replaced", "it was replaced since it was read"),
    ],
)
def test_a_done_batch_whose_file_cannot_reach_processed_raises_and_loses_nothing(
    sending: Sending, change: str, why: str
) -> None:
    sent = sending.save(sending.stored.batch.all_sent(RUN))
    if change == "deleted":
        sending.s3.client().delete_object(Bucket=sending.s3.bucket, Key=KEY)
    else:
        put(sending.s3, KEY, "a new version of the file\r\n")
    with pytest.raises(SourceNotMoved) as raised:
        ClosingBatch(
            PushLake(sending.s3.client(), sending.layout.root),
            sending.ledger,
            sent,
            sending.plan,
            RUN,
        ).finish_done()
    assert f"batch {BATCH}: every request was applied and the audit is written" in str(raised.value)
    assert f"{KEY} could not be moved to processed/: {why}" in str(raised.value)
    assert staged(sending.s3, "processed") == []
    stored = sending.ledger.read()
    assert stored is not None and stored.status == "sent", "the ledger keeps the batch sent"
    assert len(audit_rows(sending.s3)) == 2
    assert staged(sending.s3, "approved") == (["count.csv"] if change == "replaced" else [])


def test_a_batch_withdrawn_mid_send_is_audited_and_reported_without_its_file(
    sending: Sending,
) -> None:
    sending.s3.client().delete_object(Bucket=sending.s3.bucket, Key=KEY)
    withdrawn = sending.save(sending.stored.batch.withdraw(RUN, f"{KEY} was removed"))
    ClosingBatch(
        PushLake(sending.s3.client(), sending.layout.root),
        sending.ledger,
        withdrawn,
        sending.plan,
        RUN,
    ).report_withdrawn()
    statuses = {row["chunk"]: row["status"] for row in audit_rows(sending.s3)}
    assert statuses == {1: "applied", 2: "withdrawn"}
    (report,) = staged(sending.s3, "rejected")
    assert report.endswith("_count.csv.report.csv")
    text = read_text(sending.s3, f"{STAGING}/rejected/{report}")
    assert (
        f"withdrawn: {KEY} was removed; requests applied before and kept: 1 (ADJ501); the other 1 "
        "were not sent"
    ) in text
