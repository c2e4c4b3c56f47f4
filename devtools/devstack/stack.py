"""`make run` / `make stop`: the whole local stack (S3, API emulator, PostgreSQL as Airflow's
metadata DB, Airflow standalone).

The metadata DB is PostgreSQL, not SQLite: on SQLite the scheduler's writes lock the whole
file, and Airflow then refuses a backfill created from the UI ("Database is locked ...") at
random. PostgreSQL locks rows, so the UI's backfill is accepted whatever the scheduler does.

Every process is started in its own session and its pid written under `.local/run/`, so that
`make stop` can end each process group by pid and nothing is left behind.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import subprocess
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from dotenv import dotenv_values

from devtools.devstack.iceberg import (
    CATALOG_DATABASE,
    CONNECTION_VARIABLE,
    forget_local_tables,
    local_catalog_env,
)
from devtools.devstack.postgres import start_postgres, stop_postgres
from devtools.devstack.processes import (
    ProcessStartError,
    ServerProcess,
    free_port,
    port_is_open,
    project_root,
    spawn,
    start_emulator,
    start_s3_server,
    stop_pid_group,
    wait_for_http,
)
from include.inventory_lake.lake.connection import client_for_connection, ensure_bucket

LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
AIRFLOW_USER = "admin"
# Any of these in .env means the user chose where OpenLineage events go (e.g. Marquez over HTTP).
LINEAGE_SETTINGS = (
    "AIRFLOW__OPENLINEAGE__TRANSPORT",
    "AIRFLOW__OPENLINEAGE__CONFIG_PATH",
    "AIRFLOW__OPENLINEAGE__DISABLED",
    "OPENLINEAGE_URL",
)
METADATA_DB_VARIABLE = "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"
# What cuts each task's own start-up and end (docs/deployment.md, task start-up; measured in
# docs/benchmarks.md, `extract_task_phases`); .env may override each:
TASK_STARTUP_SETTINGS = {
    # The scheduler's LocalExecutor workers start from a forkserver that has imported what
    # every task process imports (include/inventory_lake/task_preload.py), so a task process
    # forked from a worker no longer imports Airflow's task runner, the lineage client, the
    # project's modules, pyarrow and boto3 by itself.
    "AIRFLOW__SCHEDULER__MP_START_METHOD": "forkserver",
    "AIRFLOW__SCHEDULER__MP_FORKSERVER_PRELOAD": (
        "airflow.executors.local_executor,include.inventory_lake.task_preload"
    ),
    # OpenLineage's START and COMPLETE events are sent from a thread of the task process, not
    # from a process forked for each event: the same events, emitted before the task goes on
    # (the task waits for them, up to [openlineage] execution_timeout), without two forks that
    # each imported the lineage client again.
    "AIRFLOW__OPENLINEAGE__EXECUTE_IN_THREAD": "True",
}
PROCESSES = ("airflow", "emulator", "s3", "postgres")


@dataclass(frozen=True)
class StackPaths:
    root: Path
    local_dir: Path | None = None

    @property
    def local(self) -> Path:
        return self.local_dir or self.root / ".local"

    @property
    def run(self) -> Path:
        return self.local / "run"

    @property
    def logs(self) -> Path:
        return self.local / "logs"

    @property
    def airflow_home(self) -> Path:
        return self.local / "airflow"

    @property
    def lineage_events(self) -> Path:
        """OpenLineage events of every task run, one JSON object per line."""
        return self.local / "openlineage-events.jsonl"

    @property
    def env_file(self) -> Path:
        return self.root / ".env"

    @property
    def passwords_file(self) -> Path:
        return self.airflow_home / "simple_auth_manager_passwords.json"

    def pid_file(self, name: str) -> Path:
        return self.run / f"{name}.pid"


def load_env(paths: StackPaths) -> dict[str, str]:
    if not paths.env_file.exists():
        shutil.copyfile(paths.root / ".env.example", paths.env_file)
        print(f"created {paths.env_file.name} from .env.example")
    values = {k: v for k, v in dotenv_values(paths.env_file).items() if v is not None}
    return values


def _connection(env: dict[str, str], conn_id: str) -> dict[str, object]:
    raw = env.get(f"AIRFLOW_CONN_{conn_id.upper()}")
    if raw is None:
        raise SystemExit(f"AIRFLOW_CONN_{conn_id.upper()} is missing from .env")
    parsed: dict[str, object] = json.loads(raw)
    return parsed


def _local_port(url: str) -> int | None:
    parts = urlsplit(url)
    if parts.hostname in LOCAL_HOSTS and parts.port is not None:
        return parts.port
    return None


def airflow_env(paths: StackPaths, env: dict[str, str], metadata_db: str) -> dict[str, str]:
    """The environment every Airflow process of the stack runs with; `metadata_db` is the
    SQLAlchemy URL of the metadata DB."""
    merged = dict(TASK_STARTUP_SETTINGS)
    merged.update(os.environ)
    merged.update(env)
    base_url = f"http://127.0.0.1:{airflow_port(merged)}"
    merged.update(
        {
            "AIRFLOW_HOME": str(paths.airflow_home),
            "AIRFLOW__API__BASE_URL": base_url,
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{base_url}/execution/",
            "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(paths.airflow_home / "logs"),
            "AIRFLOW__CORE__DAGS_FOLDER": str(paths.root / "dags"),
            "AIRFLOW__CORE__PLUGINS_FOLDER": str(paths.root / "plugins"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{AIRFLOW_USER}:admin",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(paths.passwords_file),
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": metadata_db,
            # A task's supervisor waits this long for each call to the Execution API (the API
            # server's /execution/). Airflow's 5 s is a speed it expects: on a busy machine (a
            # load average of 15-25 on 2 cores) the API server answers later, the calls time out
            # five times over and the task is failed to a retry a minute later, or for good.
            # 120 s is only a cap on a hung API server, below the 300 s after which the
            # scheduler takes a task without heartbeats for dead.
            "AIRFLOW__WORKERS__EXECUTION_API_TIMEOUT": merged.get(
                "AIRFLOW__WORKERS__EXECUTION_API_TIMEOUT", "120"
            ),
            "PYTHONPATH": os.pathsep.join(filter(None, [str(paths.root), env.get("PYTHONPATH")])),
            # `airflow standalone` starts its components as `airflow ...` found on PATH.
            "PATH": os.pathsep.join([str(Path(sys.executable).parent), merged.get("PATH", "")]),
        }
    )
    if not any(key in merged for key in LINEAGE_SETTINGS):  # else .env chose a transport
        merged["AIRFLOW__OPENLINEAGE__TRANSPORT"] = json.dumps(
            {"type": "file", "log_file_path": str(paths.lineage_events), "append": True}
        )
    return merged


def stack_airflow_env(paths: StackPaths, env: dict[str, str], metadata_db: str) -> dict[str, str]:
    """What `make run` gives every Airflow process: `airflow_env` with, unless `.env` names
    one, the local Iceberg catalog's `iceberg_default` (devstack/iceberg.py; its database is
    created on the metadata DB's server when missing). Local tooling that opens the catalog
    (`make query-facts`) opens it with this too."""
    return airflow_env(paths, {**env, **local_catalog_env(env, metadata_db)}, metadata_db)


def _record(paths: StackPaths, server: ServerProcess) -> None:
    paths.pid_file(server.name).write_text(str(server.pid))


def running_pid(paths: StackPaths, name: str) -> int | None:
    pid_file = paths.pid_file(name)
    if not pid_file.exists():
        return None
    pid = int(pid_file.read_text())
    try:
        os.killpg(pid, 0)
    except ProcessLookupError:
        pid_file.unlink()
        return None
    return pid


def start_local_s3(paths: StackPaths, env: dict[str, str]) -> str | None:
    aws = _connection(env, "aws_default")
    extra = aws.get("extra") or {}
    assert isinstance(extra, dict)
    endpoint = str(extra.get("endpoint_url", ""))
    port = _local_port(endpoint)
    if port is None:
        print(f"aws_default points at {endpoint or 'AWS'}: not starting a local S3 server")
        return None
    if running_pid(paths, "s3") is None:
        if port_is_open("127.0.0.1", port):
            raise SystemExit(f"port {port} (local S3) is taken by another process")
        _record(paths, start_s3_server(port, paths.logs / "s3.log"))
    bucket = urlsplit(env["AIRFLOW_VAR_INVENTORY_LAKE_URI"]).netloc
    ensure_bucket(client_for_connection(aws), bucket)
    return f"{endpoint} (bucket {bucket})"


def start_local_emulator(paths: StackPaths, env: dict[str, str]) -> str | None:
    haravan = _connection(env, "haravan_default")
    stocky = _connection(env, "stocky_default")
    port = _local_port(str(haravan.get("host", "")))
    if port is None:
        print("haravan_default points at a remote API: not starting the emulator")
        return None
    url = f"http://127.0.0.1:{port}"
    if running_pid(paths, "emulator") is None:
        if port_is_open("127.0.0.1", port):
            raise SystemExit(f"port {port} (API emulator) is taken by another process")
        # Credentials go through the environment, never the command line (visible in `ps`).
        os.environ["EMULATOR_HARAVAN_TOKEN"] = str(haravan.get("password", ""))
        os.environ["EMULATOR_STOCKY_STORE"] = str(stocky.get("login", ""))
        os.environ["EMULATOR_STOCKY_KEY"] = str(stocky.get("password", ""))
        server = start_emulator(port, paths.run, paths.logs / "emulator.log", ["--days", "14"])
        _record(paths, server)
    return url


def running_metadata_db(paths: StackPaths, env: dict[str, str]) -> str | None:
    """The metadata DB's URL: the one `.env` names (`AIRFLOW__DATABASE__SQL_ALCHEMY_CONN`), or
    the stack's own PostgreSQL cluster's while it runs; None when it does not."""
    configured = env.get(METADATA_DB_VARIABLE)
    if configured:
        return configured
    login_file = paths.run / "postgres.url"
    if running_pid(paths, "postgres") is not None and login_file.exists():
        return login_file.read_text().strip()
    return None


def start_metadata_db(paths: StackPaths, env: dict[str, str]) -> str:
    """The metadata DB's URL (`running_metadata_db`), else the stack's own PostgreSQL cluster
    in `<local>/postgres`, started on a free loopback port."""
    running = running_metadata_db(paths, env)
    if running is not None:
        return running
    login_file = paths.run / "postgres.url"
    server, login = start_postgres(
        paths.local / "postgres", free_port(), paths.logs / "postgres.log"
    )
    _record(paths, server)
    url = login.url("postgresql+psycopg2")
    login_file.touch(mode=0o600)
    login_file.write_text(url)
    return url


def _airflow(paths: StackPaths, env: dict[str, str], *args: str) -> None:
    airflow = Path(sys.executable).with_name("airflow")
    result = subprocess.run(
        [str(airflow), *args], env=env, capture_output=True, text=True, timeout=900
    )
    if result.returncode != 0:
        raise SystemExit(f"airflow {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")


def airflow_port(env: dict[str, str]) -> int:
    return int(env.get("AIRFLOW__API__PORT", "8080"))


def prepare_metadata_db(paths: StackPaths, env: dict[str, str]) -> None:
    """The UI login, then the metadata DB migrated (SQLite or Postgres) with the pools."""
    paths.airflow_home.mkdir(parents=True, exist_ok=True)
    if not paths.passwords_file.exists():
        paths.passwords_file.write_text(json.dumps({AIRFLOW_USER: secrets.token_urlsafe(12)}))
        paths.passwords_file.chmod(0o600)
    print("migrating the Airflow metadata DB ...", flush=True)
    _airflow(paths, env, "db", "migrate")
    pools = paths.root / "include" / "inventory_lake" / "airflow_pools.json"
    _airflow(paths, env, "pools", "import", str(pools))


def start_airflow(paths: StackPaths, env: dict[str, str]) -> str:
    """Migrate the DB, import the pools and start `airflow standalone`; returns the UI URL."""
    port = airflow_port(env)
    url = f"http://127.0.0.1:{port}"
    if running_pid(paths, "airflow") is not None:
        return url
    if port_is_open("127.0.0.1", port):
        raise SystemExit(f"port {port} (Airflow UI) is taken by another process")
    prepare_metadata_db(paths, env)
    airflow = Path(sys.executable).with_name("airflow")
    log_path = paths.logs / "airflow.log"
    process = spawn([str(airflow), "standalone"], log_path, env=env)
    paths.run.mkdir(parents=True, exist_ok=True)
    paths.pid_file("airflow").write_text(str(process.pid))
    try:
        wait_for_http(process, f"{url}/api/v2/monitor/health", log_path, timeout_s=300)
    except ProcessStartError:
        stop_pid_group(process.pid)
        raise
    return url


@contextlib.contextmanager
def stopped_on_failure(paths: StackPaths, names: Iterable[str] = PROCESSES) -> Iterator[None]:
    """A start that fails part way (a server that does not come up, a port taken, Ctrl-C)
    stops the processes of `names` it started; those already running before are left alone."""
    names = tuple(names)
    already_running = {name for name in names if running_pid(paths, name) is not None}
    try:
        yield
    except BaseException:
        print("the start failed: stopping what it started", flush=True)
        down(paths, [name for name in names if name not in already_running])
        raise


def up(paths: StackPaths | None = None) -> None:
    paths = paths or StackPaths(project_root())
    for directory in (paths.run, paths.logs):
        directory.mkdir(parents=True, exist_ok=True)
    env = load_env(paths)
    with stopped_on_failure(paths):
        s3_was_running = running_pid(paths, "s3") is not None
        s3 = start_local_s3(paths, env)
        emulator = start_local_emulator(paths, env)
        metadata_db = start_metadata_db(paths, env)
        if s3 and not s3_was_running and forget_local_tables(env, metadata_db):
            print("the local S3 started empty: the Iceberg catalog forgot its tables")
        settings = stack_airflow_env(paths, env, metadata_db)
        airflow = start_airflow(paths, settings)
    password = json.loads(paths.passwords_file.read_text())[AIRFLOW_USER]
    print()
    print(f"Airflow UI     {airflow}   login: {AIRFLOW_USER} / {password}")
    if s3:
        print(f"Local S3       {s3}")
    if emulator:
        print(f"API emulator   {emulator}   (demo data for the last 14 days)")
    if METADATA_DB_VARIABLE not in env:
        port = urlsplit(metadata_db).port
        print(f"Metadata DB    PostgreSQL on 127.0.0.1:{port} ({paths.local / 'postgres'})")
    catalog = json.loads(settings.get(CONNECTION_VARIABLE, "{}"))
    if CONNECTION_VARIABLE not in env and catalog.get("schema") == CATALOG_DATABASE:
        print(
            f"Iceberg        SQL catalog `iceberg_default` in database {CATALOG_DATABASE}, "
            f"warehouse {catalog['extra']['warehouse']}"
        )
    print(f"Logs           {paths.logs}")
    print("Stop it all    make stop")


def down(paths: StackPaths | None = None, names: Iterable[str] = PROCESSES) -> None:
    paths = paths or StackPaths(project_root())
    chosen = set(names)
    for name in PROCESSES:  # PostgreSQL last: Airflow writes to it until it stops
        pid = running_pid(paths, name) if name in chosen else None
        if pid is None:
            continue
        (stop_postgres if name == "postgres" else stop_pid_group)(pid)
        paths.pid_file(name).unlink(missing_ok=True)
        print(f"stopped {name} (pid {pid})")


def status() -> None:
    paths = StackPaths(project_root())
    for name in PROCESSES:
        pid = running_pid(paths, name)
        print(f"{name:9} {'running, pid ' + str(pid) if pid else 'stopped'}")
