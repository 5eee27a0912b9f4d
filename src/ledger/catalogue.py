"""The event catalogue: which types exist, their JSON Schemas (in ``events/schemas``) and which
roles may sign them.

Schemas are data, versioned per type (``<Type>.v<N>.json``); a released version is never edited.
Payloads are validated here before anything is signed or written.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import fastjsonschema
import orjson

from ledger.errors import InputError
from ledger.resources import data_dir

ROLES = ("admin", "secretary", "board", "treasurer", "council")

# Which roles may sign which event type; a contract, mirrored in docs/ROLES.md (a test checks).
SIGNING_ROLES: dict[str, frozenset[str]] = {
    "LedgerOpened": frozenset({"admin"}),
    "SignerEnrolled": frozenset({"admin"}),
    "SignerRevoked": frozenset({"admin"}),
    # Besides an admin, the rotated key itself (signers.Registry.check).
    "SignerKeyRotated": frozenset({"admin"}),
    "MetricSubmitted": frozenset({"secretary", "treasurer"}),
    "CheckpointRecorded": frozenset({"admin", "secretary", "council"}),
    "LegalFormChanged": frozenset({"secretary"}),
    "AccreditationGranted": frozenset({"secretary"}),
    "AccreditationPresumed": frozenset({"secretary"}),
    "AccreditationWithdrawn": frozenset({"secretary"}),
    "StatuteArticleAdopted": frozenset({"secretary"}),
    "StatuteArticleRepealed": frozenset({"secretary"}),
    "AssemblyHeld": frozenset({"secretary"}),
    "ResolutionVoted": frozenset({"secretary"}),
    "BoardMeetingHeld": frozenset({"secretary", "board"}),
    "BoardReviewRecorded": frozenset({"board"}),
    "DirectorAppointed": frozenset({"secretary"}),
    "DirectorLeft": frozenset({"secretary"}),
    "DirectorRemunerationDecided": frozenset({"secretary"}),
    "AccountsApproved": frozenset({"secretary", "treasurer"}),
    "ProfitAllocated": frozenset({"secretary", "treasurer"}),
    "ShareholderResigned": frozenset({"secretary", "treasurer"}),
    "NarrativeSubmitted": frozenset({"secretary", "board"}),
    "SpecialReportAdopted": frozenset({"board"}),
    "EventCorrected": frozenset({"secretary", "board", "treasurer"}),
    "EventRetracted": frozenset({"secretary", "board", "treasurer"}),
    "PersonalDataRedacted": frozenset({"admin", "secretary"}),
}

# The schema version new events are written with.
CURRENT_SCHEMA: dict[str, int] = {name: 1 for name in SIGNING_ROLES} | {"ShareholderResigned": 2}


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
def _validator(event_type: str, version: int) -> Callable[[Any], Any]:
    # Compiled to Python once: ~15x faster than an interpreting validator, and the bulk import
    # and the benchmarks validate every event. Draft-07 patterns keep "$" as end of string.
    return fastjsonschema.compile(schema(event_type, version))


def validate(event_type: str, version: int, payload: dict[str, Any]) -> None:
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
