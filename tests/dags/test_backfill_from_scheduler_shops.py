"""`make bench`'s backfill_from_scheduler in small (2 shops x 3 days): two emulators, the shops
Variable, a connection per shop, a backfill POSTed as the UI does to its own `airflow
standalone`. Every partition of every shop is exact, nothing is throttled, and the requests stay
near the data pages although the three runs of each shop start together (no previous day)."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest

from tests.bench.bench_backfill_from_scheduler import Workload, measure


@pytest.mark.backfills  # make test-backfills: it starts its own stack (about two minutes)
@pytest.mark.timeout(900)  # starts its own PostgreSQL, S3, two emulators and airflow standalone
def test_a_small_multi_shop_backfill_from_the_scheduler() -> None:
    run_dir = Path(tempfile.mkdtemp(prefix="backfill-shops-"))
    try:
        figures = measure(Workload(days=3, per_day=600), run_dir)
    finally:
        shutil.rmtree(run_dir, ignore_errors=True)
    assert figures["exact"], figures["inexact_partitions"]
    assert figures["throttled_429"] == 0
    assert figures["runs"] == {"success": 3}
    for shop, calls in figures["calls"].items():
        # 3 runs at once per shop: the first day's search ends on its first page; the other
        # two need at most the newest record and one page more each.
        assert calls <= figures["data_pages"][shop] + 4, figures
