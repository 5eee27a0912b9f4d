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
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from nacl._sodium import ffi as _ffi  # type: ignore[import-not-found]
from nacl._sodium import lib as _lib
from nacl.bindings import crypto_sign_open, crypto_sign_seed_keypair
from nacl.exceptions import CryptoError

from ledger.core import values
from ledger.errors import InputError

SIGN_INLINE_BELOW = 32  # messages: fewer are signed in the caller's thread, no pool

# Encodings of the eight small-order points of edwards25519 and their non-canonical twins
# (C2SP/CCTV ed25519 vectors README), checked against a signature's R, where decoding the point
# would cost more than the verification itself.
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
    """Refuse keys no honest signer has (docs/RELIABILITY.md, "Keys and signatures").

    A key must be the canonical encoding of a point of the prime-order subgroup: wrong
    lengths, non-canonical encodings (y >= p, or x = 0 with the sign bit set), encodings of no
    curve point, small-order points and mixed-order points (a small-order component,
    [L]A != identity) raise ``InputError(field, ...)``. Costs a few milliseconds of Python
    arithmetic; meant for enrolment and for the first sight of a key, not for each signature.
    """
    if len(public_key) != 32:
        raise InputError(field, f"an Ed25519 public key has 32 bytes, got {len(public_key)}")
    y = int.from_bytes(public_key, "little") & ((1 << 255) - 1)
    # x = 0 exactly when y = ±1, and RFC 8032 refuses the sign bit on x = 0 ("-0").
    if y >= _P or (y in (1, _P - 1) and public_key[31] & 0x80):
        raise InputError(field, "non-canonical Ed25519 public key encoding refused")
    point = _decode_point(public_key)
    if point is None:
        raise InputError(field, "Ed25519 public key that is no curve point refused")
    if _is_identity(_scalar_mult(8, point)):
        raise InputError(field, "small-order Ed25519 public key refused")
    if not _is_identity(_scalar_mult(_L, point)):
        raise InputError(field, "mixed-order Ed25519 public key (small-order component) refused")


def verify_signature(public_key: bytes, signature: bytes, message: bytes) -> bool:
    """Whether ``signature`` is a valid Ed25519 signature of ``message`` by ``public_key``.

    Accepts only what every common verifier accepts (docs/RELIABILITY.md): a key that
    ``check_public_key`` accepts, an R that is not a small-order point, and then libsodium's
    rules (canonical R and S, the cofactorless equation [S]B = R + [k]A), which OpenSSL's equal
    on every key and R the first two let through. Never raises.

    libsodium (through PyNaCl), not OpenSSL (through ``cryptography``): it verifies twice as
    fast on x86-64 (bench/RESULTS.md, run C), and an audit is mostly this call.
    """
    if len(signature) != 64 or signature[:32] in _SMALL_ORDER or not _acceptable(public_key):
        return False
    try:
        # The combined form is the one PyNaCl offers: signature then message. The length check
        # above keeps a short signature from borrowing the message's first bytes.
        crypto_sign_open(signature + message, public_key)
    except CryptoError:
        return False
    return True


@functools.lru_cache(maxsize=1024)
def _acceptable(public_key: bytes) -> bool:
    # Checking a key costs milliseconds, a verification a tenth of one; ledgers have few keys.
    # A key refused here makes every signature by it invalid, however it got into a ledger (an
    # enrolment event written without the CLI, a bundle from elsewhere).
    try:
        check_public_key("public key", public_key)
    except InputError:
        return False
    return True


# --- edwards25519 in plain integers (RFC 8032 §5.1), for the key policy only --------------------

_P = 2**255 - 19
_L = 2**252 + 27742317777372353535851937790883648493  # the prime order of the base point
_D = -121665 * pow(121666, -1, _P) % _P
_SQRT_M1 = pow(2, (_P - 1) // 4, _P)
# Extended coordinates (X, Y, Z, T): x = X/Z, y = Y/Z, x*y = T/Z.
_Point = tuple[int, int, int, int]
_IDENTITY: _Point = (0, 1, 1, 0)


def _decode_point(encoded: bytes) -> _Point | None:
    """The point a 32-byte encoding names (RFC 8032 §5.1.3), or None for an encoding that
    names none: y >= p, no square root for x, or x = 0 with the sign bit set."""
    n = int.from_bytes(encoded, "little")
    y, sign = n & ((1 << 255) - 1), n >> 255
    if y >= _P:
        return None
    u, v = (y * y - 1) % _P, (_D * y * y + 1) % _P
    x = u * pow(v, 3, _P) * pow(u * pow(v, 7, _P), (_P - 5) // 8, _P) % _P
    if (v * x * x - u) % _P:
        if (v * x * x + u) % _P:
            return None
        x = x * _SQRT_M1 % _P
    if x == 0 and sign:
        return None
    if x & 1 != sign:
        x = _P - x
    return (x, y, 1, x * y % _P)


def _add(p: _Point, q: _Point) -> _Point:
    # RFC 8032 §5.1.4. The formulas are complete on edwards25519, so they also double.
    x1, y1, z1, t1 = p
    x2, y2, z2, t2 = q
    a = (y1 - x1) * (y2 - x2) % _P
    b = (y1 + x1) * (y2 + x2) % _P
    c = 2 * t1 * t2 * _D % _P
    d = 2 * z1 * z2 % _P
    e, f, g, h = b - a, d - c, d + c, b + a
    return (e * f % _P, g * h % _P, f * g % _P, e * h % _P)


def _scalar_mult(k: int, p: _Point) -> _Point:
    # Not constant-time, which is fine: only public keys go through here.
    q = _IDENTITY
    while k:
        if k & 1:
            q = _add(q, p)
        p = _add(p, p)
        k >>= 1
    return q


def _is_identity(p: _Point) -> bool:
    x, y, z, _ = p
    return x % _P == 0 and (y - z) % _P == 0


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

    def sign_all(self, messages: Sequence[bytes]) -> list[bytes]:
        """Sign messages, in order, on one thread a core. The key never leaves this process.

        The caller builds every message first. Threads that sign while the caller's Python
        runs wait for the GIL after every signature: streaming them chunks as they were built
        lost more than it overlapped (bench/RESULTS.md, run C). A batch is signed by libsodium,
        1.5 times OpenSSL's speed here; Ed25519 signatures are deterministic, so the bytes are
        OpenSSL's (tests/test_keys.py). Its secret key is a Python bytes object for the length
        of the call, like the passphrase that opened the key file.
        """
        if len(messages) < SIGN_INLINE_BELOW:
            return [self.private.sign(m) for m in messages]
        cores = os.cpu_count() or 1
        seed = self.private.private_bytes(
            serialization.Encoding.Raw,
            serialization.PrivateFormat.Raw,
            serialization.NoEncryption(),
        )
        _, secret = crypto_sign_seed_keypair(seed)
        # Several parts a thread, taken as threads come free: a core that was idle (a VM's
        # vCPU) can be slow to start, and the other then signs more (5 % faster here).
        size = -(-len(messages) // (4 * cores))
        with ThreadPoolExecutor(cores) as pool:
            parts = pool.map(
                lambda part: _sodium_sign(part, secret),
                [messages[at : at + size] for at in range(0, len(messages), size)],
            )
            return [signature for part in parts for signature in part]


def _sodium_sign(messages: Sequence[bytes], secret: bytes) -> list[bytes]:
    """libsodium's signatures of ``messages``, through PyNaCl's own cffi module: its public
    ``crypto_sign`` allocates two buffers and copies the message back on every call, which
    held the GIL long enough that two threads signed a third slower (bench/RESULTS.md run C).
    """
    out = _ffi.new("unsigned char[]", max(map(len, messages), default=0) + 64)
    signatures = []
    for message in messages:
        if _lib.crypto_sign(out, _ffi.NULL, message, len(message), secret) != 0:
            raise RuntimeError("libsodium failed to sign")
        signatures.append(_ffi.buffer(out, 64)[:])
    return signatures


def generate(name: str) -> SigningKey:
    """A fresh key for ``name`` (a person's or office's name, one line)."""
    check_name(name)
    return SigningKey(private=Ed25519PrivateKey.generate(), name=name)


def check_name(name: str) -> None:
    if not name.strip() or "\n" in name or "\r" in name or len(name) > 200:
        raise InputError("name", f"{name!r} must be one non-empty line of at most 200 chars")
    problem = values.line_problem(name)
    if problem is not None:
        raise InputError("name", problem)
