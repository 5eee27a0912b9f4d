"""Tampering done to the SQLite file directly, as an attacker with file access would: each must
make ``ledger verify`` (the real command, in a subprocess) exit 1 naming the right event."""

from __future__ import annotations

import base64
import sqlite3
from collections.abc import Callable
from pathlib import Path

import orjson
import pytest
from conftest import Result, db_rows, make_key, run_subprocess, tamper

from ledger import keys
from ledger.envelope import Envelope, entry_bytes, parse_entry


def verify_fails_at(folder: Path, seq: int, reason: str) -> None:
    result = run_subprocess("verify", "--json", cwd=folder)
    assert result.code == 1, result
    report = orjson.loads(result.out)
    assert report["ok"] is False
    first = report["failures"][0]
    assert (first["seq"], first["reason"]) == (seq, reason), report
    text = run_subprocess("verify", cwd=folder)
    assert text.code == 1
    assert text.out.startswith(f"FAILED: event {seq}: {reason}:"), text.out


def rewrite(db: Path, seq: int, entry: bytes) -> None:
    tamper(db, ("UPDATE stored_events SET state = ? WHERE originator_version = ?", (entry, seq)))


def test_intact_ledger_verifies(opened: dict[str, Path]) -> None:
    result = run_subprocess("verify", "--json", cwd=opened["db"].parent)
    assert result.code == 0, result
    report = orjson.loads(result.out)
    assert report["ok"] is True and report["events"] == 6 and report["failures"] == []
    assert report["head"] == parse_entry(db_rows(opened["db"])[-1][2]).id


def test_triggers_refuse_update_and_delete(opened: dict[str, Path]) -> None:
    with sqlite3.connect(opened["db"]) as c:
        for sql in ("UPDATE stored_events SET topic = 'x'", "DELETE FROM stored_events"):
            with pytest.raises(sqlite3.IntegrityError, match="append-only"):
                c.execute(sql)


def test_flipped_byte_in_payload(opened: dict[str, Path]) -> None:
    seq, _, entry = db_rows(opened["db"])[4]
    assert b"219949" in entry
    rewrite(opened["db"], seq, entry.replace(b"219949", b"219948"))
    verify_fails_at(opened["db"].parent, seq, "bad-signature")


def test_flipped_byte_that_breaks_the_json(opened: dict[str, Path]) -> None:
    seq, _, entry = db_rows(opened["db"])[3]
    rewrite(opened["db"], seq, entry.replace(b'"payload":', b'"payload" :'))
    verify_fails_at(opened["db"].parent, seq, "not-canonical")


def test_changed_signature(opened: dict[str, Path]) -> None:
    seq, _, entry = db_rows(opened["db"])[2]
    obj = orjson.loads(entry)
    sig = bytearray(base64.b64decode(obj["sig"]))
    sig[10] ^= 0x01
    obj["sig"] = base64.b64encode(bytes(sig)).decode()
    rewrite(opened["db"], seq, orjson.dumps(obj, option=orjson.OPT_SORT_KEYS))
    verify_fails_at(opened["db"].parent, seq, "bad-signature")


def test_deleted_event_in_the_middle(opened: dict[str, Path]) -> None:
    tamper(opened["db"], ("DELETE FROM stored_events WHERE originator_version = 4", ()))
    verify_fails_at(opened["db"].parent, 5, "sequence-gap")


def test_two_events_swapped(opened: dict[str, Path]) -> None:
    rows = db_rows(opened["db"])
    (s4, _, e4), (s5, _, e5) = rows[3], rows[4]
    tamper(
        opened["db"],
        ("UPDATE stored_events SET state = ? WHERE originator_version = ?", (e5, s4)),
        ("UPDATE stored_events SET state = ? WHERE originator_version = ?", (e4, s5)),
    )
    verify_fails_at(opened["db"].parent, 4, "seq-mismatch")


def test_event_copied_from_another_ledger(
    opened: dict[str, Path],
    tmp_path: Path,
    cli: Callable[..., Result],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A second ledger of the same enterprise, with the same founder key: its events are
    # signed by a legitimate key, yet must not pass in the first ledger.
    other = tmp_path / "other"
    other.mkdir()
    monkeypatch.chdir(other)
    founder = str(opened["founder"])
    assert (
        cli("init", "--enterprise", "SmartCoop", "--number", "0896.755.397", "--key", founder).code
        == 0
    )
    assert (
        cli(
            "signer",
            "add",
            "--pub",
            f"{opened['board']}.pub",
            "--name",
            "Board",
            "--role",
            "board",
            "--key",
            founder,
        ).code
        == 0
    )
    assert (
        cli(
            "signer",
            "add",
            "--pub",
            f"{opened['treasurer']}.pub",
            "--name",
            "Treasurer",
            "--role",
            "treasurer",
            "--key",
            founder,
        ).code
        == 0
    )
    seq, _, foreign = db_rows(other / "ledger.db")[2]
    rewrite(opened["db"], seq, foreign)
    verify_fails_at(opened["db"].parent, seq, "wrong-ledger")


def forge_append(db: Path, key_path: Path, *, seq_offset: int = 1) -> int:
    """Append an event signed by ``key_path`` right after the head, chain and all correct."""
    last = parse_entry(db_rows(db)[-1][2]).envelope
    key = keys.load_signing_key(key_path, lambda p: b"")
    env = Envelope(
        ledger=last.ledger,
        seq=last.seq + seq_offset,
        prev=parse_entry(db_rows(db)[-1][2]).id,
        type="MetricSubmitted",
        schema=1,
        effective="2025-12-31",
        recorded_at=last.recorded_at,
        signer=key.public.key_id,
        payload={"year": 2025, "name": "forged", "value": "1", "unit": "EUR"},
    )
    data = entry_bytes(env, key.sign(env.signing_input()))
    with sqlite3.connect(db) as c:
        c.execute(
            "INSERT INTO stored_events VALUES (?,?,?,?)",
            (last.ledger.replace("-", ""), env.seq, env.type, data),
        )
    return env.seq


def test_event_signed_by_revoked_key_after_revocation(
    opened: dict[str, Path], cli: Callable[..., Result]
) -> None:
    treasurer_id = keys.load_public_key(Path(f"{opened['treasurer']}.pub")).key_id
    assert (
        cli(
            "signer",
            "revoke",
            treasurer_id,
            "--reason",
            "left the board",
            "--key",
            str(opened["founder"]),
        ).code
        == 0
    )
    refused = cli(
        "record",
        "metric",
        "--year",
        "2025",
        "--name",
        "x",
        "--value",
        "1",
        "--unit",
        "EUR",
        "--key",
        str(opened["treasurer"]),
    )
    assert refused.code == 2 and "revoked-signer" in refused.err
    seq = forge_append(opened["db"], opened["treasurer"])
    verify_fails_at(opened["db"].parent, seq, "revoked-signer")


def test_event_signed_by_a_key_never_enrolled(opened: dict[str, Path], tmp_path: Path) -> None:
    seq = forge_append(opened["db"], make_key(tmp_path, "Intruder"))
    verify_fails_at(opened["db"].parent, seq, "unknown-signer")


def test_stored_type_column_changed(opened: dict[str, Path]) -> None:
    tamper(
        opened["db"],
        ("UPDATE stored_events SET topic = 'SignerEnrolled' WHERE originator_version = 6", ()),
    )
    verify_fails_at(opened["db"].parent, 6, "topic-mismatch")


def test_truncated_tail_is_not_an_integrity_failure_without_a_checkpoint(
    opened: dict[str, Path],
) -> None:
    # Without an outside checkpoint a cut tail is undetectable (issue #3 adds --trusted);
    # this pins the limit so nobody believes otherwise.
    # A careful attacker also drops the tree nodes the last event completed; a careless one
    # leaves them, and the node count gives the cut away.
    tamper(opened["db"], ("DELETE FROM stored_events WHERE originator_version = 6", ()))
    careless = run_subprocess("verify", cwd=opened["db"].parent)
    assert careless.code == 1 and "stored-tree-mismatch" in careless.out
    tamper(opened["db"], ("DELETE FROM merkle_nodes WHERE (level, idx) IN ((0, 5), (1, 2))", ()))
    assert run_subprocess("verify", cwd=opened["db"].parent).code == 0
