"""The push with several shops, piece by piece: which shop a file in approved/ is for (or why
it has none), batch ids per shop (the `default` shop's exactly as before shops), the shop in
the hand-offs, the ledger and the approval screen, and where a shop's handled files go."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from include.inventory_lake.lake.location import LakeRoot
from include.inventory_lake.push.batch import content_sha256
from include.inventory_lake.push.discovery import StagedFile, discover_approved
from include.inventory_lake.push.handoffs import Decision, Prepared, Pushed
from include.inventory_lake.push.layout import (
    PROCESSED,
    REJECTED,
    PushLake,
    PushLayout,
    archive_folder,
)
from include.inventory_lake.push.lifecycle import Batch
from include.inventory_lake.push.planning import GuardLimits, build_plan
from include.inventory_lake.push.summary import approval_body, approval_subject, summarise
from include.inventory_lake.shops import DEFAULT_SHOP, Shop
from tests.inventory_lake.push.batches import batch_in
from tests.inventory_lake.push.test_planning import line
from tests.servers import S3Server

HANOI = Shop("hanoi", "haravan_default", "stocky_default")
SAIGON = Shop("saigon", "haravan_saigon")
LOOSE = GuardLimits(
    max_line_delta=10_000, max_relative_change=100.0, relative_min_delta=0, max_lines=10_000
)


@pytest.fixture()
def lake(s3_server: S3Server) -> Iterator[tuple[Any, PushLayout]]:
    """A lake of its own under a fresh prefix of the S3 server's bucket (removed afterwards)."""
    root = LakeRoot(s3_server.bucket, f"push-tests/{uuid.uuid4().hex[:8]}/lake")
    yield s3_server.client(), PushLayout(root)
    for key in s3_server.keys(root.prefix + "/"):
        s3_server.client().delete_object(Bucket=s3_server.bucket, Key=key)


def put(s3: Any, layout: PushLayout, path: str) -> None:
    s3.put_object(Bucket=layout.root.bucket, Key=layout.approved_prefix + path, Body=b"x")


def by_path(files: list[StagedFile], layout: PushLayout) -> dict[str, StagedFile]:
    return {f.key[len(layout.approved_prefix) :]: f for f in files}


def test_one_shop_takes_the_files_directly_in_approved(lake: tuple[Any, PushLayout]) -> None:
    s3, layout = lake
    put(s3, layout, "count.csv")
    put(s3, layout, "team-a/nested.csv")  # never pushed, as before shops
    (staged,) = discover_approved(PushLake(s3, layout.root), [HANOI])
    assert (staged.name, staged.shop, staged.misplaced, staged.folder) == (
        "count.csv", HANOI, None, ""
    )  # fmt: skip
    (default,) = discover_approved(PushLake(s3, layout.root))
    assert default.shop == DEFAULT_SHOP, "no Variable: the default shop"


def test_several_shops_take_their_folders_and_refuse_the_rest(
    lake: tuple[Any, PushLayout],
) -> None:
    s3, layout = lake
    for path in (
        "direct.csv", "shop=hanoi/a.csv", "shop=saigon/b.csv", "shop=hcm/c.csv",
        "shop=Bad Id/d.csv", "shop=hanoi/deeper/e.csv", "team-a/f.csv", "shop=saigon/.sync",
    ):  # fmt: skip
        put(s3, layout, path)
    found = by_path(discover_approved(PushLake(s3, layout.root), [HANOI, SAIGON]), layout)
    assert sorted(found) == [
        "direct.csv", "shop=Bad Id/d.csv", "shop=hanoi/a.csv", "shop=hcm/c.csv",
        "shop=saigon/b.csv",
    ]  # fmt: skip
    assert (found["shop=hanoi/a.csv"].shop, found["shop=saigon/b.csv"].shop) == (HANOI, SAIGON)
    assert found["shop=saigon/b.csv"].folder == "shop=saigon"
    direct = found["direct.csv"]
    assert direct.shop is None and direct.misplaced is not None
    assert "put it under approved/shop=<id>/" in direct.misplaced
    assert "configured: hanoi, saigon" in direct.misplaced
    unknown = found["shop=hcm/c.csv"]
    assert unknown.shop is None and unknown.folder == "shop=hcm"
    assert "shop 'hcm' is not configured" in (unknown.misplaced or "")
    assert "'Bad Id' is not a valid shop id" in (found["shop=Bad Id/d.csv"].misplaced or "")


def test_a_staged_file_travels_with_its_shop_and_one_listed_before_shops_is_the_defaults() -> None:
    staged = StagedFile("k", "a.csv", "e", 3, SAIGON, None, "shop=saigon")
    assert StagedFile.from_xcom(json.loads(json.dumps(staged.as_xcom()))) == staged
    misplaced = StagedFile("k", "a.csv", "e", 3, None, "why", "shop=hcm")
    assert StagedFile.from_xcom(misplaced.as_xcom()) == misplaced
    before_shops = {"key": "k", "name": "a.csv", "etag": "e", "size": 3}
    assert StagedFile.from_xcom(before_shops).shop == DEFAULT_SHOP


def test_the_default_shops_batch_ids_are_as_before_and_other_shops_have_their_own() -> None:
    lines = [line(2, 7, 1000, 5, note="n"), line(3, 7, 1001, 0)]
    before_shops = hashlib.sha256(
        json.dumps(
            sorted(
                (ln.location_id, ln.product_id, ln.product_variant_id, ln.quantity, ln.reason,
                 ln.note or "")
                for ln in lines
            ),
            separators=(",", ":"),
        ).encode()
    ).hexdigest()  # fmt: skip
    assert content_sha256(lines) == content_sha256(lines, "default") == before_shops
    ids = {content_sha256(lines, shop) for shop in ("default", "hanoi", "saigon")}
    assert len(ids) == 3, "the same lines for two shops are two batches"
    assert content_sha256(lines[::-1], "hanoi") == content_sha256(lines, "hanoi")


def test_the_shop_travels_in_every_hand_off_and_older_ones_mean_the_default_shop() -> None:
    prepared = Prepared("k", "a.csv", "a" * 64, "b1", dry_run=False, resumed=False, shop=SAIGON)
    decision = Decision(prepared, "approved", "lan", "t")
    assert Decision.from_xcom(json.loads(json.dumps(decision.as_xcom()))) == decision
    pushed = Pushed("b1", "sent", 2, {"requests": 2}, shop=SAIGON)
    assert Pushed.from_xcom(json.loads(json.dumps(pushed.as_xcom()))) == pushed
    old_prepared = {k: v for k, v in prepared.as_xcom().items() if k != "shop"}
    assert Prepared.from_xcom(old_prepared).shop == DEFAULT_SHOP
    old_pushed = {k: v for k, v in pushed.as_xcom().items() if k != "shop"}
    assert Pushed.from_xcom(old_pushed).shop == DEFAULT_SHOP


def test_the_ledger_keeps_the_shop_and_a_ledger_from_before_shops_is_the_defaults() -> None:
    batch = batch_in("planned")
    assert batch.shop == "default"
    saigon = Batch.from_document({**batch.to_document(), "shop": "saigon"})
    assert saigon.shop == "saigon" and saigon.to_document()["shop"] == "saigon"
    document = dict(batch.to_document())
    del document["shop"]
    assert Batch.from_document(document).shop == "default"  # type: ignore[arg-type]


def test_the_approval_screen_names_the_shop() -> None:
    lines = [line(2, 1, 10, 650)]
    plan = build_plan(
        "b1", lines, {ln.pair: 50 for ln in lines}, lines_per_request=100, limits=LOOSE
    )
    summary = summarise(plan, file_name="count.csv", plan_uri="s3://lake/p.csv", shop="saigon")
    assert approval_subject(summary) == (
        "Overwrite Haravan stock from count.csv: 1 lines, 1 requests (shop saigon)"
    )
    body = approval_body(summary)
    assert body.startswith("**Shop** ` saigon ` · **File** ` count.csv `")
    assert "sends the requests now to shop ` saigon `" in body


def test_a_shops_handled_files_are_in_its_folder_and_the_default_shops_where_they_were() -> None:
    layout = PushLayout(LakeRoot("lake", ""))
    sha = "ab" * 32
    assert archive_folder("default") == ""
    assert layout.processed_key("a.csv", sha) == (
        "staging/set_adjustments/processed/abababababab_a.csv"
    )
    assert layout.processed_key("a.csv", sha, archive_folder("saigon")) == (
        "staging/set_adjustments/processed/shop=saigon/abababababab_a.csv"
    )
    report = layout.report_key("a.csv", sha, "shop=hcm")
    assert report == "staging/set_adjustments/rejected/shop=hcm/abababababab_a.csv.report.csv"
    assert layout.shop_file_in(REJECTED, report) == ("hcm", "abababababab_a.csv.report.csv")
    assert layout.shop_file_in(PROCESSED, layout.processed_key("a.csv", sha)) == (
        None, "abababababab_a.csv"
    )  # fmt: skip
    assert layout.shop_file_in(REJECTED, "staging/set_adjustments/rejected/team/x.csv") is None
