"""A SQLite file: eventsourcing's SQLite datastore and recorder, the shared SQL of ``sql``."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote
from uuid import UUID
from weakref import WeakSet

from eventsourcing.persistence import PersistenceError
from eventsourcing.sqlite import SQLiteApplicationRecorder, SQLiteConnection, SQLiteDatastore

from ledger.core.envelope import Row
from ledger.errors import StoreError
from ledger.store import sql
from ledger.store.sql import (
    EVENTS_TABLE,
    GUARDED,
    NODES_DDL,
    PERSONAL_DDL,
    TYPE_INDEX_DDL,
    SQLStore,
    lenient_text,
)


class _SecureDeleteDatastore(SQLiteDatastore):
    """eventsourcing's SQLite datastore, whose connections overwrite what they delete with
    zeros (``PRAGMA secure_delete``): without it an erased personal value stays readable in
    the file's free space. Builds of SQLite differ in the default (Debian's is on, SQLite's
    own is off), and the setting lives per connection, not in the file."""

    def __init__(self, db_name: str, **options: Any) -> None:
        super().__init__(db_name, **options)
        self._secured: WeakSet[SQLiteConnection] = WeakSet()

    @contextmanager
    def get_connection(self, *, commit: bool) -> Iterator[SQLiteConnection]:
        # The hook: every statement of the store and of the recorder runs in ``transaction``,
        # which takes its connection from this public method before its BEGIN. The places
        # that make connections are private (the pool's ``_create_connection``, which the
        # datastore builds itself) and a SQLite URI carries no pragmas.
        with super().get_connection(commit=commit) as conn:
            if conn not in self._secured:
                with conn.cursor() as c:
                    c.execute("PRAGMA secure_delete = ON")
                self._secured.add(conn)
            yield conn


class SQLiteStore(SQLStore):
    """A SQLite file."""

    _insertion_order = "rowid"
    _purge_statement = "PRAGMA wal_checkpoint(TRUNCATE)"

    @staticmethod
    def _tuple_rows(cursor: Any) -> None:
        cursor.sqlite_cursor.row_factory = None
        # Text an attacker wrote as bytes that are not UTF-8 (where a hash or an entry belongs,
        # say) then reads as text holding them, for verify to name the row: sqlite3's own
        # decoding would raise, and a tampered store would look like an unreadable one.
        cursor.sqlite_cursor.connection.text_factory = lenient_text

    def __init__(self, path: Path, *, read_only: bool) -> None:
        self.path = path
        self.target = str(path)
        mode = "ro" if read_only else "rwc"
        uri = f"file:{quote(str(path.resolve()))}?mode={mode}"
        try:
            self._datastore = _SecureDeleteDatastore(uri, lock_timeout=sql.LOCK_TIMEOUT_SECONDS)
            self._recorder = SQLiteApplicationRecorder(self._datastore, EVENTS_TABLE)
            if not read_only:
                self._create_schema()
        except (PersistenceError, sqlite3.Error) as e:
            # eventsourcing's connection setup (PRAGMA journal_mode) raises sqlite3's own errors
            # unwrapped: a read-only file or folder says so here, not as an internal error.
            raise StoreError(f"cannot open {path}: {e}") from e

    def _create_schema(self) -> None:
        triggers = [
            f"CREATE TRIGGER IF NOT EXISTS {table}_no_{action} BEFORE {action.upper()} ON {table} "
            f"BEGIN SELECT RAISE(ABORT, 'coop-ledger: {what} are append-only'); END"
            for table, what in GUARDED
            for action in ("update", "delete")
        ]
        with self._datastore.transaction(commit=True) as c:
            for statement in [
                *self._recorder.create_table_statements,
                NODES_DDL.format(blob="BLOB", suffix=" WITHOUT ROWID"),
                PERSONAL_DDL.format(blob="BLOB"),
                TYPE_INDEX_DDL,
                *triggers,
            ]:
                c.execute(statement)

    def _insert_events(self, cursor: Any, ledger: UUID, rows: Sequence[Row]) -> None:
        # The recorder's own statement on its own table, as one executemany: its
        # _insert_events runs one execute an event to collect notification ids we never use.
        originator = ledger.hex
        cursor.executemany(
            self._recorder.insert_events_statement,
            [(originator, r.seq, r.topic, r.entry) for r in rows],
        )

    def _has_table(self, name: str) -> bool:
        return bool(self._query("SELECT 1 FROM sqlite_master WHERE name = ?", (name,)))

    def _purge(self, token: str | None) -> str | None:
        # secure_delete zeroed the value in the pages the erasure wrote, but those go to the
        # -wal file, beside the images written when the value was stored: the checkpoint
        # copies the zeroed pages into the file and TRUNCATE empties the -wal. It cannot
        # finish while another connection reads a snapshot from before the erasure (the
        # file's old pages are what that snapshot reads), so it waits a bounded time for one.
        with self._datastore.get_connection(commit=True) as conn, conn.cursor() as c:
            [(bound,)] = c.execute("PRAGMA busy_timeout").fetchall()
            c.execute(f"PRAGMA busy_timeout = {int(sql.PURGE_WAIT_SECONDS * 1000)}")
            try:
                [(busy, _, _)] = c.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
            finally:
                c.execute(f"PRAGMA busy_timeout = {bound}")
        if not busy:
            return None
        return (
            "another connection still held a snapshot from before the erasure (or the write "
            f"lock) after {sql.PURGE_WAIT_SECONDS} s, so the -wal file could not be checkpointed; "
            "they go at the next erasure, or when the last connection to the file closes (any "
            "ledger command run while no other connection is open)"
        )
