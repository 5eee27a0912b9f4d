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
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO
from uuid import UUID

from ledger.chain import auditstate, bundle
from ledger.chain.ledger import Ledger, Summary, holding
from ledger.chain.verify import (
    Failure,
    NeedsHistory,
    Rebuilt,
    ResumeError,
    Tree,
    TrustedCheckpoint,
    VerificationResult,
    rebuild,
    require_intact,
    verify_ledger,
    verify_store,
)
from ledger.core import rulebook
from ledger.core.draft import Draft
from ledger.core.envelope import Entry, EntryError, Row, parse_entry
from ledger.core.keys import PublicKey, SigningKey
from ledger.errors import InputError, IntegrityError, LedgerStateError
from ledger.store import Store, open_store
from ledger.store.pages import paged
from ledger.tlog import checkpoint, merkle, note


def load_state(path: Path) -> auditstate.AuditState:
    """An audit state saved by :func:`save_state`; ``InputError`` on ``state`` when unusable."""
    return auditstate.load(path)


def save_state(path: Path, state: auditstate.AuditState) -> None:
    auditstate.save(path, state)


PROOF_HEADER = b"c2sp.org/tlog-proof@v1\n"


def sign_checkpoint(ledger: Ledger, key: SigningKey) -> bytes:
    """A checkpoint of the whole ledger, signed by ``key`` (admin or secretary)."""
    signer = ledger.registry().signers.get(key.public.key_id)
    if signer is None or signer.revoked_seq is not None:
        raise InputError("key", f"key {key.public.key_id} is not an active signer of the ledger")
    if not signer.roles & checkpoint.SIGNING_ROLES:
        raise InputError(
            "key",
            f"signing a checkpoint needs role admin or secretary; {signer.name} has "
            f"{', '.join(sorted(signer.roles))}",
        )
    size = ledger.size()
    signed = checkpoint.sign(ledger.origin(), size, ledger.tree().root(size), key)
    return signed.to_bytes()


def open_checkpoint(ledger: Ledger, data: bytes, now: datetime, field: str) -> checkpoint.Opened:
    """Open a checkpoint of this ledger as of now: signed by one of its keys that is active now
    and was enrolled in the events it covers, every known signature true, no cosignature dated
    after ``now`` (give or take ``checkpoint.COSIGNATURE_SKEW_SECONDS``). Raises
    ``InputError`` naming ``field`` for a file that is not such a checkpoint."""
    try:
        return checkpoint.open_in_ledger(
            data,
            origin_line=ledger.origin(),
            signers=ledger.registry().signers.values(),
            not_after=int(now.timestamp()),
        )
    except note.NoteError as e:
        raise InputError(field, f"{e.reason}: {e}") from None


def _against(opened: checkpoint.Opened, have: int, root_at: Callable[[int], bytes]) -> None:
    """Raise ``IntegrityError`` unless the checkpoint is of the tree ``root_at`` gives."""
    cp = opened.checkpoint
    found = rulebook.check_against_tree(cp.size, cp.root, have, root_at, "the checkpoint")
    if found is not None:
        seq, refusal = found
        raise IntegrityError(seq, refusal.reason, refusal.detail)


def check_checkpoint(
    ledger: Ledger, data: bytes, field: str = "--checkpoint", now: datetime | None = None
) -> checkpoint.Opened:
    """Open a checkpoint of this ledger (``open_checkpoint``) and check it against the store's
    tree.

    Raises ``InputError`` for a file that is not a checkpoint of this ledger signed by one of
    its active keys, ``IntegrityError`` when the store no longer has the tree it signed.
    """
    opened = open_checkpoint(ledger, data, now or datetime.now(UTC), field)
    _against(opened, ledger.size(), ledger.tree().root)
    return opened


def cosign_checkpoint(
    ledger: Ledger,
    data: bytes,
    key: SigningKey,
    now: datetime,
    state: auditstate.AuditState | None = None,
) -> bytes:
    """The Council's cosignature, which means "verified": given only once the whole ledger
    verifies (with ``key``'s public half trusted), and the checkpoint proves to be of the tree
    rebuilt from the events (never the store's own nodes). With the Council's ``state`` of an
    earlier audit of this ledger, only the events after it are read, when that is enough.

    Raises ``IntegrityError`` when the ledger fails verification or the checkpoint is not of
    its tree, ``InputError`` for a file that is not a checkpoint of it or a state of another
    ledger.
    """
    opened = open_checkpoint(ledger, data, now, "FILE")
    result, tree = _verified(ledger, [key.public], state, opened.checkpoint.size)
    _against(opened, result.events, tree.root)
    return checkpoint.cosign(opened.note, key, int(now.timestamp())).to_bytes()


def _verified(
    ledger: Ledger,
    trust: Sequence[PublicKey],
    state: auditstate.AuditState | None,
    needed: int,
) -> tuple[VerificationResult, Tree]:
    """The ledger verified, from ``state`` when it holds and the tree's roots from size
    ``needed`` on are all that is asked; raises ``IntegrityError`` at its first failure."""
    if state is not None and state.ledger != ledger.id:
        raise InputError(
            auditstate.FIELD, f"the state is of ledger {state.ledger}, this one is {ledger.id}"
        )
    found: tuple[VerificationResult, Tree] | None = None
    if state is not None and needed >= state.resume.size:
        _state_holds(ledger, state)
        try:
            found = verify_store(ledger.store, ledger.id, cosigners=trust, after=state.resume)
        except NeedsHistory:
            found = None
        except ResumeError as e:
            raise InputError(auditstate.FIELD, f"not a usable audit state: {e}") from None
    if found is None:
        found = verify_store(ledger.store, ledger.id, cosigners=trust)
        if state is not None and found[0].ok:
            size, root = state.resume.size, state.resume.root
            mismatch = rulebook.check_against_tree(
                size, root, found[0].events, found[1].root, "the audit state"
            )
            if mismatch is not None:
                raise IntegrityError(mismatch[0], "state-mismatch", mismatch[1].detail)
    require_intact(found[0])
    return found


def _state_holds(ledger: Ledger, state: auditstate.AuditState) -> None:
    """The store's event at the state's end must be the one the state holds."""
    done = state.resume
    rows = ledger.store.rows(ledger.id, [done.size])
    if not rows or not _is_event(rows[0].entry, done.head):
        raise IntegrityError(
            done.size,
            "state-mismatch",
            f"the audit state ends at event {done.size} ({done.head[:16]}…) but the store "
            "holds another event there: the ledger was rewritten since that audit",
        )


def record_checkpoint(ledger: Ledger, data: bytes, key: SigningKey) -> Entry:
    """Keep a (cosigned) checkpoint in the ledger itself, as a CheckpointRecorded event."""
    opened = check_checkpoint(ledger, data, "FILE", ledger.clock())
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
        raise InputError("seq", f"event {seq} is not in this checkpoint (it covers 1..{size})")
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
    """Audit a bundle offline: every rule ``verify`` checks, consistency with the ``trusted``
    checkpoint, and late entries: events recorded after a checkpoint (recorded in the ledger,
    or the trusted one) that a ``trust`` key cosigned, about a year it had closed. Only the
    ``trust`` keys' cosignatures close a year (None: no key is trusted, no year is closed).

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
    (a checkpoint of fewer events, a new event referring to an old one), or ``trust`` differs
    from the keys the state was audited with, every event is read, and the first
    ``state.resume.size`` must hash to its root.

    Raises ``InputError`` when the file is not a bundle, or the state is of another ledger.
    """
    with _opened(path) as f:
        header = bundle.read_header(f)
        return _audit(f, header, f.tell(), trust, trusted, state, workers)[0]


def _opened(path: Path) -> BinaryIO:
    try:
        return path.open("rb")
    except OSError as e:
        raise InputError("bundle", f"cannot read {path}: {e.strerror}") from e


def _audit(
    f: BinaryIO,
    header: bundle.Header,
    start: int,
    trust: Sequence[PublicKey] | None,
    trusted: bytes | None,
    state: auditstate.AuditState | None,
    workers: int | None,
) -> tuple[Audited, Tree | None]:
    """``audit`` of the open bundle ``f``, whose entries begin at ``start``; with the tree
    rebuilt from its entries (None when the state's end was not the bundle's)."""
    trust_ids = None if trust is None else tuple(sorted({k.key_id for k in trust}))
    run = functools.partial(
        rebuild,
        workers=workers,
        trusted=TrustedCheckpoint(trusted) if trusted is not None else None,
        cosigners=None if trust is None else list(trust),
    )
    found: tuple[VerificationResult, Tree | None] | None = None
    why_not = ""
    if state is not None and state.ledger != header.ledger:
        raise InputError(
            auditstate.FIELD,
            f"the state is of ledger {state.ledger}, the bundle of {header.ledger}",
        )
    if state is not None and state.trust != trust_ids:
        why_not = "the state was audited trusting other keys for cosignatures"
    elif state is not None:
        try:
            found = _after(f, start, header, state, run)
        except NeedsHistory as e:
            why_not = str(e)
        except ResumeError as e:
            raise InputError(auditstate.FIELD, f"not a usable audit state: {e}") from None
    if found is None:
        f.seek(start)
        extends = state.resume if state is not None else None
        rebuilt = run(paged(bundle.rows(f)), header.ledger, size_hint=header.size, extends=extends)
        found = rebuilt.result, rebuilt.tree
    result, tree = found
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
    return Audited(result, saved, skipped, why_not), tree


def _after(
    f: BinaryIO,
    start: int,
    header: bundle.Header,
    state: auditstate.AuditState,
    run: Callable[..., Rebuilt],
) -> tuple[VerificationResult, Tree | None]:
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
        mismatch = VerificationResult(
            str(header.ledger), done.size, done.head, done.root.hex(), (failure,)
        )
        return mismatch, None
    pages = paged(bundle.rows(f, done.size), after=done.size)
    found = run(pages, header.ledger, size_hint=header.size - done.size, after=done)
    return found.result, found.tree


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

    The file is opened once, and each event written is first checked against the tree that
    verification rebuilt from it: a file changed or swapped in meanwhile stops the import at
    its first changed event (``bundle-changed``), before that event's batch is written.
    """
    with _opened(path) as f:
        header = bundle.read_header(f)
        start = f.tell()
        audited, tree = _audit(f, header, start, None, None, None, None)
        require_intact(audited.result)
        assert tree is not None  # no state: every event was read
        f.seek(start)
        store = open_store(target, create=True)
        try:
            return _import_rows(store, target, header, _as_verified(bundle.rows(f), tree))
        finally:
            store.close()


def _as_verified(rows: Iterator[Row], tree: Tree) -> Iterator[Row]:
    """``rows``, each one checked to be the event verification hashed into ``tree``."""
    leaves = tree.levels[0]
    for row in rows:
        at = 32 * (row.seq - 1)
        if merkle.leaf_hash(row.entry) != leaves[at : at + 32]:
            raise IntegrityError(
                row.seq,
                "bundle-changed",
                f"event {row.seq} of the bundle is not the one verified: the file changed "
                "during the import; the events before it are imported, verified",
            )
        yield row


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
    """Verify every ledger of ``ledgers`` in the store at ``target``, as ``verify`` does, with
    the ``trust`` keys' cosignatures closing years (None: no key trusted, no late entries),
    several at once; results come in the order of ``ledgers``."""

    def one(summary: Summary) -> VerificationResult:
        # A store each: SQLite connections and the PostgreSQL pool are not shared across threads.
        store = open_store(target, read_only=True)
        try:
            return verify_ledger(store, summary.id, workers=1, cosigners=trust)
        finally:
            store.close()

    with ThreadPoolExecutor(max_workers=min(len(ledgers), os.cpu_count() or 1) or 1) as pool:
        yield from zip(ledgers, pool.map(one, ledgers), strict=True)
