"""A ledger: one enterprise's signed event stream in a store, and the one way to append to it.

Appending validates each payload against its schema, checks that the key may sign the type at
that point, builds the envelopes on the current head, signs them and inserts them in one
transaction. When another writer took the head first, it re-reads, re-signs and retries.
"""

from __future__ import annotations

import dataclasses
import random
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from ledger.core import canonical, catalogue, personal, rulebook, semantics, values
from ledger.core.draft import Draft
from ledger.core.envelope import (
    GENESIS_PREV,
    SIGNING_CONTEXT,
    Entry,
    EntryError,
    Envelope,
    Row,
    entry_bytes,
    event_id,
    parse_entry,
)
from ledger.core.keys import SigningKey, check_public_key
from ledger.core.signers import Registry
from ledger.errors import InputError, IntegrityError, LedgerStateError, StoreError
from ledger.store import Conflict, Store, open_store
from ledger.store.pages import paged
from ledger.store.tree import LedgerTree
from ledger.tlog import checkpoint, merkle

Clock = Callable[[], datetime]
MAX_ATTEMPTS = 50


def utc_now() -> datetime:
    """The recording clock (looked up at each use, so a replay can fix time)."""
    return datetime.now(UTC)


@dataclass(slots=True)
class Ledger:
    """One ledger in an open store. Use ``Ledger.open`` or ``Ledger.create``."""

    store: Store
    id: UUID
    clock: Clock = field(default=lambda: utc_now())
    # The signers after the head this ledger last appended, keyed by that head's id: a batch
    # import then reads the signer events once, not once a batch. Another writer's head has
    # another id, so the cache never outlives a change it did not make.
    _signers: tuple[str, Registry] | None = field(default=None, repr=False)

    @classmethod
    def open(
        cls,
        target: str | Store,
        *,
        read_only: bool = False,
        clock: Clock | None = None,
        select: str | None = None,
    ) -> Ledger:
        """Open the ledger of ``target`` (a store, or where one is: see ``open_store``);
        ``select`` (a ledger id or enterprise number) picks one when the store holds several."""
        store, name = _store(target, read_only=read_only)
        try:
            found = choose(store, name, select)
        except BaseException:
            store.close()
            raise
        return cls(store=store, id=found, clock=clock or (lambda: utc_now()))

    @classmethod
    def create(
        cls,
        target: str | Store,
        *,
        enterprise: str,
        number: str,
        key: SigningKey,
        clock: Clock | None = None,
    ) -> Ledger:
        """Open a new ledger whose genesis event enrols ``key`` as admin and secretary."""
        public = key.public
        check_public_key("key", public.raw)
        payload = {
            "enterprise": enterprise,
            "number": number,
            "founder": {
                "key_id": public.key_id,
                "public_key": public.b64,
                "name": public.name or enterprise,
                "roles": ["admin", "secretary"],
            },
        }
        catalogue.validate("LedgerOpened", 1, payload)
        store, name = _store(target, create=True)
        taken = holding(store, number)
        if taken is not None:
            store.close()
            raise LedgerStateError(
                f"{name} holds the ledger of {number} already ({taken.id}); "
                "init refuses to open a second one"
            )
        ledger = cls(store=store, id=uuid.uuid4(), clock=clock or (lambda: utc_now()))
        ledger.append(key, [Draft("LedgerOpened", payload)])
        return ledger

    def close(self) -> None:
        self.store.close()

    def registry(self) -> Registry:
        """The signers as the stored signer events leave them (trusted as stored: ``verify``
        is what proves them)."""
        registry = Registry()
        for row in self.store.read_topics(self.id, sorted(catalogue.REGISTRY)):
            registry.apply(parse_row(row).envelope)
        return registry

    def head(self) -> Entry | None:
        last = self.store.last(self.id)
        return parse_row(last) if last else None

    def size(self) -> int:
        last = self.store.last(self.id)
        return last.seq if last else 0

    def entry(self, seq: int) -> Entry:
        """Event ``seq``; raises ``InputError`` when there is no such event."""
        rows = list(self.store.read(self.id, after=seq - 1, upto=seq))
        if seq < 1 or not rows:
            raise InputError("seq", f"no event {seq}; the ledger has {self.size()}")
        return parse_row(rows[0])

    def origin(self) -> str:
        """The checkpoint origin line of this ledger (docs/CHECKPOINTS.md)."""
        return checkpoint.origin(str(self.id), str(self.entry(1).envelope.payload["number"]))

    def tree(self) -> LedgerTree:
        return LedgerTree(self.store, self.id)

    def known_at(self, instant: str) -> int:
        """How many events were recorded by ``instant`` (a ``recorded_at`` spelling): recorded-at
        never decreases, so they are a prefix, found by bisection (a read an halving)."""
        low, high = 0, self.size()
        while low < high:
            mid = (low + high + 1) // 2
            [row] = self.store.rows(self.id, [mid])
            if recorded_at(row.entry) <= instant:
                low = mid
            else:
                high = mid - 1
        return low

    def judged(
        self,
        types: Iterable[str],
        upto: int,
        registry: Registry | None = None,
        *,
        again: bool = True,
    ) -> Iterator[Envelope]:
        """The events of ``types`` among the first ``upto``, in order, each judged by the
        rulebook as verify judges it but for its link and signature (only a verification of
        every event proves those): its payload, its signer's rights, what it says of earlier
        events. What projections fold. ``registry`` (empty) is folded as the events go, for the
        caller to read between them. Raises ``IntegrityError`` at the first refused one.
        ``again=False``: the caller verified the ledger just now, which judged them all."""
        wanted = frozenset(types)
        registry = Registry() if registry is None else registry
        known = Known(self, upto + 1)
        read = sorted(wanted | catalogue.REGISTRY | rulebook.REMEMBERED)
        for row in self.store.topics(self.id, read, upto):
            env = parse_row(row).envelope
            if again:
                refusal = rulebook.check_payload(env) or registry.check(env)
                if refusal is None and rulebook.needs_context(env.type, env.schema):
                    refusal = rulebook.check_context(env, known, registry)
                if refusal is not None:
                    raise IntegrityError(env.seq, refusal.reason, refusal.described())
                known.remember(env)
            registry.apply(env)
            if env.type in wanted:
                yield env

    def entries(self, after: int = 0) -> Iterator[Entry]:
        """Every event after ``after``, parsed, in order. Raises ``IntegrityError`` on a
        malformed entry (``verify`` explains more)."""
        for row in self.store.read(self.id, after=after):
            yield parse_row(row)

    def append(self, key: SigningKey, drafts: Sequence[Draft]) -> list[Entry]:
        """Sign ``drafts`` with ``key`` and append them, all or nothing.

        Raises ``InputError`` for a payload or a signer that does not fit (nothing written),
        ``StoreError`` when the store fails or other writers keep winning.
        """
        prepared = []
        for draft in drafts:
            try:
                prepared.append(self._prepared(draft, len(drafts)))
            except InputError as e:
                raise _placed(e, draft) from e
        drafts = prepared
        for attempt in range(MAX_ATTEMPTS):
            head = self.head()
            registry = self._registry_after(head)
            entries = self._signed(key, drafts, head, registry)
            rows = [
                Row(
                    e.envelope.seq,
                    e.envelope.type,
                    entry_bytes(e.envelope, e.signature, e.envelope_bytes),
                )
                for e in entries
            ]
            tree = LedgerTree(self.store, self.id).compact_range(rows[0].seq - 1)
            nodes = [node for row in rows for node in tree.append(merkle.leaf_hash(row.entry))]
            held = [
                (row.seq, h.field, h.salt, h.value)
                for row, draft in zip(rows, drafts, strict=True)
                for h in draft.personal
            ]
            erase = [e for d in drafts for e in d.erase]
            try:
                self.store.append(self.id, rows, nodes, held, erase)
            except Conflict:
                time.sleep(random.uniform(0, 0.002 * (attempt + 1)))
                continue
            self._signers = (entries[-1].id, registry)
            return entries
        raise StoreError(f"gave up after {MAX_ATTEMPTS} attempts: other writers kept the head busy")

    def _prepared(self, draft: Draft, batch: int) -> Draft:
        """The draft checked against its schema, its personal fields committed (once: a retry
        re-signs the same commitments), a redaction's erasure attached."""
        version = catalogue.CURRENT_SCHEMA.get(draft.type)
        if version is None:
            raise InputError("type", f"unknown event type {draft.type}")
        if personal.fields(draft.type, version):
            committed, held = personal.commit(draft.type, version, draft.payload)
            draft = dataclasses.replace(draft, payload=committed, personal=held)
        # Links take the batch's sequence numbers once it is built; any positive one fits.
        payload = draft.resolved([1] * batch) if draft.links else draft.payload
        rulebook.validate(draft.type, version, payload)
        try:  # once here, so that building the envelope (_envelopes) need not check it again
            canonical.check(payload, ("payload",))
        except canonical.CanonicalError as e:
            raise InputError("payload", str(e)) from e
        if draft.effective is not None:
            if not isinstance(draft.effective, str):
                raise InputError(
                    "effective", f"{draft.effective!r} is not text; expected YYYY-MM-DD"
                )
            values.iso_date("effective", draft.effective)
        if draft.type in catalogue.REDACTIONS:  # the rulebook judges it, in _envelopes
            draft = dataclasses.replace(draft, erase=((payload["event"], payload["field"]),))
        return draft

    def redactions(self) -> dict[tuple[int, str], int]:
        """Each redacted (event, field), with the redaction's sequence number."""
        rows = self.store.read_topics(self.id, sorted(catalogue.REDACTIONS))
        return personal.redactions(parse_row(row).envelope for row in rows)

    def revealed(self, entries: Sequence[Entry]) -> list[dict[str, Any]]:
        """The entries' payloads for people to read: personal fields in clear where the store
        holds them, else ``[redacted]`` or ``[not held]`` (``personal.reveal``)."""
        wanted = {
            e.envelope.seq for e in entries if personal.fields(e.envelope.type, e.envelope.schema)
        }
        held: dict[int, dict[str, personal.Held]] = {}
        for seq, name, salt, value in self.store.personal(self.id, sorted(wanted)):
            held.setdefault(seq, {})[name] = personal.Held(name, salt, value)
        redacted = self.redactions() if wanted else {}
        out = []
        for e in entries:
            env = e.envelope
            if env.seq not in wanted:
                out.append(env.payload)
                continue
            gone = {name for (seq, name) in redacted if seq == env.seq}
            out.append(
                personal.reveal(env.type, env.schema, env.payload, held.get(env.seq, {}), gone)
            )
        return out

    def extend(self, rows: Iterable[Row], batch: int = 2000) -> int:
        """Append entries signed elsewhere (an imported bundle, verified by the caller) with the
        tree nodes they complete, ``batch`` events a transaction; returns how many.

        An interrupted import leaves a prefix, which verifies; importing again completes it.
        """
        tree = LedgerTree(self.store, self.id).compact_range(self.size())
        count = 0
        for page in paged(rows, batch):
            nodes = [node for row in page for node in tree.append(merkle.leaf_hash(row.entry))]
            try:
                self.store.append(self.id, page, nodes)
            except Conflict as e:
                raise StoreError(
                    f"another writer appended to ledger {self.id} during the import; run it again"
                ) from e
            count += len(page)
        return count

    def _registry_after(self, head: Entry | None) -> Registry:
        """The signers after ``head``, to be extended by the batch being built (a copy)."""
        if head is None:
            return Registry()
        if self._signers is not None and self._signers[0] == head.id:
            return Registry(dict(self._signers[1].signers))  # Signers are immutable
        return self.registry()

    def _signed(
        self, key: SigningKey, drafts: Sequence[Draft], head: Entry | None, registry: Registry
    ) -> list[Entry]:
        """The drafts as signed entries on the current head."""
        envelopes = list(self._envelopes(key.public.key_id, drafts, head, registry))
        signatures = key.sign_all([SIGNING_CONTEXT + data for _, data in envelopes])
        return [
            Entry(env, data, sig) for (env, data), sig in zip(envelopes, signatures, strict=True)
        ]

    def _envelopes(
        self, signer: str, drafts: Sequence[Draft], head: Entry | None, registry: Registry
    ) -> Iterator[tuple[Envelope, bytes]]:
        """Build the drafts' envelopes on ``head``, checking each against ``registry`` (and
        folding it in, so the registry ends as the batch leaves the signers)."""
        now = values.format_instant(self.clock())
        # recorded_at never goes backwards, so "as known at T" is always a prefix of the ledger.
        recorded_at = max(now, head.envelope.recorded_at) if head else now
        seq = head.envelope.seq + 1 if head else 1
        prev = head.id if head else GENESIS_PREV
        known = Known(self, seq)
        if any(rulebook.needs_context(d.type, catalogue.CURRENT_SCHEMA[d.type]) for d in drafts):
            known.load()
        seqs = range(seq, seq + len(drafts))
        ledger_id = str(self.id)
        for draft in drafts:
            if draft.links:
                draft = dataclasses.replace(draft, payload=draft.resolved(seqs), links={})
            version = catalogue.CURRENT_SCHEMA[draft.type]
            refs = semantics.references(draft.type, version, draft.payload)
            targets = known.envelopes([r.seq for r in refs if r.seq < seq]) if refs else {}
            effective = draft.effective or self._default_effective(draft, targets)
            env = Envelope(
                ledger=ledger_id,
                seq=seq,
                prev=prev,
                type=draft.type,
                schema=version,
                effective=effective or recorded_at[:10],
                recorded_at=recorded_at,
                signer=signer,
                payload=draft.payload,
            )
            # Built on the head, it links on; the rules below are those verify runs again.
            assert rulebook.check_link(ledger_id, rulebook.Head(seq, prev, ""), env, seq) is None
            refusal = registry.check(env)
            if refusal is None and rulebook.needs_context(env.type, version):
                refusal = rulebook.check_context(env, known, registry)
            if refusal is not None:
                raise _placed(refusal.error(), draft)
            registry.apply(env)
            known.add(env)
            # Its payload and effective date were checked by _prepared, the rest is built here;
            # only a lone surrogate in the payload's text is left for the encoder to find.
            try:
                data = canonical.encode_checked(env.to_dict())
            except canonical.CanonicalError as e:
                raise InputError("payload", str(e)) from e
            yield env, data
            prev = event_id(data)
            seq += 1

    @staticmethod
    def _default_effective(draft: Draft, targets: dict[int, Envelope]) -> str | None:
        if draft.type == "EventCorrected":
            # A correction folds into the year of what it corrects, as corrected.
            target = targets.get(draft.payload["event"])
            if target is None:
                return None  # no such event: the rulebook says so
            return (
                semantics.default_effective(target.type, draft.payload["replacement"], {})
                or target.effective
            )
        effective_of = {n: e.effective for n, e in targets.items()}
        found = semantics.default_effective(draft.type, draft.payload, effective_of)
        if found is None and draft.type in catalogue.BY_DEED and "resolution" not in draft.payload:
            # Statutes adopted by deed (the ones in force when the ledger opens) took effect on
            # a day only the secretary knows; the recording day would silently be wrong.
            raise InputError(
                "effective",
                "an article adopted or repealed by deed needs the "
                "date it took effect: --effective YYYY-MM-DD",
            )
        return found


class Known(rulebook.Knowledge):
    """What the rules need of the events before ``first_new``, from the store: each one fetched
    when first asked. Appending adds the batch being built (``add``) and reads what the rulebook
    remembers by type once (``load``), when a draft needs it; ``Ledger.judged`` remembers the
    events as it reads them, in order."""

    def __init__(self, ledger: Ledger, first_new: int) -> None:
        super().__init__()
        self.ledger = ledger
        self.first_new = first_new
        self.cache: dict[int, Envelope] = {}

    def envelopes(self, seqs: Sequence[int]) -> dict[int, Envelope]:
        missing = [n for n in seqs if n not in self.cache and 0 < n < self.first_new]
        for row in self.ledger.store.rows(self.ledger.id, missing):
            self.cache[row.seq] = parse_row(row).envelope
        return {n: self.cache[n] for n in seqs if n in self.cache}

    def kind_of(self, seq: int) -> tuple[str, int] | None:
        env = self.envelopes([seq]).get(seq)
        return None if env is None else (env.type, env.schema)

    def load(self) -> None:
        """Fold in the stored events the rulebook remembers (as stored: verify proves them)."""
        rows = self.ledger.store.read_topics(self.ledger.id, sorted(rulebook.REMEMBERED))
        for row in rows:
            if row.seq < self.first_new:
                env = parse_row(row).envelope
                self.cache.setdefault(env.seq, env)
                self.remember(env)

    def add(self, env: Envelope) -> None:
        """An event of the batch, admitted: later drafts may refer to it."""
        self.cache[env.seq] = env
        self.remember(env)


@dataclass(frozen=True, slots=True)
class Summary:
    """One ledger of a store, as ``ledger ledgers`` lists it (from its genesis and its head,
    trusted as stored: ``verify`` proves them)."""

    id: UUID
    enterprise: str
    number: str
    events: int
    head: str

    def to_json(self) -> dict[str, Any]:
        return {
            "ledger": str(self.id),
            "enterprise": self.enterprise,
            "number": self.number,
            "events": self.events,
            "head": self.head,
        }


def summaries(store: Store) -> list[Summary]:
    """Every ledger of ``store``, oldest first. A genesis or head that does not parse leaves
    its fields empty: listing must work on a broken store, which ``audit --all`` then names."""
    found = []
    for ledger_id in store.ledgers():
        [genesis] = store.rows(ledger_id, [1])
        last = store.last(ledger_id) or genesis
        opened, head = _parse_or_none(genesis), _parse_or_none(last)
        payload = opened.envelope.payload if opened else {}
        found.append(
            Summary(
                ledger_id,
                str(payload.get("enterprise", "")),
                str(payload.get("number", "")),
                last.seq,
                head.id if head else "",
            )
        )
    return found


def holding(store: Store, number: str) -> Summary | None:
    """The ledger of ``store`` for the enterprise ``number`` (any spelling), if there is one."""
    digits = "".join(c for c in number if c.isdigit())
    return next((s for s in summaries(store) if s.number.replace(".", "") == digits), None)


def _parse_or_none(row: Row) -> Entry | None:
    try:
        return parse_entry(row.entry)
    except EntryError:
        return None


def _store(
    target: str | Store, *, create: bool = False, read_only: bool = False
) -> tuple[Store, str]:
    """The store ``target`` is or names, and its name for messages (as the user wrote it)."""
    if isinstance(target, str):
        return open_store(target, create=create, read_only=read_only), target
    return target, target.target


def choose(store: Store, target: str, select: str | None) -> UUID:
    """The ledger of ``store`` that ``select`` names (its id, or its enterprise number), or its
    only ledger when ``select`` is None."""
    ids = store.ledgers()
    if not ids:
        raise LedgerStateError(f"no ledger in {target}; create one with: ledger init")
    if select is None:
        if len(ids) > 1:
            raise InputError(
                "ledger_id",
                f"{target} holds {len(ids)} ledgers; choose one with --ledger-id ID or "
                "NUMBER (see: ledger ledgers)",
            )
        return ids[0]
    wanted = select.strip().lower().replace("-", "")
    for ledger_id in ids:
        if ledger_id.hex == wanted:
            return ledger_id
    if sum(c.isdigit() for c in select) == 10:
        found = holding(store, select)
        if found is not None:
            return found.id
    raise InputError(
        "ledger_id", f"no ledger {select!r} in {target}; list them with: ledger ledgers"
    )


def _placed(error: InputError, draft: Draft) -> InputError:
    """``error`` naming where its draft comes from, when the draft says."""
    if not draft.where or error.field == "key":
        return error
    return InputError(f"{draft.where} {error.field}", error.message)


def recorded_at(entry: bytes) -> str:
    """The ``recorded_at`` of canonical entry bytes, without parsing them: canonical entries put
    the top-level member after the payload, and nothing after it can hold that text (see
    ``envelope._without_signature``), so the last occurrence is the one."""
    at = entry.rindex(b'"recorded_at":"') + 15
    return entry[at : at + 27].decode()


def parse_row(row: Row) -> Entry:
    """A stored row's entry, parsed; ``IntegrityError`` naming the row when it is malformed."""
    try:
        return parse_entry(row.entry)
    except EntryError as e:
        raise IntegrityError(row.seq, e.reason, e.detail) from e
