"""Find where a time window starts in an id-ordered history, with few requests.

Haravan has no date filter on adjustments, but ids grow with ``created_at`` and
``since_id=X&limit=n`` returns the first n records with an id above X. So the first record
created at or after ``start`` can be found by searching the id space: interpolation on
(id, created_at) guesses where ``start`` falls, bisection takes over whenever a guess fails to
halve the interval (so the search always converges, in about log2(id range) probes at worst),
and once the interval should hold only a page of records, one page read from its lower end
settles it.

Every probe reads a whole page, aimed a little below the guess, so that the page which settles
the search usually holds the window's first records too: a caller that keeps it (the Haravan
client does) pays no request for the search beyond the pages it reads anyway. What the lake
already knows (`Bounds`: the last id of an earlier day, the first id of a later one, the ids
per second of a day) starts the search close to the boundary.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

log = logging.getLogger(__name__)

# Records read around a known id: enough to estimate how far apart ids are.
SAMPLE_SIZE = 10


@dataclass(frozen=True)
class Landmark:
    id: int
    created_at: datetime


# probe(since_id, limit): the first `limit` records with id > since_id, in ascending id order.
Probe = Callable[[int, int], Sequence[Landmark]]
Newest = Callable[[], Landmark | None]


class HistoryInconsistentError(RuntimeError):
    """The probes contradict "ids grow with created_at", or the hint was not before start."""


@dataclass(frozen=True)
class Bounds:
    """What is known before the search (e.g. from the lake's markers), all optional.

    - `lower`: a record created before start (the last id of an earlier day); its created_at
      may be an estimate (that day's end) when only the day is known.
    - `adjacent`: `lower` is the last record created before start (the previous day's last id,
      or an earlier day's with only empty days between): the first page read after it is the
      window's first page, and the record itself, read again, checks the claim.
    - `upper`: a record created at or after start (the first id of a later day); created_at
      may be an estimate (that day's start).
    - `mean_gap`: ids per record, `ids_per_s`: ids per second around start (from a day's
      marker), for an estimate when no upper bound is known.
    """

    lower: Landmark | None = None
    adjacent: bool = False
    upper: Landmark | None = None
    mean_gap: float | None = None
    ids_per_s: float | None = None


def find_first_since_id(
    start: datetime,
    *,
    probe: Probe,
    newest: Newest,
    hint_id: int | None = None,
    bounds: Bounds | None = None,
    limit: int = SAMPLE_SIZE,
) -> int:
    """The largest since_id such that every record created at or after `start` has a larger id.

    Every probe reads `limit` records (give the page size: the page that holds the boundary is
    then the window's first page, and a caller that keeps it asks for it only once).

    `hint_id`, if given, must be the id of a record created before `start` (for example the
    last id of the previous day's partition); the search then starts from it, and in the usual
    daily run the first request answers. `bounds` says the same and more (see `Bounds`).
    """
    if hint_id is not None:
        bounds = Bounds(lower=Landmark(hint_id, start - _TICK), adjacent=True)
    bounds = bounds or Bounds()
    limit = max(2, int(limit))
    upper = bounds.upper
    lower = bounds.lower
    if upper is not None and lower is not None and upper.id <= lower.id:
        raise HistoryInconsistentError(
            f"bounds: record {upper.id} (at or after {start.isoformat()}) is not above "
            f"record {lower.id} (before it)"
        )
    if lower is None or bounds.adjacent:
        since_id = 0 if lower is None else lower.id - 1
        page = probe(since_id, limit)
        if lower is not None and page and page[0].id == lower.id and page[0].created_at >= start:
            raise HistoryInconsistentError(
                f"hint id {lower.id} was created at {page[0].created_at.isoformat()}, "
                f"not before {start.isoformat()}"
            )
        boundary = _first_at_or_after(start, page)
        if boundary is not None:
            return boundary.id - 1
        if len(page) < limit:
            # The page reached the newest record: nothing was created at or after start yet.
            return page[-1].id if page else max(0, since_id)
        lower = page[-1]
        mean_gap = _mean_gap(page)
    else:
        mean_gap = bounds.mean_gap or 1.0
    search = _Search(start, probe, newest, limit, lower, upper, mean_gap, bounds.ids_per_s)
    return search.run()


_TICK = timedelta(microseconds=1)


def _first_at_or_after(start: datetime, records: Sequence[Landmark]) -> Landmark | None:
    return next((record for record in records if record.created_at >= start), None)


def _mean_gap(records: Sequence[Landmark]) -> float:
    if len(records) < 2:
        return 1.0
    return max(1.0, (records[-1].id - records[0].id) / (len(records) - 1))


class _Search:
    """Narrow (lower, ceiling] down to the first record created at or after start.

    Invariants: every record with id <= lower.id was created before start; upper, once known,
    was created at or after start and no record has an id in (ceiling, upper.id). Each probe
    reads a page: aimed a little below the estimated boundary, so that the page usually holds
    it (and is then the window's first page); bisection takes over whenever a probe fails to
    halve the interval, so the search always converges.
    """

    def __init__(
        self,
        start: datetime,
        probe: Probe,
        newest: Newest,
        limit: int,
        lower: Landmark,
        upper: Landmark | None,
        mean_gap: float,
        ids_per_s: float | None,
    ) -> None:
        self.start = start
        self.probe = probe
        self.newest = newest
        self.limit = limit
        self.lower = lower
        self.upper = upper
        self.ceiling = upper.id - 1 if upper is not None else None
        self.mean_gap = max(1.0, mean_gap)
        self.ids_per_s = ids_per_s
        self.probes = 0

    def run(self) -> int:
        bisect_next = False
        while True:
            if self.upper is None and not self.ids_per_s:
                top = self._newest()
                if top is None or top.created_at < self.start:
                    return max(self.lower.id, top.id if top else 0)
            if self.ceiling is not None and self.lower.id >= self.ceiling:
                assert self.upper is not None
                return self._found(self.upper)
            width = None if self.ceiling is None else self.ceiling - self.lower.id
            estimate = self._estimate()
            if width is not None and width / self.mean_gap <= self.limit * 0.8:
                since_id = self.lower.id  # the rest fits in a page: read it all
            elif bisect_next and width is not None:
                since_id = self.lower.id + width // 2
            else:
                since_id = max(self.lower.id, estimate - int(self._margin(estimate)))
            page = self._fetch(since_id)
            if not page:
                if self.upper is not None:
                    raise HistoryInconsistentError(
                        f"since_id={since_id} returned nothing although record "
                        f"{self.upper.id} exists"
                    )
                self.ids_per_s = None  # beyond the newest record: ask for it next
                continue
            boundary = _first_at_or_after(self.start, page)
            if boundary is not None and (boundary is not page[0] or since_id <= self.lower.id):
                return self._found(boundary)
            if boundary is not None:
                self.upper, self.ceiling = boundary, since_id
            else:
                if self.upper is not None and page[-1].id >= self.upper.id:
                    raise HistoryInconsistentError(
                        f"record {page[-1].id} was created before {self.start.isoformat()} "
                        f"but record {self.upper.id}, created at or after it, has a smaller id"
                    )
                if len(page) < self.limit and self.upper is None:
                    # The page reached the newest record: nothing at or after start yet.
                    return page[-1].id
                self.lower = page[-1]
                if len(page) > 1:
                    self.mean_gap = _mean_gap(page)
                if self.upper is None:
                    # The density estimate fell short (a quieter day than this one): take the
                    # newest record as the upper end rather than walking page by page.
                    self.ids_per_s = None
            new_width = None if self.ceiling is None else self.ceiling - self.lower.id
            bisect_next = width is not None and new_width is not None and new_width * 2 > width

    def _found(self, boundary: Landmark) -> int:
        log.info(
            "first record created at or after %s: id %d (%d probes after the first page)",
            self.start.isoformat(),
            boundary.id,
            self.probes,
        )
        return boundary.id - 1

    def _newest(self) -> Landmark | None:
        self.probes += 1
        top = self.newest()
        if top is not None and top.created_at >= self.start:
            if top.id <= self.lower.id:
                raise HistoryInconsistentError(
                    f"record {self.lower.id} was created before {self.start.isoformat()} but "
                    f"the newest record {top.id} has a smaller or equal id"
                )
            if self.upper is None or top.id < self.upper.id:
                self.upper, self.ceiling = top, top.id - 1
        return top

    def _estimate(self) -> int:
        """The since_id where start should fall."""
        if self.upper is not None and self.ceiling is not None:
            return _interpolate(self.start, self.lower, self.upper, self.ceiling)
        assert self.ids_per_s
        elapsed = (self.start - self.lower.created_at).total_seconds()
        return self.lower.id + max(0, int(elapsed * self.ids_per_s))

    def _margin(self, estimate: int) -> float:
        """How far below the estimate to aim, in ids: about 1.5 standard deviations of the
        number of records before start (records arrive at random), at most half a page."""
        below = max(0.0, (estimate - self.lower.id) / self.mean_gap)
        if self.ceiling is not None:
            above = max(0.0, (self.ceiling - estimate) / self.mean_gap)
            spread = (below * above / (below + above)) ** 0.5 if below + above else 0.0
        else:
            spread = below**0.5
        records = min(self.limit / 2, max(2.0, 1.5 * spread))
        return records * self.mean_gap

    def _fetch(self, since_id: int) -> Sequence[Landmark]:
        self.probes += 1
        return self.probe(since_id, self.limit)


def _interpolate(start: datetime, lower: Landmark, upper: Landmark, ceiling: int) -> int:
    """The since_id where `start` should fall, within [lower.id, ceiling).

    No record lies between ceiling and upper, so upper counts as sitting just above ceiling.
    """
    span_s = (upper.created_at - lower.created_at).total_seconds()
    share = (start - lower.created_at).total_seconds() / span_s if span_s > 0 else 0.5
    guess = lower.id + int(share * (ceiling + 1 - lower.id))
    return min(max(guess, lower.id), ceiling - 1)
