"""The push DAG's params (trigger form in the UI) and their typed reading inside tasks."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from include.inventory_lake.push.planning import GuardLimits

MAX_LINES_PER_REQUEST = 100  # Haravan's documented limit of line items per adjustorset request

DEFAULTS: dict[str, Any] = {
    "dry_run": False,
    "force": False,
    "max_lines": 10_000,
    "chunk_size": MAX_LINES_PER_REQUEST,
    "guard_max_line_delta": 500,
    "guard_max_relative_change": 0.5,
    "guard_relative_min_delta": 10,
    "guard_max_lines": 5_000,
}


def dag_params() -> dict[str, Any]:
    """Param objects for `@dag(params=...)`; cheap to build at parse time."""
    from airflow.sdk import Param

    return {
        "dry_run": Param(
            DEFAULTS["dry_run"],
            type="boolean",
            description="Validate and plan every approved file; send nothing, move nothing.",
        ),
        "force": Param(
            DEFAULTS["force"],
            type="boolean",
            description="Push files whose content was pushed before (as a new batch).",
        ),
        "max_lines": Param(
            DEFAULTS["max_lines"],
            type="integer",
            minimum=1,
            description="Files with more data rows are rejected.",
        ),
        "chunk_size": Param(
            DEFAULTS["chunk_size"],
            type="integer",
            minimum=1,
            maximum=MAX_LINES_PER_REQUEST,
            description="Lines per request (one location, reason and note per request).",
        ),
        "guard_max_line_delta": Param(
            DEFAULTS["guard_max_line_delta"],
            type="integer",
            minimum=0,
            description="A line changing on-hand stock by more units needs approval.",
        ),
        "guard_max_relative_change": Param(
            DEFAULTS["guard_max_relative_change"],
            type="number",
            minimum=0,
            description="A line changing stock by more than this share of the current "
            "quantity (0.5 = 50%) needs approval ...",
        ),
        "guard_relative_min_delta": Param(
            DEFAULTS["guard_relative_min_delta"],
            type="integer",
            minimum=0,
            description="... when it changes by at least this many units.",
        ),
        "guard_max_lines": Param(
            DEFAULTS["guard_max_lines"],
            type="integer",
            minimum=0,
            description="Files with more lines need approval.",
        ),
    }


@dataclass(frozen=True)
class PushOptions:
    dry_run: bool
    force: bool
    max_lines: int
    lines_per_request: int
    limits: GuardLimits

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> PushOptions:
        values = {**DEFAULTS, **{k: v for k, v in params.items() if k in DEFAULTS}}
        # The DAG param users pass keeps its name `chunk_size`: the lines of one request.
        lines_per_request = int(values["chunk_size"])
        if not 1 <= lines_per_request <= MAX_LINES_PER_REQUEST:
            raise ValueError(f"chunk_size must be between 1 and {MAX_LINES_PER_REQUEST}")
        return cls(
            dry_run=bool(values["dry_run"]),
            force=bool(values["force"]),
            max_lines=int(values["max_lines"]),
            lines_per_request=lines_per_request,
            limits=GuardLimits(
                max_line_delta=int(values["guard_max_line_delta"]),
                max_relative_change=float(values["guard_max_relative_change"]),
                relative_min_delta=int(values["guard_relative_min_delta"]),
                max_lines=int(values["guard_max_lines"]),
            ),
        )
