"""The shops configuration as the page reads it: the same `configured_shops()` the tasks use.

The page runs in Airflow's API server, not in a task. `airflow.sdk.Variable.get` works there
too: the API server marks its process as a server (`_AIRFLOW_PROCESS_CONTEXT=server`), so the
Task SDK reads Variables from the server's secrets chain (environment variables, any configured
secrets backend, then the metadata DB) instead of through a task's supervisor. That is how the
page already reads `inventory_lake_uri` (`lake.connection.lake_root`).

A configuration the page cannot use never takes the page down: it shows the shops found in
the lake, and says why the configuration was not used.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

from include.inventory_lake.settings import SHOPS_VARIABLE
from include.inventory_lake.shops import Shop, ShopConfigError, configured_shops

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ShopConfig:
    """The configured shops, or None with the reason when they cannot be read."""

    shops: Sequence[Shop] | None
    problem: str | None = None


def read_shop_config() -> ShopConfig:
    try:
        return ShopConfig(configured_shops())
    except ShopConfigError as error:
        # The message names the entry and the rule it breaks; it holds no connection secret.
        log.warning("the Inventory lake page cannot use the shops configuration: %s", error)
        return ShopConfig(None, str(error))
    except Exception as error:
        log.exception("the Inventory lake page could not read the Variable %r", SHOPS_VARIABLE)
        return ShopConfig(
            None,
            f"the Variable {SHOPS_VARIABLE!r} could not be read ({type(error).__name__}; "
            "the API server log has the details)",
        )
