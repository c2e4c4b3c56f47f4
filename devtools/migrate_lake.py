"""`make migrate-lake-to-shops [SHOP=default] [DRY_RUN=1]`: move the local stack's lake to the
per-shop layout (contract 2.0) with `include/inventory_lake/migrations/shops_v2.py`, reaching
it through `.env`'s `aws_default` connection and `inventory_lake_uri` variable, as the stack's
tasks do. Pause the DAGs first (or `make stop`, the S3 server aside); on a deployment, run
`python -m include.inventory_lake.migrations.shops_v2` where the tasks' settings are.
"""

from __future__ import annotations

import os
import sys

from devtools.devstack.processes import project_root
from devtools.devstack.stack import StackPaths, load_env

LAKE_SETTINGS = ("AIRFLOW_CONN_AWS_DEFAULT", "AIRFLOW_VAR_INVENTORY_LAKE_URI")


def main() -> int:
    paths = StackPaths(project_root())
    env = load_env(paths)
    missing = [name for name in LAKE_SETTINGS if not env.get(name)]
    if missing:
        raise SystemExit(f"{', '.join(missing)} missing from {paths.env_file}")
    os.environ.update({name: env[name] for name in LAKE_SETTINGS})
    # The stack's Airflow configuration, before Airflow is first imported.
    os.environ.setdefault("AIRFLOW_HOME", str(paths.airflow_home))
    from include.inventory_lake.migrations.shops_v2 import main as migrate

    return migrate(sys.argv[1:])


if __name__ == "__main__":
    sys.exit(main())
