"""Session-wide test world: a temporary AIRFLOW_HOME, a PostgreSQL metadata DB, moto's S3
server and the API emulator.

The environment is set at import time, before anything imports Airflow, because Airflow reads
AIRFLOW_HOME and its configuration (the metadata DB among it) once, on first import. So the
PostgreSQL cluster starts here too, as one of the project's own processes, and stops when the
session ends. It is the engine `make run` uses: on SQLite the scheduler's write lock makes
Airflow refuse a backfill created from the UI at random.
"""

from __future__ import annotations

import atexit
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from devtools.devstack.iceberg import (  # noqa: E402
    catalog_connection,
    create_catalog_database,
)
from devtools.devstack.postgres import (  # noqa: E402
    create_database,
    start_postgres,
    stop_postgres,
)
from devtools.devstack.processes import (  # noqa: E402
    free_port,
    start_emulator,
    start_s3_server,
    stop_pid_group,
)
from devtools.provider_metadata import ensure as ensure_provider_metadata  # noqa: E402

# The connection types `haravan` and `stocky` (what `make test` does first): before Airflow is
# imported, as its providers manager reads the entry points once.
ensure_provider_metadata(ROOT)

RUN_DIR = Path(tempfile.mkdtemp(prefix="inventory-lake-tests-"))
AIRFLOW_HOME = RUN_DIR / "airflow"
AIRFLOW_HOME.mkdir()

_postgres, METADATA_DB = start_postgres(
    RUN_DIR / "postgres", free_port(), RUN_DIR / "logs" / "postgres.log", durable=False
)


# The Iceberg catalog's database (devtools/devstack/iceberg.py), as `make run` creates it.
ICEBERG_CATALOG_DB = create_catalog_database(METADATA_DB)


def _end_session() -> None:
    stop_postgres(_postgres.pid)
    shutil.rmtree(RUN_DIR, ignore_errors=True)


# At exit, whatever ends the session; registered before Airflow is imported, so it runs after
# Airflow's own exit handler has closed its connections to the server.
atexit.register(_end_session)

LINEAGE_EVENTS = AIRFLOW_HOME / "openlineage-events.jsonl"
os.environ.update(
    {
        "AIRFLOW_HOME": str(AIRFLOW_HOME),
        "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(ROOT / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": METADATA_DB.url("postgresql+psycopg2"),
        "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(AIRFLOW_HOME / "logs"),
        # Every task's OpenLineage events, as `make run` writes them (tests/lineage_events.py).
        "AIRFLOW__OPENLINEAGE__TRANSPORT": json.dumps(
            {"type": "file", "log_file_path": str(LINEAGE_EVENTS), "append": True}
        ),
        # As the local stack and a deployment send them (devtools/devstack/stack.py).
        "AIRFLOW__OPENLINEAGE__EXECUTE_IN_THREAD": "True",
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    }
)

from devtools.devstack.stack import (  # noqa: E402
    StackPaths,
    airflow_env,
    down,
    start_airflow,
)
from tests.servers import AirflowApi, Emulator, S3Server  # noqa: E402
from tests.xdist_groups import in_group  # noqa: E402

LAKE_BUCKET = "inventory-lake"
EMULATOR_DATA = {"seed": 7, "days": 14, "end": "2026-01-15T00:00:00Z"}
EMULATOR_CREDENTIALS = {
    "haravan_token": "test-haravan-token-0f3a",
    "stocky_store": "test-shop.myshopify.com",
    "stocky_key": "test-stocky-key-9b1c",
}


@pytest.fixture(scope="session")
def run_dir() -> Path:
    return RUN_DIR


@pytest.fixture(scope="session")
def s3_server(run_dir: Path) -> Iterator[S3Server]:
    server = start_s3_server(free_port(), run_dir / "logs" / "s3.log")
    try:
        s3 = S3Server(server=server, bucket=LAKE_BUCKET, iceberg_catalog=ICEBERG_CATALOG_DB)
        s3.client().create_bucket(Bucket=LAKE_BUCKET)
        yield s3
    finally:
        stop_pid_group(server.pid)


def _emulator(
    run_dir: Path, log_name: str, data: dict[str, Any], credentials: dict[str, str]
) -> Iterator[Emulator]:
    """One emulator process (a shop's Haravan and Stocky APIs) with its data and credentials."""
    args = [
        "--seed", str(data["seed"]),
        "--days", str(data["days"]),
        "--end", str(data["end"]),
        "--haravan-token", credentials["haravan_token"],
        "--stocky-store", credentials["stocky_store"],
        "--stocky-key", credentials["stocky_key"],
    ]  # fmt: skip
    server = start_emulator(free_port(), run_dir, run_dir / "logs" / log_name, args)
    try:
        yield Emulator(server=server, data_knobs=dict(data), **credentials)
    finally:
        stop_pid_group(server.pid)


@pytest.fixture(scope="session")
def emulator(run_dir: Path) -> Iterator[Emulator]:
    yield from _emulator(run_dir, "emulator.log", EMULATOR_DATA, EMULATOR_CREDENTIALS)


# A second shop's APIs: another emulator process, other data (seed), other credentials.
SECOND_SHOP_DATA = {"seed": 23, "days": 14, "end": "2026-01-15T00:00:00Z"}
SECOND_SHOP_CREDENTIALS = {
    "haravan_token": "saigon-haravan-token-7d21",
    "stocky_store": "saigon-shop.myshopify.com",
    "stocky_key": "saigon-stocky-key-4e8a",
}


@pytest.fixture(scope="session")
def second_shop_emulator(run_dir: Path) -> Iterator[Emulator]:
    yield from _emulator(run_dir, "emulator-saigon.log", SECOND_SHOP_DATA, SECOND_SHOP_CREDENTIALS)


@dataclass(frozen=True)
class ShopWorld:
    """Three shops in one deployment: `hanoi` on the session emulator (the default
    connections), `saigon` on a second emulator with its own data and credentials, `danang`
    on that emulator with a token Haravan refuses (and no Stocky)."""

    hanoi: Emulator
    saigon: Emulator
    s3: S3Server

    SHOPS = ("hanoi", "saigon", "danang")


@pytest.fixture()
def shop_world(
    world: tuple[Emulator, S3Server],
    second_shop_emulator: Emulator,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[ShopWorld]:
    """`world` with three shops configured, as a deployment would: the Variable
    `inventory_lake_shops` and one connection per shop and API (here as AIRFLOW_* variables)."""
    saigon = second_shop_emulator
    saigon.reset()
    shops = [
        {"id": "hanoi", "haravan_conn_id": "haravan_default", "stocky_conn_id": "stocky_default"},
        {"id": "saigon", "haravan_conn_id": "haravan_saigon", "stocky_conn_id": "stocky_saigon"},
        {"id": "danang", "haravan_conn_id": "haravan_danang"},
    ]
    monkeypatch.setenv("AIRFLOW_VAR_INVENTORY_LAKE_SHOPS", json.dumps(shops))
    haravan = {"conn_type": "haravan", "host": saigon.url, "password": saigon.haravan_token}
    monkeypatch.setenv("AIRFLOW_CONN_HARAVAN_SAIGON", json.dumps(haravan))
    monkeypatch.setenv(
        "AIRFLOW_CONN_HARAVAN_DANANG",
        json.dumps({**haravan, "password": "danang-token-revoked-0000"}),
    )
    monkeypatch.setenv(
        "AIRFLOW_CONN_STOCKY_SAIGON",
        json.dumps(
            {
                "conn_type": "stocky",
                "host": saigon.url,
                "login": saigon.stocky_store,
                "password": saigon.stocky_key,
            }
        ),
    )
    yield ShopWorld(hanoi=world[0], saigon=saigon, s3=world[1])
    saigon.reset()


@pytest.fixture()
def fresh_emulator(emulator: Emulator) -> Iterator[Emulator]:
    """The session emulator, reset to its seeded data before and after the test."""
    emulator.reset()
    yield emulator
    emulator.reset()


@pytest.fixture()
def world(
    airflow_db: Any, airflow_connections: Any, fresh_emulator: Emulator, s3_server: S3Server
) -> Iterator[tuple[Emulator, S3Server]]:
    """What a DAG test runs in: the metadata DB, the connections, the emulator with its seeded
    data and an empty lake (emptied again afterwards)."""
    s3_server.empty_bucket()
    yield fresh_emulator, s3_server
    s3_server.empty_bucket()


@pytest.fixture(scope="session")
def airflow_connections(s3_server: S3Server, emulator: Emulator) -> dict[str, str]:
    """Point the project's connection ids and lake variable at the local servers."""
    env = {
        "AIRFLOW_CONN_HARAVAN_DEFAULT": json.dumps(
            {"conn_type": "haravan", "host": emulator.url, "password": emulator.haravan_token}
        ),
        "AIRFLOW_CONN_STOCKY_DEFAULT": json.dumps(
            {
                "conn_type": "stocky",
                "host": emulator.url,
                "login": emulator.stocky_store,
                "password": emulator.stocky_key,
            }
        ),
        "AIRFLOW_CONN_AWS_DEFAULT": json.dumps(
            {
                "conn_type": "aws",
                "login": s3_server.access_key,
                "password": s3_server.secret_key,
                "extra": {"endpoint_url": s3_server.url, "region_name": s3_server.region},
            }
        ),
        "AIRFLOW_CONN_ICEBERG_DEFAULT": json.dumps(
            catalog_connection(ICEBERG_CATALOG_DB, f"s3://{s3_server.bucket}")
        ),
        "AIRFLOW_VAR_INVENTORY_LAKE_URI": f"s3://{s3_server.bucket}",
    }
    os.environ.update(env)
    return env


@pytest.fixture(scope="session")
def airflow_db() -> str:
    """The metadata DB (PostgreSQL) migrated, with the project's pools, for dag.test() runs;
    returns its SQLAlchemy URL."""
    airflow = Path(sys.executable).with_name("airflow")
    subprocess.run([str(airflow), "db", "migrate"], check=True, capture_output=True, timeout=600)
    pools = ROOT / "include" / "inventory_lake" / "airflow_pools.json"
    subprocess.run(
        [str(airflow), "pools", "import", str(pools)], check=True, capture_output=True, timeout=120
    )
    return os.environ["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]


def _standalone(
    tmp_path_factory: pytest.TempPathFactory,
    airflow_connections: dict[str, str],
    name: str,
    extra_env: dict[str, str] | None = None,
) -> Iterator[AirflowApi]:
    paths = StackPaths(ROOT, local_dir=tmp_path_factory.mktemp(name))
    ports = {
        # Free ports for every server standalone starts, so it never collides with another
        # Airflow on the machine (a `make run`, a parallel test session).
        "AIRFLOW__API__PORT": str(free_port()),
        "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_port()),
        "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(free_port()),
    }
    # Its own database on the session's server: the scheduler's runs stay apart from the
    # dag.test() runs of the other tests.
    metadata_db = create_database(METADATA_DB, name).url("postgresql+psycopg2")
    env = airflow_env(paths, {**airflow_connections, **ports}, metadata_db)
    env.update(extra_env or {})
    url = start_airflow(paths, env)
    try:
        password = json.loads(paths.passwords_file.read_text())["admin"]
        api = AirflowApi(url, password, metadata_db=metadata_db, env=env)
        api.passwords_file = paths.passwords_file
        # The health check answers once the API server runs; the DAG processor's first parse is
        # another process's work, later on a busy machine (a DAG not parsed yet is a 404 to
        # the first test's unpause): the tests start once every DAG of dags/ is listed.
        dag_ids = {path.stem for path in (ROOT / "dags").glob("*.py")}
        api.wait_until(
            "every DAG of dags/ parsed",
            lambda: dag_ids <= {d["dag_id"] for d in api.call("GET", "dags")["dags"]} or None,
        )
        # So is the scheduler's start: a test may need its job running at once (a backfill is
        # refused without a scheduler, and tests/dags/test_backfill_from_the_ui.py holds the
        # scheduler's job row).
        api.wait_until(
            "the scheduler running",
            lambda: api.call("GET", "monitor/health")["scheduler"]["status"] == "healthy" or None,
        )
        yield api
    finally:
        down(paths)


@pytest.fixture(scope="session")
def airflow_standalone(
    tmp_path_factory: pytest.TempPathFactory,
    airflow_connections: dict[str, str],
    emulator: Emulator,
    s3_server: S3Server,
) -> Iterator[AirflowApi]:
    """A real `airflow standalone` (scheduler, LocalExecutor, API server and UI) on a free port,
    with its own AIRFLOW_HOME and the same connections as the rest of the tests."""
    yield from _standalone(tmp_path_factory, airflow_connections, "standalone")


# Two more users besides admin, for the push's named approvers; and a freshness deadline short
# enough for a test to see it missed (settings.FRESHNESS_DEADLINE_S).
ALERTS_STANDALONE_ENV = {
    "INVENTORY_LAKE_FRESHNESS_DEADLINE_S": "5",
    "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": "admin:admin,alice:op,bob:op",
    # A test holds the approval task's row for a moment (to make Airflow's park-versus-answer
    # race exact): the worker's calls wait for it rather than time out and retry, and the
    # worker's heartbeat (it waits for the row too, and blocks the worker while it does) is
    # sent when the task starts, then not within the moment, well inside the 300 s timeout.
    "AIRFLOW__WORKERS__EXECUTION_API_TIMEOUT": "30",
    "AIRFLOW__WORKERS__MIN_HEARTBEAT_INTERVAL": "60",
}


@pytest.fixture(scope="session")
def airflow_standalone_alerts(
    tmp_path_factory: pytest.TempPathFactory,
    airflow_connections: dict[str, str],
    emulator: Emulator,
    s3_server: S3Server,
) -> Iterator[AirflowApi]:
    """Like `airflow_standalone`, with ALERTS_STANDALONE_ENV: a 5 s freshness deadline and the
    users alice and bob (passwords in `api.passwords_file`). A second standalone, only for the
    tests that select it: the others keep the production deadline."""
    yield from _standalone(
        tmp_path_factory, airflow_connections, "standalone_alerts", ALERTS_STANDALONE_ENV
    )


# `make test` runs the suite on two pytest-xdist workers (pyproject's addopts): most of its time
# is spent waiting on Airflow's schedulers and task processes, not on the CPU. Each worker is a
# session of its own (its own PostgreSQL, S3 server and emulator); the tests of one standalone
# run on one worker, so no standalone is started twice.
STANDALONE_GROUPS = {
    "airflow_standalone": "standalone",
    "airflow_standalone_alerts": "standalone_alerts",
}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        fixtures = getattr(item, "fixturenames", ())
        for fixture, group in STANDALONE_GROUPS.items():
            if fixture in fixtures:
                in_group(config, item, group)
                break
