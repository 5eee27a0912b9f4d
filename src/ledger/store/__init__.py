"""The persistence edge. ``base`` says what a store is (the ``Store`` protocol); ``sqlite`` and
``postgres`` keep ledgers in a database through eventsourcing, sharing the SQL of ``sql``;
``memory`` keeps them in this process. ``tree`` serves the Merkle tree from the nodes a store
keeps, ``pages`` cuts rows into the pages they travel in. Imports ``core`` and ``tlog`` only."""

from __future__ import annotations

from pathlib import Path

from ledger.errors import LedgerStateError
from ledger.store.base import Conflict, Held, Node, Store
from ledger.store.memory import MemoryStore
from ledger.store.postgres import PostgresStore, PostgresTarget
from ledger.store.sql import LOCK_TIMEOUT_SECONDS, SQLStore
from ledger.store.sqlite import SQLiteStore

__all__ = [
    "LOCK_TIMEOUT_SECONDS",
    "Conflict",
    "Held",
    "MemoryStore",
    "Node",
    "PostgresStore",
    "PostgresTarget",
    "SQLStore",
    "SQLiteStore",
    "Store",
    "is_postgres",
    "open_store",
]


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
        raise LedgerStateError(
            f"no ledger at {path.absolute()}; create one with: ledger init, or name the one "
            "you meant with --ledger PATH (or LEDGER_URL)"
        )
    if create and path.parent and not path.parent.is_dir():
        raise LedgerStateError(f"folder {path.parent} does not exist")
    return SQLiteStore(path, read_only=read_only)
