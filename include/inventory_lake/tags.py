"""The approved DAG tags; DAG policy tests reject any other."""

from __future__ import annotations

EXTRACT = "extract"
FACTS = "facts"
PUSH = "push"
HARAVAN = "haravan"
STOCKY = "stocky"
LAKE = "lake"

APPROVED = frozenset({EXTRACT, FACTS, PUSH, HARAVAN, STOCKY, LAKE})
