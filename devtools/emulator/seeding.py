"""Derive independent, reproducible random streams from the data seed."""

from __future__ import annotations

import random

_MASK = (1 << 64) - 1

# One salt per stream, so that changing one generator never shifts another's numbers.
CATALOG = 1
HARAVAN_INDEX = 2
HARAVAN_RECORD = 3
HARAVAN_INSERT = 4
STOCKY = 5
STOCKY_INSERT = 6
STOCK = 7
STOCKY_LEVEL = 8


def mix(seed: int, salt: int, index: int = 0) -> int:
    """SplitMix64-style scramble of (seed, salt, index) into one integer seed."""
    value = (seed * 0x9E3779B97F4A7C15 + salt * 0xBF58476D1CE4E5B9 + index) & _MASK
    value = ((value ^ (value >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
    value = ((value ^ (value >> 27)) * 0x94D049BB133111EB) & _MASK
    return value ^ (value >> 31)


def stream(seed: int, salt: int, index: int = 0) -> random.Random:
    return random.Random(mix(seed, salt, index))
