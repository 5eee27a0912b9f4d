"""The event envelope, its canonical bytes, its id and its signature (format v1, frozen).

An entry, as stored and as hashed into the Merkle tree, is the canonical JSON object::

    {"effective": "2025-12-31", "ledger": "<uuid>", "payload": {...}, "prev": "<64 hex>",
     "recorded_at": "2026-03-02T09:15:00.000000Z", "schema": 1, "seq": 7,
     "sig": "<base64 of 64 bytes>", "signer": "<32 hex>", "type": "MetricSubmitted", "v": 1}

The *envelope* is that object without ``sig``; its canonical bytes are what is signed, with the
context prefix ``coop-ledger/event/v1\\n`` so that no other signed message of the project (a
checkpoint note, a cosignature) can ever be taken for an event. The *event id* is SHA-256 of the
envelope bytes; ``prev`` is the previous event's id (64 zeros for the genesis event). Chaining the
envelope rather than the whole entry lets a batch be signed on every core at once, while the
signature itself is still covered by the Merkle tree, whose leaves are whole entries.
"""

from __future__ import annotations

import base64
import hashlib
import re
from datetime import date, datetime
from operator import itemgetter
from typing import Any, NamedTuple

from ledger.core import canonical

FORMAT_VERSION = 1
SIGNING_CONTEXT = b"coop-ledger/event/v1\n"
GENESIS_PREV = "0" * 64

_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}\Z")
_HEX64 = re.compile(r"[0-9a-f]{64}\Z")
_KEY_ID = re.compile(r"[0-9a-f]{32}\Z")
_TYPE = re.compile(r"[A-Z][A-Za-z0-9]{0,63}\Z")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}\Z")
_INSTANT = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6}Z\Z")
_FIELDS = frozenset(
    {
        "v",
        "ledger",
        "seq",
        "prev",
        "type",
        "schema",
        "effective",
        "recorded_at",
        "signer",
        "payload",
    }
)


class EntryError(ValueError):
    """Stored bytes that are not a well-formed v1 entry; ``reason`` is a stable short code."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


class Envelope(NamedTuple):
    """Everything an event says, except its signature. (A named tuple, not a frozen dataclass:
    audits build one an event, and a tuple is built in a quarter of the time.)"""

    ledger: str
    seq: int
    prev: str
    type: str
    schema: int
    effective: str
    recorded_at: str
    signer: str
    payload: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        # Not dataclasses.asdict: that deep-copies the payload, the hot path's largest cost.
        return {
            "v": FORMAT_VERSION,
            "ledger": self.ledger,
            "seq": self.seq,
            "prev": self.prev,
            "type": self.type,
            "schema": self.schema,
            "effective": self.effective,
            "recorded_at": self.recorded_at,
            "signer": self.signer,
            "payload": self.payload,
        }

    def to_bytes(self) -> bytes:
        return canonical.encode(self.to_dict())

    def signing_input(self) -> bytes:
        return SIGNING_CONTEXT + self.to_bytes()


class Row(NamedTuple):
    """One stored event as a store holds it: its seq, the store's type column, the entry bytes (a
    tuple: audits read a million)."""

    seq: int
    topic: str
    entry: bytes


def event_id(envelope_bytes: bytes) -> str:
    """The id of an event: SHA-256 of its envelope bytes, hex."""
    return hashlib.sha256(envelope_bytes).hexdigest()


def entry_bytes(envelope: Envelope, signature: bytes, envelope_bytes: bytes | None = None) -> bytes:
    """The stored entry: the envelope plus its base64 signature, canonical.

    Given the envelope's canonical bytes, splices ``"sig"`` in instead of encoding again (the
    append hot path): in key order it sits just before the top-level ``"signer"``, the last
    ``,"signer":"`` of the bytes, since only ``type`` and ``v``, whose values cannot hold that
    text, follow it.
    """
    sig = base64.b64encode(signature)
    if envelope_bytes is None:
        return canonical.encode({**envelope.to_dict(), "sig": sig.decode()})
    at = envelope_bytes.rindex(b',"signer":"')
    return b'%s,"sig":"%s"%s' % (envelope_bytes[:at], sig, envelope_bytes[at:])


class Entry(NamedTuple):
    """A parsed, well-formed entry. Says nothing yet about the truth of its signature."""

    envelope: Envelope
    envelope_bytes: bytes
    signature: bytes

    @property
    def id(self) -> str:
        return event_id(self.envelope_bytes)


def parse_entry(data: bytes) -> Entry:
    """Parse stored entry bytes, requiring canonical form and every field well-typed.

    Raises ``EntryError`` with reason ``not-canonical`` or ``malformed``.
    """
    try:
        obj = canonical.parse(data)
    except canonical.CanonicalError:
        obj = None
    envelope = _well_formed(obj)
    # The one-pass check took every member but the payload for canonical (sig included, as the
    # canonical base64 of 64 bytes): only the payload's domain is left to check.
    if envelope is not None and _encodes_to(envelope.payload, obj, data):
        return Entry(envelope, _without_signature(data), base64.b64decode(obj["sig"]))
    # The reference path: raises, naming the first fault (or accepts what the one-pass check
    # could not).
    try:
        obj = canonical.decode(data)
    except canonical.CanonicalError as e:
        raise EntryError("not-canonical", str(e)) from e
    envelope, signature = _by_field(obj)
    return Entry(envelope, _without_signature(data), signature)


def _encodes_to(payload: dict[str, Any], obj: dict[str, Any], data: bytes) -> bool:
    try:
        canonical.check(payload, ("payload",))
        return canonical.encode_checked(obj) == data
    except canonical.CanonicalError:
        return False


def _by_field(obj: Any) -> tuple[Envelope, bytes]:
    """The envelope and signature of a decoded entry, checked field by field: slower than
    ``_well_formed``, and the reference for what is well-formed, since it names what is not."""
    if not isinstance(obj, dict):
        raise EntryError("malformed", "entry is not a JSON object")
    members = {k: v for k, v in obj.items() if k != "sig"}
    if set(members) != _FIELDS or "sig" not in obj:
        missing = sorted(_FIELDS - set(members)) + ([] if "sig" in obj else ["sig"])
        extra = sorted(set(members) - _FIELDS)
        raise EntryError("malformed", f"fields missing {missing}, unexpected {extra}")
    if type(obj["v"]) is not int or obj["v"] != FORMAT_VERSION:  # true == 1 in Python
        raise EntryError("malformed", f"format version {obj['v']!r}, expected {FORMAT_VERSION}")
    _expect(obj, "ledger", _UUID)
    _expect(obj, "prev", _HEX64)
    _expect(obj, "type", _TYPE)
    _expect(obj, "effective", _DATE)
    _expect(obj, "signer", _KEY_ID)
    _expect(obj, "recorded_at", _INSTANT)
    try:
        date.fromisoformat(obj["effective"])
        datetime.fromisoformat(obj["recorded_at"])
    except ValueError as e:
        raise EntryError("malformed", f"effective or recorded_at is not a real date: {e}") from e
    for name in ("seq", "schema"):
        value = obj[name]
        if type(value) is not int or value < 1:
            raise EntryError("malformed", f"{name} {value!r} is not a positive integer")
    if not isinstance(obj["payload"], dict):
        raise EntryError("malformed", "payload is not an object")
    signature = _signature(obj["sig"])
    del members["v"]
    return Envelope(**members), signature


# Every string field of a well-formed entry at once, one per line (no pattern admits a newline);
# the signature as canonical base64 of 64 bytes: 85 free characters, then one whose low four
# bits are zero, then the padding.
_STRINGS = re.compile(
    "\n".join(
        p.pattern.removesuffix("\\Z") for p in (_DATE, _UUID, _HEX64, _TYPE, _KEY_ID, _INSTANT)
    )
    + "\n[A-Za-z0-9+/]{85}[AQgw]==\\Z"
)


_MEMBERS = itemgetter(
    "effective",
    "ledger",
    "prev",
    "type",
    "signer",
    "recorded_at",
    "sig",
    "v",
    "seq",
    "schema",
    "payload",
)


def _well_formed(obj: Any) -> Envelope | None:
    """The envelope of a well-formed entry, checked in one pass (the audit hot path); None
    when anything is off, for the field-by-field checks to say what."""
    if type(obj) is not dict or len(obj) != len(_FIELDS) + 1:
        return None
    try:
        members = _MEMBERS(obj)
        strings = "\n".join(members[:7])
    except (KeyError, TypeError):
        return None
    effective, ledger, prev, event_type, signer, recorded_at, _, v, seq, schema, payload = members
    if not (
        type(v) is int
        and v == FORMAT_VERSION
        and type(seq) is int
        and 1 <= seq <= canonical.MAX_SAFE_INTEGER
        and type(schema) is int
        and 1 <= schema <= canonical.MAX_SAFE_INTEGER
        and type(payload) is dict
        and _STRINGS.match(strings)
    ):
        return None
    try:
        date.fromisoformat(effective)
        datetime.fromisoformat(recorded_at)
    except ValueError:
        return None
    return Envelope(ledger, seq, prev, event_type, schema, effective, recorded_at, signer, payload)


_TYPE_AT_END = re.compile(rb'"type":"([A-Za-z0-9]+)","v":[0-9]+}\Z')
_TYPE_TAIL = len(b'"type":"') + 64 + len(b'","v":') + 16 + len(b"}")


def type_of(entry: bytes) -> str | None:
    """The type of canonical entry bytes, read off their last members (``type`` and ``v`` sort
    last) without parsing them; None when the bytes do not end that way. What a verifier reads
    instead of a store's type column, which anyone with the database can edit."""
    # Only the tail can hold it (a type name is at most 64 characters): searching the whole
    # entry would try every position of a payload that may be 200 kB long.
    m = _TYPE_AT_END.search(entry, max(0, len(entry) - _TYPE_TAIL))
    return m.group(1).decode() if m else None


def _without_signature(entry: bytes) -> bytes:
    """The envelope bytes of canonical entry bytes: the entry less its ``"sig"`` member.

    The inverse of the splice in ``entry_bytes``: only ``prev``, ``recorded_at``, ``schema`` and
    ``seq``, whose values cannot hold ``,"sig":"``, stand between ``payload`` and ``sig``, so the
    last occurrence is the top-level member; its base64 value holds no quote.
    """
    start = entry.rindex(b',"sig":"')
    end = entry.index(b'"', start + 8) + 1
    return entry[:start] + entry[end:]


def _expect(obj: dict[str, Any], name: str, pattern: re.Pattern[str]) -> None:
    value = obj[name]
    if not isinstance(value, str) or not pattern.match(value):
        raise EntryError("malformed", f"{name} {value!r} does not match {pattern.pattern}")


def _signature(text: object) -> bytes:
    if not isinstance(text, str):
        raise EntryError("malformed", "sig is missing or not a string")
    try:
        raw = base64.b64decode(text, validate=True)
    except ValueError as e:  # binascii.Error, or a character outside ASCII
        raise EntryError("malformed", f"sig is not base64: {e}") from e
    if len(raw) != 64 or base64.b64encode(raw).decode() != text:
        raise EntryError("malformed", "sig is not the canonical base64 of 64 bytes")
    return raw
