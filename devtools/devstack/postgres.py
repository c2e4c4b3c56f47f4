"""PostgreSQL from the OS package, run as one of the project's own processes.

No system service is used: `initdb` creates a cluster in a directory of the stack, and the
`postgres` server runs in the foreground on a loopback port, in its own session, so that it is
stopped by pid like every other process of the stack. PostgreSQL refuses to run as root; when
the stack runs as root (CI, containers) both commands run as an unprivileged system user
(`postgres`, created with `useradd` if the machine has none) through `setpriv`.

The cluster stays inside the checkout (`.local/postgres`), wherever that is. Under a folder
other users cannot search (root's home, anything `mktemp -d` made) the service user could not
reach it, so there, and only there, it gets the one capability that lets it walk down such
folders: CAP_DAC_READ_SEARCH, or CAP_DAC_OVERRIDE where the bounding set lacks that one
(Docker's default set). That needs nothing from the user (no chmod of their folders), keeps
the cluster where `make clean` removes it, and grants the database server no more than the
root user who started the stack (and whose Airflow tasks run as root) already has.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import secrets
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from devtools.devstack.processes import (
    ProcessStartError,
    ServerProcess,
    spawn,
    stop_pid_group,
)

SERVICE_USER = "postgres"
DATABASE = "airflow"
ROLE = "airflow"
PACKAGE_HINT = (
    "`make run`, `make test` and `make run-distributed` install the OS packages they need "
    "(or: `apt-get install -y --no-install-recommends postgresql redis-server`)"
)


@dataclass(frozen=True)
class PostgresLogin:
    host: str
    port: int
    # Kept out of repr: a failing test prints its fixtures' values.
    password: str = field(repr=False)
    database: str = DATABASE
    role: str = ROLE

    def url(self, scheme: str = "postgresql+psycopg2") -> str:
        return f"{scheme}://{self.role}:{self.password}@{self.host}:{self.port}/{self.database}"


def bin_dir() -> Path:
    """The newest installed PostgreSQL's bin directory (Debian: /usr/lib/postgresql/N/bin)."""
    candidates = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/postgres"),
        key=lambda path: int(path.parent.parent.name) if path.parent.parent.name.isdigit() else 0,
    )
    if candidates:
        return candidates[-1].parent
    on_path = shutil.which("postgres")
    if on_path:
        return Path(on_path).parent
    raise SystemExit(f"PostgreSQL's server binaries were not found: {PACKAGE_HINT}")


def _service_user() -> pwd.struct_passwd | None:
    """Who runs PostgreSQL: None for the current user, or the unprivileged service user."""
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam(SERVICE_USER)
    except KeyError:
        subprocess.run(
            ["useradd", "--system", "--user-group", "--no-create-home",
             "--home-dir", "/nonexistent", "--shell", "/usr/sbin/nologin", SERVICE_USER],
            check=True, capture_output=True, timeout=60,
        )  # fmt: skip
        return pwd.getpwnam(SERVICE_USER)


# Bits of the capability sets in /proc/self/status (linux/capability.h), narrowest first.
_CAPABILITIES_TO_REACH = ((2, "dac_read_search"), (1, "dac_override"))


def _as_service_user(args: list[str], user: pwd.struct_passwd | None, data_dir: Path) -> list[str]:
    """`args` as the service user (None: as the current user), able to reach `data_dir`."""
    if user is None:
        return args
    command = [
        "setpriv", f"--reuid={user.pw_uid}", f"--regid={user.pw_gid}", "--clear-groups",
    ]  # fmt: skip
    if not _can_reach(data_dir, user):
        capability = _capability_to_reach(data_dir, user)
        # Ambient: kept across the exec of postgres and of initdb's own `postgres --boot`.
        command += [f"--inh-caps=+{capability}", f"--ambient-caps=+{capability}"]
    return [*command, "--", *args]


def _can_reach(data_dir: Path, user: pwd.struct_passwd) -> bool:
    """Whether `user` (in its own group only: setpriv clears the others) may search every
    folder above `data_dir`."""
    for parent in data_dir.absolute().parents:
        info = parent.stat()
        if info.st_uid == user.pw_uid:
            allowed = info.st_mode & 0o100
        elif info.st_gid == user.pw_gid:
            allowed = info.st_mode & 0o010
        else:
            allowed = info.st_mode & 0o001
        if not allowed:
            return False
    return True


def _capability_to_reach(data_dir: Path, user: pwd.struct_passwd) -> str:
    bounding = _bounding_capabilities()
    for bit, name in _CAPABILITIES_TO_REACH:
        if bounding >> bit & 1:
            return name
    raise SystemExit(
        f"the {user.pw_name} user cannot reach the PostgreSQL data directory {data_dir} (a "
        "folder above it is not searchable by other users), and this process may not grant "
        "it CAP_DAC_READ_SEARCH or CAP_DAC_OVERRIDE: clone the repository under a folder "
        "other users can search (e.g. /srv or /opt), or run as a normal user"
    )


def _bounding_capabilities() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("CapBnd:"):
            return int(line.split()[1], 16)
    return 0


def _hand_over(path: Path, user: pwd.struct_passwd | None) -> None:
    if user is not None:
        os.chown(path, user.pw_uid, user.pw_gid)


def init_cluster(data_dir: Path, log_path: Path) -> str:
    """Create the cluster once; returns the password of the `airflow` role (kept beside it)."""
    password_file = data_dir.parent / f"{data_dir.name}.password"
    if (data_dir / "PG_VERSION").exists() and password_file.exists():
        return password_file.read_text().strip()
    user = _service_user()
    shutil.rmtree(data_dir, ignore_errors=True)
    data_dir.mkdir(parents=True, mode=0o700)
    _hand_over(data_dir, user)
    password = secrets.token_urlsafe(18)
    # initdb reads the superuser's password from a file; only the service user may read it.
    initdb_pw = data_dir.parent / f".{data_dir.name}.initdb-pw"
    initdb_pw.write_text(password)
    initdb_pw.chmod(0o600)
    _hand_over(initdb_pw, user)
    try:
        result = subprocess.run(
            _as_service_user(
                [str(bin_dir() / "initdb"), "--pgdata", str(data_dir), "--username", ROLE,
                 f"--pwfile={initdb_pw}", "--auth-host=scram-sha-256", "--auth-local=reject",
                 "--encoding=UTF8", "--no-locale"],
                user, data_dir,
            ),
            capture_output=True, text=True, timeout=300, cwd=data_dir.parent,
        )  # fmt: skip
    finally:
        initdb_pw.unlink(missing_ok=True)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("a") as log:
        log.write(result.stdout + result.stderr)
    if result.returncode != 0:
        raise ProcessStartError(f"initdb failed ({result.returncode}):\n{result.stderr[-2000:]}")
    password_file.write_text(password)
    password_file.chmod(0o600)
    return password


def start_postgres(
    data_dir: Path, port: int, log_path: Path, *, durable: bool = True
) -> tuple[ServerProcess, PostgresLogin]:
    """Initialise (first time), start on 127.0.0.1:`port`, wait, and create the database.

    `durable=False` (test clusters, thrown away after the run) also skips fsync: a crash of
    the machine may then corrupt the cluster, which a test run never reuses.
    """
    password = init_cluster(data_dir, log_path)
    user = _service_user()
    args = [
        str(bin_dir() / "postgres"), "-D", str(data_dir), "-h", "127.0.0.1", "-p", str(port),
        "-k", "",  # no Unix socket: everything connects over loopback TCP with a password
        "-c", "synchronous_commit=off",  # a dev stack: a crash may lose the last commits only
        # Airflow's scheduler, API server, DAG processor, triggerer and every task process
        # each hold a pool of connections; the default 100 is tight with two stacks at once.
        "-c", "max_connections=300",
    ]  # fmt: skip
    if not durable:
        args += ["-c", "fsync=off", "-c", "full_page_writes=off"]
    process = spawn(_as_service_user(args, user, data_dir), log_path)
    login = PostgresLogin("127.0.0.1", port, password)
    server = ServerProcess("postgres", process, login.url("postgresql"), log_path)
    try:
        _wait_until_accepting(process, login, log_path)
        create_database(login, login.database)
    except BaseException:
        stop_postgres(process.pid)
        raise
    return server, login


def _connect(login: PostgresLogin, database: str = "postgres") -> Any:
    import psycopg2

    return psycopg2.connect(
        host=login.host,
        port=login.port,
        user=login.role,
        password=login.password,
        dbname=database,
        connect_timeout=2,
    )


def _wait_until_accepting(
    process: subprocess.Popen[bytes], login: PostgresLogin, log_path: Path, timeout_s: float = 60
) -> None:
    import psycopg2

    deadline = time.monotonic() + timeout_s
    while True:
        if process.poll() is not None:
            raise ProcessStartError(
                f"postgres exited with {process.returncode}; log: {log_path}\n"
                + log_path.read_text(errors="replace")[-2000:]
            )
        try:
            _connect(login).close()
            return
        except psycopg2.OperationalError:
            if time.monotonic() > deadline:
                raise ProcessStartError(
                    f"postgres did not accept connections within {timeout_s:.0f}s; log: {log_path}"
                ) from None
            time.sleep(0.2)


def create_database(login: PostgresLogin, database: str) -> PostgresLogin:
    """Create `database` on the server unless it exists; returns the login that uses it."""
    connection = _connect(login)
    try:
        connection.autocommit = True
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", (database,))
            if cursor.fetchone() is None:
                cursor.execute(f'CREATE DATABASE "{database}"')
    finally:
        connection.close()
    return replace(login, database=database)


def stop_postgres(pid: int, timeout_s: float = 30.0) -> bool:
    """Fast shutdown (SIGINT to the postmaster: sessions end, data is flushed), then by force."""
    try:
        os.kill(pid, signal.SIGINT)
    except ProcessLookupError:
        return False
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)
        try:
            os.killpg(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.1)
    return stop_pid_group(pid)
