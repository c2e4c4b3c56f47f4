"""Command line: parse options, build the state, serve until SIGTERM/SIGINT.

Credentials come from flags, else the EMULATOR_HARAVAN_TOKEN / EMULATOR_STOCKY_STORE /
EMULATOR_STOCKY_KEY environment variables, else the demo defaults.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import signal
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

from devtools.emulator.config import Credentials, DataKnobs, Limits
from devtools.emulator.server import EmulatorServer
from devtools.emulator.state import EmulatorState
from devtools.emulator.timefmt import parse_iso_ticks

_DEFAULT_CREDENTIALS = Credentials()
_ENV = {
    "haravan_token": "EMULATOR_HARAVAN_TOKEN",
    "stocky_store": "EMULATOR_STOCKY_STORE",
    "stocky_key": "EMULATOR_STOCKY_KEY",
}


def _end(text: str) -> int:
    try:
        return parse_iso_ticks(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not an ISO date or datetime: {text!r}") from exc


def build_parser() -> argparse.ArgumentParser:
    knobs, limits = DataKnobs(), Limits()
    parser = argparse.ArgumentParser(
        prog="python -m devtools.emulator",
        description="Haravan Omni + Stocky v2 API emulator",
    )
    add = parser.add_argument
    add("--host", default="127.0.0.1")
    add("--port", type=int, default=0, help="0 picks a free port")
    add("--ready-file", type=Path, help='written once listening: {"port", "pid", "url"}')
    add("--verbose", action="store_true", help="log one line per request to stderr")
    add("--haravan-token", help="accepted Bearer token")
    add("--stocky-store", help="accepted Store-Name header")
    add("--stocky-key", help="accepted API KEY")
    add("--seed", type=int, default=knobs.seed)
    add("--days", type=int, default=knobs.days)
    add("--end", type=_end, default=None, help="ISO date/datetime (UTC); default now")
    add("--haravan-per-day", type=int, default=knobs.haravan_per_day)
    add("--stocky-per-day", type=int, default=knobs.stocky_per_day)
    add("--max-lines", type=int, default=knobs.max_lines)
    add("--locations", type=int, default=knobs.locations)
    add("--variants", type=int, default=knobs.variants)
    add("--bucket-size", type=int, default=limits.bucket_size)
    add("--leak-rate", type=float, default=limits.leak_rate)
    add("--max-limit", type=int, default=limits.max_limit)
    add("--stocky-bucket-size", type=int, default=limits.stocky_bucket_size)
    add("--stocky-leak-rate", type=float, default=limits.stocky_leak_rate)
    add("--stocky-max-limit", type=int, default=limits.stocky_max_limit)
    return parser


def _credentials(args: argparse.Namespace) -> Credentials:
    values: dict[str, str] = {}
    for name, env_name in _ENV.items():
        flag = getattr(args, name)
        values[name] = flag or os.environ.get(env_name) or getattr(_DEFAULT_CREDENTIALS, name)
    return Credentials(**values)


def state_from_args(args: argparse.Namespace) -> EmulatorState:
    knobs = DataKnobs().updated(
        {
            "seed": args.seed,
            "days": args.days,
            "haravan_per_day": args.haravan_per_day,
            "stocky_per_day": args.stocky_per_day,
            "max_lines": args.max_lines,
            "locations": args.locations,
            "variants": args.variants,
        }
    )
    knobs = dataclasses.replace(knobs, end=args.end)
    limits = Limits().updated(
        {
            "bucket_size": args.bucket_size,
            "leak_rate": args.leak_rate,
            "max_limit": args.max_limit,
            "stocky_bucket_size": args.stocky_bucket_size,
            "stocky_leak_rate": args.stocky_leak_rate,
            "stocky_max_limit": args.stocky_max_limit,
        }
    )
    return EmulatorState(knobs, limits, _credentials(args), verbose=args.verbose)


def write_ready_file(path: Path, host: str, port: int) -> None:
    url_host = "127.0.0.1" if host in ("", "0.0.0.0", "::") else host
    payload = {"port": port, "pid": os.getpid(), "url": f"http://{url_host}:{port}"}
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_text(json.dumps(payload))
    os.replace(temporary, path)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        state = state_from_args(args)
    except ValueError as exc:
        parser.error(str(exc))
    server = EmulatorServer((args.host, args.port), state)
    port = int(server.server_address[1])
    stop = threading.Event()

    def _on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    serving = threading.Thread(
        target=server.serve_forever,
        kwargs={"poll_interval": 0.1},
        name="emulator-http",
        daemon=True,
    )
    serving.start()
    if args.ready_file is not None:
        write_ready_file(args.ready_file, args.host, port)
    if args.verbose:
        sys.stderr.write(f"emulator listening on {args.host}:{port}\n")
    while not stop.wait(0.2):
        pass
    server.shutdown()
    server.server_close()
    return 0
