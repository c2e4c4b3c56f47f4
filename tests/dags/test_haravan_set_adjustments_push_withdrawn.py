"""haravan_set_adjustments_push checks the file and its shop again before it sends: while three
plans wait for approval, one file is deleted, one is moved to another shop's folder, and the
third file's shop is removed from the Variable `inventory_lake_shops`; every plan is then
approved. Not one request reaches Haravan: the two withdrawn batches end `withdrawn` with a
report, the third is held with the reason in its ledger and its file left where it is."""

from __future__ import annotations

import json
import os
from collections import Counter
from typing import Any

import pytest

from tests.conftest import ShopWorld
from tests.dags import test_haravan_set_adjustments_push as push_tests
from tests.inventory_lake.push.support import (
    APPROVED,
    STAGING,
    audit_rows,
    csv_text,
    ledger_doc,
    posts,
    put,
    read_text,
    set_lines,
    staged,
    stock,
)


def ledgers_by_file(s3: Any) -> dict[str, dict[str, Any]]:
    batches = {name.split("/")[0] for name in staged(s3, "ledger")}
    docs = [ledger_doc(s3, batch) for batch in batches]
    return {doc["source_name"]: doc for doc in docs}


def test_a_file_withdrawn_or_a_shop_removed_while_waiting_for_approval_sends_nothing(
    shop_world: ShopWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    hanoi, saigon, s3 = shop_world.hanoi, shop_world.saigon, shop_world.s3
    # Changes far beyond the guard: each plan waits for a person (5 and 6 lines: two contents).
    for name, count in (("deleted.csv", 5), ("moved.csv", 6)):
        lines = set_lines(hanoi, locations=1, per_location=count, close_to_current=False)
        put(s3, f"{APPROVED}shop=hanoi/{name}", csv_text(lines))
    for_saigon = set_lines(saigon, locations=1, per_location=5, close_to_current=False)
    put(s3, f"{APPROVED}shop=saigon/saigon.csv", csv_text(for_saigon))
    before = (stock(hanoi), stock(saigon))

    def while_waiting(asked: dict[tuple[str, int], tuple[str, str]]) -> None:
        client = s3.client()
        client.delete_object(Bucket=s3.bucket, Key=f"{APPROVED}shop=hanoi/deleted.csv")
        client.copy_object(
            Bucket=s3.bucket,
            Key=f"{APPROVED}shop=danang/moved.csv",
            CopySource={"Bucket": s3.bucket, "Key": f"{APPROVED}shop=hanoi/moved.csv"},
        )
        client.delete_object(Bucket=s3.bucket, Key=f"{APPROVED}shop=hanoi/moved.csv")
        shops = json.loads(os.environ["AIRFLOW_VAR_INVENTORY_LAKE_SHOPS"])
        remaining = [shop for shop in shops if shop["id"] != "saigon"]
        monkeypatch.setenv("AIRFLOW_VAR_INVENTORY_LAKE_SHOPS", json.dumps(remaining))

    approve_all = {"deleted.csv": "Approve", "moved.csv": "Approve", "saigon.csv": "Approve"}
    thread, errors = push_tests.hitl_responder(approve_all, while_waiting)
    run = push_tests.run_push()
    thread.join(timeout=30)
    assert not errors, errors

    assert posts(hanoi) == [] and posts(saigon) == [], "no request reached adjustorset"
    assert (stock(hanoi), stock(saigon)) == before
    assert run.state == "failed"
    by_task = Counter((task, state) for (task, _), state in push_tests.states(run).items())
    assert by_task[("each_file.push", "failed")] == 3

    ledgers = ledgers_by_file(s3)
    for name in ("deleted.csv", "moved.csv"):
        doc = ledgers[name]
        assert (doc["shop"], doc["status"]) == ("hanoi", "withdrawn")
        assert doc["approval"]["decision"] == "approved" and doc["watermark_adjustment_id"] is None
        assert doc["events"][-1]["detail"] == (
            f"withdrawn: {APPROVED}shop=hanoi/{name} was removed from approved/ (deleted, or "
            "moved to another folder) after it was planned"
        )
        (report,) = [
            r for r in staged(s3, "rejected/shop=hanoi") if r.endswith(f"_{name}.report.csv")
        ]
        text = read_text(s3, f"{STAGING}/rejected/shop=hanoi/{report}")
        assert "after it was planned; nothing was sent. To send it after all" in text
    assert {(r["file_name"], r["status"]) for r in audit_rows(s3)} == {
        ("deleted.csv", "withdrawn"), ("moved.csv", "withdrawn")
    }  # fmt: skip
    # The moved file is a new file in danang's folder: planned and approved for danang on its
    # own by a later run, while hanoi's batch of it is closed.
    assert staged(s3, "approved") == ["shop=danang/moved.csv", "shop=saigon/saigon.csv"]

    held = ledgers["saigon.csv"]
    assert (held["shop"], held["status"]) == ("saigon", "planned")
    assert held["events"][-1]["detail"].startswith(
        "held, nothing sent: shop saigon is no longer configured (Variable "
        "'inventory_lake_shops' lists hanoi, danang)"
    )
    assert staged(s3, "rejected/shop=saigon") == []
