"""Find where a time window starts in an id-ordered history, with few requests.

Haravan has no date filter on adjustments, but ids grow with ``created_at`` and
``since_id=X&limit=n`` returns the first n records with an id above X. So the first record
created at or after ``start`` can be found by searching the id space: interpolation on
(id, created_at) guesses where ``start`` falls, bisection takes over whenever a guess fails to
halve the interval (so the search always converges, in about log2(id range) probes at worst),
and once the interval should hold only a few records, one page read from its lower end settles
it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

log = logging.getLogger(__name__)

# Records read around a known id: enough to estimate how far apart ids are.
SAMPLE_SIZE = 10
AIM_BELOW_DIVISOR = 128


@dataclass(frozen=True)
class Landmark:
    id: int
    created_at: datetime


# probe(since_id, limit): the first `limit` records with id > since_id, in ascending id order.
Probe = Callable[[int, int], Sequence[Landmark]]
Newest = Callable[[], Landmark | None]


class HistoryInconsistentError(RuntimeError):
    """The probes contradict "ids grow with created_at", or the hint was not before start."""


def find_first_since_id(
    start: datetime,
    *,
    probe: Probe,
    newest: Newest,
    hint_id: int | None = None,
    sweep_limit: int = 50,
) -> int:
    """The largest since_id such that every record created at or after `start` has a larger id.

    `hint_id`, if given, must be the id of a record created before `start` (for example the
    last id of the previous day's partition); the search then starts from it, and in the usual
    daily run the first request answers.
    """
    if hint_id is not None:
        sample = probe(hint_id - 1, SAMPLE_SIZE)
        if sample and sample[0].id == hint_id and sample[0].created_at >= start:
            raise HistoryInconsistentError(
                f"hint id {hint_id} was created at {sample[0].created_at.isoformat()}, "
                f"not before {start.isoformat()}"
            )
    else:
        sample = probe(0, SAMPLE_SIZE)
    boundary = _first_at_or_after(start, sample)
    if boundary is not None:
        return boundary.id - 1
    if len(sample) < SAMPLE_SIZE:
        # The sample reached the newest record: nothing was created at or after start yet.
        return sample[-1].id if sample else max(0, (hint_id or 1) - 1)
    top = newest()
    if top is None or top.created_at < start:
        return top.id if top else sample[-1].id
    lower = sample[-1]
    if lower.id >= top.id:
        raise HistoryInconsistentError(
            f"record {lower.id} was created before {start.isoformat()} but the newest record "
            f"{top.id} has a smaller or equal id"
        )
    return _Search(start, probe, sweep_limit, lower, top, _mean_gap(sample)).run()


def _first_at_or_after(start: datetime, records: Sequence[Landmark]) -> Landmark | None:
    return next((record for record in records if record.created_at >= start), None)


def _mean_gap(records: Sequence[Landmark]) -> float:
    if len(records) < 2:
        return 1.0
    return max(1.0, (records[-1].id - records[0].id) / (len(records) - 1))


class _Search:
    """Narrow (lower, upper] down to the first record created at or after start.

    Invariants: every record with id <= lower.id was created before start; upper was created
    at or after start; no record has an id in (ceiling, upper.id).
    """

    def __init__(
        self,
        start: datetime,
        probe: Probe,
        sweep_limit: int,
        lower: Landmark,
        upper: Landmark,
        mean_gap: float,
    ) -> None:
        self.start = start
        self.probe = probe
        self.sweep_limit = sweep_limit
        self.lower = lower
        self.upper = upper
        self.ceiling = upper.id - 1
        self.mean_gap = mean_gap
        self.probes = 0

    def run(self) -> int:
        bisect_next = False
        trust_estimate = True
        while self.lower.id < self.ceiling:
            width = self.ceiling - self.lower.id
            estimate = _interpolate(self.start, self.lower, self.upper, self.ceiling)
            records_below = (estimate - self.lower.id) / self.mean_gap
            if width / self.mean_gap <= self.sweep_limit / 2 or (
                trust_estimate and records_below <= self.sweep_limit / 4
            ):
                boundary = self._sweep()
                if boundary is not None:
                    self.upper = boundary
                    break
                # A sweep that missed means the estimates are off: do not sweep on them again.
                trust_estimate = False
                continue
            if bisect_next:
                since_id = self.lower.id + width // 2
            else:
                # Aim a little below the estimate: landing just under the boundary lets the
                # next move be a sweep, while landing above it teaches little.
                margin = max(2 * self.mean_gap, (estimate - self.lower.id) / AIM_BELOW_DIVISOR)
                since_id = max(self.lower.id, estimate - int(margin))
            self._step(since_id)
            bisect_next = (self.ceiling - self.lower.id) * 2 > width
            trust_estimate = True
        log.info(
            "first record created at or after %s: id %d (%d probes after sampling the ends)",
            self.start.isoformat(),
            self.upper.id,
            self.probes,
        )
        return self.upper.id - 1

    def _fetch(self, since_id: int, limit: int) -> Sequence[Landmark]:
        self.probes += 1
        found = self.probe(since_id, limit)
        if not found:
            raise HistoryInconsistentError(
                f"since_id={since_id} returned nothing although record {self.upper.id} exists"
            )
        return found

    def _step(self, since_id: int) -> None:
        record = self._fetch(since_id, 1)[0]
        if record.created_at >= self.start:
            self.upper, self.ceiling = record, since_id
            return
        if record.id >= self.upper.id:
            raise HistoryInconsistentError(
                f"record {record.id} was created before {self.start.isoformat()} but record "
                f"{self.upper.id}, created at or after it, has a smaller id"
            )
        self.lower = record

    def _sweep(self) -> Landmark | None:
        """Read the records right after lower: they hold the boundary, or lower moves past them."""
        records = self._fetch(self.lower.id, self.sweep_limit)
        boundary = _first_at_or_after(self.start, records)
        if boundary is None:
            if records[-1].id >= self.upper.id:
                raise HistoryInconsistentError(
                    f"record {records[-1].id} was created before {self.start.isoformat()} but "
                    f"record {self.upper.id}, created at or after it, has a smaller id"
                )
            self.lower = records[-1]
            self.mean_gap = _mean_gap(records)
        return boundary


def _interpolate(start: datetime, lower: Landmark, upper: Landmark, ceiling: int) -> int:
    """The since_id where `start` should fall, within [lower.id, ceiling).

    No record lies between ceiling and upper, so upper counts as sitting just above ceiling.
    """
    span_s = (upper.created_at - lower.created_at).total_seconds()
    share = (start - lower.created_at).total_seconds() / span_s if span_s > 0 else 0.5
    guess = lower.id + int(share * (ceiling + 1 - lower.id))
    return min(max(guess, lower.id), ceiling - 1)
