"""Raw batches become facts rows: every column from the right place, nulls and text kept exact."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pyarrow as pa

from include.inventory_lake.facts import flatten
from include.inventory_lake.facts.keys import line_keys
from include.inventory_lake.lake.stocky_lookup import stocky_adjustment_lookup
from include.inventory_lake.schemas import facts, haravan, stocky
from tests.inventory_lake.facts.raw_builders import (
    at,
    batch,
    haravan_adjustment,
    haravan_line,
    stocky_adjustment,
    stocky_item,
)

DAY = date(2026, 1, 10)


def test_haravan_lines_repeat_their_adjustment_and_keep_exact_values() -> None:
    created = at(DAY, 7, 29, 20)
    raw = batch(
        [
            haravan_adjustment(
                1206854680,
                created,
                [
                    haravan_line(1124119453, -11, "-11000000.00", sku=None, barcode=None),
                    haravan_line(1116232509, 50000, "150000000000.00"),
                ],
                type=None,
                tags=None,
                updated_at=None,
                note="hàng hư hỏng do nhà sản xuất",
            ),
            haravan_adjustment(
                1206854690, created, [haravan_line(1124119460, 3, "0.10")], note=None
            ),
        ],
        haravan.ADJUSTMENTS,
    )
    rows = flatten.haravan_lines(raw, "default").to_pylist()

    assert [row["line_key"] for row in rows] == [
        "haravan:1124119453",
        "haravan:1116232509",
        "haravan:1124119460",
    ]
    first, second, third = rows
    assert first["quantity"] == -11 and first["cost_amount"] == Decimal("-11000000.00")
    assert second["cost_amount"] == Decimal("150000000000.00")
    assert third["cost_amount"] == Decimal("0.10")
    assert first["sku"] is None and first["barcode"] is None
    assert second["sku"] == "IPOD123" and second["barcode"] == "123_pink"
    for row in (first, second):
        assert row["adjustment_id"] == 1206854680
        assert row["note"] == "hàng hư hỏng do nhà sản xuất"
        assert row["adjustment_type"] is None and row["tags"] is None
        assert row["updated_at"] == created, "no updated_at from the API: created_at versions it"
    assert third["note"] is None and third["tags"] == "Hư hỏng"
    assert third["adjustment_type"] == "adjust"
    for row in rows:
        assert row["source"] == "haravan" and row["adjustment_missing"] is False
        assert row["adjusted_at"] == created and row["created_at"] == created
        assert row["location_id"] == 963414 and row["location_shopify_id"] is None
        assert row["variant_id"] == 1068095306 and row["product_id"] == 1031046355
        assert row["status"] is row["previous_quantity"] is row["variant_title"] is None


def test_haravan_adjustments_without_lines_give_no_rows_and_a_null_line_stays_visible() -> None:
    created = at(DAY, 9)
    raw = batch(
        [
            haravan_adjustment(1, created, None),
            haravan_adjustment(2, created, []),
            haravan_adjustment(3, created, [None, haravan_line(31, 1, "1.00")]),  # type: ignore[list-item]
        ],
        haravan.ADJUSTMENTS,
    )
    lines = flatten.haravan_lines(raw, "default")
    assert lines.column("adjustment_id").to_pylist() == [3, 3]
    assert lines.column("line_id").to_pylist() == [None, 31]
    assert lines.column("line_key").to_pylist() == [None, "haravan:31"]
    assert flatten.haravan_line_ids(raw).to_pylist() == [None, 31]


def test_haravan_line_versions_follow_the_adjustment() -> None:
    created, updated = at(DAY, 8), at(DAY, 8, 0, 1)
    raw = batch(
        [
            haravan_adjustment(1, created, [haravan_line(11, 1, "1.00")] * 2, updated_at=updated),
            haravan_adjustment(2, created, [haravan_line(21, 1, "1.00")], updated_at=None),
        ],
        haravan.ADJUSTMENTS,
    )
    assert flatten.haravan_line_versions(raw).to_pylist() == [updated, updated, created]


def test_stocky_items_take_location_and_reason_from_their_adjustment_or_are_flagged() -> None:
    morning, evening = at(DAY, 8), at(DAY, 20)
    adjustments = pa.Table.from_batches(
        [
            batch(
                [
                    stocky_adjustment(101, morning, reason="Damaged"),
                    stocky_adjustment(102, morning, reason=None, note=None, archived=True),
                    # the same adjustment fetched twice: the newer version is used
                    stocky_adjustment(101, evening, reason="Stolen"),
                ],
                stocky.STOCK_ADJUSTMENTS,
            )
        ]
    )
    items = batch(
        [
            stocky_item(1001, 101, -4, evening),
            stocky_item(1002, 102, 7, morning),
            stocky_item(1003, 999, 2, morning),  # its adjustment changed on another day
            stocky_item(1004, None, 1, morning, variant=None, status="not adjusted"),
        ],
        stocky.STOCK_ADJUSTMENT_ITEMS,
    )
    rows = flatten.stocky_lines(items, stocky_adjustment_lookup(adjustments), "default").to_pylist()

    assert [row["line_key"] for row in rows] == [
        "stocky:1001",
        "stocky:1002",
        "stocky:1003",
        "stocky:1004",
    ]
    found, no_reason, missing, orphan = rows
    assert found["reason"] == "Stolen" and found["adjustment_number"] == "1"
    assert (found["location_id"], found["location_shopify_id"]) == (11, 61234567890)
    assert found["note"] == "kiểm kê cuối ngày" and found["created_at"] == evening
    assert found["quantity"] == -4 and found["new_quantity"] == -1
    assert found["variant_title"] == "Áo thun cổ tròn" and found["barcode"] is None
    assert (found["variant_id"], found["variant_shopify_id"]) == (278, 35671873093654)
    assert found["adjustment_missing"] is False and found["archived"] is False
    assert no_reason["reason"] is None and no_reason["note"] is None
    assert no_reason["archived"] is True and no_reason["adjustment_missing"] is False
    for row in (missing, orphan):
        assert row["adjustment_missing"] is True
        assert row["location_id"] is row["reason"] is row["adjustment_number"] is None
        assert row["created_at"] is row["archived"] is None
    assert missing["adjustment_id"] == 999 and missing["quantity"] == 2
    assert orphan["adjustment_id"] is None and orphan["variant_id"] is None
    assert orphan["status"] == "not adjusted"
    for row in rows:
        assert row["source"] == "stocky" and row["cost_amount"] is None
        assert row["product_id"] is row["adjustment_type"] is row["tags"] is None


def test_stocky_items_with_no_adjustments_that_day_are_all_flagged() -> None:
    empty = stocky.STOCK_ADJUSTMENTS.empty_table()
    items = batch([stocky_item(1001, 101, 5, at(DAY, 1))], stocky.STOCK_ADJUSTMENT_ITEMS)
    lines = flatten.stocky_lines(items, stocky_adjustment_lookup(empty), "default")
    assert lines.column("adjustment_missing").to_pylist() == [True]
    assert lines.column("location_id").to_pylist() == [None]


def test_batches_have_the_contract_schema_with_descriptions() -> None:
    raw = batch([haravan_adjustment(1, at(DAY, 1), [])], haravan.ADJUSTMENTS)
    lines = flatten.haravan_lines(raw, "default")
    assert lines.schema.equals(facts.LINES, check_metadata=True)
    assert all(field.metadata and field.metadata[b"description"] for field in lines.schema)


def test_line_keys_are_source_and_id() -> None:
    keys = line_keys("stocky", pa.array([1, None, 9_007_199_254_740_993], pa.int64()))
    assert keys.to_pylist() == ["stocky:1", None, "stocky:9007199254740993"]
