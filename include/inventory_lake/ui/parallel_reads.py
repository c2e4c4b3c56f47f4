"""Reads in parallel for the page: it makes dozens of small GETs (through the lake store), and
one at a time they add up on a real S3."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")

READ_THREADS = 8


def parallel_map(function: Callable[[T], R], items: Iterable[T]) -> list[R]:
    """`[function(item) for item in items]`, READ_THREADS at a time (boto3 clients are
    thread-safe); the first error is raised."""
    todo = list(items)
    if len(todo) <= 1:
        return [function(item) for item in todo]
    with ThreadPoolExecutor(max_workers=min(READ_THREADS, len(todo))) as pool:
        return list(pool.map(function, todo))
