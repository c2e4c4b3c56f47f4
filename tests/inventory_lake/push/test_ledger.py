"""The ledger on the S3 server: conditional writes make one owner per batch; claims and
take-overs follow the batch's status."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from include.inventory_lake.lake.location import LakeRoot
from include.inventory_lake.push.claim import Claim, SourceFile, claim_batch
from include.inventory_lake.push.layout import PushLake, PushLayout
from include.inventory_lake.push.ledger import Ledger, LedgerConflict, batch_ids_for_content
from include.inventory_lake.push.sending import applied_outcome, refused_outcome
from include.inventory_lake.schemas.push import BatchStatus
from tests.inventory_lake.push.batches import SOURCE, batch_in
from tests.servers import S3Server


@pytest.fixture()
def layout(s3_server: S3Server) -> Iterator[PushLayout]:
    s3_server.empty_bucket()
    yield PushLayout(LakeRoot(s3_server.bucket, "lake"))
    s3_server.empty_bucket()


def claim(
    ledger: Ledger,
    run_id: str,
    *,
    active: frozenset[str] | set[str] = frozenset(),
    source: SourceFile = SOURCE,
) -> Claim:
    return claim_batch(
        ledger,
        source,
        content_sha256="c" * 64,
        forced=False,
        lines=3,
        lines_per_request=100,
        run_id=run_id,
        run_is_active=lambda run: run in active,
    )


def test_only_one_claim_wins_and_stale_writers_are_refused(
    s3_server: S3Server, layout: PushLayout
) -> None:
    s3 = s3_server.client()
    first = claim(Ledger(PushLake(s3, layout.root), "b1"), "run-a")
    assert first.outcome == "claimed" and first.stored is not None
    assert s3_server.keys("lake/staging/set_adjustments/ledger/") == [
        "lake/staging/set_adjustments/ledger/b1/batch.json"
    ]
    with pytest.raises(LedgerConflict):
        Ledger(PushLake(s3, layout.root), "b1").create(batch_in("planning", run_id="run-b"))
    ledger = Ledger(PushLake(s3, layout.root), "b1")
    planned = first.stored.batch.plan(
        "run-a", lines=3, requests=1, lines_per_request=100, needs_approval=False, guard_reasons=()
    )
    newer = ledger.save(first.stored, planned)
    with pytest.raises(LedgerConflict):
        ledger.save(first.stored, first.stored.batch.reject("run-a", "stale"))
    stored = ledger.read()
    assert stored is not None and stored.etag == newer.etag and stored.status == "planned"
    assert [e.status for e in stored.batch.events] == ["planning", "planned"]


def test_a_batch_of_an_active_run_is_left_alone(s3_server: S3Server, layout: PushLayout) -> None:
    ledger = Ledger(PushLake(s3_server.client(), layout.root), "b1")
    claim(ledger, "run-a")
    assert claim(ledger, "run-a").detail.startswith("already ours")
    busy = claim(ledger, "run-b", active={"run-a"})
    assert busy.outcome == "busy" and "run-a" in busy.detail
    other_key = SourceFile("staging/set_adjustments/approved/b.csv", "b.csv", "e", "0" * 64)
    assert claim(ledger, "run-a", source=other_key).outcome == "duplicate"


@pytest.mark.parametrize(
    ("status", "after"),
    [
        ("planning", "planning"),
        ("planned", "planning"),
        ("declined", "planning"),
        ("rejected", "planning"),
        ("sending", "sending"),
        ("sent", "sent"),
        ("failed", "sending"),
    ],
)
def test_take_over_from_an_ended_run(
    s3_server: S3Server, layout: PushLayout, status: BatchStatus, after: str
) -> None:
    ledger = Ledger(PushLake(s3_server.client(), layout.root), "b1")
    ledger.create(batch_in(status))
    taken = claim(ledger, "run-b", active={"run-c"})
    assert taken.outcome == "claimed" and taken.stored is not None
    batch = taken.stored.batch
    assert batch.owner_run_id == "run-b" and batch.status == after
    if after == "planning":
        assert batch.approval is None, "a new plan needs a new approval"
    assert batch.events[-1].detail == f"taken over from run run-a ({status})"


def test_a_done_batch_is_a_duplicate(s3_server: S3Server, layout: PushLayout) -> None:
    ledger = Ledger(PushLake(s3_server.client(), layout.root), "b1")
    ledger.create(batch_in("done"))
    duplicate = claim(ledger, "run-b")
    assert duplicate.outcome == "duplicate"
    assert duplicate.detail.startswith("this content was pushed already as batch b1 from a.csv")


def test_the_same_content_twice_in_one_run_says_so_not_pushed_already(
    s3_server: S3Server, layout: PushLayout
) -> None:
    ledger = Ledger(PushLake(s3_server.client(), layout.root), "b1")
    claim(ledger, "run-a")
    other = SourceFile("staging/set_adjustments/approved/copy.csv", "copy.csv", "e", "0" * 64)
    second = claim(ledger, "run-a", source=other)
    assert second.outcome == "duplicate"
    assert second.detail == (
        "this content is the same as a.csv in this run (batch b1, planning); "
        "only that file is pushed"
    )
    assert "pushed already" not in second.detail


def test_the_loser_of_a_take_over_race_finds_the_batch_busy(
    s3_server: S3Server, layout: PushLayout
) -> None:
    ledger = Ledger(PushLake(s3_server.client(), layout.root), "b1")
    ledger.create(batch_in("planned"))

    def another_run_takes_it_first(run_id: str) -> bool:
        stored = ledger.read()
        assert stored is not None
        ledger.save(stored, stored.batch.take_over("run-c", SOURCE, lines_per_request=100))
        return False  # run-a has ended, as far as run-b knows

    lost = claim_batch(
        ledger, SOURCE, content_sha256="c" * 64, forced=False, lines=3, lines_per_request=100,
        run_id="run-b", run_is_active=another_run_takes_it_first,
    )  # fmt: skip
    assert lost.outcome == "busy" and lost.detail == "run run-c took batch b1 over first"
    stored = ledger.read()
    assert stored is not None and stored.batch.owner_run_id == "run-c"


def test_request_outcomes_and_forced_batches_are_found(
    s3_server: S3Server, layout: PushLayout
) -> None:
    s3 = s3_server.client()
    ledger = Ledger(PushLake(s3, layout.root), "0123456789abcdef0123")
    record = {
        "id": 77,
        "adjust_number": "ADJ77",
        "line_items": [{"product_variant_id": 5, "quantity": -2}],
    }
    ledger.write_request_outcome(
        applied_outcome(ledger.batch_id, 1, record, run_id="r", found_by="lookup")
    )
    ledger.write_request_outcome(refused_outcome(ledger.batch_id, 2, "no", run_id="r"))
    outcomes = ledger.request_outcomes()
    assert outcomes[1]["changes"] == [[5, -2]] and outcomes[1]["found_by"] == "lookup"
    assert outcomes[2]["status"] == "refused" and outcomes[2]["adjustment_id"] is None
    claim(Ledger(PushLake(s3, layout.root), "0123456789abcdef0123-fabc"), "run-a")
    claim(Ledger(PushLake(s3, layout.root), "0123456789abcdef0123"), "run-a")
    claim(Ledger(PushLake(s3, layout.root), "9999999999abcdef0123"), "run-a")
    assert batch_ids_for_content(PushLake(s3, layout.root), "0123456789abcdef0123") == [
        "0123456789abcdef0123",
        "0123456789abcdef0123-fabc",
    ]
