"""Facts builds running at once share their catalog commits.

An Iceberg table's commits are serial: each writes new metadata and swaps the catalog's
pointer to it, and a commit that loses the swap does its work again. A backfill's facts tasks
(8 at once) finishing within a second of one another spent most of their time losing to each
other (60 shop|days: 77 lost races, 11.9 times the wall time of the plain Parquet writes). So
a build does not commit its shop|day alone:

1. It stages its file (copied to the table's data location, `replace.stage_partition_file`)
   and writes a commit request naming it into the lake, under
   `<lake root>/state/iceberg_commit_requests/<namespace>.<table>/requests/`.
2. It takes the table's commit lock (`lock.json` beside the requests; a conditional write,
   so one holder at a time; a holder that died is replaced once its lease has run out), or
   waits while another build holds it.
3. The holder commits every request waiting at that moment in one replace (each shop|day
   still replaced atomically, several in one snapshot), whose summary names each shop|day
   with its request (`snapshot_summary`), then deletes those requests and lets go.
4. A build whose request is gone reads the snapshot that names it, and returns.

What holds: a request is committed once (a holder first drops the requests a kept snapshot
already names: a holder that died between its commit and its deletes). Two requests of one
shop|day (a task and its retry): the newer is committed, the older is named `superseded` in
the same snapshot and its file deleted. Underneath, the catalog's own guarantees stand: the
lock only saves lost work; a writer that does not take it (the 2.0 migration) is still
validated against and retried (`replace._replace`), and a holder whose requests another
holder committed meanwhile calls its replace off and looks again.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from include.inventory_lake.iceberg.replace import (
    ATTEMPT_PROPERTY,
    ReplacedPartition,
    StagedDataFile,
    replace_staged,
    stage_partition_file,
)
from include.inventory_lake.iceberg.snapshot_summary import (
    PartitionSummary,
    replaced_partitions,
    summary_of,
)
from include.inventory_lake.lake.store import WriteConflict
from include.inventory_lake.settings import ICEBERG_COMMIT_REQUESTS_PATH

if TYPE_CHECKING:
    from pyiceberg.table import Table

    from include.inventory_lake.lake.lake import Lake

log = logging.getLogger(__name__)

# A holder commits within seconds; one that has not let go after this long has died.
LOCK_LEASE_S = 120.0
# A request not committed after this long fails its task (the retry builds the day again).
WAIT_LIMIT_S = 1800.0
# At most this many shop|days in one commit (a bounded snapshot summary and manifest).
MAX_PARTITIONS_PER_COMMIT = 64
# A holder goes on committing what arrives for this long, then lets another build take over.
HOLD_S = 5.0
# How often a waiting build looks whether the lock is free (a holder that let go or died).
LOCK_RETRY_S = 1.0
_FIRST_POLL_S = 0.1
_MAX_POLL_S = 0.4


class CommitRequestLost(RuntimeError):
    """A request left the queue, but no kept snapshot of the table names it."""


class RequestsCommittedMeanwhile(RuntimeError):
    """Another holder committed some of the requests while this one was committing them."""


@dataclass(frozen=True)
class CommitRequest:
    request_id: str
    key: str
    staged: StagedDataFile
    run_id: str | None


class CommitQueue:
    """The commit requests and the commit lock of one table, in the lake."""

    def __init__(self, lake: Lake, table_name: str) -> None:
        self._lake = lake
        folder = lake.key(ICEBERG_COMMIT_REQUESTS_PATH, table_name)
        self._requests = f"{folder}/requests/"
        self._lock = f"{folder}/lock.json"

    def submit(self, staged: StagedDataFile, run_id: str | None) -> CommitRequest:
        request_id = uuid.uuid4().hex
        # Keys sort in the order the requests were made: the newest of a shop|day wins.
        key = f"{self._requests}{time.time_ns():020d}-{request_id}.json"
        document = {"request": request_id, "run_id": run_id, "file": staged.to_json()}
        self._lake.put_state(key, document, if_none_match=True)
        return CommitRequest(request_id, key, staged, run_id)

    def is_waiting(self, request: CommitRequest) -> bool:
        return self._lake.etag(request.key) is not None

    def waiting(self) -> list[CommitRequest]:
        """The requests waiting now, oldest first; one that cannot be read is dropped (its
        build finds it gone, and no snapshot names it: the build fails and its retry runs)."""
        from concurrent.futures import ThreadPoolExecutor

        keys = self._lake.list_keys(self._requests)[:MAX_PARTITIONS_PER_COMMIT]
        with ThreadPoolExecutor(max(1, min(len(keys), 8))) as pool:
            documents = list(pool.map(self._lake.read_state, keys))
        requests = []
        for key, stored in zip(keys, documents, strict=True):
            if stored is None:
                continue
            try:
                document = json.loads(stored.body)
                staged = StagedDataFile.from_json(document["file"])
                requests.append(CommitRequest(document["request"], key, staged, document["run_id"]))
            except (KeyError, TypeError, ValueError) as error:
                log.error("commit request %s cannot be read (%s): dropped", key, error)
                self._lake.delete(key)
        return requests

    def has_waiting(self) -> bool:
        return bool(self._lake.list_keys(self._requests))

    def remove(self, requests: list[CommitRequest]) -> None:
        self._lake.delete_many([request.key for request in requests])

    def try_lock(self, owner: str) -> bool:
        """Take the commit lock for `owner`, if nobody holds it (or its holder's lease ran out)."""
        lease = {"owner": owner, "expires_at": time.time() + LOCK_LEASE_S}
        held = self._lake.read_state(self._lock)
        try:
            if held is None:
                self._lake.put_state(self._lock, lease, if_none_match=True)
                return True
            holder = _lease(held.body)
            if float(holder.get("expires_at", 0)) > time.time():
                return False
            log.warning("commit lock of %s expired (holder %s): taken over", self._lock, holder)
            self._lake.put_state(self._lock, lease, if_match=held.etag)
            return True
        except WriteConflict:
            return False

    def unlock(self, owner: str) -> None:
        held = self._lake.read_state(self._lock)
        if held is not None and _lease(held.body).get("owner") == owner:
            self._lake.delete(self._lock)


def commit_partition_file(
    lake: Lake,
    table: Table,
    shop: str,
    dt: date,
    parquet_file: Path,
    *,
    run_id: str | None = None,
    source_uri: str | None = None,
    wait_limit_s: float = WAIT_LIMIT_S,
) -> ReplacedPartition:
    """Make `parquet_file` the rows of `shop`|`dt`, in a commit shared with the other builds
    committing at the same time (see the module doc); `source_uri` as for
    `replace.stage_partition_file`."""
    staged = stage_partition_file(table, shop, dt, parquet_file, source_uri=source_uri)
    queue = CommitQueue(lake, ".".join(table.name()))
    request = queue.submit(staged, run_id)
    deadline = time.monotonic() + wait_limit_s
    poll = _FIRST_POLL_S
    next_lock_try = 0.0
    while queue.is_waiting(request):
        now = time.monotonic()
        if now >= next_lock_try:
            if hold_and_commit(queue, table, request.request_id):
                continue
            next_lock_try = now + LOCK_RETRY_S
        if now > deadline:
            raise TimeoutError(
                f"the commit of {staged.key} waited {wait_limit_s:g} s for the table's commit "
                f"lock; its request {request.key} stays for the next holder to commit"
            )
        time.sleep(poll)
        poll = min(poll * 1.5, _MAX_POLL_S)
    return settled(table, request)


def hold_and_commit(queue: CommitQueue, table: Table, owner: str) -> bool:
    """With the commit lock, commit what waits, and go on while more arrives (for at most
    `HOLD_S`: then a waiting build takes over); False when another build held the lock.

    The holder commits for everyone, so a waiting build only watches its own request: one
    small request now and then instead of a race for the lock after every commit. A request
    made while the holder lets go is seen by its look at the queue after the release."""
    held = False
    started = time.monotonic()
    while time.monotonic() - started < HOLD_S and queue.try_lock(owner):
        held = True
        try:
            while commit_waiting(queue, table) and time.monotonic() - started < HOLD_S:
                pass
        finally:
            queue.unlock(owner)
        if not queue.has_waiting():
            break
    return held


def commit_waiting(queue: CommitQueue, table: Table) -> int:
    """Commit the requests waiting now, in one replace (the lock held; see the module doc);
    how many requests it settled."""
    while True:
        settled_now = _commit_once(queue, table)
        if settled_now is not None:
            return settled_now
        log.warning("another holder committed some of the waiting requests: looking again")


def _commit_once(queue: CommitQueue, table: Table) -> int | None:
    """One look at the queue and its commit: how many requests it settled; None when another
    holder committed some of the same requests meanwhile (nothing committed: look again)."""
    waiting = queue.waiting()
    if not waiting:
        return 0
    table.refresh()
    done = settled_requests(table)
    fresh = [request for request in waiting if request.request_id not in done]
    newest: dict[str, CommitRequest] = {}
    superseded: dict[str, list[CommitRequest]] = {}
    for request in fresh:
        replaced = newest.get(request.staged.key)
        if replaced is not None:
            superseded.setdefault(request.staged.key, []).append(replaced)
        newest[request.staged.key] = request
    staged = [
        (
            request.staged,
            PartitionSummary(
                key,
                rows=request.staged.rows,
                run_id=request.run_id,
                request=request.request_id,
                superseded=tuple(r.request_id for r in superseded.get(key, ())),
            ),
        )
        for key, request in newest.items()
    ]
    ids = {request.request_id for request in fresh}

    def not_committed_meanwhile(table: Table) -> None:
        meanwhile = ids & settled_requests(table)
        if meanwhile:
            raise RequestsCommittedMeanwhile(sorted(meanwhile))

    if staged:
        started = time.perf_counter()
        try:
            snapshot_id, _ = replace_staged(table, staged, precondition=not_committed_meanwhile)
        except RequestsCommittedMeanwhile:
            return None
        log.info(
            "one commit for %d waiting build(s) of %s: snapshot %d, %.2f s",
            len(staged), ".".join(table.name()), snapshot_id, time.perf_counter() - started,
        )  # fmt: skip
        for requests in superseded.values():
            for request in requests:
                if request.staged.path is not None:
                    table.io.delete(request.staged.path)
    queue.remove(waiting)
    return len(waiting)


def settled_requests(table: Table) -> set[str]:
    """The requests the table's kept snapshots name (committed or superseded)."""
    return {
        request
        for snapshot in table.metadata.snapshots
        for partition in replaced_partitions(summary_of(snapshot)).values()
        for request in partition.requests()
    }


def settled(table: Table, request: CommitRequest) -> ReplacedPartition:
    """The replace that settled `request`, from the snapshot naming it (the table as it is,
    then, when that does not name it yet, refreshed: a holder's own table is fresh)."""
    found = _settled_in(table, request)
    if found is None:
        table.refresh()
        found = _settled_in(table, request)
    if found is None:
        raise CommitRequestLost(
            f"the commit request of {request.staged.key} ({request.key}) left the queue but no "
            f"snapshot of {'.'.join(table.name())} names it: the table is unchanged for this "
            "build, whose task fails so that its retry builds the day again"
        )
    return found


def _settled_in(table: Table, request: CommitRequest) -> ReplacedPartition | None:
    staged = request.staged
    for snapshot in sorted(table.metadata.snapshots, key=lambda s: -(s.sequence_number or 0)):
        properties = summary_of(snapshot)
        partition = replaced_partitions(properties).get(staged.key)
        if partition is None or request.request_id not in partition.requests():
            continue
        if partition.request != request.request_id:
            log.warning(
                "the commit request of %s (run %s) was superseded by a newer build of the same "
                "shop|day (run %s), committed in snapshot %d",
                staged.key, request.run_id, partition.run_id, snapshot.snapshot_id,
            )  # fmt: skip
        return ReplacedPartition(
            staged.shop,
            staged.dt,
            partition.rows if partition.rows is not None else staged.rows,
            snapshot.snapshot_id,
            int(properties.get(ATTEMPT_PROPERTY, "1")),
        )
    return None


def _lease(body: bytes) -> dict[str, Any]:
    """A lock's lease; one that cannot be read counts as expired (it is taken over)."""
    try:
        lease = json.loads(body)
        float(lease.get("expires_at", 0))
    except (AttributeError, TypeError, ValueError):
        return {}
    return dict(lease)
