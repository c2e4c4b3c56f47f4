"""Transport-free request and response values passed between the server and the handlers."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from devtools.emulator.jsonout import dumps_bytes

JSON_TYPE = "application/json; charset=utf-8"
HTML_TYPE = "text/html; charset=utf-8"
HTML_502 = b"<html><body><h1>502 Bad Gateway</h1></body></html>"


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]  # lower-cased names
    body: bytes
    client_host: str

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


@dataclass
class Response:
    status: int
    body: bytes
    content_type: str = JSON_TYPE
    headers: dict[str, str] = field(default_factory=dict)
    # Facts the pipeline needs about how the request was handled:
    list_page: bool = False  # a page of a list endpoint (for insert_during_paging)
    applied: bool = False  # a write was applied to the data
    throttled: bool = False  # refused by a rate limit


def json_response(status: int, payload: Any, headers: dict[str, str] | None = None) -> Response:
    return Response(status, dumps_bytes(payload), headers=dict(headers or {}))


def html_502() -> Response:
    return Response(502, HTML_502, content_type=HTML_TYPE)


def html_200() -> Response:
    """What a captive portal or a misrouted proxy answers: a page, not the API's JSON."""
    return Response(200, HTML_502.replace(b"502 Bad Gateway", b"Sign in"), content_type=HTML_TYPE)
