"""What a payload means beyond its schema: the references it makes to earlier events, outcomes
that must agree with counts, text that must be one clean line, and the effective date an event
takes by default. Pure functions over payloads; ``rulebook`` calls them on every path.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ledger.core import catalogue, conditions, values


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
    for name, is_list, allowed in reference_fields(event_type, version):
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


@functools.cache
def reference_fields(event_type: str, version: int) -> tuple[tuple[str, bool, frozenset[str]], ...]:
    """Each field of the type that refers to other events, read off the schema's ``x-ref``:
    (its name, whether it holds a list of them, the types they may be)."""
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


def check_payload(
    event_type: str, version: int, payload: Mapping[str, Any]
) -> tuple[str, str] | None:
    """Rules inside one schema-valid payload that a schema cannot say, as (field, message), or
    None: counts that must agree, one-line fields free of control and bidirectional-override
    characters, reasons that say something."""
    for path in _one_line_fields(event_type, version):
        value: Any = payload
        for name in path:
            value = value.get(name) if isinstance(value, dict) else None
        if isinstance(value, str):
            problem = values.line_problem(value)
            if problem is not None:
                return ".".join(path), problem
    reason = payload.get("reason")
    if isinstance(reason, str) and not reason.strip():
        return "reason", f"{reason!r} is blank; give a reason for the record"
    rule = _RULES.get(event_type)
    return rule(payload) if rule is not None else None


# The schemas' one-line pattern: where a field has it, the field is one line of text.
ONE_LINE_PATTERN = "^[^\\n\\r]+$"


@functools.cache
def _one_line_fields(event_type: str, version: int) -> tuple[tuple[str, ...], ...]:
    try:
        found = catalogue.schema(event_type, version)
    except KeyError:
        return ()
    return tuple(_lines_below(found, ()))


def _lines_below(spec: Mapping[str, Any], path: tuple[str, ...]) -> list[tuple[str, ...]]:
    found = []
    for name, sub in spec.get("properties", {}).items():
        if sub.get("type") == "string" and sub.get("pattern") == ONE_LINE_PATTERN:
            found.append((*path, name))
        elif sub.get("type") == "object":
            found += _lines_below(sub, (*path, name))
    return found


def _resolution(payload: Mapping[str, Any]) -> tuple[str, str] | None:
    cast = votes_cast(payload)
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


def votes_cast(payload: Mapping[str, Any]) -> int:
    """The votes a resolution counts: for, against and abstaining."""
    return int(payload["votes_for"] + payload["votes_against"] + payload["votes_abstaining"])


def _board_meeting(payload: Mapping[str, Any]) -> tuple[str, str] | None:
    present, in_office = payload["directors_present"], payload.get("directors_in_office")
    if in_office is not None and present > in_office:
        return "directors_present", (
            f"{present} directors present, more than the {in_office} in office"
        )
    return None


def condition_problem(name: str) -> str | None:
    """Why ``name`` is not the id of a condition of the rules, or None: ids are written as the
    rules write them (upper case; a writer's form upper-cases what it is given)."""
    known = conditions.ids()
    if name in known:
        return None
    hint = f"; write {name.upper()}" if name.upper() in known else ""
    return f"{name!r} is not a condition of the rules{hint} (expected one of {', '.join(known)})"


def _board_review(payload: Mapping[str, Any]) -> tuple[str, str] | None:
    problem = condition_problem(payload["condition"])
    return None if problem is None else ("condition", problem)


def _provisions(payload: Mapping[str, Any]) -> tuple[str, str] | None:
    """What an article provides for: conditions of the rules that its articles can support."""
    for name in payload.get("provides", ()):
        problem = condition_problem(name)
        if problem is None and name not in conditions.by_articles():
            problem = (
                f"{name} is not judged by the articles of the statutes; an article may provide "
                f"for {', '.join(c for c in conditions.ids() if c in conditions.by_articles())}"
            )
        if problem is not None:
            return "provides", problem
    return None


_RULES: dict[str, Callable[[Mapping[str, Any]], tuple[str, str] | None]] = {
    "ResolutionVoted": _resolution,
    "BoardMeetingHeld": _board_meeting,
    "BoardReviewRecorded": _board_review,
    "StatuteArticleAdopted": _provisions,
    "StatuteArticleProvisionsRecorded": _provisions,
}


def default_effective(
    event_type: str, payload: Mapping[str, Any], effective_of: Mapping[int, str]
) -> str | None:
    """The effective date an event takes when none is given; None: the recording day."""
    known = catalogue.BY_NAME.get(event_type)
    how, name = known.effective if known is not None and known.effective else ("", "")
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
