"""Load the plugins folder the way Airflow does, in a fresh interpreter, and print what a test
needs as JSON: the plugins, import errors, and which modules importing this project's plugin
files imported (measured before Airflow loads any other plugin: an installed provider's own
plugin, e.g. OpenLineage's, imports what it needs, and that is not this project's cost)."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

from airflow import plugins_manager
from airflow.configuration import conf

before = set(sys.modules)
for path in sorted(Path(conf.get("core", "plugins_folder")).glob("*.py")):
    spec = importlib.util.spec_from_file_location(f"plugin_cost_{path.stem}", path)
    assert spec is not None and spec.loader is not None
    spec.loader.exec_module(importlib.util.module_from_spec(spec))
imported = sorted(set(sys.modules) - before)

info = plugins_manager.get_plugin_info()
apps, _ = plugins_manager.get_fastapi_plugins()
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
