"""Fail fast on a permanent error: one helper for every task body.

Some failures will not heal within Airflow's retries (refused credentials, a retired API, bad
input, a day not extracted yet): retrying them only delays the alert. Each caller names its own
permanent errors; anything else is left to Airflow's retries.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def fail_fast_on(*permanent_errors: type[BaseException]) -> Iterator[None]:
    """Turn `permanent_errors` into AirflowFailException (same message, original chained) so
    Airflow fails the task at once instead of retrying; other exceptions pass through."""
    from airflow.sdk.exceptions import AirflowFailException

    try:
        yield
    except permanent_errors as error:
        raise AirflowFailException(str(error)) from error
