"""Tampering done to the database directly, as an attacker with file or database access would
(the SQLite file, or the PostgreSQL tables): each must make ``ledger verify`` (the real command,
in a subprocess) exit 1 naming the right event."""

from __future__ import annotations

import base64
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pytest
from conftest import (
    Database,
    Result,
    forge_append,
    make_key,
    metric_args,
    run_here,
    sqlite_only,
)

from ledger.app import keyfiles
from ledger.core.envelope import parse_entry


def verify_fails_at(db: Database, seq: int, reason: str) -> None:
    result = run_here("verify", "--json", cwd=db.folder, env=db.env)
    assert result.code == 1, result
    report = orjson.loads(result.out)
    assert report["ok"] is False
    first = report["failures"][0]
    assert (first["seq"], first["reason"]) == (seq, reason), report
    text = run_here("verify", cwd=db.folder, env=db.env)
    assert text.code == 1
    assert text.out.startswith(f"FAILED: event {seq}: {reason}:"), text.out


def rewrite(db: Database, seq: int, entry: bytes) -> None:
    db.tamper(("UPDATE stored_events SET state = ? WHERE originator_version = ?", (entry, seq)))


def test_intact_ledger_verifies(opened: dict[str, Any]) -> None:
    result = run_here("verify", "--json", cwd=opened["db"].folder, env=opened["db"].env)
    assert result.code == 0, result
    report = orjson.loads(result.out)
    assert report["ok"] is True and report["events"] == 6 and report["failures"] == []
    assert report["head"] == parse_entry(opened["db"].rows()[-1][2]).id


def test_triggers_refuse_update_and_delete(opened: dict[str, Any]) -> None:
    db: Database = opened["db"]
    statements = ["UPDATE stored_events SET topic = 'x'", "DELETE FROM stored_events"]
    statements += ["UPDATE merkle_nodes SET hash = hash", "DELETE FROM merkle_nodes"]
    if db.backend == "postgres":
        statements += ["TRUNCATE stored_events", "TRUNCATE merkle_nodes"]
    for sql in statements:
        assert "append-only" in db.refusal(sql)


def test_flipped_byte_in_payload(opened: dict[str, Any]) -> None:
    seq, _, entry = opened["db"].rows()[4]
    assert b"219949" in entry
    rewrite(opened["db"], seq, entry.replace(b"219949", b"219948"))
    verify_fails_at(opened["db"], seq, "bad-signature")


def test_flipped_byte_that_breaks_the_json(opened: dict[str, Any]) -> None:
    seq, _, entry = opened["db"].rows()[3]
    rewrite(opened["db"], seq, entry.replace(b'"payload":', b'"payload" :'))
    verify_fails_at(opened["db"], seq, "not-canonical")


def test_changed_signature(opened: dict[str, Any]) -> None:
    seq, _, entry = opened["db"].rows()[2]
    obj = orjson.loads(entry)
    sig = bytearray(base64.b64decode(obj["sig"]))
    sig[10] ^= 0x01
    obj["sig"] = base64.b64encode(bytes(sig)).decode()
    rewrite(opened["db"], seq, orjson.dumps(obj, option=orjson.OPT_SORT_KEYS))
    verify_fails_at(opened["db"], seq, "bad-signature")


def test_deleted_event_in_the_middle(opened: dict[str, Any]) -> None:
    opened["db"].tamper(("DELETE FROM stored_events WHERE originator_version = 4", ()))
    verify_fails_at(opened["db"], 5, "sequence-gap")


def test_two_events_swapped(opened: dict[str, Any]) -> None:
    rows = opened["db"].rows()
    (s4, _, e4), (s5, _, e5) = rows[3], rows[4]
    opened["db"].tamper(
        ("UPDATE stored_events SET state = ? WHERE originator_version = ?", (e5, s4)),
        ("UPDATE stored_events SET state = ? WHERE originator_version = ?", (e4, s5)),
    )
    verify_fails_at(opened["db"], 4, "seq-mismatch")


def test_event_copied_from_another_ledger(
    opened: dict[str, Any],
    tmp_path: Path,
    cli: Callable[..., Result],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A second ledger of the same enterprise, with the same founder key: its events are
    # signed by a legitimate key, yet must not pass in the first ledger.
    other = opened["db"].sibling("other")
    monkeypatch.chdir(other.folder)
    for name, value in other.env.items():
        monkeypatch.setenv(name, value)
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
    seq, _, foreign = other.rows()[2]
    rewrite(opened["db"], seq, foreign)
    verify_fails_at(opened["db"], seq, "wrong-ledger")


def test_event_signed_by_revoked_key_after_revocation(
    opened: dict[str, Any], cli: Callable[..., Result]
) -> None:
    treasurer_id = keyfiles.load_public_key(Path(f"{opened['treasurer']}.pub")).key_id
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
    refused = cli(*metric_args(opened["treasurer"], "1", name="x", unit="EUR"))
    assert refused.code == 2 and "revoked-signer" in refused.err
    seq = forge_append(opened["db"], opened["treasurer"])
    verify_fails_at(opened["db"], seq, "revoked-signer")


def test_event_signed_by_a_key_never_enrolled(opened: dict[str, Any], tmp_path: Path) -> None:
    seq = forge_append(opened["db"], make_key(tmp_path, "Intruder"))
    verify_fails_at(opened["db"], seq, "unknown-signer")


def test_stored_type_column_changed(opened: dict[str, Any]) -> None:
    opened["db"].tamper(
        ("UPDATE stored_events SET topic = 'SignerEnrolled' WHERE originator_version = 6", ()),
    )
    verify_fails_at(opened["db"], 6, "topic-mismatch")


# SQLite keeps any type in any column: an attacker can leave text, a number or NULL where an
# entry or a tree node was. Verify must name the row, not crash on it.
@sqlite_only
@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("CAST(replace(state, '219949', '219948') AS TEXT)", "bad-signature"),
        ("NULL", "not-canonical"),
        ("42", "malformed"),
    ],
)
def test_entry_column_holding_another_type(opened: dict[str, Any], value: str, reason: str) -> None:
    opened["db"].tamper(
        (f"UPDATE stored_events SET state = {value} WHERE originator_version = 5", ()),
    )
    verify_fails_at(opened["db"], 5, reason)


@sqlite_only
def test_entry_stored_as_text_with_its_bytes_intact_verifies(opened: dict[str, Any]) -> None:
    # The signed bytes are what count; the column's type is the database's business.
    opened["db"].tamper(("UPDATE stored_events SET state = CAST(state AS TEXT)", ()))
    assert run_here("verify", cwd=opened["db"].folder, env=opened["db"].env).code == 0


@sqlite_only
@pytest.mark.parametrize("value", ["'abc'", "CAST(X'FF00FE' AS TEXT)"])  # the second: not UTF-8
def test_tree_node_holding_text(opened: dict[str, Any], value: str) -> None:
    opened["db"].tamper(
        (f"UPDATE merkle_nodes SET hash = {value} WHERE level = 0 AND idx = 1", ()),
    )
    verify_fails_at(opened["db"], 6, "stored-tree-mismatch")


@sqlite_only
def test_type_column_holding_bytes_that_are_not_utf8(opened: dict[str, Any]) -> None:
    opened["db"].tamper(
        ("UPDATE stored_events SET topic = CAST(X'FF4D' AS TEXT) WHERE originator_version = 6", ()),
    )
    verify_fails_at(opened["db"], 6, "topic-mismatch")


def test_truncated_tail_is_not_an_integrity_failure_without_a_checkpoint(
    opened: dict[str, Any],
) -> None:
    # Without an outside checkpoint a cut tail is undetectable (issue #3 adds --trusted);
    # this pins the limit so nobody believes otherwise.
    # A careful attacker also drops the tree nodes the last event completed; a careless one
    # leaves them, and the node count gives the cut away.
    opened["db"].tamper(("DELETE FROM stored_events WHERE originator_version = 6", ()))
    careless = run_here("verify", cwd=opened["db"].folder, env=opened["db"].env)
    assert careless.code == 1 and "stored-tree-mismatch" in careless.out
    opened["db"].tamper(("DELETE FROM merkle_nodes WHERE (level, idx) IN ((0, 5), (1, 2))", ()))
    assert run_here("verify", cwd=opened["db"].folder, env=opened["db"].env).code == 0
