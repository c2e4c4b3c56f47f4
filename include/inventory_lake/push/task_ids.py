"""Task ids inside the push DAG's per-file task group, shared by the DAG file and task bodies."""

from __future__ import annotations

GROUP = "each_file"
PREPARE_TASK = f"{GROUP}.prepare"
APPROVE_TASK = f"{GROUP}.approve"
