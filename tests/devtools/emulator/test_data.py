"""The generated data: determinism and the vendors' quirks, checked on the raw JSON text."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import requests

from tests.devtools.emulator.helpers import DATA_ARGS, TIMEOUT, EmulatorClient, start, stop

TRUTHS = (
    "truth/haravan/adjustments",
    "truth/stocky/stock_adjustments",
    "truth/stocky/stock_adjustment_items",
    "stock",
)
TIMESTAMP = re.compile(r'"(?:created_at|updated_at|tran_date)": "[0-9-]+T[0-9:]+(?:\.(\d+))?Z"')
MONEY = re.compile(r'"(?:total_cost|cost_amount)": (-?\d+(?:\.\d+)?)')


def _raw(url: str, path: str) -> str:
    response = requests.get(f"{url}/_admin/{path}", timeout=TIMEOUT)
    response.raise_for_status()
    return response.text


def test_same_seed_gives_identical_data_other_seed_differs(
    emu: EmulatorClient, tmp_path: Path
) -> None:
    twin, twin_url = start(tmp_path, DATA_ARGS)
    other, other_url = start(tmp_path, ["--seed", "43", *DATA_ARGS[2:]])
    try:
        for path in TRUTHS:
            assert _raw(twin_url, path) == _raw(emu.url, path), path
        assert _raw(other_url, TRUTHS[0]) != _raw(emu.url, TRUTHS[0])
    finally:
        stop(twin)
        stop(other)


def test_reset_regenerates_the_same_data(emu: EmulatorClient) -> None:
    before = _raw(emu.url, TRUTHS[0])
    emu.admin_post("insert", {"api": "haravan", "count": 3})
    emu.admin_post("reset")
    assert _raw(emu.url, TRUTHS[0]) == before


def test_haravan_timestamps_have_varied_fraction_digits(emu: EmulatorClient) -> None:
    raw = _raw(emu.url, TRUTHS[0])
    digits = {len(m.group(1) or "") for m in TIMESTAMP.finditer(raw)}
    assert {0, 1, 2, 3, 7} <= digits
    assert digits <= set(range(8))


def test_money_always_has_two_decimals_and_reaches_12_digits(emu: EmulatorClient) -> None:
    raw = _raw(emu.url, TRUTHS[0])
    amounts = [m.group(1) for m in MONEY.finditer(raw)]
    assert amounts and all(re.fullmatch(r"-?\d+\.\d{2}", a) for a in amounts)
    assert any(len(a.lstrip("-").split(".")[0]) == 12 for a in amounts)
    assert max(len(a.lstrip("-").split(".")[0]) for a in amounts) <= 12


def test_haravan_nulls_negatives_and_vietnamese(emu: EmulatorClient) -> None:
    raw = _raw(emu.url, TRUTHS[0])
    records = json.loads(raw)
    lines = [line for record in records for line in record["line_items"]]

    for field in ("type", "note", "tags"):
        assert any(r[field] is None for r in records) and any(r[field] for r in records), field
    for field in ("sku", "barcode"):
        assert any(line[field] is None for line in lines), field
    assert any(line["quantity"] < 0 for line in lines)
    assert "hàng hư hỏng do nhà sản xuất" in raw and "Hư hỏng" in raw
    assert {r["reason"] for r in records} <= {
        "newproduct",
        "returned",
        "productionofgoods",
        "damaged",
        "shrinkage",
        "promotion",
        "transfer",
    }


def test_haravan_ids_grow_with_time_and_stay_before_end(emu: EmulatorClient) -> None:
    records = emu.truth()
    ids = [r["id"] for r in records]
    created = [r["created_at"] for r in records]
    numbers = [int(r["adjust_number"][2:]) for r in records]

    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    assert ids[0] > 1_200_000_000
    assert all(re.fullmatch(r"IA1\d{5}", r["adjust_number"]) for r in records)
    assert numbers == sorted(numbers)
    assert _sortable(created) == sorted(_sortable(created))
    assert max(_sortable([r["updated_at"] for r in records])) <= "2026-01-15T00:00:00.0000000"
    line_ids = [line["id"] for r in records for line in r["line_items"]]
    assert line_ids == sorted(line_ids)


def _sortable(stamps: list[str]) -> list[str]:
    """Pad fractions so that timestamps compare as text."""
    padded = []
    for stamp in stamps:
        base, _, fraction = stamp.rstrip("Z").partition(".")
        padded.append(f"{base}.{fraction.ljust(7, '0')}")
    return padded


def test_stocky_quirks(emu: EmulatorClient) -> None:
    adjustments = emu.admin_get(TRUTHS[1])
    items = emu.admin_get(TRUTHS[2])

    assert any(a["stock_adjustment_reason"] is None for a in adjustments)
    assert any(a["stock_adjustment_reason"] for a in adjustments)
    assert all(len(str(a["location"]["shopify_id"])) == 13 for a in adjustments)
    assert all(len(str(i["variant"]["shopify_id"])) == 14 for i in items)
    assert any(i["variant"]["sku"] == "" for i in items)
    assert any(i["variant"]["barcode"] is None for i in items)
    sequential = [a["sequential_id"] for a in adjustments]
    assert sequential == list(range(1, len(adjustments) + 1))
    assert all(re.fullmatch(r"[0-9-]+T[0-9:]+\.\d{3}Z", a["created_at"]) for a in adjustments)


@pytest.mark.parametrize("knob", ["--max-lines", "--locations"])
def test_data_knobs_shape_the_data(tmp_path: Path, knob: str) -> None:
    process, url = start(tmp_path, [*DATA_ARGS, "--haravan-per-day", "10", knob, "1"])
    try:
        records = json.loads(_raw(url, TRUTHS[0]))
        assert len(records) == 50
        if knob == "--max-lines":
            assert {len(r["line_items"]) for r in records} == {1}
        else:
            assert len({r["location_id"] for r in records}) == 1
    finally:
        stop(process)
