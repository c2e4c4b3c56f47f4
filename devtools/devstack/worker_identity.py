"""The host name Airflow records for a task instance, for several workers on one machine.

Airflow reads it through `[core] hostname_callable`. On separate machines the default (the
FQDN) already tells workers apart; the loopback stack runs two Celery workers on one machine
and gives each its own name in `INVENTORY_LAKE_WORKER_HOSTNAME`.
"""

from __future__ import annotations

import os
import socket

HOSTNAME_VARIABLE = "INVENTORY_LAKE_WORKER_HOSTNAME"
CALLABLE = f"{__name__}.hostname"


def hostname() -> str:
    return os.environ.get(HOSTNAME_VARIABLE) or socket.getfqdn()
