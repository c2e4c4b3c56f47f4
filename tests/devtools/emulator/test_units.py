"""In-process checks of the small building blocks."""

from __future__ import annotations

import pytest

from devtools.emulator.admin_api import is_loopback
from devtools.emulator.faults import FaultEngine, parse_config
from devtools.emulator.jsonout import Money, dumps
from devtools.emulator.ratelimit import BucketRegistry, format_retry_after
from devtools.emulator.timefmt import (
    parse_iso_ticks,
    render_dotnet,
    render_millis,
)

BASE = parse_iso_ticks("2021-05-13T07:29:20Z")


@pytest.mark.parametrize(
    ("fraction_ticks", "expected"),
    [
        (1_000_000, "2021-05-13T07:29:20.1Z"),
        (8_080_000, "2021-05-13T07:29:20.808Z"),
        (791_234, "2021-05-13T07:29:20.0791234Z"),
        (0, "2021-05-13T07:29:20Z"),
    ],
)
def test_dotnet_rendering(fraction_ticks: int, expected: str) -> None:
    assert render_dotnet(BASE + fraction_ticks) == expected
    assert parse_iso_ticks(expected) // 10 == (BASE + fraction_ticks) // 10


def test_millis_rendering_and_offsets() -> None:
    assert render_millis(BASE + 10_000) == "2021-05-13T07:29:20.001Z"
    assert parse_iso_ticks("2021-05-13T14:29:20+07:00") == BASE
    assert parse_iso_ticks("2021-05-13T14:29:20 07:00") == BASE  # '+' decoded as a space
    with pytest.raises(ValueError):
        parse_iso_ticks("yesterday")


def test_money_keeps_two_decimals() -> None:
    payload = {"a": Money(15_000_000_000_000), "b": Money(-1_100), "c": "hư hỏng", "d": None}
    assert dumps(payload) == '{"a": 150000000000.00, "b": -11.00, "c": "hư hỏng", "d": null}'
    assert (Money(150) + Money(-5)).text == "1.45"


def test_bucket_with_a_fake_clock() -> None:
    now = [0.0]
    buckets = BucketRegistry(clock=lambda: now[0])
    used = [buckets.take("t", 3, 2.0).used for _ in range(3)]
    refused = buckets.take("t", 3, 2.0)
    now[0] = 0.25
    still = buckets.take("t", 3, 2.0)
    now[0] = 0.5
    allowed = buckets.take("t", 3, 2.0)

    assert used == [1, 2, 3]
    assert not refused.allowed and refused.retry_after == pytest.approx(0.5)
    assert not still.allowed and still.retry_after == pytest.approx(0.25)
    assert allowed.allowed and allowed.used == 3
    assert buckets.take("other", 3, 2.0).used == 1
    assert format_retry_after(2.0) == "2.0" and format_retry_after(0.25) == "0.25"


def test_fault_script_times_and_forever() -> None:
    engine = FaultEngine()
    engine.configure(
        parse_config(
            {
                "script": [
                    {"kind": "drop", "method": "POST", "times": 2},
                    {"kind": "status", "status": 404, "path": "^/api/", "times": -1},
                ]
            }
        )
    )
    kinds = [engine.decide("haravan", "POST", "/com/x") for _ in range(3)]
    forever = [engine.decide("stocky", "GET", "/api/v2/x") for _ in range(3)]

    assert [k.kind if k else None for k in kinds] == ["drop", "drop", None]
    assert {(k.kind, k.status) if k else None for k in forever} == {("status", 404)}


def test_loopback_detection() -> None:
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("::ffff:127.0.0.1")
    assert not is_loopback("10.0.0.5") and not is_loopback("localhost-ish")
