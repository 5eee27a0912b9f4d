"""What a payload means beyond its schema: references to earlier events, outcomes that must agree
with counts, corrections that must fit what they correct, and the effective date an event takes
by default. Pure functions over payloads; the ledger feeds them what the store holds.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ledger import catalogue, values
from ledger.errors import InputError

CORRECTION_TYPES = frozenset({"EventCorrected", "EventRetracted"})
EFFECTIVE_REQUIRED_BY_DEED = frozenset({"StatuteArticleAdopted", "StatuteArticleRepealed"})

# Types that no correction or retraction may target (docs/EVENTS.md, "Corrections").
NOT_CORRECTABLE = frozenset(
    {
        "LedgerOpened",
        "SignerEnrolled",
        "SignerRevoked",
        "SignerKeyRotated",
        "PersonalDataRedacted",
        "EventCorrected",
        "EventRetracted",
        "CheckpointRecorded",
    }
)


@dataclass(frozen=True, slots=True)
class Reference:
    field: str  # e.g. "assembly" or "evidence[2]"
    seq: int
    allowed: frozenset[str]  # event types; "*" for any

    def admits(self, event_type: str) -> bool:
        return "*" in self.allowed or event_type in self.allowed


def references(event_type: str, version: int, payload: Mapping[str, Any]) -> list[Reference]:
    """The references a payload makes, read off the schema's ``x-ref`` annotations."""
    refs = []
    for name, is_list, allowed in _reference_fields(event_type, version):
        value = payload.get(name)
        if is_list and isinstance(value, list):
            refs += [
                Reference(f"{name}[{i}]", v, allowed)
                for i, v in enumerate(value)
                if isinstance(v, int)
            ]
        elif not is_list and isinstance(value, int):
            refs.append(Reference(name, value, allowed))
    return refs


def shifted(
    event_type: str, version: int, payload: Mapping[str, Any], offset: int
) -> dict[str, Any]:
    """``payload`` with its references to other events moved by ``offset``: the same events
    recorded after ``offset`` more (the catalogue examples number theirs from a bare genesis;
    a ledger that enrols keys first needs them moved)."""
    out = dict(payload)
    for ref in references(event_type, version, payload):
        name, _, index = ref.field.partition("[")
        if index:
            out[name] = [seq + offset for seq in out[name]]
        else:
            out[name] = ref.seq + offset
    return out


_RefField = tuple[str, bool, frozenset[str]]  # field name, is a list of refs, types allowed


@functools.cache
def _reference_fields(
    event_type: str, version: int
) -> tuple[tuple[str, bool, frozenset[str]], ...]:
    # Per type, once: most events (figures) refer to nothing and should pay nothing for it.
    try:
        properties = catalogue.schema(event_type, version).get("properties", {})
    except KeyError:
        return ()
    fields = []
    for name, spec in properties.items():
        if "x-ref" in spec:
            fields.append((name, False, frozenset(spec["x-ref"])))
        elif "x-ref" in spec.get("items", {}):
            fields.append((name, True, frozenset(spec["items"]["x-ref"])))
    return tuple(fields)


def check_references(
    seq: int, refs: list[Reference], type_of: Mapping[int, str]
) -> tuple[str, str] | None:
    """The first reference of event ``seq`` that does not point to an earlier event of an
    allowed type, as (field, message); ``type_of`` maps earlier sequence numbers to types."""
    for ref in refs:
        if ref.seq >= seq:
            return ref.field, f"{ref.seq} is not an earlier event (this is event {seq})"
        found = type_of.get(ref.seq)
        if found is None:
            return ref.field, f"there is no event {ref.seq}"
        if not ref.admits(found):
            wanted = " or ".join(sorted(ref.allowed))
            return ref.field, f"event {ref.seq} is a {found}, expected a {wanted}"
    return None


def majority_reached(majority: str, votes_for: int, votes_against: int, abstaining: int) -> bool:
    """Whether the votes carry a resolution (docs/EVENTS.md, "Majorities"): counted over the
    votes cast, abstentions counting neither way; at least one vote for."""
    f, a = votes_for, votes_against
    if f < 1:
        return False
    rules = {
        "simple": f > a,
        "two_thirds": 3 * f >= 2 * (f + a),
        "three_quarters": 4 * f >= 3 * (f + a),
        "four_fifths": 5 * f >= 4 * (f + a),
        "unanimity": a == 0 and abstaining == 0,
    }
    return rules[majority]


def check_payload(event_type: str, payload: Mapping[str, Any]) -> tuple[str, str] | None:
    """Rules inside one payload that a schema cannot say, as (field, message), or None."""
    if event_type == "ResolutionVoted":
        cast = payload["votes_for"] + payload["votes_against"] + payload["votes_abstaining"]
        if payload["max_votes_single_shareholder"] > cast:
            return "max_votes_single_shareholder", (
                f"{payload['max_votes_single_shareholder']} is more than the {cast} votes cast"
            )
        reached = majority_reached(
            payload["majority_required"],
            payload["votes_for"],
            payload["votes_against"],
            payload["votes_abstaining"],
        )
        if reached != payload["adopted"]:
            verdict = "carry" if reached else "do not carry"
            return "adopted", (
                f"{str(payload['adopted']).lower()} contradicts the counts: "
                f"{payload['votes_for']} for, {payload['votes_against']} against, "
                f"{payload['votes_abstaining']} abstaining {verdict} a "
                f"{payload['majority_required'].replace('_', ' ')} majority"
            )
    return None


def validate(event_type: str, version: int, payload: Mapping[str, Any]) -> None:
    """Schema, then the payload's own rules; raises ``InputError`` naming the field."""
    catalogue.validate(event_type, version, dict(payload))
    problem = check_payload(event_type, payload)
    if problem is not None:
        raise InputError(*problem)


def check_correction(
    event_type: str,
    payload: Mapping[str, Any],
    target_type: str,
    target_schema: int,
    retracted: bool,
) -> tuple[str, str] | None:
    """Whether a correction or retraction may target an event of ``target_type``."""
    if target_type in NOT_CORRECTABLE:
        return "event", f"a {target_type} cannot be corrected or retracted"
    if retracted:
        return "event", f"event {payload['event']} was retracted; it cannot change any more"
    if event_type == "EventCorrected":
        try:
            validate(target_type, target_schema, payload["replacement"])
        except InputError as e:
            return f"replacement.{e.field}", str(e).split(": ", 1)[1]
    return None


# Where an event's effective date comes from when the command gives none: a date field of its
# payload, the year's last day, or the effective date of the event a field refers to.
_EFFECTIVE: dict[str, tuple[str, str]] = {
    "AssemblyHeld": ("field", "date"),
    "BoardMeetingHeld": ("field", "date"),
    "AccreditationGranted": ("field", "decision_date"),
    "AccreditationWithdrawn": ("field", "decision_date"),
    "AccreditationPresumed": ("field", "since"),
    "DirectorAppointed": ("field", "mandate_start"),
    "DirectorLeft": ("field", "date"),
    "ShareholderResigned": ("field", "repaid_on"),
    "MetricSubmitted": ("year", "year"),
    "NarrativeSubmitted": ("year", "year"),
    "AccountsApproved": ("ref", "assembly"),
    "ProfitAllocated": ("ref", "resolution"),
    "ResolutionVoted": ("ref", "assembly"),
    "StatuteArticleAdopted": ("ref", "resolution"),
    "StatuteArticleRepealed": ("ref", "resolution"),
    "LegalFormChanged": ("ref", "resolution"),
    "DirectorRemunerationDecided": ("ref", "resolution"),
    "BoardReviewRecorded": ("ref", "meeting"),
    "SpecialReportAdopted": ("ref", "meeting"),
    "EventCorrected": ("ref", "event"),
    "EventRetracted": ("ref", "event"),
}


def default_effective(
    event_type: str, payload: Mapping[str, Any], effective_of: Mapping[int, str]
) -> str | None:
    """The effective date an event takes when none is given; None: the recording day."""
    how, name = _EFFECTIVE.get(event_type, ("", ""))
    value = payload.get(name)
    if how == "field" and isinstance(value, str):
        # It becomes the envelope's effective date, which must be a real one to verify; the
        # schema's pattern lets 2025-02-30 through.
        return values.iso_date(name, value)
    if how == "year" and isinstance(value, int):
        return f"{value}-12-31"
    if how == "ref" and isinstance(value, int):
        return effective_of.get(value)
    return None
