"""The ledger as a transparency log: its stored tree, checkpoints, cosigning, proofs, export
and the offline audit, tried against truncation, rewriting, forks and removed cosignatures."""

from __future__ import annotations

import base64
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pytest
from conftest import Database, Result, make_key, run_here, sqlite_only

from ledger.app import keyfiles
from ledger.chain import verify
from ledger.chain.ledger import Ledger
from ledger.core import keys
from ledger.core.draft import Draft
from ledger.core.envelope import Envelope, entry_bytes, event_id, parse_entry
from ledger.tlog import checkpoint, merkle, note


@pytest.fixture
def logged(opened: dict[str, Any], cli: Callable[..., Result], tmp_path: Path) -> dict[str, Any]:
    """The opened ledger, plus a Council key enrolled and a cosigned checkpoint at size 7."""
    council = make_key(tmp_path, "Conseil national")
    assert (
        cli(
            "signer",
            "add",
            "--pub",
            f"{council}.pub",
            "--name",
            "Conseil national",
            "--role",
            "council",
            "--key",
            str(opened["founder"]),
        ).code
        == 0
    )
    cp = tmp_path / "cp7"
    assert cli("checkpoint", "--key", str(opened["founder"]), "--out", str(cp)).code == 0
    assert cli("checkpoint", "cosign", str(cp), "--key", str(council)).code == 0
    return {**opened, "council": council, "cp": cp}


def ledger_at(db: Database) -> Ledger:
    return Ledger.open(db.location)


def test_stored_tree_matches_the_reference_at_every_size(logged: dict[str, Any]) -> None:
    ledger = ledger_at(logged["db"])
    leaves = [merkle.leaf_hash(r[2]) for r in logged["db"].rows()]
    tree = ledger.tree()
    for size in range(1, len(leaves) + 1):
        assert tree.root(size) == merkle.root_hash(leaves[:size])
        for index in range(size):
            assert tree.inclusion_proof(index, size) == merkle.inclusion_proof(leaves[:size], index)
        for old in range(1, size + 1):
            assert tree.consistency_proof(old, size) == merkle.consistency_proof(leaves[:size], old)


def test_checkpoint_note_is_c2sp(logged: dict[str, Any]) -> None:
    ledger = ledger_at(logged["db"])
    parsed = note.parse_note(logged["cp"].read_bytes())
    cp = note.parse_checkpoint(parsed.text)
    assert cp.origin == ledger.origin() == f"coop-ledger/0896755397/{ledger.id}"
    assert (cp.size, cp.root) == (7, ledger.tree().root(7))
    founder = keyfiles.load_signing_key(logged["founder"], lambda p: b"").public
    council = keyfiles.load_public_key(Path(f"{logged['council']}.pub"))
    verified = note.verify_note(
        parsed,
        [checkpoint.log_verifier(cp.origin, founder.raw), checkpoint.cosigner_verifier(council)],
    )
    assert [v.key.name for v in verified] == [cp.origin, "Conseil-national"]
    assert verified[1].timestamp is not None


@pytest.mark.parametrize("mutate", ["byte", "origin", "size"])
def test_changed_checkpoint_is_refused(
    logged: dict[str, Any], cli: Callable[..., Result], tmp_path: Path, mutate: str
) -> None:
    data = logged["cp"].read_bytes()
    changed = {
        "byte": data.replace(b"\n7\n", b"\n7\n", 1)[:-5] + bytes([data[-5] ^ 1]) + data[-4:],
        "origin": data.replace(b"coop-ledger/0896755397/", b"coop-ledger/0896755398/"),
        "size": data.replace(b"\n7\n", b"\n6\n", 1),
    }[mutate]
    bad = tmp_path / "bad"
    bad.write_bytes(changed)
    result = cli("prove", "3", "--checkpoint", str(bad))
    assert result.code == 2, result
    assert result.err.startswith("error: --checkpoint: ")


def test_cosign_refuses_a_checkpoint_of_another_key(
    logged: dict[str, Any], cli: Callable[..., Result], tmp_path: Path
) -> None:
    ledger = ledger_at(logged["db"])
    stranger = keys.generate("Stranger")
    forged = checkpoint.sign(ledger.origin(), 7, ledger.tree().root(7), stranger).to_bytes()
    (tmp_path / "forged").write_bytes(forged)
    result = cli("checkpoint", "cosign", str(tmp_path / "forged"), "--key", str(logged["council"]))
    assert result.code == 2 and "no-known-signature" in result.err
    assert (tmp_path / "forged").read_bytes() == forged


def test_checkpoint_needs_an_admin_or_secretary_key(
    logged: dict[str, Any], cli: Callable[..., Result]
) -> None:
    result = cli("checkpoint", "--key", str(logged["board"]))
    assert result.code == 2 and "needs role admin or secretary" in result.err


def test_prove_gives_c2sp_tlog_proof_that_verifies(
    logged: dict[str, Any], cli: Callable[..., Result]
) -> None:
    text = cli("prove", "4", "--checkpoint", str(logged["cp"])).out
    head, checkpoint_note = text.split("\n\n", 1)
    lines = head.split("\n")
    assert lines[0] == "c2sp.org/tlog-proof@v1"
    entry = base64.b64decode(lines[1].removeprefix("extra "))
    assert lines[2] == "index 3"
    path = [base64.b64decode(x) for x in lines[3:]]
    cp = note.parse_checkpoint(note.parse_note(checkpoint_note.encode()).text)
    merkle.verify_inclusion(merkle.leaf_hash(entry), 3, cp.size, path, cp.root)
    assert parse_entry(entry).envelope.seq == 4
    as_json = orjson.loads(cli("prove", "4", "--checkpoint", str(logged["cp"]), "--json").out)
    assert as_json["entry"].encode() == entry and as_json["index"] == 3
    outside = cli("prove", "8", "--checkpoint", str(logged["cp"]))
    assert outside.code == 2 and "not in this checkpoint" in outside.err


@sqlite_only  # restores the file from a copy
def test_verify_trusted_passes_then_catches_truncation_and_rewrite(
    logged: dict[str, Any], cli: Callable[..., Result]
) -> None:
    assert (
        cli(
            "record",
            "metric",
            "--year",
            "2026",
            "--name",
            "late",
            "--value",
            "1",
            "--unit",
            "EUR",
            "--key",
            str(logged["treasurer"]),
        ).code
        == 0
    )
    ok = run_here("verify", "--trusted", str(logged["cp"]), cwd=logged["db"].folder)
    assert ok.code == 0, ok
    backup = logged["db"].folder / "backup.db"
    with sqlite3.connect(logged["db"].location) as src, sqlite3.connect(backup) as dst:
        src.backup(dst)
    logged["db"].tamper(("DELETE FROM stored_events WHERE originator_version >= 6", ()))
    cut = run_here("verify", "--trusted", str(logged["cp"]), "--json", cwd=logged["db"].folder)
    assert cut.code == 1
    assert orjson.loads(cut.out)["failures"][0]["reason"] == "truncated"
    # The enterprise rewrites event 5 with its own legitimate key and re-chains what follows.
    with sqlite3.connect(backup) as src, sqlite3.connect(logged["db"].location) as dst:
        src.backup(dst)
    rewrite_from(logged["db"], 5, logged["treasurer"].parent)
    assert run_here("verify", cwd=logged["db"].folder).code == 0  # undetectable alone
    bad = run_here("verify", "--trusted", str(logged["cp"]), "--json", cwd=logged["db"].folder)
    assert bad.code == 1
    first = orjson.loads(bad.out)["failures"][0]
    assert (first["seq"], first["reason"]) == (7, "checkpoint-mismatch")


def rewrite_from(db: Database, seq: int, folder: Path) -> None:
    """Rewrite event ``seq`` (a figure) and re-sign every later event with its own signer's
    key (all in ``folder``), as an enterprise holding all its keys could; rebuilds the tree
    nodes too."""
    rows = db.rows()
    signers = {}
    for path in folder.glob("*.key"):
        k = keyfiles.load_signing_key(path, lambda p: b"")
        signers[k.public.key_id] = k
    new_rows, prev = [], None
    tree = merkle.CompactRange()
    nodes = []
    for s, _topic, entry in rows:
        env = parse_entry(entry).envelope
        if s >= seq:
            payload = dict(env.payload)
            if s == seq:
                payload["value"] = str(int(payload["value"]) + 1)
            env = Envelope(
                env.ledger,
                env.seq,
                prev or env.prev,
                env.type,
                env.schema,
                env.effective,
                env.recorded_at,
                env.signer,
                payload,
            )
            data = env.to_bytes()
            entry = entry_bytes(env, signers[env.signer].sign(env.signing_input()), data)
        prev = event_id(env.to_bytes())
        new_rows.append((entry, s))
        nodes += tree.append(merkle.leaf_hash(entry))
    ledger_hex = parse_entry(rows[0][2]).envelope.ledger.replace("-", "")
    db.tamper(
        *[("UPDATE stored_events SET state = ? WHERE originator_version = ?", r) for r in new_rows],
        ("DELETE FROM merkle_nodes", ()),
        *[
            ("INSERT INTO merkle_nodes VALUES (?,?,?,?)", (ledger_hex, lv, i, h))
            for lv, i, h in nodes
        ],
    )


def export(folder: Path, name: str = "bundle") -> Path:
    assert run_here("export", "--out", name, cwd=folder).code == 0
    return folder / name


def audit(folder: Path, bundle: Path, council: Path, *extra: str) -> dict[str, object]:
    result = run_here(
        "audit", str(bundle), "--trust", f"{council}.pub", "--json", *extra, cwd=folder
    )
    report: dict[str, object] = orjson.loads(result.out)
    assert result.code == (0 if report["ok"] else 1), result
    return report


def first_failure(report: dict[str, object]) -> tuple[int, str]:
    failures = report["failures"]
    assert isinstance(failures, list) and failures
    return failures[0]["seq"], failures[0]["reason"]


def test_audit_of_an_exported_bundle(logged: dict[str, Any], cli: Callable[..., Result]) -> None:
    folder = logged["db"].folder
    assert cli("checkpoint", "record", str(logged["cp"]), "--key", str(logged["founder"])).code == 0
    bundle = export(folder)
    lines = bundle.read_bytes().splitlines()
    assert orjson.loads(lines[0])["bundle"] == "coop-ledger/bundle/v1"
    assert lines[1:] == [r[2] for r in logged["db"].rows()]
    report = audit(folder, bundle, logged["council"], "--trusted", str(logged["cp"]))
    assert report["ok"] is True and report["events"] == 8
    assert report["late_entries"] == []


def test_audit_catches_a_truncated_tail(logged: dict[str, Any]) -> None:
    folder = logged["db"].folder
    bundle = export(folder)
    lines = bundle.read_bytes().splitlines(keepends=True)
    bundle.write_bytes(b"".join(lines[:-2]))
    assert first_failure(audit(folder, bundle, logged["council"])) == (6, "header-mismatch")
    assert first_failure(
        audit(folder, bundle, logged["council"], "--trusted", str(logged["cp"]))
    ) == (6, "truncated")


def test_audit_catches_a_rewritten_middle_event(logged: dict[str, Any]) -> None:
    folder = logged["db"].folder
    rewrite_from(logged["db"], 5, logged["treasurer"].parent)
    bundle = export(folder)
    assert audit(folder, bundle, logged["council"])["ok"] is True  # signatures all fine
    report = audit(folder, bundle, logged["council"], "--trusted", str(logged["cp"]))
    assert first_failure(report) == (7, "checkpoint-mismatch")


@sqlite_only  # forks the ledger by copying the file
def test_audit_catches_a_fork(
    logged: dict[str, Any], cli: Callable[..., Result], tmp_path: Path
) -> None:
    # Two ledgers sharing the first 7 events, then each its own figure: the Council holds a
    # checkpoint of branch A at size 8; the bundle it is shown is branch B.
    folder = logged["db"].folder
    fork = tmp_path / "fork.db"
    with sqlite3.connect(logged["db"].location) as src, sqlite3.connect(fork) as dst:
        src.backup(dst)
    for db, value in ((logged["db"].location, "1"), (str(fork), "2")):
        assert (
            cli(
                "--ledger",
                str(db),
                "record",
                "metric",
                "--year",
                "2026",
                "--name",
                "x",
                "--value",
                value,
                "--unit",
                "EUR",
                "--key",
                str(logged["treasurer"]),
            ).code
            == 0
        )
    cp_a = tmp_path / "cp-a"
    assert cli("checkpoint", "--key", str(logged["founder"]), "--out", str(cp_a)).code == 0
    assert cli("checkpoint", "cosign", str(cp_a), "--key", str(logged["council"])).code == 0
    assert run_here("--ledger", str(fork), "export", "--out", "b-fork", cwd=folder).code == 0
    report = audit(folder, folder / "b-fork", logged["council"], "--trusted", str(cp_a))
    assert first_failure(report) == (8, "checkpoint-mismatch")


def test_audit_refuses_a_trusted_checkpoint_without_its_cosignature(
    logged: dict[str, Any], tmp_path: Path
) -> None:
    folder = logged["db"].folder
    bundle = export(folder)
    stripped = tmp_path / "stripped"
    data = logged["cp"].read_bytes()
    stripped.write_bytes(
        b"".join(line for line in data.splitlines(keepends=True) if b"Conseil-national" not in line)
    )
    assert stripped.read_bytes() != data
    report = audit(folder, bundle, logged["council"], "--trusted", str(stripped))
    assert first_failure(report)[1] == "untrusted-checkpoint"


def test_removed_cosignature_in_a_recorded_checkpoint(
    logged: dict[str, Any], cli: Callable[..., Result]
) -> None:
    folder = logged["db"].folder
    assert cli("checkpoint", "record", str(logged["cp"]), "--key", str(logged["founder"])).code == 0
    bundle = export(folder)
    lines = bundle.read_bytes().splitlines(keepends=True)
    obj = orjson.loads(lines[8])
    obj["payload"]["note"] = "".join(
        line
        for line in obj["payload"]["note"].splitlines(keepends=True)
        if "Conseil-national" not in line
    )
    lines[8] = orjson.dumps(obj, option=orjson.OPT_SORT_KEYS) + b"\n"
    bundle.write_bytes(b"".join(lines))
    assert first_failure(audit(folder, bundle, logged["council"])) == (8, "bad-signature")


def test_late_entries_are_listed(logged: dict[str, Any], cli: Callable[..., Result]) -> None:
    # The checkpoint was cosigned this year, so it closed last year: a figure for last year
    # recorded after it is backdating the Council can see.
    folder = logged["db"].folder
    ledger = ledger_at(logged["db"])
    closed = int(ledger.entry(7).envelope.recorded_at[:4]) - 1
    assert (
        cli(
            "record",
            "metric",
            "--year",
            str(closed),
            "--name",
            "late",
            "--value",
            "5",
            "--unit",
            "EUR",
            "--key",
            str(logged["treasurer"]),
        ).code
        == 0
    )
    assert (
        cli(
            "record",
            "metric",
            "--year",
            str(closed + 1),
            "--name",
            "current",
            "--value",
            "6",
            "--unit",
            "EUR",
            "--key",
            str(logged["treasurer"]),
        ).code
        == 0
    )
    assert cli("checkpoint", "record", str(logged["cp"]), "--key", str(logged["founder"])).code == 0
    assert (
        cli(
            "record",
            "metric",
            "--year",
            str(closed - 3),
            "--name",
            "older",
            "--value",
            "7",
            "--unit",
            "EUR",
            "--key",
            str(logged["treasurer"]),
        ).code
        == 0
    )
    report = audit(folder, export(folder), logged["council"])
    assert report["ok"] is True
    late = report["late_entries"]
    assert isinstance(late, list)
    assert [
        (e["seq"], e["type"], e["effective"], e["checkpoint_size"], e["covered_until"])
        for e in late
    ] == [
        (8, "MetricSubmitted", f"{closed}-12-31", 7, f"{closed}-12-31"),
        (11, "MetricSubmitted", f"{closed - 3}-12-31", 7, f"{closed}-12-31"),
    ]
    text = run_here("audit", "bundle", "--trust", f"{logged['council']}.pub", cwd=folder)
    assert "late entry: event 8 (MetricSubmitted" in text.out


def test_forged_recorded_checkpoint_fails_verification(logged: dict[str, Any]) -> None:
    ledger = ledger_at(logged["db"])
    founder = keyfiles.load_signing_key(logged["founder"], lambda p: b"")
    wrong = checkpoint.sign(ledger.origin(), 7, b"\x00" * 32, founder).to_bytes().decode()
    ledger.append(
        founder, [Draft("CheckpointRecorded", {"size": 7, "root": "00" * 32, "note": wrong})]
    )
    result = verify.verify_ledger(ledger.store, ledger.id)
    assert [(f.seq, f.reason) for f in result.failures] == [(8, "bad-checkpoint")]


def test_tampered_tree_nodes_are_caught(logged: dict[str, Any]) -> None:
    logged["db"].tamper(
        ("UPDATE merkle_nodes SET hash = ? WHERE level = 0 AND idx = 2", (b"\x11" * 32,)),
    )
    result = run_here("verify", "--json", cwd=logged["db"].folder)
    assert result.code == 1
    assert orjson.loads(result.out)["failures"][0]["reason"] == "stored-tree-mismatch"


def test_incremental_audit_checks_only_new_signatures(
    logged: dict[str, Any], cli: Callable[..., Result], monkeypatch: pytest.MonkeyPatch
) -> None:
    from ledger.app import transparency

    for i in range(5):
        assert (
            cli(
                "record",
                "metric",
                "--year",
                "2026",
                "--name",
                f"n{i}",
                "--value",
                "1",
                "--unit",
                "EUR",
                "--key",
                str(logged["treasurer"]),
            ).code
            == 0
        )
    bundle = export(logged["db"].folder)
    calls = []
    real = verify.verify_signature
    monkeypatch.setattr(verify, "verify_signature", lambda *a: calls.append(1) or real(*a))  # type: ignore[func-returns-value]
    council = keyfiles.load_public_key(Path(f"{logged['council']}.pub"))
    result = transparency.audit_bundle(bundle, [council], logged["cp"].read_bytes(), workers=1)
    assert result.ok and result.events == 12
    assert len(calls) == 12 - 7
    calls.clear()
    assert transparency.audit_bundle(bundle, [council], workers=1).ok
    assert len(calls) == 12
