"""Fault injection: a JSON-configured mix of random faults and a script of targeted ones.

Random faults draw from ``random.Random(seed)`` with a fixed number of draws per request, so a
run with the same requests in the same order sees the same faults. Script entries win over
random faults and are consumed in order by the requests they match.
"""

from __future__ import annotations

import random
import re
import threading
from dataclasses import dataclass, field
from typing import Any

from devtools.emulator.timefmt import parse_iso_ticks

APIS = ("haravan", "stocky")
SCRIPT_KINDS = frozenset(
    {
        "status",
        "drop",
        "truncate",
        "html502",
        "html200",
        "malformed",
        "latency",
        "apply_then_502",
        "apply_then_drop",
    }
)
MALFORMED_SHAPES = frozenset({"wrong_type", "missing_id"})
_TOP_KEYS = frozenset(
    {
        "seed",
        "apis",
        "error_rate",
        "error_statuses",
        "drop_rate",
        "latency_ms",
        "latency_spike_rate",
        "latency_spike_ms",
        "truncate_rate",
        "html_502_rate",
        "insert_during_paging",
        "script",
    }
)
_SCRIPT_KEYS = frozenset(
    {"kind", "status", "ms", "method", "path", "times", "shape", "retry_after"}
)
_INSERT_KEYS = frozenset({"every_pages", "count", "created_at"})


@dataclass
class ScriptEntry:
    kind: str
    status: int = 500
    ms: int = 0
    method: str | None = None
    path: str | None = None
    times: int = 1  # -1 = forever
    shape: str = "wrong_type"
    retry_after: str | None = None  # a "status" answer's Retry-After header, sent verbatim
    pattern: re.Pattern[str] | None = field(default=None, repr=False)

    def matches(self, method: str, path: str) -> bool:
        if self.method is not None and self.method.upper() != method.upper():
            return False
        return self.pattern is None or self.pattern.search(path) is not None

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "status": self.status,
            "ms": self.ms,
            "method": self.method,
            "path": self.path,
            "times": self.times,
            "shape": self.shape,
            "retry_after": self.retry_after,
        }


@dataclass(frozen=True)
class InsertPlan:
    every_pages: int = 0
    count: int = 0
    created_at: int | None = None  # ticks; None = now
    created_at_text: str | None = None


@dataclass
class FaultConfig:
    seed: int = 1
    apis: tuple[str, ...] = APIS
    error_rate: float = 0.0
    error_statuses: tuple[int, ...] = (500, 502, 503)
    drop_rate: float = 0.0
    latency_ms: int = 0
    latency_spike_rate: float = 0.0
    latency_spike_ms: int = 0
    truncate_rate: float = 0.0
    html_502_rate: float = 0.0
    insert_during_paging: InsertPlan = field(default_factory=InsertPlan)
    script: list[ScriptEntry] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        plan = self.insert_during_paging
        return {
            "seed": self.seed,
            "apis": list(self.apis),
            "error_rate": self.error_rate,
            "error_statuses": list(self.error_statuses),
            "drop_rate": self.drop_rate,
            "latency_ms": self.latency_ms,
            "latency_spike_rate": self.latency_spike_rate,
            "latency_spike_ms": self.latency_spike_ms,
            "truncate_rate": self.truncate_rate,
            "html_502_rate": self.html_502_rate,
            "insert_during_paging": {
                "every_pages": plan.every_pages,
                "count": plan.count,
                "created_at": plan.created_at_text,
            },
            "script": [entry.as_dict() for entry in self.script],
        }


def _int(name: str, value: Any, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}")
    return value


def _rate(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        raise ValueError(f"{name} must be a number between 0 and 1")
    return float(value)


def _keys(name: str, payload: Any, allowed: frozenset[str]) -> dict[str, Any]:
    if not isinstance(payload, dict):
        raise ValueError(f"{name} must be a JSON object")
    unknown = set(payload) - allowed
    if unknown:
        raise ValueError(f"unknown keys in {name}: {', '.join(sorted(unknown))}")
    return payload


def parse_config(payload: Any) -> FaultConfig:
    """Validate a JSON fault config; missing keys take their (fault-free) defaults."""
    data = _keys("faults", payload, _TOP_KEYS)
    config = FaultConfig()
    if "seed" in data:
        config.seed = _int("seed", data["seed"], 0)
    if "apis" in data:
        apis = data["apis"]
        if not isinstance(apis, list) or any(api not in APIS for api in apis):
            raise ValueError(f"apis must be a list drawn from {list(APIS)}")
        config.apis = tuple(apis)
    for name in ("error_rate", "drop_rate", "latency_spike_rate", "truncate_rate", "html_502_rate"):
        if name in data:
            setattr(config, name, _rate(name, data[name]))
    for name in ("latency_ms", "latency_spike_ms"):
        if name in data:
            setattr(config, name, _int(name, data[name], 0))
    if "error_statuses" in data:
        statuses = data["error_statuses"]
        if not isinstance(statuses, list) or not statuses:
            raise ValueError("error_statuses must be a non-empty list of HTTP statuses")
        config.error_statuses = tuple(_int("error_statuses", s, 100) for s in statuses)
    if data.get("insert_during_paging") is not None:
        config.insert_during_paging = _parse_insert(data["insert_during_paging"])
    if data.get("script") is not None:
        if not isinstance(data["script"], list):
            raise ValueError("script must be a list")
        config.script = [_parse_entry(i, entry) for i, entry in enumerate(data["script"])]
    return config


def _parse_insert(payload: Any) -> InsertPlan:
    data = _keys("insert_during_paging", payload, _INSERT_KEYS)
    created_text = data.get("created_at")
    created = None
    if created_text is not None:
        if not isinstance(created_text, str):
            raise ValueError("insert_during_paging.created_at must be an ISO timestamp or null")
        created = parse_iso_ticks(created_text)
    return InsertPlan(
        every_pages=_int("every_pages", data.get("every_pages", 0), 0),
        count=_int("count", data.get("count", 0), 0),
        created_at=created,
        created_at_text=created_text,
    )


def _parse_entry(position: int, payload: Any) -> ScriptEntry:
    data = _keys(f"script[{position}]", payload, _SCRIPT_KEYS)
    kind = data.get("kind")
    if kind not in SCRIPT_KINDS:
        raise ValueError(f"script[{position}].kind must be one of {sorted(SCRIPT_KINDS)}")
    times = data.get("times", 1)
    if isinstance(times, bool) or not isinstance(times, int) or (times < 1 and times != -1):
        raise ValueError(f"script[{position}].times must be a positive integer or -1")
    shape = data.get("shape", "wrong_type")
    if shape not in MALFORMED_SHAPES:
        raise ValueError(f"script[{position}].shape must be one of {sorted(MALFORMED_SHAPES)}")
    path = data.get("path")
    method = data.get("method")
    if path is not None and not isinstance(path, str):
        raise ValueError(f"script[{position}].path must be a regular expression string")
    if method is not None and not isinstance(method, str):
        raise ValueError(f"script[{position}].method must be a string")
    retry_after = data.get("retry_after")
    if retry_after is not None and (
        not isinstance(retry_after, str) or any(c in retry_after for c in "\r\n")
    ):
        raise ValueError(f"script[{position}].retry_after must be a one-line string")
    try:
        pattern = re.compile(path) if path else None
    except re.error as exc:
        raise ValueError(f"script[{position}].path is not a valid regex: {exc}") from exc
    return ScriptEntry(
        kind=kind,
        status=_int("status", data.get("status", 500), 100),
        ms=_int("ms", data.get("ms", 0), 0),
        method=method,
        path=path,
        times=times,
        shape=shape,
        retry_after=retry_after,
        pattern=pattern,
    )


@dataclass(frozen=True)
class FaultAction:
    """What to do to one request. ``kind`` None means only the delay applies."""

    kind: str | None
    status: int = 500
    delay_ms: int = 0
    shape: str = "wrong_type"
    retry_after: str | None = None


class FaultEngine:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._config = FaultConfig()
        self._rng = random.Random(self._config.seed)
        self._pages: dict[str, int] = {}

    def configure(self, config: FaultConfig) -> None:
        with self._lock:
            self._config = config
            self._rng = random.Random(config.seed)
            self._pages = {}

    def describe(self) -> dict[str, Any]:
        with self._lock:
            return self._config.as_dict()

    def decide(self, api: str | None, method: str, path: str) -> FaultAction | None:
        with self._lock:
            config = self._config
            scripted = self._take_script(method, path)
            delay = 0
            kind: str | None = None
            status = 500
            if api in config.apis:
                # Always the same number of draws, whatever fires, to keep runs reproducible.
                draw = self._rng.random
                error, drop, html, cut, spike = draw(), draw(), draw(), draw(), draw()
                status = self._rng.choice(config.error_statuses)
                delay = config.latency_ms + (
                    config.latency_spike_ms if spike < config.latency_spike_rate else 0
                )
                if drop < config.drop_rate:
                    kind = "drop"
                elif html < config.html_502_rate:
                    kind = "html502"
                elif error < config.error_rate:
                    kind = "status"
                elif cut < config.truncate_rate:
                    kind = "truncate"
            if scripted is not None:
                if scripted.kind == "latency":
                    return FaultAction(None, delay_ms=delay + scripted.ms)
                return FaultAction(
                    scripted.kind, scripted.status, delay, scripted.shape, scripted.retry_after
                )
            if kind is None and delay == 0:
                return None
            return FaultAction(kind, status, delay)

    def _take_script(self, method: str, path: str) -> ScriptEntry | None:
        script = self._config.script
        for position, entry in enumerate(script):
            if entry.matches(method, path):
                if entry.times > 0:
                    entry.times -= 1
                    if entry.times == 0:
                        del script[position]
                return entry
        return None

    def on_list_page(self, api: str) -> InsertPlan | None:
        """Count a served list page; returns the insert plan when this page triggers it."""
        with self._lock:
            plan = self._config.insert_during_paging
            if api not in self._config.apis or plan.every_pages <= 0 or plan.count <= 0:
                return None
            self._pages[api] = self._pages.get(api, 0) + 1
            return plan if self._pages[api] % plan.every_pages == 0 else None
