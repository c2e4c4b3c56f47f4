"""The facts table's file IO: pyiceberg's own (`PyArrowFileIO`), with S3 files opened lazily.

pyarrow's S3 filesystem starts every written file as a multipart upload (create, one part,
complete: three requests) unless it may delay the open (`allow_delayed_open`), when a file
smaller than a part is one `PutObject`. Almost every file a facts commit writes is small (its
data file, the manifest, the manifest list, the metadata file), so the delayed open takes two
requests off each; measured here, a third of the object-store requests a backfill's commits
made (tests/bench/bench_iceberg.py). pyiceberg 0.12 has no property for it, hence this
subclass, which the catalog names as its `py-io-impl` (`catalog.catalog_properties`) unless the
connection chooses another. The one cost the option has (a write to a bucket that does not
exist fails at close instead of at open) changes no outcome: the commit fails either way.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pyiceberg.io import S3_RETRY_STRATEGY_IMPL
from pyiceberg.io.pyarrow import PyArrowFileIO

if TYPE_CHECKING:
    from pyarrow.fs import FileSystem


class DelayedOpenFileIO(PyArrowFileIO):
    """`PyArrowFileIO` whose S3 filesystem may delay opening a file (see the module doc)."""

    def _initialize_s3_fs(self, netloc: str | None) -> FileSystem:
        filesystem = super()._initialize_s3_fs(netloc)
        if self.properties.get(S3_RETRY_STRATEGY_IMPL):
            return filesystem  # a custom retry strategy is not among the settings rebuilt
        rebuild, (options,) = filesystem.__reduce__()  # the filesystem's own settings
        return rebuild({**options, "allow_delayed_open": True})
