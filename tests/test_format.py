"""The frozen event format v1: the published vector is reproduced by an independent reading of
docs/FORMAT.md (hashlib + cryptography + a JCS-style encoder) and by the library itself."""

from __future__ import annotations

import base64
import hashlib
import re
from pathlib import Path
from typing import Any

import orjson
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given
from hypothesis import strategies as st

from ledger.core import canonical, envelope
from ledger.core.envelope import (
    SIGNING_CONTEXT,
    EntryError,
    Envelope,
    entry_bytes,
    event_id,
    parse_entry,
)
from ledger.core.keys import key_id

ROOT = Path(__file__).resolve().parents[1]
VECTOR = orjson.loads((ROOT / "events" / "vectors" / "envelope-v1.json").read_bytes())
CASES = VECTOR["events"]


def jcs(value: Any) -> bytes:
    """A from-the-document encoder: sorted keys, no spaces, JSON string escapes, UTF-8."""
    if isinstance(value, dict):
        items = (jcs(k) + b":" + jcs(value[k]) for k in sorted(value))
        return b"{" + b",".join(items) + b"}"
    if isinstance(value, list):
        return b"[" + b",".join(jcs(v) for v in value) + b"]"
    if isinstance(value, str):
        escapes = {
            '"': '\\"',
            "\\": "\\\\",
            "\b": "\\b",
            "\f": "\\f",
            "\n": "\\n",
            "\r": "\\r",
            "\t": "\\t",
        }
        out = "".join(escapes.get(c, c if ord(c) >= 0x20 else f"\\u{ord(c):04x}") for c in value)
        return f'"{out}"'.encode()
    if value is True or value is False or value is None:
        return {True: b"true", False: b"false", None: b"null"}[value]
    assert isinstance(value, int)
    return str(value).encode()


def test_key_material() -> None:
    key = Ed25519PrivateKey.from_private_bytes(bytes.fromhex(VECTOR["private_key_seed_hex"]))
    raw = key.public_key().public_bytes_raw()
    assert raw.hex() == VECTOR["public_key_hex"]
    assert key_id(raw) == VECTOR["key_id"] == hashlib.sha256(raw).hexdigest()[:32]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c["envelope"]["type"])
def test_vector_from_the_document(case: dict[str, Any]) -> None:
    key = Ed25519PrivateKey.from_private_bytes(bytes.fromhex(VECTOR["private_key_seed_hex"]))
    envelope_bytes = jcs(case["envelope"])
    assert envelope_bytes == case["envelope_bytes"].encode()
    assert hashlib.sha256(envelope_bytes).hexdigest() == case["event_id"]
    signature = key.sign(b"coop-ledger/event/v1\n" + envelope_bytes)
    assert base64.b64encode(signature).decode() == case["signature"]
    entry = jcs({**case["envelope"], "sig": case["signature"]})
    assert entry == case["entry_bytes"].encode()
    assert hashlib.sha256(b"\x00" + entry).hexdigest() == case["merkle_leaf_hash"]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c["envelope"]["type"])
def test_vector_through_the_library(case: dict[str, Any]) -> None:
    fields = {k: v for k, v in case["envelope"].items() if k != "v"}
    env = Envelope(**fields)
    assert env.to_bytes() == case["envelope_bytes"].encode()
    assert env.signing_input() == SIGNING_CONTEXT + env.to_bytes()
    assert event_id(env.to_bytes()) == case["event_id"]
    sig = base64.b64decode(case["signature"])
    assert entry_bytes(env, sig) == case["entry_bytes"].encode()
    parsed = parse_entry(case["entry_bytes"].encode())
    assert parsed.envelope == env and parsed.signature == sig and parsed.id == case["event_id"]


def test_chain_in_the_vector() -> None:
    assert CASES[0]["envelope"]["prev"] == "0" * 64
    assert CASES[1]["envelope"]["prev"] == CASES[0]["event_id"]


def test_document_quotes_the_vector() -> None:
    doc = (ROOT / "docs" / "FORMAT.md").read_text()
    for case in CASES:
        for name in ("envelope_bytes", "event_id", "signature", "merkle_leaf_hash"):
            assert case[name] in doc, f"docs/FORMAT.md lacks the vector's {name}"
    assert VECTOR["private_key_seed_hex"] in doc and VECTOR["key_id"] in doc


ENTRY = CASES[1]["entry_bytes"].encode()


@pytest.mark.parametrize(
    ("mutated", "reason"),
    [
        (ENTRY.replace(b'"seq":2,', b'"seq": 2,'), "not-canonical"),
        (ENTRY.replace(b'"seq":2,', b'"seq":2.0,'), "not-canonical"),
        (ENTRY.replace(b'{"effective"', b'{"seq":2,"effective"'), "not-canonical"),
        (ENTRY.replace(b"partag\xc3\xa9e", b"partag\\u00e9e"), "not-canonical"),
        (ENTRY + b"\n", "not-canonical"),
        # Byte-exact round trips through orjson, yet outside the canonical domain: the one-pass
        # check must not take them.
        (ENTRY.replace(b'"seq":2', b'"seq":9007199254740992'), "not-canonical"),
        (ENTRY.replace(b'"payload":{', b'"payload":{"a":1.5,'), "not-canonical"),
        (ENTRY.replace(b'"payload":{', b'"payload":{"A":1,'), "not-canonical"),
        (
            ENTRY.replace(b'"payload":{', b'"payload":{"a":' + b"[" * 40 + b"]" * 40 + b","),
            "not-canonical",
        ),
        (ENTRY.replace(b'"payload":{', b'"payload":{"a":9007199254740992,'), "not-canonical"),
        (ENTRY.replace(b'"v":1', b'"v":2'), "malformed"),
        (ENTRY.replace(b'"schema":1,', b""), "malformed"),
        (ENTRY.replace(b'"seq":2', b'"seq":0'), "malformed"),
        (ENTRY.replace(b'"seq":2', b'"seq":true'), "malformed"),
        (
            ENTRY.replace(
                b'"recorded_at":"2026-03-02T14:05:09.250000Z"',
                b'"recorded_at":"2026-03-02T14:05:09Z"',
            ),
            "malformed",
        ),
        (ENTRY.replace(b'"effective":"2025-12-31"', b'"effective":"31/12/2025"'), "malformed"),
        (re.sub(rb'"sig":"[^"]+"', b'"sig":"AAAA"', ENTRY), "malformed"),
        (ENTRY.replace(b'"type":"MetricSubmitted"', b'"type":"metric submitted"'), "malformed"),
        (b"[]", "malformed"),
        (b"\xff", "not-canonical"),
    ],
)
def test_parse_entry_refuses(mutated: bytes, reason: str) -> None:
    assert mutated != ENTRY
    with pytest.raises(EntryError) as caught:
        parse_entry(mutated)
    assert caught.value.reason == reason


def test_canonical_domain() -> None:
    for bad in (1.5, {"Key": 1}, {"k": 2**53}, {"k": [1.0]}, {"k": {1, 2}}, "\ud800"):
        with pytest.raises(canonical.CanonicalError):
            canonical.encode(bad)
    deep: Any = "x"
    for _ in range(canonical.MAX_DEPTH + 1):
        deep = [deep]
    with pytest.raises(canonical.CanonicalError, match="deeper"):
        canonical.encode(deep)
    assert canonical.encode({"b": "é\u2028\x01", "a": [True, None, -3]}) == (
        b'{"a":[true,null,-3],"b":"\xc3\xa9\xe2\x80\xa8\\u0001"}'
    )


_KEYS = st.from_regex(r"[a-z][a-z0-9_]{0,8}", fullmatch=True)
_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.text()
    | st.integers(-canonical.MAX_SAFE_INTEGER, canonical.MAX_SAFE_INTEGER),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_KEYS, inner, max_size=4),
    max_leaves=20,
)


@given(_VALUES)
def test_canonical_is_jcs_and_round_trips(value: Any) -> None:
    data = canonical.encode(value)
    assert data == jcs(value)
    assert canonical.decode(data) == value


@given(st.dictionaries(_KEYS, _VALUES, max_size=5), st.binary(min_size=64, max_size=64))
def test_spliced_entry_equals_encoded_entry(payload: dict[str, Any], signature: bytes) -> None:
    # Payloads may hold their own "signer" keys; the splice must still find the top-level one.
    payload = {**payload, "signer": "x", "nested": {"signer": payload}}
    env = Envelope(
        ledger=CASES[0]["envelope"]["ledger"],
        seq=3,
        prev="a" * 64,
        type="MetricSubmitted",
        schema=1,
        effective="2025-12-31",
        recorded_at="2026-01-01T00:00:00.000000Z",
        signer="b" * 32,
        payload=payload,
    )
    assert entry_bytes(env, signature, env.to_bytes()) == entry_bytes(env, signature)


@pytest.mark.parametrize("case", range(len(CASES)))
def test_one_pass_check_agrees_with_the_field_by_field_one(case: int) -> None:
    """parse_entry checks a well-formed entry in one pass (the audit hot path) and falls back to
    the field-by-field checks, which name faults; both must take the same entries."""
    obj = orjson.loads(CASES[case]["entry_bytes"])
    assert envelope._well_formed(obj) == envelope._by_field(obj)[0]
    for name, bad in [
        ("sig", obj["sig"][:-3] + "B=="),  # low bits set: base64 that is not canonical
        ("sig", obj["sig"][:-2] + "A="),
        ("seq", 0),
        ("seq", True),
        ("schema", "1"),
        ("effective", "2025-02-30"),
        ("recorded_at", "2026-03-02T25:05:09.250000Z"),
        ("signer", obj["signer"].upper()),
        ("ledger", obj["ledger"] + "\n"),
        ("type", "Metric\nSubmitted"),
        ("payload", []),
        ("v", 2),
    ]:
        mutated = {**obj, name: bad}
        assert envelope._well_formed(mutated) is None, name
        with pytest.raises(EntryError):
            envelope._by_field(mutated)
    for missing in obj:
        assert envelope._well_formed({k: v for k, v in obj.items() if k != missing}) is None
    assert envelope._well_formed({**obj, "extra": 1}) is None
