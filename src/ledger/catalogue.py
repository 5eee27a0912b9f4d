"""The event catalogue: which types exist, their JSON Schemas (in ``events/schemas``) and which
roles may sign them.

Schemas are data, versioned per type (``<Type>.v<N>.json``); a released version is never edited.
Payloads are validated here before anything is signed or written.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from typing import Any

import orjson
from jsonschema import Draft202012Validator, validators
from jsonschema.exceptions import ValidationError

from ledger.errors import InputError
from ledger.resources import data_dir

ROLES = ("admin", "secretary", "board", "treasurer", "council")

# Which roles may sign which event type; a contract, mirrored in docs/ROLES.md (a test checks).
SIGNING_ROLES: dict[str, frozenset[str]] = {
    "LedgerOpened": frozenset({"admin"}),
    "SignerEnrolled": frozenset({"admin"}),
    "SignerRevoked": frozenset({"admin"}),
    "MetricSubmitted": frozenset({"secretary", "treasurer"}),
}

# The schema version new events are written with.
CURRENT_SCHEMA: dict[str, int] = {name: 1 for name in SIGNING_ROLES}


def _ecma_pattern(
    validator: Any, pattern: str, instance: Any, schema: dict[str, Any]
) -> Iterator[ValidationError]:
    # JSON Schema patterns are ECMA-262, where "$" ends the string; Python's "$" also matches
    # before a final newline, which would let "name\n" through.
    if isinstance(instance, str) and not _compiled(pattern).search(instance):
        yield ValidationError(f"{instance!r} does not match {pattern!r}")


@functools.cache
def _compiled(pattern: str) -> re.Pattern[str]:
    if pattern.endswith("$") and not pattern.endswith("\\$"):
        pattern = pattern[:-1] + r"\Z"
    return re.compile(pattern)


_Validator = validators.extend(Draft202012Validator, {"pattern": _ecma_pattern})


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
def _validator(event_type: str, version: int) -> Any:
    return _Validator(schema(event_type, version))


def validate(event_type: str, version: int, payload: dict[str, Any]) -> None:
    """Check ``payload`` against its schema; raise ``InputError`` naming the first bad field."""
    try:
        validator = _validator(event_type, version)
    except KeyError:
        raise InputError("type", f"unknown event type {event_type} v{version}") from None
    error = next(iter(sorted(validator.iter_errors(payload), key=_error_order)), None)
    if error is not None:
        where = ".".join(str(p) for p in error.absolute_path) or "payload"
        raise InputError(where, _describe(error))


def _error_order(error: ValidationError) -> tuple[str, ...]:
    return tuple(str(p) for p in error.absolute_path)


def _describe(error: ValidationError) -> str:
    described = (
        error.schema.get("description")
        if isinstance(error.schema, dict) and error.absolute_path
        else None
    )
    return f"{error.message}" + (f" (expected {described})" if described else "")
