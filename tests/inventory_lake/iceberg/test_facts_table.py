"""The facts table in the session's SQL catalog (PostgreSQL) with its warehouse on the S3
server: contract ids and partitioning, idempotent creation, one-commit partition replace,
schema drift."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from include.inventory_lake.iceberg import facts_table
from include.inventory_lake.iceberg.catalog import open_catalog
from include.inventory_lake.iceberg.group_commit import commit_partition_file
from include.inventory_lake.iceberg.replace import (
    PartitionRowsError,
    partition_filter,
    replace_partition,
)
from include.inventory_lake.schemas import facts
from tests.servers import S3Server

DAY = date(2026, 1, 10)


@pytest.fixture()
def catalog(airflow_connections: Any, s3_server: S3Server) -> Iterator[Any]:
    """The `iceberg_default` catalog, empty, its warehouse in an empty lake."""
    s3_server.empty_bucket()
    yield open_catalog()
    s3_server.empty_bucket()


def lines(shop: str, ids: range, quantity: int = 1) -> pa.Table:
    """Facts rows of `shop` as the facts build writes them (contract columns, no `dt`)."""
    stamp = datetime(2026, 1, 10, 8, tzinfo=UTC)
    return pa.Table.from_pylist(
        [
            {
                "shop": shop,
                "source": "haravan",
                "line_key": f"haravan:{i}",
                "line_id": i,
                "adjustment_id": i // 10,
                "quantity": quantity,
                "cost_amount": Decimal("1.25"),
                "updated_at": stamp,
                "adjustment_missing": False,
            }
            for i in ids
        ],
        schema=facts.LINES,
    )


def rows_of(table: Any, shop: str, day: date = DAY) -> pa.Table:
    table.refresh()
    result: pa.Table = table.scan(row_filter=partition_filter(shop, day)).to_arrow()
    return result


def test_table_carries_the_contract_columns_ids_and_partitioning(catalog: Any) -> None:
    table = facts_table.ensure_table(catalog)
    schema = table.schema()
    assert {field.name: field.field_id for field in schema.fields} == facts_table.FIELD_IDS
    assert [field.name for field in schema.fields][:3] == ["shop", "dt", "source"]
    # `dt` optional since contract 3.1 (facts_table.contract_columns says why), never null.
    assert {f.name for f in schema.fields if f.required} == set(facts.REQUIRED)
    assert str(schema.find_field("cost_amount").field_type) == "decimal(18, 2)"
    assert str(schema.find_field("updated_at").field_type) == "timestamptz"
    assert (
        schema.find_field("line_key").doc
        == facts.LINES.field("line_key").metadata[b"description"].decode()
    )
    assert [(f.name, str(f.transform)) for f in table.spec().fields] == [
        ("shop", "identity"),
        ("dt", "identity"),
    ]
    assert table.location().startswith("s3://inventory-lake/iceberg/")


def test_ensure_table_is_idempotent_and_keeps_the_data(catalog: Any) -> None:
    table = facts_table.ensure_table(catalog)
    replace_partition(table, "hanoi", DAY, lines("hanoi", range(5)))
    again = facts_table.ensure_table(open_catalog())
    assert again.metadata.table_uuid == table.metadata.table_uuid
    assert rows_of(again, "hanoi").num_rows == 5


def test_replace_overwrites_exactly_one_shop_day_in_one_commit(catalog: Any) -> None:
    table = facts_table.ensure_table(catalog)
    replace_partition(table, "hanoi", DAY, lines("hanoi", range(10)))
    replace_partition(table, "saigon", DAY, lines("saigon", range(7)))
    replace_partition(table, "hanoi", date(2026, 1, 11), lines("hanoi", range(3)))
    before = table.current_snapshot()

    replaced = replace_partition(table, "hanoi", DAY, lines("hanoi", range(100, 104), quantity=-2))

    assert rows_of(table, "hanoi").column("line_key").to_pylist() == [
        f"haravan:{i}" for i in range(100, 104)
    ]
    assert pc.sum(rows_of(table, "hanoi").column("quantity")).as_py() == -8
    assert rows_of(table, "saigon").num_rows == 7
    assert rows_of(table, "hanoi", date(2026, 1, 11)).num_rows == 3
    assert replaced.rows == 4 and replaced.attempts == 1
    # One catalog commit: the snapshot before it still reads the old rows, the new one the new.
    old = table.scan(snapshot_id=before.snapshot_id, row_filter=partition_filter("hanoi", DAY))
    assert old.to_arrow().num_rows == 10
    assert table.current_snapshot().summary["inventory-lake.partition"] == "hanoi|2026-01-10"


def test_replace_with_no_lines_empties_the_partition(catalog: Any) -> None:
    table = facts_table.ensure_table(catalog)
    replace_partition(table, "hanoi", DAY, lines("hanoi", range(10)))
    replace_partition(table, "hanoi", DAY, lines("hanoi", range(0)))
    assert rows_of(table, "hanoi").num_rows == 0


def test_rows_of_another_shop_are_refused_and_nothing_changes(catalog: Any) -> None:
    table = facts_table.ensure_table(catalog)
    replace_partition(table, "hanoi", DAY, lines("hanoi", range(3)))
    mixed = pa.concat_tables([lines("hanoi", range(2)), lines("saigon", range(2))])
    with pytest.raises(PartitionRowsError, match=r"shop\(s\) \['hanoi', 'saigon'\]"):
        replace_partition(table, "hanoi", DAY, mixed)
    assert rows_of(table, "hanoi").num_rows == 3


def test_a_new_optional_column_evolves_the_schema_without_rewriting_data(catalog: Any) -> None:
    table = facts_table.ensure_table(catalog)
    replace_partition(table, "hanoi", DAY, lines("hanoi", range(4)))
    files_before = {task.file.file_path for task in table.scan().plan_files()}
    drifted = facts_table.contract_columns().append(pa.field("batch_number", pa.string()))

    table = facts_table.ensure_table(open_catalog(), drifted)

    field = table.schema().find_field("batch_number")
    assert not field.required
    assert field.field_id == max(facts_table.FIELD_IDS.values()) + 1
    assert {task.file.file_path for task in table.scan().plan_files()} == files_before
    assert rows_of(table, "hanoi").column("batch_number").null_count == 4
    new = lines("hanoi", range(2)).append_column("batch_number", pa.array(["B1", None]))
    replace_partition(table, "saigon", DAY, new.set_column(0, "shop", pa.array(["saigon"] * 2)))
    assert rows_of(table, "saigon").column("batch_number").to_pylist() == ["B1", None]
    assert rows_of(table, "hanoi").num_rows == 4


def test_a_required_new_column_is_refused(catalog: Any) -> None:
    table = facts_table.ensure_table(catalog)
    drifted = facts_table.contract_columns().append(
        pa.field("batch_number", pa.string(), nullable=False)
    )
    with pytest.raises(ValueError, match="batch_number"):
        facts_table.evolve_schema(table, drifted)
    assert "batch_number" not in {f.name for f in table.refresh().schema().fields}


def partition_file(tmp_path: Path, rows: pa.Table) -> Path:
    """A partition file as the facts build writes it (contract columns, no `dt`, no field
    ids)."""
    path = tmp_path / f"part-{rows.num_rows}.parquet"
    pq.write_table(rows, path, compression="zstd")
    return path


def test_the_build_s_own_file_becomes_the_partition_s_data_file_as_written(
    catalog: Any, s3_server: S3Server, tmp_path: Path
) -> None:
    table = facts_table.ensure_table(catalog)
    replace_partition(table, "hanoi", DAY, lines("hanoi", range(10)))
    file = partition_file(tmp_path, lines("hanoi", range(100, 104), quantity=-2))

    replaced = commit_partition_file(
        s3_server.lake(), table, "hanoi", DAY, file, run_id="manual__1"
    )

    read = rows_of(table, "hanoi")
    assert (replaced.rows, read.num_rows) == (4, 4)
    assert sorted(read.column("line_key").to_pylist()) == [f"haravan:{i}" for i in range(100, 104)]
    assert read.column("dt").to_pylist() == [DAY] * 4, "dt from the partition tuple"
    assert pc.sum(read.column("quantity")).as_py() == -8
    (task,) = table.scan(row_filter=partition_filter("hanoi", DAY)).plan_files()
    assert task.file.record_count == 4
    assert task.file.file_size_in_bytes == file.stat().st_size, "the same bytes, not re-encoded"
    summary = table.current_snapshot().summary
    assert summary["inventory-lake.partition"] == "hanoi|2026-01-10"
    assert summary["inventory-lake.run-id"] == "manual__1"
    # Pruning works on the file's statistics: another day's filter plans no file.
    assert (
        list(table.scan(row_filter=partition_filter("hanoi", date(2026, 1, 11))).plan_files()) == []
    )

    empty = partition_file(tmp_path, lines("hanoi", range(0)))
    commit_partition_file(s3_server.lake(), table, "hanoi", DAY, empty)
    assert rows_of(table, "hanoi").num_rows == 0


def test_a_partition_file_of_another_shop_or_with_unknown_columns_is_refused(
    catalog: Any, s3_server: S3Server, tmp_path: Path
) -> None:
    table = facts_table.ensure_table(catalog)
    replace_partition(table, "hanoi", DAY, lines("hanoi", range(3)))
    mixed = partition_file(
        tmp_path, pa.concat_tables([lines("hanoi", range(2)), lines("saigon", range(3))])
    )
    with pytest.raises(PartitionRowsError, match=r"shop\(s\) \['hanoi', 'saigon'\]"):
        commit_partition_file(s3_server.lake(), table, "hanoi", DAY, mixed)
    drifted = partition_file(
        tmp_path, lines("hanoi", range(2)).append_column("batch_number", pa.array(["B1", None]))
    )
    with pytest.raises(PartitionRowsError, match=r"\['batch_number'\] are not in the table"):
        commit_partition_file(s3_server.lake(), table, "hanoi", DAY, drifted)
    assert rows_of(table, "hanoi").num_rows == 3


def test_a_table_made_before_contract_3_1_gets_an_optional_dt_and_a_name_mapping(
    catalog: Any, s3_server: S3Server, tmp_path: Path
) -> None:
    old = facts_table.contract_columns()
    old = old.set(old.get_field_index("dt"), old.field("dt").with_nullable(False))
    catalog.create_namespace_if_not_exists(facts_table.NAMESPACE)
    made = catalog.create_table(
        facts_table.IDENTIFIER,
        schema=facts_table.table_schema(old),
        partition_spec=facts_table.partition_spec(),
        properties=facts_table.TABLE_PROPERTIES,
    )
    replace_partition(made, "hanoi", DAY, lines("hanoi", range(3)))
    assert made.schema().find_field("dt").required

    table = facts_table.ensure_table(open_catalog())

    assert not table.schema().find_field("dt").required
    assert facts_table.NAME_MAPPING_PROPERTY in table.properties
    commit_partition_file(
        s3_server.lake(), table, "saigon", DAY, partition_file(tmp_path, lines("saigon", range(5)))
    )
    assert rows_of(table, "hanoi").num_rows == 3
    assert rows_of(table, "saigon").column("dt").to_pylist() == [DAY] * 5
