"""Haravan adjustments: listing both ways, count, show, parameters."""

from __future__ import annotations

from tests.devtools.emulator.helpers import ADJUSTMENTS, COUNT, EmulatorClient


def _ids(response_json: dict[str, list[dict[str, int]]]) -> list[int]:
    return [record["id"] for record in response_json["adjustments"]]


def test_pages_are_newest_first_with_default_limit_50(emu: EmulatorClient) -> None:
    truth_ids = [record["id"] for record in emu.truth()]
    assert len(truth_ids) == 200 and truth_ids == sorted(truth_ids)

    pages = [_ids(emu.haravan(ADJUSTMENTS, page=page).json()) for page in (1, 2, 3, 4, 5)]

    assert [len(page) for page in pages] == [50, 50, 50, 50, 0]
    flat = [i for page in pages for i in page]
    assert flat == sorted(truth_ids, reverse=True)


def test_since_id_pages_ascending(emu: EmulatorClient) -> None:
    truth_ids = [record["id"] for record in emu.truth()]
    since = truth_ids[9]

    first = _ids(emu.haravan(ADJUSTMENTS, since_id=since, limit=20, page=1).json())
    second = _ids(emu.haravan(ADJUSTMENTS, since_id=since, limit=20, page=2).json())

    assert first == truth_ids[10:30]
    assert second == truth_ids[30:50]
    assert _ids(emu.haravan(ADJUSTMENTS, since_id=truth_ids[-1]).json()) == []


def test_limit_is_capped_at_max_limit(emu: EmulatorClient) -> None:
    emu.admin_post("reset", {"haravan_per_day": 60})
    assert len(_ids(emu.haravan(ADJUSTMENTS, limit=1000).json())) == 250

    emu.admin_post("config", {"max_limit": 30})
    assert len(_ids(emu.haravan(ADJUSTMENTS, limit=100).json())) == 30
    assert len(_ids(emu.haravan(ADJUSTMENTS, limit=7).json())) == 7


def test_invalid_parameters_are_422_with_errors(emu: EmulatorClient) -> None:
    for params in ({"limit": "abc"}, {"limit": 0}, {"page": 0}, {"since_id": "x"}):
        response = emu.haravan(ADJUSTMENTS, **params)
        assert response.status_code == 422, params
        assert "errors" in response.json()


def test_location_filter_applies_to_list_and_count(emu: EmulatorClient) -> None:
    truth = emu.truth()
    location = truth[0]["location_id"]
    expected = [r["id"] for r in truth if r["location_id"] == location]
    since = expected[3]

    listed = _ids(emu.haravan(ADJUSTMENTS, location_id=location, limit=250).json())
    after = _ids(emu.haravan(ADJUSTMENTS, location_id=location, since_id=since, limit=250).json())

    assert 0 < len(expected) < len(truth)
    assert listed == expected[::-1]
    assert after == expected[4:]
    assert emu.haravan(COUNT, location_id=location).json() == {"count": len(expected)}
    count = emu.haravan(COUNT, location_id=location, since_id=since).json()
    assert count == {"count": len(expected) - 4}
    assert emu.haravan(ADJUSTMENTS, location_id=1).json() == {"adjustments": []}
    assert emu.haravan(COUNT, location_id=1).json() == {"count": 0}


def test_count_without_and_with_since_id(emu: EmulatorClient) -> None:
    truth_ids = [record["id"] for record in emu.truth()]
    assert emu.haravan(COUNT).json() == {"count": 200}
    assert emu.haravan(COUNT, since_id=truth_ids[149]).json() == {"count": 50}


def test_unknown_parameters_such_as_dates_are_ignored(emu: EmulatorClient) -> None:
    plain = emu.haravan(ADJUSTMENTS, limit=5).json()
    dated = emu.haravan(
        ADJUSTMENTS, limit=5, created_at_min="2030-01-01T00:00:00Z", updated_at_max="2000-01-01"
    ).json()
    assert dated == plain and len(plain["adjustments"]) == 5


def test_show_one_and_404(emu: EmulatorClient) -> None:
    record = emu.truth()[17]
    response = emu.haravan(f"/com/inventories/adjustments/{record['id']}.json")
    missing = emu.haravan("/com/inventories/adjustments/1.json")

    assert response.status_code == 200
    assert response.json() == {"adjustment": record}
    assert missing.status_code == 404
    assert missing.json() == {"errors": "Not Found"}


def test_list_records_are_the_truth_records(emu: EmulatorClient) -> None:
    truth = emu.truth()
    listed = emu.haravan(ADJUSTMENTS, since_id=0, limit=250).json()["adjustments"]
    assert listed == truth
