"""One measurement in a fresh process: ``python bench/measure.py NAME '{"arg": value}'``.

Prints one JSON object on its last line: the measurement's figures plus the peak resident set
size of this process (``peak_rss_mb``), of its largest finished child (``children_rss_mb``,
verify's worker processes) and the RSS after imports (``start_rss_mb``). Every measurement gets a
scratch folder that is deleted when it ends.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import resource
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar
from uuid import UUID

import orjson
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event
from nacl.signing import VerifyKey

from ledger.app import commands, transparency
from ledger.chain import auditstate
from ledger.chain import verify as verifying
from ledger.chain.ledger import Ledger
from ledger.chain.verify import verify_ledger
from ledger.core import catalogue, keys, rulebook, semantics
from ledger.core.draft import Draft
from ledger.core.envelope import SIGNING_CONTEXT, Envelope, parse_entry
from ledger.core.keys import PublicKey, SigningKey, verify_signature
from ledger.core.signers import Registry
from ledger.projections import projected, projection
from ledger.reporting import documents
from ledger.tlog import merkle

BATCH = 1000
BUILD_BATCH = 5000  # the ledgers of the proof, audit and compliance groups
ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "tests" / "data" / "catalogue_examples.json"
Figures = dict[str, Any]
T = TypeVar("T")


def payload(i: int) -> dict[str, Any]:
    return {"year": 2025, "name": f"m{i % 50}", "value": str(i), "unit": "EUR"}


def payloads(n: int) -> list[dict[str, Any]]:
    return [payload(i) for i in range(n)]


def batches(items: Sequence[T], size: int = BATCH) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def file_bytes(db: Path) -> int:
    """The size of a SQLite database with its write-ahead log, if one is left."""
    return sum(p.stat().st_size for p in (db, db.with_name(db.name + "-wal")) if p.exists())


def cpu_seconds() -> float:
    """User + system CPU time of this process and of its reaped children (verify's workers)."""
    own, children = (
        resource.getrusage(who) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)
    )
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


@dataclass(slots=True)
class Span:
    """The wall-clock and CPU seconds a ``timed`` block took."""

    wall: float = 0.0
    cpu: float = 0.0


@contextmanager
def timed() -> Iterator[Span]:
    span = Span()
    wall, cpu = time.perf_counter(), cpu_seconds()
    yield span
    span.wall, span.cpu = time.perf_counter() - wall, cpu_seconds() - cpu


def rate(events: int, span: Span) -> Figures:
    """Events per wall-clock second, and CPU microseconds an event (all cores together: less
    sensitive to other processes on the machine than the rate)."""
    return {
        "events": events,
        "seconds": span.wall,
        "rate": events / span.wall,
        "cpu_us": span.cpu / events * 1e6,
    }


# --- 1. appending ------------------------------------------------------------------------------


def signed_ledger(db: Path | str, n: int, *, lazy: bool = False) -> tuple[Ledger, Span]:
    """A new ledger at ``db`` (a SQLite path or a PostgreSQL URL) with ``n`` MetricSubmitted
    events appended in batches, and the time the appends took (``Ledger.create`` excluded).

    The payloads are made beforehand, untimed, as for the plain eventsourcing twin; ``lazy``
    makes them a batch at a time instead (timed, ~1 µs an event), so that building a large
    ledger holds one batch, not a million dicts, and its peak RSS is the ledger's own."""
    key = keys.generate("Bench Secretary")
    ledger = Ledger.create(str(db), enterprise="Bench", number="0896.755.397", key=key)
    made: Iterable[Sequence[dict[str, Any]]] = (
        ([payload(i) for i in range(start, min(n, start + BATCH))] for start in range(0, n, BATCH))
        if lazy
        else list(batches(payloads(n)))
    )
    with timed() as span:
        for batch in made:
            ledger.append(key, [Draft("MetricSubmitted", p) for p in batch])
    return ledger, span


def append_signed(scratch: Path, n: int) -> Figures:
    db = scratch / "ledger.db"
    ledger, span = signed_ledger(db, n)
    ledger.close()
    return rate(n, span) | {"file_bytes": file_bytes(db)}


class Metrics(Aggregate):
    """The plain eventsourcing twin of a ledger: one aggregate, unsigned events."""

    @event("MetricSubmitted")
    def submit(self, year: int, name: str, value: str, unit: str) -> None:
        self.last = value


def plain_eventsourcing(env: dict[str, str], n: int) -> Figures:
    """``n`` unsigned events of one aggregate, saved a batch at a time, on ``env``'s store."""
    app: Application[UUID] = Application(env=env)
    metrics = Metrics()
    app.save(metrics)
    data = payloads(n)
    with timed() as span:
        for batch in batches(data):
            for p in batch:
                metrics.submit(**p)
            app.save(metrics)
    app.close()
    return rate(n, span)


def append_eventsourcing(scratch: Path, n: int) -> Figures:
    db = scratch / "eventsourcing.db"
    env = {"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": str(db)}
    return plain_eventsourcing(env, n) | {"file_bytes": file_bytes(db)}


def signed_rows(scratch: Path, n: int) -> list[tuple[str, int, str, bytes]]:
    """``n`` signed entries in the recorder's row layout, made beforehand (untimed)."""
    ledger, _ = signed_ledger(scratch / "source.db", n)
    rows = [(ledger.id.hex, r.seq, r.topic, r.entry) for r in ledger.store.read(ledger.id, after=1)]
    ledger.close()
    return rows


def append_sqlite(scratch: Path, n: int) -> Figures:
    """The storage limit: the signed entries inserted with ``executemany`` in the recorder's
    table layout, WAL mode, one transaction per batch."""
    rows = signed_rows(scratch, n)
    db = scratch / "plain.db"
    connection = sqlite3.connect(db, isolation_level=None)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute(
        "CREATE TABLE stored_events (originator_id TEXT, originator_version INTEGER, "
        "topic TEXT, state BLOB, PRIMARY KEY (originator_id, originator_version))"
    )
    with timed() as span:
        for batch in batches(rows):
            connection.execute("BEGIN")
            connection.executemany("INSERT INTO stored_events VALUES (?,?,?,?)", batch)
            connection.execute("COMMIT")
    connection.close()
    return rate(n, span) | {"file_bytes": file_bytes(db)}


# The same three paths on PostgreSQL, each in a schema of its own, dropped afterwards.
POSTGRES_URL = os.environ.get(
    "LEDGER_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)


@contextmanager
def postgres_schema() -> Iterator[str]:
    import psycopg

    schema = f"bench_{os.getpid()}_{random.randrange(1 << 30)}"
    with psycopg.connect(POSTGRES_URL, autocommit=True) as c:
        c.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield schema
    finally:
        with psycopg.connect(POSTGRES_URL, autocommit=True) as c:
            c.execute(f'DROP SCHEMA "{schema}" CASCADE')


def postgres_bytes(schema: str) -> int:
    """Tables, indexes and TOAST of ``schema``: PostgreSQL's "file size"."""
    import psycopg

    with psycopg.connect(POSTGRES_URL) as c:
        row = c.execute(
            "SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0) FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = %s "
            "AND c.relkind = 'r'",
            (schema,),
        ).fetchone()
    return int(row[0]) if row else 0


def append_signed_postgres(scratch: Path, n: int) -> Figures:
    with postgres_schema() as schema:
        ledger, span = signed_ledger(f"{POSTGRES_URL}?schema={schema}", n)
        ledger.close()
        return rate(n, span) | {"file_bytes": postgres_bytes(schema)}


def append_eventsourcing_postgres(scratch: Path, n: int) -> Figures:
    from urllib.parse import urlsplit

    url = urlsplit(POSTGRES_URL)
    with postgres_schema() as schema:
        env = {
            "PERSISTENCE_MODULE": "eventsourcing.postgres",
            "POSTGRES_DBNAME": url.path.lstrip("/"),
            "POSTGRES_HOST": url.hostname or "localhost",
            "POSTGRES_PORT": str(url.port or 5432),
            "POSTGRES_USER": url.username or "postgres",
            "POSTGRES_PASSWORD": url.password or "",
            "POSTGRES_SCHEMA": schema,
        }
        return plain_eventsourcing(env, n) | {"file_bytes": postgres_bytes(schema)}


def append_postgres(scratch: Path, n: int) -> Figures:
    """PostgreSQL's storage limit: the signed entries inserted with psycopg ``executemany``
    (pipelined) into the recorder's table layout, one transaction per batch."""
    import psycopg

    rows = signed_rows(scratch, n)
    with postgres_schema() as schema, psycopg.connect(POSTGRES_URL) as c:
        c.execute(f'SET search_path TO "{schema}"')
        c.execute(
            "CREATE TABLE stored_events (originator_id TEXT, originator_version BIGINT, "
            "topic TEXT, state BYTEA, PRIMARY KEY (originator_id, originator_version))"
        )
        c.commit()
        with timed() as span:
            for batch in batches(rows):
                with c.cursor() as cursor:
                    cursor.executemany("INSERT INTO stored_events VALUES (%s,%s,%s,%s)", batch)
                c.commit()
        return rate(n, span) | {"file_bytes": postgres_bytes(schema)}


# --- 2. verifying ------------------------------------------------------------------------------


def build(scratch: Path, db: str, n: int) -> Figures:
    """The ledger the verify measurements read: genesis plus ``n`` events, at ``db``."""
    ledger, span = signed_ledger(Path(db), n, lazy=True)
    ledger.close()
    return rate(n, span) | {"file_bytes": file_bytes(Path(db)), "stored": n + 1}


def verify(scratch: Path, db: str, workers: int | None) -> Figures:
    ledger = Ledger.open(db, read_only=True)
    with timed() as span:
        result = verify_ledger(ledger.store, ledger.id, workers=workers)
    ledger.close()
    if not result.ok:
        raise SystemExit(f"verify failed: {result.failures[:3]}")
    return rate(result.events, span) | {"workers": workers or os.cpu_count()}


def per_second(fn: Callable[[], object], seconds: float, calls: int = 100) -> float:
    """How many calls of ``fn`` one core makes per second of its CPU time (as ``openssl speed``
    counts), timed over about ``seconds``, the clock read every ``calls`` calls."""
    made, start = 0, time.process_time()
    while (elapsed := time.process_time() - start) < seconds:
        for _ in range(calls):
            fn()
        made += calls
    return made / elapsed


def signature_rates(seconds: float) -> Figures:
    """Ed25519 verify of a 600-byte message, each verifier's key object made beforehand:
    OpenSSL's (``cryptography``'s ``Ed25519PublicKey.verify``); libsodium's, plain (PyNaCl's
    public ``VerifyKey.verify(message, signature)``, which hands libsodium's
    ``crypto_sign_open`` the signature and the message, as the ledger does); and as the ledger
    calls it (``verify_signature``: the key policy, then that same libsodium call)."""
    private = Ed25519PrivateKey.generate()
    public = private.public_key()
    raw = public.public_bytes(Encoding.Raw, PublicFormat.Raw)
    sodium = VerifyKey(raw)
    message = os.urandom(600)
    signature = private.sign(message)
    sodium.verify(message, signature)  # raises unless it verifies
    if not verify_signature(raw, signature, message):
        raise SystemExit("verify_signature refuses a good signature")
    return {
        "ed25519_verify_600": per_second(lambda: public.verify(signature, message), seconds),
        "libsodium_verify_600": per_second(lambda: sodium.verify(message, signature), seconds),
        "verify_signature_600": per_second(
            lambda: verify_signature(raw, signature, message), seconds
        ),
    }


def entry_rates(scratch: Path, seconds: float) -> Figures:
    """A worker's job on one real MetricSubmitted entry: parsing it, then also verifying it."""
    ledger, _ = signed_ledger(scratch / "one.db", 1)
    [signer] = ledger.registry().signers.values()
    entry = next(ledger.store.read(ledger.id, after=1)).entry
    ledger.close()

    def check() -> bool:
        parsed = parse_entry(entry)
        message = SIGNING_CONTEXT + parsed.envelope_bytes
        return verify_signature(signer.public_key, parsed.signature, message)

    return {
        "parse_entry": per_second(lambda: parse_entry(entry), seconds),
        "check_entry": per_second(check, seconds),
        "entry_bytes": len(entry),
    }


@dataclass
class Known(rulebook.Knowledge):
    """What the rules know of the events before the one judged, for ``check_context``: each
    one's type and schema (as verify's fold keeps them), and what the rulebook remembers."""

    kinds: dict[int, tuple[str, int]] = field(default_factory=dict)

    def kind_of(self, seq: int) -> tuple[str, int] | None:
        return self.kinds.get(seq)

    def add(self, env: Envelope) -> None:
        self.kinds[env.seq] = (env.type, env.schema)
        self.remember(env)


def refused(what: str, refusal: object) -> None:
    """A rule measured on an event it refuses measures a shortcut: stop the bench."""
    if refusal is not None:
        raise SystemExit(f"RULE REFUSED {what}: {refusal}")


def rule_costs(
    ledger_id: str, rows: Sequence[tuple[int, str, bytes]], seq: int, seconds: float
) -> Figures:
    """The single-core rate of each rule verify applies to stored event ``seq`` of ``rows``
    (every stored event, in order), judged with what the events before it leave (their signer
    registry, their ``Known``); each must pass it. ``worker``: verify's whole job on it in a
    worker (``_check_page``: hash, parse, payload, signature, the page's summary), on its page
    of 256 when it is in one that passes whole, else on it alone."""
    before = [parse_entry(entry).envelope for _, _, entry in rows[: seq - 1]]
    registry, known = Registry(), Known()
    for env in before:
        registry.apply(env)
        known.add(env)
    _, topic, data = rows[seq - 1]
    entry = parse_entry(data)
    env = entry.envelope
    head = rulebook.Head(seq, env.prev, before[-1].recorded_at)
    public = registry.signers[env.signer].public_key
    message = SIGNING_CONTEXT + entry.envelope_bytes
    page_keys = {s.key_id: s.public_key for s in registry.signers.values()}
    at = (seq - 1) // verifying.CHUNK * verifying.CHUNK
    page = [(n, t, e) for n, t, e in rows[at : at + verifying.CHUNK]]
    if len(page) < verifying.CHUNK or not isinstance(
        verifying._check_page((page, page_keys, 0), ledger_id), verifying._Page
    ):
        page = [(seq, topic, data)]

    checks: dict[str, Callable[[], object]] = {
        "parse_entry": lambda: parse_entry(data),
        "check_payload": lambda: rulebook.check_payload(env),
        "catalogue.validate": lambda: catalogue.validate(env.type, env.schema, env.payload),
        "semantics.check_payload": lambda: semantics.check_payload(
            env.type, env.schema, env.payload
        ),
        "check_link": lambda: rulebook.check_link(ledger_id, head, env, seq),
        "Registry.check": lambda: registry.check(env),
        "verify_signature": lambda: verify_signature(public, entry.signature, message),
        "leaf_hash": lambda: merkle.leaf_hash(data),
    }
    if rulebook.needs_context(env.type, env.schema):
        checks["check_context"] = lambda: rulebook.check_context(env, known, registry)
    for name, check in checks.items():
        if name not in ("parse_entry", "leaf_hash"):  # the others judge: None (True) passes
            answer = check()
            refused(f"{name} of {env.type} {seq}", None if answer is True else answer)
    rates = {name: per_second(check, seconds) for name, check in checks.items()}
    job = (page, page_keys, 0)
    rates["worker"] = len(page) * per_second(
        lambda: verifying._check_page(job, ledger_id), seconds, calls=1 if len(page) > 1 else 100
    )
    return {"seq": seq, "entry_bytes": len(data), "page": len(page), "rates": rates}


def rule_rates(scratch: Path, seconds: float) -> Figures:
    """The cost of each rule on a MetricSubmitted (the bulk of a ledger: event 300, in a page of
    256 figures that verify takes whole) and on a ResolutionVoted (a governance event whose
    rules read its assembly: the first of the catalogue examples' history), in a ledger of the
    genesis, a board key, that history and MetricSubmitted up to 512 events."""
    ledger, key = new_ledger(scratch / "rules.db")
    board = keys.generate("Bench Board")
    ledger.append(key, [enrolment(board, ["board", "treasurer"])])
    replay_history(ledger, key, board)
    grow(ledger, key, 2 * verifying.CHUNK - ledger.size())
    rows = [(r.seq, r.topic, r.entry) for r in ledger.store.read(ledger.id)]
    ledger_id = str(ledger.id)
    ledger.close()
    resolution = next(n for n, topic, _ in rows if topic == "ResolutionVoted")
    return {
        "MetricSubmitted": rule_costs(ledger_id, rows, 300, seconds),
        "ResolutionVoted": rule_costs(ledger_id, rows, resolution, seconds),
    }


def single_core(scratch: Path, seconds: float) -> Figures:
    """Context for the verify limit: single-core rates of the pieces of a worker's job, and of
    each rule verify applies (``rules``)."""
    return (
        signature_rates(seconds)
        | entry_rates(scratch, seconds)
        | {"rules": rule_rates(scratch, seconds)}
    )


# --- 4. building the larger ledgers ----------------------------------------------------------


def grow(ledger: Ledger, key: SigningKey, count: int, start: int = 0) -> Span:
    """Append ``count`` MetricSubmitted events in batches of ``BUILD_BATCH``; only the appends
    are timed (each batch's payloads are made just before, so memory stays one batch)."""
    total = Span()
    for first in range(start, start + count, BUILD_BATCH):
        last = min(first + BUILD_BATCH, start + count)
        drafts = [Draft("MetricSubmitted", payload(i)) for i in range(first, last)]
        with timed() as span:
            ledger.append(key, drafts)
        total.wall += span.wall
        total.cpu += span.cpu
    return total


def enrolment(key: SigningKey, roles: Sequence[str]) -> Draft:
    return commands.enrolment(key.public, key.public.name, roles)


def new_ledger(db: Path) -> tuple[Ledger, SigningKey]:
    """An empty ledger (its genesis event only) whose secretary key has roles admin+secretary."""
    key = keys.generate("Bench Secretary")
    return Ledger.create(str(db), enterprise="Bench", number="0896.755.397", key=key), key


def build_metrics(scratch: Path, db: str, n: int) -> Figures:
    """A ledger of ``n`` events at ``db``: the genesis, then MetricSubmitted in batches of 5000."""
    ledger, key = new_ledger(Path(db))
    span = grow(ledger, key, n - 1)
    stored = ledger.size()
    ledger.close()
    return rate(n - 1, span) | {"file_bytes": file_bytes(Path(db)), "stored": stored}


# --- 5. proofs ---------------------------------------------------------------------------------

ROOT_REPEATS = 100


@dataclass(slots=True)
class Reference:
    """What the proofs are checked against, computed from the entries without the stored tree:
    the root at the full size, the roots at the old sizes asked for, the leaves asked for."""

    root: bytes
    roots: dict[int, bytes]
    leaves: dict[int, bytes]


def reference(rows: Iterable[bytes], sizes: set[int], indexes: set[int]) -> Reference:
    tree = merkle.CompactRange()
    roots, leaves = {}, {}
    for index, entry in enumerate(rows):
        leaf = merkle.leaf_hash(entry)
        tree.append(leaf)
        if index in indexes:
            leaves[index] = leaf
        if index + 1 in sizes:
            roots[index + 1] = tree.root()
    return Reference(tree.root(), roots, leaves)


def per_call(
    fn: Callable[[int], T], args: Sequence[int], budget: float | None = None
) -> tuple[list[T], list[float], float]:
    """Call ``fn`` on each argument: the results, each call's wall-clock ms, total CPU seconds.
    With a ``budget`` (seconds), stop once that much time has gone, after at least 10 calls."""
    results, times = [], []
    cpu, began = time.process_time(), time.perf_counter()
    for arg in args:
        start = time.perf_counter()
        results.append(fn(arg))
        end = time.perf_counter()
        times.append((end - start) * 1e3)
        if budget is not None and len(times) >= 10 and end - began > budget:
            break
    return results, times, time.process_time() - cpu


def spread(times_ms: Sequence[float], cpu_seconds: float, asked: int) -> Figures:
    """Median, p99 and max of per-call wall-clock ms, and the mean CPU ms a call."""
    p99 = statistics.quantiles(times_ms, n=100, method="inclusive")[98]
    return {
        "asked": asked,
        "count": len(times_ms),
        "median_ms": statistics.median(times_ms),
        "p99_ms": p99,
        "max_ms": max(times_ms),
        "cpu_ms": cpu_seconds * 1e3 / len(times_ms),
    }


def fail_loudly(what: str, check: Callable[[], None]) -> None:
    try:
        check()
    except merkle.ProofError as e:
        raise SystemExit(f"WRONG PROOF: {what}: {e.reason}: {e}") from e


def proofs(
    scratch: Path, db: str, samples: int, budget: float | None = None, seed: int = 2025
) -> Figures:
    """The root at the ledger's size, ``samples`` inclusion proofs of random events at that size
    and ``samples`` consistency proofs from random old sizes, each timed alone, then each
    checked (untimed) against roots and leaves recomputed from the entries. ``budget``: the
    seconds each of the three may take at most (the calls left are not made)."""
    ledger = Ledger.open(db, read_only=True)
    size = ledger.size()
    rng = random.Random(seed)
    indexes = [rng.randrange(size) for _ in range(samples)]
    olds = [rng.randrange(1, size) for _ in range(samples)]
    with timed() as ref_span:
        rows = (r.entry for r in ledger.store.read(ledger.id))
        ref = reference(rows, set(olds), set(indexes))
    tree = ledger.tree()
    with timed() as first_root:
        root = tree.root(size)
    _, root_ms, root_cpu = per_call(tree.root, [size] * ROOT_REPEATS, budget)
    inclusion, inclusion_ms, inclusion_cpu = per_call(
        lambda i: tree.inclusion_proof(i, size), indexes, budget
    )
    consistency, consistency_ms, consistency_cpu = per_call(
        lambda old: tree.consistency_proof(old, size), olds, budget
    )
    ledger.close()
    indexes, olds = indexes[: len(inclusion)], olds[: len(consistency)]

    if root != ref.root:
        raise SystemExit(f"WRONG ROOT at size {size}: {root.hex()}, entries give {ref.root.hex()}")
    for i, path in zip(indexes, inclusion, strict=True):
        fail_loudly(
            f"inclusion of leaf {i} in {size}",
            lambda i=i, path=path: merkle.verify_inclusion(ref.leaves[i], i, size, path, root),
        )
    for old, path in zip(olds, consistency, strict=True):
        fail_loudly(
            f"consistency {old} -> {size}",
            lambda old=old, path=path: merkle.verify_consistency(
                old, size, path, ref.roots[old], root
            ),
        )
    # The checks must be able to fail: a proof with one bit flipped is refused.
    bad = [bytes([inclusion[0][0][0] ^ 1]) + inclusion[0][0][1:], *inclusion[0][1:]]
    try:
        merkle.verify_inclusion(ref.leaves[indexes[0]], indexes[0], size, bad, root)
    except merkle.ProofError:
        pass
    else:
        raise SystemExit("a tampered inclusion proof verified: the checks prove nothing")

    return {
        "size": size,
        "reference_seconds": ref_span.wall,
        "root_first_ms": first_root.wall * 1e3,
        "budget_seconds": budget,
        "root": spread(root_ms, root_cpu, ROOT_REPEATS),
        "inclusion": spread(inclusion_ms, inclusion_cpu, samples)
        | {"hashes": statistics.mean(len(p) for p in inclusion)},
        "consistency": spread(consistency_ms, consistency_cpu, samples)
        | {"hashes": statistics.mean(len(p) for p in consistency)},
    }


# --- 6. incremental audit ----------------------------------------------------------------------

COUNCIL = "Conseil national de la Coopération"


def cosigned(ledger: Ledger, key: SigningKey, council: SigningKey) -> bytes:
    """A checkpoint of the whole ledger, signed by ``key`` and cosigned by ``council``."""
    signed = transparency.sign_checkpoint(ledger, key)
    return transparency.cosign_checkpoint(ledger, signed, council, datetime.now(UTC))


def audit_build(scratch: Path, folder: str, n: int, new: int) -> Figures:
    """In ``folder``: the bundle of a ledger of ``n`` events (genesis, a Council key enrolled,
    MetricSubmitted), cosigned checkpoints at ``n - new`` (``trusted-old.cp``) and at ``n``
    (``trusted-head.cp``), the audit states an audit of the ledger's bundles at those sizes
    saves (``state-old.json``, ``state-head.json``), and the Council's public key
    (``council.pub``, raw bytes)."""
    out = Path(folder)
    db = out / "ledger.db"
    ledger, key = new_ledger(db)
    council = keys.generate(COUNCIL)
    ledger.append(key, [enrolment(council, ["council"])])
    old = n - new
    first = grow(ledger, key, old - 2)
    (out / "trusted-old.cp").write_bytes(cosigned(ledger, key, council))
    transparency.export(ledger, out / "ledger-old.bundle")
    second = grow(ledger, key, new, start=old - 2)
    (out / "trusted-head.cp").write_bytes(cosigned(ledger, key, council))
    (out / "council.pub").write_bytes(council.public.raw)
    with timed() as export_span:
        exported = transparency.export(ledger, out / "ledger.chain.bundle")
    ledger.close()
    if exported != n:
        raise SystemExit(f"exported {exported} events, expected {n}")
    for name, bundle in (("old", "ledger-old.bundle"), ("head", "ledger.chain.bundle")):
        audited = transparency.audit(out / bundle, [council.public])
        if audited.state is None:
            raise SystemExit(f"audit of {bundle} failed: {audited.result.failures[:3]}")
        auditstate.save(out / f"state-{name}.json", audited.state)
    span = Span(first.wall + second.wall, first.cpu + second.cpu)
    return rate(n - 2, span) | {
        "stored": n,
        "file_bytes": file_bytes(db),
        "bundle_bytes": (out / "ledger.chain.bundle").stat().st_size,
        "export_seconds": export_span.wall,
    }


def audit(
    scratch: Path,
    folder: str,
    trusted: str | None,
    state: str | None = None,
    workers: int | None = None,
) -> Figures:
    """``transparency.audit`` of the bundle in ``folder``, trusting the Council key, with the
    ``trusted-<trusted>.cp`` checkpoint and from the ``state-<state>.json`` audit state, read
    within the time (None: neither)."""
    out = Path(folder)
    council = PublicKey((out / "council.pub").read_bytes(), COUNCIL)
    data = (out / f"trusted-{trusted}.cp").read_bytes() if trusted else None
    with timed() as span:
        saved = auditstate.load(out / f"state-{state}.json") if state else None
        audited = transparency.audit(
            out / "ledger.chain.bundle", [council], data, state=saved, workers=workers
        )
    result = audited.result
    if not result.ok:
        raise SystemExit(f"audit failed: {result.failures[:3]}")
    if saved is not None and audited.skipped != saved.resume.size:
        raise SystemExit(f"the audit did not start from the state: {audited.why_not}")
    return rate(result.events, span) | {
        "trusted": trusted,
        "state": state,
        "skipped": audited.skipped,
        "cpu_seconds": span.cpu,
    }


# --- 7. compliance -----------------------------------------------------------------------------

# The examples number their events from a bare genesis (seq 1); ours enrols the board key first.
OFFSET = 1
BOARD_TYPES = ("BoardReviewRecorded", "SpecialReportAdopted")


def replay_history(ledger: Ledger, key: SigningKey, board: SigningKey) -> int:
    """Append the governance history of tests/data/catalogue_examples.json to a ledger of its
    genesis and the ``board`` key's enrolment (board reviews and the special report signed by
    ``board``, the rest by ``key``); returns how many events it appended."""
    history = orjson.loads(EXAMPLES.read_bytes())["history"]
    for example in history:
        event_type = example["type"]
        effective = None if event_type == "EventCorrected" else example["effective"]
        draft = Draft(
            event_type, semantics.shifted(event_type, 1, example["payload"], OFFSET), effective
        )
        [entry] = ledger.append(board if event_type in BOARD_TYPES else key, [draft])
        if entry.envelope.seq != example["seq"] + OFFSET:
            raise SystemExit(f"{event_type} landed at {entry.envelope.seq}, not {example['seq']}")
    return len(history)


def compliance_build(scratch: Path, db: str, n: int) -> Figures:
    """A ledger of ``n`` events: genesis, a board key enrolled, the governance history of
    tests/data/catalogue_examples.json (statutes, assemblies, resolutions, accounts, board
    reviews, a correction, a retraction…), then MetricSubmitted up to ``n``."""
    ledger, key = new_ledger(Path(db))
    board = keys.generate("Bench Board")
    ledger.append(key, [enrolment(board, ["board", "treasurer"])])
    with timed() as history_span:
        governance = replay_history(ledger, key, board)
    span = grow(ledger, key, n - ledger.size())
    stored = ledger.size()
    ledger.close()
    return rate(n - 2 - governance, span) | {
        "stored": stored,
        "governance": governance,
        "history_seconds": history_span.wall,
        "file_bytes": file_bytes(Path(db)),
    }


def digest(answer: projection.Compliance) -> str:
    """A short hash of a compliance answer, to check that every path gives the same."""
    data = orjson.dumps(answer.to_json() | {"size": answer.size}, option=orjson.OPT_SORT_KEYS)
    return hashlib.sha256(data).hexdigest()[:16]


def statuses(answer: projection.Compliance) -> dict[str, int]:
    counts: dict[str, int] = {}
    for c in answer.conditions:
        counts[c.status] = counts.get(c.status, 0) + 1
    return counts


def report_cold(scratch: Path, db: str, year: int, repeats: int) -> Figures:
    """``documents.produce`` of the year's special report in Markdown (fr), as ``ledger report``
    makes it: it verifies the whole ledger first (``verify_ledger``, every core; a report never
    rests on a ledger that does not verify), then folds the report's World through the type
    index, judged by the rulebook (``projected.world``), and renders it. Nothing is kept between
    calls: each one does it all again."""
    ledger = Ledger.open(db, read_only=True)
    answers, times, cpu = per_call(
        lambda _: documents.produce(ledger, year, "fr", "md").data, range(repeats)
    )
    ledger.close()
    return {
        "runs_ms": times,
        "median_ms": statistics.median(times),
        "cpu_ms": cpu * 1e3 / repeats,
        "bytes": len(answers[-1]),
    }


def compliance_every_event(scratch: Path, db: str, year: int, repeats: int) -> Figures:
    """The reference: every event read and parsed, in order, and folded (``projection.fold``
    of ``Ledger.entries()``), then ``evaluate``; no type index, no rule judged."""
    ledger = Ledger.open(db, read_only=True)

    def replay(_: int) -> projection.Compliance:
        every = projection.fold(e.envelope for e in ledger.entries())
        return projection.evaluate(every, year)

    answers, times, cpu = per_call(replay, range(repeats))
    size = ledger.size()
    ledger.close()
    if answers[-1].size != size:
        raise SystemExit(f"the fold of every event folded {answers[-1].size} events of {size}")
    return {
        "events": size,
        "runs_ms": times,
        "median_ms": statistics.median(times),
        "cpu_ms": cpu * 1e3 / repeats,
        "digest": digest(answers[-1]),
        "statuses": statuses(answers[-1]),
    }


def compliance_indexed(scratch: Path, db: str, year: int, repeats: int) -> Figures:
    """``projected.compliance``, what ``ledger compliance`` runs: the event types the
    compliance World needs (and the signer, correction and checkpoint events), read through the
    store's type index and each judged by the rulebook (``Ledger.judged``), folded, evaluated,
    with ``ledger.tree().root(size)``, the root the answer rests on. Nothing is kept: every call
    folds from the events. The first call of the process (which also loads the rules and
    compiles the schemas it meets) is reported apart, then ``repeats`` more (the target
    figure)."""
    ledger = Ledger.open(db, read_only=True)

    def query(_: int) -> projection.Compliance:
        return projected.compliance(ledger, year)[0]

    [first], [first_ms], first_cpu = per_call(query, [0])
    answers, times, cpu = per_call(query, range(repeats))
    size = ledger.size()
    ledger.close()
    if answers[-1].size != size or digest(first) != digest(answers[-1]):
        raise SystemExit("projected.compliance answers differently from one call to the next")
    return {
        "events": size,
        "first_ms": first_ms,
        "first_cpu_ms": first_cpu * 1e3,
        "runs_ms": times,
        "median_ms": statistics.median(times),
        "p99_ms": statistics.quantiles(times, n=100, method="inclusive")[98],
        "max_ms": max(times),
        "cpu_ms": cpu * 1e3 / repeats,
        "digest": digest(answers[-1]),
        "statuses": statuses(answers[-1]),
    }


# --- 8. start-up -------------------------------------------------------------------------------

STARTUP_COMMANDS = {
    "python": ["-c", "pass"],  # the baseline: an interpreter that starts and stops
    "--help": ["-m", "ledger", "--help"],
    "log": ["-m", "ledger", "log"],
    "show 1": ["-m", "ledger", "show", "1"],
}


def startup(scratch: Path, runs: int) -> Figures:
    """Whole processes, as a user starts them, on a ledger of 20 events: ``python -m ledger
    --help``, ``log``, ``show 1``, beside a bare interpreter's start (the floor). Run in turn,
    ``runs`` times each, after one untimed run of each (the bytecode cache then holds every
    module: the state of an installed tool). The environment is the caller's, less
    ``PYTHONDONTWRITEBYTECODE``, which would compile every module at every start."""
    ledger, key = new_ledger(scratch / "ledger.db")
    grow(ledger, key, 19)
    ledger.close()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env.pop("LEDGER_URL", None)
    env.pop("LEDGER_ID", None)
    times: dict[str, list[float]] = {name: [] for name in STARTUP_COMMANDS}
    for round_ in range(runs + 1):
        for name, args in STARTUP_COMMANDS.items():
            started = time.perf_counter()
            done = subprocess.run(
                [sys.executable, *args], cwd=scratch, env=env, capture_output=True, check=False
            )
            elapsed = (time.perf_counter() - started) * 1e3
            if done.returncode != 0:
                raise SystemExit(f"{name} exited {done.returncode}: {done.stderr[-300:]!r}")
            if round_:
                times[name].append(elapsed)
    return {
        "commands": {
            name: {"runs_ms": found, "median_ms": statistics.median(found), "max_ms": max(found)}
            for name, found in times.items()
        }
    }


MEASUREMENTS: dict[str, Callable[..., Figures]] = {
    "append-signed": append_signed,
    "append-eventsourcing": append_eventsourcing,
    "append-sqlite": append_sqlite,
    "append-signed-postgres": append_signed_postgres,
    "append-eventsourcing-postgres": append_eventsourcing_postgres,
    "append-postgres": append_postgres,
    "build": build,
    "verify": verify,
    "single-core": single_core,
    "build-metrics": build_metrics,
    "proofs": proofs,
    "audit-build": audit_build,
    "audit": audit,
    "startup": startup,
    "compliance-build": compliance_build,
    "compliance-every-event": compliance_every_event,
    "compliance-indexed": compliance_indexed,
    "report-cold": report_cold,
}


def max_rss_mb(who: int) -> float:
    return resource.getrusage(who).ru_maxrss / 1024  # kilobytes on Linux


def main(argv: list[str]) -> None:
    name, args = argv[0], json.loads(argv[1]) if len(argv) > 1 else {}
    start_rss = max_rss_mb(resource.RUSAGE_SELF)
    with tempfile.TemporaryDirectory(prefix="coop-ledger-bench-") as scratch:
        figures = MEASUREMENTS[name](Path(scratch), **args)
    figures |= {
        "start_rss_mb": start_rss,
        "peak_rss_mb": max_rss_mb(resource.RUSAGE_SELF),
        "children_rss_mb": max_rss_mb(resource.RUSAGE_CHILDREN),
    }
    print(json.dumps(figures))


if __name__ == "__main__":
    main(sys.argv[1:])
