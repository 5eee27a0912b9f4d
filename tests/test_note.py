"""Tests of ``ledger.note``: C2SP signed notes, checkpoints and cosignatures.

External vectors and where they come from:

* ``golang.org/x/mod/sumdb/note`` ``note_test.go`` (golang/mod): the PeterNeumann and
  EnochRoot keys, the note they sign, the malformed notes and the key manglings.
* C2SP ``signed-note.md``, ``tlog-checkpoint.md`` and ``tlog-cosignature.md`` (C2SP/C2SP):
  the example notes, checkpoint and witness cosignature.
* The signed-note "Verifier keys" example (``example.com/foo+530d903a``). It is quoted
  identically by several implementations (e.g. florolf/tlog-scales
  ``tests/test_signing.py``) and is verified cryptographically here.
* transparency-dev/formats ``note/note_cosigv1_test.go``: verifier keys of types 0x01
  and 0x04 and a cosignature timestamp vector.
* florolf/tlog-scales ``tests/test_signing.py``: a real checkpoint of
  ``arche2025h1.staging.ct.transparency.dev`` with real witness cosignatures.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.tlog.note import (
    MAX_SIGNATURES,
    MAX_TIMESTAMP,
    MAX_TREE_SIZE,
    REASONS,
    Checkpoint,
    KeyKind,
    Note,
    NoteError,
    Signature,
    SignerKey,
    VerifierKey,
    add_signature,
    cosign,
    cosignature_message,
    cosignature_timestamp,
    note_key_id,
    open_checkpoint,
    parse_checkpoint,
    parse_note,
    parse_signer_key,
    parse_verifier_key,
    sign_note,
    verify_note,
)

EM = "\u2014"
DOC = Path(__file__).resolve().parents[1] / "docs" / "CHECKPOINTS.md"


def raises(reason: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> NoteError:
    """Call ``fn`` and check it raises a NoteError with this reason."""
    assert reason in REASONS
    with pytest.raises(NoteError) as info:
        fn(*args, **kwargs)
    assert info.value.reason == reason, str(info.value)
    assert str(info.value).startswith(reason + ": ")
    return info.value


def merkle_root(leaves: list[bytes]) -> bytes:
    """RFC 6962 Merkle tree hash (only for building test checkpoints)."""
    if len(leaves) == 1:
        return hashlib.sha256(b"\x00" + leaves[0]).digest()
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    return hashlib.sha256(b"\x01" + merkle_root(leaves[:k]) + merkle_root(leaves[k:])).digest()


# --- the coop-ledger example of docs/CHECKPOINTS.md ---------------------------------------------

ORIGIN = "coop-ledger.example/ledger/00000000-0000-0000-0000-000000000000"
COUNCIL = "national-council.example/cosigner"
LOG_KEY = Ed25519PrivateKey.from_private_bytes(bytes([1]) * 32)
COUNCIL_KEY = Ed25519PrivateKey.from_private_bytes(bytes([2]) * 32)
LOG_VKEY = VerifierKey.from_public_key(ORIGIN, LOG_KEY.public_key())
COUNCIL_VKEY = VerifierKey.from_public_key(
    COUNCIL, COUNCIL_KEY.public_key(), KeyKind.COSIGNATURE_V1
)
T = 1767225600  # 2026-01-01T00:00:00Z
ROOT = merkle_root([b"entry 0", b"entry 1", b"entry 2"])
CHECKPOINT = Checkpoint(ORIGIN, 3, ROOT)


def signed() -> Note:
    return sign_note(CHECKPOINT.body(), ORIGIN, LOG_KEY)


def cosigned() -> Note:
    return cosign(signed(), COUNCIL, COUNCIL_KEY, T)


def relabel(sig: Signature, key_id: bytes) -> Signature:
    return Signature(sig.name, key_id, sig.payload)


# --- golang.org/x/mod/sumdb/note vectors (note_test.go) -------------------------------------------

GO_SKEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
GO_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
ENOCH_VKEY = "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop"
GO_TEXT = (
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n"
)
PETER_SIG = (
    f"{EM} PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqd"
    "ngotpRZb6KE6RyyBwJnAM=\n"
)
ENOCH_SIG = (
    f"{EM} EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGw"
    "nWLox33WWd1RvMc+QQ=\n"
)


def go_note(*sigs: str) -> bytes:
    return (GO_TEXT + "\n" + "".join(sigs)).encode()


def test_go_signer_key_signs_the_go_example_note() -> None:
    skey = parse_signer_key(GO_SKEY)
    assert skey.name == "PeterNeumann"
    assert skey.key_id.hex() == "c74f20a3"
    assert skey.kind is KeyKind.ED25519
    assert skey.encode() == GO_SKEY
    assert skey.verifier_key().encode() == GO_VKEY
    note = sign_note(GO_TEXT.encode(), skey.name, skey.private_key())
    assert note.to_bytes() == go_note(PETER_SIG)
    assert parse_note(note.to_bytes()) == note


def test_go_signing_replaces_an_existing_signature_by_the_same_key() -> None:
    skey = parse_signer_key(GO_SKEY)
    stale = Signature("PeterNeumann", bytes.fromhex("c74f20a3"), b"BADSIGN")
    note = add_signature(Note(GO_TEXT.encode(), (stale,)), skey.name, skey.private_key())
    assert note.to_bytes() == go_note(PETER_SIG)


def test_go_open_verifies_known_and_ignores_unknown_keys() -> None:
    peter, enoch = parse_verifier_key(GO_VKEY), parse_verifier_key(ENOCH_VKEY)
    note = parse_note(go_note(PETER_SIG, ENOCH_SIG))
    assert note.text == GO_TEXT.encode()

    [only] = verify_note(note, [peter])
    assert only.key == peter and only.timestamp is None
    assert only.signature.line() == PETER_SIG.encode()

    both = verify_note(note, [peter, enoch])
    assert [v.key.name for v in both] == ["PeterNeumann", "EnochRoot"]

    error = raises("no-known-signature", verify_note, note, [])
    assert "PeterNeumann+c74f20a3" in error.detail and "EnochRoot+af0cfe78" in error.detail


def test_go_invalid_signature_from_a_known_key_rejects_the_note() -> None:
    bad = PETER_SIG[:60] + "ABCD" + PETER_SIG[60:]
    note = parse_note(go_note(bad))
    raises("bad-signature", verify_note, note, [parse_verifier_key(GO_VKEY)])
    # Also when another known key signed correctly (the spec's SHOULD, Go's behaviour).
    note = parse_note(go_note(ENOCH_SIG, bad))
    keys = [parse_verifier_key(GO_VKEY), parse_verifier_key(ENOCH_VKEY)]
    raises("bad-signature", verify_note, note, keys)


def test_duplicate_signatures_of_a_known_key_are_rejected_unknown_ones_ignored() -> None:
    # Go drops repeated signatures of a known key silently; we reject them (see docs).
    peter = parse_verifier_key(GO_VKEY)
    raises("duplicate-signature", verify_note, parse_note(go_note(PETER_SIG, PETER_SIG)), [peter])
    note = parse_note(go_note(PETER_SIG, ENOCH_SIG, ENOCH_SIG))
    assert [v.key for v in verify_note(note, [peter])] == [peter]


@pytest.mark.parametrize(
    "message",
    [
        GO_TEXT,
        GO_TEXT + "\n",
        GO_TEXT + "\n" + PETER_SIG[:-1],
        "\x01" + GO_TEXT + "\n" + PETER_SIG,
        "\xff" + GO_TEXT + "\n" + PETER_SIG,  # U+00FF: Go's test writes the byte 0xff
        GO_TEXT + "\n" + f"{EM} Bad Name " + PETER_SIG.split(" ")[2],
        GO_TEXT + "\n" + PETER_SIG + "Unexpected line.\n",
    ],
)
def test_go_malformed_notes(message: str) -> None:
    data = message.encode()
    if message.startswith("\xff"):
        data = b"\xff" + data[2:]
    raises("malformed-note", parse_note, data)


def test_go_too_many_signatures() -> None:
    data = go_note(*[PETER_SIG] * 101)
    raises("too-many-signatures", parse_note, data)


def _manglings(s: str) -> list[str]:
    """Every proper substring and every one-character increment (Go's mangling tests)."""
    out = [s[i:j] for i in range(len(s) + 1) for j in range(i + 1, len(s) + 1)]
    out.remove(s)
    out += [s[:i] + chr(ord(s[i]) + 1) + s[i + 1 :] for i in range(len(s))]
    return out


def test_go_verifier_key_manglings_are_rejected() -> None:
    assert parse_verifier_key(GO_VKEY).encode() == GO_VKEY
    for mangled in _manglings(GO_VKEY):
        with pytest.raises(NoteError):
            parse_verifier_key(mangled)
    # Wrong key length, and unknown algorithm, each with an adjusted key hash.
    raises(
        "malformed-key",
        parse_verifier_key,
        "PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY==",
    )
    raises(
        "unsupported-key-type",
        parse_verifier_key,
        "PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
    )


def test_go_signer_key_manglings_are_rejected() -> None:
    for mangled in _manglings(GO_SKEY):
        with pytest.raises(NoteError) as info:
            parse_signer_key(mangled)
        assert "AYEKFALVFGyNhPJEMzD1QIDr" not in str(info.value)  # secrets are not echoed


# --- C2SP specification examples ----------------------------------------------------------------

C2SP_VKEY = "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k"
C2SP_NOTE = (
    "This is an example message.\n\n"
    f"{EM} example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3m"
    "FXmRKuwHjG1Yu72IneyaQM=\n"
).encode()


def test_c2sp_signed_note_verifier_key_example() -> None:
    key = parse_verifier_key(C2SP_VKEY)
    assert key.name == "example.com/foo"
    assert key.kind is KeyKind.ED25519
    assert key.key_id.hex() == "530d903a"
    assert key.public_key.hex() == (
        "e932791ae6e7a840a46164c904786426d5e7821dd8b29a00d61cae72afdd4da4"
    )
    assert note_key_id(key.name, key.public_key, 0x01) == key.key_id
    assert key.encode() == C2SP_VKEY
    note = parse_note(C2SP_NOTE)
    assert note.text == b"This is an example message.\n"
    [verified] = verify_note(note, [key])
    assert verified.key == key


def test_c2sp_signed_note_intro_example_parses() -> None:
    data = (
        "Ognuno sta solo sul cuor della terra\n"
        "trafitto da un raggio di sole:\n"
        "\n"
        "ed è subito sera.\n"
        "\n"
        f"{EM} quasimodo.example/salvatore NnugSzTjtVAewIS+Z/iJhUPeFDkO/5QQ2i5ddnGITLlC+EhfLW9oJK"
        "ONrMouFSQU0xMcXxj99ihAQwaqP3ZekRwNtIc=\n"
    ).encode()
    note = parse_note(data)
    # The text ends at the *last* blank line and may itself contain blank lines.
    assert note.text.decode() == (
        "Ognuno sta solo sul cuor della terra\ntrafitto da un raggio di sole:\n\n"
        "ed è subito sera.\n"
    )
    [sig] = note.signatures
    assert sig.name == "quasimodo.example/salvatore"
    assert sig.key_id.hex() == "367ba04b"
    assert len(sig.payload) == 64
    assert note.to_bytes() == data


SOFA_CHECKPOINT = (
    "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
)
SOFA_LOG_SIG = (
    f"{EM} example.com/behind-the-sofa Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5/"
    "Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=\n"
)
SOFA_WITNESS_SIG = (
    f"{EM} witness.example.com/w1 jWbPPwAAAABkGFDLEZMHwSRaJNiIDoe9DYn/zXcrtPHeolMI5OWXEhZCB9dlrDJ"
    "sX3b2oyin1nPZqhf5nNo0xUe+mbIUBkBIfZ+qnA==\n"
)


def test_c2sp_checkpoint_and_cosignature_examples_parse() -> None:
    data = (SOFA_CHECKPOINT + "\n" + SOFA_LOG_SIG + SOFA_WITNESS_SIG).encode()
    note = parse_note(data)
    checkpoint = parse_checkpoint(note.text)
    assert checkpoint.origin == "example.com/behind-the-sofa"
    assert checkpoint.size == 20852163
    assert checkpoint.root == base64.b64decode("CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=")
    assert checkpoint.extensions == ()
    assert checkpoint.body() == note.text
    log_sig, witness_sig = note.signatures
    assert len(log_sig.payload) == 64
    assert witness_sig.key_id.hex() == "8d66cf3f"
    # tlog-cosignature's example message says "time 1679315147": it is this line's timestamp.
    assert cosignature_timestamp(witness_sig) == 1679315147
    assert (
        cosignature_message(note.text, 1679315147)
        == ("cosignature/v1\ntime 1679315147\n" + SOFA_CHECKPOINT).encode()
    )
    raises("bad-signature", cosignature_timestamp, log_sig)
    assert note.to_bytes() == data


# --- transparency-dev/formats vectors (note/note_cosigv1_test.go) --------------------------------


def test_transparency_dev_verifier_keys() -> None:
    plus = parse_verifier_key("TEST+7997405c+AQcC+FTVKf0jlTdHDY3rbevmnKxxPjigCXlVtGe6RIr6")
    assert plus.kind is KeyKind.ED25519 and plus.name == "TEST"  # '+' inside the base64
    remora = parse_verifier_key(
        "remora.n621.de+da77ade7+BOvN63jn/bLvkieywe8R6UYAtVtNbZpXh34x7onlmtw2"
    )
    assert remora.kind is KeyKind.COSIGNATURE_V1
    assert remora.encode() == "remora.n621.de+da77ade7+BOvN63jn/bLvkieywe8R6UYAtVtNbZpXh34x7onlmtw2"
    raises("malformed-key", parse_verifier_key, "bananas.sigstore.dev+12344556")
    raises("malformed-key", parse_verifier_key, "rekor.sigstore.dev+12345678+THIS_IS_NOT_BASE64!")
    raises("unsupported-key-type", parse_verifier_key, "rekor.sigstore.dev+12345678+AwEB")


def test_transparency_dev_cosignature_timestamp_vector() -> None:
    line = (
        f"{EM} w ZGhGuQAAAABm/qTPeyKXD+R2rzyQsxPiP8mXum7qq/iF0u4vanlqJyocWODBt97w9uL+8qT7S5gxEHWWO"
        "worDcFiEBYJXORmnFBOBA==\n"
    )
    note = parse_note(b"x\n\n" + line.encode())
    assert cosignature_timestamp(note.signatures[0]) == 1727964367
    wrong_type = (
        f"{EM} w eQjRQm6eSKzFoiYalgwCPXu2y3ijtg68is9M46JKxuZB+dRfTmeQeDBoXnvxZx2ugnkyV+MUMLXpW"
    )
    note = parse_note(b"x\n\n" + (wrong_type + "s1hPb/W/4xkNQY=\n").encode())
    raises("bad-signature", cosignature_timestamp, note.signatures[0])


# --- a real checkpoint with real witness cosignatures (florolf/tlog-scales) ----------------------

ARCHE = "arche2025h1.staging.ct.transparency.dev"
ARCHE_NOTE = (
    f"{ARCHE}\n1432088532\nU7WM79jrzyhGZ5/GUBTpM7NzwdyfFx61t3RovgcC4Ro=\n\n"
    f"{EM} {ARCHE} zTM8sQAAAZ5W0WdjBAMARjBEAiBjW5IQf9pvsYLfQFX6hoGREPMHbdQ3urbllzalApkptQIgIpwtEro"
    "eW2BXaHAI4kJXFbon5Ch9MNL5zRNZ55lvGt0=\n"
    f"{EM} {ARCHE} ui8GwCF1+kWqZrxGdhj4aX3gcw7XUlXQQabg/27lefwhUkzbC3NygNI75MdhL1bfTW9g8Ei59RA23oHP"
    "7Ry1k3ZFWwQ=\n"
    f"{EM} transparency.dev/DEV:witness-little-garden 2AQqhwAAAABqEiEgzgFIqqhbUoDwjMWE6UP8nd8/KYTz"
    "wZ2rhIgcqoXHAwVkjZr4AscylP3v7sEodkRAErumC2q44vdgJY096st5BQ==\n"
    f"{EM} witness1.smartit.nu/witness1 pIyCDwAAAABqEiEghIp82KWebrw7/oHQwlTAm3g2RKS4+eebl8eO0WH+/"
    "iEcxZ75W3u5hNI7TOQtmJbqmNWVuE0tgh0XwzdZsDsUAQ==\n"
    f"{EM} remora.n621.de 2net5wAAAABqEiEgPlfF3V06o0Y+fHM+J5J9s27wgxxcOVSpZ/2g/KSiXCg9DEZI+aVCIobW"
    "X9sXTynk5XeU/zZ0WBxtqB0DrAWfBw==\n"
    f"{EM} witness.stagemole.eu Z/euoAAAAABqEiEgw0i+7g2ENfDAWHmtRzCfKTHSDwYDJA2NmKeGi9Y8FtEyOUvVr+"
    "AJmIY/2TUFucgKi7lI7cUiOvKFYe/TmN9DAg==\n"
).encode()
ARCHE_VKEY = f"{ARCHE}+ba2f06c0+AU0vHmlGCS/PdN8b2OaGmKprLI8HKM+dJ472xgFYh15f"
REMORA_VKEY = "remora.n621.de+da77ade7+BOvN63jn/bLvkieywe8R6UYAtVtNbZpXh34x7onlmtw2"


def test_real_world_checkpoint_and_witness_cosignature_verify() -> None:
    log_key, witness_key = parse_verifier_key(ARCHE_VKEY), parse_verifier_key(REMORA_VKEY)
    checkpoint, note = open_checkpoint(ARCHE_NOTE, log_key, ARCHE)
    assert checkpoint.size == 1432088532
    # The first line, also named like the log, is a type-0x05 RFC 6962 signature: ignored.
    assert note.signatures[0].key_id.hex() == "cd333cb1"
    verified = verify_note(note, [log_key, witness_key], now=1779573024)
    assert [(v.key.name, v.timestamp) for v in verified] == [
        (ARCHE, None),
        ("remora.n621.de", 1779573024),
    ]
    raises("future-timestamp", verify_note, note, [witness_key], now=1779573023)
    # The same signatures over a different tree size fail for both keys.
    forged = ARCHE_NOTE.replace(b"\n1432088532\n", b"\n42\n", 1)
    raises("bad-signature", open_checkpoint, forged, log_key, ARCHE)
    raises("bad-signature", verify_note, parse_note(forged), [witness_key])


# --- round trips --------------------------------------------------------------------------------


def test_checkpoint_round_trip_and_exact_body() -> None:
    checkpoint = Checkpoint(ORIGIN, 0, bytes(32), ("ext one", "ext: two"))
    body = checkpoint.body()
    assert (
        body
        == (
            f"{ORIGIN}\n0\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\next one\next: two\n"
        ).encode()
    )
    assert parse_checkpoint(body) == checkpoint
    assert parse_checkpoint(CHECKPOINT.body()) == CHECKPOINT
    big = Checkpoint(ORIGIN, MAX_TREE_SIZE, ROOT)
    assert parse_checkpoint(big.body()).size == 2**64 - 1


def test_note_sign_cosign_round_trip() -> None:
    note = cosigned()
    data = note.to_bytes()
    assert parse_note(data) == note
    checkpoint, opened = open_checkpoint(data, LOG_VKEY, ORIGIN)
    assert checkpoint == CHECKPOINT and opened == note
    log, council = verify_note(opened, [LOG_VKEY, COUNCIL_VKEY], now=T)
    assert (log.key, log.timestamp) == (LOG_VKEY, None)
    assert (council.key, council.timestamp) == (COUNCIL_VKEY, T)
    assert cosignature_timestamp(council.signature) == T


def test_key_strings_round_trip() -> None:
    for key in (LOG_VKEY, COUNCIL_VKEY):
        assert parse_verifier_key(key.encode()) == key
    for private, name, kind in (
        (LOG_KEY, ORIGIN, KeyKind.ED25519),
        (COUNCIL_KEY, COUNCIL, KeyKind.COSIGNATURE_V1),
    ):
        skey = SignerKey.from_private_key(name, private, kind)
        assert parse_signer_key(skey.encode()) == skey
        assert skey.verifier_key() == VerifierKey.from_public_key(name, private.public_key(), kind)
        assert skey.seed.hex() not in repr(skey)
    # Upper-case hex key ids are read (as Go does) and written back in lower case.
    upper = LOG_VKEY.encode().replace(LOG_VKEY.key_id.hex(), LOG_VKEY.key_id.hex().upper())
    assert parse_verifier_key(upper) == LOG_VKEY


def test_cosigning_twice_replaces_the_councils_cosignature() -> None:
    note = cosign(cosigned(), COUNCIL, COUNCIL_KEY, T + 60)
    assert len(note.signatures) == 2
    [council] = verify_note(note, [COUNCIL_VKEY])
    assert council.timestamp == T + 60


# --- rejections ---------------------------------------------------------------------------------


@pytest.mark.parametrize("mask", [0x01, 0x20, 0x80])
def test_any_changed_byte_of_a_signed_checkpoint_is_rejected(mask: int) -> None:
    data = signed().to_bytes()
    for i in range(len(data)):
        mutated = data[:i] + bytes([data[i] ^ mask]) + data[i + 1 :]
        with pytest.raises(NoteError):
            open_checkpoint(mutated, LOG_VKEY, ORIGIN)


@pytest.mark.parametrize("mask", [0x01, 0x20, 0x80])
def test_any_changed_byte_of_the_text_breaks_the_cosignature(mask: int) -> None:
    note = cosigned()
    data = note.to_bytes()
    for i in range(len(note.text)):
        mutated = data[:i] + bytes([data[i] ^ mask]) + data[i + 1 :]
        with pytest.raises(NoteError):
            verify_note(parse_note(mutated), [COUNCIL_VKEY])


def test_wrong_key_is_rejected() -> None:
    other = Ed25519PrivateKey.from_private_bytes(bytes([3]) * 32)
    impostor = VerifierKey.from_public_key(ORIGIN, other.public_key())
    raises("no-known-signature", open_checkpoint, signed().to_bytes(), impostor, ORIGIN)
    # Signed by the impostor, checked against the real key.
    forged = sign_note(CHECKPOINT.body(), ORIGIN, other).to_bytes()
    raises("no-known-signature", open_checkpoint, forged, LOG_VKEY, ORIGIN)
    council_impostor = VerifierKey.from_public_key(
        COUNCIL, other.public_key(), KeyKind.COSIGNATURE_V1
    )
    raises("no-known-signature", verify_note, cosigned(), [council_impostor])


def test_wrong_origin_is_rejected() -> None:
    error = raises("unknown-origin", open_checkpoint, signed().to_bytes(), LOG_VKEY, "elsewhere")
    assert repr(ORIGIN) in error.detail and "'elsewhere'" in error.detail
    other = Checkpoint(ORIGIN.replace("0000-0000-0000", "0000-0000-0001"), 3, ROOT)
    data = sign_note(other.body(), ORIGIN, LOG_KEY).to_bytes()
    raises("unknown-origin", open_checkpoint, data, LOG_VKEY, ORIGIN)


def test_tampered_cosignature_timestamp_is_rejected() -> None:
    note = cosigned()
    log, council = note.signatures
    for new_time in (T + 1, T - 1, 0):
        payload = new_time.to_bytes(8, "big") + council.payload[8:]
        tampered = Note(note.text, (log, Signature(council.name, council.key_id, payload)))
        raises("bad-signature", verify_note, tampered, [COUNCIL_VKEY])
    payload = (MAX_TIMESTAMP + 1).to_bytes(8, "big") + council.payload[8:]
    tampered = Note(note.text, (log, Signature(council.name, council.key_id, payload)))
    raises("bad-timestamp", verify_note, tampered, [COUNCIL_VKEY])


def test_future_cosignature_is_rejected_only_when_a_clock_is_given() -> None:
    raises("future-timestamp", verify_note, cosigned(), [COUNCIL_VKEY], now=T - 1)
    assert verify_note(cosigned(), [COUNCIL_VKEY], now=T)[0].timestamp == T
    assert verify_note(cosigned(), [COUNCIL_VKEY])[0].timestamp == T


def test_cosignature_and_plain_signature_are_not_interchangeable() -> None:
    note = cosigned()
    log, council = note.signatures
    council_as_plain = VerifierKey.from_public_key(COUNCIL, COUNCIL_KEY.public_key())
    log_as_cosigner = VerifierKey.from_public_key(
        ORIGIN, LOG_KEY.public_key(), KeyKind.COSIGNATURE_V1
    )
    assert council_as_plain.key_id != COUNCIL_VKEY.key_id  # the type byte is in the key id
    # Unchanged lines do not match keys of the other type: they are unknown and ignored.
    raises("no-known-signature", verify_note, note, [council_as_plain])
    raises("no-known-signature", verify_note, note, [log_as_cosigner])
    # Relabelled to the other type's key id, they fail to verify.
    relabelled = Note(note.text, (log, relabel(council, council_as_plain.key_id)))
    raises("bad-signature", verify_note, relabelled, [council_as_plain])
    relabelled = Note(note.text, (relabel(log, log_as_cosigner.key_id), council))
    raises("bad-signature", verify_note, relabelled, [log_as_cosigner])
    # An ordinary signature can never be made over a cosignature/v1 message.
    message = cosignature_message(CHECKPOINT.body(), T)
    raises("malformed-note", sign_note, message, COUNCIL, COUNCIL_KEY)


def test_cosignature_on_a_non_checkpoint_is_refused_and_rejected() -> None:
    text = b"not a checkpoint\n"
    raises(
        "malformed-checkpoint", cosign, sign_note(text, ORIGIN, LOG_KEY), COUNCIL, COUNCIL_KEY, T
    )
    payload = T.to_bytes(8, "big") + COUNCIL_KEY.sign(cosignature_message(text, T))
    note = Note(text, (Signature(COUNCIL, COUNCIL_VKEY.key_id, payload),))
    raises("malformed-checkpoint", verify_note, note, [COUNCIL_VKEY])


@pytest.mark.parametrize("timestamp", [-1, MAX_TIMESTAMP + 1, True, 1.0, "1"])
def test_cosign_rejects_bad_timestamps(timestamp: Any) -> None:
    raises("bad-timestamp", cosign, signed(), COUNCIL, COUNCIL_KEY, timestamp)


def test_cosign_accepts_the_extreme_timestamps() -> None:
    for timestamp in (0, MAX_TIMESTAMP):
        note = cosign(signed(), COUNCIL, COUNCIL_KEY, timestamp)
        assert verify_note(note, [COUNCIL_VKEY])[0].timestamp == timestamp


def test_missing_blank_line_is_rejected() -> None:
    data = signed().to_bytes()
    raises("malformed-note", parse_note, data.replace(b"\n\n", b"\n"))
    raises("malformed-note", parse_note, CHECKPOINT.body())
    raises("malformed-note", parse_note, CHECKPOINT.body() + b"\n")  # blank line, no signature


def test_crlf_line_endings_are_rejected() -> None:
    raises("malformed-note", parse_note, signed().to_bytes().replace(b"\n", b"\r\n"))
    raises("malformed-checkpoint", parse_checkpoint, CHECKPOINT.body().replace(b"\n", b"\r\n"))
    raises("malformed-note", sign_note, b"a\r\n", ORIGIN, LOG_KEY)


@pytest.mark.parametrize(
    "bad", [b"\xff", b"\xc0\xaf", b"\xed\xa0\x80", b"\xe2\x80", b"\xf4\x90\x80\x80"]
)
def test_non_utf8_is_rejected(bad: bytes) -> None:
    data = signed().to_bytes()
    raises("malformed-note", parse_note, bad + data)
    raises("malformed-note", parse_note, data[:-1] + bad + b"\n")
    raises("malformed-checkpoint", parse_checkpoint, CHECKPOINT.body() + bad + b"\n")


@pytest.mark.parametrize("control", [b"\x00", b"\t", b"\x0b", b"\x1b", b"\x1f"])
def test_control_characters_are_rejected(control: bytes) -> None:
    data = signed().to_bytes()
    raises("malformed-note", parse_note, data[:5] + control + data[5:])
    raises("malformed-note", parse_note, data[:-3] + control + data[-3:])


def test_duplicate_signatures_by_the_same_key() -> None:
    note = cosigned()
    log, council = note.signatures
    raises("duplicate-signature", verify_note, Note(note.text, (log, log)), [LOG_VKEY])
    doubled = Note(note.text, (log, council, council))
    raises("duplicate-signature", verify_note, doubled, [COUNCIL_VKEY])
    # Duplicates of keys nobody asked about are ignored.
    assert len(verify_note(doubled, [LOG_VKEY])) == 1
    # Two cosignatures of the council with different times are still a duplicate.
    other = cosign(signed(), COUNCIL, COUNCIL_KEY, T + 1).signatures[1]
    raises("duplicate-signature", verify_note, Note(note.text, (council, other)), [COUNCIL_VKEY])


def _unknown_lines(n: int) -> tuple[Signature, ...]:
    return tuple(Signature(f"w{i}.example", i.to_bytes(4, "big"), b"\x00" * 64) for i in range(n))


def test_signature_count_limits() -> None:
    note = signed()
    assert MAX_SIGNATURES == 100
    at_limit = Note(note.text, _unknown_lines(MAX_SIGNATURES - 1) + note.signatures)
    parsed = parse_note(at_limit.to_bytes())
    assert len(verify_note(parsed, [LOG_VKEY])) == 1
    sixteen = Note(note.text, (*_unknown_lines(15), *note.signatures))
    assert len(verify_note(parse_note(sixteen.to_bytes()), [LOG_VKEY])) == 1  # spec minimum
    over = at_limit.to_bytes() + _unknown_lines(101)[100].line()
    raises("too-many-signatures", parse_note, over)
    raises("too-many-signatures", Note, note.text, _unknown_lines(101))
    raises("too-many-signatures", add_signature, at_limit, "extra", LOG_KEY)
    # Replacing an existing signature does not grow the note.
    assert len(add_signature(at_limit, ORIGIN, LOG_KEY).signatures) == MAX_SIGNATURES


@pytest.mark.parametrize(
    ("lines", "detail"),
    [
        (["o", "03", "{root}"], "leading zeros"),
        (["o", "+3", "{root}"], "decimal"),
        (["o", "-1", "{root}"], "decimal"),
        (["o", " 3", "{root}"], "decimal"),
        (["o", "3 ", "{root}"], "decimal"),
        (["o", "\u0663", "{root}"], "decimal"),  # ARABIC-INDIC DIGIT THREE
        (["o", "0x3", "{root}"], "decimal"),
        (["o", "1_0", "{root}"], "decimal"),
        (["o", str(2**64), "{root}"], "2^64-1"),
        (["o", "3", "{root_nopad}"], "base64"),
        (["o", "3", "{root_urlsafe}"], "base64"),
        (["o", "3", "{root_bits}"], "base64"),
        (["o", "3", "{root_space}"], "base64"),
        (["o", "3", "{root31}"], "31 bytes"),
        (["o", "3", "{root33}"], "33 bytes"),
        (["o", "3"], "at least 3"),
        (["", "3", "{root}"], "empty"),
        (["o", "3", "{root}", ""], "empty"),
        (["o", "3", "{root}", "ext", ""], "empty"),
    ],
)
def test_checkpoint_parsing_is_strict(lines: list[str], detail: str) -> None:
    root = base64.b64encode(bytes(range(32))).decode()
    values = {
        "root": root,
        "root_nopad": root.rstrip("="),
        "root_urlsafe": base64.urlsafe_b64encode(b"\xfb" * 32).decode(),
        "root_bits": root[:-2] + "B=",  # non-zero padding bits: same bytes, not canonical
        "root_space": root[:8] + " " + root[8:],
        "root31": base64.b64encode(bytes(31)).decode(),
        "root33": base64.b64encode(bytes(33)).decode(),
    }
    body = "".join(line.format(**values) + "\n" for line in lines).encode()
    error = raises("malformed-checkpoint", parse_checkpoint, body)
    assert detail in error.detail


def test_checkpoint_parsing_rejects_missing_final_newline() -> None:
    raises("malformed-checkpoint", parse_checkpoint, CHECKPOINT.body()[:-1])
    raises("malformed-checkpoint", parse_checkpoint, b"")


@pytest.mark.parametrize(
    "kwargs",
    [
        {"origin": ""},
        {"origin": "a\nb"},
        {"origin": "a\rb"},
        {"size": -1},
        {"size": 2**64},
        {"size": True},
        {"root": bytes(31)},
        {"root": "00" * 32},
        {"extensions": ("",)},
        {"extensions": ("a\nb",)},
    ],
)
def test_checkpoint_constructor_rejects_invalid_fields(kwargs: dict[str, Any]) -> None:
    fields: dict[str, Any] = {"origin": ORIGIN, "size": 3, "root": ROOT, "extensions": ()}
    fields.update(kwargs)
    raises("malformed-checkpoint", Checkpoint, **fields)


@pytest.mark.parametrize(
    "name", ["", "a b", "a+b", "a\u00a0b", "a\u3000b", "a\u2028b", "a\tb", "a\x01b", "\ud800"]
)
def test_invalid_key_names(name: str) -> None:
    raises("invalid-name", sign_note, b"text\n", name, LOG_KEY)
    raises("invalid-name", cosign, signed(), name, COUNCIL_KEY, T)
    raises("invalid-name", note_key_id, name, bytes(32), 1)
    raises("malformed-note", Signature, name, bytes(4), b"x")


def test_signature_line_rules() -> None:
    text = b"t\n\n"
    line = signed().signatures[0].line().decode()
    _, name, encoded = line[:-1].split(" ")
    raises("malformed-note", parse_note, text + f"- {name} {encoded}\n".encode())  # hyphen
    raises("malformed-note", parse_note, text + f"{EM}{name} {encoded}\n".encode())  # no space
    raises("malformed-note", parse_note, text + f"{EM}  {name} {encoded}\n".encode())
    raises("malformed-note", parse_note, text + f"{EM} {name}  {encoded}\n".encode())
    raises("malformed-note", parse_note, text + f"{EM} {name} {encoded} \n".encode())
    raises("malformed-note", parse_note, text + f"{EM} {name}\n".encode())
    raises("malformed-note", parse_note, text + f"{EM} {name} {encoded.rstrip('=')}\n".encode())
    raises("malformed-note", parse_note, text + f"{EM} {name} AAAAAA==\n".encode())  # 4 bytes
    assert parse_note(text + f"{EM} {name} AAAAAAA=\n".encode())  # 5 bytes is the minimum
    # Canonical base64 only: a non-zero padding bit in the last character.
    short = f"{EM} n AAAAAAE=\n".encode()
    assert parse_note(text + short)
    raises("malformed-note", parse_note, text + short.replace(b"AAAAAAE=", b"AAAAAAF="))


def test_verifier_key_errors() -> None:
    encoded = LOG_VKEY.encode()
    name, key_id, material = encoded.split("+", 2)
    wrong_id = f"{int(key_id, 16) ^ 1:08x}"
    error = raises("key-id-mismatch", parse_verifier_key, f"{name}+{wrong_id}+{material}")
    assert wrong_id in error.detail and key_id in error.detail
    raises("malformed-key", parse_verifier_key, f"{name}+{key_id[:-1]}+{material}")
    raises("malformed-key", parse_verifier_key, f"{name}+0x{key_id[2:]}+{material}")
    raises("malformed-key", parse_verifier_key, f"{name} x+{key_id}+{material}")
    raises("malformed-key", parse_verifier_key, f"+{key_id}+{material}")
    raises("malformed-key", parse_verifier_key, f"{name}+{key_id}+")
    raises("malformed-key", parse_verifier_key, f"{name}+{key_id}+{material[:-1]}")
    raises("malformed-key", parse_verifier_key, f"{name}+{key_id}+{material}==")
    two = base64.b64encode(b"\x02" + LOG_VKEY.public_key).decode()
    two_id = note_key_id(name, LOG_VKEY.public_key, 2).hex()
    raises("unsupported-key-type", parse_verifier_key, f"{name}+{two_id}+{two}")
    raises("key-id-mismatch", VerifierKey, ORIGIN, bytes(4), LOG_VKEY.public_key, KeyKind.ED25519)
    raises("malformed-key", VerifierKey, ORIGIN, LOG_VKEY.key_id, bytes(31), KeyKind.ED25519)


def test_signer_key_errors() -> None:
    skey = SignerKey.from_private_key(ORIGIN, LOG_KEY).encode()
    raises("malformed-key", parse_signer_key, skey.replace("PRIVATE+KEY", "PUBLIC+KEY"))
    raises("malformed-key", parse_signer_key, LOG_VKEY.encode())
    wrong = skey.replace(LOG_VKEY.key_id.hex(), "00000000")
    raises("key-id-mismatch", parse_signer_key, wrong)


def test_ambiguous_verifier_keys() -> None:
    # Two public keys whose key ids collide under the same name (found by a birthday search;
    # they need not be valid curve points to exercise the lookup).
    a = hashlib.sha256(b"pk35375").digest()
    b = hashlib.sha256(b"pk35581").digest()
    name = "collide.example"
    key_a = VerifierKey.from_public_key(name, a)
    key_b = VerifierKey.from_public_key(name, b)
    assert key_a.key_id == key_b.key_id == bytes.fromhex("c3003da4")
    note = Note(b"t\n", (Signature(name, key_a.key_id, bytes(64)),))
    raises("ambiguous-key", verify_note, note, [key_a, key_b])
    # Repeating the same key is not ambiguous, and unused ambiguity does not matter.
    raises("bad-signature", verify_note, note, [key_a, key_a])
    assert verify_note(signed(), [LOG_VKEY, key_a, key_b])[0].key == LOG_VKEY


def test_wrong_key_types_are_refused() -> None:
    raises("malformed-key", verify_note, signed(), LOG_VKEY)  # a key, not a list of keys
    raises("malformed-key", verify_note, signed(), [LOG_VKEY.encode()])
    raises("wrong-key-type", open_checkpoint, cosigned().to_bytes(), COUNCIL_VKEY, ORIGIN)
    raises("wrong-key-type", sign_note, b"t\n", ORIGIN, LOG_VKEY)
    raises("wrong-key-type", cosign, signed(), COUNCIL, "not a key", T)


def test_note_constructor_checks() -> None:
    sig = signed().signatures[0]
    raises("malformed-note", Note, b"no newline", (sig,))
    raises("malformed-note", Note, b"t\n", ())
    raises("malformed-note", Note, "t\n", (sig,))
    raises("malformed-note", Signature, ORIGIN, bytes(3), b"x")
    raises("malformed-note", Signature, ORIGIN, bytes(4), b"")
    assert Note(b"t\n", [sig]).signatures == (sig,)  # type: ignore[arg-type]  # list -> tuple


def test_texts_with_blank_lines_round_trip() -> None:
    for text in (b"\n", b"a\n\n", b"a\n\n\nb\n", "é — x\n".encode()):
        note = sign_note(text, ORIGIN, LOG_KEY)
        parsed = parse_note(note.to_bytes())
        assert parsed.text == text
        assert verify_note(parsed, [LOG_VKEY])


def test_errors_are_value_errors_with_known_reasons() -> None:
    error = raises("malformed-note", parse_note, b"")
    assert isinstance(error, ValueError)
    assert all(re.fullmatch(r"[a-z]+(-[a-z]+)*", reason) for reason in REASONS)


# --- property tests (hypothesis) ----------------------------------------------------------------

_PIECES = [
    b"\n",
    b"\n\n",
    EM.encode() + b" ",
    b" ",
    b"a",
    b"+",
    b"=",
    b"AAAA",
    b"/",
    b"\r",
    b"\t",
    b"\xff",
    b"\xe2\x80",
    "é".encode(),
    b"0",
    b"07",
    b"3",
    b"example.com/log",
    base64.b64encode(bytes(32)),
    base64.b64encode(bytes(68)),
    base64.b64encode(bytes(76)),
]
note_like = st.lists(st.sampled_from(_PIECES), max_size=40).map(b"".join)


@given(st.one_of(st.binary(max_size=400), note_like))
def test_parse_note_never_raises_anything_but_note_error(data: bytes) -> None:
    try:
        note = parse_note(data)
    except NoteError as error:
        assert error.reason in {"malformed-note", "too-many-signatures"}
    else:
        assert note.to_bytes() == data  # parsing is canonical


@given(st.one_of(st.binary(max_size=300), note_like))
def test_parse_checkpoint_never_raises_anything_but_note_error(data: bytes) -> None:
    try:
        checkpoint = parse_checkpoint(data)
    except NoteError as error:
        assert error.reason == "malformed-checkpoint"
    else:
        assert checkpoint.body() == data


@given(st.one_of(st.text(max_size=120), st.sampled_from(_manglings(GO_VKEY)[:50])))
def test_parse_keys_never_raise_anything_but_note_error(s: str) -> None:
    for parse in (parse_verifier_key, parse_signer_key):
        with contextlib.suppress(NoteError):
            parse(s)
        with contextlib.suppress(NoteError):
            parse("PRIVATE+KEY+" + s)


_edits = st.lists(
    st.tuples(
        st.sampled_from(["set", "insert", "delete"]), st.integers(0, 10_000), st.integers(0, 255)
    ),
    min_size=1,
    max_size=4,
)


def _apply(data: bytes, edits: list[tuple[str, int, int]]) -> bytes:
    buf = bytearray(data)
    for op, pos, value in edits:
        i = pos % (len(buf) + 1)
        if op == "insert":
            buf.insert(i, value)
        elif buf and op == "set":
            buf[i % len(buf)] = value
        elif buf:
            del buf[i % len(buf)]
    return bytes(buf)


@settings(max_examples=300)
@given(_edits)
def test_mutated_cosigned_checkpoints_never_verify_a_different_text(
    edits: list[tuple[str, int, int]],
) -> None:
    original = cosigned()
    mutated = _apply(original.to_bytes(), edits)
    try:
        note = parse_note(mutated)
        verified = verify_note(note, [LOG_VKEY, COUNCIL_VKEY])
    except NoteError:
        return
    assert note.text == original.text
    for v in verified:
        assert v.signature in original.signatures


names = st.text(
    alphabet=st.characters(
        exclude_categories=("Cs", "Cc", "Zs", "Zl", "Zp"), exclude_characters="+\x85"
    ),
    min_size=1,
    max_size=20,
)
texts = st.text(
    alphabet=st.characters(
        exclude_categories=["Cs"],
        exclude_characters="".join(chr(c) for c in range(0x20) if c != 0x0A),
    ),
    max_size=60,
).map(lambda s: (s + "\n").encode())


@settings(max_examples=50)
@given(texts, names)
def test_sign_parse_verify_round_trip(text: bytes, name: str) -> None:
    if text.startswith(b"cosignature/v1\n"):
        return
    note = sign_note(text, name, LOG_KEY)
    parsed = parse_note(note.to_bytes())
    assert parsed == note
    key = VerifierKey.from_public_key(name, LOG_KEY.public_key())
    assert parse_verifier_key(key.encode()) == key
    [verified] = verify_note(parsed, [key])
    assert verified.key == key


@settings(max_examples=50)
@given(
    st.text(alphabet=st.characters(exclude_categories=("Cs", "Cc")), min_size=1, max_size=40),
    st.integers(0, MAX_TREE_SIZE),
    st.binary(min_size=32, max_size=32),
    st.lists(
        st.text(alphabet=st.characters(exclude_categories=("Cs", "Cc")), min_size=1, max_size=10),
        max_size=3,
    ),
    st.integers(0, MAX_TIMESTAMP),
)
def test_checkpoint_cosign_round_trip(
    origin: str, size: int, root: bytes, extensions: list[str], timestamp: int
) -> None:
    checkpoint = Checkpoint(origin, size, root, tuple(extensions))
    assert parse_checkpoint(checkpoint.body()) == checkpoint
    note = cosign(sign_note(checkpoint.body(), ORIGIN, LOG_KEY), COUNCIL, COUNCIL_KEY, timestamp)
    data = note.to_bytes()
    assert open_checkpoint(data, LOG_VKEY, origin) == (checkpoint, note)
    assert verify_note(parse_note(data), [COUNCIL_VKEY])[0].timestamp == timestamp


# --- docs/CHECKPOINTS.md worked example ----------------------------------------------------------


def _doc_blocks() -> dict[str, str]:
    blocks = re.findall(r"<!-- check: ([\w-]+) -->\n```\w*\n(.*?)```", DOC.read_text("utf-8"), re.S)
    names = [name for name, _ in blocks]
    assert len(names) == len(set(names)), names
    return dict(blocks)


def test_checkpoints_doc_example() -> None:
    blocks = _doc_blocks()
    assert set(blocks) == {
        "keys",
        "verifier-keys",
        "signer-keys",
        "checkpoint",
        "cosigned-message",
        "cosigned-note",
        "reproduce",
        "verify",
    }
    note = cosigned()
    assert blocks["keys"] == (
        f"ledger public key   {LOG_VKEY.public_key.hex()}\n"
        f"ledger key id       {LOG_VKEY.key_id.hex()} = "
        "SHA-256(origin ‖ 0x0A ‖ 0x01 ‖ ledger public key)[:4]\n"
        f"council public key  {COUNCIL_VKEY.public_key.hex()}\n"
        f"council key id      {COUNCIL_VKEY.key_id.hex()} = "
        "SHA-256(council name ‖ 0x0A ‖ 0x04 ‖ council public key)[:4]\n"
        f"root hash           {ROOT.hex()}\n"
    )
    assert blocks["verifier-keys"] == f"{LOG_VKEY.encode()}\n{COUNCIL_VKEY.encode()}\n"
    assert blocks["signer-keys"] == (
        f"{SignerKey.from_private_key(ORIGIN, LOG_KEY).encode()}\n"
        f"{SignerKey.from_private_key(COUNCIL, COUNCIL_KEY, KeyKind.COSIGNATURE_V1).encode()}\n"
    )
    assert blocks["checkpoint"].encode() == CHECKPOINT.body()
    assert blocks["cosigned-message"].encode() == cosignature_message(CHECKPOINT.body(), T)
    assert blocks["cosigned-note"].encode() == note.to_bytes()
    # The prose that reads the cosignature line.
    council = note.signatures[1]
    spaced = " ".join(f"{b:02x}" for b in council.payload[:8])
    assert f"`{spaced}` (= {T})" in DOC.read_text("utf-8")
    # The reproduction recipe and the verification snippet run as written.
    namespace: dict[str, Any] = {}
    exec(compile(blocks["reproduce"], str(DOC), "exec"), namespace)
    assert namespace["note"] == note.to_bytes()
    exec(compile(blocks["verify"], str(DOC), "exec"), namespace)
    assert namespace["council_sig"].timestamp == T
