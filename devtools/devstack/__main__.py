"""python -m devtools.devstack up|up-distributed|down|status"""

from __future__ import annotations

import argparse
from collections.abc import Callable

from devtools.devstack import distributed
from devtools.devstack.stack import up


def main() -> None:
    parser = argparse.ArgumentParser(prog="devstack", description=__doc__)
    parser.add_argument("command", choices=["up", "up-distributed", "down", "status"])
    command = parser.parse_args().command
    commands: dict[str, Callable[[], None]] = {
        "up": up,
        "up-distributed": distributed.up,
        # Both stacks' processes, whichever were started.
        "down": distributed.down,
        "status": distributed.status,
    }
    commands[command]()


if __name__ == "__main__":
    main()
