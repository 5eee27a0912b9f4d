"""Faults (docs/RELIABILITY.md, "Faults"): writers killed at random moments, a read-only
database, a full disk, a connection cut mid-transaction, a lock held too long, and writers at
once, on SQLite and on PostgreSQL. After each: ``verify`` exits 0, every event whose success was
reported is there, a failed write left nothing behind and said why in one line (exit 3), and the
next command works once the cause is gone.

The long version of the two loops is ``bench/soak.py``.
"""

from __future__ import annotations

import ctypes
import os
import sqlite3
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import faults
import pytest
from conftest import Database
from faults import RAW_ERRORS, Target

import ledger.store.sql
from ledger.store import PostgresStore

KILLS = 12  # per backend: 24 in all
WRITERS = 4
WRITE_SECONDS = 5.0  # the long form is the soak (bench/soak.py)


@pytest.fixture
def store(db: Database) -> Iterator[tuple[Target, Path]]:
    """A ledger on the backend under test and its founder's key (may record metrics)."""
    target = Target(db.backend, db.folder, db.location)
    yield target, faults.create_ledger(target)


def metric_args(target: Target, key: Path, value: str) -> list[str]:
    return [
        "--ledger", target.location, "record", "metric", "--year", "2025", "--name", "f",
        "--value", value, "--unit", "n", "--key", str(key),
    ]  # fmt: skip


def record(target: Target, key: Path, value: str) -> tuple[int, str, str]:
    """``ledger record metric`` in this process."""
    return faults.run_cli(*metric_args(target, key, value))


def record_as_process(
    target: Target, key: Path, value: str, *, env: dict[str, str] | None = None, **kw: Any
) -> tuple[int, str, str]:
    """``python -m ledger record metric`` as a separate process."""
    done = subprocess.run(
        [sys.executable, "-m", "ledger", *metric_args(target, key, value)],
        capture_output=True,
        text=True,
        env={**faults.child_env(), **(env or {})},
        timeout=120,
        **kw,
    )
    return done.returncode, done.stdout, done.stderr


def tables(db: Database) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """Every row of the events and tree tables, to compare before and after a failed write."""
    events = db.query(
        "SELECT originator_id, originator_version, topic, state FROM stored_events "
        "ORDER BY originator_id, originator_version"
    )
    return events, db.query("SELECT * FROM merkle_nodes ORDER BY ledger, level, idx")


def assert_clean_failure(result: tuple[int, str, str], *words: str) -> None:
    """Exit 3 and one line saying why, with none of the driver's raw wording."""
    code, out, err = result
    assert code == 3, (code, out, err)
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert not [w for w in RAW_ERRORS if w in err], err
    assert any(w in err for w in words), err
    print(lines[0])  # what the user saw, for whoever reads the log (-s)


def assert_intact(target: Target, before: tuple[Any, Any], db: Database) -> None:
    """The failed write left the tables as they were, the ledger verifies, and the next write
    works."""
    assert tables(db) == before
    assert faults.run_cli("--ledger", target.location, "verify")[0] == 0


# 1. Killed at random moments.


def test_writers_killed_at_random_moments_lose_nothing_reported(
    store: tuple[Target, Path],
) -> None:
    target, key = store
    report = faults.kill_loop(target, key, kills=KILLS, seed=8, max_delay=0.75)
    print(report.line())  # the numbers, for whoever reads the log (-s)
    assert report.violations == []
    assert report.kills == KILLS
    # Writers did get through: the loop checked events, not an empty ledger.
    assert report.reported > 0
    assert report.events >= report.reported + 1


# 2. The database refuses writes, fills up, drops the connection, stays locked.


def _drop_file_permission_override() -> None:
    """In the child, before exec: as root, give up the capabilities that ignore file modes
    (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_FOWNER), so chmod binds root as it binds
    everyone else."""
    libc = ctypes.CDLL(None, use_errno=True)
    for capability in (1, 2, 3):
        if libc.prctl(24, capability, 0, 0, 0) != 0:  # PR_CAPBSET_DROP
            os._exit(99)


@pytest.mark.parametrize("db", ["sqlite"], indirect=True)
def test_sqlite_file_read_only(store: tuple[Target, Path], db: Database) -> None:
    target, key = store
    assert record(target, key, "1")[0] == 0
    before = tables(db)
    files = [db.folder / db.target, *db.folder.glob(f"{db.target}-*")]
    modes = {p: p.stat().st_mode for p in [db.folder, *files]}
    for path in files:
        path.chmod(0o444)
    db.folder.chmod(0o555)
    try:
        result = record_as_process(
            target,
            key,
            "2",
            preexec_fn=_drop_file_permission_override if os.geteuid() == 0 else None,
        )
    finally:
        for path, mode in modes.items():
            path.chmod(mode)
    assert result[0] != 99, "could not drop root's file-permission capabilities"
    assert_clean_failure(result, "read-only", "readonly", "unable to open", "ermission")
    assert_intact(target, before, db)
    assert record(target, key, "3")[0] == 0


@pytest.mark.parametrize("db", ["postgres"], indirect=True)
def test_postgres_session_read_only(store: tuple[Target, Path], db: Database) -> None:
    target, key = store
    assert record(target, key, "1")[0] == 0
    before = tables(db)
    # A hot standby, or a database set read-only by its administrator, looks like this.
    result = record_as_process(
        target, key, "2", env={"PGOPTIONS": "-c default_transaction_read_only=on"}
    )
    assert_clean_failure(result, "read-only")
    assert_intact(target, before, db)
    assert record_as_process(target, key, "3")[0] == 0


@pytest.mark.parametrize("db", ["sqlite"], indirect=True)
def test_sqlite_disk_full(
    store: tuple[Target, Path], db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SQLite's own SQLITE_FULL ("database or disk is full"), raised because every connection
    the store opens may not grow the file past its present size (``PRAGMA max_page_count``):
    the same error and the same rollback as a full disk, without filling one."""
    target, key = store
    connect = sqlite3.connect

    def capped(*args: Any, **kwargs: Any) -> sqlite3.Connection:
        c = connect(*args, **kwargs)
        if kwargs.get("uri"):  # the store's connections, not this test's
            [(pages,)] = c.execute("PRAGMA page_count").fetchall()
            c.execute(f"PRAGMA max_page_count = {pages}")
        return c

    monkeypatch.setattr(sqlite3, "connect", capped)
    # Events fill the free space of the last pages first: record until one needs a new page.
    for value in range(500):
        before = tables(db)
        result = record(target, key, str(value))
        if result[0] != 0:
            break
    assert value > 0 and value < 499, "the cap never bit, or bit at once"
    assert_clean_failure(result, "full")
    monkeypatch.undo()
    assert_intact(target, before, db)
    assert record(target, key, "999999")[0] == 0


@pytest.mark.parametrize("db", ["postgres"], indirect=True)
def test_postgres_connection_cut_mid_transaction(
    store: tuple[Target, Path], db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The server ends the writer's session after its events are inserted and before the tree
    nodes and the commit: what a crash of the server or of the network does at that moment."""
    import psycopg

    target, key = store
    assert record(target, key, "1")[0] == 0
    before = tables(db)
    insert = PostgresStore._insert_events
    cut: list[int] = []

    def insert_then_cut(self: PostgresStore, cursor: Any, ledger: Any, rows: Any) -> None:
        insert(self, cursor, ledger, rows)
        pid = cursor.connection.info.backend_pid
        with psycopg.connect(db.target.split("?")[0], autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
        cut.append(pid)

    monkeypatch.setattr(PostgresStore, "_insert_events", insert_then_cut)
    result = record(target, key, "2")
    monkeypatch.undo()
    assert cut, "the hook never ran"
    assert_clean_failure(result, "terminat", "connection", "closed")
    assert_intact(target, before, db)
    assert record(target, key, "3")[0] == 0


def _hold_write_lock(db: Database) -> Callable[[], None]:
    """Another session takes the store's write lock and keeps it; returns how to let go."""
    c = db._connect()
    if db.backend == "sqlite":
        c.isolation_level = None
        c.execute("BEGIN IMMEDIATE")
    else:
        # The mode the recorder takes to insert: readers pass, writers wait.
        c.execute("LOCK TABLE stored_events IN EXCLUSIVE MODE")

    def release() -> None:
        c.rollback()
        c.close()

    return release


def test_write_lock_held_too_long(
    store: tuple[Target, Path], db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A writer waits for the lock a bounded time, then gives up saying so (the bound is 30 s;
    1 s here)."""
    target, key = store
    assert record(target, key, "1")[0] == 0
    before = tables(db)
    monkeypatch.setattr(ledger.store.sql, "LOCK_TIMEOUT_SECONDS", 1)
    release = _hold_write_lock(db)
    try:
        result = record(target, key, "2")
    finally:
        release()
    assert_clean_failure(result, "busy")
    assert_intact(target, before, db)
    assert record(target, key, "3")[0] == 0


# 3. Writers at once.


def test_processes_writing_at_once_for_a_while(store: tuple[Target, Path]) -> None:
    target, key = store
    report = faults.writers_loop(target, key, writers=WRITERS, seconds=WRITE_SECONDS)
    print(report.line())
    assert report.violations == []
    assert report.reported >= WRITERS  # each got through at least once, on average
    assert report.events >= report.reported + 1
