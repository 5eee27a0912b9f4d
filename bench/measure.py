"""One measurement in a fresh process: ``python bench/measure.py NAME '{"arg": value}'``.

Prints one JSON object on its last line: the measurement's figures plus the peak resident set
size of this process (``peak_rss_mb``), of its largest finished child (``children_rss_mb``,
verify's worker processes) and the RSS after imports (``start_rss_mb``). Every measurement gets a
scratch folder that is deleted when it ends.
"""

from __future__ import annotations

import json
import os
import resource
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar
from uuid import UUID

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event

from ledger import keys
from ledger.envelope import SIGNING_CONTEXT, parse_entry
from ledger.keys import verify_signature
from ledger.ledger import Draft, Ledger
from ledger.verify import verify_ledger

BATCH = 1000
Figures = dict[str, Any]
T = TypeVar("T")


def payloads(n: int) -> list[dict[str, Any]]:
    return [{"year": 2025, "name": f"m{i % 50}", "value": str(i), "unit": "EUR"} for i in range(n)]


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


def signed_ledger(db: Path, n: int) -> tuple[Ledger, Span]:
    """A new ledger at ``db`` with ``n`` MetricSubmitted events appended in batches, and the
    time the appends took (``Ledger.create`` excluded)."""
    key = keys.generate("Bench Secretary")
    ledger = Ledger.create(str(db), enterprise="Bench", number="0896.755.397", key=key)
    data = payloads(n)
    with timed() as span:
        for batch in batches(data):
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


def append_eventsourcing(scratch: Path, n: int) -> Figures:
    db = scratch / "eventsourcing.db"
    env = {"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": str(db)}
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
    return rate(n, span) | {"file_bytes": file_bytes(db)}


def append_sqlite(scratch: Path, n: int) -> Figures:
    """The storage limit: the signed entries (made beforehand, untimed) inserted with
    ``executemany`` in the recorder's table layout, WAL mode, one transaction per batch."""
    ledger, _ = signed_ledger(scratch / "source.db", n)
    rows = [(ledger.id.hex, r.seq, r.topic, r.entry) for r in ledger.store.read(ledger.id, after=1)]
    ledger.close()
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


# --- 2. verifying ------------------------------------------------------------------------------


def build(scratch: Path, db: str, n: int) -> Figures:
    """The ledger the verify measurements read: genesis plus ``n`` events, at ``db``."""
    ledger, span = signed_ledger(Path(db), n)
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


def per_second(fn: Callable[[], object], seconds: float) -> float:
    """How many calls of ``fn`` one core makes per second of its CPU time (as ``openssl speed``
    counts), timed over about ``seconds``."""
    calls, start = 0, time.process_time()
    while (elapsed := time.process_time() - start) < seconds:
        for _ in range(100):
            fn()
        calls += 100
    return calls / elapsed


def signature_rates(seconds: float) -> Figures:
    """Ed25519 verify of a 600-byte message: with the key object ready, and as the ledger calls
    it (``verify_signature`` loads the key from its 32 bytes each time)."""
    private = Ed25519PrivateKey.generate()
    public = private.public_key()
    raw = public.public_bytes(Encoding.Raw, PublicFormat.Raw)
    message = os.urandom(600)
    signature = private.sign(message)
    return {
        "ed25519_verify_600": per_second(lambda: public.verify(signature, message), seconds),
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


def single_core(scratch: Path, seconds: float) -> Figures:
    """Context for the verify limit: single-core rates of the pieces of a worker's job."""
    return signature_rates(seconds) | entry_rates(scratch, seconds)


MEASUREMENTS: dict[str, Callable[..., Figures]] = {
    "append-signed": append_signed,
    "append-eventsourcing": append_eventsourcing,
    "append-sqlite": append_sqlite,
    "build": build,
    "verify": verify,
    "single-core": single_core,
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
