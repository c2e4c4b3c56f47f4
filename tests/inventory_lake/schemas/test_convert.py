"""API records become typed Arrow rows; bad values are named, unknown fields kept."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from include.inventory_lake.schemas.convert import RecordTypeError, to_typed_batch
from include.inventory_lake.schemas.haravan import ADJUSTMENTS
from include.inventory_lake.schemas.stocky import STOCK_ADJUSTMENT_ITEMS

VENDOR_EXAMPLE = """{
  "id": 1206854680, "created_at": "2021-05-13T07:29:20.1Z",
  "updated_at": "2021-05-13T07:29:20.808Z", "adjust_number": "IA100017",
  "tran_date": "2021-05-13T07:29:20.0791234Z", "location_id": 1007284, "type": null,
  "total_quantity": 1, "reason": "damaged", "note": "hàng hư hỏng do nhà sản xuất",
  "total_cost": 150000000000.00, "tags": "Hư hỏng",
  "line_items": [{"id": 1124119453, "product_id": 1032963075, "product_variant_id": 1072106808,
                  "quantity": -11, "cost_amount": -11000000.00, "sku": null, "barcode": null}]
}"""


def vendor_record() -> dict[str, Any]:
    record: dict[str, Any] = json.loads(VENDOR_EXAMPLE, parse_float=Decimal)
    return record


def test_vendor_example_keeps_exact_types_and_values() -> None:
    row = to_typed_batch([vendor_record()], ADJUSTMENTS, "adjustments").batch.to_pylist()[0]
    assert row["created_at"] == datetime(2021, 5, 13, 7, 29, 20, 100000, tzinfo=UTC)
    assert row["tran_date"] == datetime(2021, 5, 13, 7, 29, 20, 79123, tzinfo=UTC)
    assert row["total_cost"] == Decimal("150000000000.00")
    assert row["note"] == "hàng hư hỏng do nhà sản xuất"
    assert row["type"] is None
    assert row["line_items"][0]["quantity"] == -11
    assert row["line_items"][0]["cost_amount"] == Decimal("-11000000.00")
    assert row["_extra_json"] is None


@pytest.mark.parametrize(
    "text", ["2021-05-13T07:29:20Z", "2021-05-13T07:29:20.1Z", "2021-05-13T07:29:20.1234567Z"]
)
def test_every_fractional_digit_form_parses(text: str) -> None:
    record = vendor_record() | {"created_at": text}
    batch = to_typed_batch([record], ADJUSTMENTS, "adjustments").batch
    assert batch.column("created_at")[0].as_py().replace(microsecond=0) == datetime(
        2021, 5, 13, 7, 29, 20, tzinfo=UTC
    )


def test_fields_the_api_adds_later_are_kept_and_counted() -> None:
    record = vendor_record() | {"warehouse_code": "HN-01"}
    record["line_items"][0]["lot"] = "L7"
    typed = to_typed_batch([record], ADJUSTMENTS, "adjustments")
    extra = json.loads(typed.batch.column("_extra_json")[0].as_py())
    assert extra == {"warehouse_code": "HN-01", "line_items[0].lot": "L7"}
    assert typed.unknown_fields == {"warehouse_code": 1, "line_items[].lot": 1}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {"total_quantity": "5a"},
            "adjustments[id=1206854680].total_quantity: expected an integer",
        ),
        ({"created_at": None}, "adjustments[id=1206854680].created_at: required"),
        ({"created_at": "2021-05-13T07:29:20"}, "has no time zone"),
        ({"total_cost": Decimal("1.234")}, "more than 2 decimal places"),
        ({"line_items": {"id": 1}}, "adjustments[id=1206854680].line_items: expected a list"),
    ],
)
def test_bad_values_are_errors_that_name_record_and_field(
    change: dict[str, Any], message: str
) -> None:
    with pytest.raises(RecordTypeError, match=message.replace("[", r"\[").replace("]", r"\]")):
        to_typed_batch([vendor_record() | change], ADJUSTMENTS, "adjustments")


def test_stocky_item_not_yet_adjusted_has_null_quantities() -> None:
    item = {
        "id": 1,
        "quantity": 2,
        "updated_at": "2021-02-09T19:12:01.000Z",
        "status": "not adjusted",
        "previous_quantity": None,
        "new_quantity": None,
        "stock_adjustment_id": 2,
        "adjusted_at": None,
        "variant": {"id": 16, "shopify_id": 35671796252694, "title": "Default Title",
                    "sku": "", "barcode": "01000009"},
    }  # fmt: skip
    row = to_typed_batch([item], STOCK_ADJUSTMENT_ITEMS, "items").batch.to_pylist()[0]
    assert row["previous_quantity"] is None and row["new_quantity"] is None
    assert row["variant"]["shopify_id"] == 35671796252694
    assert row["variant"]["sku"] == ""
