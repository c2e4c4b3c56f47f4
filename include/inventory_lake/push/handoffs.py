"""What one task of the push hands the next, as small typed values that travel as XComs.

Each is passed by TaskFlow as an XComArg (the DAG file wires `prepare` → `approve` → `push` →
`record`), never pulled by a hard-coded task id. Nothing here is a secret or a file's content.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any, Literal

from include.inventory_lake.push.lifecycle import SourceFile
from include.inventory_lake.push.summary import approval_body, approval_subject

DecisionKind = Literal["approved", "declined", "dry_run", "approved_before", "not_needed"]


@dataclass(frozen=True)
class Prepared:
    """`prepare`'s result: the file, its batch and what a person is asked, if anything."""

    key: str
    name: str
    source_sha256: str
    batch_id: str
    dry_run: bool
    resumed: bool
    needs_approval: bool
    lines: int | None
    requests: int | None
    guard_reasons: tuple[str, ...]
    plan_uri: str | None
    subject: str
    body: str

    @classmethod
    def of(
        cls,
        source: SourceFile,
        batch_id: str,
        summary: Mapping[str, Any] | None,
        *,
        dry_run: bool,
        resumed: bool,
    ) -> Prepared:
        return cls(
            key=source.key,
            name=source.name,
            source_sha256=source.sha256,
            batch_id=batch_id,
            dry_run=dry_run,
            resumed=resumed,
            needs_approval=bool(summary and summary["needs_approval"]),
            lines=summary["lines"] if summary else None,
            requests=summary["requests"] if summary else None,
            guard_reasons=tuple(summary["guard_reasons"]) if summary else (),
            plan_uri=summary["plan_uri"] if summary else None,
            subject=approval_subject(summary) if summary else "",
            body=approval_body(summary) if summary else "",
        )

    @property
    def no_approval_because(self) -> DecisionKind | None:
        """Why no person is asked (dry run, resumed, within the guard), or None to ask."""
        if self.dry_run:
            return "dry_run"
        if self.resumed:
            return "approved_before"
        if not self.needs_approval:
            return "not_needed"
        return None

    def as_xcom(self) -> dict[str, Any]:
        value = asdict(self)
        value["guard_reasons"] = list(self.guard_reasons)
        return value

    @classmethod
    def from_xcom(cls, value: Mapping[str, Any]) -> Prepared:
        return cls(**{**value, "guard_reasons": tuple(value["guard_reasons"])})


@dataclass(frozen=True)
class Decision:
    """`approve`'s result: a person's answer, or why nobody was asked."""

    approval: DecisionKind
    by: str | None
    at: str | None

    @property
    def declined(self) -> bool:
        return self.approval == "declined"

    def as_xcom(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_xcom(cls, value: Mapping[str, Any] | None) -> Decision | None:
        if not value:
            return None
        return cls(value["approval"], value.get("by"), value.get("at"))
