"""The lake gateway on the S3 server: missing objects are None, conditional writes raise
WriteConflict when they lose, moves keep the bytes and drop the source, listings page."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path

import pytest

from include.inventory_lake.checksums import file_sha256
from include.inventory_lake.lake.location import LakeRoot, Partition
from include.inventory_lake.lake.store import LakeStore, WriteConflict
from tests.servers import S3Server


@pytest.fixture()
def store(s3_server: S3Server) -> Iterator[LakeStore]:
    s3_server.empty_bucket()
    yield LakeStore(s3_server.client(), s3_server.bucket)
    s3_server.empty_bucket()


def test_a_missing_key_reads_as_none(store: LakeStore) -> None:
    assert store.read_bytes("nowhere/x.bin") is None
    assert store.read_json("nowhere/x.json") is None
    assert store.read_versioned("nowhere/x.bin") is None
    assert store.etag("nowhere/x.bin") is None


def test_bytes_and_json_round_trip(store: LakeStore) -> None:
    etag = store.put_bytes("a/b.bin", b"\x00payload", "application/octet-stream")
    stored = store.read_versioned("a/b.bin")
    assert stored is not None and stored.body == b"\x00payload" and stored.etag == etag
    store.put_json("a/doc.json", {"n": 1, "names": ["x"]}, indent=1)
    assert store.read_json("a/doc.json") == {"n": 1, "names": ["x"]}


def test_conditional_puts_raise_write_conflict_when_they_lose(store: LakeStore) -> None:
    first = store.put_json("ledger/doc.json", {"v": 1}, if_none_match=True)
    with pytest.raises(WriteConflict) as created_twice:
        store.put_json("ledger/doc.json", {"v": "other"}, if_none_match=True)
    assert created_twice.value.key == "ledger/doc.json"
    second = store.put_json("ledger/doc.json", {"v": 2}, if_match=first)
    with pytest.raises(WriteConflict):
        store.put_json("ledger/doc.json", {"v": "stale"}, if_match=first)
    assert store.read_json("ledger/doc.json") == {"v": 2}
    assert store.put_json("ledger/doc.json", {"v": 3}, if_match=second)
    assert store.read_json("ledger/doc.json") == {"v": 3}


def test_move_keeps_the_bytes_and_removes_the_source(store: LakeStore) -> None:
    etag = store.put_bytes("approved/f.csv", b"sku,qty\n1,2\n", "text/csv")
    assert store.move("approved/f.csv", "processed/f.csv", etag)
    assert store.read_bytes("processed/f.csv") == b"sku,qty\n1,2\n"
    assert store.read_bytes("approved/f.csv") is None
    # again after a crash: the source is gone but the destination is there
    assert store.move("approved/f.csv", "processed/f.csv", etag)


def test_move_leaves_a_replaced_source_in_place(store: LakeStore) -> None:
    old = store.put_bytes("approved/f.csv", b"old", "text/csv")
    store.put_bytes("approved/f.csv", b"new", "text/csv")
    assert not store.move("approved/f.csv", "processed/f.csv", old)
    assert store.read_bytes("approved/f.csv") == b"new"
    assert store.read_bytes("processed/f.csv") is None


def test_listings_page_past_a_thousand_keys(store: LakeStore, s3_server: S3Server) -> None:
    keys = [f"many/k{i:05d}" for i in range(1001)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(lambda key: store.client.put_object(Bucket=store.bucket, Key=key), keys))
    store.put_bytes("many/sub/a", b"a")
    store.put_bytes("many/other/b", b"b")
    try:
        assert store.list_keys("many/k") == keys
        assert [o.key for o in store.list_objects("many/k", start_after="many/k00998")] == [
            "many/k00999",
            "many/k01000",
        ]
        assert store.child_prefixes("many/") == ["other", "sub"]
    finally:
        for start in range(0, len(keys), 1000):
            store.client.delete_objects(
                Bucket=store.bucket,
                Delete={"Objects": [{"Key": key} for key in keys[start : start + 1000]]},
            )


def test_read_marker_is_none_until_the_partition_is_committed(store: LakeStore) -> None:
    partition = Partition(LakeRoot(store.bucket, "lake"), "raw/x", "default", date(2026, 1, 2))
    assert store.read_marker(partition) is None
    store.put_json(partition.marker_key, {"rows": 3})
    assert store.read_marker(partition) == {"rows": 3}


def test_file_sha256_is_the_files_digest(tmp_path: Path) -> None:
    path = tmp_path / "f.bin"
    path.write_bytes(b"abc")
    assert file_sha256(path) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"


def test_a_copy_keeps_the_bytes_and_names_the_source_version(store: LakeStore) -> None:
    etag = store.put_bytes("a/source.bin", b"\x00raw bytes")
    store.copy("a/source.bin", "b/copy.bin", source_etag=etag)
    assert store.read_bytes("b/copy.bin") == b"\x00raw bytes"
    assert store.read_bytes("a/source.bin") == b"\x00raw bytes", "a copy, not a move"
    store.put_bytes("a/source.bin", b"replaced")
    with pytest.raises(WriteConflict):
        store.copy("a/source.bin", "b/copy.bin", source_etag=etag)
    assert store.read_bytes("b/copy.bin") == b"\x00raw bytes"


def test_a_lake_uri_with_credentials_is_refused_without_quoting_them() -> None:
    """The error is logged: it names the URI without its user info."""
    with pytest.raises(ValueError, match="must not hold credentials") as error:
        LakeRoot.parse("s3://AKIAEXAMPLE:s3cr3t-key@inventory-lake/prod")
    assert "s3cr3t" not in str(error.value) and "AKIAEXAMPLE" not in str(error.value)
    assert "'s3://inventory-lake/prod'" in str(error.value)
