"""Where set-adjustment files, plans, ledgers and audits live under the lake root.

```
staging/set_adjustments/approved/<name>                     placing a file here approves it
staging/set_adjustments/approved/shop=<id>/<name>           ... for shop <id> (several shops)
staging/set_adjustments/rejected/<sha12>_<name>             a refused file ...
staging/set_adjustments/rejected/<sha12>_<name>.report.csv  ... and why, row by row
staging/set_adjustments/processed/<sha12>_<name>            a file whose batch was sent
staging/set_adjustments/ledger/<batch_id>/batch.json        owner, status, plan facts, watermark
staging/set_adjustments/ledger/<batch_id>/plan.parquet      the plan the push follows
staging/set_adjustments/ledger/<batch_id>/plan.csv          the same plan for people
staging/set_adjustments/ledger/<batch_id>/chunks/<n>.json   one request's outcome
staging/set_adjustments/dry_run/<batch_id>/plan.{parquet,csv} and summary.json
staging/set_adjustments/dry_run/<sha12>_<name>.report.csv  why a dry run would reject a file
audit/set_adjustments/dt=YYYY-MM-DD/part-<batch_id>.parquet one row per line
```

`<sha12>` is the start of the file's SHA-256, so two files with one name never collide and a
retried move lands on the same key.

Handled files of a shop other than `default` (the single-shop deployment's shop) are kept in
that shop's sub-folder of `rejected/`, `processed/` and `dry_run/` (`rejected/shop=<id>/…`), so
the same file approved for two shops is two files there; the `default` shop's stay directly in
the folders, as before shops. A file refused for its place (an unknown shop's folder, or directly
in `approved/` when several shops are configured) is kept in the sub-folder it was found in.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

from include.inventory_lake.lake.lake import Lake
from include.inventory_lake.lake.location import (
    LakeRoot,
    dataset_key,
    day_folder,
    shop_folder,
    shop_of_folder,
)
from include.inventory_lake.settings import SET_ADJUSTMENTS_AUDIT_PATH, SET_ADJUSTMENTS_STAGING_PATH
from include.inventory_lake.shops import DEFAULT_SHOP_ID

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

APPROVED = "approved"
REJECTED = "rejected"
PROCESSED = "processed"
LEDGER = "ledger"
DRY_RUN = "dry_run"
REPORT_SUFFIX = ".report.csv"
BATCH_FILE = "batch.json"
SUMMARY_FILE = "summary.json"
SHA_PREFIX_CHARS = 12
_HEX = frozenset("0123456789abcdef")


def archived_name(name: str, source_sha256: str) -> str:
    """`<sha12>_<name>`: the name a handled file is stored under."""
    return f"{source_sha256[:SHA_PREFIX_CHARS]}_{name}"


def uploaded_name(stored_name: str) -> str:
    """The name a file was uploaded with (an archived one carries `<sha12>_` in front)."""
    head, underscore, rest = stored_name.partition("_")
    if underscore and len(head) == SHA_PREFIX_CHARS and set(head) <= _HEX:
        return rest
    return stored_name


def file_name(key: str) -> str:
    """The last part of a key."""
    return key.rsplit("/", 1)[-1]


def archive_folder(shop_id: str) -> str:
    """The sub-folder a shop's handled files are kept in: none for the `default` shop (as
    before shops), `shop=<id>` (`lake.location.shop_folder`, as in approved/) for any other."""
    return "" if shop_id == DEFAULT_SHOP_ID else shop_folder(shop_id)


@dataclass(frozen=True)
class PushLayout:
    root: LakeRoot

    def _staging(self, *parts: str) -> str:
        return self.root.key(SET_ADJUSTMENTS_STAGING_PATH, *parts)

    @property
    def staging_prefix(self) -> str:
        return self._staging() + "/"

    def folder_prefix(self, folder: str) -> str:
        """`staging/set_adjustments/<folder>/` (approved, rejected, processed, ledger, dry_run)."""
        return self._staging(folder) + "/"

    @property
    def approved_prefix(self) -> str:
        return self.folder_prefix(APPROVED)

    def directly_in(self, folder: str, key: str) -> bool:
        """Whether `key` is a file directly in the folder (not in one of its sub-folders)."""
        prefix = self.folder_prefix(folder)
        return key.startswith(prefix) and "/" not in key[len(prefix) :]

    def shop_file_in(self, folder: str, key: str) -> tuple[str | None, str] | None:
        """For a file directly in the folder: (None, name); directly in one of its `shop=<id>`
        sub-folders: (id, name); anywhere else (other sub-folders, other folders): None."""
        prefix = self.folder_prefix(folder)
        if not key.startswith(prefix):
            return None
        parts = key[len(prefix) :].split("/")
        if len(parts) == 1:
            return None, parts[0]
        if len(parts) == 2 and (shop := shop_of_folder(parts[0])) is not None:
            return shop, parts[1]
        return None

    def batch_id_in(self, folder: str, key: str) -> str | None:
        """The batch a key under `ledger/<batch_id>/` or `dry_run/<batch_id>/` belongs to."""
        prefix = self.folder_prefix(folder)
        if not key.startswith(prefix):
            return None
        batch_id, slash, _ = key[len(prefix) :].partition("/")
        return batch_id if slash and batch_id else None

    def archived_key(self, folder: str, name: str, source_sha256: str, sub: str = "") -> str:
        """`<folder>/<sub>/<sha12>_<name>`; `sub` is a sub-folder (e.g. `shop=<id>`) or ""."""
        parts = (folder, sub) if sub else (folder,)
        return self._staging(*parts, archived_name(name, source_sha256))

    def rejected_key(self, name: str, source_sha256: str, sub: str = "") -> str:
        return self.archived_key(REJECTED, name, source_sha256, sub)

    def report_key(self, name: str, source_sha256: str, sub: str = "") -> str:
        return self.rejected_key(name, source_sha256, sub) + REPORT_SUFFIX

    def processed_key(self, name: str, source_sha256: str, sub: str = "") -> str:
        return self.archived_key(PROCESSED, name, source_sha256, sub)

    def ledger_prefix(self, batch_id: str = "") -> str:
        return self._staging(LEDGER, batch_id) + "/"

    def batch_key(self, batch_id: str) -> str:
        return self._staging(LEDGER, batch_id, BATCH_FILE)

    def requests_prefix(self, batch_id: str) -> str:
        return self._staging(LEDGER, batch_id, "chunks") + "/"

    def request_key(self, batch_id: str, request: int) -> str:
        return self.requests_prefix(batch_id) + f"{request:05d}.json"

    def plan_key(self, batch_id: str, *, dry_run: bool, ext: str) -> str:
        folder = DRY_RUN if dry_run else LEDGER
        return self._staging(folder, batch_id, f"plan.{ext}")

    def dry_run_report_key(self, name: str, source_sha256: str, sub: str = "") -> str:
        return self.archived_key(DRY_RUN, name, source_sha256, sub) + REPORT_SUFFIX

    def dry_run_summary_key(self, batch_id: str) -> str:
        return self._staging(DRY_RUN, batch_id, SUMMARY_FILE)

    def audit_key(self, day: date, batch_id: str) -> str:
        return self.root.key(SET_ADJUSTMENTS_AUDIT_PATH, day_folder(day), audit_file(batch_id))

    def dataset_key(self, key: str) -> str:
        """The lineage dataset of a key: a batch's request outcomes are one dataset, the
        batch's `chunks` folder; any other key as the lake names it (`location.dataset_key`)."""
        batch_id = self.batch_id_in(LEDGER, key)
        if batch_id is not None and key.startswith(self.requests_prefix(batch_id)):
            return self.requests_prefix(batch_id).rstrip("/")
        return dataset_key(key)

    def uri(self, key: str) -> str:
        return f"s3://{self.root.bucket}/{key}"


AUDIT_FILE_PREFIX = "part-"
AUDIT_FILE_SUFFIX = ".parquet"


def audit_file(batch_id: str) -> str:
    """The name of a batch's audit file inside its day's partition."""
    return f"{AUDIT_FILE_PREFIX}{batch_id}{AUDIT_FILE_SUFFIX}"


def batch_of_audit_file(name: str) -> str | None:
    """The batch an audit file's name belongs to, or None for any other file."""
    if name.startswith(AUDIT_FILE_PREFIX) and name.endswith(AUDIT_FILE_SUFFIX):
        return name[len(AUDIT_FILE_PREFIX) : -len(AUDIT_FILE_SUFFIX)] or None
    return None


class PushLake(Lake):
    """The lake seen by the push: the bound lake with the push's layout under its root."""

    def __init__(self, client: S3Client, root: LakeRoot, *, records_lineage: bool = True) -> None:
        super().__init__(client, root, records_lineage=records_lineage)
        self.layout = PushLayout(root)

    def dataset_key(self, key: str) -> str:
        return self.layout.dataset_key(key)


def connect() -> PushLake:
    """The push's lake under the configured lake root (in a task)."""
    from include.inventory_lake.lake.connection import lake_root, s3_client

    return PushLake(s3_client(), lake_root())
