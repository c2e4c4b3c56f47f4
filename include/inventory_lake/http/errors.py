"""Errors raised by the API clients, each saying what failed and what it means for the caller."""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    """Base class of every error raised by the API clients."""


class ApiPermanentError(ApiError):
    """A failure that retrying cannot fix, neither here nor in an Airflow task retry: the
    tasks' fail-fast handling should end the task at once on any subclass."""


class ApiAuthError(ApiPermanentError):
    """401 or 403: the credentials were refused, or lack a scope. Retrying cannot help."""

    def __init__(self, *, api: str, connection_id: str, method: str, path: str, status: int):
        super().__init__(
            f"{api} refused the credentials of connection {connection_id!r} "
            f"(HTTP {status} on {method} {path}): check the token or key and its scopes"
        )
        self.status = status


class ApiNotFoundError(ApiError):
    """404 on a single resource."""

    def __init__(self, *, api: str, method: str, path: str, status: int):
        super().__init__(f"{api} has no such resource (HTTP {status} on {method} {path})")
        self.status = status


class ApiRetiredError(ApiNotFoundError, ApiPermanentError):
    """404 on a list endpoint, or 410 anywhere: the API may have been retired or moved."""

    def __init__(self, *, api: str, method: str, path: str, status: int):
        ApiError.__init__(
            self,
            f"{api} answered HTTP {status} on {method} {path}, a list endpoint that should "
            f"always exist: the API may be retired or the base URL wrong. "
            f"No data was read; this is not an empty result",
        )
        self.status = status


class ApiValidationError(ApiError):
    """422: the API understood the request and refused its content."""

    def __init__(self, *, api: str, method: str, path: str, errors: Any):
        super().__init__(f"{api} refused {method} {path} with HTTP 422: {errors!r}")
        self.errors = errors


class ApiRequestError(ApiError):
    """Any other status that retrying cannot fix (400, 405, 501, ...)."""

    def __init__(self, *, api: str, method: str, path: str, status: int, body_excerpt: str):
        super().__init__(f"{api} answered HTTP {status} on {method} {path}: {body_excerpt!r}")
        self.status = status


class ApiUnavailableError(ApiError):
    """A transient failure (429, 5xx, timeout, dropped connection, bad body) outlasted retries."""

    def __init__(
        self, *, method: str, path: str, last_failure: str, attempts: int, elapsed_s: float
    ):
        super().__init__(
            f"{method} {path} failed after {attempts} attempts in {elapsed_s:.1f} s; "
            f"last failure: {last_failure}"
        )
        self.attempts = attempts
        self.elapsed_s = elapsed_s


class RetryAfterTooLongError(ApiPermanentError):
    """The API asked to wait longer than the configured cap: failing now frees the worker (and
    the pool slot the push shares) instead of sleeping for hours."""

    def __init__(
        self, *, api: str, method: str, path: str, status: int, wait_s: float, cap_s: float
    ):
        super().__init__(
            f"{api} asked to wait {wait_s:.0f} s before retrying {method} {path} "
            f"(HTTP {status} with Retry-After), more than the cap of {cap_s:.0f} s "
            f"(max_retry_after_s): not waiting; run the task again later"
        )
        self.status = status
        self.wait_s = wait_s
        self.cap_s = cap_s


class RequestNotSentError(ApiPermanentError):
    """requests refused to build or send the request (a header value it cannot send, a bad
    URL, ...). Only the exception's type is kept: its text may quote a header, credentials
    included."""

    def __init__(self, *, api: str, connection_id: str, method: str, url: str, error_type: str):
        super().__init__(
            f"{api} request {method} {url} could not be sent ({error_type}; details withheld "
            f"since they may quote a credential): check connection {connection_id!r}"
        )
        self.error_type = error_type


class ConnectionConfigError(ApiPermanentError, ValueError):
    """An Airflow connection's field cannot be used. Never quotes a secret field's value."""

    def __init__(self, *, connection_id: str, field: str, problem: str):
        super().__init__(f"connection {connection_id!r}: {field} {problem}")
        self.connection_id = connection_id
        self.field = field


class AmbiguousWriteError(ApiError):
    """A write may or may not have been applied: check a ledger before sending it again."""

    def __init__(self, *, method: str, path: str, failure: str):
        super().__init__(
            f"{method} {path} may or may not have been applied ({failure}); "
            f"not resent automatically: check whether it landed before sending it again"
        )


class MalformedResponseError(ApiError):
    """Valid JSON of the wrong shape. Retried a few times, since it may be transient."""


class MalformedPageError(MalformedResponseError):
    """A list page of the wrong shape, naming the endpoint, the since_id and what was wrong."""

    def __init__(self, *, endpoint: str, since_id: int | None, problem: str):
        super().__init__(f"malformed page from {endpoint} (since_id={since_id}): {problem}")
        self.endpoint = endpoint
        self.since_id = since_id
        self.problem = problem
