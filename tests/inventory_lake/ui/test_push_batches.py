"""Push batches on the S3 server, written by the push package itself: pending, processed and
rejected files, a rejected file's report (also for an upload itself named `*.report.csv`), and
each batch's plan, requests and failures."""

from __future__ import annotations

import time
from typing import Any

from include.inventory_lake.lake.location import LakeRoot
from include.inventory_lake.push.claim import SourceFile
from include.inventory_lake.push.finalize import reject_file as push_reject_file
from include.inventory_lake.push.layout import PushLake, PushLayout
from include.inventory_lake.push.ledger import Ledger
from include.inventory_lake.push.report import rejection_report
from include.inventory_lake.push.validation import Problem
from include.inventory_lake.ui.push_batches import parse_report, push_overview
from tests.inventory_lake.ui.lake_content import dry_run, push_batch, reject_file, set_line

LINES = [
    set_line(2, 1, 11, 5, "SKU-A"),
    set_line(3, 1, 12, 600, "SKU-B"),
    set_line(4, 1, 13, 7, "SKU-C"),
    set_line(5, 2, 21, 0, "SKU-D"),
]
ON_HAND = {(1, 11): 4, (1, 12): 8, (1, 13): 7, (2, 21): 3}


def until_the_next_object_is_newer(s3: Any, root: LakeRoot) -> None:
    """S3 keeps modification times to the second: wait until an object written now gets a
    later one than every object in the bucket (a probe, written and read back until it does)."""
    probe = "_clock-probe"
    listed = s3.list_objects_v2(Bucket=root.bucket).get("Contents", [])
    newest = max(obj["LastModified"] for obj in listed)
    deadline = time.monotonic() + 30
    while True:
        s3.put_object(Bucket=root.bucket, Key=probe, Body=b"")
        stamped = s3.head_object(Bucket=root.bucket, Key=probe)["LastModified"]
        if stamped > newest:
            s3.delete_object(Bucket=root.bucket, Key=probe)
            return
        assert time.monotonic() < deadline, "the S3 server's clock does not advance"
        time.sleep(0.05)


def test_pending_processed_and_rejected_files_with_the_report(s3: Any, root: LakeRoot) -> None:
    layout = PushLayout(root)
    s3.put_object(Bucket=root.bucket, Key=layout.approved_prefix + "monday.csv", Body=b"a,b\r\n")
    # A file in a sub-folder of approved/ is never pushed: it is not pending either.
    s3.put_object(Bucket=root.bucket, Key=layout.approved_prefix + "drafts/x.csv", Body=b"x")
    processed = layout.processed_key("sunday.csv", "ab" * 32)
    s3.put_object(Bucket=root.bucket, Key=processed, Body=b"location_id\r\n")
    older, _ = reject_file(s3, root, "old.csv", b"old", [Problem(None, None, None, "empty file")])
    until_the_next_object_is_newer(s3, root)
    problems = [
        Problem(2, "quantity", "-4", "quantity must be a whole number >= 0"),
        Problem(3, "product_variant_id", '=HYPERLINK("x")', "not a number"),
        Problem(None, None, None, "the same location and variant twice: rows 4 and 5"),
    ]
    rejected, report = reject_file(s3, root, "bad stock.csv", b"location_id\r\n1", problems)

    overview = push_overview(PushLake(s3, root), batch_limit=5)

    assert [f.name for f in overview.pending] == ["monday.csv"]
    assert [(f.name, f.key) for f in overview.processed] == [("sunday.csv", processed)]
    assert [r.key for r in overview.rejected] == [rejected, older]
    newest = overview.rejected[0]
    assert newest.file.name == "bad stock.csv" and newest.report_key == report
    assert newest.report_rows == 3
    assert [(r.row, r.column, r.value, r.problem) for r in newest.report] == [
        ("2", "quantity", "'-4", "quantity must be a whole number >= 0"),
        ("3", "product_variant_id", '\'=HYPERLINK("x")', "not a number"),
        ("", "", "", "the same location and variant twice: rows 4 and 5"),
    ]
    assert overview.counts == {
        "pending": 1,
        "processed": 1,
        "rejected": 2,
        "batches": 0,
        "dry_runs": 0,
        "dry_run_rejections": 0,
    }
    assert overview.staging_uri == f"s3://{root.bucket}/{root.prefix}/staging/set_adjustments/"


def test_a_report_whose_file_is_gone_is_still_shown(s3: Any, root: LakeRoot) -> None:
    file_key, report_key = reject_file(s3, root, "lost.csv", b"x", [Problem(1, None, None, "p")])
    s3.delete_object(Bucket=root.bucket, Key=file_key)

    (rejected,) = push_overview(PushLake(s3, root)).rejected

    assert rejected.key == file_key and rejected.file.size is None
    assert rejected.report_key == report_key and rejected.report_rows == 1


def test_long_reports_are_cut_but_counted() -> None:
    from include.inventory_lake.push.report import rejection_report

    body = rejection_report([Problem(n, "quantity", str(n), "bad") for n in range(2, 252)])
    rows, total = parse_report(body, limit=100)
    assert total == 250 and len(rows) == 100 and rows[-1].row == "101"


def test_a_done_batch_shows_its_plan_requests_and_adjustment_numbers(
    s3: Any, root: LakeRoot
) -> None:
    push_batch(s3, root, "b-done", LINES, ON_HAND, lines_per_request=2)

    (batch,) = push_overview(PushLake(s3, root)).batches

    assert batch.batch_id == "b-done" and batch.status == "done"
    assert [(o.request, o.status) for o in batch.outcomes] == [
        (1, "applied"),
        (2, "applied"),
        (3, "applied"),
    ]
    assert batch.adjust_numbers == ["IA900001", "IA900002", "IA900003"]
    assert batch.failures == []
    assert batch.plan is not None and batch.plan.lines == 4
    totals = {(t.location_id, t.lines, t.current, t.new, t.delta) for t in batch.plan.locations}
    assert totals == {(1, 3, 19, 612, 593), (2, 1, 3, 0, -3)}
    largest = batch.plan.largest[0]
    assert (largest.sku, largest.current, largest.new, largest.delta) == ("SKU-B", 8, 600, 592)
    assert "line_delta" in largest.flags
    assert batch.batch.needs_approval and not batch.waiting_for_approval


def test_a_refused_request_and_the_requests_not_sent_are_failures(s3: Any, root: LakeRoot) -> None:
    push_batch(
        s3, root, "b-failed", LINES, ON_HAND, lines_per_request=1,
        refused={2: "422: variant unknown"}, status="failed",
    )  # fmt: skip

    (batch,) = push_overview(PushLake(s3, root)).batches

    assert batch.adjust_numbers == ["IA900001"]
    assert batch.failures == [
        "request 2/4 refused: 422: variant unknown",
        "batch failed: request 2 refused: 422: variant unknown",
        "2 of 4 requests not sent",
    ]


def test_batches_newest_first_and_one_waiting_for_approval(s3: Any, root: LakeRoot) -> None:
    push_batch(s3, root, "b-old", LINES[:1], ON_HAND)
    until_the_next_object_is_newer(s3, root)
    push_batch(s3, root, "b-new", LINES, ON_HAND, status="planned")
    ledger = Ledger(PushLake(s3, root), "b-new")

    overview = push_overview(PushLake(s3, root), batch_limit=1)

    assert overview.counts["batches"] == 2
    (batch,) = overview.batches
    assert batch.batch_id == "b-new" and batch.outcomes == () and batch.adjust_numbers == []
    stored = ledger.read()
    assert stored is not None and stored.batch.needs_approval
    assert batch.waiting_for_approval


def test_dry_runs_show_their_plan_summary_or_why_the_file_would_be_rejected(
    s3: Any, root: LakeRoot
) -> None:
    dry_run(s3, root, "d-old", "monday.csv", LINES[:1], ON_HAND)
    until_the_next_object_is_newer(s3, root)
    dry_run(s3, root, "d-new", "tuesday.csv", LINES, ON_HAND, pushed_before_as="b-earlier")
    layout = PushLayout(root)
    source = SourceFile(layout.approved_prefix + "bad.csv", "bad.csv", "etag", "ab" * 32)
    problems = [Problem(2, "quantity", "x", "quantity is not a whole number")]
    push_reject_file(PushLake(s3, layout.root), source, problems, dry_run=True)

    overview = push_overview(PushLake(s3, root))

    assert [d.batch_id for d in overview.dry_runs] == ["d-new", "d-old"]
    newest = overview.dry_runs[0].summary
    assert newest["file_name"] == "tuesday.csv" and newest["pushed_before_as"] == "b-earlier"
    assert (newest["lines"], newest["requests"], newest["locations"]) == (4, 3, 2)
    assert newest["largest_changes"][0]["delta"] == 592  # SKU-B: 8 -> 600
    (rejection,) = overview.dry_run_rejections
    assert rejection.file.name == "bad.csv"
    assert [r.problem for r in rejection.report] == ["quantity is not a whole number"]
    assert overview.counts["dry_runs"] == 2 and overview.counts["dry_run_rejections"] == 1
    assert overview.batches == () and overview.rejected == (), "a dry run is neither"


LATIN_1_UPLOAD = "location_id;note\r\n1;café crème\r\n".encode("latin-1")
NOT_UTF_8 = [Problem(None, None, None, "the file is not UTF-8 text")]


def test_an_upload_named_like_a_report_is_a_rejected_file_with_its_report(
    s3: Any, root: LakeRoot
) -> None:
    file_key, report_key = reject_file(s3, root, "x.report.csv", LATIN_1_UPLOAD, NOT_UTF_8)
    other, _ = reject_file(
        s3, root, "plain.csv", b"x", [Problem(2, "quantity", "x", "not a number")]
    )

    overview = push_overview(PushLake(s3, root))

    by_key = {r.key: r for r in overview.rejected}
    assert set(by_key) == {file_key, other} and overview.counts["rejected"] == 2
    upload = by_key[file_key]
    assert upload.file.name == "x.report.csv" and upload.file.size == len(LATIN_1_UPLOAD)
    assert upload.report_key == report_key and upload.report_rows == 1
    assert [r.problem for r in upload.report] == ["the file is not UTF-8 text"]
    assert [r.problem for r in by_key[other].report] == ["not a number"]


def test_the_report_of_an_upload_named_like_a_report_shows_when_the_file_is_gone(
    s3: Any, root: LakeRoot
) -> None:
    file_key, report_key = reject_file(s3, root, "x.report.csv", LATIN_1_UPLOAD, NOT_UTF_8)
    s3.delete_object(Bucket=root.bucket, Key=file_key)

    (rejected,) = push_overview(PushLake(s3, root)).rejected

    assert rejected.key == file_key and rejected.report_key == report_key
    assert rejected.file.name == "x.report.csv" and rejected.file.size is None
    assert [r.problem for r in rejected.report] == ["the file is not UTF-8 text"]


def test_a_dry_run_report_on_an_upload_named_like_a_report_names_that_upload(
    s3: Any, root: LakeRoot
) -> None:
    key = PushLayout(root).dry_run_report_key("x.report.csv", "ab" * 32)
    s3.put_object(Bucket=root.bucket, Key=key, Body=rejection_report(NOT_UTF_8))

    overview = push_overview(PushLake(s3, root))

    (rejection,) = overview.dry_run_rejections
    assert rejection.file.name == "x.report.csv" and rejection.report_key == key
    assert [r.problem for r in rejection.report] == ["the file is not UTF-8 text"]
    assert overview.rejected == () and overview.counts["dry_run_rejections"] == 1


def test_files_in_a_shops_sub_folders_are_listed_with_their_shop(s3: Any, root: LakeRoot) -> None:
    layout = PushLayout(root)
    pending = layout.approved_prefix + "shop=saigon/count.csv"
    s3.put_object(Bucket=root.bucket, Key=pending, Body=b"x")
    processed = layout.processed_key("count.csv", "ab" * 32, "shop=saigon")
    s3.put_object(Bucket=root.bucket, Key=processed, Body=b"x")
    key = layout.approved_prefix + "shop=hcm/x.csv"
    etag = s3.put_object(Bucket=root.bucket, Key=key, Body=b"x")["ETag"].strip('"')
    source = SourceFile(key, "x.csv", etag, "cd" * 32)
    problem = Problem(None, None, None, "shop 'hcm' is not configured")
    push_reject_file(PushLake(s3, layout.root), source, [problem], dry_run=False, sub="shop=hcm")
    s3.put_object(
        Bucket=root.bucket, Key=layout.approved_prefix + "shop=saigon/deeper/y.csv", Body=b"x"
    )
    overview = push_overview(PushLake(s3, root))
    assert [(f.shop, f.name) for f in overview.pending] == [("saigon", "count.csv")]
    assert [(f.shop, f.name) for f in overview.processed] == [("saigon", "count.csv")]
    (rejected,) = overview.rejected
    assert (rejected.file.shop, rejected.file.name) == ("hcm", "x.csv")
    assert rejected.report[0].problem == "shop 'hcm' is not configured"
