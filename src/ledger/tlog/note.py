"""C2SP signed notes, transparency-log checkpoints and Ed25519 cosignatures.

A pure module: no file, network or clock access (timestamps are passed in as
``int`` POSIX seconds). It implements, byte for byte, the formats that existing
transparency-log tools read, so that ``golang.org/x/mod/sumdb/note``,
``github.com/transparency-dev/formats/note`` and C2SP witnesses can check the
checkpoints of coop-ledger:

* ``c2sp.org/signed-note`` -- text, blank line, signature lines
  ``— <name> <base64(key id ‖ signature)>``; Ed25519 signatures (type 0x01).
* ``c2sp.org/tlog-checkpoint`` -- note text ``<origin>\\n<size>\\n<base64 root>\\n``
  optionally followed by non-empty extension lines.
* ``c2sp.org/tlog-cosignature`` -- ``cosignature/v1`` Ed25519 cosignatures
  (type 0x04): payload ``u64 timestamp ‖ signature`` over
  ``cosignature/v1\\ntime <t>\\n`` followed by the checkpoint text.
* verifier keys ``<name>+<hex key id>+<base64(type ‖ public key)>`` and signer
  keys ``PRIVATE+KEY+<name>+<hex key id>+<base64(type ‖ seed)>``.

Every failure raises :class:`NoteError` (a :class:`ValueError`) whose
``reason`` is one of the short kebab-case strings listed in :data:`REASONS`.

Choices where the specifications leave room (see ``docs/CHECKPOINTS.md``):

* At most :data:`MAX_SIGNATURES` (100, as in Go's ``note.Open``) signature lines
  per note; the spec requires accepting at least 16.
* Base64 (signature lines, root hash, keys) must be canonical standard base64
  with padding: re-encoding the decoded bytes must give the same string.
* A known key that signed more than once makes :func:`verify_note` fail with
  ``duplicate-signature`` (Go silently verifies only the first one); repeated
  lines from unknown keys are ignored like any unknown signature.
* A bad signature from a known key rejects the whole note (``bad-signature``).
* :func:`sign_note` refuses texts that start with ``cosignature/v1\\n`` so an
  ordinary signature can never double as a cosignature.
"""

from __future__ import annotations

import base64
import binascii
import enum
import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
)

__all__ = [
    "ALG_COSIGNATURE_V1",
    "ALG_ED25519",
    "MAX_SIGNATURES",
    "MAX_TIMESTAMP",
    "MAX_TREE_SIZE",
    "REASONS",
    "Checkpoint",
    "KeyKind",
    "Note",
    "NoteError",
    "Signature",
    "SignerKey",
    "VerifiedSignature",
    "VerifierKey",
    "add_signature",
    "cosign",
    "cosignature_message",
    "cosignature_timestamp",
    "note_key_id",
    "open_checkpoint",
    "parse_checkpoint",
    "parse_note",
    "parse_signer_key",
    "parse_verifier_key",
    "sign_note",
    "verify_note",
]

ALG_ED25519: Final = 0x01
"""Signature type byte of plain Ed25519 note signatures (c2sp.org/signed-note)."""
ALG_COSIGNATURE_V1: Final = 0x04
"""Signature type byte of timestamped Ed25519 cosignatures (c2sp.org/tlog-cosignature)."""

MAX_SIGNATURES: Final = 100
"""Most signature lines accepted in one note (Go's ``note.Open`` limit; spec minimum is 16)."""
MAX_TIMESTAMP: Final = 2**63 - 1
"""Largest cosignature timestamp allowed by c2sp.org/tlog-cosignature."""
MAX_TREE_SIZE: Final = 2**64 - 1
"""Largest tree size (a uint64, as in every checkpoint implementation)."""

ROOT_HASH_SIZE: Final = 32
KEY_ID_SIZE: Final = 4
ED25519_KEY_SIZE: Final = 32
ED25519_SIGNATURE_SIZE: Final = 64
COSIGNATURE_PAYLOAD_SIZE: Final = 8 + ED25519_SIGNATURE_SIZE

COSIGNATURE_HEADER: Final = b"cosignature/v1\n"
SIGNATURE_PREFIX: Final = "\u2014 ".encode()  # EM DASH, SPACE
SIGNER_KEY_PREFIX: Final = "PRIVATE+KEY+"

REASONS: Final = frozenset(
    {
        "malformed-note",  # note bytes/text or a signature line break c2sp.org/signed-note
        "malformed-checkpoint",  # text is not a canonical c2sp.org/tlog-checkpoint
        "malformed-key",  # verifier/signer key string or fields are invalid
        "unsupported-key-type",  # key type byte other than 0x01 or 0x04
        "key-id-mismatch",  # stated key id differs from SHA-256(name ‖ 0x0A ‖ type ‖ key)[:4]
        "invalid-name",  # key name empty, or has a Unicode space, '+' or a control character
        "too-many-signatures",  # more than MAX_SIGNATURES signature lines
        "duplicate-signature",  # a known key signed the note more than once
        "ambiguous-key",  # two different verifier keys share a name and key id
        "no-known-signature",  # no signature from a known key
        "bad-signature",  # a known key's signature does not verify
        "bad-timestamp",  # cosignature timestamp outside 0..2^63-1
        "future-timestamp",  # cosignature timestamp later than the caller's clock
        "unknown-origin",  # checkpoint origin is not the expected one
        "wrong-key-type",  # a key of the wrong kind was passed
    }
)


class NoteError(ValueError):
    """A note, checkpoint, key or signature failed a check.

    ``reason`` is a short kebab-case code from :data:`REASONS`; ``detail`` says
    what failed, with the value found and the value expected where there is one.
    ``str(error)`` is ``"<reason>: <detail>"``.
    """

    def __init__(self, reason: str, detail: str) -> None:
        assert reason in REASONS, reason
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


# --- low-level checks ---------------------------------------------------------------------------

# Bytes of ASCII control characters other than newline. In UTF-8, bytes below 0x80 only ever
# encode ASCII characters, so a byte search is exact.
_CONTROL_BYTES = re.compile(rb"[\x00-\x09\x0b-\x1f]")
_CONTROL_CHARS = re.compile(r"[\x00-\x1f]")
# Unicode White_Space characters: what Go's unicode.IsSpace (used by x/mod/sumdb/note to check
# key names) reports as space.
_SPACES = re.compile("[\t\n\v\f\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]")
_DECIMAL = re.compile(r"0|[1-9][0-9]*")
_HEX8 = re.compile(r"[0-9a-fA-F]{8}")
_BASE64 = re.compile(rb"(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?")


def _b64encode(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _b64decode(text: str | bytes) -> bytes | None:
    """Decode canonical standard base64 with padding, or return ``None``."""
    raw = text.encode("utf-8", "surrogatepass") if isinstance(text, str) else text
    if _BASE64.fullmatch(raw) is None:
        return None
    try:
        decoded = base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError):  # pragma: no cover - excluded by the pattern
        return None
    if base64.b64encode(decoded) != raw:  # non-zero padding bits: not canonical
        return None
    return decoded


def _name_problem(name: object) -> str | None:
    """Why ``name`` is not a valid key name, or ``None`` if it is."""
    if not isinstance(name, str):
        return f"key name must be a str, got {type(name).__name__}"
    if not name:
        return "key name is empty"
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return f"key name {name!r} is not encodable as UTF-8"
    if "+" in name:
        return f"key name {name!r} contains '+'"
    if (m := _SPACES.search(name)) is not None:
        return f"key name {name!r} contains the space character U+{ord(m.group()):04X}"
    if (m := _CONTROL_CHARS.search(name)) is not None:
        return f"key name {name!r} contains the control character U+{ord(m.group()):04X}"
    return None


def _check_name(name: object, reason: str = "invalid-name") -> None:
    problem = _name_problem(name)
    if problem is not None:
        raise NoteError(reason, problem)


def _text_problem(text: object) -> str | None:
    """Why ``text`` is not a valid note text (c2sp.org/signed-note), or ``None``."""
    if not isinstance(text, bytes):
        return f"note text must be bytes, got {type(text).__name__}"
    if not text.endswith(b"\n"):
        return f"note text must end in a newline, got {len(text)} bytes ending in {text[-1:]!r}"
    try:
        text.decode("utf-8")
    except UnicodeDecodeError as exc:
        return f"note text is not valid UTF-8 at byte {exc.start}"
    if (m := _CONTROL_BYTES.search(text)) is not None:
        return f"note text contains control character 0x{m.group()[0]:02x} at byte {m.start()}"
    return None


def _check_timestamp(timestamp: object) -> int:
    if not isinstance(timestamp, int) or isinstance(timestamp, bool):
        raise NoteError(
            "bad-timestamp", f"timestamp must be an int, got {type(timestamp).__name__}"
        )
    if not 0 <= timestamp <= MAX_TIMESTAMP:
        raise NoteError(
            "bad-timestamp", f"timestamp {timestamp} is outside 0..{MAX_TIMESTAMP} (2^63-1)"
        )
    return timestamp


def _raw_public_key(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(Encoding.Raw, PublicFormat.Raw)


def _check_private_key(private_key: object) -> Ed25519PrivateKey:
    if not isinstance(private_key, Ed25519PrivateKey):
        raise NoteError(
            "wrong-key-type",
            f"expected an Ed25519PrivateKey, got {type(private_key).__name__}",
        )
    return private_key


# --- key ids and keys ---------------------------------------------------------------------------


def note_key_id(name: str, public_key: bytes, alg: int) -> bytes:
    """Return the 4-byte key id ``SHA-256(name ‖ 0x0A ‖ alg ‖ public_key)[:4]``.

    Preconditions: ``name`` is a valid key name (non-empty UTF-8, no Unicode space,
    no ``+``, no control character); ``public_key`` is bytes; ``0 <= alg <= 255``
    (0x01 Ed25519 note signatures, 0x04 cosignature/v1).

    Raises :class:`NoteError` ``invalid-name`` for a bad name and ``malformed-key``
    for a bad ``public_key`` or ``alg``.
    """
    _check_name(name)
    if not isinstance(public_key, bytes):
        raise NoteError(
            "malformed-key", f"public key must be bytes, got {type(public_key).__name__}"
        )
    if not isinstance(alg, int) or isinstance(alg, bool) or not 0 <= alg <= 255:
        raise NoteError("malformed-key", f"signature type must be a byte value, got {alg!r}")
    digest = hashlib.sha256(name.encode("utf-8") + b"\n" + bytes([alg]) + public_key).digest()
    return digest[:KEY_ID_SIZE]


class KeyKind(enum.Enum):
    """The two signature types this module signs and verifies."""

    ED25519 = "ed25519"
    """Plain Ed25519 note signature over the note text (type 0x01)."""
    COSIGNATURE_V1 = "cosignature/v1"
    """Timestamped Ed25519 checkpoint cosignature (type 0x04)."""

    @property
    def alg(self) -> int:
        """The signature type byte used in key ids and key strings."""
        return ALG_ED25519 if self is KeyKind.ED25519 else ALG_COSIGNATURE_V1

    @classmethod
    def from_alg(cls, alg: int) -> KeyKind:
        """The kind for type byte ``alg``; raises ``unsupported-key-type`` otherwise."""
        if alg == ALG_ED25519:
            return cls.ED25519
        if alg == ALG_COSIGNATURE_V1:
            return cls.COSIGNATURE_V1
        raise NoteError(
            "unsupported-key-type",
            f"signature type byte is 0x{alg:02x}, expected 0x01 (Ed25519) or 0x04 (cosignature/v1)",
        )


def _check_kind(kind: object) -> KeyKind:
    if not isinstance(kind, KeyKind):
        raise NoteError("malformed-key", f"kind must be a KeyKind, got {kind!r}")
    return kind


@dataclass(frozen=True)
class VerifierKey:
    """A public key that verifies one signer's signature lines.

    ``key_id`` must equal ``note_key_id(name, public_key, kind.alg)``; construct with
    :meth:`from_public_key` to have it computed. Raises :class:`NoteError`
    (``invalid-name``/``malformed-key``/``key-id-mismatch``) on invalid fields.
    """

    name: str
    key_id: bytes
    public_key: bytes
    kind: KeyKind

    def __post_init__(self) -> None:
        _check_name(self.name, "malformed-key")
        kind = _check_kind(self.kind)
        if not isinstance(self.public_key, bytes) or len(self.public_key) != ED25519_KEY_SIZE:
            raise NoteError(
                "malformed-key",
                f"Ed25519 public key must be {ED25519_KEY_SIZE} bytes, got {self.public_key!r}",
            )
        if not isinstance(self.key_id, bytes) or len(self.key_id) != KEY_ID_SIZE:
            raise NoteError(
                "malformed-key", f"key id must be {KEY_ID_SIZE} bytes, got {self.key_id!r}"
            )
        expected = note_key_id(self.name, self.public_key, kind.alg)
        if self.key_id != expected:
            raise NoteError(
                "key-id-mismatch",
                f"key id of {self.name!r} is {self.key_id.hex()}, but "
                f"SHA-256(name ‖ 0x0A ‖ 0x{kind.alg:02x} ‖ key)[:4] is {expected.hex()}",
            )

    @classmethod
    def from_public_key(
        cls,
        name: str,
        public_key: Ed25519PublicKey | bytes,
        kind: KeyKind = KeyKind.ED25519,
    ) -> VerifierKey:
        """Build the verifier key of ``name`` for ``public_key`` (object or 32 raw bytes)."""
        raw = (
            _raw_public_key(public_key) if isinstance(public_key, Ed25519PublicKey) else public_key
        )
        _check_kind(kind)
        return cls(name, note_key_id(name, raw, kind.alg), raw, kind)

    def encode(self) -> str:
        """Return ``<name>+<8 lowercase hex key id>+<base64(type ‖ public key)>``."""
        return (
            f"{self.name}+{self.key_id.hex()}+"
            f"{_b64encode(bytes([self.kind.alg]) + self.public_key)}"
        )

    def ed25519(self) -> Ed25519PublicKey:
        """The key as a ``cryptography`` Ed25519 public key object."""
        return Ed25519PublicKey.from_public_bytes(self.public_key)


def _split_key_string(s: str, parts: int) -> list[str] | None:
    # Like Go's chop(): split on the first parts-1 '+' only; base64 may contain '+'.
    fields = s.split("+", parts - 1)
    return fields if len(fields) == parts else None


def _decode_key_material(
    name: str, hex_id: str, b64: str, what: str, secret: bool = False
) -> tuple[bytes, int, bytes]:
    # For signer keys (secret=True) no field value is echoed: a mangled string could shift
    # secret key material into any field.
    problem = _name_problem(name)
    if problem is not None:
        raise NoteError("malformed-key", f"{what} key name is invalid" if secret else problem)
    if _HEX8.fullmatch(hex_id) is None:
        shown = "" if secret else f", got {hex_id!r}"
        raise NoteError("malformed-key", f"{what} key id must be 8 hex digits{shown}")
    material = _b64decode(b64)
    if material is None:
        shown = "" if secret else f" {b64!r}"
        raise NoteError("malformed-key", f"{what} key data{shown} is not canonical base64")
    if not material:
        raise NoteError("malformed-key", f"{what} key data is empty")
    alg, key = material[0], material[1:]
    KeyKind.from_alg(alg)
    if len(key) != ED25519_KEY_SIZE:
        raise NoteError(
            "malformed-key",
            f"{what} key data holds {len(key)} key bytes after the type byte, "
            f"expected {ED25519_KEY_SIZE}",
        )
    return bytes.fromhex(hex_id), alg, key


def parse_verifier_key(s: str) -> VerifierKey:
    """Parse ``<name>+<hex key id>+<base64(type ‖ 32-byte Ed25519 public key)>``.

    Accepts type 0x01 (:attr:`KeyKind.ED25519`) and 0x04
    (:attr:`KeyKind.COSIGNATURE_V1`). The key id is 8 hex digits (either case, as
    Go's ``note.NewVerifier``) and must match the name and key. Raises
    :class:`NoteError` ``malformed-key``, ``unsupported-key-type`` or
    ``key-id-mismatch``.
    """
    if not isinstance(s, str):
        raise NoteError("malformed-key", f"verifier key must be a str, got {type(s).__name__}")
    fields = _split_key_string(s, 3)
    if fields is None:
        raise NoteError(
            "malformed-key", f"verifier key {s!r} is not <name>+<hex key id>+<base64 key>"
        )
    key_id, alg, key = _decode_key_material(fields[0], fields[1], fields[2], what="verifier")
    return VerifierKey(fields[0], key_id, key, KeyKind.from_alg(alg))


@dataclass(frozen=True, repr=False)
class SignerKey:
    """A private signing key in the vkey/skey format of ``golang.org/x/mod/sumdb/note``.

    ``seed`` is the 32-byte Ed25519 private key seed (RFC 8032). ``key_id`` must be
    the key id of the derived public key. The repr never shows the seed.
    """

    name: str
    key_id: bytes
    seed: bytes
    kind: KeyKind

    def __post_init__(self) -> None:
        _check_name(self.name, "malformed-key")
        _check_kind(self.kind)
        if not isinstance(self.seed, bytes) or len(self.seed) != ED25519_KEY_SIZE:
            raise NoteError("malformed-key", f"Ed25519 seed must be {ED25519_KEY_SIZE} bytes")
        if not isinstance(self.key_id, bytes) or len(self.key_id) != KEY_ID_SIZE:
            raise NoteError(
                "malformed-key", f"key id must be {KEY_ID_SIZE} bytes, got {self.key_id!r}"
            )
        expected = self.verifier_key().key_id
        if self.key_id != expected:
            raise NoteError(
                "key-id-mismatch",
                f"signer key id of {self.name!r} is {self.key_id.hex()}, but its public key "
                f"gives {expected.hex()}",
            )

    def __repr__(self) -> str:
        return f"SignerKey(name={self.name!r}, key_id={self.key_id.hex()}, kind={self.kind})"

    @classmethod
    def from_private_key(
        cls, name: str, private_key: Ed25519PrivateKey, kind: KeyKind = KeyKind.ED25519
    ) -> SignerKey:
        """Wrap ``private_key`` as the signer key of ``name``."""
        seed = _check_private_key(private_key).private_bytes(
            Encoding.Raw, PrivateFormat.Raw, NoEncryption()
        )
        public = _raw_public_key(private_key.public_key())
        return cls(name, note_key_id(name, public, _check_kind(kind).alg), seed, kind)

    def private_key(self) -> Ed25519PrivateKey:
        """The key as a ``cryptography`` Ed25519 private key object."""
        return Ed25519PrivateKey.from_private_bytes(self.seed)

    def verifier_key(self) -> VerifierKey:
        """The matching public verifier key."""
        return VerifierKey.from_public_key(self.name, self.private_key().public_key(), self.kind)

    def encode(self) -> str:
        """Return ``PRIVATE+KEY+<name>+<hex key id>+<base64(type ‖ seed)>`` (a secret)."""
        return (
            f"{SIGNER_KEY_PREFIX}{self.name}+{self.key_id.hex()}+"
            f"{_b64encode(bytes([self.kind.alg]) + self.seed)}"
        )


def parse_signer_key(s: str) -> SignerKey:
    """Parse ``PRIVATE+KEY+<name>+<hex key id>+<base64(type ‖ 32-byte seed)>``.

    Type 0x01 gives an Ed25519 note signer, 0x04 a cosignature/v1 signer. The key id
    must be the one of the derived public key. Raises :class:`NoteError`
    ``malformed-key``, ``unsupported-key-type`` or ``key-id-mismatch``; messages
    never include the key data.
    """
    if not isinstance(s, str):
        raise NoteError("malformed-key", f"signer key must be a str, got {type(s).__name__}")
    fields = _split_key_string(s, 5)
    if fields is None or fields[0] != "PRIVATE" or fields[1] != "KEY":
        raise NoteError(
            "malformed-key", "signer key is not PRIVATE+KEY+<name>+<hex key id>+<base64 key>"
        )
    key_id, alg, seed = _decode_key_material(
        fields[2], fields[3], fields[4], what="signer", secret=True
    )
    kind = KeyKind.from_alg(alg)
    public = _raw_public_key(Ed25519PrivateKey.from_private_bytes(seed).public_key())
    derived = note_key_id(fields[2], public, alg)
    if key_id != derived:
        raise NoteError(
            "key-id-mismatch",
            f"signer key id does not match the key derived from its seed ({derived.hex()})",
        )
    return SignerKey(fields[2], key_id, seed, kind)


# --- checkpoints --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Checkpoint:
    """A c2sp.org/tlog-checkpoint note text.

    Preconditions (checked; :class:`NoteError` ``malformed-checkpoint`` otherwise):
    ``origin`` is a non-empty str without control characters (so no newline);
    ``0 <= size <= 2^64-1``; ``root`` is the 32-byte RFC 6962 root hash;
    ``extensions`` is a tuple of non-empty strs without control characters.
    """

    origin: str
    size: int
    root: bytes
    extensions: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.origin, str) or not self.origin:
            raise NoteError(
                "malformed-checkpoint", f"origin must be a non-empty str, got {self.origin!r}"
            )
        if isinstance(self.extensions, list):
            object.__setattr__(self, "extensions", tuple(self.extensions))
        if not isinstance(self.extensions, tuple):
            raise NoteError(
                "malformed-checkpoint",
                f"extensions must be a tuple of str, got {type(self.extensions).__name__}",
            )
        for what, line in [("origin", self.origin)] + [
            ("extension line", e) for e in self.extensions
        ]:
            if not isinstance(line, str) or not line:
                raise NoteError(
                    "malformed-checkpoint", f"{what} must be a non-empty str, got {line!r}"
                )
            if (m := _CONTROL_CHARS.search(line)) is not None:
                raise NoteError(
                    "malformed-checkpoint",
                    f"{what} {line!r} contains the control character U+{ord(m.group()):04X}",
                )
            try:
                line.encode("utf-8")
            except UnicodeEncodeError:
                raise NoteError(
                    "malformed-checkpoint", f"{what} {line!r} is not encodable as UTF-8"
                ) from None
        if not isinstance(self.size, int) or isinstance(self.size, bool):
            raise NoteError("malformed-checkpoint", f"size must be an int, got {self.size!r}")
        if not 0 <= self.size <= MAX_TREE_SIZE:
            raise NoteError("malformed-checkpoint", f"size {self.size} is outside 0..2^64-1")
        if not isinstance(self.root, bytes) or len(self.root) != ROOT_HASH_SIZE:
            got = len(self.root) if isinstance(self.root, bytes) else type(self.root).__name__
            raise NoteError(
                "malformed-checkpoint", f"root hash must be {ROOT_HASH_SIZE} bytes, got {got}"
            )

    def body(self) -> bytes:
        """The note text: origin, size, base64 root and extension lines, each ending in ``\\n``."""
        lines = [self.origin, str(self.size), _b64encode(self.root), *self.extensions]
        return "".join(line + "\n" for line in lines).encode("utf-8")


def parse_checkpoint(body: bytes) -> Checkpoint:
    """Parse a checkpoint note text strictly (the text only, without signature lines).

    Rejects anything that :meth:`Checkpoint.body` would not produce: a missing final
    newline, fewer than three lines, empty lines, non-UTF-8, control characters
    (``\\r`` included), a size that is not plain decimal (sign, spaces, leading
    zeros, > 2^64-1), a root that is not canonical padded standard base64 of 32
    bytes. Raises :class:`NoteError` ``malformed-checkpoint``.
    """
    problem = _text_problem(body)
    if problem is not None:
        raise NoteError("malformed-checkpoint", problem.replace("note text", "checkpoint"))
    assert isinstance(body, bytes)
    lines = body[:-1].decode("utf-8").split("\n")
    if len(lines) < 3:
        raise NoteError(
            "malformed-checkpoint",
            f"checkpoint has {len(lines)} line(s), expected at least 3 (origin, size, root hash)",
        )
    for number, line in enumerate(lines, start=1):
        if not line:
            raise NoteError("malformed-checkpoint", f"checkpoint line {number} is empty")
    origin, size_text, root_text, *extensions = lines
    if _DECIMAL.fullmatch(size_text) is None:
        raise NoteError(
            "malformed-checkpoint",
            f"tree size {size_text!r} is not a decimal number without leading zeros",
        )
    size = int(size_text)
    if size > MAX_TREE_SIZE:
        raise NoteError("malformed-checkpoint", f"tree size {size_text} exceeds 2^64-1")
    root = _b64decode(root_text)
    if root is None:
        raise NoteError(
            "malformed-checkpoint", f"root hash {root_text!r} is not canonical padded base64"
        )
    if len(root) != ROOT_HASH_SIZE:
        raise NoteError(
            "malformed-checkpoint",
            f"root hash decodes to {len(root)} bytes, expected {ROOT_HASH_SIZE}",
        )
    checkpoint = Checkpoint(origin, size, root, tuple(extensions))
    assert checkpoint.body() == body
    return checkpoint


# --- signed notes -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Signature:
    """One signature line ``— <name> <base64(key_id ‖ payload)>``.

    ``payload`` is everything after the 4-byte key id: the 64-byte Ed25519
    signature for type 0x01, ``u64 timestamp ‖ signature`` for cosignature/v1, or
    anything (at least one byte, as Go requires) for key types unknown here.
    Raises :class:`NoteError` ``malformed-note`` on invalid fields.
    """

    name: str
    key_id: bytes
    payload: bytes

    def __post_init__(self) -> None:
        _check_name(self.name, "malformed-note")
        if not isinstance(self.key_id, bytes) or len(self.key_id) != KEY_ID_SIZE:
            raise NoteError(
                "malformed-note",
                f"signature key id must be {KEY_ID_SIZE} bytes, got {self.key_id!r}",
            )
        if not isinstance(self.payload, bytes) or not self.payload:
            raise NoteError(
                "malformed-note", f"signature payload must be non-empty bytes, got {self.payload!r}"
            )

    def line(self) -> bytes:
        """The signature line, ending in ``\\n``."""
        encoded = _b64encode(self.key_id + self.payload)
        return SIGNATURE_PREFIX + f"{self.name} {encoded}\n".encode()

    def describe(self) -> str:
        """``<name>+<hex key id>``, the way Go names a key in its errors."""
        return f"{self.name}+{self.key_id.hex()}"


@dataclass(frozen=True)
class Note:
    """A signed note: ``text`` (ending in ``\\n``) and one or more signatures.

    Preconditions (checked; :class:`NoteError` otherwise): ``text`` is valid UTF-8,
    ends in a newline and has no ASCII control character but newline
    (``malformed-note``); there are 1..:data:`MAX_SIGNATURES` signatures
    (``malformed-note`` / ``too-many-signatures``).
    """

    text: bytes
    signatures: tuple[Signature, ...]

    def __post_init__(self) -> None:
        problem = _text_problem(self.text)
        if problem is not None:
            raise NoteError("malformed-note", problem)
        if isinstance(self.signatures, list):
            object.__setattr__(self, "signatures", tuple(self.signatures))
        if not isinstance(self.signatures, tuple) or not all(
            isinstance(s, Signature) for s in self.signatures
        ):
            raise NoteError("malformed-note", "signatures must be a tuple of Signature")
        if not self.signatures:
            raise NoteError("malformed-note", "a signed note needs at least one signature line")
        if len(self.signatures) > MAX_SIGNATURES:
            raise NoteError(
                "too-many-signatures",
                f"note has {len(self.signatures)} signature lines, at most {MAX_SIGNATURES} "
                "are accepted",
            )

    def to_bytes(self) -> bytes:
        """The wire form: text, a blank line, then the signature lines."""
        return self.text + b"\n" + b"".join(s.line() for s in self.signatures)


def _parse_signature_line(line: bytes, number: int) -> Signature:
    if not line.startswith(SIGNATURE_PREFIX):
        raise NoteError(
            "malformed-note",
            f"signature line {number} does not start with an em dash (U+2014) and a space: "
            f"{line[:40]!r}",
        )
    name, sep, encoded = line[len(SIGNATURE_PREFIX) :].decode("utf-8").partition(" ")
    if not sep:
        raise NoteError(
            "malformed-note", f"signature line {number} has no space between key name and signature"
        )
    problem = _name_problem(name)
    if problem is not None:
        raise NoteError("malformed-note", f"signature line {number}: {problem}")
    raw = _b64decode(encoded)
    if raw is None:
        raise NoteError(
            "malformed-note", f"signature line {number}: {encoded[:40]!r} is not canonical base64"
        )
    if len(raw) <= KEY_ID_SIZE:
        raise NoteError(
            "malformed-note",
            f"signature line {number} decodes to {len(raw)} bytes, expected a 4-byte key id "
            "and a signature",
        )
    return Signature(name, raw[:KEY_ID_SIZE], raw[KEY_ID_SIZE:])


def parse_note(data: bytes) -> Note:
    """Parse a signed note without verifying any signature.

    The whole note must be UTF-8 without control characters but newline; the text
    ends at the last blank line; every following line must be a signature line with
    a valid key name and canonical base64 of at least 5 bytes. Raises
    :class:`NoteError` ``malformed-note`` or ``too-many-signatures``; never any
    other exception for ``bytes`` input.
    """
    if not isinstance(data, bytes):
        raise NoteError("malformed-note", f"note must be bytes, got {type(data).__name__}")
    if not data.endswith(b"\n"):
        raise NoteError("malformed-note", "note does not end in a newline")
    problem = _text_problem(data)
    if problem is not None:
        raise NoteError("malformed-note", problem.replace("note text", "note"))
    split = data.rfind(b"\n\n")
    if split < 0:
        raise NoteError(
            "malformed-note", "no blank line separates the note text from the signatures"
        )
    text, block = data[: split + 1], data[split + 2 :]
    if not block:
        raise NoteError("malformed-note", "no signature line follows the blank line")
    lines = block[:-1].split(b"\n")
    if len(lines) > MAX_SIGNATURES:
        raise NoteError(
            "too-many-signatures",
            f"note has {len(lines)} signature lines, at most {MAX_SIGNATURES} are accepted",
        )
    signatures = tuple(_parse_signature_line(line, n) for n, line in enumerate(lines, start=1))
    return Note(text, signatures)


def cosignature_message(text: bytes, timestamp: int) -> bytes:
    """The message a cosignature/v1 signs: ``cosignature/v1\\ntime <t>\\n`` ‖ ``text``.

    Raises :class:`NoteError` ``bad-timestamp`` if ``timestamp`` is not in 0..2^63-1.
    """
    _check_timestamp(timestamp)
    return COSIGNATURE_HEADER + b"time %d\n" % timestamp + text


def cosignature_timestamp(signature: Signature) -> int:
    """Read the timestamp of a cosignature/v1 line **without verifying it**.

    For display and diagnostics only; use :func:`verify_note` to trust it. Raises
    :class:`NoteError` ``bad-signature`` if the payload is not 72 bytes
    (timestamp and Ed25519 signature) and ``bad-timestamp`` above 2^63-1.
    """
    if len(signature.payload) != COSIGNATURE_PAYLOAD_SIZE:
        raise NoteError(
            "bad-signature",
            f"signature of {signature.describe()} is {len(signature.payload)} bytes after the "
            f"key id, a cosignature/v1 has {COSIGNATURE_PAYLOAD_SIZE}",
        )
    timestamp = int.from_bytes(signature.payload[:8], "big")
    if timestamp > MAX_TIMESTAMP:
        raise NoteError(
            "bad-timestamp",
            f"cosignature of {signature.describe()} has timestamp {timestamp}, above 2^63-1",
        )
    return timestamp


def _with_signature(note: Note, signature: Signature) -> Note:
    # Like Go's note.Sign: a new signature replaces any existing one by the same key.
    kept = tuple(
        s for s in note.signatures if (s.name, s.key_id) != (signature.name, signature.key_id)
    )
    return Note(note.text, (*kept, signature))


def _signature(text: bytes, name: str, private_key: Ed25519PrivateKey) -> Signature:
    problem = _text_problem(text)
    if problem is not None:
        raise NoteError("malformed-note", problem)
    if text.startswith(COSIGNATURE_HEADER):
        raise NoteError(
            "malformed-note",
            "refusing to sign a text starting with 'cosignature/v1\\n': the signature "
            "could be replayed as a cosignature",
        )
    _check_name(name)
    key = _check_private_key(private_key)
    key_id = note_key_id(name, _raw_public_key(key.public_key()), ALG_ED25519)
    return Signature(name, key_id, key.sign(text))


def sign_note(text: bytes, name: str, private_key: Ed25519PrivateKey) -> Note:
    """Sign ``text`` with an Ed25519 (type 0x01) signature line named ``name``.

    Preconditions: ``text`` is a valid note text (UTF-8, ends in ``\\n``, no control
    character but newline, does not start with ``cosignature/v1\\n``); ``name`` is a
    valid key name. Raises :class:`NoteError` ``malformed-note``, ``invalid-name``
    or ``wrong-key-type``.
    """
    return Note(text, (_signature(text, name, private_key),))


def add_signature(note: Note, name: str, private_key: Ed25519PrivateKey) -> Note:
    """Return ``note`` with one more Ed25519 (type 0x01) signature line.

    An existing signature by the same key (same name and key id) is replaced, as
    Go's ``note.Sign`` does. Raises like :func:`sign_note`, and
    ``too-many-signatures`` past :data:`MAX_SIGNATURES`.
    """
    return _with_signature(note, _signature(note.text, name, private_key))


def cosign(note: Note, name: str, private_key: Ed25519PrivateKey, timestamp: int) -> Note:
    """Return ``note`` with a cosignature/v1 line by ``name`` at ``timestamp``.

    Preconditions: ``note.text`` is a valid checkpoint (``malformed-checkpoint``
    otherwise); ``0 <= timestamp <= 2^63-1`` POSIX seconds (``bad-timestamp``);
    ``name`` is a valid key name (``invalid-name``). This function does not check
    the log's signature: verify it (:func:`open_checkpoint`) before cosigning. An
    existing cosignature by the same key is replaced.
    """
    parse_checkpoint(note.text)
    message = cosignature_message(note.text, timestamp)
    _check_name(name)
    key = _check_private_key(private_key)
    key_id = note_key_id(name, _raw_public_key(key.public_key()), ALG_COSIGNATURE_V1)
    payload = timestamp.to_bytes(8, "big") + key.sign(message)
    return _with_signature(note, Signature(name, key_id, payload))


# --- verification -------------------------------------------------------------------------------


@dataclass(frozen=True)
class VerifiedSignature:
    """A signature line that verified under ``key``.

    ``timestamp`` is the cosignature time (POSIX seconds) for cosignature/v1 keys,
    ``None`` for plain Ed25519 signatures.
    """

    key: VerifierKey
    signature: Signature
    timestamp: int | None


def _verify_ed25519(key: VerifierKey, message: bytes, signature: bytes) -> bool:
    try:
        key.ed25519().verify(signature, message)
    except (InvalidSignature, ValueError):
        return False
    return True


def verify_note(
    note: Note, verifiers: Sequence[VerifierKey], *, now: int | None = None
) -> list[VerifiedSignature]:
    """Verify the signatures of ``note`` made by the known ``verifiers``.

    Signature lines whose (name, key id) matches no verifier are ignored, as the
    spec requires. Every line from a known key must verify. Cosignature/v1 lines
    are only accepted on checkpoint texts. If ``now`` is given, a cosignature
    timestamp later than ``now`` is rejected (pass ``now`` plus any clock skew you
    allow). Returns the verified signatures in note order.

    Raises :class:`NoteError`: ``ambiguous-key`` (two different verifiers with the
    same name and key id match a line), ``duplicate-signature`` (a known key signed
    twice), ``bad-signature``, ``bad-timestamp``, ``future-timestamp``,
    ``malformed-checkpoint`` (cosignature on a non-checkpoint), ``no-known-signature``
    (nothing verified).
    """
    if not isinstance(note, Note):
        raise NoteError("malformed-note", f"expected a Note, got {type(note).__name__}")
    if now is not None:
        _check_timestamp(now)
    if isinstance(verifiers, (VerifierKey, str, bytes)):
        raise NoteError(
            "malformed-key",
            f"verifiers must be a sequence of VerifierKey, got one {type(verifiers).__name__}",
        )
    known: dict[tuple[str, bytes], VerifierKey] = {}
    ambiguous: set[tuple[str, bytes]] = set()
    for verifier in verifiers:
        if not isinstance(verifier, VerifierKey):
            raise NoteError(
                "malformed-key", f"expected a VerifierKey, got {type(verifier).__name__}"
            )
        ident = (verifier.name, verifier.key_id)
        if ident in known and known[ident] != verifier:
            ambiguous.add(ident)
        known.setdefault(ident, verifier)

    verified: list[VerifiedSignature] = []
    seen: set[tuple[str, bytes]] = set()
    for sig in note.signatures:
        ident = (sig.name, sig.key_id)
        key = known.get(ident)
        if key is None:
            continue
        if ident in ambiguous:
            raise NoteError("ambiguous-key", f"several verifier keys are named {sig.describe()}")
        if ident in seen:
            raise NoteError(
                "duplicate-signature", f"key {sig.describe()} signed the note more than once"
            )
        seen.add(ident)
        if key.kind is KeyKind.ED25519:
            if len(sig.payload) != ED25519_SIGNATURE_SIZE or not _verify_ed25519(
                key, note.text, sig.payload
            ):
                raise NoteError(
                    "bad-signature",
                    f"Ed25519 signature of {sig.describe()} does not verify "
                    f"({len(sig.payload)}-byte signature, expected {ED25519_SIGNATURE_SIZE})",
                )
            verified.append(VerifiedSignature(key, sig, None))
            continue
        timestamp = cosignature_timestamp(sig)
        parse_checkpoint(note.text)
        if not _verify_ed25519(key, cosignature_message(note.text, timestamp), sig.payload[8:]):
            raise NoteError(
                "bad-signature",
                f"cosignature of {sig.describe()} at time {timestamp} does not verify",
            )
        if now is not None and timestamp > now:
            raise NoteError(
                "future-timestamp",
                f"cosignature of {sig.describe()} is dated {timestamp}, after now ({now})",
            )
        verified.append(VerifiedSignature(key, sig, timestamp))

    if not verified:
        present = sorted({s.describe() for s in note.signatures})
        expected = sorted(f"{k.name}+{k.key_id.hex()}" for k in known.values())
        raise NoteError(
            "no-known-signature",
            f"note is signed by {', '.join(present)}; expected a signature by one of: "
            f"{', '.join(expected) or '(no verifier keys given)'}",
        )
    return verified


def open_checkpoint(data: bytes, log_key: VerifierKey, origin: str) -> tuple[Checkpoint, Note]:
    """Parse signed checkpoint bytes, verify the log's signature and its origin.

    Preconditions: ``log_key`` is the log's :attr:`KeyKind.ED25519` verifier key
    (``wrong-key-type`` otherwise); ``origin`` is the origin line expected for this
    log. Signatures by other keys (e.g. cosignatures) are ignored here; check them
    with :func:`verify_note`.

    Raises :class:`NoteError`: ``malformed-note``/``too-many-signatures`` (bytes),
    ``no-known-signature``/``bad-signature``/``duplicate-signature`` (log
    signature), ``malformed-checkpoint`` (text), ``unknown-origin`` (origin differs).
    """
    if not isinstance(log_key, VerifierKey) or log_key.kind is not KeyKind.ED25519:
        raise NoteError(
            "wrong-key-type",
            f"the log key must be an Ed25519 (type 0x01) VerifierKey, got {log_key!r}",
        )
    note = parse_note(data)
    verify_note(note, [log_key])
    checkpoint = parse_checkpoint(note.text)
    if checkpoint.origin != origin:
        raise NoteError(
            "unknown-origin",
            f"checkpoint origin is {checkpoint.origin!r}, expected {origin!r}",
        )
    return checkpoint, note
