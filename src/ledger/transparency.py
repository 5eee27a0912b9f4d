"""The ledger as a transparency log: checkpoints, cosigning, proofs, export and offline audit.

The operations behind ``ledger checkpoint``, ``checkpoint cosign``, ``checkpoint record``,
``prove``, ``export`` and ``audit``; the CLI only parses and prints.
"""

from __future__ import annotations

import base64
import dataclasses
import functools
import itertools
import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, BinaryIO
from uuid import UUID

from ledger import auditstate, bundle, checkpoint, merkle, note
from ledger.envelope import Entry, EntryError, parse_entry
from ledger.errors import InputError, IntegrityError, LedgerStateError
from ledger.keys import PublicKey, SigningKey
from ledger.ledger import Draft, Ledger, Summary, holding
from ledger.store import Row, Store, open_store
from ledger.verify import (
    Failure,
    NeedsHistory,
    ResumeError,
    TrustedCheckpoint,
    VerificationResult,
    paged,
    verify_ledger,
    verify_rows,
)

PROOF_HEADER = b"c2sp.org/tlog-proof@v1\n"


def sign_checkpoint(ledger: Ledger, key: SigningKey) -> bytes:
    """A checkpoint of the whole ledger, signed by ``key`` (admin or secretary)."""
    signer = ledger.registry().signers.get(key.public.key_id)
    if signer is None or signer.revoked_seq is not None:
        raise InputError("--key", f"key {key.public.key_id} is not an active signer of the ledger")
    if not signer.roles & checkpoint.SIGNING_ROLES:
        raise InputError(
            "--key",
            f"signing a checkpoint needs role admin or secretary; {signer.name} has "
            f"{', '.join(sorted(signer.roles))}",
        )
    size = ledger.size()
    signed = checkpoint.sign(ledger.origin(), size, ledger.tree().root(size), key)
    return signed.to_bytes()


def check_checkpoint(ledger: Ledger, data: bytes, field: str = "--checkpoint") -> checkpoint.Opened:
    """Open a checkpoint of this ledger and check it against the ledger's tree.

    Raises ``InputError`` for a file that is not a checkpoint of this ledger signed by one of
    its keys, ``IntegrityError`` when the ledger no longer has the tree the checkpoint signed.
    """
    signers = ledger.registry().signers.values()
    logs, council = checkpoint.log_keys(signers), checkpoint.council_keys(signers)
    try:
        opened = checkpoint.open_note(
            data, origin_line=ledger.origin(), log_keys=logs, cosigners=council
        )
    except note.NoteError as e:
        raise InputError(field, f"{e.reason}: {e}") from None
    size, root = opened.checkpoint.size, opened.checkpoint.root
    have = ledger.size()
    if size > have:
        raise IntegrityError(
            have + 1, "truncated", f"checkpoint covers {size} events, the ledger has {have}"
        )
    mine = ledger.tree().root(size)
    if mine != root:
        raise IntegrityError(
            size,
            "checkpoint-mismatch",
            f"the ledger's root at size {size} is {mine.hex()}, the checkpoint says {root.hex()}",
        )
    return opened


def cosign_checkpoint(ledger: Ledger, data: bytes, key: SigningKey, now: datetime) -> bytes:
    """The Council's cosignature, added once the checkpoint proves to be this ledger's."""
    opened = check_checkpoint(ledger, data, "FILE")
    return checkpoint.cosign(opened.note, key, int(now.timestamp())).to_bytes()


def record_checkpoint(ledger: Ledger, data: bytes, key: SigningKey) -> Entry:
    """Keep a (cosigned) checkpoint in the ledger itself, as a CheckpointRecorded event."""
    opened = check_checkpoint(ledger, data, "FILE")
    payload = {
        "size": opened.checkpoint.size,
        "root": opened.checkpoint.root.hex(),
        "note": opened.note.to_bytes().decode(),
    }
    [entry] = ledger.append(key, [Draft("CheckpointRecorded", payload)])
    return entry


@dataclass(frozen=True, slots=True)
class Proof:
    """An offline-verifiable inclusion proof of one event in a checkpoint."""

    seq: int
    entry: bytes
    path: list[bytes]
    opened: checkpoint.Opened

    def tlog_proof(self) -> bytes:
        """C2SP ``tlog-proof``; the ``extra`` line carries the entry, which the leaf hashes."""
        lines = [
            PROOF_HEADER,
            b"extra " + base64.b64encode(self.entry) + b"\n",
            f"index {self.seq - 1}\n".encode(),
            *(base64.b64encode(h) + b"\n" for h in self.path),
            b"\n",
            self.opened.note.to_bytes(),
        ]
        return b"".join(lines)

    def to_json(self) -> dict[str, Any]:
        cp = self.opened.checkpoint
        return {
            "format": "coop-ledger/proof/v1",
            "seq": self.seq,
            "index": self.seq - 1,
            "size": cp.size,
            "root": base64.b64encode(cp.root).decode(),
            "entry": self.entry.decode(),
            "leaf_hash": base64.b64encode(merkle.leaf_hash(self.entry)).decode(),
            "proof": [base64.b64encode(h).decode() for h in self.path],
            "checkpoint": self.opened.note.to_bytes().decode(),
        }


def prove(ledger: Ledger, seq: int, data: bytes) -> Proof:
    """The inclusion proof of event ``seq`` in the tree the checkpoint ``data`` signed."""
    opened = check_checkpoint(ledger, data)
    size = opened.checkpoint.size
    if not 1 <= seq <= size:
        raise InputError("SEQ", f"event {seq} is not in this checkpoint (it covers 1..{size})")
    [row] = ledger.store.read(ledger.id, after=seq - 1, upto=seq)
    path = ledger.tree().inclusion_proof(seq - 1, size)
    try:  # never hand out a proof that does not verify
        merkle.verify_inclusion(
            merkle.leaf_hash(row.entry), seq - 1, size, path, opened.checkpoint.root
        )
    except merkle.ProofError as e:
        raise IntegrityError(seq, "stored-tree-mismatch", f"{e.reason}: {e}") from e
    return Proof(seq, row.entry, path, opened)


def export(ledger: Ledger, path: Path) -> int:
    """Write the whole ledger as a bundle; returns the number of events."""
    size = ledger.size()
    header = bundle.Header(ledger.id, ledger.origin(), size, ledger.tree().root(size).hex())
    rows = ledger.store.read(ledger.id, upto=size)
    return bundle.write(path, header, (r.entry for r in rows))


def audit_bundle(
    path: Path,
    trust: Sequence[PublicKey] | None,
    trusted: bytes | None = None,
    *,
    workers: int | None = None,
) -> VerificationResult:
    """Audit a bundle offline: everything ``verify`` checks, checkpoint signatures by the
    ``trust`` keys (None: the council keys the ledger enrols), consistency with the ``trusted``
    checkpoint, and late entries.

    Raises ``InputError`` when the file is not a bundle at all.
    """
    return audit(path, trust, trusted, workers=workers).result


@dataclass(frozen=True, slots=True)
class Audited:
    """What an audit found, and where the next audit may start from."""

    result: VerificationResult
    state: auditstate.AuditState | None  # None when the audit failed
    skipped: int  # events the given state covered, not read
    why_not: str = ""  # why a given state could not be started from (then every event was read)


def audit(
    path: Path,
    trust: Sequence[PublicKey] | None,
    trusted: bytes | None = None,
    *,
    state: auditstate.AuditState | None = None,
    workers: int | None = None,
) -> Audited:
    """``audit_bundle``, and where a later audit may start: given the ``state`` an earlier
    audit of the ledger left, only the events after it are read and checked, and the bundle's
    event at the state's end must be the one it holds. When a check needs the events before it
    (a checkpoint of fewer events), or ``trust`` differs from the keys the state was audited
    with, every event is read, and the first ``state.resume.size`` must hash to its root.

    Raises ``InputError`` when the file is not a bundle, or the state is of another ledger.
    """
    try:
        f = path.open("rb")
    except OSError as e:
        raise InputError("BUNDLE", f"cannot read {path}: {e.strerror}") from e
    trust_ids = None if trust is None else tuple(sorted({k.key_id for k in trust}))
    run = functools.partial(
        verify_rows,
        workers=workers,
        trusted=TrustedCheckpoint(trusted) if trusted is not None else None,
        cosigners=None if trust is None else list(trust),
    )
    with f:
        header = bundle.read_header(f)
        start = f.tell()
        result, why_not = None, ""
        if state is not None and state.ledger != header.ledger:
            raise InputError(
                auditstate.FIELD,
                f"the state is of ledger {state.ledger}, the bundle of {header.ledger}",
            )
        if state is not None and state.trust != trust_ids:
            why_not = "the state was audited trusting other keys for cosignatures"
        elif state is not None:
            try:
                result = _after(f, start, header, state, run)
            except NeedsHistory as e:
                why_not = f"{e}, fewer than the state covers"
            except ResumeError as e:
                raise InputError(auditstate.FIELD, f"not a usable audit state: {e}") from None
        if result is None:
            f.seek(start)
            extends = state.resume if state is not None else None
            result = run(
                paged(bundle.rows(f)), header.ledger, size_hint=header.size, extends=extends
            )
        if result.ok and (result.events, result.root) != (header.size, header.root):
            detail = (
                f"the header announces {header.size} events with root {header.root}; the "
                f"entries give {result.events} with root {result.root}"
            )
            failure = Failure(min(result.events, header.size) + 1, "header-mismatch", detail)
            result = dataclasses.replace(result, failures=(failure,))
        saved = None
        if result.ok and result.resume is not None:
            offset = bundle.last_entry_at(f, start)
            saved = auditstate.AuditState(header.ledger, result.resume, offset, trust_ids)
    skipped = state.resume.size if state is not None and not why_not else 0
    return Audited(result, saved, skipped, why_not)


def _after(
    f: BinaryIO,
    start: int,
    header: bundle.Header,
    state: auditstate.AuditState,
    run: Callable[..., VerificationResult],
) -> VerificationResult:
    """Verify the bundle's events after ``state``, its last event being the bundle's too."""
    done = state.resume
    line = bundle.entry_at(f, start, state.offset, done.size)
    if not _is_event(line, done.head):
        where = "ends before it" if line is None else "holds another event there"
        failure = Failure(
            done.size,
            "state-mismatch",
            f"the audit state ends at event {done.size} ({done.head[:16]}…) but the bundle "
            f"{where}: the ledger was rewritten since, or this is not its bundle; audit it "
            "without --state to see where they part",
        )
        return VerificationResult(
            str(header.ledger), done.size, done.head, done.root.hex(), (failure,)
        )
    pages = paged(bundle.rows(f, done.size), after=done.size)
    return run(pages, header.ledger, size_hint=header.size - done.size, after=done)


def _is_event(line: bytes | None, event_id: str) -> bool:
    try:
        return line is not None and parse_entry(line).id == event_id
    except EntryError:
        return False


@dataclass(frozen=True, slots=True)
class Imported:
    ledger: UUID
    events: int  # written now
    size: int  # the ledger's size in the store afterwards


def import_bundle(target: str, path: Path) -> Imported:
    """Verify the bundle at ``path`` completely, then write its ledger into the store at
    ``target`` (created if need be), or the events the store lacks when it holds a prefix of
    that ledger. Nothing is written when the bundle fails verification or disagrees with the
    store.
    """
    result = audit_bundle(path, None)
    if not result.ok:
        first = result.failures[0]
        raise IntegrityError(first.seq, first.reason, first.detail)
    with path.open("rb") as f:
        header = bundle.read_header(f)
        store = open_store(target, create=True)
        try:
            return _import_rows(store, target, header, bundle.rows(f))
        finally:
            store.close()


def _import_rows(store: Store, target: str, header: bundle.Header, rows: Iterator[Row]) -> Imported:
    ledger = Ledger(store=store, id=header.ledger)
    stored = store.last(header.ledger)
    have = stored.seq if stored else 0
    if stored is None:
        genesis = next(rows)
        rows = itertools.chain([genesis], rows)
        clash = holding(store, parse_entry(genesis.entry).envelope.payload["number"])
        if clash is not None:
            raise LedgerStateError(
                f"{target} holds another ledger of enterprise {clash.number} "
                f"({clash.id}); refusing to import a second one"
            )
    elif have > header.size:
        raise LedgerStateError(
            f"{target} holds {have} events of ledger {header.ledger}, more than the bundle's "
            f"{header.size}; nothing to import"
        )
    else:
        for row in rows:
            if row.seq == have:
                if row.entry != stored.entry:
                    raise IntegrityError(
                        have,
                        "fork",
                        f"the bundle's event {have} differs from the one stored in {target}; "
                        "the two copies of the ledger have forked",
                    )
                break
    written = ledger.extend(rows)
    return Imported(header.ledger, written, have + written)


def audit_store(
    target: str, ledgers: Sequence[Summary], trust: Sequence[PublicKey] | None
) -> Iterator[tuple[Summary, VerificationResult]]:
    """Verify every ledger of ``ledgers`` in the store at ``target``, as ``verify`` does and
    with cosignatures by ``trust`` (None: each ledger's enrolled council keys), several at once;
    results come in the order of ``ledgers``."""

    def one(summary: Summary) -> VerificationResult:
        # A store each: SQLite connections and the PostgreSQL pool are not shared across threads.
        store = open_store(target, read_only=True)
        try:
            return verify_ledger(store, summary.id, workers=1, cosigners=trust)
        finally:
            store.close()

    with ThreadPoolExecutor(max_workers=min(len(ledgers), os.cpu_count() or 1) or 1) as pool:
        yield from zip(ledgers, pool.map(one, ledgers), strict=True)
