"""Verification of a whole ledger, from its store or from an exported bundle.

Checks every entry canonical and well-formed, sequence numbers contiguous, the hash chain
unbroken, recorded-at never decreasing, each signer enrolled, not revoked and holding a role
allowed for the type, each Ed25519 signature true; rebuilds the RFC 6962 tree and checks every
checkpoint recorded in the ledger against it; and, given a trusted checkpoint, proves the ledger
an append-only extension of it.

The ledger is streamed a page at a time. Parsing and signature checks (the cost) run on every
core (``_pool``); the main thread folds the signer registry, the links and the tree.
Memory grows by ~70 bytes an event (the rebuilt tree's nodes, ~64 bytes; effective date and
type, 6), not by the entries.
With a trusted checkpoint of size N, events 1..N-1 are only hashed (signer and checkpoint events
are still read, for the registry and the origin): the tree rebuilt from their bytes must hash to
the trusted root, which proves they are the events the trusted party already audited. An audit
from a trusted checkpoint thus costs a hash an old event and a full check a new one.
"""

from __future__ import annotations

import dataclasses
import os
import re
from array import array
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Executor, Future, ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date
from typing import Any, NamedTuple, TypeVar
from uuid import UUID

from ledger import canonical, checkpoint, merkle, note, personal
from ledger.envelope import SIGNING_CONTEXT, EntryError, Envelope, parse_entry
from ledger.keys import PublicKey, key_id, verify_signature
from ledger.signers import REGISTRY_TYPES, Registry, public_key_of
from ledger.store import Row, Store

T = TypeVar("T")

CHUNK = 1000
INLINE_BELOW = 4000  # a pool costs more than it saves on small ledgers
MAX_FAILURES = 1000
THREADS_UP_TO_CORES = 4
POOL = "auto"  # "threads" or "processes" force one (tests try both)
# Types whose payload the fold needs; workers strip the others to keep the pipes thin.
_PAYLOAD_TYPES = REGISTRY_TYPES | {"LedgerOpened", "CheckpointRecorded"}


@dataclass(frozen=True, slots=True)
class Failure:
    seq: int
    reason: str
    detail: str


@dataclass(frozen=True, slots=True)
class LateEntry:
    seq: int
    type: str
    effective: str
    checkpoint_size: int
    covered_until: int


@dataclass(frozen=True, slots=True)
class TrustedCheckpoint:
    """A checkpoint the verifier already trusts, as raw signed-note bytes."""

    data: bytes


@dataclass(frozen=True, slots=True)
class VerificationResult:
    """What verification found. No ``__bool__``: ask ``.ok``."""

    ledger: str
    events: int
    head: str
    root: str
    failures: tuple[Failure, ...] = ()
    late_entries: tuple[LateEntry, ...] = ()
    checkpoints: int = 0

    @property
    def ok(self) -> bool:
        return not self.failures

    def to_json(self, *, late_entries: bool = False) -> dict[str, Any]:
        out: dict[str, Any] = {
            "ok": self.ok,
            "ledger": self.ledger,
            "events": self.events,
            "head": self.head,
            "root": self.root,
            "failures": [
                {"seq": f.seq, "reason": f.reason, "detail": f.detail} for f in self.failures
            ],
        }
        if late_entries:
            out["late_entries"] = [
                {
                    "seq": e.seq,
                    "type": e.type,
                    "effective": e.effective,
                    "checkpoint_size": e.checkpoint_size,
                    "covered_until": f"{e.covered_until}-12-31",
                }
                for e in self.late_entries
            ]
        return out


class _Checked(NamedTuple):
    """A worker's verdict on one stored row: a plain tuple, cheap to send between processes."""

    seq: int
    envelope: Envelope | None  # its payload emptied for a process pool, unless the fold needs it
    id: str
    leaf: bytes
    signature_ok: bool | None  # None: key unknown to the worker, or not checked (trusted)
    error: tuple[str, str] | None
    # Inside a trusted prefix, only hashed: (type, effective date) read off the bytes.
    trusted: tuple[str, str] | None = None


def _check_rows(
    rows: list[tuple[int, str | None, bytes]],
    keys: dict[str, bytes],
    trusted_upto: int,
    strip: bool = False,
) -> list[_Checked]:
    """Parse rows, hash them into leaves and check their signatures against ``keys``.

    ``keys`` (key id → raw public key) is self-certifying, since ids are hashes of the keys, so
    an untrusted map cannot make a false signature pass; whether the key was *allowed* is
    decided later, in order. A ``None`` topic (bundles have no type column) is not compared.
    ``strip`` empties the payloads the fold does not read, to keep a process pool's pipes thin.
    """
    out: list[_Checked] = []
    append = out.append
    for seq, topic, data in rows:
        leaf = merkle.leaf_hash(data)
        if seq < trusted_upto and topic is not None and topic not in _PAYLOAD_TYPES:
            # Covered by the trusted root, which the fold checks: hashing is all it takes.
            # The effective date opens every canonical entry: {"effective":"YYYY-MM-DD",...
            effective = data[14:24].decode("ascii", "replace")
            append(_Checked(seq, None, "", leaf, None, None, (topic, effective)))
            continue
        try:
            entry = parse_entry(data)
        except EntryError as e:
            append(_Checked(seq, None, "", leaf, None, (e.reason, e.detail)))
            continue
        env = entry.envelope
        error = None
        if topic is not None and topic != env.type:
            error = ("topic-mismatch", f"stored as {topic!r} but the entry says {env.type!r}")
        public = keys.get(env.signer)
        ok = (
            None
            if public is None or seq <= trusted_upto
            else verify_signature(public, entry.signature, SIGNING_CONTEXT + entry.envelope_bytes)
        )
        if strip and env.type not in _PAYLOAD_TYPES:
            env = env._replace(payload={})
        append(_Checked(seq, env, entry.id, leaf, ok, error))
    return out


def _harvest_keys(rows: Iterable[Row], keys: dict[str, bytes]) -> None:
    # Key material must reach the workers before the events it verifies; enrolments are rare,
    # so reading them here, ahead of the pool, is cheap.
    for row in rows:
        if row.topic in REGISTRY_TYPES or row.topic == "LedgerOpened":
            try:
                raw = public_key_of(canonical.decode(row.entry).get("payload", {}))
            except (canonical.CanonicalError, AttributeError):
                continue
            if raw is not None:
                keys[key_id(raw)] = raw


def _pool(workers: int) -> Executor:
    """Threads up to ``THREADS_UP_TO_CORES`` cores, processes beyond.

    OpenSSL verifies with the GIL released, so threads spread the signature checks over the
    cores without pickling rows across processes (20 % faster on the 2-core machine of
    bench/RESULTS.md); parsing still holds the GIL, which caps threads near 20k events/s, so
    larger machines get processes.
    """
    if _threads():
        return ThreadPoolExecutor(max_workers=workers)
    return ProcessPoolExecutor(max_workers=workers)


def _threads() -> bool:
    return POOL == "threads" or (POOL == "auto" and (os.cpu_count() or 1) <= THREADS_UP_TO_CORES)


def _checked(pages: Iterable[list[Row]], workers: int, trusted_upto: int) -> Iterator[_Checked]:
    keys: dict[str, bytes] = {}
    processes = workers > 1 and not _threads()

    def job(
        page: list[Row],
    ) -> tuple[list[tuple[int, str | None, bytes]], dict[str, bytes], int, bool]:
        _harvest_keys(page, keys)
        return [(r.seq, r.topic, r.entry) for r in page], dict(keys), trusted_upto, processes

    if workers <= 1:
        for page in pages:
            yield from _check_rows(*job(page))
        return
    with _pool(workers) as pool:
        window: deque[Future[list[_Checked]]] = deque()
        for page in pages:
            window.append(pool.submit(_check_rows, *job(page)))
            if len(window) > 2 * workers:
                yield from window.popleft().result()
        while window:
            yield from window.popleft().result()


def paged(rows: Iterable[T], size: int = CHUNK) -> Iterator[list[T]]:
    """Group rows into pages of ``size`` (by default, the pages the workers take)."""
    page: list[T] = []
    for row in rows:
        page.append(row)
        if len(page) == size:
            yield page
            page = []
    if page:
        yield page


class _Tree:
    """The tree rebuilt from the leaves: every complete subtree's hash, level by level (as the
    store keeps them), so a root at any past size is O(log n) lookups."""

    def __init__(self) -> None:
        self.range = merkle.CompactRange()
        self.levels: list[bytearray] = [bytearray()]

    def append(self, leaf: bytes) -> None:
        levels = self.levels
        for level, _, node in self.range.append(leaf):
            if level == len(levels):
                levels.append(bytearray())
            levels[level] += node

    def root(self, size: int) -> bytes:
        return merkle.fold_subtrees(
            [
                bytes(self.levels[level][32 * idx : 32 * idx + 32])
                for level, idx in merkle.perfect_subtrees(0, size)
            ]
        )


@dataclass
class _Fold:
    """The sequential part of verification, event by event."""

    ledger: UUID
    trusted: TrustedCheckpoint | None
    cosigners: Sequence[PublicKey] | None  # None: the ledger's own enrolled council keys
    registry: Registry = field(default_factory=Registry)
    tree: _Tree = field(default_factory=_Tree)
    failures: list[Failure] = field(default_factory=list)
    late: list[LateEntry] = field(default_factory=list)
    origin: str = ""
    effective: array[int] = field(default_factory=lambda: array("I"))  # date ordinals
    types: array[int] = field(default_factory=lambda: array("H"))  # indexes in type_names
    type_names: dict[str, int] = field(default_factory=dict)
    covered: tuple[int, int] | None = None  # (checkpoint size, last year covered), the widest
    checkpoints: int = 0

    def fail(self, seq: int, reason: str, detail: str) -> None:
        if len(self.failures) < MAX_FAILURES:
            self.failures.append(Failure(seq, reason, detail))

    def cosigner_keys(self) -> list[PublicKey]:
        if self.cosigners is not None:
            return list(self.cosigners)
        return checkpoint.council_keys(self.registry.signers.values())

    def log_keys(self) -> list[bytes]:
        return checkpoint.log_keys(self.registry.signers.values())

    def note_event(self, env: Envelope) -> None:
        """Bookkeeping every event gets: its effective year and type, for late entries."""
        self._remember(env.type, date.fromisoformat(env.effective))
        if self.covered and int(env.effective[:4]) <= self.covered[1]:
            self._late(env.seq, self.covered)

    def note_trusted(self, event_type: str, effective: str) -> None:
        try:
            day = date.fromisoformat(effective)
        except ValueError:
            day = date.min  # a damaged prefix fails on its root anyway
        self._remember(event_type, day)

    def note_unreadable(self) -> None:
        self._remember("?", date.min)

    def _remember(self, event_type: str, effective: date) -> None:
        self.types.append(self.type_names.setdefault(event_type, len(self.type_names)))
        self.effective.append(effective.toordinal())

    def _late(self, seq: int, covered: tuple[int, int]) -> None:
        names = {i: name for name, i in self.type_names.items()}
        day = date.fromordinal(self.effective[seq - 1])
        self.late.append(
            LateEntry(seq, names[self.types[seq - 1]], day.isoformat(), covered[0], covered[1])
        )

    def opened(self, env: Envelope) -> None:
        number = env.payload.get("number", "")
        self.origin = checkpoint.origin(env.ledger, str(number))

    def recorded_checkpoint(self, env: Envelope) -> None:
        """Check a CheckpointRecorded event against the tree rebuilt so far."""
        payload = env.payload
        try:
            opened = checkpoint.open_note(
                str(payload["note"]).encode(),
                origin_line=self.origin,
                log_keys=self.log_keys(),
                cosigners=self.cosigner_keys(),
            )
        except note.NoteError as e:
            self.fail(env.seq, "bad-checkpoint", f"{e.reason}: {e}")
            return
        cp = opened.checkpoint
        if (cp.size, cp.root.hex()) != (payload["size"], payload["root"]):
            self.fail(env.seq, "bad-checkpoint", "size or root differ from the note's")
            return
        if cp.size >= env.seq:
            self.fail(env.seq, "bad-checkpoint", f"covers size {cp.size}, beyond its own event")
            return
        if self.tree.root(cp.size) != cp.root:
            self.fail(
                env.seq,
                "bad-checkpoint",
                f"root at size {cp.size} is {self.tree.root(cp.size).hex()}, the "
                f"checkpoint says {cp.root.hex()}",
            )
            return
        self.checkpoints += 1
        year = opened.covered_until()
        if year is None:
            return
        covered = (cp.size, year)
        for seq in range(cp.size + 1, env.seq + 1):
            if date.fromordinal(self.effective[seq - 1]).year <= year:
                self._late(seq, covered)
        if self.covered is None or year > self.covered[1]:
            self.covered = covered

    def check_trusted(self, size: int) -> None:
        """At the end: the ledger extends the trusted checkpoint."""
        assert self.trusted is not None
        try:
            opened = checkpoint.open_note(
                self.trusted.data,
                origin_line=self.origin,
                log_keys=self.log_keys(),
                cosigners=self.cosigner_keys(),
                require_log=self.cosigners is None,
            )
        except note.NoteError as e:
            self.fail(min(size, 1), "untrusted-checkpoint", f"{e.reason}: {e}")
            return
        cp = opened.checkpoint
        trust = {k.raw for k in self.cosigners or ()}
        if (
            self.cosigners is not None
            and not opened.cosigned
            and trust.isdisjoint(opened.log_signers)
        ):
            self.fail(1, "untrusted-checkpoint", "neither signed nor cosigned by a trusted key")
        elif cp.size > size:
            self.fail(
                size + 1,
                "truncated",
                f"the ledger has {size} events; the trusted checkpoint covers {cp.size}",
            )
        elif self.tree.root(cp.size) != cp.root:
            self.fail(
                cp.size,
                "checkpoint-mismatch",
                f"events 1..{cp.size} hash to root {self.tree.root(cp.size).hex()}, the "
                f"trusted checkpoint says {cp.root.hex()}: history was rewritten or forked",
            )


def trusted_size(trusted: TrustedCheckpoint | None) -> int:
    """The size a trusted checkpoint claims (0 if unreadable: then nothing is skipped)."""
    if trusted is None:
        return 0
    try:
        return note.parse_checkpoint(note.parse_note(trusted.data).text).size
    except note.NoteError:
        return 0


def verify_rows(
    pages: Iterable[list[Row]],
    ledger: UUID,
    *,
    size_hint: int,
    workers: int | None = None,
    trusted: TrustedCheckpoint | None = None,
    cosigners: Sequence[PublicKey] | None = None,
) -> VerificationResult:
    """Verify the events of ``ledger`` given in order, a page at a time.

    ``cosigners``: the public keys whose cosignatures count (the Council's own, for an offline
    audit); None takes the keys enrolled in the ledger with the ``council`` role.
    ``workers`` defaults to every core for ledgers of ``INLINE_BELOW`` events or more.
    """
    return _verify(
        pages, ledger, size_hint=size_hint, workers=workers, trusted=trusted, cosigners=cosigners
    )[0]


def _verify(
    pages: Iterable[list[Row]],
    ledger: UUID,
    *,
    size_hint: int,
    workers: int | None = None,
    trusted: TrustedCheckpoint | None = None,
    cosigners: Sequence[PublicKey] | None = None,
) -> tuple[VerificationResult, list[bytearray]]:
    if workers is None:
        workers = (os.cpu_count() or 1) if size_hint >= INLINE_BELOW else 1
    fold = _Fold(ledger, trusted, cosigners)
    skip = trusted_size(trusted)
    expected_seq, last_time, head, count = 1, "", "0" * 64, 0
    prev: str | None = "0" * 64
    ledger_text = str(ledger)
    for c in _checked(pages, workers, skip):
        count += 1
        fold.tree.append(c.leaf)
        if c.trusted is not None:
            # The links of a trusted prefix are proven at its end, by the root.
            fold.note_trusted(*c.trusted)
            expected_seq, prev = c.seq + 1, None
            continue
        env = c.envelope
        if env is None or c.error:
            assert c.error is not None
            fold.fail(c.seq, *c.error)
            # An unparsable entry has no trustworthy id: do not blame its successor's link too.
            expected_seq, prev = c.seq + 1, c.id if env else None
            if env is None:
                fold.note_unreadable()
            else:
                fold.note_event(env)
            continue
        fold.note_event(env)
        if c.seq != expected_seq:
            fold.fail(c.seq, "sequence-gap", f"expected event {expected_seq}, found {c.seq}")
        elif env.seq != c.seq:
            fold.fail(c.seq, "seq-mismatch", f"stored at {c.seq} but the entry says seq {env.seq}")
        elif env.ledger != ledger_text:
            fold.fail(c.seq, "wrong-ledger", f"entry belongs to ledger {env.ledger}, not {ledger}")
        elif prev is not None and env.prev != prev:
            fold.fail(c.seq, "chain-broken", f"prev is {env.prev[:16]}…, expected {prev[:16]}…")
        elif env.recorded_at < last_time:
            fold.fail(c.seq, "time-reversed", f"recorded_at {env.recorded_at} < {last_time}")
        elif (refusal := fold.registry.check(env)) is not None:
            fold.fail(c.seq, refusal.reason, refusal.detail)
        elif c.signature_ok is False or (c.signature_ok is None and c.seq > skip):
            fold.fail(c.seq, "bad-signature", f"signature does not verify with key {env.signer}")
            # A forged body has a forged id: the next event's link to it proves nothing more.
            expected_seq, prev, head = c.seq + 1, None, c.id
            continue
        else:
            fold.registry.apply(env)
            if env.type == "LedgerOpened":
                fold.opened(env)
            elif env.type == "CheckpointRecorded":
                fold.recorded_checkpoint(env)
        expected_seq, prev, last_time, head = c.seq + 1, c.id, max(last_time, env.recorded_at), c.id
    if trusted is not None:
        fold.check_trusted(count)
    fold.failures.sort(key=lambda f: f.seq)
    result = VerificationResult(
        str(ledger),
        count,
        head,
        fold.tree.range.root().hex(),
        tuple(fold.failures),
        tuple(fold.late),
        fold.checkpoints,
    )
    return result, fold.tree.levels


_TYPE_AT_END = re.compile(rb'"type":"([A-Za-z0-9]+)","v":[0-9]+}\Z')


def bundle_topic(entry: bytes) -> str | None:
    """The type of a canonical entry, read off its last members (``type`` and ``v`` sort
    last) without parsing it; None when the bytes do not end that way."""
    m = _TYPE_AT_END.search(entry)
    return m.group(1).decode() if m else None


def verify_ledger(
    store: Store,
    ledger: UUID,
    *,
    workers: int | None = None,
    trusted: TrustedCheckpoint | None = None,
    cosigners: Sequence[PublicKey] | None = None,
) -> VerificationResult:
    """Verify a ledger in its store, and that the store's tree nodes are the rebuilt tree.

    ``cosigners`` as for ``verify_rows``."""
    last = store.last(ledger)
    size = last.seq if last else 0
    result, levels = _verify(
        paged(store.read(ledger)),
        ledger,
        size_hint=size,
        workers=workers,
        trusted=trusted,
        cosigners=cosigners,
    )
    if result.ok:
        bad = _first_bad_node(store.node_pages(ledger), levels)
        if bad is not None:
            failure = Failure(result.events, "stored-tree-mismatch", bad)
            return dataclasses.replace(result, failures=(failure,))
        found = _first_bad_personal(store, ledger)
        if found is not None:
            return dataclasses.replace(result, failures=(found,))
    return result


def _first_bad_personal(store: Store, ledger: UUID) -> Failure | None:
    """The clear personal values kept beside the ledger must open their signed commitments, and
    none may outlive its recorded redaction. (They are outside the signed bytes and the tree:
    this is what vouches for them.)"""
    rows = store.read_topics(ledger, [personal.REDACTION])
    redacted = personal.redactions(parse_entry(row.entry).envelope for row in rows)
    held = store.personal(ledger)
    for start in range(0, len(held), 500):
        batch = held[start : start + 500]
        payloads = {
            r.seq: parse_entry(r.entry).envelope.payload
            for r in store.rows(ledger, sorted({h[0] for h in batch}))
        }
        for seq, name, salt, value in batch:
            if (seq, name) in redacted:
                return Failure(
                    seq,
                    "not-erased",
                    f"{name} was redacted at event {redacted[(seq, name)]}, yet its clear value "
                    "is still stored",
                )
            if not personal.matches(
                payloads.get(seq, {}).get(name), personal.Held(name, salt, value)
            ):
                return Failure(
                    seq,
                    "personal-data-mismatch",
                    f"the stored clear value of {name} does not open the signed commitment",
                )
    return None


def _first_bad_node(
    stored: Iterable[list[tuple[int, int, bytes]]], levels: list[bytearray]
) -> str | None:
    """Compare the store's tree nodes, pages of them by level then index, with the rebuilt
    tree's: a page of one level's consecutive nodes at once, else node by node."""
    seen = 0
    for page in stored:
        (level, first, _), (last_level, last, _) = page[0], page[-1]
        seen += len(page)
        if (
            level == last_level < len(levels)
            and last - first + 1 == len(page)
            and b"".join([node[2] for node in page]) == levels[level][32 * first : 32 * last + 32]
        ):
            continue
        for level, idx, got in page:
            want = levels[level][32 * idx : 32 * idx + 32] if level < len(levels) else b""
            if got != want:
                return f"stored node ({level}, {idx}) is {bytes(got).hex()}, the entries give " + (
                    want.hex() or "no such node"
                )
    expected = sum(len(hashes) for hashes in levels) // 32
    if seen != expected:
        size = len(levels[0]) // 32
        return f"the store holds {seen} tree nodes, a tree of {size} leaves has {expected}"
    return None
