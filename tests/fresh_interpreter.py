"""Run a report script in a fresh interpreter where nothing can look up a connection or a
variable (no AIRFLOW_CONN_* / AIRFLOW_VAR_* in its environment, and a secrets backend that
refuses every lookup), and read the JSON object it prints last."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

FORBIDDEN_SECRETS = "tests.dags.forbidden_secrets.ForbiddenSecretsBackend"


def json_report(script: Path, *args: str, **env: str) -> dict[str, Any]:
    """`script`'s last line of output, parsed; `env` adds to the stripped environment."""
    clean = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("AIRFLOW_CONN_", "AIRFLOW_VAR_"))
    }
    result = subprocess.run(
        [sys.executable, str(script), *args],
        env={**clean, "AIRFLOW__SECRETS__BACKEND": FORBIDDEN_SECRETS, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    report: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    return report
