"""fail_fast_on: a listed error fails the task at once (no retry), anything else is untouched."""

from __future__ import annotations

import pytest
from airflow.sdk.exceptions import AirflowFailException

from include.inventory_lake.failures import fail_fast_on


class PermanentError(Exception):
    pass


class SubclassedPermanentError(PermanentError):
    pass


class OtherPermanentError(Exception):
    pass


@pytest.mark.parametrize("raised", [PermanentError, SubclassedPermanentError, OtherPermanentError])
def test_a_listed_error_becomes_airflow_fail_exception_with_its_message(
    raised: type[Exception],
) -> None:
    original = raised("credentials refused by haravan_default")
    with (
        pytest.raises(AirflowFailException) as ei,
        fail_fast_on(PermanentError, OtherPermanentError),
    ):
        raise original
    assert str(ei.value) == "credentials refused by haravan_default"
    assert ei.value.__cause__ is original


def test_an_unlisted_error_passes_through_unchanged() -> None:
    original = ConnectionError("connection reset")
    with pytest.raises(ConnectionError) as ei, fail_fast_on(PermanentError):
        raise original
    assert ei.value is original


def test_no_error_no_change() -> None:
    with fail_fast_on(PermanentError):
        result = 42
    assert result == 42
