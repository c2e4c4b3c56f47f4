"""Batches in any state, reached the only way there is: through their transitions."""

from __future__ import annotations

from collections.abc import Callable

from include.inventory_lake.push.lifecycle import Batch, SourceFile
from include.inventory_lake.schemas.push import BatchStatus

RUN = "run-a"
ATTEMPT = "run-a/try-1/x"
SOURCE = SourceFile("staging/set_adjustments/approved/a.csv", "a.csv", "etag-a", "f" * 64)

Step = Callable[[Batch], Batch]


def _plan(needs_approval: bool = False) -> Step:
    return lambda b: b.plan(
        RUN, lines=3, requests=2, lines_per_request=100, needs_approval=needs_approval,
        guard_reasons=("3 lines change by more than 500 units",) if needs_approval else (),
    )  # fmt: skip


def _start(b: Batch) -> Batch:
    return b.start_sending(RUN, attempt=ATTEMPT, watermark=100)


PATHS: dict[BatchStatus, tuple[Step, ...]] = {
    "planning": (),
    "planned": (_plan(),),
    "rejected": (lambda b: b.reject(RUN, "Haravan stock check failed"),),
    "declined": (_plan(needs_approval=True), lambda b: b.decline(RUN, by="lan", at="t")),
    "sending": (_plan(), _start),
    "sent": (_plan(), _start, lambda b: b.all_sent(RUN)),
    "failed": (_plan(), _start, lambda b: b.refuse(RUN, request=1, error="HTTP 400")),
    "done": (_plan(), _start, lambda b: b.all_sent(RUN), lambda b: b.finish(RUN)),
    # Withdrawn while sending: requests may have landed (the other path, from planned, is
    # tested on its own).
    "withdrawn": (_plan(), _start, lambda b: b.withdraw(RUN, "a.csv was removed")),
}


def batch_in(
    status: BatchStatus, *, batch_id: str = "b1", source: SourceFile = SOURCE, run_id: str = RUN
) -> Batch:
    batch = Batch.claim(
        batch_id=batch_id, content_sha256="c" * 64, forced=False, source=source,
        run_id=run_id, lines=3, lines_per_request=100,
    )  # fmt: skip
    for step in PATHS[status]:
        batch = step(batch)
    assert batch.status == status
    return batch
