"""Reach the lake through Airflow's `aws_default` connection: the same code for AWS, MinIO or
a local S3 server (its extra `endpoint_url`). Called inside tasks only."""

from __future__ import annotations

from typing import Any

from include.inventory_lake.lake.location import LakeRoot
from include.inventory_lake.settings import AWS_CONN_ID, LAKE_URI_VARIABLE


def s3_client(conn_id: str = AWS_CONN_ID) -> Any:
    from airflow.providers.amazon.aws.hooks.s3 import S3Hook

    return S3Hook(aws_conn_id=conn_id).get_conn()


def lake_root() -> LakeRoot:
    from airflow.sdk import Variable

    return LakeRoot.parse(Variable.get(LAKE_URI_VARIABLE))
