"""HaravanHook and StockyHook: registered as Airflow registers a provider's hooks, and building
the clients from connections of their own types or of the older `http` type."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from include.inventory_lake import provider_info
from include.inventory_lake.hooks import HaravanHook, StockyHook, haravan_client, stocky_client
from include.inventory_lake.http.errors import ConnectionConfigError
from tests.servers import Emulator


def set_connection(monkeypatch: pytest.MonkeyPatch, conn_id: str, **fields: Any) -> None:
    monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps(fields))


def test_the_provider_info_is_valid_for_airflow_and_registers_both_hooks() -> None:
    import airflow
    from airflow.providers_manager import ProvidersManager

    schema = json.loads((Path(airflow.__file__).parent / "provider_info.schema.json").read_text())
    info = provider_info.get_provider_info()
    jsonschema.validate(info, schema)
    manager = ProvidersManager()
    assert "inventory-lake" in manager.providers, "make test builds the package metadata"
    for conn_type, hook in (("haravan", HaravanHook), ("stocky", StockyHook)):
        registered = manager.hooks[conn_type]
        assert registered is not None
        assert registered.hook_class_name == f"{hook.__module__}.{hook.__name__}"
        assert registered.connection_id_attribute_name == hook.conn_name_attr
        assert registered.hook_name == hook.hook_name and hook.conn_type == conn_type


def test_the_hooks_describe_the_same_form_as_the_provider_info() -> None:
    assert HaravanHook.get_ui_field_behaviour() == {
        "hidden_fields": ["schema", "port", "login"],
        "relabeling": {"host": "Base URL", "password": "Access token"},
        "placeholders": provider_info.UI_FIELD_BEHAVIOUR["haravan"]["placeholders"],
    }
    assert StockyHook.get_ui_field_behaviour()["relabeling"]["login"] == "Store name"
    assert HaravanHook.default_conn_name == "haravan_default"
    assert StockyHook.default_conn_name == "stocky_default"


@pytest.mark.parametrize("conn_type", ["haravan", "http"])
def test_a_haravan_connection_of_either_type_builds_the_client(
    monkeypatch: pytest.MonkeyPatch, fresh_emulator: Emulator, conn_type: str
) -> None:
    """As the form saves it: an empty extra field is stored as null and means the default."""
    extra = {"page_size": None, "bucket_size": 40, "leak_rate": None, "max_retry_after_s": None}
    set_connection(
        monkeypatch,
        "haravan_typed",
        conn_type=conn_type,
        host=fresh_emulator.url,
        password=fresh_emulator.haravan_token,
        extra=extra,
    )
    with HaravanHook("haravan_typed").get_conn() as client:
        assert client.page_size == 250
        assert client.count() >= 0
    with haravan_client("haravan_typed") as client:
        assert client.count() >= 0


@pytest.mark.parametrize("conn_type", ["stocky", "http"])
def test_a_stocky_connection_of_either_type_builds_the_client(
    monkeypatch: pytest.MonkeyPatch, fresh_emulator: Emulator, conn_type: str
) -> None:
    set_connection(
        monkeypatch,
        "stocky_typed",
        conn_type=conn_type,
        host=fresh_emulator.url,
        login=fresh_emulator.stocky_store,
        password=fresh_emulator.stocky_key,
        extra={"page_size": 5},
    )
    with StockyHook(stocky_conn_id="stocky_typed").get_conn() as client:
        assert client.page_size == 5
    with stocky_client("stocky_typed") as client:
        assert client.page_size == 5


def test_the_hook_keeps_the_secret_checks(monkeypatch: pytest.MonkeyPatch) -> None:
    set_connection(
        monkeypatch, "haravan_bad", conn_type="haravan", host="http://api.test", password="a\nb"
    )
    with pytest.raises(ConnectionConfigError, match=r"'haravan_bad': password \(the Haravan"):
        HaravanHook("haravan_bad").get_conn()
