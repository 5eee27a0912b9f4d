"""The store: ledgers as eventsourcing streams, one stream per enterprise ledger.

Each event is an eventsourcing ``StoredEvent`` whose originator id is the ledger id, whose
originator version is the sequence number, whose topic is the event type and whose state is the
entry's canonical bytes, untouched. The unique (originator id, version) key is the lock between
concurrent writers: the loser gets ``Conflict`` and must re-read, re-sign and retry.

Append-only is also enforced by the database: triggers refuse UPDATE and DELETE on the events
table (an attacker with file access can drop them; verification, not the triggers, is the proof).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote
from uuid import UUID

from eventsourcing.persistence import IntegrityError as RecordConflict
from eventsourcing.persistence import PersistenceError, StoredEvent
from eventsourcing.sqlite import SQLiteApplicationRecorder, SQLiteDatastore

from ledger.errors import LedgerStateError, StoreError

EVENTS_TABLE = "stored_events"
LOCK_TIMEOUT_SECONDS = 30
PAGE = 2000
T = TypeVar("T")

NODES_TABLE = "merkle_nodes"
_NODES = (
    f"CREATE TABLE IF NOT EXISTS {NODES_TABLE} (ledger TEXT NOT NULL, level INTEGER NOT NULL, "
    "idx INTEGER NOT NULL, hash BLOB NOT NULL, PRIMARY KEY (ledger, level, idx)) WITHOUT ROWID"
)
VIEWS_TABLE = "projection_views"
_VIEWS = (
    f"CREATE TABLE IF NOT EXISTS {VIEWS_TABLE} (ledger TEXT NOT NULL, name TEXT NOT NULL, "
    "size INTEGER NOT NULL, state BLOB NOT NULL, PRIMARY KEY (ledger, name))"
)
_TOPIC_INDEX = (
    f"CREATE INDEX IF NOT EXISTS {EVENTS_TABLE}_topic ON {EVENTS_TABLE} (originator_id, topic)"
)
_TRIGGERS = [
    f"CREATE TRIGGER IF NOT EXISTS {EVENTS_TABLE}_no_update BEFORE UPDATE ON {EVENTS_TABLE} "
    "BEGIN SELECT RAISE(ABORT, 'coop-ledger: events are append-only'); END",
    f"CREATE TRIGGER IF NOT EXISTS {EVENTS_TABLE}_no_delete BEFORE DELETE ON {EVENTS_TABLE} "
    "BEGIN SELECT RAISE(ABORT, 'coop-ledger: events are append-only'); END",
    f"CREATE TRIGGER IF NOT EXISTS {NODES_TABLE}_no_update BEFORE UPDATE ON {NODES_TABLE} "
    "BEGIN SELECT RAISE(ABORT, 'coop-ledger: tree nodes are append-only'); END",
    f"CREATE TRIGGER IF NOT EXISTS {NODES_TABLE}_no_delete BEFORE DELETE ON {NODES_TABLE} "
    "BEGIN SELECT RAISE(ABORT, 'coop-ledger: tree nodes are append-only'); END",
]


class Conflict(Exception):
    """Another writer took the sequence number first."""


@dataclass(frozen=True, slots=True)
class Row:
    """One stored event as the database holds it."""

    seq: int
    topic: str
    entry: bytes


class Store:
    """A SQLite file holding one or more ledgers. Use ``open_store``."""

    def __init__(self, path: Path, *, read_only: bool) -> None:
        self.path = path
        self.target = str(path)
        mode = "ro" if read_only else "rwc"
        uri = f"file:{quote(str(path.resolve()))}?mode={mode}"
        try:
            self._datastore = SQLiteDatastore(uri, lock_timeout=LOCK_TIMEOUT_SECONDS)
            self._recorder = SQLiteApplicationRecorder(self._datastore, EVENTS_TABLE)
            if not read_only:
                self._create_schema()
        except PersistenceError as e:
            raise StoreError(f"cannot open {path}: {e}") from e

    def _create_schema(self) -> None:
        with self._datastore.transaction(commit=True) as c:
            for statement in [
                *self._recorder.create_table_statements,
                _NODES,
                _VIEWS,
                _TOPIC_INDEX,
                *_TRIGGERS,
            ]:
                c.execute(statement)

    def ledgers(self) -> list[UUID]:
        """The ledgers in this store, oldest first."""
        rows = self._query(
            f"SELECT originator_id FROM {EVENTS_TABLE} WHERE originator_version = 1 ORDER BY rowid"
        )
        return [UUID(r[0]) for r in rows]

    def _rows(self, where: str, params: tuple[Any, ...]) -> list[Row]:
        """Events of the events table matching ``where`` (SQL after WHERE), as rows."""
        found = self._query(
            f"SELECT originator_version, topic, state FROM {EVENTS_TABLE} WHERE {where}", params
        )
        return [Row(seq=r[0], topic=r[1], entry=bytes(r[2])) for r in found]

    def last(self, ledger: UUID) -> Row | None:
        """The newest event of ``ledger``."""
        found = self._rows(
            "originator_id = ? ORDER BY originator_version DESC LIMIT 1", (ledger.hex,)
        )
        return found[0] if found else None

    def read(self, ledger: UUID, after: int = 0, upto: int | None = None) -> Iterator[Row]:
        """The events of ``ledger`` with ``after < seq <= upto``, in order, a page at a time."""
        # Plain SQL on the recorder's table: the recorder's own select builds a UUID and a
        # StoredEvent per row, a tenth of what verifying an event costs.
        limit = upto if upto is not None else 2**62
        while True:
            page = self._rows(
                "originator_id = ? AND originator_version > ? AND originator_version <= ? "
                f"ORDER BY originator_version LIMIT {PAGE}",
                (ledger.hex, after, limit),
            )
            yield from page
            if len(page) < PAGE:
                return
            after = page[-1].seq

    def rows(self, ledger: UUID, seqs: Sequence[int]) -> list[Row]:
        """The events of ``ledger`` with these sequence numbers (those that exist)."""
        if not seqs:
            return []
        marks = ",".join("?" * len(seqs))
        return self._rows(
            f"originator_id = ? AND originator_version IN ({marks})", (ledger.hex, *seqs)
        )

    def read_topics(self, ledger: UUID, topics: Sequence[str]) -> list[Row]:
        """The events of ``ledger`` whose stored type is one of ``topics``, in order."""
        marks = ",".join("?" * len(topics))
        return self._rows(
            f"originator_id = ? AND topic IN ({marks}) ORDER BY originator_version",
            (ledger.hex, *topics),
        )

    def append(
        self, ledger: UUID, rows: Sequence[Row], nodes: Sequence[tuple[int, int, bytes]] = ()
    ) -> None:
        """Insert ``rows`` and the Merkle tree ``nodes`` they complete in one transaction.

        Raises ``Conflict`` when a sequence number is taken, ``StoreError`` on any other failure.
        """
        events = [
            StoredEvent(
                originator_id=ledger, originator_version=r.seq, topic=r.topic, state=r.entry
            )
            for r in rows
        ]
        try:
            with self._datastore.transaction(commit=True) as c:
                # The recorder's own insert, inside our transaction, so that events and their
                # tree nodes land together or not at all.
                self._recorder._insert_events(c, events)
                c.executemany(
                    f"INSERT INTO {NODES_TABLE} VALUES (?,?,?,?)",
                    [(ledger.hex, level, idx, h) for level, idx, h in nodes],
                )
        except RecordConflict as e:
            raise Conflict(str(e)) from e
        except PersistenceError as e:
            raise StoreError(f"cannot write to {self.target}: {e}") from e

    def all_nodes(self, ledger: UUID) -> Iterator[tuple[int, int, bytes]]:
        """Every stored tree node of ``ledger``, by level then index, a page at a time."""
        level, idx = 0, -1
        while True:
            page = self._query(
                f"SELECT level, idx, hash FROM {NODES_TABLE} WHERE ledger = ? AND (level, idx) > "
                f"(?, ?) ORDER BY level, idx LIMIT {PAGE}",
                (ledger.hex, level, idx),
            )
            yield from ((r[0], r[1], bytes(r[2])) for r in page)
            if len(page) < PAGE:
                return
            level, idx = page[-1][0], page[-1][1]

    def nodes(
        self, ledger: UUID, wanted: Sequence[tuple[int, int]]
    ) -> dict[tuple[int, int], bytes]:
        """The stored tree nodes among ``wanted`` (level, index) pairs: O(log n) of them, each
        one primary-key lookup, in one read transaction."""
        statement = f"SELECT hash FROM {NODES_TABLE} WHERE ledger = ? AND level = ? AND idx = ?"

        def run() -> dict[tuple[int, int], bytes]:
            found = {}
            with self._datastore.transaction(commit=False) as c:
                for level, idx in wanted:
                    c.execute(statement, (ledger.hex, level, idx))
                    row = c.fetchone()
                    if row is not None:
                        found[(level, idx)] = bytes(row[0])
            return found

        return self._call(run) if wanted else {}

    def _call(self, fn: Callable[[], T]) -> T:
        try:
            return fn()
        except PersistenceError as e:
            raise StoreError(f"cannot read {self.target}: {e}") from e

    def _query(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        def run() -> list[tuple[Any, ...]]:
            with self._datastore.transaction(commit=False) as c:
                c.execute(sql, params)
                return [tuple(r) for r in c.fetchall()]

        try:
            return self._call(run)
        except sqlite3.Error as e:
            raise StoreError(f"cannot read {self.target}: {e}") from e

    def view(self, ledger: UUID, name: str) -> tuple[int, bytes] | None:
        """A materialised view's state and the ledger size it covers; None if none is kept."""
        try:
            rows = self._query(
                f"SELECT size, state FROM {VIEWS_TABLE} WHERE ledger = ? AND name = ?",
                (ledger.hex, name),
            )
        except StoreError:
            return None  # a store opened read-only before views existed has no table
        return (rows[0][0], bytes(rows[0][1])) if rows else None

    def save_view(self, ledger: UUID, name: str, size: int, state: bytes) -> None:
        """Keep a view's state at ``size``, unless a larger one is kept already.

        Views are caches: rebuilt from the events at will, never trusted for integrity.
        """
        try:
            with self._datastore.transaction(commit=True) as c:
                c.execute(
                    f"INSERT INTO {VIEWS_TABLE} VALUES (?,?,?,?) ON CONFLICT (ledger, name) DO "
                    "UPDATE SET size = excluded.size, state = excluded.state "
                    "WHERE excluded.size > size",
                    (ledger.hex, name, size, state),
                )
        except PersistenceError as e:
            raise StoreError(f"cannot write to {self.target}: {e}") from e

    def close(self) -> None:
        self._datastore.close()


def open_store(target: str, *, create: bool = False, read_only: bool = False) -> Store:
    """Open the store named by ``--ledger``: a SQLite file path.

    Without ``create``, a missing file is an input error (no ledger there yet), never a new file.
    """
    if target.startswith(("postgresql://", "postgres://")):
        raise StoreError("PostgreSQL targets are not supported yet; use a SQLite file path")
    path = Path(target)
    if not create and not path.is_file():
        raise LedgerStateError(f"no ledger at {path}; create one with: ledger init")
    if create and path.parent and not path.parent.is_dir():
        raise LedgerStateError(f"folder {path.parent} does not exist")
    return Store(path, read_only=read_only)
