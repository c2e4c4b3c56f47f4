"""`make run-distributed`: the same DAGs on PostgreSQL + the CeleryExecutor, on loopback.

PostgreSQL (metadata DB and Celery results) and Redis (Celery broker) from the OS packages,
then Airflow's API server, scheduler, DAG processor and triggerer, and two Celery workers.
Each worker has its own temporary working directory, its own `AIRFLOW_HOME` and log folder
(its own "disk"), its own host name and log-server port: nothing can pass from one task to
the next through local files or memory, only through the lake, XCom and Airflow's metadata.

Every process runs in its own session with its pid under `<local>/run/`, so `make stop` ends
each one (and its children) by pid. Nothing is installed as a system service.
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests

from devtools.devstack import worker_identity
from devtools.devstack.broker import start_redis
from devtools.devstack.postgres import PostgresLogin, start_postgres, stop_postgres
from devtools.devstack.processes import (
    ProcessStartError,
    ServerProcess,
    free_port,
    port_is_open,
    project_root,
    spawn,
    stop_pid_group,
    wait_for_http,
)
from devtools.devstack.stack import (
    AIRFLOW_USER,
    LOCAL_HOSTS,
    PROCESSES,
    StackPaths,
    airflow_port,
    load_env,
    prepare_metadata_db,
    running_pid,
    stack_airflow_env,
    start_local_emulator,
    start_local_s3,
    stopped_on_failure,
)
from devtools.devstack.stack import down as stack_down
from include.inventory_lake.settings import AWS_CONN_ID

WORKERS = ("worker-a", "worker-b")
WORKER_CONCURRENCY = 2
# Executor slots across the whole stack: both workers busy, no more (2 cores).
PARALLELISM = len(WORKERS) * WORKER_CONCURRENCY
CONTROL_PLANE = ("scheduler", "dag-processor", "triggerer")
STOP_ORDER = (*WORKERS, *CONTROL_PLANE, "api-server", "redis", "postgres")
HEALTHY_COMPONENTS = ("metadatabase", "scheduler", "dag_processor", "triggerer")
# Longer than the longest task (the push's 2-hour execution timeout): Redis redelivers a task
# whose worker has not acknowledged it within this time.
VISIBILITY_TIMEOUT_S = 6 * 3600
START_TIMEOUT_S = 300.0
LOG_BUCKET = "airflow-logs"


@dataclass(frozen=True)
class DistributedStack:
    url: str
    user: str
    password: str
    workers: tuple[str, ...]
    logs: Path


def distributed_paths(root: Path | None = None) -> StackPaths:
    root = root or project_root()
    return StackPaths(root, root / ".local" / "distributed")


def _secrets(paths: StackPaths) -> dict[str, str]:
    """Keys every component must share (encrypted connections, task tokens, UI sessions)."""
    path = paths.local / "airflow-secrets.json"
    if path.exists():
        stored: dict[str, str] = json.loads(path.read_text())
        return stored
    import secrets

    from cryptography.fernet import Fernet

    generated = {
        "AIRFLOW__CORE__FERNET_KEY": Fernet.generate_key().decode(),
        "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_urlsafe(32),
        "AIRFLOW__API__SECRET_KEY": secrets.token_urlsafe(32),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600)
    path.write_text(json.dumps(generated))
    return generated


def _remote_logging(env: dict[str, str]) -> dict[str, str]:
    """Task logs in S3, read by the UI wherever the task ran, as on a real cluster: the folder
    from `AIRFLOW__LOGGING__REMOTE_BASE_LOG_FOLDER` in `env`, else a bucket on the local S3
    server. Without either, logs stay on the worker that wrote them."""
    folder = env.get("AIRFLOW__LOGGING__REMOTE_BASE_LOG_FOLDER")
    if not folder:
        aws: dict[str, Any] = json.loads(env.get(f"AIRFLOW_CONN_{AWS_CONN_ID.upper()}", "{}"))
        extra = aws.get("extra") or {}
        endpoint = str(extra.get("endpoint_url", ""))
        if urlsplit(endpoint).hostname not in LOCAL_HOSTS:
            return {}
        from include.inventory_lake.lake.connection import client_for_connection, ensure_bucket

        ensure_bucket(client_for_connection(aws), LOG_BUCKET)
        folder = f"s3://{LOG_BUCKET}/task-logs"
    return {
        "AIRFLOW__LOGGING__REMOTE_LOGGING": "True",
        "AIRFLOW__LOGGING__REMOTE_BASE_LOG_FOLDER": folder,
        "AIRFLOW__LOGGING__REMOTE_LOG_CONN_ID": AWS_CONN_ID,
    }


def distributed_env(
    paths: StackPaths, env: dict[str, str], postgres: PostgresLogin, broker_url: str
) -> dict[str, str]:
    """The single-machine environment (connections, variable, folders, execution API URL)
    with the metadata DB on Postgres and the CeleryExecutor."""
    # With `make run`'s Iceberg catalog (`iceberg_default`), unless `.env` names one.
    merged = stack_airflow_env(paths, env, postgres.url("postgresql+psycopg2"))
    merged.update(_secrets(paths))
    merged.update(_remote_logging(merged))
    merged.update(
        {
            "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
            "AIRFLOW__CORE__PARALLELISM": str(PARALLELISM),
            "AIRFLOW__CELERY__BROKER_URL": broker_url,
            "AIRFLOW__CELERY__RESULT_BACKEND": "db+" + postgres.url("postgresql+psycopg2"),
            "AIRFLOW__CELERY__WORKER_CONCURRENCY": str(WORKER_CONCURRENCY),
            "AIRFLOW__CELERY_BROKER_TRANSPORT_OPTIONS__VISIBILITY_TIMEOUT": str(
                VISIBILITY_TIMEOUT_S
            ),
            # Log servers on free ports: other Airflow instances on this machine use the defaults.
            "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_port()),
            "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(free_port()),
        }
    )
    return merged


def worker_env(base: dict[str, str], name: str, work_dir: Path) -> dict[str, str]:
    """A worker as if on its own machine: own AIRFLOW_HOME, log folder, host name, log port."""
    env = dict(base)
    env.update(
        {
            "AIRFLOW_HOME": str(work_dir / "airflow"),
            "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(work_dir / "logs"),
            "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_port()),
            "AIRFLOW__CORE__HOSTNAME_CALLABLE": worker_identity.CALLABLE,
            worker_identity.HOSTNAME_VARIABLE: name,
        }
    )
    return env


def _record(paths: StackPaths, server: ServerProcess) -> None:
    paths.pid_file(server.name).write_text(str(server.pid))


def _spawn_airflow(
    paths: StackPaths, name: str, args: list[str], env: dict[str, str], cwd: Path
) -> ServerProcess:
    airflow = Path(sys.executable).with_name("airflow")
    log_path = paths.logs / f"{name}.log"
    process = spawn([str(airflow), *args], log_path, env=env, cwd=cwd)
    server = ServerProcess(name, process, "", log_path)
    _record(paths, server)
    return server


def _worker_dir_file(paths: StackPaths, name: str) -> Path:
    return paths.run / f"{name}.cwd"


def _start_worker(paths: StackPaths, name: str, base_env: dict[str, str]) -> ServerProcess:
    work_dir = Path(tempfile.mkdtemp(prefix=f"inventory-lake-{name}-"))
    _worker_dir_file(paths, name).write_text(str(work_dir))
    args = [
        "celery", "worker", "--celery-hostname", f"{name}@%h",
        "--concurrency", str(WORKER_CONCURRENCY), "--without-mingle", "--without-gossip",
    ]  # fmt: skip
    return _spawn_airflow(paths, name, args, worker_env(base_env, name, work_dir), work_dir)


def _log_tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def _worker_ready(worker: ServerProcess) -> bool:
    """Celery logs `<name>@<host> ready.` once it consumes from the broker."""
    try:
        return " ready." in worker.log_path.read_text(errors="replace")
    except OSError:
        return False


def _health(url: str) -> dict[str, Any]:
    try:
        response = requests.get(f"{url}/api/v2/monitor/health", timeout=5)
        response.raise_for_status()
        health: dict[str, Any] = response.json()
        return health
    except requests.RequestException:
        return {}


def _wait_until_ready(
    url: str, processes: list[ServerProcess], workers: list[ServerProcess], timeout_s: float
) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        for server in processes:
            if server.process.poll() is not None:
                raise ProcessStartError(
                    f"{server.name} exited with {server.process.returncode}; "
                    f"last log lines ({server.log_path}):\n{_log_tail(server.log_path)}"
                )
        health = _health(url)
        unhealthy = [
            name
            for name in HEALTHY_COMPONENTS
            if (health.get(name) or {}).get("status") != "healthy"
        ] + [worker.name for worker in workers if not _worker_ready(worker)]
        if not unhealthy:
            return
        if time.monotonic() > deadline:
            raise ProcessStartError(
                f"not ready within {timeout_s:.0f}s: {', '.join(unhealthy)}; logs in "
                f"{processes[0].log_path.parent}"
            )
        time.sleep(1)


def start_distributed(
    paths: StackPaths, env: dict[str, str], timeout_s: float = START_TIMEOUT_S
) -> DistributedStack:
    """Start Postgres, Redis and Airflow (API server on `AIRFLOW__API__PORT`, scheduler, DAG
    processor, triggerer, two Celery workers) for the connections and variable in `env`."""
    for directory in (paths.run, paths.logs):
        directory.mkdir(parents=True, exist_ok=True)
    port = airflow_port(env)
    url = f"http://127.0.0.1:{port}"
    if running_pid(paths, "api-server") is not None:
        stop_distributed(paths)  # restart cleanly rather than trust a half-running stack
    if port_is_open("127.0.0.1", port):
        raise SystemExit(f"port {port} (Airflow UI) is taken by another process")
    try:
        print("starting PostgreSQL and Redis ...", flush=True)
        postgres, login = start_postgres(
            paths.local / "postgres", free_port(), _log(paths, "postgres")
        )
        _record(paths, postgres)
        redis = start_redis(free_port(), paths.local / "redis", _log(paths, "redis"))
        _record(paths, redis)
        airflow = distributed_env(paths, env, login, redis.url)
        prepare_metadata_db(paths, airflow)
        home = paths.airflow_home
        print("starting the Airflow components and two Celery workers ...", flush=True)
        api = _spawn_airflow(
            paths, "api-server",
            ["api-server", "--host", "127.0.0.1", "--port", str(port), "--workers", "1"],
            airflow, home,
        )  # fmt: skip
        # All at once: each component waits for the others it needs (the workers for the
        # API server only when they run a task).
        control = [_spawn_airflow(paths, name, [name], airflow, home) for name in CONTROL_PLANE]
        workers = [_start_worker(paths, name, airflow) for name in WORKERS]
        wait_for_http(api.process, f"{url}/api/v2/monitor/health", api.log_path, timeout_s)
        _wait_until_ready(url, [api, *control, *workers], workers, timeout_s)
    except BaseException:
        stop_distributed(paths, quiet=True)
        raise
    password = json.loads(paths.passwords_file.read_text())[AIRFLOW_USER]
    return DistributedStack(url, AIRFLOW_USER, password, WORKERS, paths.logs)


def _log(paths: StackPaths, name: str) -> Path:
    return paths.logs / f"{name}.log"


def stop_distributed(paths: StackPaths, quiet: bool = False) -> None:
    """End every process `start_distributed` started: the Airflow components together, then
    Redis, then PostgreSQL (a fast shutdown), and remove the workers' working directories."""
    airflow_names = [name for name in STOP_ORDER if name not in ("redis", "postgres")]
    for group in (airflow_names, ["redis"], ["postgres"]):
        running = {name: pid for name in group if (pid := running_pid(paths, name)) is not None}
        stop = stop_postgres if group == ["postgres"] else stop_pid_group
        with ThreadPoolExecutor(max_workers=len(group)) as pool:
            list(pool.map(stop, running.values()))
        for name in group:
            paths.pid_file(name).unlink(missing_ok=True)
            if name in running and not quiet:
                print(f"stopped {name} (pid {running[name]})")
    for name in WORKERS:
        work_dir_file = _worker_dir_file(paths, name)
        if work_dir_file.exists():
            shutil.rmtree(work_dir_file.read_text().strip(), ignore_errors=True)
            work_dir_file.unlink()


def up(root: Path | None = None) -> None:
    root = root or project_root()
    if running_pid(StackPaths(root), "airflow") is not None:
        raise SystemExit("the single-machine stack (`make run`) is running: `make stop` first")
    paths = distributed_paths(root)
    for directory in (paths.run, paths.logs):
        directory.mkdir(parents=True, exist_ok=True)
    env = load_env(paths)
    # start_distributed stops its own processes when it fails; this stops the servers before it.
    with stopped_on_failure(paths, ("emulator", "s3")):
        s3 = start_local_s3(paths, env)
        emulator = start_local_emulator(paths, env)
        stack = start_distributed(paths, env)
    print()
    print(f"Airflow UI     {stack.url}   login: {stack.user} / {stack.password}")
    print("Executor       CeleryExecutor, workers: " + ", ".join(stack.workers))
    print(f"Metadata DB    PostgreSQL ({paths.local / 'postgres'}), broker Redis")
    if s3:
        print(f"Local S3       {s3}")
    if emulator:
        print(f"API emulator   {emulator}   (demo data for the last 14 days)")
    print(f"Logs           {stack.logs}")
    print("Stop it all    make stop")


def down() -> None:
    """`make stop`: both stacks, whichever is running."""
    paths = distributed_paths()
    stop_distributed(paths)
    stack_down(paths)
    stack_down(StackPaths(project_root()))


def status() -> None:
    for label, paths, names in (
        ("single machine", StackPaths(project_root()), PROCESSES),
        ("distributed", distributed_paths(), (*STOP_ORDER, "emulator", "s3")),
    ):
        print(f"{label}:")
        for name in names:
            pid = running_pid(paths, name)
            print(f"  {name:14} {'running, pid ' + str(pid) if pid else 'stopped'}")
