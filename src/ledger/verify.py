"""Verification of a whole ledger, from its store or from an exported bundle.

Checks every entry canonical and well-formed, sequence numbers contiguous, the hash chain
unbroken, recorded-at never decreasing, each signer enrolled, not revoked and holding a role
allowed for the type, each Ed25519 signature true; rebuilds the RFC 6962 tree and checks every
checkpoint recorded in the ledger against it; and, given a trusted checkpoint, proves the ledger
an append-only extension of it.

The ledger is streamed a page at a time. Worker processes, one a core, parse each page, check
its signatures (the cost) and hash its leaves; this process folds the signer registry, the links
and the tree, in order. A page whose events need nothing from before it (``_Page``: no registry,
genesis or checkpoint event, nothing wrong) comes back whole, with its subtree hashed: the fold
checks its first link and its signers' rights once and copies the rest, a few array copies an
event, so it keeps up with many cores. Any other page is folded event by event, the reference
path (one worker is nothing else).
Memory grows by ~70 bytes an event (the rebuilt tree's nodes, ~64 bytes; effective date and
type, 6), not by the entries.
With a trusted checkpoint of size N, events 1..N-1 are only hashed (signer and checkpoint events
are still read, for the registry and the origin): the tree rebuilt from their bytes must hash to
the trusted root, which proves they are the events the trusted party already audited. An audit
from a trusted checkpoint thus costs a hash an old event and a full check a new one.
An audit that passed can also leave a ``Resume``: the right edge of the tree it rebuilt, the
chain's head, the signer events and what checkpoints covered. Started from it, verification
does not read the events before it at all, and costs the new events only.
"""

from __future__ import annotations

import dataclasses
import os
import re
from array import array
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import date
from typing import Any, NamedTuple, TypeVar
from uuid import UUID

from ledger import canonical, checkpoint, merkle, note, personal
from ledger.envelope import SIGNING_CONTEXT, EntryError, Envelope, parse_entry
from ledger.keys import PublicKey, key_id, verify_signature
from ledger.signers import REGISTRY_TYPES, Refusal, Registry, public_key_of
from ledger.store import Store

T = TypeVar("T")
# A stored event as read: seq, type (None where the source has no type column), entry bytes.
Stored = tuple[int, str | None, bytes]

CHUNK = 256  # a power of two: a full page is a perfect subtree, which its worker hashes
INLINE_BELOW = 4000  # a pool costs more than it saves on small ledgers
MAX_FAILURES = 1000
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
class Resume:
    """Where a passing verification ended, with all that checking the events after it needs
    from those before: a later run starts here without reading them (``auditstate`` saves it).

    Nothing in it is proven by the ledger: it is what the auditor found, and as trusted as the
    place the auditor keeps it."""

    size: int  # events 1..size were verified
    frontier: tuple[bytes, ...]  # their tree's right edge (``merkle.CompactRange.roots``)
    head: str  # event ``size``'s id
    recorded_at: str  # the latest recorded_at
    registry: tuple[bytes, ...]  # the entries of LedgerOpened and every signer event, in order
    covered: tuple[int, int] | None  # (checkpoint size, last year covered), the widest
    checkpoints: int  # the checkpoints recorded in events 1..size
    late_entries: tuple[LateEntry, ...]  # those found in events 1..size

    @property
    def root(self) -> bytes:
        return merkle.fold_subtrees(self.frontier)


class ResumeError(ValueError):
    """A ``Resume`` that cannot be a passing verification's: its signer events do not replay."""


class NeedsHistory(Exception):
    """Raised by a fold started from a ``Resume`` that meets a check needing events before it
    (a checkpoint of a smaller size): verify again, reading them."""


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
    # Where a later run may start from these events; None when they fail. A check made after
    # (the store's tree, a bundle's header) may still fail the result: ask ``ok`` first.
    resume: Resume | None = field(default=None, compare=False, repr=False)

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
    entry: bytes = b""  # a signer event's bytes, which a ``Resume`` keeps


def _check_rows(rows: list[Stored], keys: dict[str, bytes], trusted_upto: int) -> list[_Checked]:
    """Parse rows, hash them into leaves and check their signatures against ``keys``.

    ``keys`` (key id → raw public key) is self-certifying, since ids are hashes of the keys, so
    an untrusted map cannot make a false signature pass; whether the key was *allowed* is
    decided later, in order. A ``None`` topic (bundles have no type column) is not compared.
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
        kept = data if env.type in REGISTRY_TYPES else b""
        append(_Checked(seq, env, entry.id, leaf, ok, error, None, kept))
    return out


class _Page(NamedTuple):
    """A worker's verdict on a page whose events all passed every check that needs nothing from
    before the page: well-formed, signature true, stored and numbered in sequence, each linked
    to the one before, time never reversed, none a registry, genesis or checkpoint event (the
    only ones that change what the fold checks against). The fold then checks the page's first
    link and its signers' rights once, and takes the page whole: its per-event work is then a
    few array copies, so it keeps up with many cores."""

    first: Envelope  # payloads emptied, here and in ``signers``
    head: str  # the last event's id
    last_time: str  # the last event's recorded_at, the latest
    signers: tuple[Envelope, ...]  # the first event of each (signer, type) pair
    names: tuple[str, ...]  # the page's types
    types: bytes  # array "H": an event's index in ``names``
    effective: bytes  # array "I": an event's effective date, as an ordinal
    # The leaf hashes joined; for a power-of-two page, every level of its subtree above too.
    levels: list[bytes]


class _Hashed(NamedTuple):
    """A worker's verdict on a page inside a trusted prefix, only hashed (``_check_rows``): the
    fold takes it whole, as it would take each event, and the trusted root proves it."""

    last: int  # the last event's seq
    names: tuple[str, ...]  # as in _Page
    types: bytes
    effective: bytes
    levels: list[bytes]


Job = tuple[list[Stored], dict[str, bytes], int]
Verdict = _Page | _Hashed | list[_Checked]


def _check_page(job: Job, ledger: str) -> Verdict:
    """A worker's task: a page's verdict, as a whole (``_Page``, ``_Hashed``) when it can be,
    else event by event with the payloads the fold does not read emptied, to keep the pipes
    thin."""
    checked = _check_rows(*job)
    page = _summary(checked, ledger, job[2]) or _hashed(checked)
    if page is not None:
        return page
    return [
        c._replace(envelope=c.envelope._replace(payload={}))
        if c.envelope is not None and c.envelope.type not in _PAYLOAD_TYPES
        else c
        for c in checked
    ]


def _summary(checked: list[_Checked], ledger: str, trusted_upto: int) -> _Page | None:
    """The page as a whole, or None when any event in it needs the fold's eye."""
    first = checked[0].envelope if checked else None
    if first is None or checked[0].seq <= max(trusted_upto, 1):
        return None
    pairs: dict[tuple[str, str], Envelope] = {}
    events: list[tuple[str, str]] = []
    seq, prev, time = checked[0].seq, first.prev, ""
    for c in checked:
        env = c.envelope
        if (
            env is None
            or c.error is not None
            or c.signature_ok is not True
            or c.seq != seq
            or env.seq != seq
            or env.ledger != ledger
            or env.prev != prev
            or env.recorded_at < time
            or env.type in _PAYLOAD_TYPES
        ):
            return None
        if (env.signer, env.type) not in pairs:
            pairs[env.signer, env.type] = env._replace(payload={})
        events.append((env.type, env.effective))
        seq, prev, time = seq + 1, c.id, env.recorded_at
    return _Page(
        first._replace(payload={}), prev, time, tuple(pairs.values()), *_whole(checked, events)
    )


def _hashed(checked: list[_Checked]) -> _Hashed | None:
    """The page as a whole if every event in it is only hashed, else None."""
    events = [c.trusted for c in checked if c.trusted is not None]
    if not checked or len(events) < len(checked):
        return None
    return _Hashed(checked[-1].seq, *_whole(checked, events))


def _whole(
    checked: list[_Checked], events: list[tuple[str, str]]
) -> tuple[tuple[str, ...], bytes, bytes, list[bytes]]:
    """What the fold takes of a whole page (``_Fold._take``), given its events' (type,
    effective date): the types as indexes in a table of names, the dates as ordinals, and the
    leaves with their subtree."""
    names: dict[str, int] = {}
    types, effective = array("H"), array("I")
    for event_type, day in events:
        types.append(names.setdefault(event_type, len(names)))
        effective.append(_ordinal(day))
    return tuple(names), types.tobytes(), effective.tobytes(), _levels(checked)


def _ordinal(day: str) -> int:
    try:
        return date.fromisoformat(day).toordinal()
    except ValueError:
        return date.min.toordinal()  # a damaged prefix fails on its root anyway


def _levels(checked: list[_Checked]) -> list[bytes]:
    """A page's leaves, joined, with its perfect subtree's levels above when it has a power of
    two of them."""
    leaves = b"".join([c.leaf for c in checked])
    return merkle.subtree_levels(leaves) if len(checked).bit_count() == 1 else [leaves]


def _harvest_keys(rows: Iterable[Stored], keys: dict[str, bytes]) -> None:
    # Key material must reach the workers before the events it verifies; enrolments are rare,
    # so reading them here, ahead of the pool, is cheap.
    for _, topic, entry in rows:
        if topic in REGISTRY_TYPES or topic == "LedgerOpened":
            try:
                raw = public_key_of(canonical.decode(entry).get("payload", {}))
            except (canonical.CanonicalError, AttributeError):
                continue
            if raw is not None:
                keys[key_id(raw)] = raw


def _verdicts(
    pages: Iterable[Sequence[Stored]],
    workers: int,
    trusted_upto: int,
    ledger: str,
    keys: dict[str, bytes],
) -> Iterator[tuple[Verdict, Job]]:
    """Each page's verdict, in order, with the job that gave it (to redo a page event by event
    when the fold cannot take it whole). ``keys``: those enrolled before the first page, grown
    as pages enrol more. One worker: event by event, the reference."""

    def job(page: Sequence[Stored]) -> Job:
        _harvest_keys(page, keys)
        # Plain tuples, whatever the source gave (a bundle's Rows pickle at a quarter the speed).
        return [(seq, topic, entry) for seq, topic, entry in page], dict(keys), trusted_upto

    if workers <= 1:
        for page in pages:
            task = job(page)
            yield _check_rows(*task), task
        return
    # Processes, not threads: parsing holds the GIL, and threads lost 10-15 % to it even on two
    # cores (bench/RESULTS.md). A worker's verdicts are mostly whole pages, so the pipes stay
    # thin and the fold (this process) keeps up.
    with ProcessPoolExecutor(max_workers=workers) as pool:
        window: deque[tuple[Future[Verdict], Job]] = deque()
        for page in pages:
            task = job(page)
            window.append((pool.submit(_check_page, task, ledger), task))
            if len(window) > 2 * workers:
                future, task = window.popleft()
                yield future.result(), task
        while window:
            future, task = window.popleft()
            yield future.result(), task


def paged(rows: Iterable[T], size: int = CHUNK, after: int = 0) -> Iterator[list[T]]:
    """Group rows into pages of ``size`` (by default, the pages the workers take). Rows that
    follow ``after`` others: the first page is cut short so that the next ones start at a
    multiple of ``size`` (where their subtrees sit whole)."""
    page: list[T] = []
    full = size - after % size
    for row in rows:
        page.append(row)
        if len(page) == full:
            yield page
            page, full = [], size
    if page:
        yield page


def _split(pages: Iterable[Sequence[T]], size: int) -> Iterator[Sequence[T]]:
    """Pages cut into pages of ``size`` (the store reads larger ones: fewer round trips)."""
    for page in pages:
        for at in range(0, len(page), size):
            yield page[at : at + size]


class _Tree:
    """The tree rebuilt from the leaves: every complete subtree's hash, level by level (as the
    store keeps them), so a root at any past size is O(log n) lookups.

    Started from a compact range (a ``Resume``'s), it keeps that range's nodes and those made
    after it, which is all the roots at its size and beyond need: level ``l`` then starts at
    node ``base[l]``."""

    def __init__(self, start: merkle.CompactRange | None = None) -> None:
        self.range = start or merkle.CompactRange()
        size, roots = self.range.size, list(self.range.roots)
        self.levels: list[bytearray] = []
        self.base: list[int] = []
        for level in range(max(size.bit_length(), 1)):
            first = size >> level
            edge = first & 1  # the range has a subtree of this height, node ``first - 1``
            self.levels.append(bytearray(roots.pop() if edge else b""))
            self.base.append(first - edge)

    def append(self, leaf: bytes) -> None:
        for level, _, node in self.range.append(leaf):
            self._keep(level, node)

    def extend(self, levels: list[bytes]) -> None:
        """Append a page's leaves (``levels[0]``); given the levels of their perfect subtree
        above and when it sits where they fall, take its nodes as they are."""
        height = len(levels) - 1
        if height == 0 or self.range.size % (1 << height):
            leaves = levels[0]
            for at in range(0, len(leaves), 32):
                self.append(leaves[at : at + 32])
            return
        for level, hashes in enumerate(levels):
            self._keep(level, hashes)
        for level, _, node in self.range.append_subtree(height, levels[-1])[1:]:
            self._keep(level, node)

    def _keep(self, level: int, hashes: bytes) -> None:
        if level == len(self.levels):
            self.levels.append(bytearray())
            self.base.append(0)
        self.levels[level] += hashes

    def root(self, size: int) -> bytes:
        """The root at ``size``, which must not be below the size the tree started from."""
        nodes = []
        for level, idx in merkle.perfect_subtrees(0, size):
            at = 32 * (idx - self.base[level])
            nodes.append(bytes(self.levels[level][at : at + 32]))
        return merkle.fold_subtrees(nodes)


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
    skip: int = 0  # the trusted prefix: events 1..skip-1 are only hashed
    base: int = 0  # events before the fold started (from a Resume), which it never saw
    kept: list[bytes] = field(default_factory=list)  # the signer events' entries, for a Resume
    # Where the walk is: the next seq due, the id it must link to (None: nothing to check it
    # against), the latest recorded_at, the last id, the events seen.
    expected_seq: int = 1
    prev: str | None = "0" * 64
    last_time: str = ""
    head: str = "0" * 64
    count: int = 0
    ledger_text: str = field(init=False)

    def __post_init__(self) -> None:
        self.ledger_text = str(self.ledger)  # compared with every event's

    def fail(self, seq: int, reason: str, detail: str) -> None:
        if len(self.failures) < MAX_FAILURES:
            self.failures.append(Failure(seq, reason, detail))

    def start(self, resume: Resume) -> None:
        """Start after ``resume``: replay its signer events, checking each one's place, rights
        and signature as the fold did; raises ``ResumeError`` when one fails."""
        last = 0
        for data in resume.registry:
            last = self._replay(data, last, resume.size)
        if not self.origin:
            raise ResumeError("no LedgerOpened event among the signer events")
        self.tree = _Tree(merkle.CompactRange(resume.size, resume.frontier))
        self.base = self.count = resume.size
        self.expected_seq = resume.size + 1
        self.prev = self.head = resume.head
        self.last_time = resume.recorded_at
        self.covered, self.checkpoints = resume.covered, resume.checkpoints
        self.late = list(resume.late_entries)
        self.kept = list(resume.registry)

    def _replay(self, data: bytes, after: int, size: int) -> int:
        """Fold one signer event of a ``Resume`` (among events ``after + 1``..``size``),
        checked as ``event`` checks it; returns its seq, or raises ``ResumeError``."""
        try:
            entry = parse_entry(data)
        except EntryError as e:
            raise ResumeError(f"a signer event is not a well-formed entry: {e}") from None
        env = entry.envelope
        signer = self.registry.signers.get(env.signer)
        public = public_key_of(env.payload) if env.seq == 1 else signer and signer.public_key
        message = SIGNING_CONTEXT + entry.envelope_bytes
        refusal = self.registry.check(env)
        if refusal is None and not after < env.seq <= size:
            refusal = Refusal("out-of-order", f"seq {env.seq}, after {after}, of {size}")
        elif refusal is None and (env.type not in REGISTRY_TYPES or env.ledger != self.ledger_text):
            refusal = Refusal("not-a-signer-event", f"{env.type} of ledger {env.ledger}")
        elif refusal is None and not (
            public and verify_signature(public, entry.signature, message)
        ):
            refusal = Refusal("bad-signature", f"signature does not verify with key {env.signer}")
        if refusal is not None:
            raise ResumeError(f"signer event {env.seq}: {refusal.reason}: {refusal.detail}")
        self.registry.apply(env)
        if env.type == "LedgerOpened":
            self.opened(env)
        return env.seq

    def resume(self) -> Resume:
        """Where the fold is, for a later one to start from (meaningful once it passed)."""
        return Resume(
            self.count,
            self.tree.range.roots,
            self.head,
            self.last_time,
            tuple(self.kept),
            self.covered,
            self.checkpoints,
            tuple(self.late),
        )

    def cosigner_keys(self) -> list[PublicKey]:
        if self.cosigners is not None:
            return list(self.cosigners)
        return checkpoint.council_keys(self.registry.signers.values())

    def log_keys(self) -> list[bytes]:
        return checkpoint.log_keys(self.registry.signers.values())

    def note_event(self, seq: int, event_type: str, effective: str) -> None:
        """Bookkeeping every event gets, in a trusted prefix too: its effective date and type,
        and whether a checkpoint already covered its year (a late entry)."""
        day = _ordinal(effective)
        self._remember(event_type, day)
        if self.covered is not None:
            self._late_from(seq, (day,), self.covered)

    def event(self, c: _Checked) -> None:
        """Fold one event's verdict, in order."""
        self.count += 1
        self.tree.append(c.leaf)
        if c.trusted is not None:
            # The links of a trusted prefix are proven at its end, by the root.
            self.note_event(c.seq, *c.trusted)
            self.expected_seq, self.prev = c.seq + 1, None
            return
        env = c.envelope
        if env is None or c.error:
            assert c.error is not None
            self.fail(c.seq, *c.error)
            # An unparsable entry has no trustworthy id: do not blame its successor's link too.
            self.expected_seq, self.prev = c.seq + 1, c.id if env else None
            if env is None:
                self.note_unreadable()
            else:
                self.note_event(env.seq, env.type, env.effective)
            return
        self.note_event(env.seq, env.type, env.effective)
        if c.seq != self.expected_seq:
            self.fail(c.seq, "sequence-gap", f"expected event {self.expected_seq}, found {c.seq}")
        elif env.seq != c.seq:
            self.fail(c.seq, "seq-mismatch", f"stored at {c.seq} but the entry says seq {env.seq}")
        elif env.ledger != self.ledger_text:
            self.fail(
                c.seq, "wrong-ledger", f"entry belongs to ledger {env.ledger}, not {self.ledger}"
            )
        elif self.prev is not None and env.prev != self.prev:
            self.fail(
                c.seq, "chain-broken", f"prev is {env.prev[:16]}…, expected {self.prev[:16]}…"
            )
        elif env.recorded_at < self.last_time:
            self.fail(c.seq, "time-reversed", f"recorded_at {env.recorded_at} < {self.last_time}")
        elif (refusal := self.registry.check(env)) is not None:
            self.fail(c.seq, refusal.reason, refusal.detail)
        elif c.signature_ok is False or (c.signature_ok is None and c.seq > self.skip):
            self.fail(c.seq, "bad-signature", f"signature does not verify with key {env.signer}")
            # A forged body has a forged id: the next event's link to it proves nothing more.
            self.expected_seq, self.prev, self.head = c.seq + 1, None, c.id
            return
        else:
            self.registry.apply(env)
            if c.entry:
                self.kept.append(c.entry)
            if env.type == "LedgerOpened":
                self.opened(env)
            elif env.type == "CheckpointRecorded":
                self.recorded_checkpoint(env)
        self.expected_seq, self.prev, self.head = c.seq + 1, c.id, c.id
        self.last_time = max(self.last_time, env.recorded_at)

    def page(self, page: _Page) -> bool:
        """Fold a page whole, if its first event links on and its signers may sign what they
        did; False, folding nothing, when not (then it goes event by event, to say why)."""
        first = page.first
        if (
            first.seq != self.expected_seq
            or (self.prev is not None and first.prev != self.prev)
            or first.recorded_at < self.last_time
            or any(self.registry.check(env) is not None for env in page.signers)
        ):
            return False
        size = len(page.levels[0]) // 32
        self._take(page, first.seq)
        self.expected_seq = first.seq + size
        self.prev = self.head = page.head
        self.last_time = page.last_time
        return True

    def hashed(self, page: _Hashed) -> None:
        """Fold a page of a trusted prefix whole, as ``event`` folds each of its events."""
        self._take(page, page.last + 1 - len(page.levels[0]) // 32)
        self.expected_seq, self.prev = page.last + 1, None

    def _take(self, page: _Page | _Hashed, first: int) -> None:
        """A whole page's leaves, types and effective dates into the fold, its first event
        being ``first``."""
        self.count += len(page.levels[0]) // 32
        self.tree.extend(page.levels)
        ours = [self.type_names.setdefault(name, len(self.type_names)) for name in page.names]
        types = array("H")
        types.frombytes(page.types)
        self.types.extend(array("H", [ours[t] for t in types]))
        effective = array("I")
        effective.frombytes(page.effective)
        self.effective.extend(effective)
        if self.covered is not None:
            self._late_from(first, effective, self.covered)

    def _late_from(self, first: int, effective: Sequence[int], covered: tuple[int, int]) -> None:
        """Note the late entries, by the checkpoint ``covered`` (its size, the last year it
        closed), among events ``first``, ``first + 1``... of these effective dates (ordinals)."""
        last_day = date(covered[1], 12, 31).toordinal()
        for i, day in enumerate(effective):
            if day <= last_day:
                self._late(first + i, covered)

    def note_unreadable(self) -> None:
        self._remember("?", date.min.toordinal())

    def _remember(self, event_type: str, effective: int) -> None:
        self.types.append(self.type_names.setdefault(event_type, len(self.type_names)))
        self.effective.append(effective)

    def _late(self, seq: int, covered: tuple[int, int]) -> None:
        names = {i: name for name, i in self.type_names.items()}
        at = seq - 1 - self.base
        day = date.fromordinal(self.effective[at])
        self.late.append(
            LateEntry(seq, names[self.types[at]], day.isoformat(), covered[0], covered[1])
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
        if cp.size < self.base:
            raise NeedsHistory(f"event {env.seq} records a checkpoint of {cp.size} events")
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
        # Events cp.size + 1 .. env.seq, this one included (noted before its checks).
        since = self.effective[cp.size - self.base : env.seq - self.base]
        self._late_from(cp.size + 1, since, covered)
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

    def check_extends(self, resume: Resume) -> None:
        """At the end: the ledger extends what ``resume`` was left by."""
        size = resume.size
        if self.count < size:
            self.fail(
                self.count + 1,
                "truncated",
                f"the ledger has {self.count} events; the audit state covers {size}",
            )
        elif self.tree.root(size) != resume.root:
            self.fail(
                size,
                "state-mismatch",
                f"events 1..{size} hash to root {self.tree.root(size).hex()}, the audit state "
                f"says {resume.root.hex()}: history was rewritten or forked since",
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
    pages: Iterable[Sequence[Stored]],
    ledger: UUID,
    *,
    size_hint: int,
    workers: int | None = None,
    trusted: TrustedCheckpoint | None = None,
    cosigners: Sequence[PublicKey] | None = None,
    after: Resume | None = None,
    extends: Resume | None = None,
) -> VerificationResult:
    """Verify the events of ``ledger`` given in order, a page at a time; when they pass, the
    result's ``resume`` says where a later run may start.

    ``cosigners``: the public keys whose cosignatures count (the Council's own, for an offline
    audit); None takes the keys enrolled in the ledger with the ``council`` role.
    ``workers`` defaults to every core for ledgers of ``INLINE_BELOW`` events or more.
    ``after``: ``pages`` starts at event ``after.size + 1``; the events before are taken as
    ``after`` says, unread. Raises ``NeedsHistory`` when a check needs them (a checkpoint,
    recorded or trusted, of fewer events), and ``ResumeError`` for an ``after`` no passing
    verification can have left.
    ``extends``: ``pages`` starts at event 1, and the events up to ``extends.size`` must be
    those it was left by (its root, else ``state-mismatch``); they are then only hashed.
    """
    return _verify(
        pages,
        ledger,
        size_hint=size_hint,
        workers=workers,
        trusted=trusted,
        cosigners=cosigners,
        after=after,
        extends=extends,
    )[0]


def _verify(
    pages: Iterable[Sequence[Stored]],
    ledger: UUID,
    *,
    size_hint: int,
    workers: int | None = None,
    trusted: TrustedCheckpoint | None = None,
    cosigners: Sequence[PublicKey] | None = None,
    after: Resume | None = None,
    extends: Resume | None = None,
) -> tuple[VerificationResult, _Fold]:
    if workers is None:
        workers = (os.cpu_count() or 1) if size_hint >= INLINE_BELOW else 1
    fold = _Fold(ledger, trusted, cosigners, skip=trusted_size(trusted))
    if extends is not None:
        fold.skip = max(fold.skip, extends.size)
    if after is not None:
        fold.start(after)
        if 0 < fold.skip < after.size:
            raise NeedsHistory(f"the trusted checkpoint covers {fold.skip} events")
    keys = {signer.key_id: signer.public_key for signer in fold.registry.signers.values()}
    for verdict, job in _verdicts(pages, workers, fold.skip, str(ledger), keys):
        if isinstance(verdict, _Hashed):
            fold.hashed(verdict)
            continue
        if isinstance(verdict, _Page):
            if fold.page(verdict):
                continue
            verdict = _check_rows(*job)
        for c in verdict:
            fold.event(c)
    if trusted is not None:
        fold.check_trusted(fold.count)
    if extends is not None:
        fold.check_extends(extends)
    fold.failures.sort(key=lambda f: f.seq)
    result = VerificationResult(
        str(ledger),
        fold.count,
        fold.head,
        fold.tree.range.root().hex(),
        tuple(fold.failures),
        tuple(fold.late),
        fold.checkpoints,
        fold.resume() if not fold.failures else None,
    )
    return result, fold


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
    result, fold = _verify(
        _split(store.pages(ledger, 8 * CHUNK), CHUNK),
        ledger,
        size_hint=size,
        workers=workers,
        trusted=trusted,
        cosigners=cosigners,
    )
    if result.ok:
        bad = _first_bad_node(store.node_pages(ledger), fold.tree.levels)
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
                return f"stored node ({level}, {idx}) is {got.hex()}, the entries give " + (
                    want.hex() or "no such node"
                )
    expected = sum(len(hashes) for hashes in levels) // 32
    if seen != expected:
        size = len(levels[0]) // 32
        return f"the store holds {seen} tree nodes, a tree of {size} leaves has {expected}"
    return None
