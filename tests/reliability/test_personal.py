"""Personal data erased without breaking the audit: personal fields are signed as salted
commitments, their clear values kept beside the ledger; ``ledger redact`` erases one by a
recorded event, and verify, audit, proofs and reports still pass. On both backends."""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import orjson
import pytest
from conftest import POSTGRES_URL, Database, Result, run_here, run_subprocess

import ledger.store.sql
from ledger.core.envelope import parse_entry

NAME = "Jeanne Peeters-Dubois"
OTHER = "Pieter Claes-Vermeulen"
THIRD = "Ana Lopes-Wouters"


def resign(cli: Callable[..., Result], key: Path, member: str, name: str | None) -> int:
    args = [
        "record", "resignation", "--member-number", member, "--shares", "2",
        "--nominal-value", "50", "--amount-paid-in", "50", "--amount-repaid", "50",
        "--repaid-on", "2025-06-30", "--key", str(key),
    ]  # fmt: skip
    if name is not None:
        args[2:2] = ["--member-name", name]
    result = cli(*args)
    assert result.code == 0, result.err
    return int(result.out)


def logged(cli: Callable[..., Result], seq: int) -> dict[str, Any]:
    entry: dict[str, Any] = orjson.loads(cli("show", str(seq), "--json").out)
    return entry


def verify_json(db: Database) -> dict[str, Any]:
    result = run_here("verify", "--json", cwd=db.folder)
    report: dict[str, Any] = orjson.loads(result.out)
    assert result.code == (0 if report["ok"] else 1)
    return report


def test_the_name_is_never_in_the_signed_bytes(
    opened: dict[str, Any], cli: Callable[..., Result]
) -> None:
    db: Database = opened["db"]
    first = resign(cli, opened["treasurer"], "M-12", NAME)
    second = resign(cli, opened["treasurer"], "M-13", NAME)
    shown = logged(cli, first)
    assert shown["payload"]["member_name"] == NAME
    commitment = shown["signed_payload"]["member_name"]
    assert commitment.startswith("sha256:") and len(commitment) == 71
    # Salted: the same name commits differently each time, so a commitment tells nothing.
    assert logged(cli, second)["signed_payload"]["member_name"] != commitment
    assert all(NAME.encode() not in entry for _, _, entry in db.rows())
    assert cli("export", "--out", "bundle").code == 0
    assert NAME.encode() not in (db.folder / "bundle").read_bytes()
    assert verify_json(db)["ok"] is True


def test_redaction_keeps_verify_audit_proofs_and_reports(
    opened: dict[str, Any], cli: Callable[..., Result], tmp_path: Path
) -> None:
    db: Database = opened["db"]
    seq = resign(cli, opened["treasurer"], "M-12", NAME)
    council = tmp_path / "council.key"
    assert cli("key", "new", "--out", str(council), "--no-passphrase").code == 0
    assert cli(
        "signer", "add", "--pub", f"{council}.pub", "--name", "Conseil", "--role", "council",
        "--key", str(opened["founder"]),
    ).code == 0  # fmt: skip
    before = tmp_path / "cp-before"
    assert cli("checkpoint", "--key", str(opened["founder"]), "--out", str(before)).code == 0
    assert cli("checkpoint", "cosign", str(before), "--key", str(council)).code == 0
    report_before = cli("report", "--year", "2025", "--lang", "en")
    assert report_before.code == 0 and NAME not in report_before.out

    redacted = cli(
        "redact", str(seq), "--field", "member_name", "--reason", "erasure request of 2026-11-30",
        "--key", str(opened["founder"]),
    )  # fmt: skip
    assert redacted.code == 0, redacted.err
    assert logged(cli, seq)["payload"]["member_name"] == "[redacted]"
    assert _personal_rows(db) == []  # the clear value is gone from the store
    assert all(NAME.encode() not in entry for _, _, entry in db.rows())

    assert verify_json(db)["ok"] is True
    # The proof of the event against a checkpoint taken before the redaction still holds.
    proof = cli("prove", str(seq), "--checkpoint", str(before), "--json")
    assert proof.code == 0, proof.err
    assert orjson.loads(proof.out)["seq"] == seq
    assert cli("verify", "--trusted", str(before)).code == 0
    assert cli("export", "--out", "bundle").code == 0
    audit = run_here(
        "audit", "bundle", "--trust", f"{council}.pub", "--trusted", str(before), cwd=db.folder
    )
    assert audit.code == 0, audit
    report_after = cli("report", "--year", "2025", "--lang", "en")
    assert report_after.code == 0 and NAME not in report_after.out


def test_a_changed_or_surviving_clear_value_fails_verification(
    opened: dict[str, Any], cli: Callable[..., Result]
) -> None:
    db: Database = opened["db"]
    seq = resign(cli, opened["treasurer"], "M-12", NAME)
    db.execute(("UPDATE personal_data SET value = ? WHERE seq = ?", (b'"Someone Else"', seq)))
    first = verify_json(db)["failures"][0]
    assert (first["seq"], first["reason"]) == (seq, "personal-data-mismatch")
    assert logged(cli, seq)["payload"]["member_name"] == "[not held]"  # never the wrong name

    db.execute(("DELETE FROM personal_data WHERE seq = ?", (seq,)))
    assert verify_json(db)["ok"] is True  # erased without a record: allowed, shown as not held
    salted = resign(cli, opened["treasurer"], "M-14", NAME)
    [(salt, value)] = [(r[2], r[3]) for r in _personal_rows(db) if r[0] == salted]
    assert cli(
        "redact", str(salted), "--field", "member_name", "--reason", "asked",
        "--key", str(opened["founder"]),
    ).code == 0  # fmt: skip
    # Put back after its recorded erasure: verify says it outlived its redaction.
    ledger_hex = parse_entry(db.rows()[0][2]).envelope.ledger.replace("-", "")
    db.execute(
        (
            "INSERT INTO personal_data VALUES (?,?,?,?,?)",
            (ledger_hex, salted, "member_name", salt, value),
        )
    )
    first = verify_json(db)["failures"][0]
    assert (first["seq"], first["reason"]) == (salted, "not-erased")


def _personal_rows(db: Database) -> list[tuple[int, str, bytes, bytes]]:
    rows = db.query("SELECT seq, field, salt, value FROM personal_data")
    return [(s, f, bytes(a), bytes(v)) for s, f, a, v in rows]


def test_redaction_refusals_write_nothing(
    opened: dict[str, Any], cli: Callable[..., Result]
) -> None:
    db: Database = opened["db"]
    seq = resign(cli, opened["treasurer"], "M-12", NAME)
    plain = resign(cli, opened["treasurer"], "M-13", None)
    before = db.rows()
    founder = str(opened["founder"])
    cases = [
        (("redact", str(seq), "--field", "member_number"), "'member_number' is not a personal"),
        (("redact", str(plain), "--field", "member_name"), f"event {plain} has no member_name"),
        (("redact", "999", "--field", "member_name"), "999 is not an earlier event"),
        (("redact", "4", "--field", "value"), "not a personal field of MetricSubmitted"),
        (("redact", str(seq), "--field", "member_name", "--reason", " "), "give a reason"),
    ]
    for args, message in cases:
        full = [*args, "--key", founder]
        if "--reason" not in args:
            full += ["--reason", "asked"]
        result = cli(*full)
        assert result.code == 2 and message in result.err, (args, result.err)
    board = cli(
        "redact", str(seq), "--field", "member_name", "--reason", "x", "--key",
        str(opened["board"]),
    )  # fmt: skip
    assert board.code == 2 and "role-not-allowed" in board.err
    assert db.rows() == before
    done = ("redact", str(seq), "--field", "member_name", "--reason", "x", "--key", founder)
    assert cli(*done).code == 0
    again = cli(*done)
    assert again.code == 2 and "redacted already" in again.err


def test_an_imported_copy_holds_no_personal_data(
    opened: dict[str, Any], cli: Callable[..., Result]
) -> None:
    seq = resign(cli, opened["treasurer"], "M-12", NAME)
    assert cli("export", "--out", "bundle").code == 0
    other = opened["db"].sibling("copy")
    assert cli("--ledger", other.location, "import", "bundle").code == 0
    shown = orjson.loads(cli("--ledger", other.location, "show", str(seq), "--json").out)
    assert shown["payload"]["member_name"] == "[not held]"
    assert cli("--ledger", other.location, "verify").code == 0


# --- what stays on disk ------------------------------------------------------------------------
# The clear value must leave the database files too, not only the table: SQLite keeps deleted
# bytes in free space (unless secure_delete) and page images in the -wal file; PostgreSQL keeps
# a deleted row in the table's file until a vacuum, and a plain VACUUM leaves the bytes of the
# row at the low end of a page (the last one written) in the page's free hole: measured, hence
# VACUUM FULL. These tests read the bytes the files hold (docs/RELIABILITY.md, Personal data).


def redact(cli: Callable[..., Result], opened: dict[str, Any], seq: int) -> Result:
    return cli(
        "redact", str(seq), "--field", "member_name", "--reason", "erasure request",
        "--key", str(opened["founder"]),
    )  # fmt: skip


def sqlite_files(db: Database) -> dict[str, bytes]:
    """The raw bytes of the SQLite file and of its -wal file, when there is one."""
    path = db.folder / db.target
    wal = path.with_name(f"{path.name}-wal")
    return {p.name: p.read_bytes() for p in (path, wal) if p.exists()}


def heap(db: Database) -> bytes:
    """The personal_data table's file as the server holds it, once CHECKPOINT has written its
    dirty pages out (the test connects as a superuser, in the test's schema)."""
    db.execute(("CHECKPOINT", ()))
    [(data,)] = db.query("SELECT pg_read_binary_file(pg_relation_filepath('personal_data'))")
    return bytes(data)


def on_disk(db: Database) -> bytes:
    return b"".join(sqlite_files(db).values()) if db.backend == "sqlite" else heap(db)


def sqlite_as_built_by_sqlite(monkeypatch: pytest.MonkeyPatch) -> None:
    """The store's connections start with secure_delete off, SQLite's own default (Debian's
    build turns it on, so without this the store's pragma would go untested here)."""
    connect = sqlite3.connect

    def plain(*args: Any, **kwargs: Any) -> sqlite3.Connection:
        c = connect(*args, **kwargs)
        if kwargs.get("uri"):  # the store's connections, not this test's
            c.execute("PRAGMA secure_delete = OFF")
        return c

    monkeypatch.setattr(sqlite3, "connect", plain)


def store_warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    found = [r.getMessage() for r in caplog.records if r.name == "ledger.store"]
    caplog.clear()
    return found


def test_a_redacted_name_leaves_the_database_files(
    opened: dict[str, Any],
    cli: Callable[..., Result],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    db: Database = opened["db"]
    sqlite_as_built_by_sqlite(monkeypatch)
    resign(cli, opened["treasurer"], "M-11", OTHER)
    seq = resign(cli, opened["treasurer"], "M-12", NAME)  # the last row written: low in its page
    assert NAME.encode() in on_disk(db)  # the control: the scan sees the stored name
    assert redact(cli, opened, seq).code == 0
    held = on_disk(db)
    assert NAME.encode() not in held
    assert OTHER.encode() in held  # what was not erased is still read
    assert store_warnings(caplog) == []
    if db.backend == "sqlite":  # the checkpoint left an empty -wal (or none, once closed)
        assert len(sqlite_files(db).get("ledger.db-wal", b"")) == 0


@pytest.mark.parametrize("db", ["sqlite"], indirect=True)
def test_a_sqlite_reader_open_during_a_redaction(
    opened: dict[str, Any],
    cli: Callable[..., Result],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """An idle connection does not stop the checkpoint; one inside a read transaction begun
    before the redaction does (it reads the file's old pages), and what it keeps stays until
    the next redaction or the close of the last connection, not the next write."""
    db: Database = opened["db"]
    sqlite_as_built_by_sqlite(monkeypatch)
    monkeypatch.setattr(ledger.store.sql, "PURGE_WAIT_SECONDS", 0.1)  # how long it waits: 5 s
    seqs = [resign(cli, opened["treasurer"], f"M-{i}", n) for i, n in enumerate([NAME, OTHER])]
    reader = sqlite3.connect(db.folder / db.target, isolation_level=None)
    try:
        reader.execute("SELECT count(*) FROM personal_data").fetchall()  # open, no transaction
        assert redact(cli, opened, seqs[0]).code == 0
        assert store_warnings(caplog) == []
        assert NAME.encode() not in on_disk(db)
        assert len(sqlite_files(db)["ledger.db-wal"]) == 0

        reader.execute("BEGIN")
        reader.execute("SELECT count(*) FROM personal_data").fetchall()  # a snapshot
        assert redact(cli, opened, seqs[1]).code == 0  # committed all the same
        [warning] = store_warnings(caplog)
        assert "snapshot from before the erasure" in warning and "next erasure" in warning
        files = sqlite_files(db)
        # The name is in the file, which the reader's snapshot reads; the zeroed page waits in
        # the -wal file.
        assert OTHER.encode() in files["ledger.db"]
        assert OTHER.encode() not in files["ledger.db-wal"]
        assert logged(cli, seqs[1])["payload"]["member_name"] == "[redacted]"

        reader.execute("COMMIT")  # the snapshot ends; the connection stays
        assert cli("record", "metric", "--year", "2025", "--name", "members", "--value", "7",
                   "--unit", "n", "--key", str(opened["treasurer"])).code == 0  # fmt: skip
        assert OTHER.encode() in on_disk(db)  # a write alone does not checkpoint
        third = resign(cli, opened["treasurer"], "M-3", THIRD)
        assert redact(cli, opened, third).code == 0  # the next redaction does
        assert store_warnings(caplog) == []
        assert OTHER.encode() not in on_disk(db) and THIRD.encode() not in on_disk(db)

        reader.execute("BEGIN")
        reader.execute("SELECT count(*) FROM personal_data").fetchall()
        fourth = resign(cli, opened["treasurer"], "M-4", NAME)
        assert redact(cli, opened, fourth).code == 0
        assert len(store_warnings(caplog)) == 1
        assert NAME.encode() in on_disk(db)
    finally:
        reader.close()  # the last connection to the file: its close checkpoints it
    assert NAME.encode() not in on_disk(db)
    assert verify_json(db)["ok"] is True


@pytest.mark.parametrize("db", ["postgres"], indirect=True)
def test_a_postgres_snapshot_older_than_a_redaction_keeps_the_row(
    opened: dict[str, Any],
    cli: Callable[..., Result],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """VACUUM FULL copies a deleted row that some snapshot may still read: the store waits a
    bounded time for such snapshots, then says the bytes stay; the next redaction purges."""
    import psycopg

    db: Database = opened["db"]
    seqs = [resign(cli, opened["treasurer"], f"M-{i}", n) for i, n in enumerate([NAME, OTHER])]
    with psycopg.connect(POSTGRES_URL) as other:
        other.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        other.execute("SELECT 1").fetchall()  # its snapshot, held until the rollback
        with monkeypatch.context() as short:
            short.setattr(ledger.store.sql, "PURGE_WAIT_SECONDS", 0.1)  # how long it waits: 5 s
            assert redact(cli, opened, seqs[0]).code == 0  # committed all the same
        [warning] = store_warnings(caplog)
        assert "snapshot from before the erasure" in warning and "VACUUM FULL" in warning
        assert NAME.encode() in heap(db)
        assert logged(cli, seqs[0])["payload"]["member_name"] == "[redacted]"
        other.rollback()
    assert redact(cli, opened, seqs[1]).code == 0
    assert store_warnings(caplog) == []
    assert NAME.encode() not in heap(db) and OTHER.encode() not in heap(db)


@pytest.mark.parametrize("db", ["postgres"], indirect=True)
def test_a_vacuum_that_fails_leaves_the_redaction_recorded(
    opened: dict[str, Any],
    cli: Callable[..., Result],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The redaction is committed before VACUUM FULL runs: a vacuum that cannot get its lock
    (another session reads the table) leaves exit 0, the event, the clear value gone from the
    table, and a warning saying what to run; redacting again is refused, not repeated."""
    db: Database = opened["db"]
    seq = resign(cli, opened["treasurer"], "M-12", NAME)
    monkeypatch.setattr(ledger.store.sql, "LOCK_TIMEOUT_SECONDS", 1)  # the store's bound: 30 s
    reader = db._connect()
    try:
        reader.execute("LOCK TABLE personal_data IN ACCESS SHARE MODE")
        assert redact(cli, opened, seq).code == 0
    finally:
        reader.rollback()
        reader.close()
    [warning] = store_warnings(caplog)
    assert "VACUUM FULL personal_data failed" in warning and "lock timeout" in warning
    assert _personal_rows(db) == []
    assert NAME.encode() in heap(db)  # what the failed vacuum leaves: the row's bytes
    assert logged(cli, seq)["payload"]["member_name"] == "[redacted]"
    again = redact(cli, opened, seq)
    assert again.code == 2 and "redacted already" in again.err
    assert verify_json(db)["ok"] is True


@contextmanager
def _role_not_owning_the_tables(db: Database) -> Iterator[str]:
    """A role that may read and write the store's tables but does not own them (a common
    deployment), as a URL for ``LEDGER_URL``; dropped afterwards."""
    import psycopg

    role = f"ledger_writer_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(POSTGRES_URL, autocommit=True) as admin:
        for statement in (
            f"CREATE ROLE {role} LOGIN PASSWORD '{role}'",
            f'GRANT USAGE ON SCHEMA "{db.schema}" TO {role}',
            f'GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA "{db.schema}" TO {role}',
            f'GRANT USAGE ON ALL SEQUENCES IN SCHEMA "{db.schema}" TO {role}',
        ):
            admin.execute(statement)
        parts = urlsplit(db.target)
        netloc = f"{role}:{role}@{parts.hostname}:{parts.port or 5432}"
        try:
            yield urlunsplit(parts._replace(netloc=netloc))
        finally:
            admin.execute(f"DROP OWNED BY {role}")
            admin.execute(f"DROP ROLE {role}")


@pytest.mark.parametrize("db", ["postgres"], indirect=True)
def test_a_role_that_may_not_vacuum_is_told(
    opened: dict[str, Any], cli: Callable[..., Result]
) -> None:
    """VACUUM by a role that does not own the table skips it with a WARNING, no error: the
    store hears the warning and the user reads it on stderr."""
    db: Database = opened["db"]
    seq = resign(cli, opened["treasurer"], "M-12", NAME)
    with _role_not_owning_the_tables(db) as url:
        # A process of its own: the warning reaches stderr through logging's last resort,
        # which pytest's own log handlers would take in this one.
        done = run_subprocess(
            "redact", str(seq), "--field", "member_name", "--reason", "asked",
            "--key", str(opened["founder"]), cwd=db.folder, env={"LEDGER_URL": url},
        )  # fmt: skip
    assert done.code == 0, done.err
    assert f"redacted member_name of event {seq}" in done.err
    [warning] = [line for line in done.err.splitlines() if line.startswith("warning:")]
    assert "VACUUM FULL personal_data" in warning and "owner" in warning
    assert NAME.encode() in heap(db)
    assert logged(cli, seq)["payload"]["member_name"] == "[redacted]"
