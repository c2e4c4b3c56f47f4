"""One JSON API client: paced, retried, counted requests over a requests.Session.

GETs are retried on every transient failure. POSTs are retried only on 429, since a refused
call was not applied; any other failure after sending (timeout, dropped connection, 5xx, an
unreadable body) raises `AmbiguousWriteError` so that the caller can check before resending.
"""

from __future__ import annotations

import decimal
import json
import logging
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

import requests

from include.inventory_lake.http.closing import Closing
from include.inventory_lake.http.errors import (
    AmbiguousWriteError,
    ApiAuthError,
    ApiNotFoundError,
    ApiRequestError,
    ApiRetiredError,
    ApiValidationError,
    ConnectionConfigError,
    MalformedResponseError,
    RequestNotSentError,
    RetryAfterTooLongError,
)
from include.inventory_lake.http.headers import header_value_problem, parse_retry_after
from include.inventory_lake.http.pacer import CALL_LIMIT_HEADER, BucketSettings, LeakyBucketPacer
from include.inventory_lake.http.retry import (
    FailureKind,
    RetryPolicy,
    TransientFailure,
    call_with_retries,
)
from include.inventory_lake.http.stats import ClientStats
from include.inventory_lake.http.urls import safe_url
from include.inventory_lake.lineage.recorder import called_api

log = logging.getLogger(__name__)

T = TypeVar("T")

USER_AGENT = "inventory-lake/0.1 (data-engineering; Airflow pipelines)"
RETRIED_SERVER_STATUSES = frozenset({500, 502, 503, 504})


@dataclass(frozen=True)
class Timeouts:
    connect_s: float = 10.0
    read_s: float = 60.0


def decode_json(body: bytes) -> Any:
    """Decode a JSON body, keeping decimals exact (money like ``150000000000.00``)."""
    return json.loads(body.decode("utf-8"), parse_float=decimal.Decimal)


def _excerpt(body: bytes, limit: int = 200) -> str:
    return body[:limit].decode("utf-8", errors="replace")


class JsonApiClient(Closing):
    """Paced and retried JSON requests against one API, with counters for the final log."""

    def __init__(
        self,
        base_url: str,
        *,
        api_name: str,
        connection_id: str,
        auth_headers: Mapping[str, str],
        timeouts: Timeouts | None = None,
        retry_policy: RetryPolicy | None = None,
        bucket: BucketSettings | None = None,
        session: requests.Session | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
        wall_clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        for name, value in auth_headers.items():
            problem = header_value_problem(value)
            if problem is not None:
                raise ConnectionConfigError(
                    connection_id=connection_id, field=f"header {name}", problem=problem
                )
        self._base_url = base_url.rstrip("/")
        self._api_name = api_name
        self._connection_id = connection_id
        self._timeouts = timeouts or Timeouts()
        self._retry_policy = retry_policy or RetryPolicy()
        self._clock = clock
        self._sleep = sleep
        self._wall_clock = wall_clock
        self._rng = rng or random.Random()
        self._pacer = LeakyBucketPacer(bucket, clock=clock, sleep=sleep)
        self.stats = ClientStats()
        self._session = session or requests.Session()
        self._session.headers.update(
            {"User-Agent": USER_AGENT, "Accept": "application/json", **auth_headers}
        )

    def close(self) -> None:
        self._session.close()

    def summary(self) -> dict[str, object]:
        return {"api": self._api_name, **self.stats.summary()}

    def get(
        self,
        path: str,
        params: Mapping[str, Any] | None = None,
        *,
        parse: Callable[[Any], T],
        list_endpoint: bool = False,
    ) -> T:
        """GET and parse; `parse` raises MalformedResponseError on a body of the wrong shape.

        On a list endpoint, 404 means the API is gone (`ApiRetiredError`), never "no data".
        """
        result = call_with_retries(
            lambda: self._attempt("GET", path, params, None, parse, list_endpoint),
            method="GET",
            path=path,
            policy=self._retry_policy,
            stats=self.stats,
            clock=self._clock,
            sleep=self._sleep,
            rng=self._rng,
        )
        called_api(self._base_url, self._connection_id, "GET", path)
        return result

    def post(self, path: str, body: Mapping[str, Any], *, parse: Callable[[Any], T]) -> T:
        result = call_with_retries(
            lambda: self._attempt("POST", path, None, body, parse, False),
            method="POST",
            path=path,
            policy=self._retry_policy,
            stats=self.stats,
            clock=self._clock,
            sleep=self._sleep,
            rng=self._rng,
        )
        called_api(self._base_url, self._connection_id, "POST", path)
        return result

    def _attempt(
        self,
        method: str,
        path: str,
        params: Mapping[str, Any] | None,
        body: Mapping[str, Any] | None,
        parse: Callable[[Any], T],
        list_endpoint: bool,
    ) -> T:
        is_write = method != "GET"
        self.stats.paced(self._pacer.before_call())
        self.stats.request_sent()
        started = self._clock()
        call_limit: str | None = None
        try:
            response = self._session.request(
                method,
                self._base_url + path,
                params=params,
                json=body,
                timeout=(self._timeouts.connect_s, self._timeouts.read_s),
            )
            call_limit = response.headers.get(CALL_LIMIT_HEADER)
        except requests.Timeout as exc:
            raise self._transient_or_ambiguous(
                is_write, method, path, FailureKind.TIMEOUT, f"timeout ({type(exc).__name__})"
            ) from exc
        except requests.ConnectionError as exc:
            raise self._transient_or_ambiguous(
                is_write,
                method,
                path,
                FailureKind.CONNECTION,
                f"connection failed ({type(exc).__name__})",
            ) from exc
        except (
            requests.exceptions.ChunkedEncodingError,
            requests.exceptions.ContentDecodingError,
        ) as exc:
            raise self._transient_or_ambiguous(
                is_write,
                method,
                path,
                FailureKind.INVALID_BODY,
                f"body cut short or undecodable ({type(exc).__name__})",
            ) from exc
        except (requests.RequestException, ValueError) as exc:
            # Anything else (InvalidHeader, InvalidURL, a value http.client refuses...) is a
            # request that could not be sent. Its text may quote a header, the credentials
            # among them: keep the type only, and drop the chain (`from None`) so that no
            # traceback prints it either.
            raise RequestNotSentError(
                api=self._api_name,
                connection_id=self._connection_id,
                method=method,
                url=safe_url(self._base_url + path),
                error_type=type(exc).__name__,
            ) from None
        finally:
            self._pacer.after_call(call_limit)

        status = response.status_code
        log.info(
            "%s %s %s -> %d in %.0f ms%s",
            method,
            path,
            dict(params or {}),
            status,
            (self._clock() - started) * 1000,
            f" (bucket {call_limit})" if call_limit else "",
        )
        if 200 <= status < 300:
            return self._parse_success(response.content, is_write, method, path, parse)
        raise self._error_for_status(response, is_write, method, path, list_endpoint)

    def _parse_success(
        self, content: bytes, is_write: bool, method: str, path: str, parse: Callable[[Any], T]
    ) -> T:
        try:
            payload = decode_json(content)
        except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError
            detail = f"body is not JSON ({len(content)} bytes: {_excerpt(content, 40)!r}...)"
            if is_write:
                raise AmbiguousWriteError(method=method, path=path, failure=detail) from exc
            # The whole body arrived (a body cut short raises in requests before this): an
            # answer that is not JSON is malformed, retried briefly like a wrong shape, not as
            # long as a network failure.
            malformed = MalformedResponseError(f"{method} {path}: {detail}")
            raise TransientFailure(FailureKind.MALFORMED, detail, malformed=malformed) from exc
        try:
            return parse(payload)
        except MalformedResponseError as exc:
            if is_write:
                raise AmbiguousWriteError(method=method, path=path, failure=str(exc)) from exc
            raise TransientFailure(FailureKind.MALFORMED, str(exc), malformed=exc) from exc

    def _error_for_status(
        self,
        response: requests.Response,
        is_write: bool,
        method: str,
        path: str,
        list_endpoint: bool,
    ) -> Exception:
        status: int = response.status_code
        api = self._api_name
        if status == 429 or status in RETRIED_SERVER_STATUSES:
            retry_after = parse_retry_after(
                response.headers.get("Retry-After"), now=self._wall_clock
            )
            cap_s = self._retry_policy.max_retry_after_s
            if status == 429:
                self.stats.throttled()
            if retry_after is not None and retry_after > cap_s and (status == 429 or not is_write):
                return RetryAfterTooLongError(
                    api=api,
                    method=method,
                    path=path,
                    status=status,
                    wait_s=retry_after,
                    cap_s=cap_s,
                )
            if status == 429:
                return TransientFailure(
                    FailureKind.THROTTLED, "HTTP 429 (rate limited)", retry_after_s=retry_after
                )
            if is_write:
                return AmbiguousWriteError(method=method, path=path, failure=f"HTTP {status}")
            return TransientFailure(
                FailureKind.SERVER_ERROR, f"HTTP {status}", retry_after_s=retry_after
            )
        if status in (401, 403):
            return ApiAuthError(
                api=api, connection_id=self._connection_id, method=method, path=path, status=status
            )
        if status == 410 or (status == 404 and list_endpoint):
            return ApiRetiredError(api=api, method=method, path=path, status=status)
        if status == 404:
            return ApiNotFoundError(api=api, method=method, path=path, status=status)
        if status == 422:
            return ApiValidationError(
                api=api, method=method, path=path, errors=_errors_from(response.content)
            )
        return ApiRequestError(
            api=api,
            method=method,
            path=path,
            status=status,
            body_excerpt=_excerpt(response.content),
        )

    @staticmethod
    def _transient_or_ambiguous(
        is_write: bool, method: str, path: str, kind: FailureKind, detail: str
    ) -> Exception:
        if is_write:
            return AmbiguousWriteError(method=method, path=path, failure=detail)
        return TransientFailure(kind, detail)


def _errors_from(content: bytes) -> Any:
    """The ``errors`` member of a 422 body, or the body's text when it has none."""
    try:
        payload = decode_json(content)
    except ValueError:
        return _excerpt(content)
    if isinstance(payload, dict) and "errors" in payload:
        return payload["errors"]
    return payload
