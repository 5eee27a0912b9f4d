"""Personal fields: committed to inside the signed bytes, kept in clear beside them, erasable.

A schema property annotated ``x-personal`` (whose value is the schema of the clear value) holds,
in the signed payload, ``sha256:<hex>`` of ``CONTEXT || salt || canonical JSON of the value`` with
a fresh 32-byte salt. The salt and the clear value live in the store's ``personal_data`` table,
outside the signed entry and the Merkle tree: deleting them (``PersonalDataRedacted``) leaves
every signature, hash and proof intact, and the salt makes the commitment useless for guessing
the value once it is gone. docs/FORMAT.md, "Personal fields", is the reference.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import re
import secrets
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import fastjsonschema

from ledger.core import canonical, catalogue, semantics, values
from ledger.core.envelope import Envelope
from ledger.errors import InputError

CONTEXT = b"coop-ledger/personal/v1\n"
SALT_BYTES = 32
COMMITMENT = re.compile(r"^sha256:[0-9a-f]{64}$")
REDACTED = "[redacted]"  # erased by a recorded PersonalDataRedacted
NOT_HELD = "[not held]"  # this store never had the value (an imported bundle carries none)


@dataclass(frozen=True, slots=True)
class Held:
    """A personal field's clear value as stored beside the ledger."""

    field: str
    salt: bytes
    value: bytes  # canonical JSON


def new_salt() -> bytes:
    """A fresh salt (looked up at each use, so that a replay can fix it)."""
    return secrets.token_bytes(SALT_BYTES)


def commitment(salt: bytes, value: bytes) -> str:
    return "sha256:" + hashlib.sha256(CONTEXT + salt + value).hexdigest()


def matches(committed: object, held: Held) -> bool:
    return isinstance(committed, str) and hmac.compare_digest(
        committed, commitment(held.salt, held.value)
    )


@functools.cache
def fields(event_type: str, version: int) -> dict[str, dict[str, Any]]:
    """The personal fields of a type at a version, each with the schema of its clear value."""
    try:
        props = catalogue.schema(event_type, version).get("properties", {})
    except KeyError:
        return {}
    return {name: sub["x-personal"] for name, sub in props.items() if "x-personal" in sub}


@functools.cache
def _validator(event_type: str, version: int, name: str) -> Callable[[Any], Any]:
    return fastjsonschema.compile(fields(event_type, version)[name])


def commit(
    event_type: str, version: int, payload: Mapping[str, Any]
) -> tuple[dict[str, Any], tuple[Held, ...]]:
    """The payload to sign (each personal value replaced by its commitment) and what to keep
    beside it. Raises ``InputError`` for a clear value its schema refuses."""
    out, held = dict(payload), []
    for name, schema in fields(event_type, version).items():
        if name not in payload:
            continue
        try:
            _validator(event_type, version, name)(payload[name])
        except fastjsonschema.JsonSchemaValueException:
            raise InputError(
                name, f"{payload[name]!r} is not {schema.get('description', 'valid')}"
            ) from None
        if schema.get("pattern") == semantics.ONE_LINE_PATTERN:
            problem = values.line_problem(payload[name])
            if problem is not None:
                raise InputError(name, problem)
        value = canonical.encode(payload[name])
        salt = new_salt()
        out[name] = commitment(salt, value)
        held.append(Held(name, salt, value))
    return out, tuple(held)


def redactions(events: Iterable[Envelope]) -> dict[tuple[int, str], int]:
    """Each redacted (event, field) among the ``PersonalDataRedacted`` ``events``, with the
    redaction's sequence number."""
    return {(e.payload["event"], e.payload["field"]): e.seq for e in events}


def reveal(
    event_type: str,
    version: int,
    payload: Mapping[str, Any],
    held: Mapping[str, Held],
    redacted: set[str],
) -> dict[str, Any]:
    """The payload for people to read: each personal field's clear value when it is held and
    matches its commitment, else ``[redacted]`` or ``[not held]``."""
    out = dict(payload)
    for name in fields(event_type, version):
        if name not in payload:
            continue
        kept = held.get(name)
        if name in redacted:
            out[name] = REDACTED
        elif kept is not None and matches(payload[name], kept):
            out[name] = canonical.decode(kept.value)
        else:
            out[name] = NOT_HELD  # a mismatch is verify's to report, never shown as a value
    return out
