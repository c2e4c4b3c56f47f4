"""The page's Iceberg section, rendered as the API server does (`render_lake_page`): the
facts table's latest commits with when, which shop|day, rows added and removed; a clear
message, never an error page, when the catalog is unreachable or the table does not exist."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import timedelta
from html import unescape
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from include.inventory_lake.iceberg import facts_table
from include.inventory_lake.iceberg.catalog import open_catalog
from include.inventory_lake.iceberg.replace import (
    replace_partition,
    replace_staged,
    stage_partition_file,
)
from include.inventory_lake.iceberg.snapshot_summary import PartitionSummary
from tests.inventory_lake.iceberg.test_facts_table import DAY, lines
from tests.servers import S3Server


@pytest.fixture()
def empty_catalog(airflow_connections: Any, s3_server: S3Server) -> Iterator[None]:
    s3_server.empty_bucket()
    yield
    s3_server.empty_bucket()


def iceberg_rows(html: str) -> list[list[str]]:
    section = html.split('<section id="iceberg">', 1)[1].split("</section>", 1)[0]
    return [
        [
            unescape(re.sub(r"<[^>]+>", "", cell)).strip()
            for cell in re.findall(r"<td[^>]*>(.*?)</td>", row)
        ]
        for row in re.findall(r"<tr data-snapshot=.*?</tr>", section, re.S)
    ]


def test_the_page_shows_the_tables_latest_commits(empty_catalog: None) -> None:
    from include.inventory_lake.ui.app import render_lake_page

    table = facts_table.ensure_table(open_catalog())
    replace_partition(table, "hanoi", DAY, lines("hanoi", range(5)), run_id="run-1")
    replace_partition(table, "saigon", DAY, lines("saigon", range(3)), run_id="run-1")
    replace_partition(table, "hanoi", DAY, lines("hanoi", range(10, 17)), run_id="run-2")

    html, status = render_lake_page(DAY, 1)

    assert status == 200
    rows = iceberg_rows(html)
    # Newest first; the re-replace of hanoi is one commit: 7 rows added, the 5 old removed.
    assert [row[1:6] for row in rows] == [
        ["hanoi|2026-01-10", "7", "5", "delete + append", "run-2"],
        ["saigon|2026-01-10", "3", "0", "append", "run-1"],
        ["hanoi|2026-01-10", "5", "0", "append", "run-1"],
    ]
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC", row[0]) for row in rows)
    assert "4 snapshot(s) kept" in html


def test_a_shared_commit_shows_each_shop_day_and_run(
    empty_catalog: None, s3_server: S3Server, tmp_path: Path
) -> None:
    """Facts builds committing at once share one commit (`group_commit`): the page names every
    shop|day it replaced, and every run."""
    from include.inventory_lake.ui.app import render_lake_page

    table = facts_table.ensure_table(open_catalog())
    staged = []
    for shop, day, count, run in [
        ("hanoi", DAY, 4, "run-a"),
        ("saigon", DAY, 2, "run-a"),
        ("hanoi", DAY + timedelta(days=1), 3, "run-b"),
        ("saigon", DAY + timedelta(days=1), 1, "run-b"),
        ("danang", DAY, 6, "run-a"),
    ]:
        path = tmp_path / f"{shop}-{day}.parquet"
        pq.write_table(lines(shop, range(count)), path)
        file = stage_partition_file(table, shop, day, path)
        staged.append((file, PartitionSummary(file.key, rows=count, run_id=run)))
    replace_staged(table, staged)

    html, status = render_lake_page(DAY, 1)

    assert status == 200
    [row] = iceberg_rows(html)
    assert row[1:6] == [
        "danang|2026-01-10, hanoi|2026-01-10, hanoi|2026-01-11, saigon|2026-01-10 and 1 more",
        "16",
        "0",
        "append",
        "run-a, run-b",
    ]


def test_a_table_not_created_yet_is_said_on_the_page(empty_catalog: None) -> None:
    from include.inventory_lake.ui.app import render_lake_page

    html, status = render_lake_page(DAY, 1)

    assert status == 200
    assert (
        "the table inventory_lake.inventory_adjustment_lines does not exist yet: the facts DAG "
        "creates it with its first build"
    ) in html


def test_an_unreachable_catalog_is_said_on_the_page_without_its_credentials(
    empty_catalog: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    from include.inventory_lake.ui.app import render_lake_page

    secret = "catalog-password-that-must-not-show"
    monkeypatch.setenv(
        "AIRFLOW_CONN_ICEBERG_DEFAULT",
        json.dumps(
            {
                "conn_type": "iceberg",
                "host": "127.0.0.1",
                "port": 9,
                "login": "catalog",
                "password": secret,
                "schema": "iceberg_catalog",
                "extra": {"type": "sql", "warehouse": "s3://inventory-lake/iceberg"},
            }
        ),
    )

    html, status = render_lake_page(DAY, 1)

    assert status == 200, "the rest of the page is shown"
    assert "The table's snapshots cannot be shown: the Iceberg catalog could not be reached (" in (
        html
    )
    assert "check the iceberg_default connection" in html
    assert secret not in html and "127.0.0.1" not in html
