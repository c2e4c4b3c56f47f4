"""Reach the lake through Airflow's `aws_default` connection: the same code for AWS, MinIO or
a local S3 server (its extra `endpoint_url`). Called inside tasks only."""

from __future__ import annotations

from typing import TYPE_CHECKING

from include.inventory_lake.lake.location import LakeRoot
from include.inventory_lake.settings import AWS_CONN_ID, LAKE_URI_VARIABLE

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client


def s3_client(conn_id: str = AWS_CONN_ID) -> S3Client:
    from airflow.providers.amazon.aws.hooks.s3 import S3Hook

    client: S3Client = S3Hook(aws_conn_id=conn_id).get_conn()
    return client


def lake_root() -> LakeRoot:
    from airflow.sdk import Variable

    return LakeRoot.parse(Variable.get(LAKE_URI_VARIABLE))
