"""The event catalogue: which types exist (one table, ``EVENT_TYPES``: every set of types the
code uses is derived from it), their JSON Schemas (in ``events/schemas``) and which roles may
sign them.

Schemas are data, versioned per type (``<Type>.v<N>.json``); a released version is never edited.
Payloads are validated here before anything is signed or written.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import fastjsonschema
import orjson

from ledger.errors import InputError
from ledger.resources import data_dir

ROLES = ("admin", "secretary", "board", "treasurer", "council")

# What an event is for, which decides what the rules and the projections do with it:
# genesis (seq 1), signer (changes who may sign), checkpoint, correction (corrects or retracts
# another event), redaction (erases a personal value), decision (governance: the minutes, the
# board, the accreditation) and figure (what the year's report states: figures, narratives).
KINDS = ("genesis", "signer", "checkpoint", "correction", "redaction", "decision", "figure")


@dataclass(frozen=True, slots=True)
class EventType:
    """Everything the code knows about an event type, in one row (the schema says the rest)."""

    name: str
    kind: str
    roles: frozenset[str]  # who may sign it (docs/ROLES.md; a test holds them equal)
    schema: int = 1  # the version new events are written with
    tracked: bool = False  # the compliance projection folds it
    reported: bool = False  # the special report folds it (besides the tracked ones)
    # Payload fields the rules read again when a later event refers to it (rulebook).
    facts: tuple[str, ...] = ()
    # Where its effective date comes from when the command gives none (semantics): a date
    # field of its payload ("field", name), the last day of a year field ("year", name), or the
    # effective date of the event a field refers to ("ref", name); None: the recording day.
    effective: tuple[str, str] | None = None
    # Adopted by deed when it refers to no resolution: then only the secretary knows the day
    # it took effect, and the recording day would silently be wrong.
    by_deed: bool = False
    # The category of the assembly's resolution it cites (its ``resolution`` field), if any.
    decided_by: str | None = None


def _row(name: str, kind: str, *roles: str, **more: Any) -> EventType:
    return EventType(name, kind, frozenset(roles), **more)


EVENT_TYPES: tuple[EventType, ...] = (
    _row("LedgerOpened", "genesis", "admin", reported=True),
    _row("SignerEnrolled", "signer", "admin"),
    _row("SignerRevoked", "signer", "admin"),
    # Besides an admin, the rotated key itself (signers.Registry.check).
    _row("SignerKeyRotated", "signer", "admin"),
    _row(
        "MetricSubmitted",
        "figure",
        "secretary",
        "treasurer",
        effective=("year", "year"),
        reported=True,
    ),
    _row("CheckpointRecorded", "checkpoint", "admin", "secretary", "council"),
    _row(
        "LegalFormChanged",
        "decision",
        "secretary",
        facts=("resolution",),
        effective=("ref", "resolution"),
        reported=True,
        decided_by="statute_amendment",
    ),
    _row(
        "AccreditationGranted",
        "decision",
        "secretary",
        effective=("field", "decision_date"),
        reported=True,
    ),
    _row(
        "AccreditationPresumed",
        "decision",
        "secretary",
        effective=("field", "since"),
        reported=True,
    ),
    _row(
        "AccreditationWithdrawn",
        "decision",
        "secretary",
        effective=("field", "decision_date"),
        reported=True,
    ),
    _row(
        "StatuteArticleAdopted",
        "decision",
        "secretary",
        schema=3,
        tracked=True,
        # What an amendment after it reads (statutes.Article), and the vote it rests on.
        facts=("resolution", "number", "provides", "amendment_majority"),
        effective=("ref", "resolution"),
        by_deed=True,
        decided_by="statute_amendment",
    ),
    # Effective when the adoption it reads is: what an article provides for holds for every
    # year the article is in force.
    _row(
        "StatuteArticleProvisionsRecorded",
        "decision",
        "secretary",
        schema=2,
        tracked=True,
        facts=("adoption", "provides", "amendment_majority"),
        effective=("ref", "adoption"),
    ),
    _row(
        "StatuteArticleRepealed",
        "decision",
        "secretary",
        tracked=True,
        facts=("resolution", "number"),
        effective=("ref", "resolution"),
        by_deed=True,
        decided_by="statute_amendment",
    ),
    _row(
        "AssemblyHeld",
        "decision",
        "secretary",
        tracked=True,
        facts=("votes_represented",),
        effective=("field", "date"),
    ),
    _row(
        "ResolutionVoted",
        "decision",
        "secretary",
        tracked=True,
        facts=("assembly", "votes_for", "votes_against", "votes_abstaining", "adopted", "category"),
        effective=("ref", "assembly"),
    ),
    _row(
        "BoardMeetingHeld",
        "decision",
        "secretary",
        "board",
        effective=("field", "date"),
        reported=True,
    ),
    _row("BoardReviewRecorded", "decision", "board", tracked=True, effective=("ref", "meeting")),
    _row(
        "DirectorAppointed",
        "decision",
        "secretary",
        facts=("resolution",),
        effective=("field", "mandate_start"),
        decided_by="director_appointment",
    ),
    _row("DirectorLeft", "decision", "secretary", effective=("field", "date")),
    _row(
        "DirectorRemunerationDecided",
        "decision",
        "secretary",
        tracked=True,
        facts=("resolution",),
        effective=("ref", "resolution"),
        decided_by="director_remuneration",
    ),
    _row(
        "AccountsApproved",
        "decision",
        "secretary",
        "treasurer",
        facts=("resolution",),
        effective=("ref", "assembly"),
        decided_by="accounts",
    ),
    _row(
        "ProfitAllocated",
        "decision",
        "secretary",
        "treasurer",
        tracked=True,
        facts=("resolution",),
        effective=("ref", "resolution"),
        decided_by="profit_allocation",
    ),
    _row(
        "ShareholderResigned",
        "decision",
        "secretary",
        "treasurer",
        schema=2,
        tracked=True,
        facts=("member_number", "shares", "nominal_value", "amount_paid_in"),
        effective=("field", "repaid_on"),
    ),
    # The share register (core/register): members admitted, shares subscribed and transferred;
    # ShareholderResigned gives shares up.
    _row(
        "MemberAdmitted",
        "decision",
        "secretary",
        "treasurer",
        tracked=True,
        facts=("member_number", "shares", "nominal_value", "amount_paid_in"),
        effective=("field", "admitted_on"),
    ),
    _row(
        "MembershipRefused",
        "decision",
        "secretary",
        tracked=True,
        effective=("field", "decided_on"),
    ),
    _row(
        "SharesSubscribed",
        "decision",
        "secretary",
        "treasurer",
        tracked=True,
        facts=("member_number", "shares", "nominal_value", "amount_paid_in"),
        effective=("field", "subscribed_on"),
    ),
    _row(
        "SharesTransferred",
        "decision",
        "secretary",
        "treasurer",
        tracked=True,
        facts=("from_member", "to_member", "shares", "nominal_value", "amount_paid_in"),
        effective=("field", "transferred_on"),
    ),
    _row(
        "NarrativeSubmitted",
        "figure",
        "secretary",
        "board",
        effective=("year", "year"),
        reported=True,
    ),
    _row("SpecialReportAdopted", "decision", "board", tracked=True, effective=("ref", "meeting")),
    _row(
        "EventCorrected",
        "correction",
        "secretary",
        "board",
        "treasurer",
        effective=("ref", "event"),
    ),
    _row(
        "EventRetracted",
        "correction",
        "secretary",
        "board",
        "treasurer",
        effective=("ref", "event"),
    ),
    _row("PersonalDataRedacted", "redaction", "admin", "secretary"),
)
BY_NAME: dict[str, EventType] = {t.name: t for t in EVENT_TYPES}


def names(*kinds: str) -> frozenset[str]:
    """The types of these kinds."""
    unknown = set(kinds) - set(KINDS)
    if unknown:
        raise ValueError(f"no event kind {sorted(unknown)}")
    return frozenset(t.name for t in EVENT_TYPES if t.kind in kinds)


# Which roles may sign which type; a contract, mirrored in docs/ROLES.md (a test checks).
SIGNING_ROLES: dict[str, frozenset[str]] = {t.name: t.roles for t in EVENT_TYPES}
CURRENT_SCHEMA: dict[str, int] = {t.name: t.schema for t in EVENT_TYPES}
# The events that decide who may sign: the genesis and the signer events.
REGISTRY = names("genesis", "signer")
CORRECTIONS = names("correction")
REDACTIONS = names("redaction")
# Nothing corrects or retracts these (docs/EVENTS.md, "Corrections"): they are the ledger's own
# bookkeeping, not statements about the enterprise.
NOT_CORRECTABLE = names("genesis", "signer", "checkpoint", "correction", "redaction")
TRACKED = frozenset(t.name for t in EVENT_TYPES if t.tracked)
REPORTED = TRACKED | frozenset(t.name for t in EVENT_TYPES if t.reported)
BY_DEED = frozenset(t.name for t in EVENT_TYPES if t.by_deed)


@functools.cache
def schema(event_type: str, version: int) -> dict[str, Any]:
    """The JSON Schema of ``event_type`` at ``version``. Raises ``KeyError`` if unknown."""
    path = data_dir("events") / "schemas" / f"{event_type}.v{version}.json"
    try:
        loaded: dict[str, Any] = orjson.loads(path.read_bytes())
    except FileNotFoundError:
        raise KeyError(f"{event_type} v{version}") from None
    return loaded


@functools.cache
def versions(event_type: str) -> tuple[int, ...]:
    """The schema versions of ``event_type`` the catalogue holds, oldest first."""
    folder = data_dir("events") / "schemas"
    found = (p.name.removeprefix(f"{event_type}.v") for p in folder.glob(f"{event_type}.v*.json"))
    return tuple(
        sorted(int(v.removesuffix(".json")) for v in found if v.removesuffix(".json").isdigit())
    )


@functools.cache
def _validator(event_type: str, version: int) -> Callable[[Any], Any]:
    # Compiled to Python once: ~15x faster than an interpreting validator, and the bulk import
    # and the benchmarks validate every event. Draft-07 patterns keep "$" as end of string.
    return fastjsonschema.compile(schema(event_type, version))


def validate(event_type: str, version: int, payload: Mapping[str, Any]) -> None:
    """Check ``payload`` against its schema; raise ``InputError`` naming the first bad field."""
    try:
        validator = _validator(event_type, version)
    except KeyError:
        raise InputError("type", f"unknown event type {event_type} v{version}") from None
    try:
        validator(payload)
    except fastjsonschema.JsonSchemaValueException as e:
        raise InputError(*_describe(e)) from None


def _describe(error: fastjsonschema.JsonSchemaValueException) -> tuple[str, str]:
    field = ".".join(str(p) for p in (error.path or ["data"])[1:]) or "payload"
    rule = (error.message or "").split(" ", 1)[1] if " " in (error.message or "") else ""
    definition = error.definition if isinstance(error.definition, dict) else {}
    expected = definition.get("description") if field != "payload" else None
    shown = "" if field == "payload" else f"{error.value!r} "
    return field, f"{shown}{rule}" + (f" (expected {expected})" if expected else "")
