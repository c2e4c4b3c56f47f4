"""Lake root and partition addresses: `s3://bucket[/prefix]/<dataset>/dt=YYYY-MM-DD/`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from urllib.parse import urlsplit

DATA_FILE = "part-00000.parquet"
MARKER_FILE = "_SUCCESS"


@dataclass(frozen=True)
class LakeRoot:
    bucket: str
    prefix: str = ""

    @classmethod
    def parse(cls, uri: str) -> LakeRoot:
        parts = urlsplit(uri)
        if parts.scheme != "s3" or not parts.netloc:
            raise ValueError(f"lake URI must look like s3://bucket[/prefix], got {uri!r}")
        return cls(bucket=parts.netloc, prefix=parts.path.strip("/"))

    def key(self, *parts: str) -> str:
        return "/".join(p.strip("/") for p in (self.prefix, *parts) if p.strip("/"))

    def uri(self, *parts: str) -> str:
        return f"s3://{self.bucket}/{self.key(*parts)}"


@dataclass(frozen=True)
class Partition:
    root: LakeRoot
    dataset: str
    dt: date

    @property
    def prefix(self) -> str:
        return self.root.key(self.dataset, f"dt={self.dt.isoformat()}") + "/"

    @property
    def data_key(self) -> str:
        return self.prefix + DATA_FILE

    @property
    def marker_key(self) -> str:
        return self.prefix + MARKER_FILE

    @property
    def uri(self) -> str:
        return f"s3://{self.root.bucket}/{self.prefix}"
