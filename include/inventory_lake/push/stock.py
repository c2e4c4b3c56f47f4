"""Current on-hand quantities for a file's lines, read from Haravan before anything is sent.

The read doubles as a check of the ids: a (location, variant) pair Haravan has no stock row for,
or a product id that is not the variant's product, would be refused by the API halfway through
a batch; here it rejects the whole file up front instead.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from include.inventory_lake.push.options import PushOptions
from include.inventory_lake.push.planning import Plan, build_plan
from include.inventory_lake.push.validation import Problem, SetLine

log = logging.getLogger(__name__)


class StockReader(Protocol):
    """Haravan's stock rows: each with integer loc_id, product_id, variant_id and qty_onhand,
    or MalformedResponseError naming the row and the field that is wrong."""

    def inventory_locations(
        self, location_ids: Sequence[int], variant_ids: Sequence[int]
    ) -> list[dict[str, Any]]: ...


@dataclass(frozen=True)
class CurrentStock:
    on_hand: dict[tuple[int, int], int]
    problems: tuple[Problem, ...]


def read_current_stock(client: StockReader, lines: Sequence[SetLine]) -> CurrentStock:
    rows = client.inventory_locations(
        sorted({line.location_id for line in lines}),
        sorted({line.product_variant_id for line in lines}),
    )
    by_pair = {(int(row["loc_id"]), int(row["variant_id"])): row for row in rows}
    on_hand: dict[tuple[int, int], int] = {}
    problems: list[Problem] = []
    for line in lines:
        row = by_pair.get(line.pair)
        if row is None:
            problems.append(
                Problem(
                    line.row,
                    "product_variant_id",
                    str(line.product_variant_id),
                    f"Haravan has no stock record for variant {line.product_variant_id} at "
                    f"location {line.location_id}: check both ids",
                )
            )
            continue
        if int(row["product_id"]) != line.product_id:
            problems.append(
                Problem(
                    line.row,
                    "product_id",
                    str(line.product_id),
                    f"variant {line.product_variant_id} belongs to product {row['product_id']}, "
                    f"not {line.product_id}",
                )
            )
            continue
        on_hand[line.pair] = int(row["qty_onhand"])
    log.info("current stock read for %d lines (%d problems)", len(on_hand), len(problems))
    return CurrentStock(on_hand, tuple(problems))


def plan_from_current_stock(
    client: StockReader, lines: Sequence[SetLine], batch_id: str, options: PushOptions
) -> tuple[Plan | None, list[Problem]]:
    """The plan (current → new for every line), or no plan and the lines Haravan refutes."""
    stock = read_current_stock(client, lines)
    if stock.problems:
        return None, list(stock.problems)
    plan = build_plan(
        batch_id,
        list(lines),
        stock.on_hand,
        lines_per_request=options.lines_per_request,
        limits=options.limits,
    )
    return plan, []
