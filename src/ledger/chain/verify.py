"""Verification of a whole ledger, from its store or from an exported bundle.

Checks every entry canonical and well-formed, then each event by every rule of the rulebook
(``rulebook``: its link, its payload, its signer's rights, its signature, what it says of
earlier events), rebuilds the RFC 6962 tree and checks every checkpoint recorded in the ledger
against it; and, given a trusted checkpoint, proves the ledger an append-only extension of it.
What decides how an event is read is its type as its signed bytes say (``envelope.type_of``),
never a store's editable type column, which is only compared with it.

The ledger is streamed a page at a time. Worker processes, one a core, parse each page, check
its signatures (the cost) and hash its leaves; this process folds the signer registry, the links
and the tree, in order. A page whose events need nothing from before it (``_Page``: no registry,
genesis, checkpoint or other event the rules read again or that speaks of earlier ones, nothing
wrong) comes back whole, with its subtree hashed: the fold checks its first link and its
signers' rights once and copies the rest, a few array copies an event, so it keeps up with many
cores. Any other page is folded event by event, the reference path (one worker is nothing
else).
Memory grows by ~70 bytes an event (the rebuilt tree's nodes, ~64 bytes; effective date and
type, 6), not by the entries.
With a trusted checkpoint of size N, events 1..N-1 are only hashed, their payloads unchecked
(the events the fold reads whole are still read and judged: signer and checkpoint events,
corrections, what later rules read): the tree rebuilt from their bytes must hash to the trusted
root, which proves they are the events the trusted party already audited. An audit from a
trusted checkpoint thus costs a hash an old event and a full check a new one; it is as good as
the trusted party's own verification (a Council cosignature is given only after one).
An audit that passed can also leave a ``Resume``: the right edge of the tree it rebuilt, the
chain's head, the signer events and what checkpoints covered. Started from it, verification
does not read the events before it at all, and costs the new events only; when a new event
refers to one before it (a correction of an old figure, say), it raises ``NeedsHistory`` and the
caller reads them after all.
"""

from __future__ import annotations

import dataclasses
import os
import time
from array import array
from collections import deque
from collections.abc import Collection, Iterable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import date
from typing import Any, NamedTuple, TypeVar
from uuid import UUID

from ledger.core import canonical, catalogue, personal, rulebook
from ledger.core.envelope import SIGNING_CONTEXT, EntryError, Envelope, parse_entry, type_of
from ledger.core.keys import PublicKey, key_id, verify_signature
from ledger.core.rulebook import Head
from ledger.core.signers import Refusal, Registry, public_key_of
from ledger.errors import IntegrityError
from ledger.store import Store
from ledger.store.pages import CHUNK, paged
from ledger.tlog import checkpoint, merkle, note

T = TypeVar("T")
# A stored event as read: seq, type (None where the source has no type column), entry bytes.
Stored = tuple[int, str | None, bytes]

INLINE_BELOW = 4000  # a pool costs more than it saves on small ledgers
MAX_FAILURES = 1000


def _read_whole(name: str) -> bool:
    kind = catalogue.BY_NAME[name].kind
    return (
        kind in ("genesis", "signer", "checkpoint")
        or len(catalogue.versions(name)) > 1
        or any(rulebook.needs_context(name, v) for v in catalogue.versions(name))
    )


# Types whose events the fold reads whole, payload and all: those that change what the fold
# checks against (signers, checkpoints), that speak of earlier events, that later rules read
# again, and those with several schema versions (a later correction needs each one's). Workers
# strip the others' payloads to keep the pipes thin; in a trusted prefix they are only hashed.
WHOLE = frozenset(t.name for t in catalogue.EVENT_TYPES if _read_whole(t.name))


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
    problem: Refusal | None = None  # what the rulebook finds in the payload alone
    # Inside a trusted prefix, only hashed: (type, effective date) read off the bytes.
    trusted: tuple[str, str] | None = None
    entry: bytes = b""  # a signer event's bytes, which a ``Resume`` keeps


def _check_rows(rows: list[Stored], keys: dict[str, bytes], trusted_upto: int) -> list[_Checked]:
    """Parse rows, hash them into leaves, check their payloads (``rulebook.check_payload``) and
    their signatures against ``keys``.

    ``keys`` (key id → raw public key) is self-certifying, since ids are hashes of the keys, so
    an untrusted map cannot make a false signature pass; whether the key was *allowed* is
    decided later, in order. A ``None`` topic (bundles have no type column) is not compared.
    """
    out: list[_Checked] = []
    append = out.append
    for seq, topic, data in rows:
        leaf = merkle.leaf_hash(data)
        signed_type = type_of(data)
        mismatch = (
            None
            if topic is None or topic == signed_type
            else ("topic-mismatch", f"stored as {topic!r} but the entry says {signed_type!r}")
        )
        if seq < trusted_upto and signed_type is not None and signed_type not in WHOLE:
            # Covered by the trusted root, which the fold checks: hashing is all it takes.
            # The effective date opens every canonical entry: {"effective":"YYYY-MM-DD",...
            effective = data[14:24].decode("ascii", "replace")
            append(_Checked(seq, None, "", leaf, None, mismatch, None, (signed_type, effective)))
            continue
        try:
            entry = parse_entry(data)
        except EntryError as e:
            append(_Checked(seq, None, "", leaf, None, (e.reason, e.detail)))
            continue
        env = entry.envelope
        public = keys.get(env.signer)
        ok = (
            None
            if public is None or seq <= trusted_upto
            else verify_signature(public, entry.signature, SIGNING_CONTEXT + entry.envelope_bytes)
        )
        problem = rulebook.check_payload(env)
        kept = data if env.type in catalogue.REGISTRY else b""
        append(_Checked(seq, env, entry.id, leaf, ok, mismatch, problem, None, kept))
    return out


class _Page(NamedTuple):
    """A worker's verdict on a page whose events all passed every check that needs nothing from
    before the page: well-formed, payload valid, signature true, stored and numbered in
    sequence, each linked to the one before, time never reversed, none of a type the fold reads
    whole (``WHOLE``), each at schema version 1. The fold then checks the page's first link and
    its signers' rights once, and takes the page whole: its per-event work is then a few array
    copies, so it keeps up with many cores."""

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
        if c.envelope is not None and c.envelope.type not in WHOLE
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
    # The page's own links; the fold checks its first against what came before.
    head = Head(checked[0].seq, first.prev, "")
    for c in checked:
        env = c.envelope
        if (
            env is None
            or c.error is not None
            or c.problem is not None
            or c.signature_ok is not True
            or env.type in WHOLE
            or env.schema != 1
            or rulebook.check_link(ledger, head, env, c.seq) is not None
        ):
            return None
        if (env.signer, env.type) not in pairs:
            pairs[env.signer, env.type] = env._replace(payload={})
        events.append((env.type, env.effective))
        head = Head(c.seq + 1, c.id, env.recorded_at)
    assert head.prev is not None
    return _Page(
        first._replace(payload={}),
        head.prev,
        head.recorded_at,
        tuple(pairs.values()),
        *_whole(checked, events),
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
    for _, _, entry in rows:
        if type_of(entry) in catalogue.REGISTRY:
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


def _split(pages: Iterable[Sequence[T]], size: int, after: int = 0) -> Iterator[Sequence[T]]:
    """Pages cut into pages of ``size`` (the store reads larger ones: fewer round trips), for
    rows that follow ``after`` others: realigned as ``paged`` aligns them."""
    if after % size:
        yield from paged((row for page in pages for row in page), size, after)
        return
    for page in pages:
        for at in range(0, len(page), size):
            yield page[at : at + size]


class Tree:
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

    def nodes(self, wanted: Sequence[merkle.Node]) -> dict[merkle.Node, bytes]:
        """:data:`merkle.Nodes` over the levels kept: nodes left of where the tree started
        (``base``) are not among them."""
        found = {}
        for level, idx in wanted:
            at = 32 * (idx - self.base[level])
            found[level, idx] = bytes(self.levels[level][at : at + 32])
        return found

    def root(self, size: int) -> bytes:
        """The root at ``size``, which must not be below the size the tree started from."""
        return merkle.root_at(size, self.nodes)


@dataclass
class _Memory(rulebook.Knowledge):
    """What the fold remembers of every event it saw, a few bytes each: its type and effective
    date (for references, corrections and late entries), its schema where it is not 1; and
    what the rulebook remembers of the events later rules read again."""

    base: int = 0  # events before the fold started (from a Resume), which it never saw
    types: array[int] = field(default_factory=lambda: array("H"))  # indexes in ``names``
    names: list[str] = field(default_factory=list)
    indexes: dict[str, int] = field(default_factory=dict)
    effective: array[int] = field(default_factory=lambda: array("I"))  # date ordinals
    schemas: dict[int, int] = field(default_factory=dict)

    def index(self, event_type: str) -> int:
        found = self.indexes.get(event_type)
        if found is None:
            found = self.indexes[event_type] = len(self.names)
            self.names.append(event_type)
        return found

    def note(self, seq: int, event_type: str, day: int, schema: int) -> None:
        self.types.append(self.index(event_type))
        self.effective.append(day)
        if schema != 1:
            self.schemas[seq] = schema

    def extend(self, names: Sequence[str], types: bytes, effective: bytes) -> None:
        """A whole page's types (indexes in its own ``names``) and effective dates."""
        ours = [self.index(name) for name in names]
        theirs = array("H")
        theirs.frombytes(types)
        self.types.extend(array("H", [ours[t] for t in theirs]))
        days = array("I")
        days.frombytes(effective)
        self.effective.extend(days)

    def type_at(self, seq: int) -> str:
        return self.names[self.types[seq - 1 - self.base]]

    def kind_of(self, seq: int) -> tuple[str, int] | None:
        if seq <= self.base:
            raise NeedsHistory(f"an event refers to event {seq}, which the audit state covers")
        if seq < 1 or seq - self.base > len(self.types):
            return None
        return self.type_at(seq), self.schemas.get(seq, 1)


@dataclass
class _Fold:
    """The sequential part of verification, event by event."""

    ledger: UUID
    trusted: TrustedCheckpoint | None
    # The auditor's keys: only their cosignatures close a year (late entries), and a trusted
    # checkpoint must be signed or cosigned by one. None: no key is trusted.
    cosigners: Sequence[PublicKey] | None
    now: int  # POSIX seconds: no cosignature of the trusted checkpoint may be dated later
    registry: Registry = field(default_factory=Registry)
    tree: Tree = field(default_factory=Tree)
    failures: list[Failure] = field(default_factory=list)
    late: list[LateEntry] = field(default_factory=list)
    origin: str = ""
    memory: _Memory = field(default_factory=_Memory)
    covered: tuple[int, int] | None = None  # (checkpoint size, last year covered), the widest
    checkpoints: int = 0
    skip: int = 0  # the trusted prefix: events 1..skip-1 are only hashed
    kept: list[bytes] = field(default_factory=list)  # the signer events' entries, for a Resume
    # What the next event must link to, the last event's id, the events seen.
    link: Head = rulebook.START
    head: str = "0" * 64
    count: int = 0
    ledger_text: str = field(init=False)

    def __post_init__(self) -> None:
        self.ledger_text = str(self.ledger)  # compared with every event's

    @property
    def base(self) -> int:
        return self.memory.base

    def fail(self, seq: int, reason: str, detail: str) -> None:
        if len(self.failures) < MAX_FAILURES:
            self.failures.append(Failure(seq, reason, detail))

    def refuse(self, seq: int, refusal: Refusal) -> None:
        self.fail(seq, refusal.reason, refusal.described())

    def start(self, resume: Resume) -> None:
        """Start after ``resume``: replay its signer events, checking each one's place, rights
        and signature as the fold did; raises ``ResumeError`` when one fails."""
        last = 0
        for data in resume.registry:
            last = self._replay(data, last, resume.size)
        if not self.origin:
            raise ResumeError("no LedgerOpened event among the signer events")
        self.tree = Tree(merkle.CompactRange(resume.size, resume.frontier))
        self.memory.base = self.count = resume.size
        self.link = Head(resume.size + 1, resume.head, resume.recorded_at)
        self.head = resume.head
        self.covered, self.checkpoints = resume.covered, resume.checkpoints
        self.late = list(resume.late_entries)
        self.kept = list(resume.registry)

    def _replay(self, data: bytes, after: int, size: int) -> int:
        """Fold one signer event of a ``Resume`` (among events ``after + 1``..``size``),
        checked as ``event`` checks it; returns its seq, or raises ``ResumeError``. Its order is
        its own check: the signer events of a Resume are not contiguous."""
        try:
            entry = parse_entry(data)
        except EntryError as e:
            raise ResumeError(f"a signer event is not a well-formed entry: {e}") from None
        env = entry.envelope
        signer = self.registry.signers.get(env.signer)
        public = public_key_of(env.payload) if env.seq == 1 else signer and signer.public_key
        message = SIGNING_CONTEXT + entry.envelope_bytes
        refusal = rulebook.check_payload(env) or self.registry.check(env)
        if refusal is None and not after < env.seq <= size:
            refusal = Refusal("out-of-order", f"seq {env.seq}, after {after}, of {size}")
        elif refusal is None and (
            env.type not in catalogue.REGISTRY or env.ledger != self.ledger_text
        ):
            refusal = Refusal("not-a-signer-event", f"{env.type} of ledger {env.ledger}")
        elif refusal is None and not (
            public and verify_signature(public, entry.signature, message)
        ):
            refusal = Refusal("bad-signature", f"signature does not verify with key {env.signer}")
        if refusal is not None:
            raise ResumeError(f"signer event {env.seq}: {refusal.reason}: {refusal.described()}")
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
            self.link.recorded_at,
            tuple(self.kept),
            self.covered,
            self.checkpoints,
            tuple(self.late_entries()),
        )

    def late_entries(self) -> list[LateEntry]:
        return sorted(self.late, key=lambda e: e.seq)

    def trust(self) -> frozenset[bytes]:
        """The raw keys the auditor trusts."""
        return frozenset(k.raw for k in self.cosigners or ())

    def note_event(self, seq: int, event_type: str, effective: str, schema: int = 1) -> None:
        """Bookkeeping every event gets, in a trusted prefix too: its type, effective date and
        schema, and whether a checkpoint already covered its year (a late entry)."""
        day = _ordinal(effective)
        self.memory.note(seq, event_type, day, schema)
        if self.covered is not None:
            self._late_from(seq, (day,), self.covered)

    def event(self, c: _Checked) -> None:
        """Fold one event's verdict, in order."""
        self.count += 1
        self.tree.append(c.leaf)
        if c.trusted is not None:
            # The links of a trusted prefix are proven at its end, by the root.
            self.note_event(c.seq, *c.trusted)
            if c.error is not None:
                self.fail(c.seq, *c.error)
            self.link = Head(c.seq + 1, None, self.link.recorded_at)
            return
        env = c.envelope
        if c.error is not None:
            # An unreadable entry, or (with an envelope) a type column that disagrees with it:
            # the event is then judged on its signed bytes all the same.
            self.fail(c.seq, *c.error)
        if env is None:
            # An unparsable entry has no trustworthy id: do not blame its successor's link too.
            self.link = Head(c.seq + 1, None, self.link.recorded_at)
            self.note_unreadable()
            return
        self.note_event(c.seq, env.type, env.effective, env.schema)
        refusal = (
            rulebook.check_link(self.ledger_text, self.link, env, c.seq)
            or c.problem
            or self.registry.check(env)
        )
        if refusal is None and (
            c.signature_ok is False or (c.signature_ok is None and c.seq > self.skip)
        ):
            self.fail(c.seq, "bad-signature", f"signature does not verify with key {env.signer}")
            # A forged body has a forged id: the next event's link to it proves nothing more.
            self.link = Head(c.seq + 1, None, self.link.recorded_at)
            self.head = c.id
            return
        if refusal is None and env.type in WHOLE and rulebook.needs_context(env.type, env.schema):
            refusal = rulebook.check_context(env, self.memory, self.registry)
        if refusal is not None:
            self.refuse(c.seq, refusal)
        else:
            self.registry.apply(env)
            self.memory.remember(env)
            if c.entry:
                self.kept.append(c.entry)
            if env.type == "LedgerOpened":
                self.opened(env)
            elif env.type == "CheckpointRecorded":
                self.recorded_checkpoint(env)
        self.link = Head(c.seq + 1, c.id, max(self.link.recorded_at, env.recorded_at))
        self.head = c.id

    def page(self, page: _Page) -> bool:
        """Fold a page whole, if its first event links on and its signers may sign what they
        did; False, folding nothing, when not (then it goes event by event, to say why)."""
        first = page.first
        if rulebook.check_link(self.ledger_text, self.link, first, first.seq) is not None or any(
            self.registry.check(env) is not None for env in page.signers
        ):
            return False
        size = len(page.levels[0]) // 32
        self._take(page, first.seq)
        self.link = Head(first.seq + size, page.head, page.last_time)
        self.head = page.head
        return True

    def hashed(self, page: _Hashed) -> None:
        """Fold a page of a trusted prefix whole, as ``event`` folds each of its events."""
        self._take(page, page.last + 1 - len(page.levels[0]) // 32)
        self.link = Head(page.last + 1, None, self.link.recorded_at)

    def _take(self, page: _Page | _Hashed, first: int) -> None:
        """A whole page's leaves, types and effective dates into the fold, its first event
        being ``first``."""
        self.count += len(page.levels[0]) // 32
        self.tree.extend(page.levels)
        self.memory.extend(page.names, page.types, page.effective)
        if self.covered is not None:
            effective = array("I")
            effective.frombytes(page.effective)
            self._late_from(first, effective, self.covered)

    def _late_from(
        self,
        first: int,
        effective: Sequence[int],
        covered: tuple[int, int],
        listed: Collection[int] = (),
    ) -> None:
        """Note the late entries, by the checkpoint ``covered`` (its size, the last year it
        closed), among events ``first``, ``first + 1``... (all after it) of these effective
        dates (ordinals), but those ``listed`` already."""
        last_day = rulebook.closed_through(covered).toordinal()
        for i, day in enumerate(effective):
            if day <= last_day and first + i not in listed:
                self._late(first + i, covered)

    def note_unreadable(self) -> None:
        self.memory.note(0, "?", date.min.toordinal(), 1)

    def _late(self, seq: int, covered: tuple[int, int]) -> None:
        day = date.fromordinal(self.memory.effective[seq - 1 - self.base])
        kind = self.memory.type_at(seq)
        self.late.append(LateEntry(seq, kind, day.isoformat(), covered[0], covered[1]))

    def opened(self, env: Envelope) -> None:
        number = env.payload.get("number", "")
        self.origin = checkpoint.origin(env.ledger, str(number))

    def open_checkpoint(
        self, data: bytes, *, until: int | None, not_after: int, require_log: bool
    ) -> checkpoint.Opened:
        """Open a checkpoint of this ledger (``checkpoint.open_in_ledger``) by the signers
        folded so far and the auditor's keys. Raises ``note.NoteError``."""
        return checkpoint.open_in_ledger(
            data,
            origin_line=self.origin,
            signers=self.registry.signers.values(),
            trusted=self.cosigners or (),
            until=until,
            not_after=not_after,
            require_log=require_log,
        )

    def recorded_checkpoint(self, env: Envelope) -> None:
        """Check a CheckpointRecorded event against the tree rebuilt so far."""
        payload = env.payload
        try:
            opened = self.open_checkpoint(
                str(payload["note"]).encode(),
                until=None,
                not_after=rulebook.posix(env.recorded_at),
                require_log=True,
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
            raise NeedsHistory(
                f"event {env.seq} records a checkpoint of {cp.size} events, fewer than the "
                "audit state covers"
            )
        found = rulebook.check_against_tree(
            cp.size, cp.root, self.count, self.tree.root, "the checkpoint"
        )
        if found is not None:
            self.fail(env.seq, "bad-checkpoint", f"{found[1].reason}: {found[1].detail}")
            return
        self.checkpoints += 1
        year = opened.covered_until(self.trust())
        if year is None:
            return
        covered = (cp.size, year)
        # Events cp.size + 1 .. env.seq, this one included (noted before its checks).
        since = self.memory.effective[cp.size - self.base : env.seq - self.base]
        self._late_from(cp.size + 1, since, covered)
        self._widen(covered)

    def _widen(self, covered: tuple[int, int]) -> None:
        if self.covered is None or covered[1] > self.covered[1]:
            self.covered = covered

    def check_trusted(self, size: int) -> None:
        """At the end: the ledger extends the trusted checkpoint; and, when a key the auditor
        trusts cosigned it, the events after it that are about a year it closed are late."""
        assert self.trusted is not None
        try:
            opened = self.open_checkpoint(
                self.trusted.data,
                until=checkpoint.claimed_size(self.trusted.data),
                not_after=self.now,
                require_log=self.cosigners is None,
            )
        except note.NoteError as e:
            self.fail(min(size, 1), "untrusted-checkpoint", f"{e.reason}: {e}")
            return
        cp = opened.checkpoint
        trust = self.trust()
        if (
            self.cosigners is not None
            and trust.isdisjoint(opened.cosigned_by)
            and trust.isdisjoint(opened.log_signers)
        ):
            self.fail(1, "untrusted-checkpoint", "neither signed nor cosigned by a trusted key")
            return
        found = rulebook.check_against_tree(
            cp.size, cp.root, size, self.tree.root, "the trusted checkpoint"
        )
        if found is not None:
            seq, refusal = found
            forked = refusal.reason == "checkpoint-mismatch"
            tail = ": history was rewritten or forked" if forked else ""
            self.fail(seq, refusal.reason, refusal.detail + tail)
            return
        year = opened.covered_until(trust)
        if year is not None:
            covered = (cp.size, year)
            since = self.memory.effective[cp.size - self.base :]
            self._late_from(cp.size + 1, since, covered, {e.seq for e in self.late})
            self._widen(covered)

    def check_extends(self, resume: Resume) -> None:
        """At the end: the ledger extends what ``resume`` was left by."""
        found = rulebook.check_against_tree(
            resume.size, resume.root, self.count, self.tree.root, "the audit state"
        )
        if found is None:
            return
        seq, refusal = found
        if refusal.reason == "checkpoint-mismatch":
            tail = ": history was rewritten or forked since"
            self.fail(seq, "state-mismatch", refusal.detail + tail)
        else:
            self.fail(seq, refusal.reason, refusal.detail)


def trusted_size(trusted: TrustedCheckpoint | None) -> int:
    """The size a trusted checkpoint claims (0 if unreadable: then nothing is skipped)."""
    return 0 if trusted is None else checkpoint.claimed_size(trusted.data)


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
    now: int | None = None,
) -> VerificationResult:
    """Verify the events of ``ledger`` given in order, a page at a time; when they pass, the
    result's ``resume`` says where a later run may start. (``rebuild`` gives the rebuilt tree
    too.)

    ``cosigners``: the public keys the auditor trusts (the Council's own, for an offline
    audit): only their cosignatures close a year (late entries), and a ``trusted`` checkpoint
    must be signed or cosigned by one. None: no key is trusted, and no year is closed.
    ``workers`` defaults to every core for ledgers of ``INLINE_BELOW`` events or more.
    ``after``: ``pages`` starts at event ``after.size + 1``; the events before are taken as
    ``after`` says, unread. Raises ``NeedsHistory`` when a check needs them (a checkpoint,
    recorded or trusted, of fewer events, or an event referring to one of them), and
    ``ResumeError`` for an ``after`` no passing verification can have left.
    ``extends``: ``pages`` starts at event 1, and the events up to ``extends.size`` must be
    those it was left by (its root, else ``state-mismatch``); they are then only hashed.
    ``now`` (POSIX seconds, default the clock): no cosignature of ``trusted`` may be later.
    """
    return rebuild(
        pages,
        ledger,
        size_hint=size_hint,
        workers=workers,
        trusted=trusted,
        cosigners=cosigners,
        after=after,
        extends=extends,
        now=now,
    ).result


class Rebuilt(NamedTuple):
    """A verification, with what it rebuilt from the events' bytes."""

    result: VerificationResult
    tree: Tree  # whose roots are proven, as a store's own nodes are not
    redactions: dict[tuple[int, str], int]  # the (event, field) the events redact, by whom


def rebuild(
    pages: Iterable[Sequence[Stored]],
    ledger: UUID,
    *,
    size_hint: int,
    workers: int | None = None,
    trusted: TrustedCheckpoint | None = None,
    cosigners: Sequence[PublicKey] | None = None,
    after: Resume | None = None,
    extends: Resume | None = None,
    now: int | None = None,
) -> Rebuilt:
    """``verify_rows``, with the tree it rebuilt: what a checkpoint is compared with when it is
    to mean "verified" (cosigning), and what an import checks the bytes it writes against."""
    if workers is None:
        workers = (os.cpu_count() or 1) if size_hint >= INLINE_BELOW else 1
    clock = int(time.time()) if now is None else now
    fold = _Fold(ledger, trusted, cosigners, clock, skip=trusted_size(trusted))
    if extends is not None:
        fold.skip = max(fold.skip, extends.size)
    if after is not None:
        fold.start(after)
        if 0 < fold.skip < after.size:
            raise NeedsHistory(
                f"the trusted checkpoint covers {fold.skip} events, fewer than the audit state"
            )
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
        tuple(fold.late_entries()),
        fold.checkpoints,
        fold.resume() if not fold.failures else None,
    )
    return Rebuilt(result, fold.tree, fold.memory.redactions)


def verify_ledger(
    store: Store,
    ledger: UUID,
    *,
    workers: int | None = None,
    trusted: TrustedCheckpoint | None = None,
    cosigners: Sequence[PublicKey] | None = None,
) -> VerificationResult:
    """Verify a ledger in its store, and that the store's tree nodes are the rebuilt tree and
    its clear personal values those the signed events commit to.

    ``cosigners`` as for ``verify_rows``."""
    return verify_store(store, ledger, workers=workers, trusted=trusted, cosigners=cosigners)[0]


def require_intact(result: VerificationResult) -> VerificationResult:
    """``result``, or ``IntegrityError`` naming its first failure: for what may only rest on a
    ledger that verifies (a report, a cosignature)."""
    if not result.ok:
        first = result.failures[0]
        raise IntegrityError(first.seq, first.reason, first.detail)
    return result


def verify_store(
    store: Store,
    ledger: UUID,
    *,
    workers: int | None = None,
    trusted: TrustedCheckpoint | None = None,
    cosigners: Sequence[PublicKey] | None = None,
    after: Resume | None = None,
) -> tuple[VerificationResult, Tree]:
    """``verify_ledger``, with the tree it rebuilt (whose roots are then proven, as the
    store's own nodes are not); ``after`` as for ``verify_rows``: then the store's events up
    to ``after.size`` are not read, nor its nodes and personal values compared."""
    last = store.last(ledger)
    size = last.seq if last else 0
    start = after.size if after is not None else 0
    result, tree, redactions = rebuild(
        _split(store.pages(ledger, 8 * CHUNK, after=start), CHUNK, start),
        ledger,
        size_hint=size - start,
        workers=workers,
        trusted=trusted,
        cosigners=cosigners,
        after=after,
    )
    if after is not None or not result.ok:
        return result, tree
    bad = _first_bad_node(store.node_pages(ledger), tree.levels)
    if bad is not None:
        failure = Failure(result.events, "stored-tree-mismatch", bad)
        return dataclasses.replace(result, failures=(failure,)), tree
    found = _first_bad_personal(store, ledger, redactions)
    if found is not None:
        return dataclasses.replace(result, failures=(found,)), tree
    return result, tree


def _first_bad_personal(
    store: Store, ledger: UUID, redacted: dict[tuple[int, str], int]
) -> Failure | None:
    """The clear personal values kept beside the ledger must open their signed commitments, and
    none may outlive its recorded redaction (``redacted``, as the verified events say). (They
    are outside the signed bytes and the tree: this is what vouches for them.)"""
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
