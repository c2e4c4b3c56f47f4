"""`make run` where people clone: under a folder other users cannot search (root's home,
anything `mktemp -d` made), as root as in CI and containers, where PostgreSQL runs as an
unprivileged user; and a start that fails part way stops what it had started.

Each test lays out a checkout's `.env` (the shipped `.env.example` on free ports) and `.local`
in a private folder and runs the stack's own `up` on it, up to a real failure: the UI's port
taken, or a damaged PostgreSQL cluster."""

from __future__ import annotations

import os
import re
import shutil
import socket
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from devtools.devstack import distributed
from devtools.devstack.processes import ProcessStartError, free_port, port_is_open
from devtools.devstack.stack import StackPaths, up

ROOT = Path(__file__).resolve().parents[3]


@dataclass(frozen=True)
class Checkout:
    root: Path
    ports: dict[str, int]


@pytest.fixture()
def private_checkout(monkeypatch: pytest.MonkeyPatch) -> Iterator[Checkout]:
    """A checkout's `.env` in `<mktemp -d>/inventory-lake`; the folder is mode 0700."""
    private = Path(tempfile.mkdtemp(prefix="inventory-lake-private-"))
    assert private.stat().st_mode & 0o777 == 0o700
    root = private / "inventory-lake"
    root.mkdir()
    ports = {"s3": free_port(), "emulator": free_port(), "airflow": free_port()}
    env = (
        (ROOT / ".env.example")
        .read_text()
        .replace("127.0.0.1:9000", f"127.0.0.1:{ports['s3']}")
        .replace("127.0.0.1:8765", f"127.0.0.1:{ports['emulator']}")
        .replace("AIRFLOW__API__PORT=8080", f"AIRFLOW__API__PORT={ports['airflow']}")
    )
    (root / ".env").write_text(env)
    # `up` hands the emulator its credentials through this process's environment: unset for
    # the test and unset again after it (a bare `delenv` of an unset name registers no undo,
    # so `up`'s values leaked into later tests of the worker, e.g. the emulator's 401 test).
    for name in ("EMULATOR_HARAVAN_TOKEN", "EMULATOR_STOCKY_STORE", "EMULATOR_STOCKY_KEY"):
        monkeypatch.setenv(name, "")
        monkeypatch.delenv(name)
    try:
        yield Checkout(root, ports)
    finally:
        shutil.rmtree(private, ignore_errors=True)


def _stopped(output: str) -> dict[str, int]:
    """What the failed start said it stopped: name -> pid."""
    lines = re.finditer(r"stopped (?P<name>\S+) \(pid (?P<pid>\d+)\)", output)
    return {line["name"]: int(line["pid"]) for line in lines}


def _assert_gone(stopped: dict[str, int], run_dir: Path, ports: list[int]) -> None:
    for name, pid in stopped.items():
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
        assert not (run_dir / f"{name}.pid").exists(), name
    assert not [port for port in ports if port_is_open("127.0.0.1", port)]


@pytest.fixture()
def taken_port() -> Iterator[Callable[[int], None]]:
    """Holds ports open, as another program listening on them would."""
    sockets: list[socket.socket] = []

    def take(port: int) -> None:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", port))
        sock.listen()
        sockets.append(sock)

    yield take
    for sock in sockets:
        sock.close()


def test_a_start_from_a_private_folder_starts_postgres_and_a_failure_stops_it_all(
    private_checkout: Checkout,
    taken_port: Callable[[int], None],
    capsys: pytest.CaptureFixture[str],
) -> None:
    """PostgreSQL comes up in `<private>/inventory-lake/.local/postgres` (as root: as its own
    user, which may not search the private folder); then the UI's port turns out taken, and
    S3, the emulator and PostgreSQL are stopped again."""
    taken_port(private_checkout.ports["airflow"])
    with pytest.raises(SystemExit, match=r"\(Airflow UI\) is taken"):
        up(StackPaths(private_checkout.root))
    output = capsys.readouterr().out
    stopped = _stopped(output)
    assert set(stopped) == {"s3", "emulator", "postgres"}, output
    paths = StackPaths(private_checkout.root)
    assert (paths.local / "postgres" / "PG_VERSION").exists()
    _assert_gone(
        stopped, paths.run, [private_checkout.ports["s3"], private_checkout.ports["emulator"]]
    )


def test_a_postgres_that_does_not_start_stops_the_servers_started_before_it(
    private_checkout: Checkout, capsys: pytest.CaptureFixture[str]
) -> None:
    """A damaged cluster (its files lost but for PG_VERSION): postgres exits at once."""
    paths = StackPaths(private_checkout.root)
    (paths.local / "postgres").mkdir(parents=True)
    (paths.local / "postgres" / "PG_VERSION").write_text("15\n")
    (paths.local / "postgres.password").write_text("lost-with-the-cluster")
    with pytest.raises(ProcessStartError, match="postgres exited"):
        up(paths)
    stopped = _stopped(capsys.readouterr().out)
    assert set(stopped) == {"s3", "emulator"}
    _assert_gone(
        stopped, paths.run, [private_checkout.ports["s3"], private_checkout.ports["emulator"]]
    )


def test_a_failed_distributed_start_stops_the_servers_started_before_it(
    private_checkout: Checkout,
    taken_port: Callable[[int], None],
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`make run-distributed` with the UI's port taken: its S3 server and emulator stop."""
    taken_port(private_checkout.ports["airflow"])
    with pytest.raises(SystemExit, match=r"\(Airflow UI\) is taken"):
        distributed.up(private_checkout.root)
    stopped = _stopped(capsys.readouterr().out)
    assert set(stopped) == {"s3", "emulator"}
    _assert_gone(
        stopped,
        distributed.distributed_paths(private_checkout.root).run,
        [private_checkout.ports["s3"], private_checkout.ports["emulator"]],
    )
