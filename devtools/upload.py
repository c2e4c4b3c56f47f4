"""`make upload-sample [FILE=...]`: put a set-adjustment file into the lake's `approved/` folder.

Operations staff upload to S3 with their own tools (the AWS console, `aws s3 cp`, a mounted
bucket); the "Inventory lake" page only reads the lake. On the local stack of `make run` this
does the same with the `aws_default` connection and the `inventory_lake_uri` variable from
`.env`. By default it uploads the shipped sample
(`include/inventory_lake/push/samples/set_adjustments_sample.csv`), whose changes on the
emulator's demo stock are large enough that the push asks for approval.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from devtools.devstack.processes import project_root
from devtools.devstack.stack import StackPaths, load_env
from include.inventory_lake.lake.connection import client_for_connection
from include.inventory_lake.lake.location import LakeRoot
from include.inventory_lake.push.layout import PushLayout

SAMPLE = project_root() / "include/inventory_lake/push/samples/set_adjustments_sample.csv"


def upload(file: Path, aws_connection: Mapping[str, Any], lake_uri: str) -> str:
    """Put `file` directly in `<lake>/staging/set_adjustments/approved/`; returns its URI."""
    root = LakeRoot.parse(lake_uri)
    key = PushLayout(root).approved_prefix + file.name
    client_for_connection(aws_connection).put_object(
        Bucket=root.bucket, Key=key, Body=file.read_bytes()
    )
    return f"s3://{root.bucket}/{key}"


def main() -> None:
    parser = argparse.ArgumentParser(prog="devtools.upload", description=__doc__)
    parser.add_argument("file", nargs="?", type=Path, default=SAMPLE)
    file: Path = parser.parse_args().file
    env = load_env(StackPaths(project_root()))
    aws = json.loads(env["AIRFLOW_CONN_AWS_DEFAULT"])
    uri = upload(file, aws, env["AIRFLOW_VAR_INVENTORY_LAKE_URI"])
    print(f"uploaded {file} to {uri}")
    print("The push DAG picks it up within 10 minutes (or trigger haravan_set_adjustments_push).")


if __name__ == "__main__":
    main()
