"""Reach the lake through Airflow's `aws_default` connection: the same code for AWS, MinIO or
a local S3 server (its extra `endpoint_url`). Called inside tasks only."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from include.inventory_lake.lake.lake import Lake
from include.inventory_lake.lake.location import LakeRoot
from include.inventory_lake.settings import AWS_CONN_ID, LAKE_URI_VARIABLE
from include.inventory_lake.task_phases import phase

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client


def s3_client(conn_id: str = AWS_CONN_ID) -> S3Client:
    from airflow.providers.amazon.aws.hooks.s3 import S3Hook

    client: S3Client = S3Hook(aws_conn_id=conn_id).get_conn()
    return client


def lake_root() -> LakeRoot:
    from airflow.sdk import Variable

    return LakeRoot.parse(Variable.get(LAKE_URI_VARIABLE))


def connect_lake() -> Lake:
    """The lake under the configured root, through the `aws_default` connection (in a task);
    its two lookups timed as task phases (`task_phases`: nothing unless turned on)."""
    with phase("s3 client"):
        client = s3_client()
    with phase("lake variable"):
        root = lake_root()
    return Lake(client, root)


def client_for_connection(connection: Mapping[str, Any]) -> S3Client:
    """An S3 client for an `aws` connection given as Airflow's JSON form (`login`, `password`,
    `extra.endpoint_url`, `extra.region_name`), for local tooling that runs without Airflow."""
    import boto3

    extra = connection.get("extra") or {}
    endpoint = str(extra.get("endpoint_url", "")) or None
    client: S3Client = boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name=str(extra.get("region_name", "us-east-1")),
        aws_access_key_id=str(connection.get("login")),
        aws_secret_access_key=str(connection.get("password")),
    )
    return client


def ensure_bucket(client: S3Client, bucket: str) -> None:
    """Create the bucket unless it exists (a local S3 server starts empty)."""
    if bucket not in {b["Name"] for b in client.list_buckets().get("Buckets", [])}:
        client.create_bucket(Bucket=bucket)
