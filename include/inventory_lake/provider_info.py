"""The project as an Airflow provider: the `haravan` and `stocky` connection types.

`pyproject.toml` points the `apache_airflow_provider` entry point at `get_provider_info()`.
Airflow loads it in every process that discovers providers, so this module is plain data and
imports nothing. Airflow 3.2+ builds the connection form (Admin -> Connections -> +) from the
declarative `conn-fields` and `ui-field-behaviour` returned here, without importing the hooks;
the hooks (`include.inventory_lake.hooks`) derive their legacy form methods from the same data.
"""

from __future__ import annotations

from typing import Any

PACKAGE_NAME = "inventory-lake"
VERSION = "0.1.0"

HARAVAN_CONN_TYPE = "haravan"
STOCKY_CONN_TYPE = "stocky"

# Defaults of the clients (sources/haravan.py, sources/stocky.py, http/retry.py): the form
# shows them, and a field left empty means the same.
DEFAULT_PAGE_SIZE = 250
DEFAULT_BUCKET_SIZE = 80
DEFAULT_LEAK_RATE = 4.0
DEFAULT_MAX_RETRY_AFTER_S = 120.0


def _field(
    label: str, kind: str, default: float, description: str, minimum: float = 0
) -> dict[str, Any]:
    return {
        "label": label,
        "description": description,
        "schema": {"type": [kind, "null"], "minimum": minimum, "default": default},
    }


PAGE_SIZE = _field("Page size", "integer", DEFAULT_PAGE_SIZE, "Records per list request.", 1)
MAX_RETRY_AFTER_S = _field(
    "Max Retry-After wait (s)",
    "number",
    DEFAULT_MAX_RETRY_AFTER_S,
    "Longest Retry-After (seconds) a 429 or 5xx may make the task wait; a longer one fails "
    "the call at once instead of holding a worker.",
)

# Extra fields, by the key they are stored under in the connection's extra.
CONN_FIELDS: dict[str, dict[str, dict[str, Any]]] = {
    HARAVAN_CONN_TYPE: {
        "page_size": PAGE_SIZE,
        "bucket_size": _field(
            "Bucket size",
            "integer",
            DEFAULT_BUCKET_SIZE,
            "Size of the shop's leaky bucket (API calls), as X-Haravan-Api-Call-Limit says.",
            minimum=1,
        ),
        "leak_rate": _field(
            "Leak rate (calls/s)",
            "number",
            DEFAULT_LEAK_RATE,
            "Calls per second the shop's bucket drains.",
        ),
        "max_retry_after_s": MAX_RETRY_AFTER_S,
    },
    STOCKY_CONN_TYPE: {
        "page_size": PAGE_SIZE,
        "max_retry_after_s": MAX_RETRY_AFTER_S,
    },
}

UI_FIELD_BEHAVIOUR: dict[str, dict[str, Any]] = {
    HARAVAN_CONN_TYPE: {
        "hidden-fields": ["schema", "port", "login"],
        "relabeling": {"host": "Base URL", "password": "Access token"},
        "placeholders": {
            "host": "https://apis.haravan.com",
            "password": "private app or OAuth access token (sent as Bearer)",
        },
    },
    STOCKY_CONN_TYPE: {
        "hidden-fields": ["schema", "port"],
        "relabeling": {"host": "Base URL", "login": "Store name", "password": "API key"},
        "placeholders": {
            "host": "https://stocky.shopifyapps.com",
            "login": "your-shop.myshopify.com",
            "password": "Stocky API key",
        },
    },
}

HOOKS = {
    HARAVAN_CONN_TYPE: ("include.inventory_lake.hooks.HaravanHook", "Haravan"),
    STOCKY_CONN_TYPE: ("include.inventory_lake.hooks.StockyHook", "Stocky"),
}


def get_provider_info() -> dict[str, Any]:
    """What Airflow's providers manager reads from the `apache_airflow_provider` entry point."""
    return {
        "package-name": PACKAGE_NAME,
        "name": "Inventory Lake",
        "description": "Haravan and Stocky connection types for the inventory-lake pipelines.",
        "versions": [VERSION],
        "connection-types": [
            {
                "hook-class-name": hook_class_name,
                "hook-name": hook_name,
                "connection-type": conn_type,
                "ui-field-behaviour": UI_FIELD_BEHAVIOUR[conn_type],
                "conn-fields": CONN_FIELDS[conn_type],
            }
            for conn_type, (hook_class_name, hook_name) in HOOKS.items()
        ],
    }
