"""Key files and key ids; the key and signature policy: tests/reliability/test_keys_policy.py."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from ledger.app import keyfiles
from ledger.core import keys
from ledger.errors import InputError, KeyFileError


def test_key_id_is_sha256_prefix_of_raw_public_key() -> None:
    raw = bytes(range(32))
    assert keys.key_id(raw) == hashlib.sha256(raw).hexdigest()[:32]


def test_round_trip_encrypted(tmp_path: Path) -> None:
    key = keys.generate("Marie Dupont")
    public = keyfiles.write_key_files(key, tmp_path / "m.key", b"pass phrase")
    loaded = keyfiles.load_signing_key(tmp_path / "m.key", lambda p: b"pass phrase")
    assert loaded.public == public == keyfiles.load_public_key(tmp_path / "m.key.pub")
    assert loaded.name == "Marie Dupont"
    message = b"hello"
    assert keys.verify_signature(public.raw, loaded.sign(message), message)
    assert not keys.verify_signature(public.raw, loaded.sign(message), b"hellO")


def test_passphrase_asked_only_for_encrypted_files(tmp_path: Path) -> None:
    keyfiles.write_key_files(keys.generate("a"), tmp_path / "plain.key", None)

    def refuse(path: Path) -> bytes:
        raise AssertionError("asked for a passphrase")

    keyfiles.load_signing_key(tmp_path / "plain.key", refuse)


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o660, 0o700 | 0o007])
def test_loose_permissions_refused(tmp_path: Path, mode: int) -> None:
    keyfiles.write_key_files(keys.generate("a"), tmp_path / "a.key", None)
    os.chmod(tmp_path / "a.key", mode)
    with pytest.raises(KeyFileError, match="accessible by group or others"):
        keyfiles.load_signing_key(tmp_path / "a.key", lambda p: b"")


def test_wrong_passphrase_says_no_more(tmp_path: Path) -> None:
    keyfiles.write_key_files(keys.generate("a"), tmp_path / "a.key", b"right")
    with pytest.raises(KeyFileError) as caught:
        keyfiles.load_signing_key(tmp_path / "a.key", lambda p: b"wrong")
    assert str(caught.value) == f"key: wrong passphrase for {tmp_path / 'a.key'}"
    assert caught.value.__cause__ is None and caught.value.__suppress_context__


def test_private_key_never_in_the_public_file(tmp_path: Path) -> None:
    keyfiles.write_key_files(keys.generate("a"), tmp_path / "a.key", None)
    assert b"PRIVATE" not in (tmp_path / "a.key.pub").read_bytes()


def test_not_a_key_file(tmp_path: Path) -> None:
    (tmp_path / "x.key").write_text("hello")
    os.chmod(tmp_path / "x.key", 0o600)
    with pytest.raises(KeyFileError, match="is not a PEM private key"):
        keyfiles.load_signing_key(tmp_path / "x.key", lambda p: b"")
    (tmp_path / "x.pub").write_text("hello")
    with pytest.raises(KeyFileError, match="is not a PEM public key"):
        keyfiles.load_public_key(tmp_path / "x.pub")


@pytest.mark.parametrize("name", ["", "  ", "two\nlines", "x" * 201])
def test_bad_names(name: str) -> None:
    with pytest.raises(InputError):
        keys.generate(name)


@pytest.mark.parametrize("count", [0, 1, keys.SIGN_INLINE_BELOW - 1, keys.SIGN_INLINE_BELOW, 1001])
def test_signing_many_on_every_core_gives_each_message_its_own_signature(count: int) -> None:
    key = keys.generate("Batch")
    messages = [f"message {i}".encode() for i in range(count)]
    # Ed25519 is deterministic: the pool must return exactly these, in order.
    assert key.sign_all(messages) == [key.sign(m) for m in messages]
