"""haravan_set_adjustments_push with several shops (tests/conftest.py `shop_world`): each file is
for the shop whose folder it is in, and is planned and sent through that shop's own Haravan
connection; misplaced files are rejected with a report; a shop whose token is refused fails its
own file only."""

from __future__ import annotations

from collections import Counter
from typing import Any

from include.inventory_lake.push.layout import REPORT_SUFFIX
from tests.conftest import ShopWorld
from tests.dags import test_haravan_set_adjustments_push as push_tests
from tests.inventory_lake.push.support import (
    APPROVED,
    STAGING,
    assert_stock_is,
    audit_rows,
    batch_ids,
    catalog,
    csv_text,
    ledger_doc,
    posts,
    put,
    read_text,
    set_lines,
    staged,
    stock,
)


def report_of(s3: Any, folder: str, name: str) -> str:
    (report,) = [r for r in staged(s3, folder) if r.endswith(f"_{name}{REPORT_SUFFIX}")]
    return read_text(s3, f"{STAGING}/{folder}/{report}")


def test_each_file_goes_to_its_own_shop_and_misplaced_or_refused_ones_fail_alone(
    shop_world: ShopWorld,
) -> None:
    hanoi, saigon, s3 = shop_world.hanoi, shop_world.saigon, shop_world.s3
    # Saigon's Haravan gets hanoi's catalog (another store with the same ids), so that one file
    # can be valid for both shops; its stock and journal stay its own.
    saigon.reset(seed=hanoi.data_knobs["seed"])
    second_location = catalog(hanoi)["locations"][1]["haravan_id"]
    for_hanoi = set_lines(hanoi, locations=1, per_location=10, seed=11)
    for_saigon = set_lines(saigon, locations=1, per_location=12, seed=12)
    for_both = [
        line
        for line in set_lines(hanoi, locations=2, per_location=5, seed=13)
        if line["location_id"] == second_location
    ]
    put(s3, APPROVED + "shop=hanoi/hanoi.csv", csv_text(for_hanoi))
    put(s3, APPROVED + "shop=saigon/saigon.csv", csv_text(for_saigon))
    put(s3, APPROVED + "shop=hanoi/count.csv", csv_text(for_both))
    put(s3, APPROVED + "shop=saigon/count.csv", csv_text(for_both))
    put(s3, APPROVED + "shop=hcm/unknown.csv", csv_text(for_hanoi))
    put(s3, APPROVED + "direct.csv", csv_text(for_hanoi))
    put(s3, APPROVED + "shop=danang/refused.csv", csv_text(for_hanoi))
    saigon_before = stock(saigon)

    run = push_tests.run_push()
    assert run.state == "failed", "three files fail: two misplaced, one refused token"
    by_task = Counter((task, state) for (task, _), state in push_tests.states(run).items())
    assert by_task[("each_file.prepare", "failed")] == 3
    assert by_task[("each_file.record", "success")] == 4, "the other shops' files go through"

    # Each shop's API got its own files only, through its own connection.
    hanoi_batches, saigon_batches = batch_ids(hanoi), batch_ids(saigon)
    assert len(hanoi_batches) == len(saigon_batches) == 2
    assert not hanoi_batches & saigon_batches, "the same content for two shops is two batches"
    assert len(posts(hanoi)) == 2 and len(posts(saigon)) == 2
    assert_stock_is(hanoi, for_hanoi + for_both)
    assert_stock_is(saigon, for_saigon + for_both)
    untouched = {pair for pair in saigon_before} - {
        (line["location_id"], line["product_variant_id"]) for line in for_saigon + for_both
    }
    assert all(stock(saigon)[pair] == saigon_before[pair] for pair in untouched)
    for shop, emulator in (("hanoi", hanoi), ("saigon", saigon)):
        for batch in batch_ids(emulator):
            doc = ledger_doc(s3, batch)
            assert (doc["shop"], doc["status"]) == (shop, "done")

    processed = staged(s3, "processed")
    assert sorted(name.split("_", 1)[0].split("/")[0] for name in processed) == [
        "shop=hanoi", "shop=hanoi", "shop=saigon", "shop=saigon"
    ]  # fmt: skip
    assert sum(name.endswith("_count.csv") for name in processed) == 2
    audit = Counter((row["shop"], row["file_name"]) for row in audit_rows(s3))
    assert audit == {
        ("hanoi", "hanoi.csv"): 10,
        ("hanoi", "count.csv"): 5,
        ("saigon", "saigon.csv"): 12,
        ("saigon", "count.csv"): 5,
    }

    # Misplaced files are rejected with a report saying where they belong.
    unknown = report_of(s3, "rejected/shop=hcm", "unknown.csv")
    assert "shop 'hcm' is not configured" in unknown
    assert "configured: hanoi, saigon, danang" in unknown
    direct = report_of(s3, "rejected", "direct.csv")
    assert "put it under approved/shop=<id>/" in direct
    assert "configured: hanoi, saigon, danang" in direct

    # Danang's token is refused: its file fails alone and waits in its folder for a fix.
    assert staged(s3, "approved") == ["shop=danang/refused.csv"]
    assert not [key for key in s3.keys(f"{STAGING}/rejected/") if "danang" in key]
