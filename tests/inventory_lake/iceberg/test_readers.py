"""The readers of docs/warehouse-contract.md ("Reading the table"), run as written on a table
filled with known rows of two shops and three days: pyiceberg, DuckDB and Polars give the same
figures per shop|day (rows, sums of quantity and cost, distinct keys), equal to the rows
written, and their partition filters leave the other partitions out."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from include.inventory_lake.iceberg import facts_table
from include.inventory_lake.iceberg.catalog import open_catalog
from include.inventory_lake.iceberg.group_commit import commit_partition_file
from include.inventory_lake.iceberg.replace import replace_partition
from include.inventory_lake.schemas import facts
from tests.servers import S3Server

DOCUMENT = Path(__file__).resolve().parents[3] / "docs" / "warehouse-contract.md"
FIRST = date(2026, 1, 9)
DAYS = [FIRST + timedelta(days=n) for n in range(3)]
SHOPS = ["default", "saigon"]

Figures = dict[tuple[str, date], tuple[int, int, Decimal, int]]


def reader_snippets() -> dict[str, str]:
    """The python blocks of the section, by the reader named in bold before each."""
    text = DOCUMENT.read_text(encoding="utf-8")
    section = text.split("## Reading the table", 1)[1].split("\n## ", 1)[0]
    found = re.findall(r"\*\*(pyiceberg|DuckDB|Polars)\*\*.*?```python\n(.*?)```", section, re.S)
    return dict(found)


def known_lines(shop: str, day: date) -> pa.Table:
    """Lines of varied quantity and cost: a Stocky version of a Haravan key's number too."""
    seed = SHOPS.index(shop) * 10 + DAYS.index(day)
    rows = [
        {
            "shop": shop,
            "source": "haravan",
            "line_key": f"haravan:{seed * 100 + i}",
            "line_id": seed * 100 + i,
            "quantity": (i - 2) * (seed + 1),
            "cost_amount": Decimal(f"{i * 3 + seed}.{i:02d}"),
            "updated_at": datetime(day.year, day.month, day.day, 8, tzinfo=UTC),
            "adjustment_missing": False,
        }
        for i in range(seed + 3)
    ]
    return pa.Table.from_pylist(rows, schema=facts.LINES)


def written_figures(written: dict[tuple[str, date], pa.Table]) -> Figures:
    return {
        key: (
            lines.num_rows,
            sum(lines.column("quantity").to_pylist()),
            sum(lines.column("cost_amount").to_pylist(), Decimal(0)),
            len(set(lines.column("line_key").to_pylist())),
        )
        for key, lines in written.items()
    }


@pytest.fixture()
def table(airflow_connections: Any, s3_server: S3Server) -> Iterator[Any]:
    s3_server.empty_bucket()
    yield facts_table.ensure_table(open_catalog())
    s3_server.empty_bucket()


def test_the_documented_readers_give_the_figures_of_the_rows_written(
    table: Any, s3_server: S3Server, tmp_path: Path
) -> None:
    snippets = reader_snippets()
    assert set(snippets) == {"pyiceberg", "DuckDB", "Polars"}
    written = {(shop, day): known_lines(shop, day) for shop in SHOPS for day in DAYS}
    for (shop, day), lines in written.items():
        if shop == "default":
            # As the facts task commits: its 2.0 partition file (no `dt`, no field ids).
            path = tmp_path / f"{shop}-{day}.parquet"
            pq.write_table(lines, path, compression="zstd")
            commit_partition_file(s3_server.lake(), table, shop, day, path)
        else:
            replace_partition(table, shop, day, lines)
    # A replace that shrinks a partition: readers see the new rows only.
    written["saigon", DAYS[2]] = known_lines("saigon", DAYS[2]).slice(0, 4)
    replace_partition(table, "saigon", DAYS[2], written["saigon", DAYS[2]])
    expected = written_figures(written)
    table = open_catalog().load_table(facts_table.IDENTIFIER)

    pyiceberg_run: dict[str, Any] = {"table": table}
    exec(snippets["pyiceberg"], pyiceberg_run)
    pyiceberg_figures = {
        (row["shop"], row["dt"]): (
            row["count_all"],
            row["quantity_sum"],
            row["cost_amount_sum"],
            row["line_key_count_distinct"],
        )
        for row in pyiceberg_run["figures"].to_pylist()
    }
    assert pyiceberg_figures == {("default", date(2026, 1, 10)): expected["default", DAYS[1]]}
    assert pyiceberg_run["lines"].num_rows == expected["default", DAYS[1]][0]

    duckdb_run: dict[str, Any] = {"table": table}
    exec(snippets["DuckDB"], duckdb_run)
    duckdb_figures = {(shop, dt): tuple(rest) for shop, dt, *rest in duckdb_run["figures"]}

    polars_run: dict[str, Any] = {"table": table}
    exec(snippets["Polars"], polars_run)
    polars_figures = {
        (row["shop"], row["dt"]): (
            row["rows"],
            row["quantity"],
            row["cost_amount"],
            row["line_keys"],
        )
        for row in polars_run["figures"].to_dicts()
    }

    from_the_tenth = {key: value for key, value in expected.items() if key[1] >= DAYS[1]}
    assert len(from_the_tenth) == 4
    assert duckdb_figures == from_the_tenth
    assert polars_figures == from_the_tenth
