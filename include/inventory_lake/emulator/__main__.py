"""Entry point for ``python -m include.inventory_lake.emulator``."""

from __future__ import annotations

import sys

from include.inventory_lake.emulator.cli import main

if __name__ == "__main__":
    sys.exit(main())
