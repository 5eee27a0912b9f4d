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
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime

from ledger.core.keys import PublicKey, SigningKey
from ledger.core.signers import Signer
from ledger.tlog import note

# Who may sign a checkpoint of the ledger with a ledger key.
SIGNING_ROLES = frozenset({"admin", "secretary"})
# How far a cosignature's time may lie after the moment a checkpoint is judged at (when it is
# recorded, cosigned or audited): the clocks of the Council and of the cooperative may differ a
# little; a cosignature dated later than that cannot be in a checkpoint that exists now.
COSIGNATURE_SKEW_SECONDS = 600


def log_keys(signers: Iterable[Signer], size: int, until: int | None = None) -> list[bytes]:
    """The raw keys, among a ledger's signers, that may sign its checkpoint of ``size``
    events: holding a role of ``SIGNING_ROLES``, enrolled in those events, and not revoked
    before ``until`` (a seq; None: not revoked at all). A key vouches for a tree it was part of,
    and for none once it is revoked: a checkpoint is judged where it is used (recorded,
    cosigned, trusted), by the keys active there."""
    return [
        s.public_key
        for s in signers
        if s.roles & SIGNING_ROLES
        and s.enrolled_seq <= size
        and (s.revoked_seq is None or (until is not None and s.revoked_seq > until))
    ]


def council_keys(signers: Iterable[Signer]) -> list[PublicKey]:
    """The keys enrolled with the ``council`` role: the ledger's own idea of its cosigners."""
    return [PublicKey(s.public_key, s.name) for s in signers if "council" in s.roles]


def claimed_size(data: bytes) -> int:
    """The size a signed checkpoint says it covers, unverified (0 when it cannot be read: the
    verification that follows says why)."""
    try:
        return note.parse_checkpoint(note.parse_note(data).text).size
    except note.NoteError:
        return 0


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


def open_in_ledger(
    data: bytes,
    *,
    origin_line: str,
    signers: Iterable[Signer],
    trusted: Sequence[PublicKey] = (),
    until: int | None = None,
    not_after: int | None = None,
    require_log: bool = True,
) -> Opened:
    """Open a checkpoint of a ledger whose signers are ``signers`` (as where it is used):
    ``open_note`` with the ledger keys that may have signed it (``log_keys`` at the size it
    claims, ``until``), and every cosignature by the ``trusted`` keys and by the council keys
    the ledger enrols required to be true. Raises ``note.NoteError``."""
    signers = list(signers)
    raws = {k.raw for k in trusted}
    council = [k for k in council_keys(signers) if k.raw not in raws]
    return open_note(
        data,
        origin_line=origin_line,
        log_keys=log_keys(signers, claimed_size(data), until),
        cosigners=[*trusted, *council],
        require_log=require_log,
        not_after=not_after,
    )


@dataclass(frozen=True, slots=True)
class Opened:
    """A checkpoint whose signatures verified: by the log, and by which cosigners when."""

    checkpoint: note.Checkpoint
    note: note.Note
    log_signers: tuple[bytes, ...]  # raw public keys of the ledger keys that signed it
    cosigned: tuple[tuple[str, int], ...]  # (cosigner name, POSIX time)
    cosigned_by: tuple[bytes, ...] = ()  # the raw key of each of ``cosigned``, in its order

    def covered_until(self, trusted: Collection[bytes]) -> int | None:
        """The last year this checkpoint closed: the year before its earliest cosignature by
        one of the ``trusted`` keys (raw). Only the cosigners the auditor trusts count: a key
        the ledger enrols for itself says nothing of when the Council saw its tree.

        An event recorded after the checkpoint whose effective date falls in or before that
        year is a *late entry*: backdating the Council can see. None: no trusted cosignature.
        """
        first = self.first_cosigned(trusted)
        return None if first is None else first.year - 1

    def first_cosigned(self, trusted: Collection[bytes]) -> date | None:
        """The day (UTC) of the earliest cosignature by one of the ``trusted`` keys (raw): the
        ledger held no event beyond this checkpoint's size then. None: none cosigned it."""
        pairs = zip(self.cosigned_by, self.cosigned, strict=True)
        times = [t for key, (_, t) in pairs if key in trusted]
        if not times:
            return None
        return datetime.fromtimestamp(min(times), UTC).date()


def open_note(
    data: bytes,
    *,
    origin_line: str,
    log_keys: Iterable[bytes],
    cosigners: Sequence[PublicKey],
    require_log: bool = True,
    not_after: int | None = None,
) -> Opened:
    """Parse a signed checkpoint and verify what it claims.

    Every signature line by a known key must verify; at least one must come from
    ``log_keys`` (raw public keys of ledger keys) when ``require_log``, else from a cosigner.
    ``not_after`` (POSIX seconds): no cosignature may be dated later, give or take
    ``COSIGNATURE_SKEW_SECONDS``.
    Raises ``note.NoteError`` (``unknown-origin`` when the origin is not ``origin_line``,
    ``future-timestamp`` for a cosignature from the future).
    """
    parsed = note.parse_note(data)
    checkpoint = note.parse_checkpoint(parsed.text)
    if checkpoint.origin != origin_line:
        raise note.NoteError(
            "unknown-origin",
            f"checkpoint origin is {checkpoint.origin!r}, expected {origin_line!r}",
        )
    logs = [log_verifier(origin_line, raw) for raw in log_keys]
    latest = None if not_after is None else not_after + COSIGNATURE_SKEW_SECONDS
    verifiers = [*logs, *(cosigner_verifier(c) for c in cosigners)]
    verified = note.verify_note(parsed, verifiers, now=latest)
    by_log = tuple(v.key.public_key for v in verified if v.key.kind is note.KeyKind.ED25519)
    if require_log and not by_log:
        raise note.NoteError("no-known-signature", "no ledger key signed this checkpoint")
    cosigs = [
        (v.key.name, v.timestamp, v.key.public_key) for v in verified if v.timestamp is not None
    ]
    cosigned = tuple((name, t) for name, t, _ in cosigs)
    return Opened(checkpoint, parsed, by_log, cosigned, tuple(key for _, _, key in cosigs))
