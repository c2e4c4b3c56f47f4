"""python -m include.inventory_lake.devstack up|down|status"""

from __future__ import annotations

import argparse

from include.inventory_lake.devstack.stack import down, status, up


def main() -> None:
    parser = argparse.ArgumentParser(prog="devstack", description=__doc__)
    parser.add_argument("command", choices=["up", "down", "status"])
    command = parser.parse_args().command
    {"up": up, "down": down, "status": status}[command]()


if __name__ == "__main__":
    main()
