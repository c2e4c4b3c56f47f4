"""Entry point for ``python -m devtools.emulator``."""

from __future__ import annotations

import sys

from devtools.emulator.cli import main

if __name__ == "__main__":
    sys.exit(main())
