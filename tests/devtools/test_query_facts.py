"""`make query-facts`, the README's last step of the first ten minutes: on a running stack (a
checkout's `.env` and `.local/run` naming the session's PostgreSQL, as `make run` leaves them)
it opens the catalog with the `iceberg_default` the stack computes for Airflow (not in `.env`)
and prints each shop and day's lines, sum of quantity and sum of cost; without the stack or
the table it says what to do."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pytest

from devtools.devstack.iceberg import CONNECTION_VARIABLE, catalog_connection
from devtools.devstack.stack import StackPaths
from devtools.query_facts import NO_TABLE_YET, QueryError, main
from include.inventory_lake.iceberg import facts_table
from include.inventory_lake.iceberg.catalog import open_catalog
from include.inventory_lake.iceberg.replace import replace_partition
from include.inventory_lake.schemas import facts
from tests.conftest import ICEBERG_CATALOG_DB, METADATA_DB, _postgres
from tests.servers import S3Server

TODAY = datetime.now(UTC).date()
YESTERDAY = TODAY - timedelta(days=1)
LAST_WEEK = TODAY - timedelta(days=7)


def lines(shop: str, day: date, quantities: list[int], costs: list[str]) -> pa.Table:
    rows = [
        {
            "shop": shop,
            "source": "haravan",
            "line_key": f"haravan:{day:%Y%m%d}{i}",
            "line_id": int(f"{day:%Y%m%d}{i}"),
            "quantity": quantity,
            "cost_amount": Decimal(cost),
            "updated_at": datetime(day.year, day.month, day.day, 8, tzinfo=UTC),
            "adjustment_missing": False,
        }
        for i, (quantity, cost) in enumerate(zip(quantities, costs, strict=True))
    ]
    return pa.Table.from_pylist(rows, schema=facts.LINES)


@pytest.fixture()
def environment_kept() -> Iterator[None]:
    """`main` sets the stack's Airflow environment in this process, as the command does."""
    saved = dict(os.environ)
    yield
    os.environ.clear()
    os.environ.update(saved)


@pytest.fixture()
def running_stack(
    tmp_path: Path,
    airflow_connections: dict[str, str],
    environment_kept: None,
) -> StackPaths:
    """A checkout after `make run`: `.env` as shipped (aws_default and the lake, no catalog)
    and the stack's PostgreSQL recorded as running."""
    paths = StackPaths(tmp_path, local_dir=tmp_path / ".local")
    keep = ("AIRFLOW_CONN_AWS_DEFAULT", "AIRFLOW_VAR_INVENTORY_LAKE_URI")
    paths.env_file.write_text("".join(f"{key}='{airflow_connections[key]}'\n" for key in keep))
    paths.run.mkdir(parents=True)
    paths.pid_file("postgres").write_text(str(_postgres.pid))
    (paths.run / "postgres.url").write_text(METADATA_DB.url("postgresql+psycopg2"))
    return paths


def run_command(paths: StackPaths, *args: str) -> subprocess.CompletedProcess[str]:
    """`make query-facts` in a fresh interpreter, from a shell with no Airflow setting (the
    user's: `.env` and the stack's files are all it has), on the checkout `paths`."""
    shell = {key: value for key, value in os.environ.items() if not key.startswith("AIRFLOW")}
    code = (
        "import sys; from pathlib import Path; from devtools.devstack.stack import StackPaths; "
        "from devtools.query_facts import main; "
        f"main(sys.argv[1:], StackPaths(Path({str(paths.root)!r}), Path({str(paths.local)!r})))"
    )
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        env=shell,
        capture_output=True,
        text=True,
        timeout=120,
    )


def query(paths: StackPaths, *args: str) -> None:
    """`make query-facts` in a shell that, like the user's, has no `iceberg_default`."""
    os.environ.pop(CONNECTION_VARIABLE)
    main(list(args), paths)


@pytest.fixture()
def empty_catalog(s3_server: S3Server) -> Iterator[None]:
    s3_server.empty_bucket()
    yield
    s3_server.empty_bucket()


def test_it_prints_each_shop_and_day_of_the_table(
    running_stack: StackPaths, empty_catalog: None, capsys: pytest.CaptureFixture[str]
) -> None:
    table = facts_table.ensure_table(open_catalog())
    replace_partition(table, "default", LAST_WEEK, lines("default", LAST_WEEK, [7], ["0.70"]))
    replace_partition(
        table,
        "default",
        YESTERDAY,
        lines("default", YESTERDAY, [5, -2, 10], ["1.50", "2.25", "10"]),
    )
    replace_partition(table, "default", TODAY, lines("default", TODAY, [1, 1], ["0.10", "0.20"]))
    replace_partition(table, "saigon", YESTERDAY, lines("saigon", YESTERDAY, [-4], ["1234.5"]))

    done = run_command(running_stack)
    assert (done.returncode, done.stderr) == (0, "")
    printed = done.stdout.splitlines()
    assert re.fullmatch(
        r"inventory_lake\.inventory_adjustment_lines at snapshot \d+ \(\d{4}-.* UTC\)", printed[0]
    ), printed[0]
    assert printed[1:] == [
        "shop     dt          lines  quantity      cost",
        "-------  ----------  -----  --------  --------",
        f"default  {LAST_WEEK}      1         7      0.70",
        f"default  {YESTERDAY}      3        13     13.75",
        f"default  {TODAY}      2         2      0.30",
        f"saigon   {YESTERDAY}      1        -4  1,234.50",
        "-------  ----------  -----  --------  --------",
        "total                    7        18  1,249.25",
    ]


def test_days_and_shop_narrow_the_query(
    running_stack: StackPaths, empty_catalog: None, capsys: pytest.CaptureFixture[str]
) -> None:
    table = facts_table.ensure_table(open_catalog())
    replace_partition(table, "default", LAST_WEEK, lines("default", LAST_WEEK, [7], ["0.70"]))
    replace_partition(table, "default", TODAY, lines("default", TODAY, [1, 1], ["0.10", "0.20"]))
    replace_partition(table, "saigon", TODAY, lines("saigon", TODAY, [-4], ["1234.5"]))
    capsys.readouterr()

    query(running_stack, "--days", "2", "--shop", "default")
    printed = capsys.readouterr().out.splitlines()
    # The catalog was opened with the connection `make run` computes for Airflow.
    computed = catalog_connection(ICEBERG_CATALOG_DB, "s3://inventory-lake")
    assert json.loads(os.environ[CONNECTION_VARIABLE]) == computed
    table_lines = printed[printed.index("shop     dt          lines  quantity  cost") :]
    assert [line.split() for line in table_lines[2:]] == [
        ["default", str(TODAY), "2", "2", "0.30"],
        ["-------", "----------", "-----", "--------", "----"],
        ["total", "2", "2", "0.30"],
    ]


def test_before_a_facts_run_it_says_to_let_one_finish(
    running_stack: StackPaths, empty_catalog: None, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(QueryError) as refused:
        query(running_stack)
    assert str(refused.value) == NO_TABLE_YET
    assert "unpause the DAGs" in NO_TABLE_YET and "inventory_adjustment_facts" in NO_TABLE_YET


def test_without_the_stack_it_says_to_run_make_run(
    tmp_path: Path, airflow_connections: dict[str, str], environment_kept: None
) -> None:
    paths = StackPaths(tmp_path, local_dir=tmp_path / ".local")
    lake = airflow_connections["AIRFLOW_VAR_INVENTORY_LAKE_URI"]
    paths.env_file.write_text(f"AIRFLOW_VAR_INVENTORY_LAKE_URI={lake}\n")
    with pytest.raises(QueryError) as refused:
        query(paths)
    assert str(refused.value) == "the local stack is not running: run `make run` first"
