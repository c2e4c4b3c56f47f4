"""Airflow UI page "Inventory lake": the lake's partitions per shop and dataset (gaps stand
out), a shop's daily adjustment lines per source and location, and the set-adjustment pushes.

The page is a FastAPI app served by Airflow's API server under `/inventory-lake/` and shown in
the UI's navigation (Browse → Inventory lake). It needs Airflow's login and reads only the lake.
The app is built on its first request (`LazyAsgiApp`), so importing this plugin stays cheap in
every Airflow component. Code: `include/inventory_lake/ui/`.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from airflow.configuration import conf
from airflow.plugins_manager import AirflowPlugin

from include.inventory_lake.ui.lazy_asgi import LazyAsgiApp

URL_PREFIX = "/inventory-lake"
BASE_PATH = urlsplit(conf.get("api", "base_url", fallback="") or "/").path.rstrip("/")


class InventoryLakeUiPlugin(AirflowPlugin):
    name = "inventory_lake_ui"
    fastapi_apps = [  # noqa: RUF012 (Airflow reads these class attributes)
        {
            "app": LazyAsgiApp("include.inventory_lake.ui.app:create_app"),
            "url_prefix": URL_PREFIX,
            "name": "Inventory lake",
        }
    ]
    external_views = [  # noqa: RUF012
        {
            "name": "Inventory lake",
            "href": f"{BASE_PATH}{URL_PREFIX}/",
            "url_route": "inventory-lake",
            "destination": "nav",
            "category": "browse",
        }
    ]
