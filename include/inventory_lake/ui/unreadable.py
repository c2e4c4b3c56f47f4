"""Why the page could not read an object, in a few words: what it shows in the object's place
(the push batches, the lake status, the chart's days), so one bad object never stops the page."""

from __future__ import annotations

import csv
import json

from botocore.exceptions import ClientError

from include.inventory_lake.lake.store import error_code, is_missing
from include.inventory_lake.schemas.documents import DocumentInvalid

GONE = "deleted after its folder was listed"


class NotUsable(Exception):
    """An object that is there but is not what the page expects; the message says why."""


def unreadable_reason(error: Exception) -> str:
    """Why an object could not be read, in a few words. Other errors are named by type only:
    their text may hold an endpoint or a key from a connection (the log has them)."""
    if isinstance(error, NotUsable | DocumentInvalid):
        return str(error)
    if isinstance(error, UnicodeDecodeError):
        return f"not UTF-8 text (byte 0x{error.object[error.start]:02x} at offset {error.start})"
    if isinstance(error, json.JSONDecodeError):
        return f"not JSON ({error.msg} at line {error.lineno}, column {error.colno})"
    if isinstance(error, csv.Error):
        return f"not CSV ({error})"
    if isinstance(error, ClientError):
        code = error_code(error)
        return GONE if is_missing(error) else f"S3 answered {code or 'with an error'}"
    return type(error).__name__
