"""`make bench`: run every benchmark module in its own process (peak RSS stays per-benchmark)
and pass through the JSON figures each prints, one object per line.

Usage: python -m tests.bench [name-substring ...]
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent


def main() -> int:
    wanted = sys.argv[1:]
    modules = sorted(path.stem for path in BENCH_DIR.glob("bench_*.py"))
    selected = [m for m in modules if not wanted or any(w in m for w in wanted)]
    failures = 0
    for module in selected:
        print(f"# {module}", file=sys.stderr, flush=True)
        result = subprocess.run(
            [sys.executable, "-m", f"tests.bench.{module}"], env=dict(os.environ), check=False
        )
        failures += result.returncode != 0
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
