"""The store: ledgers as eventsourcing streams, one stream per enterprise ledger, in a SQLite
file or a PostgreSQL database.

Each event is an eventsourcing ``StoredEvent`` whose originator id is the ledger id (32 hex
digits, as text, on both backends), whose originator version is the sequence number, whose topic
is the event type and whose state is the entry's canonical bytes, untouched. The unique
(originator id, version) key is the lock between concurrent writers: the loser gets ``Conflict``
and must re-read, re-sign and retry.

Append-only is also enforced by the database: triggers refuse UPDATE and DELETE (and TRUNCATE on
PostgreSQL) on the events and tree tables. An attacker with database access can drop them;
verification, not the triggers, is the proof.

The SQL is written once, with ``?`` placeholders and types both dialects accept; the two
``Store`` subclasses differ only in connecting, creating the schema and the recorder's insert.
"""

from __future__ import annotations

import getpass
import heapq
import logging
import os
import sqlite3
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import parse_qs, quote, unquote, urlsplit
from uuid import UUID
from weakref import WeakSet

from eventsourcing.persistence import IntegrityError as RecordConflict
from eventsourcing.persistence import PersistenceError
from eventsourcing.sqlite import SQLiteApplicationRecorder, SQLiteConnection, SQLiteDatastore

from ledger.core.envelope import Row
from ledger.errors import InputError, LedgerStateError, StoreError

EVENTS_TABLE = "stored_events"
NODES_TABLE = "merkle_nodes"
PERSONAL_TABLE = "personal_data"
LOCK_TIMEOUT_SECONDS = 30
CONNECT_TIMEOUT_SECONDS = 5
# How long the purge after an erasure waits for readers whose snapshot predates it to finish:
# the store's own reads are short transactions, so only a reader parked in one waits it out.
PURGE_WAIT_SECONDS = 5
PAGE = 2000
T = TypeVar("T")
_log = logging.getLogger("ledger.store")  # the name users filter on, wherever the code moves

_NODES = (
    f"CREATE TABLE IF NOT EXISTS {NODES_TABLE} (ledger TEXT NOT NULL, level INTEGER NOT NULL, "
    "idx BIGINT NOT NULL, hash {blob} NOT NULL, PRIMARY KEY (ledger, level, idx)){suffix}"
)
# Clear values of personal fields (ledger.personal): outside the signed entries, erasable, so
# no append-only trigger guards this table.
_PERSONAL = (
    f"CREATE TABLE IF NOT EXISTS {PERSONAL_TABLE} (ledger TEXT NOT NULL, seq BIGINT NOT NULL, "
    "field TEXT NOT NULL, salt {blob} NOT NULL, value {blob} NOT NULL, "
    "PRIMARY KEY (ledger, seq, field))"
)
# Events of one type in order, a range of this index: what projections and the registry read.
# (Stores made before it also have stored_events_topic, on the first two columns: an index a
# query ordered by version cannot walk, which SQLite then passed over for a scan of the ledger.)
TYPE_INDEX = f"{EVENTS_TABLE}_type_seq"
_TYPE_INDEX = (
    f"CREATE INDEX IF NOT EXISTS {TYPE_INDEX} ON {EVENTS_TABLE} "
    "(originator_id, topic, originator_version)"
)
# (table, what its rows are) for the append-only triggers.
_GUARDED = ((EVENTS_TABLE, "events"), (NODES_TABLE, "tree nodes"))


class Conflict(Exception):
    """Another writer took the sequence number first."""


def _blob(value: object) -> bytes:
    """A stored byte column as bytes, whatever an attacker with database access left in it (a
    TEXT value, a number, NULL), so that verification names the row instead of crashing."""
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value)
    return b"" if value is None else str(value).encode("utf-8", "surrogateescape")


def _blobs_third(rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """Rows of three columns, the third a stored byte column (an entry, a node's hash), with it
    as bytes (``_blob``); as they are when it already is, as a store nobody tampered holds it."""
    if all(type(row[2]) is bytes for row in rows):
        return rows
    return [(row[0], row[1], _blob(row[2])) for row in rows]


def _lenient_text(data: bytes) -> str:
    return data.decode("utf-8", "surrogateescape")


def _seq(row: Row) -> int:
    return row.seq


Node = tuple[int, int, bytes]  # a Merkle tree node: level, index, hash
Held = tuple[int, str, bytes, bytes]  # a clear personal value: seq, field, salt, value


class Store:
    """One or more ledgers in a database. Use ``open_store``; subclasses say how to connect."""

    target: str
    _datastore: Any
    _recorder: Any
    # The column that numbers events in insertion order across ledgers.
    _insertion_order: str
    # Why the bytes of the values the last erasing ``append`` deleted may still be in the
    # database files (None: purged); also logged as a warning.
    remnant: str | None = None
    # What ``_purge`` runs, as the user can run it again.
    _purge_statement: str

    def _sql(self, statement: str) -> str:
        """``statement`` in this dialect's placeholder style."""
        return statement

    def _insert_events(self, cursor: Any, ledger: UUID, rows: Sequence[Row]) -> None:
        raise NotImplementedError

    def _insert_nodes(self, cursor: Any, ledger: UUID, nodes: Sequence[Node]) -> None:
        originator = ledger.hex
        cursor.executemany(
            self._sql(f"INSERT INTO {NODES_TABLE} VALUES (?,?,?,?)"),
            [(originator, level, idx, h) for level, idx, h in nodes],
        )

    def ledgers(self) -> list[UUID]:
        """The ledgers in this store, oldest first."""
        rows = self._query(
            f"SELECT originator_id FROM {EVENTS_TABLE} WHERE originator_version = 1 "
            f"ORDER BY {self._insertion_order}"
        )
        return [UUID(r[0]) for r in rows]

    def _rows(self, where: str, params: tuple[Any, ...]) -> list[Row]:
        """Events of the events table matching ``where`` (SQL after WHERE), as rows."""
        found = self._query(
            f"SELECT originator_version, topic, state FROM {EVENTS_TABLE} WHERE {where}", params
        )
        return list(map(Row._make, _blobs_third(found)))

    def last(self, ledger: UUID) -> Row | None:
        """The newest event of ``ledger``."""
        found = self._rows(
            "originator_id = ? ORDER BY originator_version DESC LIMIT 1", (ledger.hex,)
        )
        return found[0] if found else None

    def read(self, ledger: UUID, after: int = 0, upto: int | None = None) -> Iterator[Row]:
        """The events of ``ledger`` with ``after < seq <= upto``, in order, a page at a time."""
        for page in self.pages(ledger, PAGE, after, upto):
            yield from map(Row._make, page)

    def pages(
        self, ledger: UUID, size: int, after: int = 0, upto: int | None = None
    ) -> Iterator[list[tuple[int, str, bytes]]]:
        """``read``'s events as pages of ``size`` plain (seq, topic, entry) tuples, the way
        verify hands them to its workers."""
        # Plain SQL on the recorder's table: the recorder's own select builds a UUID and a
        # StoredEvent per row, a tenth of what verifying an event costs.
        limit = upto if upto is not None else 2**62
        while True:
            page = _blobs_third(
                self._query(
                    f"SELECT originator_version, topic, state FROM {EVENTS_TABLE} WHERE "
                    "originator_id = ? AND originator_version > ? AND originator_version <= ? "
                    f"ORDER BY originator_version LIMIT {size}",
                    (ledger.hex, after, limit),
                )
            )
            if page:
                yield page
            if len(page) < size:
                return
            after = page[-1][0]

    def rows(self, ledger: UUID, seqs: Sequence[int]) -> list[Row]:
        """The events of ``ledger`` with these sequence numbers (those that exist)."""
        if not seqs:
            return []
        marks = ",".join("?" * len(seqs))
        return self._rows(
            f"originator_id = ? AND originator_version IN ({marks})", (ledger.hex, *seqs)
        )

    def read_topics(
        self, ledger: UUID, topics: Sequence[str], upto: int | None = None
    ) -> list[Row]:
        """The events of ``ledger`` whose stored type is one of ``topics`` (with ``seq <=
        upto``), in order."""
        return list(self.topics(ledger, topics, upto))

    def topics(self, ledger: UUID, topics: Sequence[str], upto: int | None = None) -> Iterator[Row]:
        """``read_topics``, a page at a time (a type may have a million events): each type a
        range of ``TYPE_INDEX`` in order, merged by seq, so that the few events of the types
        asked for cost what they are, not the ledger's size."""
        ranges = [self._of_type(ledger, topic, upto) for topic in sorted(set(topics))]
        return heapq.merge(*ranges, key=_seq)

    def _of_type(self, ledger: UUID, topic: str, upto: int | None) -> Iterator[Row]:
        after, limit = 0, 2**62 if upto is None else upto
        while True:
            page = self._rows(
                "originator_id = ? AND topic = ? AND originator_version > ? AND "
                f"originator_version <= ? ORDER BY originator_version LIMIT {PAGE}",
                (ledger.hex, topic, after, limit),
            )
            yield from page
            if len(page) < PAGE:
                return
            after = page[-1].seq

    def append(
        self,
        ledger: UUID,
        rows: Sequence[Row],
        nodes: Sequence[Node] = (),
        personal: Sequence[Held] = (),
        erase: Sequence[tuple[int, str]] = (),
    ) -> None:
        """Insert ``rows`` and the Merkle tree ``nodes`` they complete in one transaction, with
        the clear ``personal`` values (seq, field, salt, value) they commit to, deleting the
        ``erase`` ones (seq, field) that a redaction among them erases; then purge the erased
        bytes from the database files (``_purge``).

        Raises ``Conflict`` when a sequence number is taken, ``StoreError`` on any other failure
        of the transaction. A purge that fails raises nothing (see ``remnant``).
        """
        try:
            with self._datastore.transaction(commit=True) as c:
                # The recorder's insert (its statement; on PostgreSQL its lock protocol) inside
                # our transaction, so that events, their tree nodes and their personal values
                # land together or not at all.
                self._insert_events(c, ledger, rows)
                self._insert_nodes(c, ledger, nodes)
                if personal:
                    c.executemany(
                        self._sql(f"INSERT INTO {PERSONAL_TABLE} VALUES (?,?,?,?,?)"),
                        [(ledger.hex, *p) for p in personal],
                    )
                token = self._erase(c, ledger, erase) if erase else None
        except RecordConflict as e:
            raise Conflict(str(e)) from e
        except (PersistenceError, sqlite3.Error) as e:
            raise self._write_error(e) from e
        if erase:
            self._after_erasure(token)

    def _erase(self, cursor: Any, ledger: UUID, erase: Sequence[tuple[int, str]]) -> str | None:
        """Delete the ``erase`` values (seq, field); returns what ``_purge`` needs to know of
        the deleting transaction."""
        cursor.executemany(
            self._sql(f"DELETE FROM {PERSONAL_TABLE} WHERE ledger = ? AND seq = ? AND field = ?"),
            [(ledger.hex, seq, name) for seq, name in erase],
        )
        return None

    def _after_erasure(self, token: str | None) -> None:
        # The erasure is committed: whatever the purge meets, the redaction stands and its
        # command succeeds. A raise here would read as a failed redaction that a retry then
        # refuses ("redacted already"), so the user is told what stays on disk instead.
        try:
            self.remnant = self._purge(token)
        except (PersistenceError, sqlite3.Error) as e:
            self.remnant = f"{self._purge_statement} failed ({_first_line(e)}); run it again"
        if self.remnant is not None:
            _log.warning(
                "warning: the erasure is recorded and the clear values are deleted from %s, "
                "but their bytes may remain in its files: %s",
                self.target,
                self.remnant,
            )

    def _purge(self, token: str | None) -> str | None:
        """Remove the bytes of values just erased from the database files, after the commit;
        returns why some may remain, or None."""
        raise NotImplementedError

    def _write_error(self, error: Exception) -> StoreError:
        """One line saying why a write failed; a lock that another writer held past the bound
        (SQLite's busy timeout, PostgreSQL's lock_timeout: both already wait and retry) is
        "store busy", not the driver's wording."""
        if _is_busy(error):
            return StoreError(
                f"store busy: another writer held the write lock of {self.target}; "
                f"gave up after {LOCK_TIMEOUT_SECONDS} s"
            )
        return StoreError(f"cannot write to {self.target}: {_first_line(error)}")

    def node_pages(self, ledger: UUID) -> Iterator[list[tuple[int, int, bytes]]]:
        """Every stored tree node (level, index, hash) of ``ledger``, by level then index, a
        page at a time."""
        level, idx = 0, -1
        while True:
            page = self._query(
                f"SELECT level, idx, hash FROM {NODES_TABLE} WHERE ledger = ? AND (level, idx) > "
                f"(?, ?) ORDER BY level, idx LIMIT {PAGE}",
                (ledger.hex, level, idx),
            )
            if page:
                yield _blobs_third(page)
            if len(page) < PAGE:
                return
            level, idx = page[-1][0], page[-1][1]

    def nodes(
        self, ledger: UUID, wanted: Sequence[tuple[int, int]]
    ) -> dict[tuple[int, int], bytes]:
        """The stored tree nodes among ``wanted`` (level, index) pairs: O(log n) of them, each
        one primary-key lookup, in one read transaction."""
        statement = self._sql(
            f"SELECT hash FROM {NODES_TABLE} WHERE ledger = ? AND level = ? AND idx = ?"
        )

        def run() -> dict[tuple[int, int], bytes]:
            found = {}
            with self._datastore.transaction(commit=False) as c:
                self._tuple_rows(c)
                for level, idx in wanted:
                    c.execute(statement, (ledger.hex, level, idx))
                    row = c.fetchone()
                    if row is not None:
                        found[(level, idx)] = _blob(row[0])
            return found

        return self._call(run) if wanted else {}

    def _call(self, fn: Callable[[], T]) -> T:
        try:
            return fn()
        except (PersistenceError, sqlite3.Error) as e:
            raise StoreError(f"cannot read {self.target}: {e}") from e

    def _query(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        def run() -> list[tuple[Any, ...]]:
            with self._datastore.transaction(commit=False) as c:
                self._tuple_rows(c)
                c.execute(self._sql(sql), params)
                return c.fetchall()  # type: ignore[no-any-return]

        return self._call(run)

    @staticmethod
    def _tuple_rows(cursor: Any) -> None:
        """Have ``cursor`` return plain tuples (the recorders ask for named rows)."""
        raise NotImplementedError

    def personal(self, ledger: UUID, seqs: Sequence[int] | None = None) -> list[Held]:
        """Clear personal values (seq, field, salt, value) of these events (None: all), in order.
        A store from before personal fields has none."""
        where = "ledger = ?"
        params: tuple[Any, ...] = (ledger.hex,)
        if seqs is not None:
            if not seqs:
                return []
            where += f" AND seq IN ({','.join('?' * len(seqs))})"
            params = (ledger.hex, *seqs)
        try:
            found = self._query(
                f"SELECT seq, field, salt, value FROM {PERSONAL_TABLE} WHERE {where} "
                "ORDER BY seq, field",
                params,
            )
        except StoreError:
            if self._has_table(PERSONAL_TABLE):
                raise
            return []
        return [(r[0], r[1], _blob(r[2]), _blob(r[3])) for r in found]

    def _has_table(self, name: str) -> bool:
        raise NotImplementedError

    def close(self) -> None:
        self._datastore.close()


def _is_busy(error: BaseException) -> bool:
    """Whether ``error`` (or what it wraps) is a lock wait that timed out: SQLITE_BUSY or
    SQLITE_LOCKED (any extended code), or PostgreSQL's lock_not_available (55P03)."""
    seen: BaseException | None = error
    while seen is not None:
        if (getattr(seen, "sqlite_errorcode", 0) or 0) & 0xFF in (5, 6):
            return True
        if getattr(seen, "sqlstate", None) == "55P03":
            return True
        seen = seen.__cause__ or seen.__context__
    return False


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


class SQLiteStore(Store):
    """A SQLite file."""

    _insertion_order = "rowid"
    _purge_statement = "PRAGMA wal_checkpoint(TRUNCATE)"

    @staticmethod
    def _tuple_rows(cursor: Any) -> None:
        cursor.sqlite_cursor.row_factory = None
        # Text an attacker wrote as bytes that are not UTF-8 (where a hash or an entry belongs,
        # say) then reads as text holding them, for verify to name the row: sqlite3's own
        # decoding would raise, and a tampered store would look like an unreadable one.
        cursor.sqlite_cursor.connection.text_factory = _lenient_text

    def __init__(self, path: Path, *, read_only: bool) -> None:
        self.path = path
        self.target = str(path)
        mode = "ro" if read_only else "rwc"
        uri = f"file:{quote(str(path.resolve()))}?mode={mode}"
        try:
            self._datastore = _SecureDeleteDatastore(uri, lock_timeout=LOCK_TIMEOUT_SECONDS)
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
            for table, what in _GUARDED
            for action in ("update", "delete")
        ]
        with self._datastore.transaction(commit=True) as c:
            for statement in [
                *self._recorder.create_table_statements,
                _NODES.format(blob="BLOB", suffix=" WITHOUT ROWID"),
                _PERSONAL.format(blob="BLOB"),
                _TYPE_INDEX,
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
            c.execute(f"PRAGMA busy_timeout = {int(PURGE_WAIT_SECONDS * 1000)}")
            try:
                [(busy, _, _)] = c.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
            finally:
                c.execute(f"PRAGMA busy_timeout = {bound}")
        if not busy:
            return None
        return (
            "another connection still held a snapshot from before the erasure (or the write "
            f"lock) after {PURGE_WAIT_SECONDS} s, so the -wal file could not be checkpointed; "
            "they go at the next erasure, or when the last connection to the file closes (any "
            "ledger command run while no other connection is open)"
        )


@dataclass(frozen=True, slots=True)
class PostgresTarget:
    """A ``postgresql://user:password@host:port/dbname?schema=NAME`` URL, taken apart."""

    dbname: str
    host: str
    port: int
    user: str
    password: str
    schema: str

    @classmethod
    def parse(cls, url: str) -> PostgresTarget:
        parts = urlsplit(url)
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        unknown = sorted(set(query) - {"schema"})
        if unknown:
            raise InputError(
                "target", f"unknown parameter {unknown[0]!r} in the URL; only 'schema' is known"
            )
        try:
            port = parts.port or 5432
        except ValueError:
            raise InputError("target", f"the port in {url!r} is not a number") from None
        user = unquote(parts.username or "") or os.environ.get("PGUSER") or getpass.getuser()
        schema = query.get("schema", "public")
        if not schema.replace("_", "").isalnum() or not schema.isascii():
            raise InputError("target", f"schema {schema!r}: use letters, digits and _ only")
        return cls(
            dbname=unquote(parts.path.lstrip("/")) or user,
            host=parts.hostname or "localhost",
            port=port,
            user=user,
            password=unquote(parts.password or "") or os.environ.get("PGPASSWORD", ""),
            schema=schema,
        )

    def connection(self) -> dict[str, Any]:
        """What psycopg and eventsourcing's datastore both take to connect."""
        return {
            "dbname": self.dbname,
            "host": self.host,
            "port": self.port,
            "user": self.user,
            "password": self.password,
        }

    def display(self) -> str:
        """The URL without its password: errors and listings name the store this way."""
        tail = "" if self.schema == "public" else f"?schema={self.schema}"
        return f"postgresql://{self.user}@{self.host}:{self.port}/{self.dbname}{tail}"


class PostgresStore(Store):
    """A PostgreSQL database (one schema of it), through eventsourcing's recorder and psycopg 3.

    A read-only store opens its sessions with ``default_transaction_read_only``, so a replica or
    a role granted SELECT only serves every reading command.
    """

    _insertion_order = "notification_id"
    _purge_statement = f"VACUUM FULL {PERSONAL_TABLE}"

    @staticmethod
    def _tuple_rows(cursor: Any) -> None:
        from psycopg.rows import tuple_row

        cursor.row_factory = tuple_row

    def __init__(self, target: PostgresTarget, *, read_only: bool, create: bool) -> None:
        from eventsourcing.postgres import PostgresApplicationRecorder

        self.target = target.display()
        _probe(target, self.target)
        self._datastore = _postgres_datastore(target, read_only=read_only)
        try:
            if create:
                with self._datastore.transaction(commit=True) as c:
                    c.execute(f'CREATE SCHEMA IF NOT EXISTS "{target.schema}"')
            self._recorder = PostgresApplicationRecorder(
                self._datastore, events_table_name=EVENTS_TABLE
            )
            if create:
                self._create_schema()
            elif not self._has_schema():
                self._datastore.close()
                raise LedgerStateError(f"no ledger in {self.target}; create one with: ledger init")
            elif not read_only and not (
                self._has_table(PERSONAL_TABLE) and self._has_table(TYPE_INDEX)
            ):
                self._create_schema()  # a store from before personal fields, first written to
        except PersistenceError as e:
            self._datastore.close()
            raise StoreError(f"cannot open {self.target}: {_first_line(e)}") from e

    def _sql(self, statement: str) -> str:
        return statement.replace("?", "%s")

    def _has_schema(self) -> bool:
        return self._has_table(NODES_TABLE)

    def _has_table(self, name: str) -> bool:
        with self._datastore.transaction(commit=False) as c:
            c.execute("SELECT to_regclass(%s) IS NOT NULL AS found", (name,))
            return bool(c.fetchone()["found"])

    def _create_schema(self) -> None:
        statements = [
            _NODES.format(blob="BYTEA", suffix=""),
            _PERSONAL.format(blob="BYTEA"),
            _TYPE_INDEX,
            "CREATE OR REPLACE FUNCTION coop_ledger_append_only() RETURNS trigger "
            "LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'coop-ledger: % are append-only', "
            "TG_ARGV[0]; END $$",
        ]
        for table, what in _GUARDED:
            for action in ("update", "delete", "truncate"):
                each = "STATEMENT" if action == "truncate" else "ROW"
                statements.append(
                    f"CREATE OR REPLACE TRIGGER {table}_no_{action} BEFORE {action.upper()} "
                    f"ON {table} FOR EACH {each} EXECUTE FUNCTION "
                    f"coop_ledger_append_only('{what}')"
                )
        # Two first writers may race to create the tables: the loser finds them made.
        for attempt in range(3):
            try:
                self._recorder.create_table()
                with self._datastore.transaction(commit=True) as c:
                    c.execute("SELECT pg_advisory_xact_lock(7286415)")
                    for statement in statements:
                        c.execute(statement)
                return
            except RecordConflict:
                if attempt == 2:
                    raise

    def _erase(self, cursor: Any, ledger: UUID, erase: Sequence[tuple[int, str]]) -> str | None:
        super()._erase(cursor, ledger, erase)
        cursor.execute("SELECT pg_current_xact_id()::xid::text AS xid")
        return str(cursor.fetchone()["xid"])

    def _purge(self, token: str | None) -> str | None:
        # A DELETE leaves the row in the table's file until a vacuum, and a plain VACUUM only
        # frees its space: the bytes of a row at the low end of its page stay in the page's
        # free hole (measured: tests/reliability/test_personal.py). VACUUM FULL writes the
        # live rows to a new file instead. It cannot run in a transaction block: the pool's
        # connections are in autocommit. It takes the table's ACCESS EXCLUSIVE lock (a small
        # table: one row per personal value), waiting at most the store's lock bound for it.
        skipped: list[str] = []

        def note(diagnostic: Any) -> None:
            # A role that does not own the table gets a WARNING and a skipped table, no error.
            if diagnostic.severity_nonlocalized == "WARNING":
                skipped.append(diagnostic.message_primary or "skipped")

        with self._datastore.get_connection() as conn:
            held = self._wait_for_older_snapshots(conn, str(token))
            conn.add_notice_handler(note)
            conn.execute(f"SET lock_timeout = '{LOCK_TIMEOUT_SECONDS}s'")
            try:
                conn.execute(self._purge_statement)
            finally:
                conn.remove_notice_handler(note)
                if not conn.broken:
                    conn.execute("RESET lock_timeout")
        if skipped:
            return f"{self._purge_statement}: {skipped[0]}; run it as the table's owner"
        if held:
            return (
                f"after {PURGE_WAIT_SECONDS} s, {held} session(s) or slot(s) still held a "
                f"snapshot from before the erasure, so {self._purge_statement} kept the "
                "erased rows; run it again once they have ended"
            )
        return None

    @staticmethod
    def _wait_for_older_snapshots(conn: Any, xid: str) -> int:
        """How many snapshots that can see rows deleted by ``xid`` are left after waiting up
        to PURGE_WAIT_SECONDS for them to end."""
        deadline = time.monotonic() + PURGE_WAIT_SECONDS
        while True:
            held = int(conn.execute(_OLDER_SNAPSHOTS, (xid,)).fetchone()["held"])
            if not held or time.monotonic() >= deadline:
                return held
            time.sleep(0.05)

    def _insert_nodes(self, cursor: Any, ledger: UUID, nodes: Sequence[Node]) -> None:
        # One statement over arrays: psycopg's executemany costs a round of its own per row.
        if nodes:
            levels, indexes, hashes = zip(*nodes, strict=True)
            cursor.execute(
                # %b: binary parameters; text-format arrays are escaped byte by byte, in Python
                f"INSERT INTO {NODES_TABLE} SELECT %s, * FROM unnest(%b::int[], %b::bigint[], "
                "%b::bytea[])",
                (ledger.hex, list(levels), list(indexes), list(hashes)),
            )

    def _insert_events(self, cursor: Any, ledger: UUID, rows: Sequence[Row]) -> None:
        # The recorder's protocol (its table lock, so writers to one store are serialised as
        # it intends, and its notification), then its table's four columns filled from arrays
        # in binary: its own insert dumps a composite type per event as escaped text, which
        # costs more than signing. The unique key still decides who got a sequence number.
        self._recorder._lock_table(cursor)
        self._recorder._notify_channel(cursor)
        cursor.execute(
            f"INSERT INTO {EVENTS_TABLE} (originator_id, originator_version, topic, state) "
            "SELECT %s, * FROM unnest(%b::bigint[], %b::text[], %b::bytea[])",
            (
                ledger.hex,
                [r.seq for r in rows],
                [r.topic for r in rows],
                [r.entry for r in rows],
            ),
        )


# Sessions whose snapshot may still see a row deleted by transaction %s (an xid): their xmin,
# or a replication slot's, or a prepared transaction, is no newer. VACUUM keeps such a row, and
# VACUUM FULL copies it into the new file. Lazy vacuums (autovacuum) hold an xmin that other
# vacuums ignore.
_OLDER_SNAPSHOTS = """
SELECT count(*) AS held FROM (
    SELECT backend_xmin AS horizon FROM pg_stat_activity
    WHERE pid <> pg_backend_pid() AND (datname = current_database() OR datname IS NULL)
        AND pid NOT IN (SELECT pid FROM pg_stat_progress_vacuum)
    UNION ALL
    SELECT xmin FROM pg_replication_slots
    WHERE database = current_database() OR database IS NULL
    UNION ALL
    SELECT transaction FROM pg_prepared_xacts WHERE database = current_database()
) AS snapshots
WHERE horizon IS NOT NULL AND age(horizon) >= age(%s::xid)
"""


def _probe(target: PostgresTarget, display: str) -> None:
    """Connect once, directly: the pool would only say it got no connection within its timeout,
    where the server says why (refused, no such database, authentication failed)."""
    import psycopg

    try:
        psycopg.connect(**target.connection(), connect_timeout=CONNECT_TIMEOUT_SECONDS).close()
    except psycopg.Error as e:
        raise StoreError(f"cannot connect to {display}: {_first_line(e)}") from e


def _postgres_datastore(target: PostgresTarget, *, read_only: bool) -> Any:
    from eventsourcing.postgres import PostgresDatastore

    class Datastore(PostgresDatastore):
        def after_connect_func(self) -> Callable[[Any], None]:
            inherited = super().after_connect_func()

            def after_connect(conn: Any) -> None:
                inherited(conn)
                # The schema is chosen per session: our own SQL names tables unqualified.
                conn.execute(f'SET search_path TO "{target.schema}"')
                if read_only:
                    conn.execute("SET default_transaction_read_only = on")

            return after_connect

    return Datastore(
        **target.connection(),
        connect_timeout=CONNECT_TIMEOUT_SECONDS,
        lock_timeout=LOCK_TIMEOUT_SECONDS,
        schema=target.schema,
        originator_id_type="text",
    )


def _first_line(error: Exception) -> str:
    text = str(error).strip() or type(error).__name__
    return text.splitlines()[0]


def is_postgres(target: str) -> bool:
    return target.startswith(("postgresql://", "postgres://"))


def open_store(target: str, *, create: bool = False, read_only: bool = False) -> Store:
    """Open the store named by ``--ledger``: a SQLite file path or a ``postgresql://`` URL.

    Without ``create``, a missing SQLite file is an input error (no ledger there yet), never a
    new file.
    """
    if is_postgres(target):
        return PostgresStore(PostgresTarget.parse(target), read_only=read_only, create=create)
    path = Path(target)
    if not create and not path.is_file():
        raise LedgerStateError(f"no ledger at {path}; create one with: ledger init")
    if create and path.parent and not path.parent.is_dir():
        raise LedgerStateError(f"folder {path.parent} does not exist")
    return SQLiteStore(path, read_only=read_only)
