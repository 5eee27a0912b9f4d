"""The persistence edge: ledgers as eventsourcing streams in a SQLite file or a PostgreSQL
database (``sql``), the Merkle tree the store keeps beside the events (``tree``), and the pages
rows travel in (``pages``). Imports ``core`` and nothing above it."""

from ledger.store.sql import (
    LOCK_TIMEOUT_SECONDS,
    Conflict,
    Held,
    Node,
    PostgresStore,
    PostgresTarget,
    SQLiteStore,
    Store,
    is_postgres,
    open_store,
)

__all__ = [
    "LOCK_TIMEOUT_SECONDS",
    "Conflict",
    "Held",
    "Node",
    "PostgresStore",
    "PostgresTarget",
    "SQLiteStore",
    "Store",
    "is_postgres",
    "open_store",
]
