"""Signing keys: Ed25519, in passphrase-encrypted PKCS#8 PEM files readable by the owner only.

A key file starts with two explanatory lines (RFC 7468 allows text before the PEM block) that
name the person and the key id, so ``ledger init`` and ``ledger signer add`` can read them::

    name: Alice Martin
    key-id: 5f0c…
    -----BEGIN ENCRYPTED PRIVATE KEY-----

The public half sits beside it in ``PATH.pub`` (SubjectPublicKeyInfo PEM, same two lines).
The key id is the first 16 bytes of SHA-256 over the 32-byte raw public key, in hex.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import os
import re
import stat
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from ledger.errors import InputError, KeyFileError

PassphraseSource = Callable[[Path], bytes]
SIGNING_CHUNK = 256  # messages a signing thread takes at a time

_FIELD = re.compile(rb"^(name|key-id): (.*)$", re.MULTILINE)
_P = 2**255 - 19
# Encodings of the eight small-order points of edwards25519 and their non-canonical twins
# (C2SP/CCTV ed25519 vectors README). A key among them verifies signatures on many messages.
_SMALL_ORDER = frozenset(
    bytes.fromhex(h)
    for h in (
        "0000000000000000000000000000000000000000000000000000000000000000",
        "0000000000000000000000000000000000000000000000000000000000000080",
        "0100000000000000000000000000000000000000000000000000000000000000",
        "0100000000000000000000000000000000000000000000000000000000000080",
        "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",
        "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85",
        "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",
        "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa",
        "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
        "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
        "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
        "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
        "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
        "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
    )
)


def key_id(public_key: bytes) -> str:
    """The key id of a 32-byte raw Ed25519 public key."""
    return hashlib.sha256(public_key).digest()[:16].hex()


def check_public_key(field: str, public_key: bytes) -> None:
    """Refuse keys no honest signer has: wrong length, non-canonical or small-order encodings."""
    if len(public_key) != 32:
        raise InputError(field, f"an Ed25519 public key has 32 bytes, got {len(public_key)}")
    if public_key in _SMALL_ORDER:
        raise InputError(field, "small-order Ed25519 public key refused")
    if int.from_bytes(public_key, "little") & ((1 << 255) - 1) >= _P:
        raise InputError(field, "non-canonical Ed25519 public key encoding refused")


def verify_signature(public_key: bytes, signature: bytes, message: bytes) -> bool:
    """Ed25519 verification with OpenSSL's rules (rejects non-canonical S and R encodings)."""
    try:
        _public_key_object(public_key).verify(signature, message)
    except (InvalidSignature, ValueError):
        return False
    return True


@functools.lru_cache(maxsize=1024)
def _public_key_object(public_key: bytes) -> Ed25519PublicKey:
    # Loading a key costs about as much as a tenth of a verification; ledgers have few keys.
    return Ed25519PublicKey.from_public_bytes(public_key)


@dataclass(frozen=True, slots=True)
class PublicKey:
    """A public key as read from a ``.pub`` file."""

    raw: bytes
    name: str

    @property
    def key_id(self) -> str:
        return key_id(self.raw)

    @property
    def b64(self) -> str:
        return base64.b64encode(self.raw).decode()


@dataclass(frozen=True, slots=True)
class SigningKey:
    """A private key loaded from its file, ready to sign."""

    private: Ed25519PrivateKey
    name: str

    @property
    def public(self) -> PublicKey:
        raw = self.private.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        return PublicKey(raw=raw, name=self.name)

    def sign(self, message: bytes) -> bytes:
        return self.private.sign(message)

    def sign_stream(self, messages: Iterable[bytes]) -> list[bytes]:
        """Sign messages as they come, in order: full chunks go to threads (OpenSSL's Ed25519
        signing releases the GIL) while the caller builds the next messages, so signing
        overlaps with the Python work and scales with the cores. The key never leaves this
        process."""
        cores = os.cpu_count() or 1
        sign = self.private.sign
        if cores == 1:
            return [sign(m) for m in messages]
        with ThreadPoolExecutor(cores) as pool:
            futures = []
            batch: list[bytes] = []
            for message in messages:
                batch.append(message)
                if len(batch) == SIGNING_CHUNK:
                    futures.append(pool.submit(lambda b: [sign(m) for m in b], batch))
                    batch = []
            head = [sign(m) for m in batch]  # the last, short chunk: no thread needed
            return [sig for f in futures for sig in f.result()] + head


def generate(name: str) -> SigningKey:
    """A fresh key for ``name`` (a person's or office's name, one line)."""
    _check_name(name)
    return SigningKey(private=Ed25519PrivateKey.generate(), name=name)


def _check_name(name: str) -> None:
    if not name.strip() or "\n" in name or "\r" in name or len(name) > 200:
        raise InputError("--name", f"{name!r} must be one non-empty line of at most 200 chars")


def _header(key: PublicKey) -> bytes:
    return f"name: {key.name}\nkey-id: {key.key_id}\n".encode()


def write_key_files(key: SigningKey, path: Path, passphrase: bytes | None) -> PublicKey:
    """Write ``path`` (mode 0600) and ``path.pub``; never overwrite either.

    ``passphrase`` None writes an unencrypted key (for tests and throw-away demos).
    """
    pub_path = path.with_name(path.name + ".pub")
    for p in (path, pub_path):
        if p.exists():
            raise InputError("--out", f"{p} exists already; choose another path or remove it")
    if passphrase is not None and not passphrase:
        raise InputError("passphrase", "empty passphrase; give one, or use --no-passphrase")
    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(passphrase)
        if passphrase
        else serialization.NoEncryption()
    )
    pem = key.private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
    )
    public = key.public
    pub_pem = key.private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileNotFoundError as e:
        raise InputError("--out", f"folder {path.parent} does not exist") from e
    with os.fdopen(fd, "wb") as f:
        f.write(_header(public) + pem)
    pub_path.write_bytes(_header(public) + pub_pem)
    return public


def _read_header(data: bytes) -> dict[str, str]:
    head = data.split(b"-----BEGIN", 1)[0]
    return {
        m.group(1).decode(): m.group(2).decode("utf-8", "replace") for m in _FIELD.finditer(head)
    }


def load_public_key(path: Path, field: str = "--pub") -> PublicKey:
    """Read a ``.pub`` file written by ``write_key_files`` (or any Ed25519 SPKI PEM)."""
    try:
        data = path.read_bytes()
    except OSError as e:
        raise KeyFileError(field, f"cannot read {path}: {e.strerror}") from e
    try:
        loaded = serialization.load_pem_public_key(data)
    except ValueError as e:
        raise KeyFileError(field, f"{path} is not a PEM public key") from e
    if not isinstance(loaded, Ed25519PublicKey):
        raise KeyFileError(field, f"{path} is not an Ed25519 public key")
    raw = loaded.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    check_public_key(field, raw)
    return PublicKey(raw=raw, name=_read_header(data).get("name", "").strip())


def load_signing_key(path: Path, passphrase: PassphraseSource, field: str = "--key") -> SigningKey:
    """Read a private key file, refusing files readable by group or others (as ssh does).

    ``passphrase`` is called only when the file is encrypted. A wrong passphrase is reported
    without detail.
    """
    try:
        mode = path.stat().st_mode
        data = path.read_bytes()
    except FileNotFoundError as e:
        raise KeyFileError(field, f"no key file at {path}") from e
    except OSError as e:
        raise KeyFileError(field, f"cannot read {path}: {e.strerror}") from e
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise KeyFileError(
            field,
            f"{path} is accessible by group or others (mode {stat.S_IMODE(mode):04o}); "
            f"run: chmod 600 {path}",
        )
    password = passphrase(path) if b"ENCRYPTED PRIVATE KEY" in data else None
    try:
        loaded = serialization.load_pem_private_key(data, password)
    except ValueError as e:
        if password is not None:
            raise KeyFileError(field, f"wrong passphrase for {path}") from None
        raise KeyFileError(field, f"{path} is not a PEM private key") from e
    except TypeError as e:
        raise KeyFileError(field, f"{path} is not a usable private key") from e
    if not isinstance(loaded, Ed25519PrivateKey):
        raise KeyFileError(field, f"{path} is not an Ed25519 private key")
    return SigningKey(private=loaded, name=_read_header(data).get("name", "").strip())
