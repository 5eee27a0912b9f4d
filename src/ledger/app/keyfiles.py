"""Key files: Ed25519 keys in passphrase-encrypted PKCS#8 PEM files readable by the owner only,
the public half beside them (``PATH.pub``); the file edge of ``core.keys``.

A key file starts with two explanatory lines (RFC 7468 allows text before the PEM block) that
name the person and the key id, so ``ledger init`` and ``ledger signer add`` can read them::

    name: Alice Martin
    key-id: 5f0c…
    -----BEGIN ENCRYPTED PRIVATE KEY-----
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Callable
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from ledger.core import keys
from ledger.core.keys import PublicKey, SigningKey, check_public_key
from ledger.errors import InputError, KeyFileError

__all__ = [
    "PassphraseSource",
    "PublicKey",
    "SigningKey",
    "create",
    "load_public_key",
    "load_signing_key",
    "write_key_files",
]

PassphraseSource = Callable[[Path], bytes]
_FIELD = re.compile(rb"^(name|key-id): (.*)$", re.MULTILINE)


def _header(key: PublicKey) -> bytes:
    return f"name: {key.name}\nkey-id: {key.key_id}\n".encode()


def write_key_files(key: SigningKey, path: Path, passphrase: bytes | None) -> PublicKey:
    """Write ``path`` (mode 0600) and ``path.pub``; never overwrite either.

    ``passphrase`` None writes an unencrypted key (for tests and throw-away demos).
    """
    pub_path = path.with_name(path.name + ".pub")
    for p in (path, pub_path):
        if p.exists():
            raise InputError("key_path", f"{p} exists already; choose another path or remove it")
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
        raise InputError("key_path", f"folder {path.parent} does not exist") from e
    with os.fdopen(fd, "wb") as f:
        f.write(_header(public) + pem)
    pub_path.write_bytes(_header(public) + pub_pem)
    return public


def create(name: str, path: Path, passphrase: Callable[[], bytes | None]) -> PublicKey:
    """A new Ed25519 key of ``name`` written to ``path`` (encrypted with ``passphrase()``, asked
    once the name is known good, unless that is None) and ``path.pub``; its public half."""
    key = keys.generate(name)
    return write_key_files(key, path, passphrase())


def _read_header(data: bytes) -> dict[str, str]:
    head = data.split(b"-----BEGIN", 1)[0]
    return {
        m.group(1).decode(): m.group(2).decode("utf-8", "replace") for m in _FIELD.finditer(head)
    }


def load_public_key(path: Path, field: str = "pub") -> PublicKey:
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


def load_signing_key(path: Path, passphrase: PassphraseSource, field: str = "key") -> SigningKey:
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
