"""Verification of a whole ledger: every entry canonical and well-formed, sequence numbers
contiguous, the hash chain unbroken, recorded-at never decreasing, each signer enrolled, not
revoked and holding a role allowed for the type, and each Ed25519 signature true.

The ledger is streamed a page at a time. Parsing and signature checks (the cost) run on every
core in worker processes; the main process only folds the signer registry and compares links, so
memory stays flat and speed follows the number of cores.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from ledger import canonical
from ledger.envelope import SIGNING_CONTEXT, EntryError, Envelope, parse_entry
from ledger.keys import key_id, verify_signature
from ledger.signers import REGISTRY_TYPES, Registry, public_key_of
from ledger.store import Row, Store

CHUNK = 1000
INLINE_BELOW = 4000  # a pool costs more than it saves on small ledgers
MAX_FAILURES = 1000


@dataclass(frozen=True, slots=True)
class Failure:
    seq: int
    reason: str
    detail: str


@dataclass(frozen=True, slots=True)
class VerificationResult:
    """What ``verify`` found. No ``__bool__``: ask ``.ok``."""

    ledger: str
    events: int
    head: str
    failures: tuple[Failure, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.failures

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "ledger": self.ledger,
            "events": self.events,
            "head": self.head,
            "failures": [
                {"seq": f.seq, "reason": f.reason, "detail": f.detail} for f in self.failures
            ],
        }


@dataclass(frozen=True, slots=True)
class _Checked:
    """A worker's verdict on one stored row."""

    seq: int
    envelope: Envelope | None  # None when the entry could not be parsed
    id: str
    signature_ok: bool | None  # None when the signer's key was not known to the worker
    error: tuple[str, str] | None


def _check_rows(rows: list[tuple[int, str, bytes]], keys: dict[str, bytes]) -> list[_Checked]:
    """Parse rows and check their signatures against ``keys`` (key id → raw public key).

    ``keys`` is self-certifying (ids are hashes of the keys), so an untrusted map cannot make a
    false signature pass; whether the key was *allowed* is decided later, in order.
    """
    out = []
    for seq, topic, data in rows:
        try:
            entry = parse_entry(data)
        except EntryError as e:
            out.append(_Checked(seq, None, "", None, (e.reason, e.detail)))
            continue
        env = entry.envelope
        error = None
        if topic != env.type:
            error = ("topic-mismatch", f"stored as {topic!r} but the entry says {env.type!r}")
        public = keys.get(env.signer)
        ok = (
            None
            if public is None
            else verify_signature(public, entry.signature, SIGNING_CONTEXT + entry.envelope_bytes)
        )
        if env.type not in REGISTRY_TYPES:  # only the registry needs payloads; keep pipes thin
            env = Envelope(
                env.ledger,
                env.seq,
                env.prev,
                env.type,
                env.schema,
                env.effective,
                env.recorded_at,
                env.signer,
                {},
            )
        out.append(_Checked(seq, env, entry.id, ok, error))
    return out


def _harvest_keys(rows: Iterable[Row], keys: dict[str, bytes]) -> None:
    # Key material must reach the workers before the events it verifies; enrolments are rare,
    # so reading them here, ahead of the pool, is cheap.
    for row in rows:
        if row.topic in REGISTRY_TYPES:
            try:
                raw = public_key_of(canonical.decode(row.entry).get("payload", {}))
            except (canonical.CanonicalError, AttributeError):
                continue
            if raw is not None:
                keys[key_id(raw)] = raw


def _pages(store: Store, ledger: UUID) -> Iterator[list[Row]]:
    page: list[Row] = []
    for row in store.read(ledger):
        page.append(row)
        if len(page) == CHUNK:
            yield page
            page = []
    if page:
        yield page


def _checked(store: Store, ledger: UUID, workers: int) -> Iterator[_Checked]:
    keys: dict[str, bytes] = {}

    def job(page: list[Row]) -> tuple[list[tuple[int, str, bytes]], dict[str, bytes]]:
        _harvest_keys(page, keys)
        return [(r.seq, r.topic, r.entry) for r in page], dict(keys)

    if workers <= 1:
        for page in _pages(store, ledger):
            yield from _check_rows(*job(page))
        return
    with ProcessPoolExecutor(max_workers=workers) as pool:
        window: deque[Future[list[_Checked]]] = deque()
        for page in _pages(store, ledger):
            window.append(pool.submit(_check_rows, *job(page)))
            if len(window) > 2 * workers:
                yield from window.popleft().result()
        while window:
            yield from window.popleft().result()


def verify_ledger(store: Store, ledger: UUID, *, workers: int | None = None) -> VerificationResult:
    """Check every event of ``ledger``; collect failures (the first ``MAX_FAILURES``).

    ``workers`` defaults to every core for ledgers of ``INLINE_BELOW`` events or more.
    """
    if workers is None:
        last = store.last(ledger)
        size = last.seq if last else 0
        workers = (os.cpu_count() or 1) if size >= INLINE_BELOW else 1
    registry = Registry()
    failures: list[Failure] = []
    expected_seq, last_time, head, count = 1, "", "0" * 64, 0
    prev: str | None = "0" * 64

    def fail(seq: int, reason: str, detail: str) -> None:
        if len(failures) < MAX_FAILURES:
            failures.append(Failure(seq, reason, detail))

    for c in _checked(store, ledger, workers):
        count += 1
        if c.envelope is None or c.error:
            assert c.error is not None
            fail(c.seq, *c.error)
            # An unparsable entry has no trustworthy id: do not blame its successor's link too.
            expected_seq, prev = c.seq + 1, c.id if c.envelope else None
            continue
        env = c.envelope
        if c.seq != expected_seq:
            fail(c.seq, "sequence-gap", f"expected event {expected_seq}, found {c.seq}")
        elif env.seq != c.seq:
            fail(c.seq, "seq-mismatch", f"stored at {c.seq} but the entry says seq {env.seq}")
        elif env.ledger != str(ledger):
            fail(c.seq, "wrong-ledger", f"entry belongs to ledger {env.ledger}, not {ledger}")
        elif prev is not None and env.prev != prev:
            fail(c.seq, "chain-broken", f"prev is {env.prev[:16]}…, expected {prev[:16]}…")
        elif env.recorded_at < last_time:
            fail(c.seq, "time-reversed", f"recorded_at {env.recorded_at} < {last_time}")
        elif (refusal := registry.check(env)) is not None:
            fail(c.seq, refusal.reason, refusal.detail)
        elif c.signature_ok is not True:
            fail(c.seq, "bad-signature", f"signature does not verify with key {env.signer}")
            # A forged body has a forged id: the next event's link to it proves nothing more.
            expected_seq, prev, head = c.seq + 1, None, c.id
            continue
        else:
            registry.apply(env)
        expected_seq, prev, last_time, head = c.seq + 1, c.id, max(last_time, env.recorded_at), c.id
    return VerificationResult(str(ledger), count, head, tuple(failures))
