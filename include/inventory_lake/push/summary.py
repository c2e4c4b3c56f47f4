"""A plan in a few numbers and a short Markdown page: what the approver sees in the Airflow UI
(the approval task's subject and body) and what a dry run writes beside its plan.

Airflow shows the body as Markdown (react-markdown with remark-gfm: CommonMark, tables and
autolinks) and the subject as plain text. Values from the file (its name, skus, reasons that
may quote it) must show as the very text they are, never as a link, an image, HTML or a broken
table: in the body each is a code span (`markdown_code`).
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Mapping
from typing import Any

from include.inventory_lake.push.planning import Plan, PlannedLine

TOP_CHANGES = 10


def totals_by_location(plan: Plan) -> dict[int, dict[str, int]]:
    """Per location (in id order): its lines, requests, units on hand now and after."""
    by_location: dict[int, dict[str, int]] = defaultdict(
        lambda: {"lines": 0, "requests": 0, "current": 0, "new": 0}
    )
    for request in plan.requests:
        by_location[request.location_id]["requests"] += 1
    for planned in plan.lines:
        totals = by_location[planned.line.location_id]
        totals["lines"] += 1
        totals["current"] += planned.current
        totals["new"] += planned.line.quantity
    return dict(sorted(by_location.items()))


def largest_changes(plan: Plan, limit: int = TOP_CHANGES) -> list[PlannedLine]:
    """The `limit` lines that change stock most, largest first (then in file order)."""
    return sorted(plan.lines, key=lambda p: (-abs(p.delta), p.line.row))[:limit]


def summarise(
    plan: Plan, *, file_name: str, plan_uri: str, shop: str | None = None
) -> dict[str, Any]:
    lines = plan.lines
    by_location = totals_by_location(plan)
    largest = largest_changes(plan)
    return {
        "batch_id": plan.batch_id,
        **({} if shop is None else {"shop": shop}),
        "file_name": file_name,
        "plan_uri": plan_uri,
        "lines": len(lines),
        "requests": len(plan.requests),
        "locations": len(by_location),
        "changed_lines": sum(1 for p in lines if p.delta),
        "units_added": sum(p.delta for p in lines if p.delta > 0),
        "units_removed": -sum(p.delta for p in lines if p.delta < 0),
        "needs_approval": plan.needs_approval,
        "guard_reasons": list(plan.guard_reasons),
        "by_location": {str(loc): totals for loc, totals in by_location.items()},
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


LINE_BREAK = re.compile(r"\r\n?|\n")
BACKSLASHES_AND_PIPE = re.compile(r"(\\*)\|")


def _one_line(value: Any) -> str:
    return LINE_BREAK.sub(" ", "" if value is None else str(value))


def markdown_code(value: Any, *, in_table: bool = False) -> str:
    """`value` as a code span: its exact text on one line, never markup. Backslash escapes
    would not do: GFM's autolinks turn any `https://…`, `www.…` or `…@…` in plain text into
    a link, but never in code. No backtick in the text can close the span (the fence is longer
    than its longest run; the renderer drops the space on each side)."""
    text = _one_line(value)
    if not text.strip():
        return ""
    if in_table:
        # GFM splits a row at every `|` not escaped by a backslash, code spans included, and
        # pairs backslashes first: double a run right before a `|`, then escape the `|`. Such a
        # run then shows doubled; no table cell in GFM can show it as it is.
        text = BACKSLASHES_AND_PIPE.sub(lambda run: run.group(1) * 2 + "\\|", text)
    longest = max((len(run) for run in re.findall("`+", text)), default=0)
    fence = "`" * (longest + 1)
    return f"{fence} {text} {fence}"


def approval_subject(summary: Mapping[str, Any]) -> str:
    """Plain text: Airflow shows the subject as text, not Markdown, so nothing is escaped."""
    shop = f" (shop {_one_line(summary['shop'])})" if summary.get("shop") else ""
    return (
        f"Overwrite Haravan stock from {_one_line(summary['file_name'])}: "
        f"{summary['lines']} lines, {summary['requests']} requests{shop}"
    )


def _to_shop(summary: Mapping[str, Any]) -> str:
    return f" to shop {markdown_code(summary['shop'])}" if summary.get("shop") else ""


def approval_body(summary: Mapping[str, Any]) -> str:
    shop = f"**Shop** {markdown_code(summary['shop'])} · " if summary.get("shop") else ""
    parts = [
        f"{shop}**File** {markdown_code(summary['file_name'])} · "
        f"**batch** {markdown_code(summary['batch_id'])}",
        "",
        f"{summary['lines']} lines ({summary['changed_lines']} change stock) at "
        f"{summary['locations']} location(s), sent as {summary['requests']} request(s) of "
        f"type `set`: +{summary['units_added']} / -{summary['units_removed']} units on hand.",
        "",
        "**Why this needs your approval**",
        "",
        *[f"- {markdown_code(reason)}" for reason in summary["guard_reasons"]],
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
            f"| {c['row']} | {c['location_id']} | {c['product_variant_id']} "
            f"| {markdown_code(c['sku'], in_table=True)} "
            f"| {c['current']} | {c['new']} | {c['delta']:+d} |"
            for c in summary["largest_changes"]
        ],
        "",
        f"Full plan (one row per line): {markdown_code(summary['plan_uri'])}",
        "",
        f"**Approve** sends the requests now{_to_shop(summary)}. **Reject** sends nothing and "
        "moves the file to `rejected/` with a report.",
    ]
    return "\n".join(parts)
