"""docs/warehouse-contract.md says what the code does: the column table is the schema, the DDL
lists every column with its mapped type, the SQL it recommends runs and merges correctly, its
warehouse options are the safe ones, and the glob it gives reads what the producer writes."""

from __future__ import annotations

import re
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.dataset as ds
import pytest

from include.inventory_lake import assets
from include.inventory_lake.facts import flatten
from include.inventory_lake.facts.build import CHECKS
from include.inventory_lake.lake.lake import Lake
from include.inventory_lake.lake.location import LakeRoot, Partition
from include.inventory_lake.lake.partition_writer import PartitionWriter
from include.inventory_lake.lake.stocky_lookup import stocky_adjustment_lookup
from include.inventory_lake.schemas import facts, stocky
from include.inventory_lake.settings import FACTS_LINES_PATH
from include.inventory_lake.shops import DEFAULT_SHOP_ID
from include.inventory_lake.warehouse.duckdb_merge import CREATE_FILLED_VIEW
from tests.inventory_lake.facts.raw_builders import (
    at,
    batch,
    stocky_adjustment,
    stocky_item,
)
from tests.servers import S3Server

DOCUMENT = Path(__file__).resolve().parents[3] / "docs" / "warehouse-contract.md"
TEXT = DOCUMENT.read_text(encoding="utf-8")
SQL_BLOCKS = re.findall(r"```sql\n(.*?)```", TEXT, flags=re.DOTALL)
DAY = date(2026, 1, 10)


def doc_type(type_: pa.DataType) -> str:
    if pa.types.is_decimal(type_):
        return f"decimal({type_.precision},{type_.scale})"
    if pa.types.is_timestamp(type_):
        return f"timestamp[{type_.unit}, {type_.tz}]"
    return {"string": "string", "int64": "int64", "bool": "bool"}[str(type_)]


ENGINE_TYPES = {
    "athena": {"string": "string", "int64": "bigint", "bool": "boolean"},
    "snowflake": {"string": "VARCHAR", "int64": "NUMBER(19,0)", "bool": "BOOLEAN"},
    "bigquery": {"string": "STRING", "int64": "INT64", "bool": "BOOL"},
}
ENGINE_SPECIAL = {
    "athena": ("decimal(18,2)", "timestamp"),
    "snowflake": ("NUMBER(18,2)", "TIMESTAMP_TZ"),
    "bigquery": ("NUMERIC", "TIMESTAMP"),
}


def engine_type(engine: str, type_: pa.DataType) -> str:
    decimal, timestamp = ENGINE_SPECIAL[engine]
    if pa.types.is_decimal(type_):
        return decimal
    if pa.types.is_timestamp(type_):
        return timestamp
    return ENGINE_TYPES[engine][str(type_)]


def block(starting: str) -> str:
    [found] = [sql for sql in SQL_BLOCKS if sql.lstrip().startswith(starting)]
    return found


def section(heading: str) -> str:
    """The text under the heading that starts with `heading` (e.g. `### Snowflake`), up to the
    next heading of the same or a higher level."""
    level = heading.split(" ", 1)[0]
    start = re.search(rf"^{re.escape(heading)}.*$", TEXT, flags=re.MULTILINE)
    assert start, heading
    end = re.compile(rf"^#{{1,{len(level)}}} ", flags=re.MULTILINE).search(TEXT, start.end())
    return TEXT[start.end() : end.start() if end else len(TEXT)]


def statements(sql: str) -> list[str]:
    """The statements of a SQL text, comments dropped, whitespace collapsed."""
    sql = re.sub(r"--[^\n]*", "", sql)
    return [" ".join(s.split()) for s in sql.split(";") if s.strip()]


def test_the_column_table_is_the_schema() -> None:
    rows = re.findall(r"^\| `(\w+)` \| ([^|]+) \| ([^|]+) \| (.+) \|$", TEXT, flags=re.MULTILINE)
    assert [row[0] for row in rows] == facts.LINES.names
    for (name, type_text, nullable, meaning), field in zip(rows, facts.LINES, strict=True):
        assert type_text.strip() == doc_type(field.type), name
        assert (nullable.strip() == "yes") == field.nullable, name
        assert meaning.strip() == field.metadata[b"description"].decode(), name


def test_version_path_assets_and_checks_match_the_code() -> None:
    assert f"**Version {facts.CONTRACT_VERSION}.**" in TEXT
    assert re.search(rf"^\| {re.escape(facts.CONTRACT_VERSION)} \|", TEXT, flags=re.MULTILINE)
    assert facts.LINES.metadata[b"contract_version"].decode() == facts.CONTRACT_VERSION
    assert f"s3://<lake>/{FACTS_LINES_PATH}/shop=<shop>/dt=YYYY-MM-DD/" in TEXT
    assert "python -m include.inventory_lake.migrations.shops_v2" in section(
        "## Migrating from 1.x"
    )
    for asset in (assets.FACTS_ADJUSTMENT_LINES, assets.WAREHOUSE_ADJUSTMENT_LINES):
        assert f"`{asset.name}`" in TEXT
    for check in CHECKS:
        assert f"| `{check}` |" in TEXT


@pytest.mark.parametrize(
    ("engine", "starting"),
    [
        ("athena", "CREATE EXTERNAL TABLE inventory_adjustment_lines_raw"),
        ("snowflake", "CREATE FILE FORMAT"),
        ("bigquery", "CREATE EXTERNAL TABLE `"),
    ],
)
def test_each_ddl_declares_every_column_with_its_mapped_type(engine: str, starting: str) -> None:
    """Athena and BigQuery read `shop` from the path (a partition column, declared after the
    others: a table column may not share its name); Snowflake reads it from the file."""
    ddl = block(starting)
    declared = re.findall(r"^  (\w+) (\w+(?:\(\d+,\d+\))?)", ddl, flags=re.MULTILINE)
    columns = [(name, type_) for name, type_ in declared if name in facts.LINES.names]
    expected = [(f.name, engine_type(engine, f.type)) for f in facts.LINES]
    if engine in ("athena", "bigquery"):
        expected = [column for column in expected if column[0] != "shop"] + [expected[0]]
        partitions = "PARTITIONED BY (" if engine == "athena" else "WITH PARTITION COLUMNS ("
        names = re.findall(r"^  (\w+) ", ddl.split(partitions, 1)[1], flags=re.MULTILINE)
        assert names[:2] == ["shop", "dt"]
    assert columns == expected


def test_the_filled_view_in_the_document_is_the_one_the_example_creates() -> None:
    def words(sql: str) -> list[str]:
        return sql.split()

    assert words(block("CREATE OR REPLACE VIEW")) == words(CREATE_FILLED_VIEW)


def staged(
    db: duckdb.DuckDBPyConnection,
    name: str,
    rows: list[tuple[Any, ...]],
    shop: str = DEFAULT_SHOP_ID,
) -> None:
    """A staging table of facts rows of `shop`: (item id, updated hour, status, dt)."""
    items = [
        stocky_item(item_id, 101, 1, at(DAY, 0) + timedelta(hours=hour), status=status)
        for item_id, hour, status, _ in rows
    ]
    lookup = stocky_adjustment_lookup(
        pa.Table.from_batches(
            [batch([stocky_adjustment(101, at(DAY, 1))], stocky.STOCK_ADJUSTMENTS)]
        )
    )
    lines = pa.Table.from_batches(
        [flatten.stocky_lines(batch(items, stocky.STOCK_ADJUSTMENT_ITEMS), lookup, shop)]
    )
    lines = lines.append_column("dt", pa.array([row[3] for row in rows], pa.date32()))
    db.register("incoming", lines)
    db.execute(f"CREATE OR REPLACE TABLE {name} AS SELECT * FROM incoming")
    db.unregister("incoming")


def current(
    db: duckdb.DuckDBPyConnection, shop: str = DEFAULT_SHOP_ID
) -> list[tuple[str, str, date]]:
    return db.execute(
        "SELECT line_key, status, dt FROM inventory_adjustment_lines WHERE shop = $shop "
        "ORDER BY line_key",
        {"shop": shop},
    ).fetchall()


def test_the_documented_merge_keeps_one_newest_row_per_line_key() -> None:
    merge = block("MERGE INTO inventory_adjustment_lines")
    with duckdb.connect() as db:
        staged(db, "staged_lines", [(1, 9, "not adjusted", DAY)])
        db.execute("CREATE TABLE inventory_adjustment_lines AS FROM staged_lines LIMIT 0")
        nxt = DAY + timedelta(days=1)
        # two partitions at once, one line in both: the newer version wins
        staged(
            db,
            "staged_lines",
            [(1, 9, "not adjusted", DAY), (2, 9, "adjusted", DAY), (1, 30, "adjusted", nxt)],
        )
        db.execute(merge)
        assert current(db) == [("stocky:1", "adjusted", nxt), ("stocky:2", "adjusted", DAY)]
        db.execute(merge)  # the same load again
        staged(db, "staged_lines", [(1, 9, "not adjusted", DAY)])
        db.execute(merge)  # an older partition loaded late
        assert current(db) == [("stocky:1", "adjusted", nxt), ("stocky:2", "adjusted", DAY)]
        staged(db, "staged_lines", [(1, 9, "not adjusted", DAY)], shop="hanoi")
        db.execute(merge)  # the same line_key in another shop is another line
        assert current(db, "hanoi") == [("stocky:1", "not adjusted", DAY)]
        assert current(db) == [("stocky:1", "adjusted", nxt), ("stocky:2", "adjusted", DAY)]


def test_the_documented_athena_query_gives_the_current_rows() -> None:
    query = block("SELECT * FROM (")
    with duckdb.connect() as db:
        nxt = DAY + timedelta(days=1)
        rows = [(1, 9, "not adjusted", DAY), (2, 9, "adjusted", DAY), (1, 30, "adjusted", nxt)]
        staged(db, "inventory_adjustment_lines_raw", rows)
        result = db.execute(query.rstrip().rstrip(";") + " ORDER BY line_key").fetchall()
    names = [field.name for field in facts.LINES]
    assert [(row[names.index("line_key")], row[names.index("status")]) for row in result] == [
        ("stocky:1", "adjusted"),
        ("stocky:2", "adjusted"),
    ]


SNOWFLAKE = section("### Snowflake")


def snowflake_statement(starting: str) -> str:
    blocks = re.findall(r"```sql\n(.*?)```", SNOWFLAKE, flags=re.DOTALL)
    [found] = [s for s in statements("\n".join(blocks)) if s.startswith(starting)]
    return found


def test_snowflake_matches_the_lowercase_parquet_columns_case_insensitively() -> None:
    """The files' columns are lowercase and Snowflake's unquoted identifiers uppercase: COPY
    with `MATCH_BY_COLUMN_NAME = CASE_SENSITIVE` would load rows of NULLs without an error."""
    file_format = snowflake_statement("CREATE FILE FORMAT")
    assert "TYPE = PARQUET" in file_format and "USE_LOGICAL_TYPE = TRUE" in file_format
    stage = snowflake_statement("CREATE STAGE")
    assert "FILE_FORMAT = inventory_lake_parquet" in stage
    copy = snowflake_statement("COPY INTO staged_lines")
    assert re.findall(r"MATCH_BY_COLUMN_NAME = (\w+)", copy) == ["CASE_INSENSITIVE"]
    # anywhere on the page, prose included, in any spelling of the option
    options = re.findall(r"MATCH_BY_COLUMN_NAME\s*=\s*(\w+)", TEXT, flags=re.IGNORECASE)
    assert options and set(options) == {"CASE_INSENSITIVE"}
    # the external table reads VARIANT paths, which are case-sensitive: exactly the file's names
    external = snowflake_statement("CREATE EXTERNAL TABLE")
    paths = re.findall(r"(\w+) [\w(),]+ AS \(VALUE:(\w+)::", external)
    assert [path for _, path in paths] == facts.LINES.names
    assert all(column == path for column, path in paths)
    assert "MATCH_BY_COLUMN_NAME" not in file_format + stage + external


SPARK_SET = "SET spark.sql.variable.substitute=false;"
HIVE_SET = "SET hive.variable.substitute=false;"


def test_no_sql_with_a_placeholder_runs_through_spark_or_hive_unguarded() -> None:
    """Spark SQL and Hive replace `${name}` in a statement's text before running it (Spark with
    an empty string when `name` is unset), silently. Neither has an escape for `${`, so every
    `${` in a SQL block counts. The rule: a SQL block may hold `${` only if the same section,
    before the block, gives both statements that turn substitution off (`SET
    spark.sql.variable.substitute=false;` and `SET hive.variable.substitute=false;`) in a SQL
    block of their own and says that Athena runs the statement as is. The only placeholder is
    Athena's partition-projection `${dt}`."""
    guarded = 0
    for part in re.split(r"^#{2,3} ", TEXT, flags=re.MULTILINE):
        for found in re.finditer(r"```sql\n(.*?)```", part, flags=re.DOTALL):
            if "${" not in found.group(1):
                continue
            assert re.findall(r"\$\{([^}]*)\}", found.group(1)) == ["shop", "dt"]
            before = part[: found.start()]
            earlier_sql = "\n".join(re.findall(r"```sql\n(.*?)```", before, flags=re.DOTALL))
            assert SPARK_SET in earlier_sql and HIVE_SET in earlier_sql, found.group(1)[:60]
            assert "in Athena (console, API, JDBC) run the statement as is" in " ".join(
                before.split()
            )
            guarded += 1
    assert guarded == 1  # the Athena DDL's storage.location.template


READERS = section("## Readers")


def reader_globs(reader: str) -> list[str]:
    [row] = re.findall(rf"^\| {reader} \|.*$", READERS, flags=re.MULTILINE)
    return re.findall(r"[\'\"]([^\'\"]*\*[^\'\"]*)[\'\"]", row)


def test_every_glob_given_for_duckdb_and_polars_names_the_data_files() -> None:
    """`_SUCCESS` sits next to the data file: a glob reader must ask for `part-*.parquet`."""
    for reader in ("DuckDB", "Polars"):
        globs = reader_globs(reader)
        assert globs, reader
        ending = f"/{FACTS_LINES_PATH}/shop=*/dt=*/part-*.parquet"
        assert all(g.endswith(ending) for g in globs), globs
    # every quoted path glob over the partitions, anywhere on the page
    quoted = re.findall(r"[\'\"]([^\'\"\s]*dt=\*[^\'\"\s]*)[\'\"]", TEXT)
    assert quoted and all(path.endswith("/dt=*/part-*.parquet") for path in quoted), quoted


def lake_written_by_the_producer(s3: S3Server, local: Path) -> dict[date, int]:
    """Two days of facts (one of them empty) written by the producer's own PartitionWriter to
    the S3 server, then copied key for key under `local` (DuckDB here has no S3 extension)."""
    s3.empty_bucket()
    root = LakeRoot(s3.bucket, "lake")
    items = [stocky_item(i, 101, -i, at(DAY, 9)) for i in (1, 2, 3)]
    lookup = stocky_adjustment_lookup(
        pa.Table.from_batches(
            [batch([stocky_adjustment(101, at(DAY, 1))], stocky.STOCK_ADJUSTMENTS)]
        )
    )
    lines = pa.table(
        flatten.stocky_lines(batch(items, stocky.STOCK_ADJUSTMENT_ITEMS), lookup, DEFAULT_SHOP_ID)
    )
    days = {DAY: lines.to_batches()}
    days[DAY + timedelta(days=1)] = []
    for day, batches in days.items():
        partition = Partition(root, FACTS_LINES_PATH, DEFAULT_SHOP_ID, day)
        with PartitionWriter(
            Lake(s3.client(), partition.root), partition, facts.LINES, f"run-{day}"
        ) as writer:
            for lines in batches:
                writer.write(lines)
            writer.commit()
    client = s3.client()
    keys = s3.keys("lake/")
    assert (
        sorted(k.rsplit("/", 1)[-1] for k in keys)
        == ["_SUCCESS", "_SUCCESS"] + ["part-00000.parquet"] * 2
    )
    for key in keys:
        (local / key).parent.mkdir(parents=True, exist_ok=True)
        client.download_file(s3.bucket, key, str(local / key))
    s3.empty_bucket()
    return {day: sum(b.num_rows for b in batches) for day, batches in days.items()}


def test_the_documented_glob_reads_the_producers_partitions_and_a_plain_one_does_not(
    s3_server: S3Server, tmp_path: Path
) -> None:
    rows = lake_written_by_the_producer(s3_server, tmp_path)
    lake = str(tmp_path / "lake")
    [documented] = re.findall(r"`(read_parquet\(.*?\))`", READERS)
    with duckdb.connect() as db:
        read = documented.replace("s3://<lake>", lake)
        counted = db.execute(f"SELECT dt, count(*) FROM {read} GROUP BY dt").fetchall()
        assert {str(dt): n for dt, n in counted} == {str(d): n for d, n in rows.items() if n}
        assert db.execute(f"SELECT count(*) FROM {read}").fetchone() == (sum(rows.values()),)
        plain = documented.replace("s3://<lake>", lake).replace("/dt=*/part-*.parquet", "/dt=*/*")
        assert plain != read
        with pytest.raises(duckdb.Error, match="_SUCCESS"):
            db.execute(f"SELECT count(*) FROM {plain}").fetchall()
    # pyarrow's dataset discovery skips `_` files, as the page says
    dataset = ds.dataset(f"{lake}/{FACTS_LINES_PATH}/", format="parquet", partitioning="hive")
    assert dataset.count_rows() == sum(rows.values())


def test_the_field_id_table_is_the_iceberg_schema() -> None:
    from include.inventory_lake.iceberg.facts_table import table_schema

    rows = re.findall(r"^\| (\d+) \| `(\w+)` \| ([^|]+) \|$", TEXT, flags=re.MULTILINE)
    assert [(int(field_id), name, kind.strip()) for field_id, name, kind in rows] == [
        (f.field_id, f.name, f"{f.field_type}{', required' if f.required else ''}")
        for f in table_schema().fields
    ]
