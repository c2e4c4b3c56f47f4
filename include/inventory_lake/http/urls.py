"""URLs as they may leave the process: never with the user info (`user:password@`) that a
connection's host can carry."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit


def _host_port(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:  # an IPv6 address keeps its brackets
        host = f"[{host}]"
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    return parts.scheme, host


def has_user_info(url: str) -> bool:
    return "@" in urlsplit(url).netloc


def without_user_info(url: str) -> str:
    """`url` with any `user:password@` removed; the rest as it was."""
    parts = urlsplit(url)
    if not has_user_info(url):
        return url
    scheme, host = _host_port(url)
    return urlunsplit((scheme, host, parts.path, parts.query, parts.fragment))


def origin(url: str) -> str:
    """`scheme://host[:port]` of `url`, without user info."""
    scheme, host = _host_port(url)
    return f"{scheme}://{host}"


def safe_url(url: str) -> str:
    """`url` without credentials, query or fragment: what an error message may show."""
    scheme, host = _host_port(url)
    return urlunsplit((scheme, host, urlsplit(url).path, "", ""))
