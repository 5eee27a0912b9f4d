"""Checkpoints of a ledger in the C2SP formats, and what they say about late entries.

A checkpoint is a ``tlog-checkpoint`` note text (origin, size, base64 root) signed as a
``signed-note`` by a ledger key holding a role in ``SIGNING_ROLES``; the National Council adds
``cosignature/v1`` lines. Key names in the notes:

- the log's signature is named after the origin, ``coop-ledger/<enterprise number>/<ledger id>``;
- a cosignature is named after its key's holder (``name:`` line of the key file), with runs of
  white space and ``+`` turned into ``-`` (e.g. ``Conseil-national-de-la-Coopération``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from ledger import note
from ledger.keys import PublicKey, SigningKey
from ledger.signers import Signer

# Who may sign a checkpoint of the ledger with a ledger key.
SIGNING_ROLES = frozenset({"admin", "secretary"})


def log_keys(signers: Iterable[Signer]) -> list[bytes]:
    """The raw keys, among a ledger's enrolled signers, that may sign its checkpoints."""
    return [s.public_key for s in signers if s.roles & SIGNING_ROLES]


def council_keys(signers: Iterable[Signer]) -> list[PublicKey]:
    """The keys enrolled with the ``council`` role: the ledger's own idea of its cosigners."""
    return [PublicKey(s.public_key, s.name) for s in signers if "council" in s.roles]


def origin(ledger_id: str, enterprise_number: str) -> str:
    """The origin line of a ledger: unique, schema-less, readable."""
    return f"coop-ledger/{enterprise_number.replace('.', '')}/{ledger_id}"


def cosigner_name(public: PublicKey) -> str:
    return re.sub(r"[\s+]+", "-", public.name.strip()) or public.key_id


def log_verifier(origin_line: str, public_key: bytes) -> note.VerifierKey:
    return note.VerifierKey.from_public_key(origin_line, public_key, note.KeyKind.ED25519)


def cosigner_verifier(public: PublicKey) -> note.VerifierKey:
    return note.VerifierKey.from_public_key(
        cosigner_name(public), public.raw, note.KeyKind.COSIGNATURE_V1
    )


def sign(origin_line: str, size: int, root: bytes, key: SigningKey) -> note.Note:
    body = note.Checkpoint(origin_line, size, root).body()
    return note.sign_note(body, origin_line, key.private)


def cosign(signed: note.Note, key: SigningKey, timestamp: int) -> note.Note:
    return note.cosign(signed, cosigner_name(key.public), key.private, timestamp)


@dataclass(frozen=True, slots=True)
class Opened:
    """A checkpoint whose signatures verified: by the log, and by which cosigners when."""

    checkpoint: note.Checkpoint
    note: note.Note
    log_signers: tuple[bytes, ...]  # raw public keys of the ledger keys that signed it
    cosigned: tuple[tuple[str, int], ...]  # (cosigner name, POSIX time)

    def covered_until(self) -> int | None:
        """The last year this checkpoint closed: the year before its earliest cosignature.

        An event recorded after the checkpoint whose effective date falls in or before that
        year is a *late entry*: backdating the Council can see. None without cosignature.
        """
        if not self.cosigned:
            return None
        first = min(t for _, t in self.cosigned)
        return datetime.fromtimestamp(first, UTC).year - 1


def open_note(
    data: bytes,
    *,
    origin_line: str,
    log_keys: Iterable[bytes],
    cosigners: Sequence[PublicKey],
    require_log: bool = True,
) -> Opened:
    """Parse a signed checkpoint and verify what it claims.

    Every signature line by a known key must verify; at least one must come from
    ``log_keys`` (raw public keys of ledger keys) when ``require_log``, else from a cosigner.
    Raises ``note.NoteError`` (``unknown-origin`` when the origin is not ``origin_line``).
    """
    parsed = note.parse_note(data)
    checkpoint = note.parse_checkpoint(parsed.text)
    if checkpoint.origin != origin_line:
        raise note.NoteError(
            "unknown-origin",
            f"checkpoint origin is {checkpoint.origin!r}, expected {origin_line!r}",
        )
    logs = [log_verifier(origin_line, raw) for raw in log_keys]
    verified = note.verify_note(parsed, [*logs, *(cosigner_verifier(c) for c in cosigners)])
    by_log = tuple(v.key.public_key for v in verified if v.key.kind is note.KeyKind.ED25519)
    if require_log and not by_log:
        raise note.NoteError("no-known-signature", "no ledger key signed this checkpoint")
    cosigned = tuple((v.key.name, v.timestamp) for v in verified if v.timestamp is not None)
    return Opened(checkpoint, parsed, by_log, cosigned)
