"""A PostgreSQL database (one schema of it): eventsourcing's PostgreSQL datastore and recorder
over psycopg 3, the shared SQL of ``sql``."""

from __future__ import annotations

import getpass
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit
from uuid import UUID

from eventsourcing.persistence import IntegrityError as RecordConflict
from eventsourcing.persistence import PersistenceError

from ledger.core.envelope import Row
from ledger.errors import InputError, LedgerStateError, StoreError
from ledger.store import sql
from ledger.store.base import Node
from ledger.store.sql import (
    CONNECT_TIMEOUT_SECONDS,
    EVENTS_TABLE,
    GUARDED,
    NODES_DDL,
    NODES_TABLE,
    PERSONAL_DDL,
    PERSONAL_TABLE,
    TYPE_INDEX,
    TYPE_INDEX_DDL,
    SQLStore,
    first_line,
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


class PostgresStore(SQLStore):
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
            raise StoreError(f"cannot open {self.target}: {first_line(e)}") from e

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
            NODES_DDL.format(blob="BYTEA", suffix=""),
            PERSONAL_DDL.format(blob="BYTEA"),
            TYPE_INDEX_DDL,
            "CREATE OR REPLACE FUNCTION coop_ledger_append_only() RETURNS trigger "
            "LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'coop-ledger: % are append-only', "
            "TG_ARGV[0]; END $$",
        ]
        for table, what in GUARDED:
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
            conn.execute(f"SET lock_timeout = '{sql.LOCK_TIMEOUT_SECONDS}s'")
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
                f"after {sql.PURGE_WAIT_SECONDS} s, {held} session(s) or slot(s) still held a "
                f"snapshot from before the erasure, so {self._purge_statement} kept the "
                "erased rows; run it again once they have ended"
            )
        return None

    @staticmethod
    def _wait_for_older_snapshots(conn: Any, xid: str) -> int:
        """How many snapshots that can see rows deleted by ``xid`` are left after waiting up
        to sql.PURGE_WAIT_SECONDS for them to end."""
        deadline = time.monotonic() + sql.PURGE_WAIT_SECONDS
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
        # The recorder's protocol, from its public statements (its table lock, so writers to
        # one store are serialised as it intends, and its notification; what its private
        # _lock_table and _notify_channel run), then its table's four columns filled from arrays
        # in binary: its own insert dumps a composite type per event as escaped text, which
        # costs more than signing. The unique key still decides who got a sequence number.
        from psycopg.sql import SQL, Identifier

        for statement in self._recorder.lock_table_statements:
            cursor.execute(statement, prepare=True)
        cursor.execute(SQL("NOTIFY {0}").format(Identifier(self._recorder.channel_name)))
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
        raise StoreError(f"cannot connect to {display}: {first_line(e)}") from e


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
        lock_timeout=sql.LOCK_TIMEOUT_SECONDS,
        schema=target.schema,
        originator_id_type="text",
    )
