"""The page reads the shops with the tasks' own `configured_shops()`; in the API server that
reaches the metadata DB, and a configuration it cannot use is named instead of failing."""

from __future__ import annotations

import json

import pytest

from include.inventory_lake.shops import DEFAULT_SHOP, Shop
from include.inventory_lake.ui import shop_config
from include.inventory_lake.ui.shop_config import ShopConfig, read_shop_config

VARIABLE_ENV = "AIRFLOW_VAR_INVENTORY_LAKE_SHOPS"


def test_the_configured_shops_or_the_default_shop(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(VARIABLE_ENV, raising=False)
    assert read_shop_config() == ShopConfig([DEFAULT_SHOP])
    shops = [{"id": "hanoi", "haravan_conn_id": "haravan_hanoi"}, {"id": "saigon",
             "haravan_conn_id": "haravan_saigon", "stocky_conn_id": "stocky_saigon"}]  # fmt: skip
    monkeypatch.setenv(VARIABLE_ENV, json.dumps(shops))
    assert read_shop_config() == ShopConfig(
        [Shop("hanoi", "haravan_hanoi"), Shop("saigon", "haravan_saigon", "stocky_saigon")]
    )


def test_a_configuration_that_cannot_be_used_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(VARIABLE_ENV, json.dumps([{"id": "Bad Shop", "haravan_conn_id": "h"}]))
    config = read_shop_config()
    assert config.shops is None
    assert config.problem and "shop id 'Bad Shop' must be 1-40 lowercase letters" in config.problem


def test_any_other_error_is_named_by_its_type_only(monkeypatch: pytest.MonkeyPatch) -> None:
    def unreachable() -> list[Shop]:
        raise ConnectionError("postgresql://user:secret@db/airflow is down")

    monkeypatch.setattr(shop_config, "configured_shops", unreachable)
    config = read_shop_config()
    assert config.shops is None and config.problem is not None
    assert "ConnectionError" in config.problem and "secret" not in config.problem


def test_in_the_api_server_variables_come_from_the_metadata_db(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The API server marks its process `_AIRFLOW_PROCESS_CONTEXT=server`
    (airflow/api_fastapi/main.py); then `airflow.sdk.Variable.get`, which `configured_shops()`
    and `lake_root()` use, reads the server's secrets chain, the metadata DB included, as in
    Airflow 3.3.2. Elsewhere outside a task it would see environment variables only."""
    from airflow.sdk.execution_time.supervisor import ensure_secrets_backend_loaded

    monkeypatch.setenv("_AIRFLOW_PROCESS_CONTEXT", "server")
    names = [type(backend).__name__ for backend in ensure_secrets_backend_loaded()]
    assert "MetastoreBackend" in names and "EnvironmentVariablesBackend" in names
