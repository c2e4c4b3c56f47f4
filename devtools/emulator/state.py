"""Everything one emulator process holds, and the operations that touch several parts of it."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import cast

from devtools.emulator.config import Credentials, DataKnobs, Limits
from devtools.emulator.dataset import Dataset, build_dataset
from devtools.emulator.faults import FaultConfig, FaultEngine
from devtools.emulator.journal import Journal
from devtools.emulator.ratelimit import BucketRegistry
from devtools.emulator.timefmt import now_ticks


class EmulatorState:
    def __init__(
        self, knobs: DataKnobs, limits: Limits, credentials: Credentials, verbose: bool = False
    ) -> None:
        # One lock guards the data (stores, stock) and the limits; buckets, faults and the
        # journal have their own.
        self.lock = threading.RLock()
        self.credentials = credentials
        self.verbose = verbose
        self.startup_knobs = knobs
        self.startup_limits = limits
        self.limits = limits
        self.data: Dataset = build_dataset(knobs)
        self.haravan_buckets = BucketRegistry()
        self.stocky_buckets = BucketRegistry()
        self.faults = FaultEngine()
        self.journal = Journal()

    def reset(self, changes: Mapping[str, object]) -> None:
        """Regenerate data from the startup knobs plus ``changes`` (which may also carry limit
        keys); restore startup limits; clear journal, faults and buckets."""
        limit_names = set(self.startup_limits.as_dict())
        knobs = self.startup_knobs.updated(
            {k: v for k, v in changes.items() if k not in limit_names}
        )
        limits = self.startup_limits.updated({k: v for k, v in changes.items() if k in limit_names})
        data = build_dataset(knobs)
        with self.lock:
            self.data = data
            self.limits = limits
        self.faults.configure(FaultConfig())
        self.journal.reset()
        self.haravan_buckets.clear()
        self.stocky_buckets.clear()

    def set_limits(self, changes: Mapping[str, object]) -> Limits:
        """Change limits live; buckets restart empty so the new size applies at once."""
        with self.lock:
            self.limits = self.limits.updated(changes)
            limits = self.limits
        self.haravan_buckets.clear()
        self.stocky_buckets.clear()
        return limits

    def insert(self, api: str, count: int, created: int | None) -> list[int]:
        """Add ``count`` new records (ids above all others) dated ``created`` or now."""
        with self.lock:
            when = now_ticks() if created is None else created
            if api == "haravan":
                store = self.data.haravan
                return [cast(int, store.insert_random(when)["id"]) for _ in range(count)]
            return [adjustment.id for adjustment in self.data.stocky.insert(count, when)]
