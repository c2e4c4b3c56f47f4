"""One object the page cannot read (a report that is not UTF-8, a ledger or summary document
that is not JSON or not the document it should be, an object deleted between the listing and
the read, a partition's marker, audit file or facts file that is not what it should be) is
shown as "could not be read: <reason>"; everything else is still shown."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from typing import Any

from include.inventory_lake.lake.location import LakeRoot, Partition
from include.inventory_lake.push.layout import PushLake, PushLayout
from include.inventory_lake.push.validation import Problem
from include.inventory_lake.settings import FACTS_LINES_PATH, HARAVAN_ADJUSTMENTS_PATH
from include.inventory_lake.shops import DEFAULT_SHOP_ID
from include.inventory_lake.ui.push_batches import push_overview
from tests.inventory_lake.ui.lake_content import (
    dry_run,
    fact_line,
    push_batch,
    reject_file,
    set_line,
    write_facts,
    write_partition,
)

LINES = [set_line(2, 1, 11, 5, "SKU-A"), set_line(3, 1, 12, 6, "SKU-B")]
ON_HAND = {(1, 11): 4, (1, 12): 8}
NOT_A_NUMBER = [Problem(2, "quantity", "x", "not a number")]


class VanishingObjects:
    """An S3 client on which some objects are deleted just before they are read: what happens
    when someone moves them between the page's listing and its reads."""

    def __init__(self, s3: Any, bucket: str, keys: set[str]) -> None:
        self._s3, self._bucket, self._keys = s3, bucket, keys

    def get_object(self, **request: Any) -> Any:
        if request["Key"] in self._keys:
            self._s3.delete_object(Bucket=self._bucket, Key=request["Key"])
        return self._s3.get_object(**request)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._s3, name)


def put(s3: Any, root: LakeRoot, key: str, body: bytes) -> None:
    s3.put_object(Bucket=root.bucket, Key=key, Body=body)


def rejected_with_broken_report(s3: Any, root: LakeRoot, name: str, report: bytes) -> str:
    layout, sha = PushLayout(root), hashlib.sha256(name.encode()).hexdigest()
    put(s3, root, layout.rejected_key(name, sha), b"location_id\r\n")
    put(s3, root, layout.report_key(name, sha), report)
    return layout.rejected_key(name, sha)


def test_unreadable_reports_and_documents_are_named_and_the_rest_is_shown(
    s3: Any, root: LakeRoot
) -> None:
    layout = PushLayout(root)
    good_file, _ = reject_file(s3, root, "good.csv", b"x", NOT_A_NUMBER)
    latin_1 = rejected_with_broken_report(
        s3, root, "latin.csv", "row,problème\r\n".encode("cp1252")
    )
    not_a_report = rejected_with_broken_report(s3, root, "other.csv", b"a,b\r\n1,2\r\n")
    push_batch(s3, root, "b-good", LINES, ON_HAND, lines_per_request=1)
    push_batch(s3, root, "b-parts", LINES, ON_HAND, lines_per_request=1)
    put(s3, root, layout.request_key("b-parts", 2), b'{"chunk": 2, "status"')
    put(s3, root, layout.plan_key("b-parts", dry_run=False, ext="parquet"), b"not parquet")
    push_batch(s3, root, "b-garbled", LINES, ON_HAND)
    put(s3, root, layout.batch_key("b-garbled"), b"garbage{")
    push_batch(s3, root, "b-emptied", LINES, ON_HAND)
    put(s3, root, layout.batch_key("b-emptied"), b"{}")
    dry_run(s3, root, "d-good", "monday.csv", LINES, ON_HAND)
    dry_run(s3, root, "d-list", "tuesday.csv", LINES, ON_HAND)
    put(s3, root, layout.dry_run_summary_key("d-list"), b'["not", "a", "summary"]')

    overview = push_overview(PushLake(s3, root))

    notes = {r.key: [row.problem for row in r.report] for r in overview.rejected}
    assert notes == {
        good_file: ["not a number"],
        latin_1: ["the report could not be read: not UTF-8 text (byte 0xe8 at offset 9)"],
        not_a_report: [
            "the report could not be read: "
            "not a rejection report (no row, column, value, problem header)"
        ],
    }
    batches = {b.batch_id: b for b in overview.batches}
    assert set(batches) == {"b-good", "b-parts"} and overview.counts["batches"] == 4
    assert batches["b-good"].failures == [] and batches["b-good"].plan is not None
    parts = batches["b-parts"]
    assert [o.request for o in parts.outcomes] == [1] and parts.plan is None
    assert parts.failures == [
        "00002.json could not be read: not JSON (Expecting ':' delimiter at line 1, column 22)",
        "plan.parquet could not be read: ArrowInvalid",
    ]
    assert [d.batch_id for d in overview.dry_runs] == ["d-good"]
    assert overview.counts["dry_runs"] == 2
    assert {u.key: u.note for u in overview.unreadable} == {
        layout.batch_key("b-garbled"): (
            "could not be read: not JSON (Expecting value at line 1, column 1)"
        ),
        layout.batch_key("b-emptied"): "could not be read: it has no batch_id",
        layout.dry_run_summary_key("d-list"): "could not be read: it is not a JSON object",
    }


def test_objects_deleted_between_the_listing_and_the_read_are_named(
    s3: Any, root: LakeRoot
) -> None:
    layout = PushLayout(root)
    kept, _ = reject_file(s3, root, "kept.csv", b"k", NOT_A_NUMBER)
    moved, moved_report = reject_file(s3, root, "moved.csv", b"m", NOT_A_NUMBER)
    push_batch(s3, root, "b-kept", LINES, ON_HAND, lines_per_request=1)
    push_batch(s3, root, "b-moved", LINES, ON_HAND)
    dry_run(s3, root, "d-moved", "monday.csv", LINES, ON_HAND)
    vanishing = {
        moved_report,
        layout.request_key("b-kept", 1),
        layout.batch_key("b-moved"),
        layout.dry_run_summary_key("d-moved"),
    }

    client: Any = VanishingObjects(s3, root.bucket, vanishing)  # an S3 client, as far as used
    overview = push_overview(PushLake(client, root))

    reports = {r.key: [row.problem for row in r.report] for r in overview.rejected}
    assert reports == {
        kept: ["not a number"],
        moved: ["the report could not be read: deleted after its folder was listed"],
    }
    (batch,) = overview.batches
    assert batch.batch_id == "b-kept" and [o.request for o in batch.outcomes] == [2]
    assert batch.failures == ["00001.json could not be read: deleted after its folder was listed"]
    assert overview.dry_runs == ()
    assert {u.key: u.note for u in overview.unreadable} == {
        layout.batch_key("b-moved"): "could not be read: deleted after its folder was listed",
        layout.dry_run_summary_key("d-moved"): (
            "could not be read: deleted after its folder was listed"
        ),
    }


def test_an_unreadable_marker_audit_file_or_facts_partition_is_named_in_its_cell(
    s3: Any, root: LakeRoot
) -> None:
    from include.inventory_lake.push.layout import audit_file
    from include.inventory_lake.shops import DEFAULT_SHOP
    from include.inventory_lake.ui.page import gather, render
    from include.inventory_lake.ui.shop_config import ShopConfig

    day = datetime.now(UTC).date()
    good_day = day - timedelta(days=1)
    write_partition(s3, root, HARAVAN_ADJUSTMENTS_PATH, good_day, 3, "run-good")
    write_partition(s3, root, HARAVAN_ADJUSTMENTS_PATH, day, 3, "run-broken")
    marker = Partition(root, HARAVAN_ADJUSTMENTS_PATH, DEFAULT_SHOP_ID, day).marker_key
    put(s3, root, marker, b"{not json")
    write_facts(s3, root, good_day, [fact_line("haravan", 1, 1, 1)])
    broken_facts = Partition(root, FACTS_LINES_PATH, DEFAULT_SHOP_ID, day)
    write_facts(s3, root, day, [fact_line("haravan", 1, 1, 2)])
    put(s3, root, broken_facts.data_key, b"not parquet")
    put(s3, root, PushLayout(root).audit_key(day, "b-broken"), b"not parquet")
    assert PushLayout(root).audit_key(day, "b-broken").endswith(audit_file("b-broken"))

    data = gather(PushLake(s3, root), end=day, days=2, shop_config=ShopConfig([DEFAULT_SHOP]))

    (shop,) = data.shops
    haravan = {ds.spec.path: ds for ds in shop.datasets}[HARAVAN_ADJUSTMENTS_PATH]
    assert [p.state for p in haravan.partitions] == ["complete", "unreadable"]
    assert haravan.partitions[1].problem == (
        "could not be read: not JSON (Expecting property name enclosed in double quotes "
        "at line 1, column 2)"
    )
    # The Stocky datasets have gaps both days: a gap outranks the unreadable marker at a glance.
    assert [d.state for d in shop.days] == ["missing", "missing"]
    haravan_problem, facts_problem = shop.days[1].problems
    assert haravan_problem == f"Haravan adjustments (raw): {haravan.partitions[1].problem}"
    assert facts_problem.startswith("Adjustment lines (facts): part-00000.parquet is 11 bytes")
    (audit,) = data.audit
    assert audit.partitions[1].state == "unreadable"
    assert audit.partitions[1].problem == "could not be read: ArrowInvalid"
    assert data.chart.unreadable == ((day, "ArrowInvalid"),)
    assert data.chart.days_without_facts == (day,)
    assert [s.lines for s in data.chart.series] == [(1, 0)]
    html = render(data)
    assert f"The facts of {day} could not be read: ArrowInvalid." in html
    assert ">unreadable<" in html and 'data-batch="b-broken"' not in html
