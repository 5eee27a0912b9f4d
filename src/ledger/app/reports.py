"""What the compliance and report commands ask: the conditions of a year, its special report
written, checked against a file, compared between two instants, adopted. Each checks its
arguments first (an ``InputError`` naming ``year``, ``lang``, ``format``…), then projects."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date
from typing import Any

from ledger.chain.ledger import Ledger, parse_row
from ledger.core import conditions, values
from ledger.core import register as share_register
from ledger.core.envelope import Entry
from ledger.core.keys import SigningKey
from ledger.errors import InputError
from ledger.projections import projected, projection
from ledger.projections.projection import Compliance, Finding
from ledger.reporting import documents, model
from ledger.reporting.documents import FORMATS, Produced

__all__ = [
    "FORMATS",
    "Checked",
    "Compliance",
    "Finding",
    "Produced",
    "adopt",
    "check",
    "compliance",
    "diff",
    "finding_text",
    "instant",
    "members",
    "write",
]


def instant(text: str | None, field: str = "as_known_at") -> str | None:
    """An ISO date or date-time as the recorded-at instant it means (a date: the end of that
    day, UTC); None stays None."""
    if text is None:
        return None
    try:
        return projection.instant(text)
    except ValueError:
        raise InputError(
            field,
            f"{text!r} is not an ISO date or date-time, e.g. 2024-12-31 or "
            "2025-03-01T12:00:00+01:00",
        ) from None


def compliance(
    ledger: Ledger, year: int, as_known_at: str | None = None, lang: str = "fr"
) -> tuple[Compliance, bytes]:
    """Each condition in ``year`` as known at ``as_known_at`` (an instant, see
    :func:`instant`), and the tree root of the prefix it rests on."""
    values.year("year", year)
    conditions.language("lang", lang)
    return projected.compliance(ledger, year, as_known_at, lang=lang)


@dataclass(frozen=True, slots=True)
class Members:
    """The share register on a day, as known at an instant: each member's holding."""

    on: str
    as_known_at: str | None
    size: int  # events folded
    holdings: dict[str, share_register.Holding]  # member number -> holding; empty: no register

    def to_json(self) -> dict[str, Any]:
        return {
            "on": self.on,
            "as_known_at": self.as_known_at,
            "size": self.size,
            "members": len(self.holdings),
            "shares": sum(h.shares for h in self.holdings.values()),
            "nominal_value": str(sum(h.nominal_value for h in self.holdings.values())),
            "amount_paid_in": str(sum(h.amount_paid_in for h in self.holdings.values())),
            "holdings": [_holding(m, h) for m, h in self.holdings.items()],
        }


def _holding(member: str, h: share_register.Holding) -> dict[str, Any]:
    return {
        "member_number": member,
        "shares": h.shares,
        "nominal_value": str(h.nominal_value),
        "amount_paid_in": str(h.amount_paid_in),
    }


def members(ledger: Ledger, on: str | None = None, as_known_at: str | None = None) -> Members:
    """The members and their shares on day ``on`` (ISO; None: today) as known at
    ``as_known_at``, from the share register's events (names stay out: personal data)."""
    day = date.fromisoformat(values.iso_date("on", on)) if on else date.today()
    world = projected.world(ledger, as_known_at)
    held = projection.register_on(world, day) or {}
    return Members(
        day.isoformat(), as_known_at, world.size, dict(sorted(share_register.members(held).items()))
    )


def finding_text(finding: Finding, lang: str) -> str:
    """A finding in ``lang`` (fr, nl, en), as the report words it."""
    return model.finding_text(finding, lang)


def write(
    ledger: Ledger, year: int, lang: str = "fr", fmt: str = "md", as_known_at: str | None = None
) -> Produced:
    """The special report of ``year``: same ledger and arguments, same bytes."""
    return documents.produce(ledger, values.year("year", year), lang, fmt, as_known_at)


@dataclass(frozen=True, slots=True)
class Checked:
    """A report file recomputed from its ledger, and whether it is the one the board adopted."""

    produced: Produced
    ledger: str
    adoption: Entry | None  # the SpecialReportAdopted recording this very file's hash
    adopted_other: list[Entry]  # adoptions of the same year recording another file


def check(target: str, data: bytes, select: str | None = None) -> Checked:
    """Recompute the report file ``data`` from the ledger its marker names (in the store at
    ``target``; ``select`` overrides), and say whether the board adopted this very file.
    Raises ``IntegrityError`` unless the file is the report recomputed, byte for byte."""
    marker = documents.marker_of(data)
    ledger = Ledger.open(target, read_only=True, select=select or str(marker["ledger"]))
    try:
        produced = documents.verify(ledger, data)
        digest = hashlib.sha256(data).hexdigest()
        same: list[Entry] = []
        other: list[Entry] = []
        for row in ledger.store.read_topics(ledger.id, ["SpecialReportAdopted"]):
            entry = parse_row(row)
            payload = entry.envelope.payload
            if payload["year"] == marker["year"]:
                (same if payload["document_sha256"] == digest else other).append(entry)
        return Checked(produced, str(ledger.id), same[-1] if same else None, other)
    finally:
        ledger.close()


def diff(ledger: Ledger, year: int, since: str, until: str | None = None, lang: str = "fr") -> str:
    """What changed in ``year``'s report between two instants, section by section."""
    return documents.diff(ledger, values.year("year", year), since, until, lang)


def adopt(
    ledger: Ledger, year: int, meeting: int, key: SigningKey, lang: str = "fr"
) -> tuple[Entry, Produced]:
    """Record SpecialReportAdopted for the PDF of ``year`` as known now; the PDF with it."""
    return documents.adopt(ledger, values.year("year", year), meeting, key, lang)
