"""The lake migrations (include/inventory_lake/migrations/) on the local stack, reaching the
lake as the stack's tasks do: `.env`'s `aws_default` connection and `inventory_lake_uri`
variable, and for the Iceberg table its `iceberg_default` connection (`.env`'s, else the
stack's local catalog, as `make run` gives it to Airflow):

- `make migrate-lake-to-shops [SHOP=default] [DRY_RUN=1]`: `python -m devtools.migrate_lake
  shops_v2 …`, the per-shop layout (contract 2.0). Pause the DAGs first (or `make stop`, the
  S3 server aside).
- `make migrate-facts-to-iceberg [DRY_RUN=1]`: `python -m devtools.migrate_lake facts_iceberg
  …`, the facts into the Iceberg table (contract 3.0), with the stack running.

On a deployment, run `python -m include.inventory_lake.migrations.<name>` where the tasks'
settings are.
"""

from __future__ import annotations

import os
import sys

from devtools.devstack.iceberg import CONNECTION_VARIABLE, local_catalog_env
from devtools.devstack.processes import project_root
from devtools.devstack.stack import StackPaths, load_env, running_metadata_db

LAKE_SETTINGS = ("AIRFLOW_CONN_AWS_DEFAULT", "AIRFLOW_VAR_INVENTORY_LAKE_URI")
MIGRATIONS = ("shops_v2", "facts_iceberg")


def catalog_settings(paths: StackPaths, env: dict[str, str]) -> dict[str, str]:
    """`iceberg_default` as the running stack's Airflow has it."""
    if CONNECTION_VARIABLE in env:
        return {CONNECTION_VARIABLE: env[CONNECTION_VARIABLE]}
    metadata_db = running_metadata_db(paths, env)
    if metadata_db is None:
        raise SystemExit(
            "the local stack is not running (its catalog is on its PostgreSQL): make run"
        )
    settings = local_catalog_env(env, metadata_db)
    if not settings:
        raise SystemExit(f"{CONNECTION_VARIABLE} missing from {paths.env_file}")
    return settings


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in MIGRATIONS:
        raise SystemExit(f"usage: python -m devtools.migrate_lake {{{','.join(MIGRATIONS)}}} …")
    name, args = argv[0], argv[1:]
    paths = StackPaths(project_root())
    env = load_env(paths)
    missing = [setting for setting in LAKE_SETTINGS if not env.get(setting)]
    if missing:
        raise SystemExit(f"{', '.join(missing)} missing from {paths.env_file}")
    os.environ.update({setting: env[setting] for setting in LAKE_SETTINGS})
    # The stack's Airflow configuration, before Airflow is first imported.
    os.environ.setdefault("AIRFLOW_HOME", str(paths.airflow_home))
    if name == "facts_iceberg":
        os.environ.update(catalog_settings(paths, env))
        from include.inventory_lake.migrations.facts_iceberg import main as migrate
    else:
        from include.inventory_lake.migrations.shops_v2 import main as migrate
    return migrate(args)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
