"""The SQL both database stores share: ledgers as eventsourcing streams, one stream per
enterprise ledger, in a SQLite file (``sqlite``) or a PostgreSQL database (``postgres``).

Each event is an eventsourcing ``StoredEvent`` whose originator id is the ledger id (32 hex
digits, as text, on both backends), whose originator version is the sequence number, whose topic
is the event type and whose state is the entry's canonical bytes, untouched. The unique
(originator id, version) key is the lock between concurrent writers: the loser gets ``Conflict``
and must re-read, re-sign and retry.

Append-only is also enforced by the database: triggers refuse UPDATE and DELETE (and TRUNCATE on
PostgreSQL) on the events and tree tables. An attacker with database access can drop them;
verification, not the triggers, is the proof.

The SQL is written once, with ``?`` placeholders and types both dialects accept; the two
``SQLStore`` subclasses differ only in connecting, creating the schema and the insert.

eventsourcing owns the connections (its datastores), the events table's schema (its recorders
create it) and the insert protocol on PostgreSQL (its table lock and notification, executed
from the recorder's public statements); reads and the insert itself are plain SQL on its table,
because the recorder's own build a UUID and a ``StoredEvent`` per row, which costs more than
verifying the event. ``tests/test_store_contract.py`` checks that eventsourcing's recorder reads
what this SQL writes, so an upgrade that changes the table fails there first.
"""

from __future__ import annotations

import heapq
import logging
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar
from uuid import UUID

from eventsourcing.persistence import IntegrityError as RecordConflict
from eventsourcing.persistence import PersistenceError

from ledger.core.envelope import Row
from ledger.errors import StoreError
from ledger.store.base import PAGE, Conflict, Held, Node

EVENTS_TABLE = "stored_events"
NODES_TABLE = "merkle_nodes"
PERSONAL_TABLE = "personal_data"
LOCK_TIMEOUT_SECONDS = 30
CONNECT_TIMEOUT_SECONDS = 5
# How long the purge after an erasure waits for readers whose snapshot predates it to finish:
# the store's own reads are short transactions, so only a reader parked in one waits it out.
PURGE_WAIT_SECONDS = 5
T = TypeVar("T")
_log = logging.getLogger("ledger.store")  # the name users filter on, wherever the code moves

NODES_DDL = (
    f"CREATE TABLE IF NOT EXISTS {NODES_TABLE} (ledger TEXT NOT NULL, level INTEGER NOT NULL, "
    "idx BIGINT NOT NULL, hash {blob} NOT NULL, PRIMARY KEY (ledger, level, idx)){suffix}"
)
# Clear values of personal fields (ledger.personal): outside the signed entries, erasable, so
# no append-only trigger guards this table.
PERSONAL_DDL = (
    f"CREATE TABLE IF NOT EXISTS {PERSONAL_TABLE} (ledger TEXT NOT NULL, seq BIGINT NOT NULL, "
    "field TEXT NOT NULL, salt {blob} NOT NULL, value {blob} NOT NULL, "
    "PRIMARY KEY (ledger, seq, field))"
)
# Events of one type in order, a range of this index: what projections and the registry read.
# (Stores made before it also have stored_events_topic, on the first two columns: an index a
# query ordered by version cannot walk, which SQLite then passed over for a scan of the ledger.)
TYPE_INDEX = f"{EVENTS_TABLE}_type_seq"
TYPE_INDEX_DDL = (
    f"CREATE INDEX IF NOT EXISTS {TYPE_INDEX} ON {EVENTS_TABLE} "
    "(originator_id, topic, originator_version)"
)
# (table, what its rows are) for the append-only triggers.
GUARDED = ((EVENTS_TABLE, "events"), (NODES_TABLE, "tree nodes"))


def blob(value: object) -> bytes:
    """A stored byte column as bytes, whatever an attacker with database access left in it (a
    TEXT value, a number, NULL), so that verification names the row instead of crashing."""
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value)
    return b"" if value is None else str(value).encode("utf-8", "surrogateescape")


def blobs_third(rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """Rows of three columns, the third a stored byte column (an entry, a node's hash), with it
    as bytes (``_blob``); as they are when it already is, as a store nobody tampered holds it."""
    if all(type(row[2]) is bytes for row in rows):
        return rows
    return [(row[0], row[1], blob(row[2])) for row in rows]


def lenient_text(data: bytes) -> str:
    return data.decode("utf-8", "surrogateescape")


def _seq(row: Row) -> int:
    return row.seq


class SQLStore:
    """One or more ledgers in a database (a ``Store``). Use ``open_store``; subclasses say how
    to connect."""

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
        return list(map(Row._make, blobs_third(found)))

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
            page = blobs_third(
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
            self.remnant = f"{self._purge_statement} failed ({first_line(e)}); run it again"
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
        if is_busy(error):
            return StoreError(
                f"store busy: another writer held the write lock of {self.target}; "
                f"gave up after {LOCK_TIMEOUT_SECONDS} s"
            )
        return StoreError(f"cannot write to {self.target}: {first_line(error)}")

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
                yield blobs_third(page)
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
                        found[(level, idx)] = blob(row[0])
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
        return [(r[0], r[1], blob(r[2]), blob(r[3])) for r in found]

    def _has_table(self, name: str) -> bool:
        raise NotImplementedError

    def recorder(self) -> Any:
        """eventsourcing's recorder of the events table: it reads what this store writes."""
        return self._recorder

    def close(self) -> None:
        self._datastore.close()


def is_busy(error: BaseException) -> bool:
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


def first_line(error: Exception) -> str:
    text = str(error).strip() or type(error).__name__
    return text.splitlines()[0]
