"""Load the plugins folder the way Airflow does, in a fresh interpreter, and print what a test
needs as JSON: the plugins, import errors, and which modules loading them imported."""

from __future__ import annotations

import json
import sys

from airflow import plugins_manager

before = set(sys.modules)
info = plugins_manager.get_plugin_info()
apps, _ = plugins_manager.get_fastapi_plugins()
imported = sorted(set(sys.modules) - before)
print(
    json.dumps(
        {
            "plugins": info,
            "apps": [{"url_prefix": app["url_prefix"], "name": app["name"]} for app in apps],
            "errors": plugins_manager.get_import_errors(),
            "imported": imported,
        },
        default=str,
    )
)
