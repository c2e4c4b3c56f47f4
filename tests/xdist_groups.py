"""Tests of one group (`xdist_group`) on one pytest-xdist worker, on pytest 9.2."""

from __future__ import annotations

import pytest


def in_group(config: pytest.Config, item: pytest.Item, group: str) -> None:
    """Mark `item` as of `group` and give it the `@<group>` suffix that `--dist loadgroup`
    schedules by. pytest-xdist 3.8 appends that suffix to `item._nodeid`, which pytest 9.2 no
    longer reads (`nodeid` is `_id`): the groups were ignored, and each worker started each
    session-scoped standalone of its tests."""
    from _pytest.nodeid import NodeId

    item.add_marker(pytest.mark.xdist_group(group))
    if getattr(config.option, "loadgroup", False) and not item.nodeid.endswith(f"@{group}"):
        item._id = NodeId.parse(f"{item.nodeid}@{group}")
