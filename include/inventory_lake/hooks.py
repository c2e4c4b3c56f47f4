"""Airflow hooks for the `haravan` and `stocky` connection types.

A hook reads its connection and builds the project's API client (`get_conn()`), with the
checks of `connection_fields.py`: secrets stripped, a line break or control character
refused with a ConnectionConfigError naming the connection and field, never the value; the
extras page size, bucket size, leak rate and `max_retry_after_s`. Connections of the older
`http` type are read the same way.

Registered through `provider_info.get_provider_info()`, whose declarative fields are what
Airflow 3.2+ shows in the connection form; `get_connection_form_widgets()` and
`get_ui_field_behaviour()` return the same fields for Airflows that still ask the hook.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from airflow.sdk.bases.hook import BaseHook

from include.inventory_lake import provider_info
from include.inventory_lake.connection_fields import base_url, header_field, retry_policy
from include.inventory_lake.settings import HARAVAN_CONN_ID, STOCKY_CONN_ID

if TYPE_CHECKING:
    from airflow.sdk import Connection

    from include.inventory_lake.sources.haravan import HaravanClient
    from include.inventory_lake.sources.stocky import StockyClient


class _ApiHook(BaseHook):
    conn_type: ClassVar[str]
    # Extras handed to the client as keyword arguments, when set.
    client_extras: ClassVar[tuple[str, ...]]

    def __init__(self, conn_id: str) -> None:
        super().__init__()
        self.conn_id = conn_id

    def client_options(self, conn: Connection) -> dict[str, Any]:
        """The client's keyword arguments from the connection's extra: the tuning extras
        that are set (an empty form field, stored as null, means the client's default) and
        the retry policy from `max_retry_after_s`."""
        extra = {key: value for key, value in conn.extra_dejson.items() if value is not None}
        options = {key: extra[key] for key in self.client_extras if key in extra}
        options["retry_policy"] = retry_policy(self.conn_id, extra)
        return options

    @classmethod
    def get_connection_form_widgets(cls) -> dict[str, Any]:
        """The extra fields as WTForms fields (imported here: only a Flask UI has them)."""
        from flask_appbuilder.fieldwidgets import BS3TextFieldWidget
        from flask_babel import lazy_gettext
        from wtforms import IntegerField, StringField
        from wtforms.validators import NumberRange, Optional

        widgets: dict[str, Any] = {}
        for name, field in provider_info.CONN_FIELDS[cls.conn_type].items():
            schema = field["schema"]
            field_class = IntegerField if "integer" in schema["type"] else StringField
            widgets[name] = field_class(
                lazy_gettext(field["label"]),
                description=field["description"],
                default=schema["default"],
                validators=[Optional(), NumberRange(min=schema["minimum"])]
                if field_class is IntegerField
                else [Optional()],
                widget=BS3TextFieldWidget(),
            )
        return widgets

    @classmethod
    def get_ui_field_behaviour(cls) -> dict[str, Any]:
        behaviour = provider_info.UI_FIELD_BEHAVIOUR[cls.conn_type]
        return {
            "hidden_fields": list(behaviour["hidden-fields"]),
            "relabeling": dict(behaviour["relabeling"]),
            "placeholders": dict(behaviour["placeholders"]),
        }


def _store(conn: Connection, conn_id: str, *fields: tuple[str, str | None]) -> tuple[str, ...]:
    """The API's origin and the credential fields that name a store, compared by value."""
    from urllib.parse import urlsplit

    from include.inventory_lake.http.urls import origin

    url = base_url(conn)
    where = (origin(url).lower(), urlsplit(url).path.rstrip("/"))
    return (*where, *(header_field(conn_id, name, value) for name, value in fields))


class HaravanHook(_ApiHook):
    """Haravan's admin API: host = base URL, password = access token (sent as Bearer)."""

    conn_name_attr = "haravan_conn_id"
    default_conn_name = HARAVAN_CONN_ID
    conn_type = provider_info.HARAVAN_CONN_TYPE
    hook_name = "Haravan"
    client_extras = ("page_size", "bucket_size", "leak_rate")

    def __init__(self, haravan_conn_id: str = default_conn_name) -> None:
        super().__init__(haravan_conn_id)
        self.haravan_conn_id = haravan_conn_id

    def store(self) -> tuple[str, ...]:
        """Which Haravan store the connection reaches: its base URL and access token."""
        conn = self.get_connection(self.conn_id)
        return _store(conn, self.conn_id, ("password (the Haravan access token)", conn.password))

    def get_conn(self) -> HaravanClient:
        """A new HaravanClient for the connection (close it, or use it in a `with`)."""
        from include.inventory_lake.sources.haravan import HaravanClient

        conn = self.get_connection(self.conn_id)
        token = header_field(self.conn_id, "password (the Haravan access token)", conn.password)
        return HaravanClient(
            base_url=base_url(conn),
            token=token,
            connection_id=self.conn_id,
            **self.client_options(conn),
        )


class StockyHook(_ApiHook):
    """Stocky's API: host = base URL, login = store name, password = API key."""

    conn_name_attr = "stocky_conn_id"
    default_conn_name = STOCKY_CONN_ID
    conn_type = provider_info.STOCKY_CONN_TYPE
    hook_name = "Stocky"
    client_extras = ("page_size",)

    def __init__(self, stocky_conn_id: str = default_conn_name) -> None:
        super().__init__(stocky_conn_id)
        self.stocky_conn_id = stocky_conn_id

    def store(self) -> tuple[str, ...]:
        """Which Stocky store the connection reaches: its base URL and store name."""
        conn = self.get_connection(self.conn_id)
        return _store(conn, self.conn_id, ("login (the Stocky store name)", conn.login))

    def get_conn(self) -> StockyClient:
        """A new StockyClient for the connection (close it, or use it in a `with`)."""
        from include.inventory_lake.sources.stocky import StockyClient

        conn = self.get_connection(self.conn_id)
        store_name = header_field(self.conn_id, "login (the Stocky store name)", conn.login)
        api_key = header_field(self.conn_id, "password (the Stocky API key)", conn.password)
        return StockyClient(
            base_url=base_url(conn),
            store_name=store_name,
            api_key=api_key,
            connection_id=self.conn_id,
            **self.client_options(conn),
        )


def haravan_client(conn_id: str = HARAVAN_CONN_ID) -> HaravanClient:
    """A HaravanClient for the connection (type `haravan`, or `http` as before), through
    HaravanHook. Called inside tasks only."""
    return HaravanHook(conn_id).get_conn()


def stocky_client(conn_id: str = STOCKY_CONN_ID) -> StockyClient:
    """A StockyClient for the connection (type `stocky`, or `http` as before), through
    StockyHook. Called inside tasks only."""
    return StockyHook(conn_id).get_conn()
