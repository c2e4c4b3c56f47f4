"""A task's phase timing logs only when the benchmark turns it on."""

from __future__ import annotations

import logging

import pytest

from include.inventory_lake.task_phases import LINE_PREFIX, PHASES_ENV, phase


def test_a_phase_logs_its_seconds_only_when_turned_on(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    caplog.set_level(logging.INFO, logger="include.inventory_lake.task_phases")
    monkeypatch.delenv(PHASES_ENV, raising=False)
    with phase("lake listing"):
        pass
    assert not caplog.messages
    monkeypatch.setenv(PHASES_ENV, "1")
    with pytest.raises(RuntimeError), phase("lake listing"):
        raise RuntimeError("the phase fails")  # still timed
    (line,) = caplog.messages
    assert line.startswith(f"{LINE_PREFIX}lake listing: ") and line.endswith(" s")
