"""The hex SHA-256 digests the project records (partition markers, push batches and ledgers)."""

from __future__ import annotations

import hashlib
from pathlib import Path


def bytes_sha256(data: bytes) -> str:
    """The hex sha256 of `data`."""
    return hashlib.sha256(data).hexdigest()


def file_sha256(path: Path) -> str:
    """The hex sha256 of a local file, read in blocks."""
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()
