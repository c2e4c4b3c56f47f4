"""A plan in a few numbers and a short Markdown page: what the approver sees in the Airflow UI
(the approval task's subject and body) and what a dry run writes beside its plan."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from typing import Any

from include.inventory_lake.push.planning import Plan

TOP_CHANGES = 10


def summarise(plan: Plan, *, file_name: str, plan_uri: str) -> dict[str, Any]:
    lines = plan.lines
    by_location: dict[int, dict[str, int]] = defaultdict(
        lambda: {"lines": 0, "requests": 0, "current": 0, "new": 0}
    )
    for chunk in plan.chunks:
        by_location[chunk.location_id]["requests"] += 1
    for planned in lines:
        totals = by_location[planned.line.location_id]
        totals["lines"] += 1
        totals["current"] += planned.current
        totals["new"] += planned.line.quantity
    largest = sorted(lines, key=lambda p: (-abs(p.delta), p.line.row))[:TOP_CHANGES]
    return {
        "batch_id": plan.batch_id,
        "file_name": file_name,
        "plan_uri": plan_uri,
        "lines": len(lines),
        "requests": len(plan.chunks),
        "locations": len(by_location),
        "changed_lines": sum(1 for p in lines if p.delta),
        "units_added": sum(p.delta for p in lines if p.delta > 0),
        "units_removed": -sum(p.delta for p in lines if p.delta < 0),
        "needs_approval": plan.needs_approval,
        "guard_reasons": list(plan.guard_reasons),
        "by_location": {str(loc): totals for loc, totals in sorted(by_location.items())},
        "largest_changes": [
            {
                "row": p.line.row,
                "location_id": p.line.location_id,
                "product_variant_id": p.line.product_variant_id,
                "sku": p.line.sku,
                "current": p.current,
                "new": p.line.quantity,
                "delta": p.delta,
            }
            for p in largest
        ],
    }


def _cell(value: Any) -> str:
    """Table cells from a file: no pipes or line breaks to break the Markdown table."""
    text = "" if value is None else str(value)
    return text.replace("|", "/").replace("\n", " ").replace("\r", " ")


def approval_subject(summary: Mapping[str, Any]) -> str:
    return (
        f"Overwrite Haravan stock from {summary['file_name']}: {summary['lines']} lines, "
        f"{summary['requests']} requests"
    )


def approval_body(summary: Mapping[str, Any]) -> str:
    parts = [
        f"**File** `{_cell(summary['file_name'])}` · **batch** `{summary['batch_id']}`",
        "",
        f"{summary['lines']} lines ({summary['changed_lines']} change stock) at "
        f"{summary['locations']} location(s), sent as {summary['requests']} request(s) of "
        f"type `set`: +{summary['units_added']} / -{summary['units_removed']} units on hand.",
        "",
        "**Why this needs your approval**",
        "",
        *[f"- {_cell(reason)}" for reason in summary["guard_reasons"]],
        "",
        "| location | lines | requests | on hand now | on hand after |",
        "|---:|---:|---:|---:|---:|",
        *[
            f"| {loc} | {t['lines']} | {t['requests']} | {t['current']} | {t['new']} |"
            for loc, t in summary["by_location"].items()
        ],
        "",
        f"**Largest changes** (first {len(summary['largest_changes'])})",
        "",
        "| row | location | variant | sku | now | after | change |",
        "|---:|---:|---:|---|---:|---:|---:|",
        *[
            f"| {c['row']} | {c['location_id']} | {c['product_variant_id']} | {_cell(c['sku'])} "
            f"| {c['current']} | {c['new']} | {c['delta']:+d} |"
            for c in summary["largest_changes"]
        ],
        "",
        f"Full plan (one row per line): `{summary['plan_uri']}`",
        "",
        "**Approve** sends the requests now. **Reject** sends nothing and moves the file to "
        "`rejected/` with a report.",
    ]
    return "\n".join(parts)
