"""`make upload-sample [FILE=…] [SHOP=<id>]` puts a file only where the push takes it for a
shop (what `discover_approved`, the push's own listing, finds), and otherwise uploads nothing
and says where the file belongs."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from devtools.devstack.processes import free_port
from devtools.devstack.stack import StackPaths
from devtools.upload import SAMPLE, MisplacedUpload, stack_shops, upload
from include.inventory_lake.lake.location import LakeRoot
from include.inventory_lake.push.discovery import discover_approved
from include.inventory_lake.push.layout import PushLake
from include.inventory_lake.shops import DEFAULT_SHOP, Shop
from tests.servers import AirflowApi, S3Server

SAIGON = Shop("saigon", "haravan_saigon")
TWO_SHOPS = [DEFAULT_SHOP, SAIGON]
SHOPS_JSON = json.dumps([s.as_xcom() for s in TWO_SHOPS])


@pytest.fixture()
def lake(s3_server: S3Server, airflow_connections: dict[str, str]) -> tuple[dict[str, str], str]:
    """The aws_default connection and lake URI `.env` gives `make upload-sample`."""
    s3_server.empty_bucket()
    aws = json.loads(airflow_connections["AIRFLOW_CONN_AWS_DEFAULT"])
    return aws, airflow_connections["AIRFLOW_VAR_INVENTORY_LAKE_URI"]


def pushed_for(s3_server: S3Server, lake_uri: str, shops: list[Shop]) -> dict[str, str | None]:
    """Each approved file the push finds: the shop it sends it to, None when it rejects it."""
    staged = discover_approved(PushLake(s3_server.client(), LakeRoot.parse(lake_uri)), shops)
    return {f.key: f.shop.id if f.shop else None for f in staged}


@pytest.mark.parametrize(
    ("shops", "shop_id", "key"),
    [
        ([DEFAULT_SHOP], None, "approved/set_adjustments_sample.csv"),
        (TWO_SHOPS, "saigon", "approved/shop=saigon/set_adjustments_sample.csv"),
        (TWO_SHOPS, "default", "approved/shop=default/set_adjustments_sample.csv"),
    ],
)
def test_the_file_lands_where_the_push_sends_it_to_its_shop(
    lake: tuple[dict[str, str], str],
    s3_server: S3Server,
    shops: list[Shop],
    shop_id: str | None,
    key: str,
) -> None:
    aws, lake_uri = lake
    done = upload(SAMPLE, aws, lake_uri, shops, shop_id)
    expected_key = f"staging/set_adjustments/{key}"
    assert done.uri == f"s3://inventory-lake/{expected_key}"
    assert pushed_for(s3_server, lake_uri, shops) == {expected_key: done.shop.id}
    assert done.shop.id == (shop_id or "default")


@pytest.mark.parametrize(
    ("shop_id", "said"),
    [
        (None, "2 shops are configured, so a file directly in approved/ has no shop"),
        ("danang", "shop 'danang' is not configured"),
    ],
)
def test_a_file_the_push_would_reject_is_not_uploaded_and_the_error_says_where_it_belongs(
    lake: tuple[dict[str, str], str], s3_server: S3Server, shop_id: str | None, said: str
) -> None:
    aws, lake_uri = lake
    with pytest.raises(MisplacedUpload) as refused:
        upload(SAMPLE, aws, lake_uri, TWO_SHOPS, shop_id)
    message = str(refused.value)
    assert message.startswith("not uploaded: ") and said in message, message
    assert "configured: default, saigon" in message and "SHOP=<id>" in message, message
    assert s3_server.keys() == []


def test_the_shops_come_from_env_before_airflow(tmp_path: Path) -> None:
    closed = {"AIRFLOW__API__PORT": str(free_port())}  # no Airflow answers there
    paths = StackPaths(Path.cwd(), local_dir=tmp_path)
    shops, source = stack_shops({**closed, "AIRFLOW_VAR_INVENTORY_LAKE_SHOPS": SHOPS_JSON}, paths)
    assert (shops, source) == (TWO_SHOPS, "AIRFLOW_VAR_INVENTORY_LAKE_SHOPS in .env")
    shops, source = stack_shops(closed, paths)
    assert shops == [DEFAULT_SHOP] and "Airflow not running" in source


@pytest.mark.timeout(900)  # starting airflow standalone is part of the setup when run alone
def test_the_shops_set_in_airflow_admin_variables_are_the_ones_the_upload_checks(
    airflow_standalone: AirflowApi, tmp_path: Path
) -> None:
    """A Variable set in Admin → Variables (the REST API behind it), read as `make
    upload-sample` reads it: the stack's port and admin password."""
    api = airflow_standalone
    paths = StackPaths(Path.cwd(), local_dir=tmp_path)
    paths.airflow_home.mkdir(parents=True)
    assert api.passwords_file is not None
    shutil.copyfile(api.passwords_file, paths.passwords_file)
    env = {"AIRFLOW__API__PORT": str(urlsplit(api.url).port)}
    assert stack_shops(env, paths)[0] == [DEFAULT_SHOP]
    api.call("POST", "variables", {"key": "inventory_lake_shops", "value": SHOPS_JSON})
    try:
        shops, source = stack_shops(env, paths)
        assert shops == TWO_SHOPS and source == f"the Variable in Airflow at {api.url}"
    finally:
        api.request("DELETE", "variables/inventory_lake_shops")
