"""`make upload-sample [FILE=...] [SHOP=<id>]`: put a set-adjustment file into the lake's
`approved/` folder (`approved/shop=<id>/` with a shop).

Operations staff upload to S3 with their own tools (the AWS console, `aws s3 cp`, a mounted
bucket); the "Inventory lake" page only reads the lake. On the local stack of `make run` this
does the same with the `aws_default` connection and the `inventory_lake_uri` variable from
`.env`. By default it uploads the shipped sample
(`include/inventory_lake/push/samples/set_adjustments_sample.csv`), whose changes on the
emulator's demo stock are large enough that the push asks for approval.

A file is only uploaded where the push will take it for a shop (`push.discovery.shop_of_place`,
against the shops the stack's push sees); anywhere else the push would reject it, so this
refuses instead, saying where it belongs.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

from devtools.airflow_rest import AirflowRest
from devtools.devstack.processes import project_root
from devtools.devstack.stack import AIRFLOW_USER, StackPaths, airflow_port, load_env
from include.inventory_lake.lake.connection import client_for_connection
from include.inventory_lake.lake.location import LakeRoot, shop_folder
from include.inventory_lake.push.discovery import shop_of_place
from include.inventory_lake.push.layout import PushLayout
from include.inventory_lake.settings import SHOPS_VARIABLE
from include.inventory_lake.shops import DEFAULT_SHOP, Shop, check_shop_id, parse_shops

SAMPLE = project_root() / "include/inventory_lake/push/samples/set_adjustments_sample.csv"
PUSH_DAG = "haravan_set_adjustments_push"
SHOPS_ENV = f"AIRFLOW_VAR_{SHOPS_VARIABLE.upper()}"


class MisplacedUpload(SystemExit):
    """The push would reject a file uploaded there; nothing was uploaded."""


@dataclass(frozen=True)
class Uploaded:
    uri: str
    shop: Shop


def upload(
    file: Path,
    aws_connection: Mapping[str, Any],
    lake_uri: str,
    shops: Sequence[Shop] = (DEFAULT_SHOP,),
    shop_id: str | None = None,
) -> Uploaded:
    """Put `file` in `<lake>/staging/set_adjustments/approved/` (or its `shop=<shop_id>/`
    folder), as long as the push takes it from there for one of `shops`."""
    if shop_id is not None:
        check_shop_id(shop_id, "SHOP")
    shop, problem = shop_of_place(shop_id, shops)
    if shop is None:
        raise MisplacedUpload(f"not uploaded: {problem}; with make upload-sample, give SHOP=<id>")
    root = LakeRoot.parse(lake_uri)
    folder = "" if shop_id is None else shop_folder(shop_id) + "/"
    key = PushLayout(root).approved_prefix + folder + file.name
    client_for_connection(aws_connection).put_object(
        Bucket=root.bucket, Key=key, Body=file.read_bytes()
    )
    return Uploaded(f"s3://{root.bucket}/{key}", shop)


def shops_in_airflow(api: AirflowRest) -> list[Shop]:
    """The shops of the Variable as Airflow stores it (Admin → Variables); unset: `default`."""
    response = api.request("GET", f"variables/{SHOPS_VARIABLE}")
    if response.status_code == 404:
        return [DEFAULT_SHOP]
    response.raise_for_status()
    return parse_shops(str(response.json()["value"]))


def stack_shops(env: dict[str, str], paths: StackPaths) -> tuple[list[Shop], str]:
    """The shops the local stack's push sees, and where they were read. Airflow reads a
    Variable from the environment (`.env`) before its own database."""
    if SHOPS_ENV in env:
        return parse_shops(env[SHOPS_ENV]), f"{SHOPS_ENV} in .env"
    url = f"http://127.0.0.1:{airflow_port(env)}"
    try:
        password = json.loads(paths.passwords_file.read_text())[AIRFLOW_USER]
        return shops_in_airflow(AirflowRest(url, password)), f"the Variable in Airflow at {url}"
    except (OSError, requests.ConnectionError):
        return [DEFAULT_SHOP], f"no {SHOPS_ENV} in .env and Airflow not running (make run)"


def main() -> None:
    parser = argparse.ArgumentParser(prog="devtools.upload", description=__doc__)
    parser.add_argument("file", nargs="?", type=Path, default=SAMPLE)
    parser.add_argument("--shop", help="the shop the file is for (approved/shop=<id>/)")
    arguments = parser.parse_args()
    paths = StackPaths(project_root())
    env = load_env(paths)
    shops, source = stack_shops(env, paths)
    print(f"shops: {', '.join(shop.id for shop in shops)} ({source})")
    aws = json.loads(env["AIRFLOW_CONN_AWS_DEFAULT"])
    done = upload(arguments.file, aws, env["AIRFLOW_VAR_INVENTORY_LAKE_URI"], shops, arguments.shop)
    print(f"uploaded {arguments.file} to {done.uri}, for shop {done.shop.id}")
    print(
        f"{PUSH_DAG} takes it at its next run (every 10 minutes while unpaused); "
        "to go on now, trigger it."
    )


if __name__ == "__main__":
    main()
