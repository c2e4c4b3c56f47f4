"""What one task of the push hands the next: small typed values that travel as XComs.

The DAG wires them as a chain of XComArgs, `prepare` → `approve` → `push` → `record`, each task
taking only the value of the one before it (a `Decision` carries its `Prepared`, a `Pushed` its
batch id), never pulling by a hard-coded task id. Nothing here is a secret or a file's content.
The shop a file is for (its id and connection ids, `shops.Shop`) travels in `Prepared` and
`Pushed`; a value written before shops has none and means the default shop.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from include.inventory_lake.push.lifecycle import SourceFile
from include.inventory_lake.push.summary import approval_body, approval_subject
from include.inventory_lake.shops import DEFAULT_SHOP, Shop

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
    needs_approval: bool = False
    lines: int | None = None
    requests: int | None = None
    guard_reasons: tuple[str, ...] = ()
    plan_uri: str | None = None
    subject: str = ""
    body: str = ""
    shop: Shop = DEFAULT_SHOP

    @classmethod
    def of(
        cls,
        source: SourceFile,
        batch_id: str,
        summary: Mapping[str, Any] | None,
        *,
        shop: Shop = DEFAULT_SHOP,
        dry_run: bool = False,
        resumed: bool = False,
    ) -> Prepared:
        """From a plan's summary; a resumed batch has none (its plan was approved before)."""
        if summary is None:
            return cls(
                source.key, source.name, source.sha256, batch_id, dry_run, resumed, shop=shop
            )
        return cls(
            key=source.key,
            name=source.name,
            source_sha256=source.sha256,
            batch_id=batch_id,
            dry_run=dry_run,
            resumed=resumed,
            needs_approval=bool(summary["needs_approval"]),
            lines=summary["lines"],
            requests=summary["requests"],
            guard_reasons=tuple(summary["guard_reasons"]),
            plan_uri=summary["plan_uri"],
            subject=approval_subject(summary),
            body=approval_body(summary),
            shop=shop,
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
        value["shop"] = self.shop.as_xcom()
        return value

    @classmethod
    def from_xcom(cls, value: Mapping[str, Any]) -> Prepared:
        return cls(
            **{
                **value,
                "guard_reasons": tuple(value["guard_reasons"]),
                "shop": _shop(value),
            }
        )


def _shop(value: Mapping[str, Any]) -> Shop:
    """The shop of a hand-off; one written before shops names none: the default shop."""
    shop = value.get("shop")
    return DEFAULT_SHOP if shop is None else Shop.from_xcom(shop)


@dataclass(frozen=True)
class Decision:
    """`approve`'s result: a person's answer, or why nobody was asked, with what was decided on."""

    prepared: Prepared
    approval: DecisionKind
    by: str | None = None
    at: str | None = None

    @property
    def declined(self) -> bool:
        return self.approval == "declined"

    @property
    def who(self) -> str:
        return self.by or "nobody (no answer in time)"

    def as_xcom(self) -> dict[str, Any]:
        return {**asdict(self), "prepared": self.prepared.as_xcom()}

    @classmethod
    def from_xcom(cls, value: Mapping[str, Any]) -> Decision:
        return cls(
            Prepared.from_xcom(value["prepared"]), value["approval"], value["by"], value["at"]
        )


@dataclass(frozen=True)
class Pushed:
    """`push`'s result: the batch every request of which Haravan has applied, and the figures."""

    batch_id: str
    status: str
    requests_sent: int
    report: Mapping[str, Any] = field(default_factory=dict)
    shop: Shop = DEFAULT_SHOP

    def as_xcom(self) -> dict[str, Any]:
        return {**asdict(self), "report": dict(self.report), "shop": self.shop.as_xcom()}

    @classmethod
    def from_xcom(cls, value: Mapping[str, Any]) -> Pushed:
        return cls(
            value["batch_id"],
            value["status"],
            value["requests_sent"],
            value["report"],
            shop=_shop(value),
        )
