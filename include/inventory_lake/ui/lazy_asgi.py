"""An ASGI app that is built on its first request.

Airflow imports every plugin in every component (scheduler, workers, DAG processor), but only
the API server serves the plugin's app; building it there on first use keeps FastAPI, Airflow's
security module, pyarrow and boto3 out of the other components' imports.
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Awaitable, Callable
from typing import Any

Asgi = Callable[[Any, Any, Any], Awaitable[None]]


class LazyAsgiApp:
    def __init__(self, factory: str) -> None:
        """`factory` is "package.module:function", a function returning the ASGI app."""
        self.factory = factory
        self._app: Asgi | None = None
        self._lock = threading.Lock()

    def _build(self) -> Asgi:
        with self._lock:
            if self._app is None:
                module_name, _, function = self.factory.partition(":")
                self._app = getattr(importlib.import_module(module_name), function)()
            return self._app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        app = self._app or self._build()
        await app(scope, receive, send)
