"""`make query-facts [DAYS=<n>] [SHOP=<id>]`: the facts table of the local stack, per shop and
day (lines, sum of quantity, sum of cost), queried with DuckDB.

It opens the catalog as the stack's Airflow processes do: the same environment
(`stack.stack_airflow_env`: `.env`'s `aws_default` for the files, the `iceberg_default` that
`make run` computes for the catalog), then `iceberg.catalog.open_catalog()`. pyiceberg plans
the scan (pruned to the days and shop asked for) and hands the rows to DuckDB as Arrow, as in
docs/warehouse-contract.md ("Reading the table").
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

from devtools.devstack.iceberg import CONNECTION_VARIABLE
from devtools.devstack.processes import project_root
from devtools.devstack.stack import StackPaths, load_env, running_metadata_db, stack_airflow_env
from include.inventory_lake.iceberg.facts_table import DT_COLUMN, QUALIFIED_NAME, SHOP_COLUMN
from include.inventory_lake.shops import ShopConfigError, check_shop_id

if TYPE_CHECKING:
    from pyiceberg.expressions import BooleanExpression
    from pyiceberg.table import Table

FACTS_DAG = "inventory_adjustment_facts"
START_FIRST = "run `make run` first"
NO_TABLE_YET = (
    f"the table {QUALIFIED_NAME} is not created yet: unpause the DAGs and let a run of "
    f"{FACTS_DAG} finish (README.md, your first ten minutes)"
)
FIGURES_SQL = f"""
    SELECT {SHOP_COLUMN}, {DT_COLUMN}, count(*) AS lines, sum(quantity) AS quantity,
        sum(cost_amount) AS cost
    FROM lines
    GROUP BY {SHOP_COLUMN}, {DT_COLUMN}
    ORDER BY {SHOP_COLUMN}, {DT_COLUMN}
"""
HEADER = ("shop", "dt", "lines", "quantity", "cost")

Figure = tuple[str, date, int, int, Decimal | None]


class QueryError(SystemExit):
    """The table could not be queried; the message says what to do."""


def stack_environment(paths: StackPaths) -> dict[str, str]:
    """The environment of the running stack's Airflow processes."""
    import psycopg2

    env = load_env(paths)
    metadata_db = running_metadata_db(paths, env)
    if metadata_db is None:
        raise QueryError(f"the local stack is not running: {START_FIRST}")
    try:
        settings = stack_airflow_env(paths, env, metadata_db)
    except psycopg2.OperationalError as error:
        raise QueryError(
            f"the Iceberg catalog's database is unreachable ({error}): {START_FIRST}"
        ) from None
    if CONNECTION_VARIABLE not in settings:
        raise QueryError(f"no Iceberg catalog: set {CONNECTION_VARIABLE} in .env")
    return settings


def open_facts_table() -> Table:
    """The facts table, from the `iceberg_default` connection of the environment."""
    from pyiceberg.exceptions import NoSuchNamespaceError, NoSuchTableError
    from sqlalchemy.exc import OperationalError

    from include.inventory_lake.iceberg.catalog import open_catalog

    try:
        return open_catalog().load_table(QUALIFIED_NAME)
    except (NoSuchTableError, NoSuchNamespaceError):
        raise QueryError(NO_TABLE_YET) from None
    except OperationalError as error:
        raise QueryError(
            f"the Iceberg catalog is unreachable ({error.orig}): {START_FIRST}"
        ) from None
    except OSError as error:
        raise QueryError(
            f"the catalog names {QUALIFIED_NAME} but its metadata cannot be read from the "
            f"lake ({error}): is the local S3 running? {START_FIRST}"
        ) from None


def open_stack_table(paths: StackPaths | None = None) -> Table:
    """The facts table of the running local stack (default: of this checkout), opened in this
    process's environment set as the stack's Airflow processes have it."""
    # Before Airflow is imported: it reads its configuration once, on first import.
    os.environ.update(stack_environment(paths or StackPaths(project_root())))
    # Airflow logs to stdout; its lines (the AWS connection looked up, ...) would break the table.
    os.environ["AIRFLOW__LOGGING__LOGGING_LEVEL"] = "ERROR"
    return open_facts_table()


def row_filter(days: int | None, shop: str | None, today: date) -> BooleanExpression:
    """The last `days` days up to `today` (None: every day), of `shop` (None: every shop)."""
    from pyiceberg.expressions import AlwaysTrue, And, EqualTo, GreaterThanOrEqual, Reference
    from pyiceberg.expressions.literals import literal

    expression: BooleanExpression = AlwaysTrue()
    if days is not None:
        first = today - timedelta(days=days - 1)
        expression = And(
            expression,
            GreaterThanOrEqual(term=Reference(DT_COLUMN), value=literal(first.isoformat())),
        )
    if shop is not None:
        expression = And(expression, EqualTo(term=Reference(SHOP_COLUMN), value=literal(shop)))
    return expression


def figures(table: Table, days: int | None = None, shop: str | None = None) -> list[Figure]:
    """Per shop and day: the lines, their sum of quantity and of cost (DuckDB)."""
    today = datetime.now(UTC).date()
    connection = table.scan(row_filter=row_filter(days, shop, today)).to_duckdb("lines")
    return [
        (str(row[0]), row[1], int(row[2]), int(row[3]), row[4])
        for row in connection.sql(FIGURES_SQL).fetchall()
    ]


def render(rows: Sequence[Figure]) -> str:
    """A plain-text table, numbers right-aligned, with a total line."""
    cells = [
        [shop, dt.isoformat(), str(lines), str(quantity), "" if cost is None else f"{cost:,}"]
        for shop, dt, lines, quantity, cost in rows
    ]
    total_cost = sum((row[4] or Decimal(0) for row in rows), Decimal(0))
    total = [
        "total",
        "",
        str(sum(row[2] for row in rows)),
        str(sum(row[3] for row in rows)),
        f"{total_cost:,}",
    ]
    widths = [max(len(row[i]) for row in [list(HEADER), *cells, total]) for i in range(5)]

    def line(row: Sequence[str]) -> str:
        return "  ".join(
            cell.ljust(width) if i < 2 else cell.rjust(width)
            for i, (cell, width) in enumerate(zip(row, widths, strict=True))
        ).rstrip()

    rule = "  ".join("-" * width for width in widths)
    return "\n".join([line(HEADER), rule, *map(line, cells), rule, line(total)])


def positive(value: str) -> int:
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError(f"DAYS must be 1 or more, not {value}")
    return number


def main(argv: Sequence[str] | None = None, paths: StackPaths | None = None) -> None:
    parser = argparse.ArgumentParser(prog="devtools.query_facts", description=__doc__)
    parser.add_argument("--days", type=positive, help="only the last n days (UTC) up to today")
    parser.add_argument("--shop", help="only this shop")
    arguments = parser.parse_args(argv)
    if arguments.shop is not None:
        try:
            check_shop_id(arguments.shop, "SHOP")
        except ShopConfigError as error:
            parser.error(str(error))
    table = open_stack_table(paths)
    rows = figures(table, arguments.days, arguments.shop)
    print(f"{QUALIFIED_NAME} at {snapshot_label(table)}")
    if not rows:
        print("no lines" + (" for these days and shop" if arguments.days or arguments.shop else ""))
        return
    print(render(rows))


def snapshot_label(table: Table) -> str:
    snapshot = table.current_snapshot()
    if snapshot is None:
        return "no snapshot (nothing committed yet)"
    when = datetime.fromtimestamp(snapshot.timestamp_ms / 1000, UTC)
    return f"snapshot {snapshot.snapshot_id} ({when:%Y-%m-%d %H:%M:%S} UTC)"


if __name__ == "__main__":
    main()
